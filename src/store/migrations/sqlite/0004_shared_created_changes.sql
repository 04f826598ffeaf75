-- A `created` event's change set is the new golden record's lineage, field by field, with no
-- value before. A first sync creates every golden record, and storing each change set beside the
-- lineage it repeats doubled what the publish wrote (1M benchmark: 0.8 GB of 2.6 GB). So gild
-- stores such an event's `changes` as JSON `null`: "the lineage of the golden record, as it
-- still is". Before the record changes or goes, the triggers below write the change set out
-- from the lineage it is about to lose; readers see full change sets through `golden_changes`.
-- The PostgreSQL store writes every change set in full.

-- Each golden record's lineage as a created change set: {field: {after, before: null, key, rule,
-- source}, record_count: {after, before: null}}, keys in order, exactly as gild writes one.
-- Looked up by golden_id, it reads one record (the view is flattened into the query).
CREATE VIEW golden_created_changes AS
SELECT g.golden_id,
       (SELECT json_group_object(name, json(change)) FROM (
            SELECT j.key AS name,
                   json_object('after', json_extract(j.value, '$.value'), 'before', NULL,
                               'key', json_extract(j.value, '$.key'),
                               'rule', json_extract(j.value, '$.rule'),
                               'source', json_extract(j.value, '$.source')) AS change
            FROM json_each(g.lineage) j
            UNION ALL
            SELECT 'record_count', json_object('after', g.record_count, 'before', NULL)
            ORDER BY name
       )) AS changes
FROM golden_customers g;

-- A BEFORE trigger still sees the old row in golden_customers.
CREATE TRIGGER golden_customers_keep_created_changes_on_update
BEFORE UPDATE OF golden_id, lineage, record_count ON golden_customers
BEGIN
    UPDATE golden_events
    SET changes = (SELECT c.changes FROM golden_created_changes c WHERE c.golden_id = OLD.golden_id)
    WHERE golden_id = OLD.golden_id AND kind = 'created' AND changes = 'null';
END;

CREATE TRIGGER golden_customers_keep_created_changes_on_delete
BEFORE DELETE ON golden_customers
BEGIN
    UPDATE golden_events
    SET changes = (SELECT c.changes FROM golden_created_changes c WHERE c.golden_id = OLD.golden_id)
    WHERE golden_id = OLD.golden_id AND kind = 'created' AND changes = 'null';
END;

-- The change feed with every change set in full.
DROP VIEW golden_changes;
CREATE VIEW golden_changes AS
SELECT e.seq, e.kind, e.golden_id, e.related_ids,
       CASE WHEN e.kind = 'created' AND e.changes = 'null'
            THEN (SELECT c.changes FROM golden_created_changes c WHERE c.golden_id = e.golden_id)
            ELSE e.changes END AS changes,
       e.run_id, e.audit_id, e.occurred_at
FROM golden_events e;
