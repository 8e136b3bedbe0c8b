-- Grafana's read-only access on ClickHouse without SQL access control
-- (18.16): a database of its own holding one Distributed table per rollup
-- the dashboards read, over the private server's cluster, whose connection
-- is the default user's (store.GrafanaCluster). The grafana user of
-- users.xml may read this database only, so it reaches the rollups and
-- nothing else; a view would not do, since 18.16 checks the view's
-- underlying database against the user. Dropped and created again, so that
-- a rollup's new columns reach Grafana by running `siyu dashboards grant`;
-- the tables of rollups the dashboards no longer read (Retired) are dropped.
CREATE DATABASE IF NOT EXISTS {{.GrafanaDB}};
{{range .Tables}}
DROP TABLE IF EXISTS {{$.GrafanaDB}}.{{.}};
CREATE TABLE {{$.GrafanaDB}}.{{.}} AS {{$.DB}}.{{.}} ENGINE = Distributed({{$.Cluster}}, {{$.DB}}, {{.}});
{{end}}
{{range .Retired}}
DROP TABLE IF EXISTS {{$.GrafanaDB}}.{{.}};
{{end}}
