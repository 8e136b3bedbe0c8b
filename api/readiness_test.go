package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestReadinessNamesEachCheck: /readyz runs every check, answers 503 with
// the first failure's reason when one fails, and lists each check's state.
func TestReadinessNamesEachCheck(t *testing.T) {
	stalled := errors.New("ingest is stalled: 120 records wait, no commit for 31s")
	tests := []struct {
		name   string
		checks []api.Check
		status int
		reason string
		states map[string]string
	}{
		{name: "all pass", status: 200,
			checks: []api.Check{
				{Name: "ingest", Fn: func(context.Context) error { return nil }},
				{Name: "pool", Fn: func(context.Context) error { return nil }, State: func() string { return "standby" }},
			},
			states: map[string]string{"ingest": "ok", "pool": "standby"}},
		{name: "ingest stalled", status: 503, reason: stalled.Error(),
			checks: []api.Check{
				{Name: "ingest", Fn: func(context.Context) error { return stalled }},
				{Name: "pool", Fn: func(context.Context) error { return errors.New("pool: no decider") }},
			},
			states: map[string]string{"ingest": stalled.Error(), "pool": "pool: no decider"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			srv := api.New(api.Deps{Registry: reg, Gatherer: reg, Log: testenv.Logger(),
				Ready: func(ctx context.Context) api.Readiness { return api.RunChecks(ctx, tt.checks) }})
			resp, err := srv.App().Test(httptest.NewRequest("GET", "/readyz", nil))
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			require.Equal(t, tt.status, resp.StatusCode, "%s", b)
			var body struct {
				Status string            `json:"status"`
				Reason string            `json:"reason"`
				Checks map[string]string `json:"checks"`
			}
			require.NoError(t, json.Unmarshal(b, &body))
			require.Equal(t, tt.reason, body.Reason)
			require.Equal(t, tt.states, body.Checks)
		})
	}
}
