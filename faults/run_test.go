package faults

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestPoisonUnderRun is one `siyu run` given every kind of bad record and
// request while other tenants' events flow.
func TestPoisonUnderRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	s := startRun(t)
	conn := s.clickhouse()
	flow := startStream(t, s.broker, 200, "f-", "flow-a", "flow-b")

	t.Run("pool: bad requests beside good claims", func(t *testing.T) { poolBadBesideGood(t, s) })
	t.Run("pool: depart right after adds", func(t *testing.T) { departAfterAdds(t, s) })
	t.Run("oversize record", func(t *testing.T) { oversizeRecord(t, s) })
	t.Run("poison burst", func(t *testing.T) { poisonBurst(t, s) })

	flow.requireExact(t, conn, 60*time.Second)
	if code, body := s.readyz(); code != 200 {
		t.Fatalf("after the poison, /readyz says %d: %s", code, body)
	}
}

// oversizeRecord: an invalid record under the broker's limit and over
// franz-go's default producer limit, followed by valid events of two
// tenants. The valid ones are stored; the record is dead-lettered.
func oversizeRecord(t *testing.T, s *site) {
	conn := s.clickhouse()
	cl := producer(t, s.broker)
	big := fmt.Appendf(nil, `{"specversion":"1.0","id":"big-1","type":"chat.message","tenant":"big","subject":"c1","data":{"note":%q}}`,
		strings.Repeat("x", 1_040_000))
	at := time.Now().Add(-time.Minute)
	start := time.Now()
	produce(t, cl, "big/c1", big)
	time.Sleep(500 * time.Millisecond) // a later batch than the poison's
	produce(t, cl, "after-a/c1", chat("after-a-1", "after-a", "c1", at))
	produce(t, cl, "after-b/c2", chat("after-b-1", "after-b", "c2", at))
	waitEvent(t, conn, "after-a", "after-a-1", 60*time.Second)
	waitEvent(t, conn, "after-b", "after-b-1", 60*time.Second)
	figure(t, "oversize_record_to_ingest_unblocked", time.Since(start).Round(10*time.Millisecond))

	dead := deadLetters(t, s.broker, func(r *kgo.Record) bool { return string(r.Key) == "big/c1" }, 1)
	require.Len(t, dead, 1)
	require.Equal(t, "source", testenv.Header(dead[0], "siyu-error-field"), "the reason names the missing field")
	require.Len(t, dead[0].Value, len(big), "a dead letter that fits goes as it is")
	code, body := s.readyz()
	require.Equal(t, 200, code, "poison is not a stall: %s", body)
}

// poisonBurst: records of every invalid class, mixed with valid events;
// every valid one is stored once, every invalid one dead-lettered with its
// reason.
func poisonBurst(t *testing.T, s *site) {
	conn := s.clickhouse()
	cl := producer(t, s.broker)
	at := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	ev := func(fields string) []byte {
		return []byte(`{"specversion":"1.0","source":"faults",` + fields + `}`)
	}
	classes := map[string][]byte{
		"not json":         []byte(`{"specversion":`),
		"empty":            {},
		"array":            []byte(`[1,2,3]`),
		"invalid utf-8":    append(ev(`"id":"p1","type":"chat.message","time":"`+at+`","tenant":"burst","subject":"c`), 0xff, '"', '}'),
		"lone surrogate":   ev(`"id":"p2","type":"chat.message","time":"` + at + `","tenant":"burst","subject":"c\ud800","data":{"staff_id":"s1","direction":"in"}`),
		"missing id":       ev(`"type":"chat.message","time":"` + at + `","tenant":"burst","subject":"c1","data":{"staff_id":"s1","direction":"in"}`),
		"unknown type":     ev(`"id":"p3","type":"chat.nope","time":"` + at + `","tenant":"burst","subject":"c1"`),
		"bad time":         ev(`"id":"p4","type":"chat.message","time":"yesterday","tenant":"burst","subject":"c1","data":{"staff_id":"s1","direction":"in"}`),
		"year 9999":        ev(`"id":"p5","type":"chat.message","time":"9999-01-01T00:00:00Z","tenant":"burst","subject":"c1","data":{"staff_id":"s1","direction":"in"}`),
		"nul in subject":   ev(`"id":"p6","type":"chat.message","time":"` + at + `","tenant":"burst","subject":"c\u0000","data":{"staff_id":"s1","direction":"in"}`),
		"newline in staff": ev(`"id":"p7","type":"chat.message","time":"` + at + `","tenant":"burst","subject":"c1","data":{"staff_id":"s\n1","direction":"in"}`),
		"wrong field type": ev(`"id":"p8","type":"chat.message","time":"` + at + `","tenant":"burst","subject":"c1","data":{"staff_id":1,"direction":"in"}`),
		"bad enum":         ev(`"id":"p9","type":"chat.message","time":"` + at + `","tenant":"burst","subject":"c1","data":{"staff_id":"s1","direction":"up"}`),
		"missing tenant":   ev(`"id":"p10","type":"chat.message","time":"` + at + `","subject":"c1","data":{"staff_id":"s1","direction":"in"}`),
		"trailing garbage": append(chat("p11", "burst", "c1", time.Now().Add(-time.Minute)), []byte(" trailing")...),
		"overlong id":      ev(`"id":"` + strings.Repeat("i", 300) + `","type":"chat.message","time":"` + at + `","tenant":"burst","subject":"c1","data":{"staff_id":"s1","direction":"in"}`),
	}
	var recs []*kgo.Record
	valid := 0
	for round := range 20 {
		for name, v := range classes {
			recs = append(recs, &kgo.Record{Topic: "siyu.events", Key: []byte("burst-poison/" + name), Value: v})
		}
		for i := range 10 {
			id := fmt.Sprintf("ok-%d-%d", round, i)
			recs = append(recs, &kgo.Record{Topic: "siyu.events", Key: []byte("burst/c1"), Value: chat(id, "burst", "c1", time.Now().Add(-time.Minute))})
			valid++
		}
	}
	rand.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())
	waitStored(t, conn, "burst", "ok-", valid, 60*time.Second)
	figure(t, "poison_burst_valid_stored", time.Since(start).Round(10*time.Millisecond))

	poison := 20 * len(classes)
	dead := deadLetters(t, s.broker, func(r *kgo.Record) bool { return bytes.HasPrefix(r.Key, []byte("burst-poison/")) }, poison)
	require.Len(t, dead, poison, "every poison record is dead-lettered once")
	for _, r := range dead {
		require.NotEmpty(t, testenv.Header(r, "siyu-error-reason"), "dead letter %s has a reason", r.Key)
	}
}

// poolBadBesideGood: reps claim from the pool while others send ids that
// cannot be events; no good claim fails, no bad request is a 5xx, and no
// customer is granted twice.
func poolBadBesideGood(t *testing.T, s *site) {
	const tenant, customers = "pool", 60
	admin := s.key(tenant, "admin", "")
	reps := make([]string, 4)
	for i := range reps {
		reps[i] = s.key(tenant, "rep", fmt.Sprintf("r%d", i))
	}
	intoPool(t, s, admin, tenant, customers)

	type result struct {
		good    bool
		status  int
		claimed []string
		body    string
	}
	results := make(chan result, 240)
	var wg sync.WaitGroup
	bad := []struct{ method, path, body string }{
		{"POST", "/v1/staff/%ff/depart", ""},
		{"PUT", "/v1/staff/%ff/manager", `{"manager_id":"m1"}`},
		{"POST", "/v1/staff/%00/depart", ""},
		{"PUT", "/v1/staff/s1/manager", `{"manager_id":"m\u0000"}`},
		{"POST", "/v1/staff/a%0Ab/depart", ""},
		{"POST", "/v1/customers/%ff/assign", `{"staff_id":"r1"}`},
		{"POST", "/v1/customers/c1/assign", `{"staff_id":"r\ud800"}`},
		{"POST", "/v1/pool/claim", `{"customer_ids":["c\u0001"]}`},
	}
	for i := range 240 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%3 == 2 {
				b := bad[(i/3)%len(bad)]
				key := admin
				if strings.HasPrefix(b.path, "/v1/pool/claim") {
					key = reps[0]
				}
				code, body, _ := s.call(b.method, b.path, key, "application/json", []byte(b.body))
				results <- result{status: code, body: b.method + " " + b.path + ": " + string(body)}
				return
			}
			ids := []string{fmt.Sprintf("c%d", rand.IntN(customers)), fmt.Sprintf("c%d", rand.IntN(customers))}
			code, body, _ := s.call("POST", "/v1/pool/claim", reps[i%len(reps)], "application/json",
				fmt.Appendf(nil, `{"customer_ids":[%q,%q]}`, ids[0], ids[1]))
			r := result{good: true, status: code, body: string(body)}
			if code == 200 {
				var out struct {
					Claimed []string `json:"claimed"`
				}
				decode(t, body, &out)
				r.claimed = out.Claimed
			}
			results <- r
		}()
	}
	wg.Wait()
	close(results)
	granted := map[string]int{}
	goodFailed, badWrong := 0, 0
	for r := range results {
		switch {
		case r.good && r.status != 200:
			goodFailed++
			t.Errorf("a good claim failed: %d %s", r.status, r.body)
		case !r.good && (r.status < 400 || r.status >= 500):
			badWrong++
			t.Errorf("a bad request answered %d, want 4xx: %s", r.status, r.body)
		}
		for _, c := range r.claimed {
			granted[c]++
		}
	}
	for c, n := range granted {
		require.Equal(t, 1, n, "customer %s granted %d times", c, n)
	}
	figure(t, "pool_good_claims_failed_of_160", goodFailed)
	figure(t, "pool_bad_requests_not_4xx_of_80", badWrong)
}

// intoPool adds n customers held by s0 and releases them to the pool, and
// waits until the pool lists them.
func intoPool(t *testing.T, s *site, admin, tenant string, n int) {
	t.Helper()
	at := time.Now().Add(-time.Hour)
	var evs []string
	for i := range n {
		c := fmt.Sprintf("c%d", i)
		evs = append(evs, string(added("add-"+c, tenant, c, "s0", at)),
			fmt.Sprintf(`{"specversion":"1.0","id":"rel-%s","source":"faults","type":"assignee.changed","time":%q,"tenant":%q,"subject":%q,"data":{"reason":"release","from_staff_id":"s0"}}`,
				c, at.Add(time.Minute).UTC().Format(time.RFC3339), tenant, c))
	}
	code, body, _ := s.call("POST", "/v1/events", admin, "application/json", []byte("["+strings.Join(evs, ",")+"]"))
	require.Equal(t, 200, code, "%s", body)
	testenv.Eventually(t, 30*time.Second, func() error {
		code, body, _ := s.call("GET", "/v1/pool?limit=100", admin, "", nil)
		if code != 200 {
			return fmt.Errorf("pool: %d %s", code, body)
		}
		if got := bytes.Count(body, []byte(`"customer_id"`)); got < n {
			return fmt.Errorf("pool lists %d customers, want %d", got, n)
		}
		return nil
	})
}

// departAfterAdds: the decider has read the tenant; a rep then gets new
// customers; once the pipeline has stored them, the rep's departure moves
// every one of them.
func departAfterAdds(t *testing.T, s *site) {
	const tenant = "depart"
	admin := s.key(tenant, "admin", "")
	// The decider reads the tenant now, before the adds.
	code, body, _ := s.call("GET", "/v1/pool", admin, "", nil)
	require.Equal(t, 200, code, "%s", body)
	code, body, _ = s.call("POST", "/v1/customers/transfer", admin, "application/json",
		[]byte(`{"from":"nobody","to":"x","customer_ids":["none"]}`))
	require.Less(t, code, 500, "%s", body)

	at := time.Now().Add(-time.Minute)
	var evs []string
	for i := range 10 {
		c := fmt.Sprintf("d%d", i)
		evs = append(evs, string(added("dadd-"+c, tenant, c, "leaver", at)))
	}
	code, body, _ = s.call("POST", "/v1/events", admin, "application/json", []byte("["+strings.Join(evs, ",")+"]"))
	require.Equal(t, 200, code, "%s", body)
	conn := s.clickhouse()
	testenv.Eventually(t, 30*time.Second, func() error { // stored by the pipeline
		d, _, err := stored(context.Background(), conn, tenant, "dadd-")
		if err == nil && d != 10 {
			err = fmt.Errorf("%d of 10 adds stored", d)
		}
		return err
	})

	code, body, _ = s.call("POST", "/v1/staff/leaver/depart", admin, "application/json", []byte(`{"successor":"heir"}`))
	require.Equal(t, 201, code, "%s", body)
	var out struct {
		Moved []string `json:"moved"`
	}
	decode(t, body, &out)
	require.Len(t, out.Moved, 10, "every customer the pipeline stored before the departure moves: %s", body)
}

// deadLetters reads the dead-letter topic from the start until n records
// match keep (or 30 s pass).
func deadLetters(t *testing.T, broker string, keep func(*kgo.Record) bool, n int) []*kgo.Record {
	t.Helper()
	return testenv.Consume(t, broker, "siyu.events.dlq", n, 30*time.Second, keep)
}
