// Package chdb runs SQL on current ClickHouse embedded as a shared library
// (chDB), so tests can prove that the project's migrations and queries work
// on today's ClickHouse, not only on the old server installed on these
// machines. It binds libchdb.so with purego (no cgo) and exposes just what
// those tests need: open an engine on a data directory, run a query, close.
//
// chDB keeps one engine per process; open it once per test binary.
package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// EnvLib names the environment variable that overrides LibPath.
const EnvLib = "SIYU_CHDB_LIB"

// LibPath returns where libchdb.so is expected: $SIYU_CHDB_LIB if set, else
// $HOME/.cache/siyu/chdb/package/libchdb.so (where scripts/fetch-chdb puts it).
func LibPath() string {
	if p := os.Getenv(EnvLib); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "siyu", "chdb", "package", "libchdb.so")
}

// FetchHint tells a developer how to get the library when it is missing.
const FetchHint = "libchdb.so not found; run `make chdb` (scripts/fetch-chdb) to fetch it, or set " + EnvLib

// Required reports whether tests must fail, rather than skip, when the
// library is missing: in CI (CI=true) or when SIYU_REQUIRE_CHDB=1.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("SIYU_REQUIRE_CHDB") == "1"
}

// api holds the C functions of libchdb.so that the engine calls.
type api struct {
	connect   func(argc int32, argv **byte) *uintptr
	closeConn func(conn *uintptr)
	query     func(conn uintptr, query, format string) uintptr
	buffer    func(result uintptr) *byte
	length    func(result uintptr) uintptr
	errorMsg  func(result uintptr) *byte
	destroy   func(result uintptr)
}

// Engine is an open chDB engine. It is safe for concurrent use; queries run
// one at a time.
type Engine struct {
	mu    sync.Mutex
	fn    api
	pconn *uintptr // chdb_connection*, as returned by chdb_connect
	conn  uintptr  // *pconn, the opaque handle passed to chdb_query
}

// Open loads the library at libPath and starts an engine storing its data
// under dataPath. The engine starts in database "default"; a USE statement
// sent through Query persists for later queries on the same engine.
func Open(libPath, dataPath string) (*Engine, error) {
	if _, err := os.Stat(libPath); err != nil {
		return nil, fmt.Errorf("find chdb library: %w", err)
	}
	lib, err := purego.Dlopen(libPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load chdb library %s: %w", libPath, err)
	}
	e := &Engine{fn: bind(lib)}
	args := []string{"clickhouse", "--path=" + dataPath}
	if err := e.connect(args); err != nil {
		return nil, err
	}
	return e, nil
}

func bind(lib uintptr) api {
	var fn api
	purego.RegisterLibFunc(&fn.connect, lib, "chdb_connect")
	purego.RegisterLibFunc(&fn.closeConn, lib, "chdb_close_conn")
	purego.RegisterLibFunc(&fn.query, lib, "chdb_query")
	purego.RegisterLibFunc(&fn.buffer, lib, "chdb_result_buffer")
	purego.RegisterLibFunc(&fn.length, lib, "chdb_result_length")
	purego.RegisterLibFunc(&fn.errorMsg, lib, "chdb_result_error")
	purego.RegisterLibFunc(&fn.destroy, lib, "chdb_destroy_query_result")
	return fn
}

func (e *Engine) connect(args []string) error {
	argv := make([]*byte, len(args))
	for i, a := range args {
		b := append([]byte(a), 0)
		argv[i] = &b[0]
	}
	pconn := e.fn.connect(int32(len(argv)), &argv[0])
	runtime.KeepAlive(argv)
	if pconn == nil || *pconn == 0 {
		return fmt.Errorf("connect chdb with %q: chdb_connect failed (see stderr)", args)
	}
	e.pconn, e.conn = pconn, *pconn
	return nil
}

// ErrClosed is returned by Query after Close.
var ErrClosed = errors.New("chdb engine closed")

// Query runs one statement and returns its output in format (e.g. "TSV",
// "JSONEachRow", "CSV"). The error carries chDB's own message.
func (e *Engine) Query(sql, format string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == 0 {
		return "", ErrClosed
	}
	r := e.fn.query(e.conn, sql, format)
	if r == 0 {
		return "", errors.New("run chdb query: chdb_query returned NULL")
	}
	defer e.fn.destroy(r)
	if msg := e.fn.errorMsg(r); msg != nil {
		return "", fmt.Errorf("run chdb query: %s", cString(msg))
	}
	return e.output(r), nil
}

func (e *Engine) output(r uintptr) string {
	n := e.fn.length(r)
	buf := e.fn.buffer(r)
	if n == 0 || buf == nil {
		return ""
	}
	return string(unsafe.Slice(buf, n))
}

// Close closes the connection. Calling it again, or on a nil engine, does
// nothing. chDB may keep the engine itself alive until the process exits,
// so do not expect to Open a second engine on another path afterwards.
func (e *Engine) Close() {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pconn == nil {
		return
	}
	e.fn.closeConn(e.pconn)
	e.pconn, e.conn = nil, 0
}

// cString copies the NUL-terminated C string at p.
func cString(p *byte) string {
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
