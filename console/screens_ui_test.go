package console_test

// uiScreens are the pages issue 15's smaller items added to: the admin's
// live Grafana check and the customer card as a manager sees it (whose
// the customer is, the assign form).
var uiScreens = []screen{
	{role: "admin", path: "/app/admin/grafana", name: "admin-grafana"},
	{role: "manager", path: "/app/customers/{contact_id}", name: "manager-customer"},
}
