-- Field conflicts (issue 20): a golden customer whose records disagree materially on a field
-- (two dates of birth that are not a typo of each other, different e-mails or phones, names that
-- are not nickname or typo variants, different addresses unless the newest wins). They join the
-- stewards' queue as items of their own kind. The PostgreSQL flavour has the same table and view.
CREATE TABLE conflict_items (
    item_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    golden_id       TEXT NOT NULL,
    field           TEXT NOT NULL,              -- given_name | family_name | date_of_birth | email | phone | address
    competing       TEXT NOT NULL,              -- JSON [{value, columns, records, won}], most supported first
    reason          TEXT NOT NULL,              -- why the shown value won
    uncertainty     REAL NOT NULL,              -- the runner-up's support over the winner's
    records         INTEGER NOT NULL,           -- records carrying a value of the field
    priority        REAL NOT NULL,              -- what a decision is worth: chance the shown value is wrong / 13 fields
    fingerprint     INTEGER NOT NULL,           -- the values and their records: a decision holds until it changes
    status          TEXT NOT NULL,              -- open | deferred | accepted | chosen | split | resolved
    run_id          TEXT NOT NULL,              -- the last run that found it
    created_at      TEXT NOT NULL,
    decided_at      TEXT,
    actor           TEXT,
    note            TEXT,
    UNIQUE (golden_id, field)
);
CREATE INDEX conflict_items_queue ON conflict_items (status, priority);

-- The open conflicts, most valuable decision first.
CREATE VIEW conflict_queue AS
SELECT item_id, golden_id, field, competing, reason, uncertainty, records, priority, status, run_id
FROM conflict_items
WHERE status IN ('open', 'deferred')
ORDER BY CASE status WHEN 'open' THEN 0 ELSE 1 END, priority DESC, item_id;
