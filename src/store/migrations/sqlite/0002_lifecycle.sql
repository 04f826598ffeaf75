-- Golden record lifecycle: the change feed, steward decisions, the review queue and the audit trail.
-- The PostgreSQL flavour has the same tables, columns and views.

-- Every golden create, update, merge, split and delete, in commit order. Readers follow it from a
-- cursor (the last seq they saw). Together the events are each golden record's full history.
CREATE TABLE golden_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,              -- created | updated | merged | split | deleted
    golden_id       TEXT NOT NULL,              -- the record the event is about (merged: the survivor)
    related_ids     TEXT NOT NULL,              -- JSON array: merged: the IDs merged in; split: the new IDs;
                                                -- created by a split: the ID it was split from
    changes         TEXT NOT NULL,              -- JSON {field: {before, after, source, key, rule}}
    run_id          TEXT,                       -- the sync that made the change, or
    audit_id        INTEGER,                    -- the steward action that made it
    occurred_at     TEXT NOT NULL
);
CREATE INDEX golden_events_golden ON golden_events (golden_id, seq);

-- Who did what, when, why, with before and after.
CREATE TABLE audit_log (
    audit_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,              -- review.accept | review.reject | review.defer |
                                                -- golden.merge | golden.split | golden.pin | golden.unpin
    target          TEXT NOT NULL,
    note            TEXT,
    before          TEXT,                       -- JSON
    after           TEXT                        -- JSON
);

-- Stewards' decisions, honoured by every later sync: must-link and cannot-link between source
-- records, and pinned golden field values.
CREATE TABLE steward_decisions (
    decision_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    audit_id        INTEGER NOT NULL REFERENCES audit_log (audit_id),
    kind            TEXT NOT NULL,              -- must_link | cannot_link | pin
    source_a        TEXT,
    key_a           TEXT,
    source_b        TEXT,
    key_b           TEXT,
    golden_id       TEXT,                       -- pin: the customer (merge redirects are followed)
    field           TEXT,                       -- pin: the golden field
    value           TEXT,                       -- pin: its value
    active          BOOLEAN NOT NULL,           -- false once a later decision replaced it
    created_at      TEXT NOT NULL
);
CREATE INDEX steward_decisions_active ON steward_decisions (active, kind);

-- The stewards' queue: pairs of golden customers the matcher was unsure about (review band) or
-- would not glue together (over-merge suspects). One item per pair of customers, identified by
-- the two golden IDs; its representative record pair is the strongest between them.
CREATE TABLE review_items (
    item_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    golden_a        TEXT NOT NULL,
    golden_b        TEXT NOT NULL,
    kind            TEXT NOT NULL,              -- review_band | over_merge
    source_a        TEXT NOT NULL,
    key_a           TEXT NOT NULL,
    source_b        TEXT NOT NULL,
    key_b           TEXT NOT NULL,
    match_probability REAL NOT NULL,
    record_pairs    INTEGER NOT NULL,           -- scored record pairs between the two customers
    records         INTEGER NOT NULL,           -- records the decision moves
    impact          REAL NOT NULL,              -- ordering: probability x records
    reason          TEXT,                       -- why clustering refused, for over-merge suspects
    status          TEXT NOT NULL,              -- open | deferred | accepted | rejected | resolved
    run_id          TEXT NOT NULL,              -- the last run that put it in the queue
    created_at      TEXT NOT NULL,
    decided_at      TEXT,
    actor           TEXT,
    note            TEXT,
    UNIQUE (golden_a, golden_b)
);
CREATE INDEX review_items_queue ON review_items (status, impact);

-- Readers' views ------------------------------------------------------------------------------

-- Any golden ID ever published -> the golden ID that stands for that customer now.
CREATE VIEW golden_current_id AS
SELECT golden_id AS asked_id, golden_id AS current_id FROM golden_customers
UNION ALL
SELECT r.old_id, r.new_id FROM golden_redirects r;

-- The change feed, for readers that poll the database.
CREATE VIEW golden_changes AS
SELECT seq, kind, golden_id, related_ids, changes, run_id, audit_id, occurred_at
FROM golden_events;

-- The open review queue, highest impact first.
CREATE VIEW review_queue AS
SELECT item_id, kind, golden_a, golden_b, source_a, key_a, source_b, key_b, match_probability,
       record_pairs, records, impact, reason, status, run_id
FROM review_items
WHERE status IN ('open', 'deferred')
ORDER BY CASE status WHEN 'open' THEN 0 ELSE 1 END, impact DESC, item_id;
