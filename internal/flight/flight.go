// Package flight shares one read among concurrent callers asking the same
// thing (a console page asks the metrics API for several series at once,
// and each answer reads the same freshness state and plan timeline). Only
// reads in flight are shared, never kept: a caller arriving after a read
// finished starts a new one, so an answer is never older than the moment
// its first asker arrived.
package flight

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"
)

// readTimeout bounds a shared read, which runs apart from its callers'
// contexts (one caller leaving must not fail the others).
const readTimeout = 30 * time.Second

// Group shares reads of V by key.
type Group[V any] struct{ g singleflight.Group }

// Do returns read's answer for key, joining a read of key in flight; each
// caller waits at most until its own ctx ends.
func (g *Group[V]) Do(ctx context.Context, key string, read func(context.Context) (V, error)) (V, error) {
	ch := g.g.DoChan(key, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
		defer cancel()
		return read(rctx)
	})
	var zero V
	select {
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(V), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}
