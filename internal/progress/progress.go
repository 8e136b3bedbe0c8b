// Package progress reports the progress of long operations (loading a
// generated stream, backfills) on a terminal as a redrawn bar, and elsewhere
// (CI logs, files, pipes) as a plain line every few seconds, so that logs stay
// readable instead of filling with carriage returns.
package progress

import (
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// How often a Bar draws: a terminal redraws often enough to look alive,
// a log gets a line now and then.
const (
	terminalEvery = 100 * time.Millisecond
	plainEvery    = 2 * time.Second
	barWidth      = 24
)

// Bar is a progress bar for total units of work. It is safe for concurrent
// use; each call takes a lock and reads the clock, so callers in tight loops
// should Add in batches.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int
	done     int
	now      func() time.Time
	start    time.Time
	last     time.Time // of the latest draw
	every    time.Duration
	terminal bool
	finished bool
	line     []byte
}

// New returns a Bar that draws on w: redrawn in place when w is a terminal,
// else as a plain line every two seconds. A total of 0 or less means an
// unknown amount of work: the bar then shows the count and the rate.
func New(w io.Writer, label string, total int) *Bar {
	return newBar(w, label, total, time.Now, isTerminal(w))
}

func newBar(w io.Writer, label string, total int, now func() time.Time, terminal bool) *Bar {
	b := &Bar{w: w, label: label, total: total, now: now, terminal: terminal, every: plainEvery}
	b.start = now()
	if terminal {
		b.every = terminalEvery
		b.last = b.start.Add(-terminalEvery) // draw at the first Add
	} else {
		b.last = b.start
	}
	return b
}

// isTerminal reports whether w is a character device, such as a terminal.
// It needs no terminal library: a pipe or a file is not a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Add records n more units done.
func (b *Bar) Add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.maybeDraw()
}

// Set records that done units are done in all.
func (b *Bar) Set(done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	b.maybeDraw()
}

// Done draws the final state and ends the line. Later calls do nothing.
func (b *Bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	b.draw(b.now(), true)
}

func (b *Bar) maybeDraw() {
	if b.finished {
		return
	}
	if t := b.now(); t.Sub(b.last) >= b.every {
		b.draw(t, false)
	}
}

// draw writes the bar; write errors are ignored, progress is best effort.
func (b *Bar) draw(t time.Time, final bool) {
	b.last = t
	b.line = b.render(b.line[:0], t.Sub(b.start), final)
	_, _ = b.w.Write(b.line)
}

// render appends one drawing: "label [=====>    ]  42% 420/1000 12.3k/s ETA 47s".
// A terminal line starts with a carriage return and ends by clearing the rest
// of the old line; a plain line ends with a newline, as does the final one.
func (b *Bar) render(dst []byte, elapsed time.Duration, final bool) []byte {
	if b.terminal {
		dst = append(dst, '\r')
	}
	dst = append(dst, b.label...)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(b.done) / elapsed.Seconds()
	}
	if b.total > 0 {
		frac := min(max(float64(b.done)/float64(b.total), 0), 1)
		if b.terminal {
			dst = appendBar(append(dst, ' '), frac)
		}
		dst = append(dst, ' ')
		dst = appendPadLeft(dst, strconv.Itoa(int(frac*100)), 3)
		dst = append(dst, '%', ' ')
		dst = strconv.AppendInt(dst, int64(b.done), 10)
		dst = append(dst, '/')
		dst = strconv.AppendInt(dst, int64(b.total), 10)
	} else {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(b.done), 10)
	}
	dst = appendRate(append(dst, ' '), rate)
	switch {
	case final:
		dst = append(dst, " in "...)
		dst = appendDuration(dst, elapsed)
	case b.total > 0:
		dst = append(dst, " ETA "...)
		if rate > 0 {
			dst = appendDuration(dst, time.Duration(float64(max(b.total-b.done, 0))/rate*float64(time.Second)))
		} else {
			dst = append(dst, "--"...)
		}
	}
	if b.terminal {
		dst = append(dst, "\x1b[K"...)
	}
	if final || !b.terminal {
		dst = append(dst, '\n')
	}
	return dst
}

func appendBar(dst []byte, frac float64) []byte {
	filled := int(frac * barWidth)
	dst = append(dst, '[')
	for i := range barWidth {
		switch {
		case i < filled:
			dst = append(dst, '=')
		case i == filled:
			dst = append(dst, '>')
		default:
			dst = append(dst, ' ')
		}
	}
	return append(dst, ']')
}

func appendPadLeft(dst []byte, s string, width int) []byte {
	for i := len(s); i < width; i++ {
		dst = append(dst, ' ')
	}
	return append(dst, s...)
}

// appendRate appends a per-second rate with a metric suffix: 850/s, 12.3k/s, 4.1M/s.
func appendRate(dst []byte, rate float64) []byte {
	switch {
	case rate >= 1e6:
		dst = append(strconv.AppendFloat(dst, rate/1e6, 'f', 1, 64), 'M')
	case rate >= 1e4:
		dst = append(strconv.AppendFloat(dst, rate/1e3, 'f', 1, 64), 'k')
	default:
		dst = strconv.AppendInt(dst, int64(rate+0.5), 10)
	}
	return append(dst, "/s"...)
}

// appendDuration appends d rounded to the second, as 42s, 3m05s or 1h02m.
func appendDuration(dst []byte, d time.Duration) []byte {
	s := int64(d.Round(time.Second) / time.Second)
	two := func(dst []byte, n int64) []byte {
		if n < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, n, 10)
	}
	switch {
	case s >= 3600:
		dst = strconv.AppendInt(dst, s/3600, 10)
		return append(two(append(dst, 'h'), s%3600/60), 'm')
	case s >= 60:
		dst = strconv.AppendInt(dst, s/60, 10)
		return append(two(append(dst, 'm'), s%60), 's')
	default:
		return append(strconv.AppendInt(dst, s, 10), 's')
	}
}
