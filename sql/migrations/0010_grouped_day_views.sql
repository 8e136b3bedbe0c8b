-- The day rollups of 0005 wrote one row per event; only the distinct
-- (tenant, day, actor) rows matter, and grouping inside the view leaves a
-- few thousand rows per insert instead of tens of thousands. The grouped
-- views are created before the old ones are dropped, so no insert is missed
-- in between (rows written by both fold: the tables are ReplacingMergeTree
-- and readers count distinct values).
CREATE MATERIALIZED VIEW IF NOT EXISTS staff_active_days_grouped_mv TO staff_active_days AS
SELECT
    tenant,
    toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day,
    if(type = 'staff.active', subject, staff_id) AS staff_id
FROM events
WHERE type IN ('staff.active', 'contact.added', 'contact.updated', 'followup.logged', 'followup.stage_changed')
   OR (type = 'contact.removed' AND removed_by = 'staff')
   OR (type = 'chat.message' AND direction = 'out')
   OR (type IN ('tag.added', 'tag.removed') AND staff_id != '')
GROUP BY tenant, day, staff_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_active_days_grouped_mv TO customer_active_days AS
SELECT
    tenant,
    toDate(toDateTime(intDiv(time_ns, 1000000000)), 'Asia/Shanghai') AS day,
    subject AS contact_id
FROM events
WHERE type = 'chat.message' AND direction = 'in'
GROUP BY tenant, day, contact_id;

DROP TABLE IF EXISTS staff_active_days_mv;
DROP TABLE IF EXISTS customer_active_days_mv;
