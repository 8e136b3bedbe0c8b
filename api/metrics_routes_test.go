package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/internal/testenv"
)

type seriesBody struct {
	Metric string `json:"metric"`
	Series []struct {
		Day   string   `json:"day"`
		Value *float64 `json:"value"`
	} `json:"series"`
	Groups []struct {
		Key    string `json:"key"`
		Series []struct {
			Value *float64 `json:"value"`
		} `json:"series"`
	} `json:"groups"`
}

func (b seriesBody) total() float64 {
	sum := 0.0
	for _, p := range b.Series {
		if p.Value != nil {
			sum += *p.Value
		}
	}
	return sum
}

func (b seriesBody) groupTotals() map[string]float64 {
	out := map[string]float64{}
	for _, g := range b.Groups {
		for _, p := range g.Series {
			if p.Value != nil {
				out[g.Key] += *p.Value
			}
		}
	}
	return out
}

// withMetrics serves the fixture's API with a metrics service. The seed made
// acme's s1 and s2 and globex's g1 active (contact.added) an hour ago.
func withMetrics(t *testing.T) *fixture {
	f := newFixture(t)
	deps := f.deps
	deps.Adoption = adoption.NewService(f.conn, nil)
	deps.Registry = prometheus.NewRegistry()
	f.srv = api.New(deps)
	return f
}

func TestMetricsRoutes(t *testing.T) {
	f := withMetrics(t)
	today := adoption.DayOf(time.Now())
	rng := fmt.Sprintf("from=%s&to=%s", today-1, today)
	// MAU over the two days counts g1 on each day from its seed day on.
	globexMAU := float64(today - adoption.DayOf(time.Now().Add(-time.Hour)) + 1)
	get := func(t *testing.T, key, query string) (int, seriesBody) {
		t.Helper()
		status, body := f.do(t, http.MethodGet, "/v1/metrics/active?"+query, key, nil)
		var b seriesBody
		if status == http.StatusOK {
			require.NoError(t, json.Unmarshal(body, &b), "status %d body %q", status, body)
		}
		return status, b
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if _, b := get(t, "platform", "metric=dau&"+rng); b.total() != 3 {
			return fmt.Errorf("platform dau total %v, want 3", b.total())
		}
		return nil
	})

	t.Run("tenant walls", func(t *testing.T) {
		tests := []struct {
			key, query string
			want       float64
			wantGroups map[string]float64
		}{
			{key: "acme-exec", query: "metric=dau&" + rng, want: 2},
			{key: "acme-admin", query: "metric=dau&" + rng, want: 2},
			{key: "acme-exec", query: "metric=dau&tenant=acme&" + rng, want: 2},
			{key: "globex-admin", query: "metric=mau&" + rng, want: globexMAU},
			{key: "platform", query: "metric=dau&" + rng, want: 3},
			{key: "platform", query: "metric=dau&tenant=globex&" + rng, want: 1},
			{key: "platform", query: "metric=new_dau&" + rng, want: 3},
			{key: "platform", query: "metric=paid_dau&" + rng, want: 0},
			{key: "platform", query: "metric=dau&group_by=tenant&" + rng, wantGroups: map[string]float64{"acme": 2, "globex": 1}},
			{key: "platform", query: "metric=dau&group_by=plan&" + rng, wantGroups: map[string]float64{adoption.NoPlan: 3}},
			{key: "platform", query: "metric=dau&plan=pro&" + rng, want: 0},
		}
		for _, tt := range tests {
			t.Run(tt.key+" "+tt.query, func(t *testing.T) {
				status, b := get(t, tt.key, tt.query)
				require.Equal(t, http.StatusOK, status)
				if tt.wantGroups != nil {
					require.Equal(t, tt.wantGroups, b.groupTotals())
					return
				}
				require.Len(t, b.Series, 2)
				require.Equal(t, tt.want, b.total())
			})
		}
	})

	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			key, path  string
			wantStatus int
			wantField  string
		}{
			{key: "acme-rep-s1", path: "/v1/metrics/active?metric=dau&" + rng, wantStatus: 403},
			{key: "acme-marketer", path: "/v1/metrics/active?metric=dau&" + rng, wantStatus: 403},
			{key: "acme-manager", path: "/v1/metrics/retention?cohort_from=2026-01-01&cohort_to=2026-01-02", wantStatus: 403},
			{key: "acme-billing", path: "/v1/metrics/active?metric=dau&" + rng, wantStatus: 403},
			{key: "acme-exec", path: "/v1/metrics/active?metric=dau&tenant=globex&" + rng, wantStatus: 403},
			{key: "acme-exec", path: "/v1/metrics/active?metric=dau&group_by=tenant&" + rng, wantStatus: 403},
			{key: "acme-admin", path: "/v1/metrics/active?metric=dau&plan=pro&" + rng, wantStatus: 403},
			{key: "acme-exec", path: "/v1/metrics/retention?cohort_from=2026-01-01&cohort_to=2026-01-02&tenant=globex", wantStatus: 403},
			{key: "", path: "/v1/metrics/active?metric=dau&" + rng, wantStatus: 401},
			{key: "acme-exec", path: "/v1/metrics/active?metric=hau&" + rng, wantStatus: 400, wantField: "metric"},
			{key: "acme-exec", path: "/v1/metrics/active?" + rng, wantStatus: 400, wantField: "metric"},
			{key: "acme-exec", path: "/v1/metrics/active?metric=dau&from=2026-13-01&to=2026-12-01", wantStatus: 400, wantField: "from"},
			{key: "acme-exec", path: "/v1/metrics/active?metric=dau&from=2026-01-01", wantStatus: 400, wantField: "to"},
			{key: "acme-exec", path: "/v1/metrics/active?metric=dau&from=2026-02-01&to=2026-01-01", wantStatus: 400, wantField: "from"},
			{key: "acme-exec", path: "/v1/metrics/active?metric=dau&from=2025-01-01&to=2026-02-05", wantStatus: 400, wantField: "to"},
			{key: "platform", path: "/v1/metrics/active?metric=dau&group_by=staff&" + rng, wantStatus: 400, wantField: "group_by"},
			{key: "acme-rep-s1", path: "/v1/metrics?metrics=dau&" + rng, wantStatus: 403},
			{key: "acme-exec", path: "/v1/metrics?metrics=dau&tenant=globex&" + rng, wantStatus: 403},
			{key: "acme-admin", path: "/v1/metrics?metrics=dau&plan=pro&" + rng, wantStatus: 403},
			{key: "", path: "/v1/metrics?metrics=dau&" + rng, wantStatus: 401},
			{key: "acme-exec", path: "/v1/metrics?" + rng, wantStatus: 400, wantField: "metrics"},
			{key: "acme-exec", path: "/v1/metrics?metric=dau&" + rng, wantStatus: 400, wantField: "metrics"},
			{key: "acme-exec", path: "/v1/metrics?metrics=dau,hau&" + rng, wantStatus: 400, wantField: "metrics"},
			{key: "acme-exec", path: "/v1/metrics?metrics=dau,,wau&" + rng, wantStatus: 400, wantField: "metrics"},
			{key: "acme-exec", path: "/v1/metrics?metrics=dau,wau,dau&" + rng, wantStatus: 400, wantField: "metrics"},
			{key: "acme-exec", path: "/v1/metrics?metrics=dau&from=2026-02-01&to=2026-01-01", wantStatus: 400, wantField: "from"},
			{key: "acme-exec", path: "/v1/metrics?metrics=dau&from=2025-01-01&to=2026-02-05", wantStatus: 400, wantField: "to"},
			{key: "acme-exec", path: "/v1/metrics?metrics=dau&from=2026-01-01", wantStatus: 400, wantField: "to"},
			{key: "platform", path: "/v1/metrics?metrics=dau&group_by=tenant&" + rng, wantStatus: 400, wantField: "group_by"},
			{key: "acme-exec", path: "/v1/metrics/retention?cohort_to=2026-01-02", wantStatus: 400, wantField: "cohort_from"},
			{key: "acme-exec", path: "/v1/metrics/retention?cohort_from=2026-01-01&cohort_to=2026-01-02&days=1,2", wantStatus: 400, wantField: "days"},
			{key: "acme-exec", path: "/v1/metrics/retention?cohort_from=2026-01-01&cohort_to=2026-01-02&subject=contact", wantStatus: 400, wantField: "subject"},
		}
		for _, tt := range tests {
			t.Run(tt.key+" "+tt.path, func(t *testing.T) {
				status, body := f.do(t, http.MethodGet, tt.path, tt.key, nil)
				require.Equal(t, tt.wantStatus, status, "%s", body)
				require.Equal(t, tt.wantField, decodeError(t, body).Field)
			})
		}
	})

	t.Run("several series at once equal each alone", func(t *testing.T) {
		var names []string
		for _, m := range adoption.Metrics() {
			names = append(names, string(m))
		}
		slices.Reverse(names) // the answer keeps the order asked
		wide := fmt.Sprintf("from=%s&to=%s", today-40, today)
		for _, tt := range []struct{ key, query string }{
			{"acme-exec", rng},
			{"acme-admin", wide},
			{"platform", wide},
			{"platform", "tenant=globex&" + wide},
			{"platform", "plan=pro&" + rng},
		} {
			t.Run(tt.key+" "+tt.query, func(t *testing.T) {
				status, body := f.do(t, http.MethodGet, "/v1/metrics?metrics="+strings.Join(names, ",")+"&"+tt.query, tt.key, nil)
				require.Equal(t, http.StatusOK, status, "%s", body)
				var all struct {
					From, To string
					Metrics  []struct {
						Metric string          `json:"metric"`
						Series json.RawMessage `json:"series"`
					} `json:"metrics"`
				}
				require.NoError(t, json.Unmarshal(body, &all))
				require.Len(t, all.Metrics, len(names))
				for i, m := range all.Metrics {
					require.Equal(t, names[i], m.Metric)
					status, body := f.do(t, http.MethodGet, "/v1/metrics/active?metric="+m.Metric+"&"+tt.query, tt.key, nil)
					require.Equal(t, http.StatusOK, status, "%s", body)
					var one struct {
						From, To string
						Series   json.RawMessage `json:"series"`
					}
					require.NoError(t, json.Unmarshal(body, &one))
					require.JSONEq(t, string(one.Series), string(m.Series), m.Metric)
					require.Equal(t, one.From, all.From)
					require.Equal(t, one.To, all.To)
				}
			})
		}
	})

	t.Run("retention", func(t *testing.T) {
		path := fmt.Sprintf("/v1/metrics/retention?cohort_from=%s&cohort_to=%s&days=1,7", today-1, today)
		status, body := f.do(t, http.MethodGet, path, "acme-exec", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var b struct {
			Days    []int `json:"days"`
			Cohorts []struct {
				Day      string     `json:"day"`
				Size     int        `json:"size"`
				Retained []*float64 `json:"retained"`
			} `json:"cohorts"`
		}
		require.NoError(t, json.Unmarshal(body, &b))
		require.Equal(t, []int{1, 7}, b.Days)
		require.Len(t, b.Cohorts, 2)
		size := 0
		for _, c := range b.Cohorts {
			size += c.Size
			require.Equal(t, []*float64{nil, nil}, c.Retained, "D0+1 and D0+7 are not over yet")
		}
		require.Equal(t, 2, size, "acme's s1 and s2 started today or yesterday")
	})
}
