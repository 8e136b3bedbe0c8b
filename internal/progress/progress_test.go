package progress

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// step is one call on a Bar, after moving the clock by wait.
type step struct {
	wait time.Duration
	add  int  // Add(add) unless set or done
	set  int  // Set(set) when > 0
	done bool // Done()
}

func TestRender(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		total    int
		steps    []step
		want     string
	}{
		{
			name: "terminal redraws in place", terminal: true, total: 1000,
			steps: []step{{wait: time.Second, add: 250}, {wait: time.Second, add: 250}},
			want: "\rload [======>                 ]  25% 250/1000 250/s ETA 3s\x1b[K" +
				"\rload [============>           ]  50% 500/1000 250/s ETA 2s\x1b[K",
		},
		{
			name: "terminal throttles to ten draws a second", terminal: true, total: 1000,
			steps: []step{{wait: time.Second, add: 100}, {wait: 10 * time.Millisecond, add: 100}, {wait: 50 * time.Millisecond, add: 100}, {wait: 50 * time.Millisecond, add: 100}},
			want: "\rload [==>                     ]  10% 100/1000 100/s ETA 9s\x1b[K" +
				"\rload [=========>              ]  40% 400/1000 360/s ETA 2s\x1b[K",
		},
		{
			name: "terminal done ends the line", terminal: true, total: 40,
			steps: []step{{wait: 2 * time.Second, set: 40}, {wait: 0, done: true}, {wait: time.Second, done: true}},
			want: "\rload [========================] 100% 40/40 20/s ETA 0s\x1b[K" +
				"\rload [========================] 100% 40/40 20/s in 2s\x1b[K\n",
		},
		{
			name: "plain lines every two seconds", total: 3_000_000,
			steps: []step{
				{wait: time.Second, add: 1_000_000}, {wait: time.Second, add: 500_000},
				{wait: time.Second, add: 500_000}, {wait: time.Second, add: 500_000},
				{wait: 500 * time.Millisecond, done: true},
			},
			want: "load  50% 1500000/3000000 750.0k/s ETA 2s\n" +
				"load  83% 2500000/3000000 625.0k/s ETA 1s\n" +
				"load  83% 2500000/3000000 555.6k/s in 5s\n",
		},
		{
			name: "unknown total", total: 0,
			steps: []step{{wait: 3 * time.Second, add: 30_000}, {wait: 0, done: true}},
			want:  "load 30000 10.0k/s\nload 30000 10.0k/s in 3s\n",
		},
		{
			name: "long run shows hours", total: 10_000_000,
			steps: []step{{wait: time.Hour, add: 2_000_000}},
			want:  "load  20% 2000000/10000000 556/s ETA 4h00m\n",
		},
		{
			name: "no progress yet", total: 10,
			steps: []step{{wait: 2 * time.Second, add: 0}},
			want:  "load   0% 0/10 0/s ETA --\n",
		},
		{
			name: "more than total", total: 10,
			steps: []step{{wait: 2 * time.Second, add: 15}},
			want:  "load 100% 15/10 8/s ETA 0s\n",
		},
		{
			name: "minutes", total: 1000,
			steps: []step{{wait: 65 * time.Second, add: 500}},
			want:  "load  50% 500/1000 8/s ETA 1m05s\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
			var out bytes.Buffer
			b := newBar(&out, "load", tt.total, clock.now, tt.terminal)
			for _, s := range tt.steps {
				clock.advance(s.wait)
				switch {
				case s.done:
					b.Done()
				case s.set > 0:
					b.Set(s.set)
				default:
					b.Add(s.add)
				}
			}
			require.Equal(t, tt.want, out.String())
		})
	}
}

func TestConcurrentAdd(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	b := newBar(&out, "load", 8000, clock.now, true)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				clock.advance(time.Millisecond)
				b.Add(1)
			}
		})
	}
	wg.Wait()
	b.Done()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\r")
	require.Contains(t, lines[len(lines)-1], " 100% 8000/8000 ")
	require.LessOrEqual(t, len(lines), 8000/100+3, "draws are throttled")
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	defer f.Close()
	type test struct {
		name string
		w    io.Writer
		want bool
	}
	tests := []test{
		{"buffer", &bytes.Buffer{}, false},
		{"regular file", f, false},
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		tests = append(tests, test{"tty", tty, true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, isTerminal(tt.w))
		})
	}
}
