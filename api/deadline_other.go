//go:build !unix

package api

import "net"

// watchDisconnect does not watch: only Unix sockets are peeked at
// (deadline_unix.go). Requests still have their deadline.
func watchDisconnect(net.Conn, func()) (stop func()) { return func() {} }
