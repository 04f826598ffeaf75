-- Crash recovery and the no-change path (issue 18).

-- Who holds a lease: its host and process, so that a holder provably gone (same host, process
-- no longer there) is taken over at once instead of after the lease expires.
ALTER TABLE run_locks ADD COLUMN host TEXT;
ALTER TABLE run_locks ADD COLUMN pid INTEGER;

-- What a published run read: a fingerprint of each source, of the configuration that shapes
-- matching and of the model and steward decisions, JSON. A sync whose inputs equal the last
-- published run's has nothing to do.
CREATE TABLE run_inputs (
    run_id          TEXT PRIMARY KEY REFERENCES sync_runs (run_id) ON DELETE CASCADE,
    fingerprint     TEXT NOT NULL
);
