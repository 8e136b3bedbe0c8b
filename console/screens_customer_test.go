package console_test

// customerScreens are the customer card on a desktop and the chat sidebar
// on a phone (the screenshot walker sizes them by name).
var customerScreens = []screen{
	{role: "rep", path: "/app/customers/{contact_id}", name: "rep-customer"},
	{role: "rep", path: "/sidebar?contact={contact_id}", name: "rep-sidebar"},
}
