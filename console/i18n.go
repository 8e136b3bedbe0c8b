package console

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/internal/reporting"
)

// Chinese first: a page is in zh-CN unless the person chose English (the
// lang cookie, set by ?lang=en or ?lang=zh on any page).
const (
	langZh     = "zh-CN"
	langEn     = "en"
	langCookie = "siyu_lang"
)

// msg is one phrase in both languages.
type msg struct{ zh, en string }

// catalog is every phrase of the console, by key: each page group adds
// its own (rep.go's repMessages, ...).
var catalog = merge(coreMessages, repMessages, customerMessages, teamMessages,
	marketerMessages, savedSegmentMessages, tagOrderMessages, execMessages, billingMessages, adminMessages,
	grafanaMessages)

func merge(maps ...map[string]msg) map[string]msg {
	out := map[string]msg{}
	for _, m := range maps {
		for k, v := range m {
			if _, dup := out[k]; dup {
				panic("console: phrase " + k + " defined twice")
			}
			out[k] = v
		}
	}
	return out
}

// Lang is the language of one page, with its formatting helpers; the
// templates call them (.L.T "key", .L.Date t).
type Lang struct{ Code string }

func langOf(c *fiber.Ctx) Lang {
	switch c.Query("lang") {
	case langEn, langZh:
		c.Cookie(&fiber.Cookie{Name: langCookie, Value: c.Query("lang"), Path: "/", MaxAge: 365 * 24 * 3600, SameSite: fiber.CookieSameSiteLaxMode})
		return Lang{Code: c.Query("lang")}
	}
	if c.Cookies(langCookie) == langEn {
		return Lang{Code: langEn}
	}
	return Lang{Code: langZh}
}

// En reports whether the page is in English.
func (l Lang) En() bool { return l.Code == langEn }

// T is the phrase key in the page's language (the key itself when missing,
// which a test forbids).
func (l Lang) T(key string) string {
	m, ok := catalog[key]
	if !ok {
		return key
	}
	if l.En() {
		return m.en
	}
	return m.zh
}

// F is T with fmt.Sprintf arguments.
func (l Lang) F(key string, args ...any) string { return fmt.Sprintf(l.T(key), args...) }

// Stage is a stage's name in the page's language: the default stages
// have phrases, a tenant's own are shown as they are named.
func (l Lang) Stage(stage string) string {
	if stage == "" {
		return l.T("customer.stage.none")
	}
	if _, ok := catalog["customer.stage."+stage]; ok {
		return l.T("customer.stage." + stage)
	}
	return stage
}

// Date is t's day in the reporting zone.
func (l Lang) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(reporting.Zone).Format("2006-01-02")
}

// Time is t to the minute in the reporting zone.
func (l Lang) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(reporting.Zone).Format("2006-01-02 15:04")
}

var coreMessages = map[string]msg{
	"app.name":          {"私域", "Siyu"},
	"app.tagline":       {"私域客户运营平台", "Private-domain customer platform"},
	"lang.switch":       {"English", "中文"},
	"nav.signout":       {"退出", "Sign out"},
	"nav.signout.all":   {"退出所有设备", "Sign out everywhere"},
	"nav.menu":          {"导航", "Navigation"},
	"nav.skip":          {"跳到正文", "Skip to content"},
	"login.title":       {"登录", "Sign in"},
	"login.login":       {"账号", "Login"},
	"login.password":    {"密码", "Password"},
	"login.submit":      {"登录", "Sign in"},
	"login.wecom":       {"企业微信扫码登录", "Sign in with WeCom"},
	"login.wecom.corp":  {"企业 ID（租户）", "Tenant"},
	"login.bad":         {"账号或密码错误。请检查后重试，或联系管理员重置密码。", "Wrong login or password. Check them and try again, or ask an admin to reset your password."},
	"login.throttled":   {"尝试次数过多，请 %d 秒后再试。", "Too many tries: wait %d seconds and try again."},
	"login.signedout":   {"你已退出。", "You are signed out."},
	"login.expired":     {"登录已失效，请重新登录。", "Your session ended: sign in again."},
	"role.admin":        {"管理员", "Admin"},
	"role.manager":      {"主管", "Manager"},
	"role.rep":          {"销售", "Sales rep"},
	"role.marketer":     {"市场", "Marketer"},
	"role.exec":         {"管理层", "Executive"},
	"role.billing":      {"财务", "Billing"},
	"role.platform":     {"平台运维", "Platform"},
	"error.title":       {"出错了", "Something went wrong"},
	"error.forbidden":   {"你的角色（%s）不能打开这个页面。需要时请联系管理员调整角色。", "Your role (%s) cannot open this page. Ask an admin if you need it."},
	"error.notfound":    {"没有这个页面。", "There is no such page."},
	"error.back":        {"返回首页", "Back to the start page"},
	"error.csrf":        {"页面已过期：请刷新后重试。", "This page is stale: reload it and try again."},
	"pending":           {"正在载入这部分数据（大团队在服务重启后首次打开约需 20 秒），载入后自动显示；几分钟后仍未显示，请刷新页面，或请管理员查看服务状态（/readyz）。", "Loading this part (about 20 s the first time a large team is opened after a restart): it appears here by itself when ready. If it has not after a few minutes, reload the page or ask an admin to check the service (/readyz)."},
	"pending.noscript":  {"请稍后刷新页面。", "Reload the page in a moment."},
	"error.unavailable": {"服务暂时不可用，请稍后刷新重试。", "The service is unavailable for now: reload in a moment."},
	"common.save":       {"保存", "Save"},
	"common.cancel":     {"取消", "Cancel"},
	"common.more":       {"更多", "More"},
	"common.none":       {"暂无", "None"},
	"common.next":       {"下一页", "Next page"},
	"common.loading":    {"加载中…", "Loading…"},
	"common.done":       {"已完成", "Done"},
	"common.saved":      {"已保存。", "Saved."},
	"home.title":        {"首页", "Start"},
}
