package dashboards

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func states(st Status) map[string]string {
	out := map[string]string{st.Datasource.UID: st.Datasource.State}
	for _, d := range st.Dashboards {
		out[d.UID] = d.State
	}
	return out
}

func allIn(state string) map[string]string {
	out := map[string]string{Datasource.UID: state}
	for _, d := range All() {
		out[d.UID] = state
	}
	return out
}

func TestCheck(t *testing.T) {
	f, srv := newFakeGrafana(t)
	g, ch := testTarget(srv.URL)
	probe := Probe{URL: srv.URL, Token: testToken}

	st := probe.Check(context.Background())
	require.Equal(t, Healthy, st.Health, st.Error)
	require.Equal(t, "11.3.0", st.Version)
	require.Equal(t, allIn(Missing), states(st), "nothing applied yet")
	require.Len(t, st.Dashboards, len(All()))
	require.Equal(t, All()[0].Title, st.Dashboards[0].Title)

	_, err := Apply(context.Background(), g, ch)
	require.NoError(t, err)
	f.writes = 0
	st = probe.Check(context.Background())
	require.Equal(t, allIn(Present), states(st))
	require.Zero(t, f.writes, "a check only reads")

	gone := All()[1].UID
	delete(f.dashboards, gone)
	want := allIn(Present)
	want[gone] = Missing
	require.Equal(t, want, states(probe.Check(context.Background())))

	t.Run("without a token only health is asked", func(t *testing.T) {
		calls := f.healthCalls
		st := Probe{URL: srv.URL}.Check(context.Background())
		require.Equal(t, Healthy, st.Health)
		require.Equal(t, allIn(Unchecked), states(st))
		require.Equal(t, calls+1, f.healthCalls)
	})

	for _, tc := range []struct {
		force int
		state string
		says  string
	}{
		{401, Unauthorized, "Service accounts"},
		{403, Forbidden, "Editor (dashboards)"},
		{500, Failed, "500"},
	} {
		t.Run(http.StatusText(tc.force), func(t *testing.T) {
			f.force = tc.force
			defer func() { f.force = 0 }()
			st := probe.Check(context.Background())
			require.Equal(t, Healthy, st.Health)
			require.Equal(t, allIn(tc.state), states(st))
			require.Contains(t, st.Dashboards[0].Error, tc.says)
		})
	}

	t.Run("its database down", func(t *testing.T) {
		f.healthDB = "failing"
		defer func() { f.healthDB = "" }()
		st := probe.Check(context.Background())
		require.Equal(t, Unhealthy, st.Health)
		require.NotEmpty(t, st.Error)
		require.Equal(t, want, states(st), "the objects are still asked about")
	})
}

func TestCheckUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	st := Probe{URL: srv.URL, Token: testToken}.Check(context.Background())
	require.Equal(t, Unreachable, st.Health)
	require.Contains(t, st.Error, "connect")
	require.Equal(t, allIn(Unchecked), states(st), "nothing to ask")

	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hung.Close)
	start := time.Now()
	st = Probe{URL: hung.URL, Token: testToken, Timeout: 200 * time.Millisecond}.Check(context.Background())
	require.Equal(t, Unreachable, st.Health)
	require.Less(t, time.Since(start), 2*time.Second, "a Grafana that does not answer does not hold the check")
}
