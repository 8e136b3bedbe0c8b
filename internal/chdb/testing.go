package chdb

import (
	"os"
	"testing"
)

// OpenForTest opens an engine on a fresh data directory for t. When the
// library is missing it skips the test, or fails it where chDB is required
// (CI, SIYU_REQUIRE_CHDB=1), with the hint to fetch it.
func OpenForTest(t testing.TB) *Engine {
	t.Helper()
	lib := LibPath()
	if _, err := os.Stat(lib); err != nil {
		if Required() {
			t.Fatalf("%s (looked at %s)", FetchHint, lib)
		}
		t.Skipf("%s (looked at %s)", FetchHint, lib)
	}
	e, err := Open(lib, t.TempDir())
	if err != nil {
		t.Fatalf("open chDB: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}
