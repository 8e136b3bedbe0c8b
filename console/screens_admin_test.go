package console_test

// adminScreens are the executive's, billing's and admin's main pages.
var adminScreens = []screen{
	{role: "exec", path: "/app/adoption", name: "exec-adoption"},
	{role: "billing", path: "/app/billing", name: "billing-usage"},
	{role: "admin", path: "/app/admin", name: "admin-users"},
	{role: "admin", path: "/app/admin/keys", name: "admin-keys"},
}
