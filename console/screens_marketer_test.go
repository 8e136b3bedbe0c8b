package console_test

// marketerScreens are the marketer's main pages.
var marketerScreens = []screen{
	{role: "marketer", path: "/app/segments", name: "marketer-segments"},
	{role: "marketer", path: "/app/tags", name: "marketer-tags"},
}
