-- Marks every tenant with events as changed now (migration 0013), so that
-- its stored series results are recomputed: after `siyu metrics rebuild`,
-- which writes rollups without inserting events.
-- args:
INSERT INTO metrics_inputs (tenant, inserted_at)
SELECT tenant, now() FROM events GROUP BY tenant
