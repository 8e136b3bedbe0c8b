package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestJourneySignIn: every demo role signs in through the form and lands
// on its own start page; a wrong password is told plainly; sign-out ends
// the session and sign-out everywhere ends the person's other sessions.
func TestJourneySignIn(t *testing.T) {
	started(t)
	homes := map[string]string{"rep": "/app/day", "manager": "/app/team", "marketer": "/app/segments",
		"exec": "/app/adoption", "billing": "/app/billing", "admin": "/app/admin", "platform": "/app/billing"}
	for role, home := range homes {
		t.Run(role, func(t *testing.T) {
			ctx := tab(t)
			signIn(t, ctx, role)
			require.Equal(t, home, location(t, ctx))
			require.Contains(t, text(t, ctx, "[data-test=who]"), "demo")
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		ctx := tab(t)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(site.base+"/login"),
			chromedp.SendKeys(chromedp.CSS(`#login`), site.demo.Users["exec"]),
			chromedp.SendKeys(chromedp.CSS(`#password`), "not-the-password"),
			chromedp.Submit(chromedp.CSS(`#password`)),
		))
		require.Contains(t, text(t, ctx, "[data-test=error]"), "账号或密码错误")
	})

	t.Run("a page asks for sign-in and returns to it", func(t *testing.T) {
		ctx := tab(t)
		open(t, ctx, "/app/adoption?lang=zh-CN")
		require.True(t, strings.HasPrefix(location(t, ctx), "/login?next="), location(t, ctx))
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`#login`), site.demo.Users["exec"]),
			chromedp.SendKeys(chromedp.CSS(`#password`), site.demo.Password),
			chromedp.Submit(chromedp.CSS(`#password`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-test=who]`)),
		))
		require.Equal(t, "/app/adoption?lang=zh-CN", location(t, ctx))
	})

	t.Run("sign out, and sign out everywhere", func(t *testing.T) {
		a, b := tab(t), tab(t)
		signIn(t, a, "exec")
		signIn(t, b, "exec")
		require.NoError(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))))
		require.NoError(t, chromedp.Do(a, chromedp.WaitVisible(chromedp.CSS(`#login`))))
		require.Contains(t, text(t, a, "[role=status]"), "你已退出")
		open(t, b, "/app/adoption")
		require.Equal(t, "/app/adoption", location(t, b), "the other session lives on")

		signIn(t, a, "exec")
		require.NoError(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`input[name=everywhere]+button`))))
		require.NoError(t, chromedp.Do(a, chromedp.WaitVisible(chromedp.CSS(`#login`))))
		open(t, b, "/app/adoption")
		require.True(t, strings.HasPrefix(location(t, b), "/login"), "sign-out everywhere ends the other tab's session: %s", location(t, b))
	})

	t.Run("English", func(t *testing.T) {
		ctx := tab(t)
		open(t, ctx, "/login?lang=en")
		require.Equal(t, "Sign in", text(t, ctx, "button.primary"))
		open(t, ctx, "/login")
		require.Equal(t, "Sign in", text(t, ctx, "button.primary"), "the choice is remembered")
	})

	t.Run("a cross-site sign-in post is refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, site.base+"/login", strings.NewReader("login=x&password=y"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
}
