package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/dashboards"
)

// The admin's Grafana tab: a live check of the configured Grafana (GET
// /v1/grafana/status: its health and, with its token, each provisioned
// object present or missing), what to do about what is wrong, and the
// commands that install the dashboards.

// grafanaStatus is GET /v1/grafana/status's answer.
type grafanaStatus struct {
	Configured bool `json:"configured"`
	TokenSet   bool `json:"token_set"`
	dashboards.Status
}

// grafanaTab is the tab: the check, each object as the page says it, and
// the address the apply command is shown with.
type grafanaTab struct {
	URL     string
	Status  grafanaStatus
	Health  string // the health line
	Objects []grafanaObject
}

// grafanaObject is one provisioned object: its state and what to do.
type grafanaObject struct {
	Kind, UID, Title, Href string
	State                  string // dashboards.Present, Missing, ...
	Label, Fix             string
}

func (cons *Console) loadGrafana(c *fiber.Ctx, cl *client) (any, error) {
	g := &grafanaTab{URL: cons.GrafanaURL}
	if err := cl.get("/v1/grafana/status", nil, &g.Status); err != nil {
		return nil, err
	}
	l := langOf(c)
	if g.Status.URL != "" {
		g.URL = g.Status.URL
	}
	switch g.Status.Health {
	case dashboards.Healthy:
		g.Health = l.F("admin.grafana.ok", g.Status.Version)
	case dashboards.Unhealthy:
		g.Health = l.F("admin.grafana.unhealthy", g.Status.Error)
	case dashboards.Unreachable:
		g.Health = l.F("admin.grafana.unreachable", g.Status.Error)
	}
	if !g.Status.Configured {
		return g, nil
	}
	ds := g.Status.Datasource
	g.Objects = append(g.Objects, g.object(l, "admin.grafana.datasource", ds, ""))
	for _, d := range g.Status.Dashboards {
		g.Objects = append(g.Objects, g.object(l, "admin.grafana.dashboard", d, "/d/"+url.PathEscape(d.UID)))
	}
	return g, nil
}

// object says one object's state and what to do about it.
func (g *grafanaTab) object(l Lang, kind string, o dashboards.Object, path string) grafanaObject {
	out := grafanaObject{Kind: l.T(kind), UID: o.UID, Title: o.Title, State: o.State, Label: l.T("admin.grafana.state." + o.State)}
	switch o.State {
	case dashboards.Present:
		if path != "" {
			out.Href = g.URL + path
		}
	case dashboards.Failed:
		out.Fix = l.F("admin.grafana.fix.failed", o.Error)
	default:
		out.Fix = l.T("admin.grafana.fix." + o.State)
	}
	return out
}

var grafanaMessages = map[string]msg{
	"admin.grafana.check":              {"实时检查", "Live check"},
	"admin.grafana.recheck":            {"重新检查", "Check again"},
	"admin.grafana.ok":                 {"Grafana 可以访问，运行正常（版本 %s）。", "Grafana is reachable and well (version %s)."},
	"admin.grafana.unhealthy":          {"Grafana 有响应，但报告异常（%s）：请检查 Grafana 及其数据库，再重新检查。", "Grafana answers but is not well (%s): check Grafana and its database, then check again."},
	"admin.grafana.unreachable":        {"无法访问 Grafana（%s）：请确认 --grafana-url 正确、Grafana 正在运行，且本服务器能连到它。", "Grafana cannot be reached (%s): check that --grafana-url is right, that Grafana runs, and that this server can reach it."},
	"admin.grafana.notoken":            {"未配置 Grafana 令牌，只检查了 Grafana 是否可访问。以环境变量 SIYU_GRAFANA_TOKEN（或 --grafana-token）提供 siyu dashboards apply 所用的服务账号令牌并重启，即可检查数据源和每个仪表盘是否已安装。", "No Grafana token: only Grafana's health was checked. Give the service account token siyu dashboards apply uses as $SIYU_GRAFANA_TOKEN (or --grafana-token) and restart, and the data source and each dashboard are checked too."},
	"admin.grafana.col.object":         {"对象", "Object"},
	"admin.grafana.col.state":          {"状态", "State"},
	"admin.grafana.col.fix":            {"处理方法", "What to do"},
	"admin.grafana.datasource":         {"数据源", "Data source"},
	"admin.grafana.dashboard":          {"仪表盘", "Dashboard"},
	"admin.grafana.open":               {"打开", "Open"},
	"admin.grafana.state.present":      {"已安装", "Installed"},
	"admin.grafana.state.missing":      {"缺失", "Missing"},
	"admin.grafana.state.unchecked":    {"未检查", "Not checked"},
	"admin.grafana.state.unauthorized": {"令牌无效", "Token refused"},
	"admin.grafana.state.forbidden":    {"权限不足", "Not allowed"},
	"admin.grafana.state.failed":       {"检查失败", "Check failed"},
	"admin.grafana.fix.missing":        {"在服务器上执行下面的 apply 命令安装（可重复执行）。", "Run the apply command below on the server to install it (safe to repeat)."},
	"admin.grafana.fix.unchecked":      {"配置令牌后才能检查（见上）。", "Needs the token to be checked (see above)."},
	"admin.grafana.fix.unauthorized":   {"令牌无效或已过期：在 Grafana（管理 → 服务账号）中新建令牌，更新 SIYU_GRAFANA_TOKEN 后重启。", "The token is invalid or expired: create a new one in Grafana (Administration → Service accounts), set SIYU_GRAFANA_TOKEN and restart."},
	"admin.grafana.fix.forbidden":      {"令牌权限不足：给服务账号 Editor（仪表盘）和 Admin（数据源）角色。", "The token lacks permission: give the service account the Editor (dashboards) and Admin (data sources) roles."},
	"admin.grafana.fix.failed":         {"Grafana 没有给出答复（%s）：稍后重新检查。", "Grafana gave no answer (%s): check again in a moment."},
}
