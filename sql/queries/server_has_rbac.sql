-- Whether the server has SQL access control (CREATE USER, GRANT): current
-- releases list their grants in system.grants; 18.16 has no such table.
SELECT count() FROM system.tables WHERE database = 'system' AND name = 'grants'
