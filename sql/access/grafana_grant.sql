-- Grafana's read-only access on ClickHouse with SQL access control (RBAC,
-- current releases): a user that may only SELECT the rollups the dashboards
-- read, in the Siyu database itself. The password is given as its SHA-256,
-- so it never appears in the query log.
CREATE USER IF NOT EXISTS {{.User}} IDENTIFIED WITH sha256_hash BY '{{.PasswordSHA256}}' SETTINGS readonly = 1;
{{range .Tables}}
GRANT SELECT ON {{$.DB}}.{{.}} TO {{$.User}};
{{end}}
