//go:build unix

package api

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// aLongTimeAgo is a read deadline in the past, which wakes a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// watchDisconnect calls gone when the client closes conn (or resets it)
// while its request is being handled, until stop is called.
//
// fasthttp has no close notification, and reading the connection would
// take bytes of a pipelined request from fasthttp. So a goroutine waits,
// through the runtime's network poller (RawConn.Read: no thread is held),
// until the socket is readable, then peeks at one byte without consuming
// it: no byte and no error is the client's FIN (EOF), an error a reset;
// either calls gone. A byte is the next pipelined request: the client is
// there, watching ends. stop wakes the poller with a read deadline in the
// past, waits for the goroutine, and clears the deadline; fasthttp sets
// its own read deadline again before it reads the connection's next
// request (its idle and read timeouts), so keep-alive is untouched.
//
// A connection that is not a socket (TLS, Fiber's app.Test) is not
// watched: its requests still have their deadline.
func watchDisconnect(conn net.Conn, gone func()) (stop func()) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return func() {}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	var (
		mu      sync.Mutex
		stopped bool
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		_ = raw.Read(func(fd uintptr) bool {
			mu.Lock()
			defer mu.Unlock()
			if stopped {
				return true
			}
			var b [1]byte
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
				return false // nothing yet: wait until the socket is readable
			case err != nil || n == 0:
				gone() // reset, or EOF: the client has gone
			}
			return true
		})
	}()
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		_ = conn.SetReadDeadline(aLongTimeAgo)
		<-done
		_ = conn.SetReadDeadline(time.Time{})
	}
}
