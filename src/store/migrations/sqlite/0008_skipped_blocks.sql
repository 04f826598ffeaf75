-- Incremental matching (issue 18): the blocks the last published run skipped as too large, by
-- rule and a hash of the block's key values (never the values). A block that crosses the size
-- limit between two runs makes or breaks every pair in it, so an incremental run recomputes
-- the pairs of its records.
CREATE TABLE skipped_blocks (
    rule            TEXT NOT NULL,
    block_key       INTEGER NOT NULL,
    PRIMARY KEY (rule, block_key)
);
