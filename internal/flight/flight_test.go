package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConcurrentCallersShareOneRead(t *testing.T) {
	var g Group[int]
	var reads atomic.Int32
	release := make(chan struct{})
	read := func(context.Context) (int, error) {
		reads.Add(1)
		<-release
		return 42, nil
	}
	var wg sync.WaitGroup
	got := make([]int, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := g.Do(context.Background(), "k", read)
			require.NoError(t, err)
			got[i] = v
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	require.Equal(t, int32(1), reads.Load())
	require.Equal(t, []int{42, 42, 42, 42, 42, 42, 42, 42}, got)

	// A read after the last one finished is a new read.
	v, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { reads.Add(1); return 7, nil })
	require.NoError(t, err)
	require.Equal(t, 7, v)
	require.Equal(t, int32(2), reads.Load())
}

func TestACallerLeavingDoesNotFailTheOthers(t *testing.T) {
	var g Group[int]
	release := make(chan struct{})
	read := func(ctx context.Context) (int, error) {
		select {
		case <-release:
			return 1, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := g.Do(ctx, "k", read); first <- err }()
	time.Sleep(20 * time.Millisecond)
	second := make(chan int, 1)
	go func() { v, _ := g.Do(context.Background(), "k", read); second <- v }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	require.True(t, errors.Is(<-first, context.Canceled))
	close(release)
	require.Equal(t, 1, <-second)
}
