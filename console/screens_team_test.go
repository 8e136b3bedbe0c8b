package console_test

// repScreens and teamScreens are the rep's and the manager's main pages
// (each is photographed at phone and desktop width).
var (
	repScreens = []screen{
		{role: "rep", path: "/app/day", name: "rep-day"},
		{role: "rep", path: "/app/pool", name: "rep-pool"},
	}
	teamScreens = []screen{
		{role: "manager", path: "/app/team", name: "manager-team"},
		{role: "manager", path: "/app/team/handover", name: "manager-handover"},
	}
)
