//go:build race

package main

// raceBuild builds the binary under test with the race detector too when the
// tests run with it: the ingest subprocesses of the property test are where
// concurrent inserts live.
var raceBuild = []string{"-race"}
