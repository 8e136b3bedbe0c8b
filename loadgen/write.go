package loadgen

import (
	"context"
	"fmt"
	"io"

	"github.com/siyu-dev/siyu/event"
)

// flushAt is the buffered size at which WriteJSONLines writes, checks ctx
// and reports progress.
const flushAt = 256 << 10

// WriteJSONLines writes the events of g to w, one CloudEvents JSON object per
// line, and returns how many it wrote completely. progress, when not nil,
// hears (done, g.Total()) after each write of about 256 KiB and at the end.
func WriteJSONLines(ctx context.Context, w io.Writer, g *Generator, progress func(done, total int)) (int, error) {
	buf := make([]byte, 0, flushAt+4096)
	var e event.Event
	written, pending := 0, 0
	flush := func() error {
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("write events: %w", err)
		}
		buf = buf[:0]
		written += pending
		pending = 0
		if progress != nil {
			progress(written, g.Total())
		}
		return nil
	}
	for g.Next(&e) {
		buf = append(event.AppendJSON(buf, &e), '\n')
		pending++
		if len(buf) < flushAt {
			continue
		}
		if err := ctx.Err(); err != nil {
			return written, err
		}
		if err := flush(); err != nil {
			return written, err
		}
	}
	if err := ctx.Err(); err != nil {
		return written, err
	}
	return written, flush()
}
