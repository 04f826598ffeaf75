-- gild CRM store, PostgreSQL flavour. The SQLite flavour has the same tables, columns and views.

-- Every sync, scheduled or by hand.
CREATE TABLE sync_runs (
    run_id          TEXT PRIMARY KEY,
    trigger         TEXT NOT NULL,              -- manual | schedule | job
    host            TEXT NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          TEXT NOT NULL,              -- running | succeeded | partial | failed
    rows_read       BIGINT NOT NULL DEFAULT 0,
    rows_rejected   BIGINT NOT NULL DEFAULT 0,
    golden_created  BIGINT NOT NULL DEFAULT 0,
    golden_updated  BIGINT NOT NULL DEFAULT 0,
    golden_deleted  BIGINT NOT NULL DEFAULT 0,
    pairs_for_review BIGINT NOT NULL DEFAULT 0,
    summary         JSONB,                       -- the whole run report, JSON
    error           TEXT
);
CREATE INDEX sync_runs_started ON sync_runs (started_at);

-- Per-source outcome of each run.
CREATE TABLE run_sources (
    run_id          TEXT NOT NULL REFERENCES sync_runs (run_id) ON DELETE CASCADE,
    source          TEXT NOT NULL,
    record_kind     TEXT NOT NULL,
    status          TEXT NOT NULL,              -- ok | rejects | failed
    rows_read       BIGINT NOT NULL,
    rows_rejected   BIGINT NOT NULL,
    rows_kept       BIGINT NOT NULL,
    fields_nulled   BIGINT NOT NULL,
    seconds         DOUBLE PRECISION NOT NULL,
    error           TEXT,
    PRIMARY KEY (run_id, source)
);

-- Rows that could not be used, with their raw text and the reason.
CREATE TABLE rejects (
    reject_id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES sync_runs (run_id) ON DELETE CASCADE,
    source          TEXT NOT NULL,
    location        TEXT NOT NULL,              -- file:line or "table t, row n"
    record_key      TEXT,
    reason          TEXT NOT NULL,
    raw             TEXT NOT NULL
);
CREATE INDEX rejects_run_source ON rejects (run_id, source);

-- Staged records: the last good version of every source row, canonical form, and its golden customer.
CREATE TABLE source_records (
    source          TEXT NOT NULL,
    record_key      TEXT NOT NULL,
    record_kind     TEXT NOT NULL,              -- customer | billing | fulfilment
    golden_id       TEXT,
    content_hash    BIGINT NOT NULL,
    record          JSONB NOT NULL,              -- canonical record, JSON
    source_updated_at TIMESTAMP,                 -- the row's watermark value
    first_seen_run  TEXT NOT NULL,
    updated_run     TEXT NOT NULL,              -- the run that last changed this row
    PRIMARY KEY (source, record_key)
);
CREATE INDEX source_records_golden ON source_records (golden_id);

-- High-water mark per source, for incremental pulls.
CREATE TABLE watermarks (
    source          TEXT PRIMARY KEY,
    column_name     TEXT NOT NULL,
    value           TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- Golden customer records: one row per customer, fields chosen by survivorship.
CREATE TABLE golden_customers (
    golden_id       TEXT PRIMARY KEY,
    given_name      TEXT,
    middle_name     TEXT,
    family_name     TEXT,
    full_name       TEXT,
    date_of_birth   DATE,
    email           TEXT,
    phone           TEXT,
    street          TEXT,
    unit            TEXT,
    city            TEXT,
    region          TEXT,
    postcode        TEXT,
    country         TEXT,
    national_id     TEXT,
    record_count    BIGINT NOT NULL,
    customer_records BIGINT NOT NULL,
    billing_accounts BIGINT NOT NULL,
    orders          BIGINT NOT NULL,
    lineage         JSONB NOT NULL,              -- {field: {value, source, key, rule}}, JSON
    content_hash    BIGINT NOT NULL,
    created_seq     BIGINT NOT NULL,
    created_run     TEXT NOT NULL,
    updated_run     TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX golden_customers_email ON golden_customers (email);
CREATE INDEX golden_customers_phone ON golden_customers (phone);
CREATE INDEX golden_customers_name ON golden_customers (family_name, given_name);
CREATE INDEX golden_customers_postcode ON golden_customers (postcode);

-- A golden ID that was merged into another keeps pointing at it.
CREATE TABLE golden_redirects (
    old_id          TEXT PRIMARY KEY,
    new_id          TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

-- Scored pairs at or above the review threshold, from the latest run.
CREATE TABLE match_pairs (
    source_a        TEXT NOT NULL,
    key_a           TEXT NOT NULL,
    source_b        TEXT NOT NULL,
    key_b           TEXT NOT NULL,
    match_probability DOUBLE PRECISION NOT NULL,
    match_weight    DOUBLE PRECISION NOT NULL,
    decision        TEXT NOT NULL,              -- merge | review | kept_apart
    blocking_rule   TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    PRIMARY KEY (source_a, key_a, source_b, key_b)
);

-- Trained matching models; the newest is used.
CREATE TABLE models (
    model_id        TEXT PRIMARY KEY,
    trained_at      TIMESTAMPTZ NOT NULL,
    run_id          TEXT,
    params          JSONB NOT NULL               -- the model, JSON
);

-- Leases that keep two runs from publishing at once.
CREATE TABLE run_locks (
    name            TEXT PRIMARY KEY,
    holder          TEXT NOT NULL,
    acquired_at     TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);

-- Counters and small settings.
CREATE TABLE store_meta (
    name            TEXT PRIMARY KEY,
    value           TEXT NOT NULL
);

-- Readers' views ------------------------------------------------------------------------------

-- Every source record and the golden customer it belongs to.
CREATE VIEW customer_xref AS
SELECT source, record_key, record_kind, golden_id, updated_run
FROM source_records;

-- One row per golden field: its value and the source record it came from.
CREATE VIEW golden_field_lineage AS
SELECT g.golden_id,
       j.key                                  AS field,
       j.value ->> 'value'                    AS value,
       j.value ->> 'source'                   AS source,
       j.value ->> 'key'                      AS record_key,
       j.value ->> 'rule'                     AS rule
FROM golden_customers g, jsonb_each(g.lineage) j;

-- Billing accounts linked to their golden customer.
CREATE VIEW linked_accounts AS
SELECT golden_id, source, record_key,
       record -> 'facts' ->> 'account_number'                          AS account_number,
       CAST(record -> 'facts' ->> 'balance' AS NUMERIC)                AS balance,
       record -> 'facts' ->> 'currency'                                AS currency,
       CAST(record -> 'facts' ->> 'invoices' AS BIGINT)                AS invoices,
       CAST(record -> 'facts' ->> 'last_invoice_date' AS DATE)         AS last_invoice_date
FROM source_records
WHERE record_kind = 'billing';

-- Orders linked to their golden customer.
CREATE VIEW linked_orders AS
SELECT golden_id, source, record_key,
       record -> 'facts' ->> 'order_id'                                AS order_id,
       CAST(record -> 'facts' ->> 'order_date' AS DATE)                AS order_date,
       CAST(record -> 'facts' ->> 'amount' AS NUMERIC)                 AS amount,
       record -> 'facts' ->> 'currency'                                AS currency,
       CAST(record -> 'facts' ->> 'items' AS BIGINT)                   AS items
FROM source_records
WHERE record_kind = 'fulfilment';

-- The customer with accounts, balance and orders together.
CREATE VIEW customer_360 AS
SELECT g.golden_id, g.given_name, g.middle_name, g.family_name, g.full_name, g.date_of_birth,
       g.email, g.phone, g.street, g.unit, g.city, g.region, g.postcode, g.country,
       g.record_count,
       (SELECT COUNT(*) FROM linked_accounts a WHERE a.golden_id = g.golden_id)             AS accounts,
       (SELECT COALESCE(SUM(a.balance), 0) FROM linked_accounts a WHERE a.golden_id = g.golden_id) AS total_balance,
       (SELECT COUNT(*) FROM linked_orders o WHERE o.golden_id = g.golden_id)               AS orders,
       (SELECT COALESCE(SUM(o.amount), 0) FROM linked_orders o WHERE o.golden_id = g.golden_id)    AS total_ordered,
       (SELECT MAX(o.order_date) FROM linked_orders o WHERE o.golden_id = g.golden_id)      AS last_order_date
FROM golden_customers g;
