package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/followup"
	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestCDPFromMemory: with the tenant's customers in memory (as `siyu serve`
// wires it), a marketer defines a tag, tags a customer and saves a segment,
// and each first read sent with the write's token — the profile, the
// segment's members — reflects the write and is served from memory;
// another tenant's key sees nothing of it.
func TestCDPFromMemory(t *testing.T) {
	f := withFollowupDay(t)
	reg := prometheus.NewRegistry()
	tail := f.startTail(t, nil)
	followup.NewBoards(f.conn, f.deps.Followup, tail, nil, testenv.Logger()) // as `siyu serve`: one tail feeds both
	mem := cdp.NewMemory(f.conn, tail, reg, testenv.Logger())
	f.run(t, mem.Run)
	f.deps.Segments = cdp.NewSegments(f.conn, mem)
	f.deps.Profiles = cdp.NewProfiles(f.conn, mem)
	f.withSavedSegments(t)

	get := func(key, path string, h http.Header, out any) int {
		t.Helper()
		status, rh, body := f.call(t, http.MethodGet, path, key, h, nil)
		if status == http.StatusOK {
			require.NoError(t, json.Unmarshal(body, out), "%s", body)
			if h != nil {
				require.Equal(t, "fresh", rh.Get(api.ConsistencyHeader))
			}
		}
		return status
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		var pr cdp.Profile
		get("acme-marketer", "/v1/customers/c1", nil, &pr) // the first read registers the tenant
		get("globex-admin", "/v1/customers/c1", nil, &pr)
		if !mem.Ready("acme") || !mem.Ready("globex") {
			return errors.New("the tenants are loading")
		}
		return nil
	})
	memory := func() float64 { return testenv.Counter(t, reg, "siyu_cdp_reads_total", "source", "memory") }

	status, h, body := f.call(t, http.MethodPost, "/v1/tags", "acme-marketer", nil, mustJSON(t, map[string]any{"name": "VIP", "group": "value"}))
	require.Equal(t, http.StatusCreated, status, "%s", body)
	require.NotEmpty(t, h.Get(api.WriteTokenHeader), "a tag definition answers its token")
	var tag cdp.Tag
	require.NoError(t, json.Unmarshal(body, &tag))

	status, h, body = f.call(t, http.MethodPost, "/v1/customers/c1/tags", "acme-marketer", nil, mustJSON(t, map[string]any{"add": []string{tag.ID}}))
	require.Equal(t, http.StatusOK, status, "%s", body)
	tagged := http.Header{api.ReadAfterHeader: {h.Get(api.WriteTokenHeader)}}
	require.NotEmpty(t, h.Get(api.WriteTokenHeader), "a tagging answers its token")
	before := memory()
	var pr cdp.Profile
	require.Equal(t, http.StatusOK, get("acme-marketer", "/v1/customers/c1", tagged, &pr))
	require.Equal(t, before+1, memory(), "served from memory")
	require.Len(t, pr.Tags, 1, "the first read after the tagging")
	require.Equal(t, "VIP", pr.Tags[0].Name)
	require.Equal(t, "value", pr.Tags[0].Group)

	status, h, body = f.call(t, http.MethodPost, "/v1/segments", "acme-marketer", nil,
		mustJSON(t, map[string]any{"name": "VIPs", "definition": map[string]any{"tag_group": map[string]any{"has": "value"}}}))
	require.Equal(t, http.StatusCreated, status, "%s", body)
	require.NotEmpty(t, h.Get(api.WriteTokenHeader), "a saved segment answers its token")
	var seg cdp.SavedSegment
	require.NoError(t, json.Unmarshal(body, &seg))
	before = memory()
	var page memberPageBody
	require.Equal(t, http.StatusOK, get("acme-marketer", "/v1/segments/"+seg.ID+"/customers", tagged, &page))
	require.Equal(t, before+1, memory(), "served from memory")
	require.Equal(t, []string{"c1"}, contactIDs(page.Customers))
	require.Equal(t, []string{tag.ID}, page.Customers[0].TagIDs)

	// Walls: globex's c1 is another customer; acme's segment is not globex's.
	require.Equal(t, http.StatusOK, get("globex-admin", "/v1/customers/c1", nil, &pr))
	require.Empty(t, pr.Tags)
	require.Equal(t, http.StatusNotFound, get("globex-admin", "/v1/segments/"+seg.ID+"/customers", nil, &page))
	var preview struct{ Count uint64 }
	status, _, body = f.call(t, http.MethodPost, "/v1/segments/preview", "globex-admin", nil,
		mustJSON(t, map[string]any{"definition": map[string]any{"tag": map[string]any{"has": tag.ID}}}))
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.NoError(t, json.Unmarshal(body, &preview))
	require.Zero(t, preview.Count, "another tenant's count")
}
