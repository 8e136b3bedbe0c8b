package console_test

// screen is a main page to photograph (TestScreenshots): whose page, where,
// and the file name.
type screen struct{ role, path, name string }
