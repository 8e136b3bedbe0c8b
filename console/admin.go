package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
)

// adminPages are the admin's pages, one tab each: users and their roles,
// API keys, stages, pool rules, WeCom settings, privacy and Grafana. Each
// reads and writes through the API's own routes.
func (cons *Console) adminPages() []page {
	admins := []auth.Role{auth.RoleAdmin}
	return []page{
		{path: "/app/admin", nav: "admin.nav", roles: admins, get: cons.adminGet(adminUsers), posts: map[string]fiber.Handler{
			"/users":         cons.adminPost(adminUsers, cons.createUser),
			"/users/update":  cons.adminPost(adminUsers, cons.updateUser),
			"/users/signout": cons.adminPost(adminUsers, cons.signOutUser),
		}},
		{path: "/app/admin/keys", roles: admins, parent: "/app/admin", get: cons.adminGet(adminKeys), posts: map[string]fiber.Handler{
			"":        cons.createKey,
			"/revoke": cons.adminPost(adminKeys, cons.revokeKey),
		}},
		{path: "/app/admin/stages", roles: admins, parent: "/app/admin", get: cons.adminGet(adminStages),
			posts: map[string]fiber.Handler{"": cons.adminPost(adminStages, cons.putStages)}},
		{path: "/app/admin/pool", roles: admins, parent: "/app/admin", get: cons.adminGet(adminPool),
			posts: map[string]fiber.Handler{"": cons.adminPost(adminPool, cons.putPoolRules)}},
		{path: "/app/admin/wecom", roles: admins, parent: "/app/admin", get: cons.adminGet(adminWeCom),
			posts: map[string]fiber.Handler{"": cons.adminPost(adminWeCom, cons.putWeCom)}},
		{path: "/app/admin/privacy", roles: admins, parent: "/app/admin", get: cons.adminGet(adminPrivacy),
			posts: map[string]fiber.Handler{"": cons.adminPost(adminPrivacy, cons.putPrivacy)}},
		{path: "/app/admin/grafana", roles: admins, parent: "/app/admin", get: cons.adminGet(adminGrafana)},
	}
}

// adminTab is one admin tab: its page, title, template and how it reads
// its data from the API.
type adminTab struct {
	path, title, tmpl string
	load              func(cons *Console, c *fiber.Ctx, cl *client) (any, error)
}

var (
	adminUsers   = &adminTab{path: "/app/admin", title: "admin.users", tmpl: "admin_users", load: (*Console).loadUsers}
	adminKeys    = &adminTab{path: "/app/admin/keys", title: "admin.keys", tmpl: "admin_keys", load: (*Console).loadKeys}
	adminStages  = &adminTab{path: "/app/admin/stages", title: "admin.stages", tmpl: "admin_stages", load: (*Console).loadStages}
	adminPool    = &adminTab{path: "/app/admin/pool", title: "admin.pool", tmpl: "admin_pool", load: (*Console).loadPoolRules}
	adminWeCom   = &adminTab{path: "/app/admin/wecom", title: "admin.wecom", tmpl: "admin_wecom", load: (*Console).loadWeCom}
	adminPrivacy = &adminTab{path: "/app/admin/privacy", title: "admin.privacy", tmpl: "admin_privacy", load: (*Console).loadPrivacy}
	adminGrafana = &adminTab{path: "/app/admin/grafana", title: "admin.grafana", tmpl: "admin_grafana", load: (*Console).loadGrafana}
)

// adminTabs lists the tabs for the tab bar (partials/admin_tabs.html).
var adminTabs = []*adminTab{adminUsers, adminKeys, adminStages, adminPool, adminWeCom, adminPrivacy, adminGrafana}

// AdminTabs is the tab bar's entries (a template function would need the
// core; a method on the view's data keeps it in this group).
type tabLink struct {
	Href, Key string
}

func adminTabLinks() []tabLink {
	out := make([]tabLink, len(adminTabs))
	for i, t := range adminTabs {
		out[i] = tabLink{Href: t.path, Key: t.title}
	}
	return out
}

// adminPage is what every admin template gets in .Data: the tab bar and
// the tab's own data.
type adminPage struct {
	Tabs []tabLink
	Tab  any
}

func (cons *Console) adminGet(tab *adminTab) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return cons.adminShow(c, tab, cons.viewOf(c, tab.title), nil)
	}
}

// adminShow renders tab with its data read afresh; extra, when set,
// replaces the data (a form's entries re-shown after a refusal).
func (cons *Console) adminShow(c *fiber.Ctx, tab *adminTab, v *view, edit func(data any)) error {
	data, err := tab.load(cons, c, cons.clientOf(c))
	if err != nil {
		return cons.fail(c, err)
	}
	if edit != nil {
		edit(data)
	}
	v.Data = adminPage{Tabs: adminTabLinks(), Tab: data}
	return cons.renderView(c, tab.tmpl, v)
}

// adminPost runs a form's API call; success goes back to the tab with a
// notice, a refusal re-renders the tab with the API's message beside the
// form (a refusal of the page itself, 401/403, is the error page).
func (cons *Console) adminPost(tab *adminTab, act func(c *fiber.Ctx, cl *client) (string, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		notice, err := act(c, cons.clientOf(c))
		if err == nil {
			return back(c, tab.path, notice)
		}
		return cons.adminRefused(c, tab, err, nil)
	}
}

func (cons *Console) adminRefused(c *fiber.Ctx, tab *adminTab, err error, edit func(data any)) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden || ae.Status >= 500 {
		return cons.fail(c, err)
	}
	v := cons.viewOf(c, tab.title)
	formError(v, err)
	c.Status(ae.Status)
	return cons.adminShow(c, tab, v, edit)
}

// --- users (GET/POST /v1/users, PATCH /v1/users/{login}) ---

type usersTab struct {
	Users []auth.User
	Roles []auth.Role
	New   newUserForm
}

type newUserForm struct {
	Login, Name, Role, StaffID string
}

// tenantRoles are the roles an admin may grant (platform only the
// platform grants).
var tenantRoles = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleRep, auth.RoleMarketer, auth.RoleExec, auth.RoleBilling}

func (cons *Console) loadUsers(c *fiber.Ctx, cl *client) (any, error) {
	var a struct {
		Users []auth.User `json:"users"`
	}
	if err := cl.get("/v1/users", nil, &a); err != nil {
		return nil, err
	}
	return &usersTab{Users: a.Users, Roles: tenantRoles, New: newUserForm{Role: string(auth.RoleRep)}}, nil
}

func (cons *Console) createUser(c *fiber.Ctx, cl *client) (string, error) {
	body := map[string]string{"login": strings.TrimSpace(c.FormValue("login")), "name": strings.TrimSpace(c.FormValue("name")),
		"role": c.FormValue("role"), "password": c.FormValue("password")}
	if s := strings.TrimSpace(c.FormValue("staff_id")); s != "" {
		body["staff_id"] = s
	}
	return "admin.user.created", cl.send(fiber.MethodPost, "/v1/users", body, nil)
}

func (cons *Console) updateUser(c *fiber.Ctx, cl *client) (string, error) {
	login := c.FormValue("login")
	body := map[string]any{"role": c.FormValue("role"), "staff_id": strings.TrimSpace(c.FormValue("staff_id")),
		"disabled": c.FormValue("disabled") == "1"}
	if name := strings.TrimSpace(c.FormValue("name")); name != "" {
		body["name"] = name
	}
	if pw := c.FormValue("password"); pw != "" {
		body["password"] = pw
	}
	return "admin.user.updated", cl.send(fiber.MethodPatch, "/v1/users/"+url.PathEscape(login), body, nil)
}

func (cons *Console) signOutUser(c *fiber.Ctx, cl *client) (string, error) {
	return "admin.user.signedout", cl.send(fiber.MethodPost, "/v1/users/"+url.PathEscape(c.FormValue("login"))+"/sign-out", nil, nil)
}

// --- API keys (GET/POST /v1/keys, DELETE /v1/keys/{prefix}) ---

type apiKey struct {
	Prefix    string    `json:"prefix"`
	Role      auth.Role `json:"role"`
	StaffID   string    `json:"staff_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Revoked   bool      `json:"revoked"`
	Key       string    `json:"key"` // the secret: in POST's answer only
}

type keysTab struct {
	Keys    []apiKey
	Roles   []auth.Role
	Created *apiKey // the key just made: its secret shown this once
}

func (cons *Console) loadKeys(c *fiber.Ctx, cl *client) (any, error) {
	var a struct {
		Keys []apiKey `json:"keys"`
	}
	if err := cl.get("/v1/keys", nil, &a); err != nil {
		return nil, err
	}
	slices.SortStableFunc(a.Keys, func(x, y apiKey) int { return y.CreatedAt.Compare(x.CreatedAt) })
	return &keysTab{Keys: a.Keys, Roles: tenantRoles}, nil
}

// createKey makes a key and shows its secret on this answer only: it is
// rendered, not redirected, and the page is not stored (no-store).
func (cons *Console) createKey(c *fiber.Ctx) error {
	body := map[string]string{"role": c.FormValue("role"), "name": strings.TrimSpace(c.FormValue("name"))}
	if s := strings.TrimSpace(c.FormValue("staff_id")); s != "" {
		body["staff_id"] = s
	}
	var created apiKey
	if err := cons.clientOf(c).send(fiber.MethodPost, "/v1/keys", body, &created); err != nil {
		return cons.adminRefused(c, adminKeys, err, nil)
	}
	v := cons.viewOf(c, adminKeys.title)
	v.Notice = v.L.T("admin.key.created")
	return cons.adminShow(c, adminKeys, v, func(data any) { data.(*keysTab).Created = &created })
}

func (cons *Console) revokeKey(c *fiber.Ctx, cl *client) (string, error) {
	_, err := cl.do(fiber.MethodDelete, "/v1/keys/"+url.PathEscape(c.FormValue("prefix")), nil, nil, nil)
	return "admin.key.revoked", err
}

// --- stages (GET/PUT /v1/followups/stages) ---

type stagesTab struct {
	Stages  []string
	Default bool
	SetAt   *time.Time
	Text    string // one stage a line, for the textarea
}

func (cons *Console) loadStages(c *fiber.Ctx, cl *client) (any, error) {
	var a struct {
		Stages  []string   `json:"stages"`
		Default bool       `json:"default"`
		SetAt   *time.Time `json:"set_at"`
	}
	if err := cl.get("/v1/followups/stages", nil, &a); err != nil {
		return nil, err
	}
	return &stagesTab{Stages: a.Stages, Default: a.Default, SetAt: a.SetAt, Text: strings.Join(a.Stages, "\n")}, nil
}

func (cons *Console) putStages(c *fiber.Ctx, cl *client) (string, error) {
	stages := []string{}
	for _, line := range strings.Split(c.FormValue("stages"), "\n") {
		if s := strings.TrimSpace(line); s != "" {
			stages = append(stages, s)
		}
	}
	return "admin.stages.saved", cl.send(fiber.MethodPut, "/v1/followups/stages", map[string]any{"stages": stages}, nil)
}

// --- pool rules (GET/PUT /v1/pool/rules) ---

type poolRules struct {
	MaxHold         int `json:"max_hold"`
	MaxClaimsPerDay int `json:"max_claims_per_day"`
	RecycleDays     int `json:"recycle_days"`
	CooldownDays    int `json:"cooldown_days"`
}

func (cons *Console) loadPoolRules(c *fiber.Ctx, cl *client) (any, error) {
	var r poolRules
	if err := cl.get("/v1/pool/rules", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (cons *Console) putPoolRules(c *fiber.Ctx, cl *client) (string, error) {
	var r poolRules
	for field, into := range map[string]*int{"max_hold": &r.MaxHold, "max_claims_per_day": &r.MaxClaimsPerDay,
		"recycle_days": &r.RecycleDays, "cooldown_days": &r.CooldownDays} {
		raw := strings.TrimSpace(c.FormValue(field))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return "", &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Field: field,
				Message: field + " must be a whole number (0 = no limit)"}
		}
		*into = n
	}
	return "admin.pool.saved", cl.send(fiber.MethodPut, "/v1/pool/rules", r, nil)
}

// --- WeCom (GET/PUT /v1/wecom/config; the secrets write-only) ---

type wecomTab struct {
	Set               bool // the tenant has settings
	CorpID            string
	AgentID           int64
	TokenSet          bool
	EncodingAESKeySet bool
	SecretSet         bool
	UpdatedAt         time.Time
	CallbackPath      string
}

func (cons *Console) loadWeCom(c *fiber.Ctx, cl *client) (any, error) {
	var a struct {
		CorpID            string    `json:"corp_id"`
		AgentID           int64     `json:"agent_id"`
		TokenSet          bool      `json:"token_set"`
		EncodingAESKeySet bool      `json:"encoding_aes_key_set"`
		SecretSet         bool      `json:"secret_set"`
		UpdatedAt         time.Time `json:"updated_at"`
		CallbackPath      string    `json:"callback_path"`
	}
	err := cl.get("/v1/wecom/config", nil, &a)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return &wecomTab{CallbackPath: "/wecom/callback/" + userOf(c).Tenant}, nil
	}
	if err != nil {
		return nil, err
	}
	return &wecomTab{Set: true, CorpID: a.CorpID, AgentID: a.AgentID, TokenSet: a.TokenSet, EncodingAESKeySet: a.EncodingAESKeySet,
		SecretSet: a.SecretSet, UpdatedAt: a.UpdatedAt, CallbackPath: a.CallbackPath}, nil
}

func (cons *Console) putWeCom(c *fiber.Ctx, cl *client) (string, error) {
	body := map[string]any{"corp_id": strings.TrimSpace(c.FormValue("corp_id")), "token": c.FormValue("token"),
		"encoding_aes_key": c.FormValue("encoding_aes_key")}
	if raw := strings.TrimSpace(c.FormValue("agent_id")); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return "", &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Field: "agent_id",
				Message: "agent_id is the app's AgentId, a whole number"}
		}
		body["agent_id"] = n
	}
	if s := c.FormValue("secret"); s != "" {
		body["secret"] = s
	}
	return "admin.wecom.saved", cl.send(fiber.MethodPut, "/v1/wecom/config", body, nil)
}

// --- privacy (GET/PUT /v1/settings) ---

type privacyTab struct {
	MaskPhonesForReps bool
	UpdatedAt         *time.Time
}

func (cons *Console) loadPrivacy(c *fiber.Ctx, cl *client) (any, error) {
	var a struct {
		MaskPhonesForReps bool       `json:"mask_phones_for_reps"`
		UpdatedAt         *time.Time `json:"updated_at"`
	}
	if err := cl.get("/v1/settings", nil, &a); err != nil {
		return nil, err
	}
	return &privacyTab{MaskPhonesForReps: a.MaskPhonesForReps, UpdatedAt: a.UpdatedAt}, nil
}

func (cons *Console) putPrivacy(c *fiber.Ctx, cl *client) (string, error) {
	return "admin.privacy.saved", cl.send(fiber.MethodPut, "/v1/settings",
		map[string]bool{"mask_phones_for_reps": c.FormValue("mask_phones_for_reps") == "1"}, nil)
}

var adminMessages = map[string]msg{
	"admin.nav":               {"管理", "Admin"},
	"admin.tabs":              {"管理项", "Admin sections"},
	"admin.users":             {"用户与角色", "Users and roles"},
	"admin.keys":              {"API 密钥", "API keys"},
	"admin.stages":            {"跟进阶段", "Stages"},
	"admin.pool":              {"公海规则", "Pool rules"},
	"admin.wecom":             {"企业微信", "WeCom"},
	"admin.privacy":           {"隐私", "Privacy"},
	"admin.grafana":           {"Grafana", "Grafana"},
	"admin.login":             {"账号", "Login"},
	"admin.name":              {"姓名", "Name"},
	"admin.role":              {"角色", "Role"},
	"admin.staff_id":          {"员工 ID（企业微信 userid）", "Staff id (WeCom userid)"},
	"admin.staff_id.short":    {"员工 ID", "Staff id"},
	"admin.staff_id.hint":     {"销售必填：登录后只能看到自己负责的客户。", "Required for a rep: they see only the customers they hold."},
	"admin.password":          {"初始密码", "Password"},
	"admin.password.hint":     {"至少 10 个字符；请通过安全渠道告知本人。", "At least 10 characters; hand it over safely."},
	"admin.password.new":      {"新密码（留空不改）", "New password (empty: unchanged)"},
	"admin.disabled":          {"停用", "Disabled"},
	"admin.status":            {"状态", "Status"},
	"admin.active":            {"正常", "Active"},
	"admin.actions":           {"操作", "Actions"},
	"admin.user.new":          {"新建用户", "New user"},
	"admin.user.create":       {"创建用户", "Create user"},
	"admin.user.created":      {"用户已创建。", "User created."},
	"admin.user.update":       {"保存", "Save"},
	"admin.user.updated":      {"用户已更新；停用或改密码会让其所有会话失效。", "User updated; disabling or a new password ends their sessions."},
	"admin.user.signout":      {"强制下线", "Sign out everywhere"},
	"admin.user.signout.ask":  {"让该用户在所有设备上退出登录？", "Sign this user out on every device?"},
	"admin.user.signedout":    {"该用户已在所有设备上退出。", "The user is signed out everywhere."},
	"admin.user.edit":         {"修改 %s", "Change %s"},
	"admin.users.none":        {"还没有用户。", "No users yet."},
	"admin.key.new":           {"新建 API 密钥", "New API key"},
	"admin.key.name":          {"用途（名称）", "Purpose (name)"},
	"admin.key.create":        {"创建密钥", "Create key"},
	"admin.key.created":       {"密钥已创建。", "Key created."},
	"admin.key.secret":        {"新密钥（只显示这一次）", "The new key (shown this once)"},
	"admin.key.copy":          {"请立即复制并妥善保存：离开此页后无法再次查看，只能吊销后重新创建。调用 API 时放在请求头 Authorization: Bearer <密钥>。", "Copy it now and keep it safe: it is not shown again (revoke and create another if lost). Send it as Authorization: Bearer <key>."},
	"admin.key.copybtn":       {"复制", "Copy"},
	"admin.key.prefix":        {"前缀", "Prefix"},
	"admin.key.created_at":    {"创建时间", "Created"},
	"admin.key.revoked":       {"已吊销。使用该密钥的请求会被拒绝（其他服务器 10 秒内生效）。", "Revoked: requests with it are refused (within 10 s on other servers)."},
	"admin.key.revoke":        {"吊销", "Revoke"},
	"admin.key.revoke.ask":    {"吊销这个密钥？使用它的程序将立即无法调用 API。", "Revoke this key? Programs using it stop working at once."},
	"admin.key.state.live":    {"有效", "Live"},
	"admin.key.state.gone":    {"已吊销", "Revoked"},
	"admin.keys.none":         {"还没有密钥。", "No keys yet."},
	"admin.stages.label":      {"阶段（每行一个，按顺序）", "Stages (one a line, in order)"},
	"admin.stages.hint":       {"2–20 个不重复的名称，每个 1–30 个字符，不含逗号。已处于被删除阶段的客户保持原阶段。", "2–20 distinct names of 1–30 characters, no commas. Customers at a removed stage keep it."},
	"admin.stages.default":    {"当前为默认阶段。", "These are the default stages."},
	"admin.stages.setat":      {"最近设置：%s", "Last set: %s"},
	"admin.stages.saved":      {"阶段已保存。", "Stages saved."},
	"admin.pool.max_hold":     {"每位销售最多持有客户数", "Most customers a rep may hold"},
	"admin.pool.max_claims":   {"每位销售每天最多领取数", "Most claims per rep per day"},
	"admin.pool.recycle":      {"多少天未跟进自动回收到公海", "Days without a follow-up before a customer returns to the pool"},
	"admin.pool.cooldown":     {"释放后多少天内不能再次领取", "Days after a release before the same rep may claim again"},
	"admin.pool.hint":         {"0 表示不限制。", "0 means no limit."},
	"admin.pool.saved":        {"公海规则已保存，下一次领取即按新规则判断。", "Pool rules saved: the next claim follows them."},
	"admin.wecom.intro":       {"企业微信应用的回调与侧边栏设置。密钥只写不读：保存后不再显示，只显示“已设置”。", "The WeCom app's callback and sidebar settings. Secrets are write-only: once saved they show as “set”, never their value."},
	"admin.wecom.corp_id":     {"企业 ID（CorpID）", "Corp ID"},
	"admin.wecom.agent_id":    {"应用 AgentId", "App AgentId"},
	"admin.wecom.token":       {"回调 Token", "Callback token"},
	"admin.wecom.aes":         {"回调 EncodingAESKey", "Callback EncodingAESKey"},
	"admin.wecom.secret":      {"应用 Secret", "App secret"},
	"admin.wecom.isset":       {"已设置", "Set"},
	"admin.wecom.notset":      {"未设置", "Not set"},
	"admin.wecom.resend":      {"每次保存都需重新填写 Token 与 EncodingAESKey（页面不会回显）；Secret 留空则保留原值。", "Every save needs the token and EncodingAESKey again (they are never shown); leave the secret empty to keep it."},
	"admin.wecom.callback":    {"回调地址：本服务的公网地址加上 %s", "Callback URL: this server's public address followed by %s"},
	"admin.wecom.saved":       {"企业微信设置已保存。", "WeCom settings saved."},
	"admin.wecom.none":        {"尚未设置企业微信。", "WeCom is not set up yet."},
	"admin.privacy.mask":      {"对销售隐藏客户手机号中间四位（如 138****8000）", "Mask customers' phones for reps (e.g. 138****8000)"},
	"admin.privacy.hint":      {"开启后，销售在客户资料中只看到手机号的前 3 位和后 4 位；管理员、主管仍看到完整号码。", "When on, reps see only a phone's first 3 and last 4 digits in customer profiles; admins and managers still see it whole."},
	"admin.privacy.saved":     {"隐私设置已保存。", "Privacy settings saved."},
	"admin.grafana.on":        {"已配置 Grafana：%s", "Grafana is configured: %s"},
	"admin.grafana.off":       {"未配置 Grafana 地址：启动时加上 --grafana-url，经营看板就会链接到下面的仪表盘。", "No Grafana address: start siyu with --grafana-url and the adoption page links these dashboards."},
	"admin.grafana.provision": {"安装或更新仪表盘（在服务器上执行）：", "To install or update the dashboards (on the server):"},
	"admin.grafana.list":      {"仪表盘", "Dashboards"},
}
