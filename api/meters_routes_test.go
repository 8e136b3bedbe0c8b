package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/internal/reporting"
	"github.com/siyu-dev/siyu/internal/testenv"
)

func TestMeterRoutes(t *testing.T) {
	f := newFixture(t)
	today := adoption.DayOf(time.Now())
	rng := fmt.Sprintf("from=%s&to=%s", today-1, today)
	total := func(key, query string) (int, int64) {
		status, body := f.do(t, http.MethodGet, "/v1/meters/contacts_total?"+query, key, nil)
		var b struct {
			Series []struct{ Value int64 } `json:"series"`
		}
		if status == http.StatusOK {
			require.NoError(t, json.Unmarshal(body, &b), "%s", body)
			return status, b.Series[len(b.Series)-1].Value
		}
		return status, 0
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if _, v := total("platform", rng); v != 3 {
			return fmt.Errorf("platform contacts_total %d, want 3", v)
		}
		return nil
	})
	for _, tt := range []struct {
		key, query string
		status     int
		want       int64
	}{
		{"acme-billing", rng, 200, 2},
		{"acme-admin", rng, 200, 2},
		{"acme-exec", rng + "&window=month", 200, 2},
		{"platform", rng + "&tenant=globex", 200, 1},
		{"platform", rng, 200, 3},
		{"acme-rep-s1", rng, 403, 0},
		{"acme-marketer", rng, 403, 0},
		{"acme-billing", rng + "&tenant=globex", 403, 0},
	} {
		t.Run(tt.key+" "+tt.query, func(t *testing.T) {
			status, v := total(tt.key, tt.query)
			require.Equal(t, tt.status, status)
			require.Equal(t, tt.want, v)
		})
	}

	t.Run("400 names the field", func(t *testing.T) {
		for path, field := range map[string]string{
			"/v1/meters/nope?" + rng:                       "meter",
			"/v1/meters/contacts_new?from=x&to=2026-10-01": "from",
			"/v1/meters/contacts_new?window=week&" + rng:   "window",
			"/v1/billing/usage?period=2026-13":             "period",
			"/v1/billing/usage?period=2026-10&format=xml":  "format",
		} {
			status, body := f.do(t, http.MethodGet, path, "platform", nil)
			require.Equal(t, http.StatusBadRequest, status, path)
			require.Equal(t, field, decodeError(t, body).Field, path)
		}
	})

	t.Run("usage", func(t *testing.T) {
		period := time.Now().In(reporting.Zone).Format("2006-01")
		status, body := f.do(t, http.MethodGet, "/v1/billing/usage?format=csv&period="+period, "acme-billing", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Contains(t, string(body), "acme:"+period+":peak_contacts,acme,"+period+",peak_contacts,2\n")
		require.NotContains(t, string(body), "globex")
		status, body = f.do(t, http.MethodGet, "/v1/billing/usage?period="+period, "platform", nil)
		require.Equal(t, http.StatusOK, status)
		require.True(t, strings.Contains(string(body), `"key":"globex:`+period+`:peak_contacts"`), "%s", body)
		status, _ = f.do(t, http.MethodGet, "/v1/billing/usage?period="+period, "acme-admin", nil)
		require.Equal(t, http.StatusForbidden, status)
		// A closed period is recorded; the second export is byte-identical.
		_, a := f.do(t, http.MethodGet, "/v1/billing/usage?format=csv&period=2026-01", "platform", nil)
		_, b := f.do(t, http.MethodGet, "/v1/billing/usage?format=csv&period=2026-01", "platform", nil)
		require.Equal(t, a, b)
	})
}
