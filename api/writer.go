package api

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/publish"
)

// writer is what every group that writes events shares: the publisher.
type writer struct {
	pub *publish.Publisher
}

// publishAt produces evs synchronously (publish.Publisher: checked with
// the contract's decoder first) and returns, per event, its error (503 when
// Kafka did not ack it) and the write token. An event that does not encode
// is our bug, not the caller's: a 500.
func (s *writer) publishAt(ctx context.Context, evs ...event.Event) ([]error, []kafka.Position, error) {
	res, err := s.pub.Publish(ctx, evs...)
	if err != nil {
		return nil, nil, err
	}
	errs := make([]error, len(res))
	for i, r := range res {
		if r.Err != nil {
			errs[i] = unavailable("not stored in Kafka, retry: " + r.Err.Error())
		}
	}
	return errs, res.Token(), nil
}

// publishPositions produces ev and returns where it landed, once acked.
func (s *writer) publishPositions(ctx context.Context, ev event.Event) ([]kafka.Position, error) {
	errs, ps, err := s.publishAt(ctx, ev)
	if err != nil {
		return nil, err
	}
	if errs[0] != nil {
		return nil, errs[0]
	}
	return ps, nil
}

// publishOne produces ev, and answers 201 once Kafka acked it, with the
// read-your-writes token (header Siyu-Write-Token and write_token).
func (s *writer) publishOne(c *fiber.Ctx, ev event.Event) error {
	ps, err := s.publishPositions(ctxOf(c), ev)
	if err != nil {
		return err
	}
	token := kafka.FormatPositions(ps)
	c.Set(WriteTokenHeader, token)
	return c.Status(http.StatusCreated).JSON(writeResponse{ID: ev.ID, Type: string(ev.Type), ContactID: ev.Subject, WriteToken: token})
}

// setWriteToken answers the read-your-writes token of a write whose events
// landed at ps (none: nothing was written).
func setWriteToken(c *fiber.Ctx, ps []kafka.Position) {
	if len(ps) > 0 {
		c.Set(WriteTokenHeader, kafka.FormatPositions(ps))
	}
}

// publishAnswering publishes ev (publishPositions) and answers its write
// token on c: the publish callback of a definition store (tags, saved
// segments), which returns once the definition is stored.
func (s *writer) publishAnswering(ctx context.Context, c *fiber.Ctx, ev event.Event) error {
	ps, err := s.publishPositions(ctx, ev)
	if err != nil {
		return err
	}
	setWriteToken(c, ps)
	return nil
}
