package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// GrafanaCluster is the cluster of the private server's config whose one
// replica is the server itself, reached as the default user over loopback.
// On ClickHouse 18.16, which has no GRANT, Grafana's read-only user reads
// the rollups through Distributed tables over this cluster, in a database
// of their own (docs/decisions.md, "Dashboards"): a view would be checked
// against the underlying database, which that user may not read.
const GrafanaCluster = "siyu_grafana"

// GrafanaUser is the read-only user Grafana connects as.
const GrafanaUser = "grafana"

// The root element is <yandex>: ClickHouse 18.16 needs it and current
// releases still accept it.
var serverConfigTmpl = template.Must(template.New("config").Parse(`<?xml version="1.0"?>
<!-- Written by siyu for its private ClickHouse server; rewritten at every start. -->
<yandex>
  <logger>
    <level>warning</level>
    <log>{{.Dir}}/log/server.log</log>
    <errorlog>{{.Dir}}/log/error.log</errorlog>
    <size>50M</size>
    <count>3</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{{.TCPPort}}</tcp_port>
  <http_port>{{.HTTPPort}}</http_port>
  <path>{{.Dir}}/data/</path>
  <tmp_path>{{.Dir}}/tmp/</tmp_path>
  <user_files_path>{{.Dir}}/user_files/</user_files_path>
  <format_schema_path>{{.Dir}}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <remote_servers>
    <{{.Cluster}}>
      <shard><replica><host>127.0.0.1</host><port>{{.TCPPort}}</port><user>default</user></replica></shard>
    </{{.Cluster}}>
  </remote_servers>
  <merge_tree>
    <parts_to_delay_insert>300</parts_to_delay_insert>
    <parts_to_throw_insert>600</parts_to_throw_insert>
  </merge_tree>
</yandex>
`))

var serverUsersTmpl = template.Must(template.New("users").Parse(`<?xml version="1.0"?>
<!-- Written by siyu: the default user may connect from loopback only. -->
<yandex>
  <profiles>
    <default>
      <max_memory_usage>8000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
    <readonly>
      <readonly>1</readonly>
    </readonly>
    <!-- Grafana's: read-only, and Distributed reads always go through the
         cluster's connection (as default, to the rollups only) rather than
         running locally with this user's rights, which would be refused.
         readonly=1 also keeps the user from changing that setting. -->
    <grafana>
      <readonly>1</readonly>
      <prefer_localhost_replica>0</prefer_localhost_replica>
    </grafana>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>{{if .GrafanaDatabase}}
    <grafana>
      <password_sha256_hex>{{.GrafanaPasswordSHA256}}</password_sha256_hex>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>grafana</profile>
      <quota>default</quota>
      <allow_databases><database>{{.GrafanaDatabase}}</database></allow_databases>
    </grafana>{{end}}
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`))

func writeServerConfig(cfg ServerConfig) error {
	for _, sub := range []string{"config", "data", "tmp", "log", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, sub), 0o755); err != nil {
			return fmt.Errorf("clickhouse dir: %w", err)
		}
	}
	f, err := os.Create(filepath.Join(cfg.Dir, "config", "config.xml"))
	if err != nil {
		return fmt.Errorf("write clickhouse config: %w", err)
	}
	defer f.Close()
	if err := serverConfigTmpl.Execute(f, struct {
		ServerConfig
		Cluster string
	}{cfg, GrafanaCluster}); err != nil {
		return fmt.Errorf("write clickhouse config: %w", err)
	}
	u, err := os.Create(filepath.Join(cfg.Dir, "config", "users.xml"))
	if err != nil {
		return fmt.Errorf("write clickhouse users: %w", err)
	}
	defer u.Close()
	sum := sha256.Sum256([]byte(cfg.GrafanaPassword))
	err = serverUsersTmpl.Execute(u, map[string]string{
		"GrafanaDatabase": cfg.GrafanaDatabase, "GrafanaPasswordSHA256": hex.EncodeToString(sum[:]),
	})
	if err != nil {
		return fmt.Errorf("write clickhouse users: %w", err)
	}
	return u.Close()
}
