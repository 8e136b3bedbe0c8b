package dashboards

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/go-openapi/runtime"
	goapi "github.com/grafana/grafana-openapi-client-go/client"
	"golang.org/x/sync/errgroup"
)

// Probe checks a running Grafana live, as the admin console shows it: is
// it up (GET /api/health, which needs no credentials) and, with the
// service account token `siyu dashboards apply` uses, are the data source
// and every dashboard there, by uid. It only reads.
type Probe struct {
	URL   string // Grafana's base URL, e.g. https://grafana.example.com
	Token string // service account token; "": the objects are not checked
	// Timeout bounds the whole check (default 5 s): a Grafana that does
	// not answer must not hold the page that asks.
	Timeout time.Duration
}

// The states of a checked object, and of the check of them all.
const (
	Present      = "present"
	Missing      = "missing"
	Unchecked    = "unchecked"    // no token: the objects were not asked about
	Unauthorized = "unauthorized" // Grafana refused the token (401)
	Forbidden    = "forbidden"    // the token may not read it (403)
	Failed       = "failed"       // no answer, or an unexpected one: Error says
)

// Health states of Grafana itself.
const (
	Healthy     = "ok"
	Unhealthy   = "unhealthy"   // it answered, but not that it is well (its database, say)
	Unreachable = "unreachable" // no answer
)

// Status is what a Probe found.
type Status struct {
	URL        string   `json:"url"`
	Health     string   `json:"health"`            // ok, unhealthy or unreachable
	Version    string   `json:"version,omitempty"` // Grafana's, when healthy
	Database   string   `json:"database,omitempty"`
	Error      string   `json:"error,omitempty"` // why not healthy
	Datasource Object   `json:"datasource"`
	Dashboards []Object `json:"dashboards"`
}

// Object is one data source or dashboard Apply provisions, and whether
// Grafana has it.
type Object struct {
	UID   string `json:"uid"`
	Title string `json:"title"`
	State string `json:"state"`           // present, missing, unchecked, unauthorized, forbidden or failed
	Error string `json:"error,omitempty"` // for failed: what Grafana or the network said
}

// Check asks Grafana. It never fails: what went wrong is in the Status.
func (p Probe) Check(ctx context.Context) Status {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st := Status{URL: p.URL, Datasource: Object{UID: Datasource.UID, Title: DatasourceName, State: Unchecked}}
	for _, d := range All() {
		st.Dashboards = append(st.Dashboards, Object{UID: d.UID, Title: d.Title, State: Unchecked})
	}
	api, err := newClient(Grafana{URL: p.URL, Token: p.Token})
	if err != nil {
		st.Health, st.Error = Unreachable, err.Error()
		return st
	}
	in := withContext(ctx)
	st.Health = p.health(api, &st, in)
	if p.Token == "" || st.Health == Unreachable {
		return st
	}
	var g errgroup.Group
	g.SetLimit(4)
	g.Go(func() error {
		_, err := api.Datasources.GetDataSourceByUID(Datasource.UID, in)
		st.Datasource.State, st.Datasource.Error = stateOf(err)
		return nil
	})
	for i := range st.Dashboards {
		o := &st.Dashboards[i]
		g.Go(func() error {
			_, err := api.Dashboards.GetDashboardByUID(o.UID, in)
			o.State, o.Error = stateOf(err)
			return nil
		})
	}
	_ = g.Wait() // each call keeps its own outcome
	return st
}

// health reads GET /api/health: 200 with database "ok" is healthy; any
// other answer is Grafana unwell; no answer, unreachable.
func (p Probe) health(api *goapi.GrafanaHTTPAPI, st *Status, in func(*runtime.ClientOperation)) string {
	got, err := api.Health.GetHealth(in)
	var status interface{ IsCode(int) bool }
	switch {
	case err == nil:
		if got.Payload != nil {
			st.Version, st.Database = got.Payload.Version, got.Payload.Database
		}
		if st.Database != "ok" {
			st.Error = "it says its database is " + strconv.Quote(st.Database)
			return Unhealthy
		}
		return Healthy
	case errors.As(err, &status):
		st.Error = err.Error()
		return Unhealthy
	}
	st.Error = err.Error()
	return Unreachable
}

// stateOf is what a GET by uid answered.
func stateOf(err error) (state, detail string) {
	switch {
	case err == nil:
		return Present, ""
	case statusIs(err, 404):
		return Missing, ""
	case statusIs(err, 401):
		return Unauthorized, ErrUnauthorized.Error()
	case statusIs(err, 403):
		return Forbidden, ErrForbidden.Error()
	}
	return Failed, err.Error()
}
