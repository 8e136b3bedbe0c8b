package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"
)

// part is one long-running part of a process (the API, the pipeline, the
// Kafka tail, a refresher...): run works until ctx ends and returns nil
// then, or returns the error that stopped it.
type part struct {
	name string
	run  func(ctx context.Context) error
}

// runParts is the one lifecycle of a Siyu process: it runs every part in
// one errgroup until ctx ends or one of them fails, which stops the others;
// no part runs outside it. Once stopping, the parts get at most within to
// return: past that runParts gives up on them (the process's exit ends
// them) and says so. It returns the first part's error, named, or nil when
// ctx ended.
func runParts(ctx context.Context, within time.Duration, log *slog.Logger, parts ...part) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range parts {
		g.Go(func() error {
			err := p.run(gctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			if err == nil && gctx.Err() == nil {
				log.Debug("part finished", "part", p.name)
			}
			return err
		})
	}
	err := waitGroup(gctx, g, within, log)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// waitGroup waits for g, but for at most d once gctx, g's context, has
// ended: the first error (gctx's cause) is returned either way.
func waitGroup(gctx context.Context, g *errgroup.Group, d time.Duration, log *slog.Logger) error {
	waited := make(chan error, 1)
	go func() { waited <- g.Wait() }()
	select {
	case err := <-waited:
		return err
	case <-gctx.Done():
	}
	select {
	case err := <-waited:
		return err
	case <-time.After(d):
		log.Error("parts did not stop in time; leaving them to the process exit", "within", d)
		return context.Cause(gctx)
	}
}
