-- Which migrations this database has.
-- args:
SELECT version, name, applied_at FROM schema_migrations FINAL ORDER BY version
