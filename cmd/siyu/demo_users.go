package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/publish"
)

// demoManager is the demo manager's staff id: their team is the demo's two
// reps and teamSize-2 more.
const (
	demoManager  = "demo_manager"
	demoTeamSize = 5
)

// demoUser is one console user of the demo tenant.
type demoUser struct {
	key, login, name string
	role             auth.Role
	staff            string
}

func demoUsers(d *demoInfo) []demoUser {
	return []demoUser{
		{"admin", "admin@demo", "王敏 (管理员)", auth.RoleAdmin, ""},
		{"manager", "manager@demo", "张伟 (销售主管)", auth.RoleManager, demoManager},
		{"rep", "rep@demo", "李娜 (销售)", auth.RoleRep, d.RepStaff},
		{"rep2", "rep2@demo", "刘洋 (销售)", auth.RoleRep, d.OtherRepStaff},
		{"marketer", "marketer@demo", "陈静 (市场)", auth.RoleMarketer, ""},
		{"exec", "exec@demo", "杨帆 (管理层)", auth.RoleExec, ""},
		{"billing", "billing@demo", "赵磊 (财务)", auth.RoleBilling, ""},
		{"platform", "platform@demo", "平台运维", auth.RolePlatform, ""},
	}
}

// ensureConsoleUsers creates the demo's console users, one per role, with
// one new random password (printed by the banner, kept in demo.json), and
// makes the demo manager the manager of the demo's reps.
func ensureConsoleUsers(ctx context.Context, conn driver.Conn, cl *kgo.Client, topic string, d *demoInfo, team []string) error {
	d.Password = demoPassword()
	users := auth.NewUsers(conn, nil)
	d.Users = map[string]string{}
	for _, u := range demoUsers(d) {
		_, err := users.Create(ctx, auth.NewUser{Login: u.login, Tenant: d.Tenant, Name: u.name, Role: u.role, StaffID: u.staff, Password: d.Password})
		if err != nil {
			return fmt.Errorf("demo console user %s: %w", u.login, err)
		}
		d.Users[u.key] = u.login
	}
	now := time.Now().UTC()
	evs := make([]event.Event, 0, len(team))
	for i, rep := range team {
		ev := event.Event{ID: fmt.Sprintf("demo-team-%d", i), Source: "demo", Type: event.StaffManagerSet, Tenant: d.Tenant, Subject: rep, Time: now}
		ev.Data.Set(event.FStaffID, demoManager)
		evs = append(evs, ev)
	}
	if _, err := publish.New(cl, topic, 30*time.Second).Publish(ctx, evs...); err != nil {
		return fmt.Errorf("demo team: %w", err)
	}
	return nil
}

// demoPassword is 16 random letters and digits (80 bits), in groups of 4.
func demoPassword() string {
	t := strings.ToLower(rand.Text())
	return t[:4] + "-" + t[4:8] + "-" + t[8:12] + "-" + t[12:16]
}

// demoLogins lists the demo users' logins for the banner, in role order.
func demoLogins(d *demoInfo) string {
	var out []string
	for _, u := range demoUsers(d) {
		if login := d.Users[u.key]; login != "" {
			out = append(out, login)
		}
	}
	return strings.Join(out, "  ")
}
