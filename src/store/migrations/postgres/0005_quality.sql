-- Data-quality findings (issue 19): a value that failed its field's standardisation was dropped
-- from the field and the record kept. Each source's findings are those of its latest full read:
-- a sync replaces the findings of every source it read (a failed source keeps its last ones).
-- The raw value lives here only, like the rejects table's raw text, never in logs or messages.
CREATE TABLE quality_findings (
    finding_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES sync_runs (run_id) ON DELETE CASCADE,
    source          TEXT NOT NULL,
    location        TEXT NOT NULL,              -- file:line or "table t, row n"
    record_key      TEXT NOT NULL,
    field           TEXT NOT NULL,              -- the canonical field: phone, email, date_of_birth...
    reason          TEXT NOT NULL,              -- what is wrong, without the value
    raw             TEXT NOT NULL
);
CREATE INDEX quality_findings_source_field ON quality_findings (source, field);
