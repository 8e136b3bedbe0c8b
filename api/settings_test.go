package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestSettingsMaskPhonesForReps: GET/PUT /v1/settings are the admin's (and
// the platform's, naming the tenant); with mask_phones_for_reps on, a rep
// reading a customer sees the phone, and the phone among the ids, as
// 138****8000, while the admin and manager still see it whole; off again,
// the rep sees it whole. Tenants are apart.
func TestSettingsMaskPhonesForReps(t *testing.T) {
	f := newFixture(t)
	at := time.Now().Add(-30 * time.Minute).Format(time.RFC3339)
	f.postOK(t, "acme-admin", map[string]any{"specversion": "1.0", "id": "mask-1", "source": "wecom/test",
		"type": "contact.updated", "time": at, "tenant": "acme", "subject": "c1",
		"data": map[string]any{"staff_id": "s1", "phone": "+86 138-0013-8000"}})
	testenv.Eventually(t, 20*time.Second, func() error {
		_, err := f.profiles.Get(f.ctx, "acme", "13800138000")
		return err
	})
	type customer struct {
		Phone string   `json:"phone"`
		IDs   []string `json:"ids"`
	}
	read := func(key string) customer {
		t.Helper()
		status, body := f.do(t, http.MethodGet, "/v1/customers/c1", key, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var c customer
		require.NoError(t, json.Unmarshal(body, &c))
		return c
	}
	require.Equal(t, "+86 138-0013-8000", read("acme-rep-s1").Phone, "not masked by default")

	status, body := f.do(t, http.MethodGet, "/v1/settings", "acme-admin", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.JSONEq(t, `{"tenant":"acme","mask_phones_for_reps":false,"updated_at":null}`, string(body))

	for _, key := range []string{"acme-rep-s1", "acme-manager", "acme-exec", "acme-billing", "acme-marketer"} {
		status, _ := f.do(t, http.MethodPut, "/v1/settings", key, []byte(`{"mask_phones_for_reps":true}`))
		require.Equal(t, http.StatusForbidden, status, key)
		status, _ = f.do(t, http.MethodGet, "/v1/settings", key, nil)
		require.Equal(t, http.StatusForbidden, status, key)
	}
	for body, field := range map[string]string{`{}`: "mask_phones_for_reps", `{"mask_phones_for_reps":"yes"}`: "", `{"mask":true}`: ""} {
		status, resp := f.do(t, http.MethodPut, "/v1/settings", "acme-admin", []byte(body))
		require.Equal(t, http.StatusBadRequest, status, "%s → %s", body, resp)
		if field != "" {
			require.Equal(t, field, decodeError(t, resp).Field)
		}
	}

	status, body = f.do(t, http.MethodPut, "/v1/settings", "acme-admin", []byte(`{"mask_phones_for_reps":true}`))
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Contains(t, string(body), `"mask_phones_for_reps":true`)

	rep := read("acme-rep-s1")
	require.Equal(t, "138****8000", rep.Phone)
	require.Contains(t, rep.IDs, "138****8000")
	require.NotContains(t, rep.IDs, "13800138000")
	for _, key := range []string{"acme-admin", "acme-manager"} {
		c := read(key)
		require.Equal(t, "+86 138-0013-8000", c.Phone, key)
		require.Contains(t, c.IDs, "13800138000", key)
	}
	status, body = f.do(t, http.MethodGet, "/v1/settings?tenant=globex", "platform", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Contains(t, string(body), `"mask_phones_for_reps":false`, "another tenant's settings are its own")
	status, _ = f.do(t, http.MethodGet, "/v1/settings?tenant=globex", "acme-admin", nil)
	require.Equal(t, http.StatusForbidden, status)

	status, _ = f.do(t, http.MethodPut, "/v1/settings", "acme-admin", []byte(`{"mask_phones_for_reps":false}`))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "+86 138-0013-8000", read("acme-rep-s1").Phone)
}
