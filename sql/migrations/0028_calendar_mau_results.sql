-- Calendar MAU joins the stored series results (docs/decisions.md, Metrics
-- 32): per (tenant, day) the distinct staff active in that day's calendar
-- month, so a month's point reads one row per tenant instead of every
-- active staff member's bits. Rows now start on the first day of the
-- tenant's first active month. Every tenant is marked changed so the
-- refresher (or the first read) recomputes it with the new column.
ALTER TABLE metrics_results ADD COLUMN calendar_mau UInt32 DEFAULT 0;

INSERT INTO metrics_inputs (tenant, inserted_at) SELECT tenant, now() FROM events GROUP BY tenant;
