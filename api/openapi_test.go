package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type openAPIOperation struct {
	Security    []map[string][]string      `json:"security"`
	Responses   map[string]json.RawMessage `json:"responses"`
	RequestBody json.RawMessage            `json:"requestBody"`
}

type openAPIDoc struct {
	OpenAPI string                                 `json:"openapi"`
	Paths   map[string]map[string]openAPIOperation `json:"paths"`
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t)
	status, body := f.do(t, http.MethodGet, "/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.True(t, json.Valid(body), "openapi.json is not JSON")
	var doc openAPIDoc
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Regexp(t, `^3\.\d+\.\d+$`, doc.OpenAPI)

	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+pathParam.ReplaceAllString(path, ":$1"))
		}
	}
	var routed []string
	for _, r := range f.srv.App().GetRoutes(true) {
		if r.Method == http.MethodHead {
			continue
		}
		routed = append(routed, r.Method+" "+r.Path)
	}
	sort.Strings(documented)
	sort.Strings(routed)
	require.Equal(t, routed, documented, "openapi.json and the router disagree")
	require.Contains(t, doc.Paths["/v1/events"]["post"].Responses, "413", "an event too large for Kafka")

	for path, ops := range doc.Paths {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		for method, op := range ops {
			t.Run(strings.ToUpper(method)+" "+path, func(t *testing.T) {
				public := publicRoutes[strings.ToUpper(method)+" "+path]
				if public {
					require.NotNil(t, op.Security, "signing in declares its security: none")
					require.Empty(t, op.Security, "signing in needs no key")
				} else {
					require.Contains(t, op.Security, map[string][]string{"bearer": {}}, "declares bearer security")
					require.Contains(t, op.Security, map[string][]string{"session": {}}, "declares the session cookie")
					require.Contains(t, op.Responses, "401", "documents 401")
					require.Contains(t, op.Responses, "429", "documents 429: too many failed keys from the address")
				}
				require.Contains(t, op.Responses, "400", "documents 400: a malformed ?tenant= or id")
				if op.RequestBody != nil {
					require.Contains(t, op.Responses, "415", "a JSON body documents 415 (Content-Type)")
				}
			})
		}
	}
}

func TestOperationalEndpoints(t *testing.T) {
	f := newFixture(t)
	// The fixture's seed went through /v1/events, so both counters have series.
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantJSON   string   // the body, when JSON
		wantText   []string // substrings of the body, otherwise
	}{
		{name: "liveness", path: "/healthz", wantStatus: 200, wantJSON: `{"status":"ok"}`},
		{name: "readiness", path: "/readyz", wantStatus: 200, wantJSON: `{"status":"ready","checks":{"clickhouse":"ok","kafka":"ok"}}`},
		{name: "metrics", path: "/metrics", wantStatus: 200, wantText: []string{
			`siyu_http_requests_total{method="POST",route="/v1/events",status="200"}`,
			`siyu_api_events_total{outcome="accepted"} 3`,
			"siyu_http_request_seconds",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodGet, tt.path, "", nil)
			require.Equal(t, tt.wantStatus, status, "%s", body)
			if tt.wantJSON != "" {
				require.JSONEq(t, tt.wantJSON, string(body))
			}
			for _, s := range tt.wantText {
				require.Contains(t, string(body), s)
			}
		})
	}

	t.Run("metrics count rejected events", func(t *testing.T) {
		bad := contactAdded("metrics-bad", "acme", "c1", "", "x", time.Now())
		status, body := f.do(t, http.MethodPost, "/v1/events", "acme-admin", mustJSON(t, bad))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		_, body = f.do(t, http.MethodGet, "/metrics", "", nil)
		require.Contains(t, string(body), `siyu_api_events_total{outcome="rejected"} 1`)
		require.Contains(t, string(body), `siyu_http_requests_total{method="POST",route="/v1/events",status="400"} 1`)
	})
}

// publicRoutes need no key: signing in.
var publicRoutes = map[string]bool{
	"POST /v1/sessions":          true,
	"POST /v1/sessions/wecom":    true,
	"GET /v1/wecom/login-config": true,
}
