package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	goapi "github.com/grafana/grafana-openapi-client-go/client"
	"github.com/grafana/grafana-openapi-client-go/models"
)

// DatasourceName is the display name of the applied ClickHouse data source.
const DatasourceName = "Siyu ClickHouse"

// Grafana is a running Grafana that Apply writes into through its HTTP API.
type Grafana struct {
	URL         string // e.g. https://grafana.example.com
	Token       string // service account token, sent as a Bearer token
	FolderUID   string // stable, so a renamed folder is still found
	FolderTitle string
	Password    string // ClickHouse password; empty leaves the stored one alone
}

// Validate reports the first problem with t.
func (t Grafana) Validate() error {
	u, err := url.Parse(t.URL)
	switch {
	case t.URL == "":
		return errors.New("grafana url is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("grafana url %q: want http(s)://host[:port][/path]", t.URL)
	case t.Token == "":
		return errors.New("grafana token is required")
	case t.FolderUID == "" || t.FolderTitle == "":
		return errors.New("grafana folder uid and title are required")
	}
	return nil
}

// Change is what Apply did to one Grafana object.
type Change struct {
	Kind   string // "data source", "folder" or "dashboard"
	UID    string
	Action string // "created", "updated" or "unchanged"
}

func (c Change) String() string { return c.Action + " " + c.Kind + " " + c.UID }

// Apply creates or updates, in a running Grafana, the ClickHouse data source
// (fixed uid), the Siyu folder and every dashboard. Each object is read
// first and written only when it differs, so a second Apply writes nothing.
func Apply(ctx context.Context, t Grafana, ch ClickHouse) ([]Change, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := ch.Validate(); err != nil {
		return nil, err
	}
	api, err := newClient(t)
	in := withContext(ctx)
	if err != nil {
		return nil, err
	}
	var changes []Change
	c, err := applyDatasource(api, in, ch, t.Password)
	if err != nil {
		return changes, err
	}
	changes = append(changes, c)
	if c, err = applyFolder(api, in, t.FolderUID, t.FolderTitle); err != nil {
		return changes, err
	}
	changes = append(changes, c)
	for _, d := range All() {
		if c, err = applyDashboard(api, in, d, t.FolderUID); err != nil {
			return changes, err
		}
		changes = append(changes, c)
	}
	return changes, nil
}

func newClient(t Grafana) (*goapi.GrafanaHTTPAPI, error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("parse grafana url: %w", err)
	}
	return goapi.NewHTTPClientWithConfig(strfmt.Default, &goapi.TransportConfig{
		Host:     u.Host,
		BasePath: strings.TrimSuffix(u.Path, "/") + "/api",
		Schemes:  []string{u.Scheme},
		APIKey:   t.Token,
	}), nil
}

// datasourceJSON is the data source's jsonData; the password goes apart,
// in secureJsonData, which Grafana never returns.
func datasourceJSON(ch ClickHouse) map[string]any {
	return map[string]any{
		"host":            ch.Host,
		"port":            ch.Port,
		"protocol":        "native",
		"defaultDatabase": ch.Database,
		"username":        ch.Username,
	}
}

func applyDatasource(api *goapi.GrafanaHTTPAPI, in func(*runtime.ClientOperation), ch ClickHouse, password string) (Change, error) {
	c := Change{Kind: "data source", UID: Datasource.UID}
	var secure map[string]string
	if password != "" {
		secure = map[string]string{"password": password}
	}
	jsonData := datasourceJSON(ch)
	got, err := api.Datasources.GetDataSourceByUID(Datasource.UID, in)
	if statusIs(err, 404) {
		_, err = api.Datasources.AddDataSource(&models.AddDataSourceCommand{
			UID: Datasource.UID, Name: DatasourceName, Type: PluginType, Access: "proxy",
			JSONData: jsonData, SecureJSONData: secure,
		}, in)
		c.Action = "created"
		return c, explain(err, "create", c.Kind, c.UID)
	}
	if err != nil {
		return c, explain(err, "read", c.Kind, c.UID)
	}
	ds := got.Payload
	if ds.Name == DatasourceName && ds.Type == PluginType && ds.Access == "proxy" &&
		sameJSON(ds.JSONData, jsonData) && (password == "" || ds.SecureJSONFields["password"]) {
		c.Action = "unchanged"
		return c, nil
	}
	_, err = api.Datasources.UpdateDataSourceByUID(Datasource.UID, &models.UpdateDataSourceCommand{
		UID: Datasource.UID, Name: DatasourceName, Type: PluginType, Access: "proxy",
		JSONData: jsonData, SecureJSONData: secure, Version: ds.Version,
	}, in)
	c.Action = "updated"
	return c, explain(err, "update", c.Kind, c.UID)
}

func applyFolder(api *goapi.GrafanaHTTPAPI, in func(*runtime.ClientOperation), uid, title string) (Change, error) {
	c := Change{Kind: "folder", UID: uid, Action: "unchanged"}
	_, err := api.Folders.GetFolderByUID(uid, in)
	if err == nil {
		return c, nil
	}
	if !statusIs(err, 404) {
		return c, explain(err, "read", c.Kind, uid)
	}
	_, err = api.Folders.CreateFolder(&models.CreateFolderCommand{UID: uid, Title: title}, in)
	if statusIs(err, 409) || statusIs(err, 412) {
		// Created meanwhile, or another folder already has this title.
		if _, gerr := api.Folders.GetFolderByUID(uid, in); gerr == nil {
			return c, nil
		}
		return c, fmt.Errorf("create folder %s: a folder titled %q already exists with another uid: "+
			"rename or delete it in Grafana, or pass another --folder", uid, title)
	}
	c.Action = "created"
	return c, explain(err, "create", c.Kind, uid)
}

func applyDashboard(api *goapi.GrafanaHTTPAPI, in func(*runtime.ClientOperation), d Dashboard, folderUID string) (Change, error) {
	c := Change{Kind: "dashboard", UID: d.UID, Action: "created"}
	b, err := d.JSON()
	if err != nil {
		return c, fmt.Errorf("render dashboard %s: %w", d.UID, err)
	}
	var want map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		return c, fmt.Errorf("render dashboard %s: %w", d.UID, err)
	}
	got, err := api.Dashboards.GetDashboardByUID(d.UID, in)
	switch {
	case err == nil:
		if storedFolder(got.Payload) == folderUID && sameDashboard(got.Payload.Dashboard, want) {
			c.Action = "unchanged"
			return c, nil
		}
		c.Action = "updated"
	case !statusIs(err, 404):
		return c, explain(err, "read", c.Kind, d.UID)
	}
	_, err = api.Dashboards.PostDashboard(&models.SaveDashboardCommand{
		Dashboard: want, FolderUID: folderUID, Overwrite: true, Message: "siyu dashboards apply",
	}, in)
	return c, explain(err, "save", c.Kind, d.UID)
}

func storedFolder(p *models.DashboardFullWithMeta) string {
	if p == nil || p.Meta == nil {
		return ""
	}
	return p.Meta.FolderUID
}

// sameDashboard compares a stored dashboard with a rendered one, ignoring
// the id and version Grafana assigns on every save.
func sameDashboard(stored any, want map[string]any) bool {
	var s map[string]any
	if !roundTrip(stored, &s) {
		return false
	}
	w := make(map[string]any, len(want))
	for k, v := range want {
		w[k] = v
	}
	for _, k := range []string{"id", "version"} {
		delete(s, k)
		delete(w, k)
	}
	return sameJSON(s, w)
}

// sameJSON compares two values as JSON, so 9000 and 9000.0 are equal.
func sameJSON(a, b any) bool {
	var x, y any
	return roundTrip(a, &x) && roundTrip(b, &y) && reflect.DeepEqual(x, y)
}

func roundTrip(v, into any) bool {
	b, err := json.Marshal(v)
	return err == nil && json.Unmarshal(b, into) == nil
}

// statusIs reports whether err is a Grafana answer with the given status.
func statusIs(err error, code int) bool {
	var sc interface{ IsCode(int) bool }
	return err != nil && errors.As(err, &sc) && sc.IsCode(code)
}

// Errors Apply returns for the statuses a user can act on.
var (
	ErrUnauthorized = errors.New("the token is invalid or expired: create a service account token in Grafana (Administration → Service accounts)")
	ErrForbidden    = errors.New("the token lacks permission: give the service account the Editor (dashboards) and Admin (data sources) roles")
)

// explain turns a Grafana error into one that says what to do.
func explain(err error, verb, kind, uid string) error {
	switch {
	case err == nil:
		return nil
	case statusIs(err, 401):
		return fmt.Errorf("%s %s %s: %w", verb, kind, uid, ErrUnauthorized)
	case statusIs(err, 403):
		return fmt.Errorf("%s %s %s: %w", verb, kind, uid, ErrForbidden)
	case statusIs(err, 409):
		return fmt.Errorf("%s %s %s: another %s has the same name or uid in Grafana: rename or delete it there, then apply again: %w",
			verb, kind, uid, kind, err)
	case statusIs(err, 412):
		return fmt.Errorf("%s %s %s: Grafana holds a different version (changed meanwhile, or a %s with the same name exists): "+
			"check it in Grafana, then apply again: %w", verb, kind, uid, kind, err)
	}
	return fmt.Errorf("%s %s %s: %w", verb, kind, uid, err)
}

// withContext makes a client call honour ctx.
func withContext(ctx context.Context) func(*runtime.ClientOperation) {
	return func(op *runtime.ClientOperation) { op.Context = ctx }
}
