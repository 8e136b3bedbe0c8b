package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
)

// A dead letter goes in the largest form the dead-letter topic takes, so
// that a record the events topic took can always leave the pipeline: whole
// when it fits (kafka.RecordFits and the topic's own max.message.bytes),
// else with its value cut to TruncatedValueBytes, else as headers alone.
// The headers always say where the source record is, so the events topic
// keeps the rest until its retention ends.
const (
	// TruncatedValueBytes is how much of the value a truncated dead letter
	// keeps: enough to read what the record was, far under any broker's
	// limit.
	TruncatedValueBytes = 64 << 10
	// TruncatedKeyBytes is how much of the key a truncated dead letter
	// keeps (ingest keys are "tenant/subject", far shorter).
	TruncatedKeyBytes = 1 << 10
	// maxReasonBytes bounds the reason header: a ClickHouse message can be
	// long, and a dead letter must stay small.
	maxReasonBytes = 4 << 10
)

// ErrDeadLetterRefused is wrapped by Run's error when the dead-letter topic
// refuses writes for a reason no retry or smaller record fixes (an ACL, say).
var ErrDeadLetterRefused = errors.New("the dead-letter topic refuses writes; nothing was committed past the records waiting for it, so fix the topic or its ACLs and restart")

// form is the shape a dead letter goes in, from the whole record down.
type form uint8

const (
	formWhole     form = iota // key and value as they were
	formTruncated             // value cut to TruncatedValueBytes, key to TruncatedKeyBytes
	formHeaders               // key cut, no value
)

var formNames = [...]string{"whole", "truncated", "headers"}

// letter is a record on its way to the dead-letter topic: a copy of the
// source record's key and value, where it came from, and why it is there.
type letter struct {
	key, value []byte
	unread     bool // the source could not be read back: key and value are unknown
	topic      string
	partition  int32
	offset     int64
	field      string
	reason     string
	form       form
}

// invalidLetter copies an invalid record, with the validation error.
func invalidLetter(r *kgo.Record, err error) *letter {
	l := &letter{
		key:   append([]byte(nil), r.Key...),
		value: append([]byte(nil), r.Value...),
		topic: r.Topic, partition: r.Partition, offset: r.Offset,
		reason: err.Error(),
	}
	if ve, ok := event.AsValidation(err); ok {
		l.field, l.reason = ve.Field, ve.Reason
	}
	return l
}

// record renders the letter in its current form for topic.
func (l *letter) record(topic string) *kgo.Record {
	reason := l.reason
	if len(reason) > maxReasonBytes {
		reason = strings.ToValidUTF8(reason[:maxReasonBytes], "")
	}
	r := &kgo.Record{Topic: topic, Headers: []kgo.RecordHeader{
		{Key: HeaderErrorField, Value: []byte(l.field)},
		{Key: HeaderErrorReason, Value: []byte(reason)},
		{Key: HeaderSourceTopic, Value: []byte(l.topic)},
		{Key: HeaderSourcePart, Value: []byte(strconv.Itoa(int(l.partition)))},
		{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(l.offset, 10))},
	}}
	if l.form == formWhole {
		r.Key, r.Value = l.key, l.value
		return r
	}
	r.Key = l.key[:min(len(l.key), TruncatedKeyBytes)]
	if l.form == formTruncated {
		r.Value = l.value[:min(len(l.value), TruncatedValueBytes)]
	}
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: HeaderTruncated, Value: []byte("true")})
	if !l.unread {
		sum := sha256.Sum256(l.value)
		r.Headers = append(r.Headers,
			kgo.RecordHeader{Key: HeaderOriginalSize, Value: []byte(strconv.Itoa(len(l.value)))},
			kgo.RecordHeader{Key: HeaderOriginalSHA256, Value: []byte(hex.EncodeToString(sum[:]))})
	}
	return r
}

// fit starts the letter in the largest form that can go in a record batch
// at all; the topic may still refuse it, which sendDeadLetters handles.
func (l *letter) fit(topic string) {
	if l.unread {
		l.form = formHeaders
	}
	if l.form == formWhole && !kafka.RecordFits(l.record(topic)) {
		l.form = formTruncated
	}
}

// sendDeadLetters produces letters to the dead-letter topic, each in the
// largest form the topic takes. Retryable failures (a broker away, a leader
// moving) are retried with backoff until ctx ends; a refused record is
// sent again alone, in smaller forms; a letter refused even as headers is
// dropped with an error log (its source stays in the events topic); any
// other permanent failure is returned, wrapping ErrDeadLetterRefused.
func (p *Pipeline) sendDeadLetters(ctx context.Context, letters []*letter) error {
	topic := p.cfg.Topics.DeadLetter
	for _, l := range letters {
		l.fit(topic)
	}
	var wait backoff
	for len(letters) > 0 {
		var again, refused []*letter
		byRecord := make(map[*kgo.Record]*letter, len(letters))
		recs := make([]*kgo.Record, len(letters))
		for i, l := range letters {
			recs[i] = l.record(topic)
			byRecord[recs[i]] = l
		}
		for _, res := range kafka.ProduceSync(ctx, p.cl, recs...) {
			l := byRecord[res.Record]
			switch err := res.Err; {
			case err == nil:
				p.delivered(l)
			case refusedRecord(err):
				refused = append(refused, l) // perhaps for its batch-mates: try it alone
			case retryableProduce(err) && ctx.Err() == nil:
				again = append(again, l)
				p.log.Warn("produce dead letter failed; retrying", "err", err, "in", wait.next())
			default:
				return p.deadLetterErr(ctx, err)
			}
		}
		for _, l := range refused {
			if err := p.sendAlone(ctx, topic, l); err != nil {
				return err
			}
		}
		if letters = again; len(letters) > 0 {
			if err := wait.sleep(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// sendAlone produces one letter on its own, stepping down its form each
// time the topic refuses it.
func (p *Pipeline) sendAlone(ctx context.Context, topic string, l *letter) error {
	var wait backoff
	for {
		err := kafka.ProduceSync(ctx, p.cl, l.record(topic)).FirstErr()
		switch {
		case err == nil:
			p.delivered(l)
			return nil
		case refusedRecord(err) && l.form < formHeaders:
			p.log.Warn("dead-letter topic refused a dead letter; sending it smaller",
				"form", formNames[l.form], "source_partition", l.partition, "source_offset", l.offset, "err", err)
			l.form++
		case refusedRecord(err):
			p.log.Error("dead-letter topic refused even the headers of a dead letter; dropped (the record stays in the events topic)",
				"source_topic", l.topic, "source_partition", l.partition, "source_offset", l.offset, "reason", l.reason, "err", err)
			p.metrics.deadDropped.Inc()
			return nil
		case retryableProduce(err) && ctx.Err() == nil:
			p.log.Warn("produce dead letter failed; retrying", "err", err, "in", wait.next())
			if err := wait.sleep(ctx); err != nil {
				return err
			}
		default:
			return p.deadLetterErr(ctx, err)
		}
	}
}

func (p *Pipeline) delivered(l *letter) {
	p.metrics.deadLettered.Inc()
	if l.form != formWhole {
		p.metrics.deadShrunk.WithLabelValues(formNames[l.form]).Inc()
	}
}

func (p *Pipeline) deadLetterErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("produce dead letters to %s: %w: %w", p.cfg.Topics.DeadLetter, ErrDeadLetterRefused, err)
}

// refusedRecord reports whether the broker, or franz-go before sending,
// refused a record for what it is (its size, its bytes), so that a smaller
// form of it may pass where sending it again never would. franz-go fails a
// record over ProducerBatchMaxBytes with kerr.MessageTooLarge too.
func refusedRecord(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) ||
		errors.Is(err, kerr.InvalidRecord) || errors.Is(err, kerr.CorruptMessage)
}

// retryableProduce reports whether a produce failure may pass later: a
// Kafka error the protocol calls retriable (not leader, timeouts), or one
// that is not Kafka's at all (a connection, the client's delivery timeout).
// A closed client or a cancelled context never passes.
func retryableProduce(err error) bool {
	if _, ok := errors.AsType[*kerr.Error](err); ok {
		return kerr.IsRetriable(err)
	}
	return !errors.Is(err, kgo.ErrClientClosed) && !errors.Is(err, context.Canceled)
}
