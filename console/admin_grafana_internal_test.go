package console

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGrafanaTab: the tab shows the API's live check, each object's state
// and what to do about it.
func TestGrafanaTab(t *testing.T) {
	cons, err := New(Deps{GrafanaURL: "https://grafana.example", Log: testLog(t)})
	require.NoError(t, err)
	s := &admStub{role: "admin", answers: map[string]string{"GET /v1/grafana/status": `{"configured":true,"token_set":true,
		"url":"https://grafana.example","health":"ok","version":"11.3.0","database":"ok",
		"datasource":{"uid":"siyu-clickhouse","title":"Siyu ClickHouse","state":"forbidden","error":"lacks permission"},
		"dashboards":[{"uid":"siyu-adoption","title":"Adoption","state":"present"},{"uid":"siyu-followup","title":"Follow-up","state":"missing"},
			{"uid":"siyu-metering","title":"Metering","state":"failed","error":"EOF"}]}`}}
	status, body, _ := admGet(t, cons, s, "GET", "/app/admin/grafana", "")
	require.Equal(t, 200, status, body)
	for _, want := range []string{
		`data-health="ok">Grafana 可以访问，运行正常（版本 11.3.0）。`,
		`data-uid="siyu-adoption" data-state="present"`, `href="https://grafana.example/d/siyu-adoption"`,
		`data-uid="siyu-followup" data-state="missing"`, "执行下面的 apply 命令安装",
		`data-uid="siyu-clickhouse" data-state="forbidden"`, "Admin（数据源）角色",
		"Grafana 没有给出答复（EOF）",
		"siyu dashboards apply --grafana-url https://grafana.example --token TOKEN",
	} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, `data-test="grafana-notoken"`)

	s.answers["GET /v1/grafana/status"] = `{"configured":true,"token_set":false,"url":"https://grafana.example","health":"unreachable",
		"error":"dial tcp: connection refused","datasource":{"uid":"siyu-clickhouse","title":"Siyu ClickHouse","state":"unchecked"},"dashboards":[]}`
	status, body, _ = admGet(t, cons, s, "GET", "/app/admin/grafana?lang=en", "")
	require.Equal(t, 200, status, body)
	require.Contains(t, body, "Grafana cannot be reached (dial tcp: connection refused): check that --grafana-url is right")
	require.Contains(t, body, `data-test="grafana-notoken"`)
	require.Contains(t, body, "Needs the token to be checked")
}
