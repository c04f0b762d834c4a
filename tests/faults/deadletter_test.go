package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"sigs.k8s.io/yaml"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// Dead-letter topics and the topics their events came from (tools/cmd/dlq).
var deadLetterTopics = map[string]string{"order-dlq": "order", "order_confirm-dlq": "order_confirm", "order_notified-dlq": "order_notified"}

// deadLetterReplay is issue 14's "dead letters have a way home": mailpit is down for longer
// than the retry budget, so the email sidecar dead-letters the confirmations it cannot
// deliver; mailpit comes back, `bin/dlq replay` (the tool users run) puts the dead letters
// back, and every charged order ends with exactly one email. Then the replay is repeated
// twice over — once by the tool (which remembers what it replayed) and once by hand, as a
// replay whose commit was lost would — and nothing is charged or emailed twice.
//
// The production budget is about 3.5 minutes of redeliveries (components/resiliency.yaml);
// this scenario's stack runs a copy of components/ with the same policies but an inbound
// budget of three redeliveries 100 ms apart and an SMTP breaker that half-opens after 1 s,
// so the outage outlasts the budget within seconds.
func deadLetterReplay() scenario {
	return scenario{
		name:       "dead-letter-replay",
		components: shortRetryBudget,
		// A send cut off by the kill has an unknown outcome and keeps its claim for the
		// lease: 2 s instead of 2 min, so a redelivery takes it over within the test.
		env:      map[string]map[string]string{"email": {"EMAIL_CLAIM_LEASE": "2s"}},
		evidence: [][2]string{{"email", "connection refused"}},
		inject:   outageLongerThanTheBudget,
	}
}

// shortRetryBudget writes a copy of components/ whose Resiliency gives up on an event after
// about half a second (three redeliveries 100 ms apart) and half-opens the SMTP breaker
// after 1 s; everything else is the repository's.
func shortRetryBudget(t *testing.T) string {
	t.Helper()
	src := filepath.Join(stack.Root(t), "components")
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		if e.Name() == "resiliency.yaml" {
			b = shrinkBudget(t, b)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644))
	}
	return dir
}

func shrinkBudget(t *testing.T, b []byte) []byte {
	t.Helper()
	var res map[string]any
	require.NoError(t, yaml.Unmarshal(b, &res))
	policies := res["spec"].(map[string]any)["policies"].(map[string]any)
	retries := policies["retries"].(map[string]any)
	require.Contains(t, retries, "inbound", "components/resiliency.yaml has no inbound retry policy to shrink")
	retries["inbound"] = map[string]any{"policy": "constant", "duration": "100ms", "maxRetries": 3}
	smtp := policies["circuitBreakers"].(map[string]any)["smtp"].(map[string]any)
	smtp["timeout"] = "1s"
	out, err := yaml.Marshal(res)
	require.NoError(t, err)
	return out
}

// outageLongerThanTheBudget kills mailpit a quarter into the stream and keeps it down until
// confirmations have been dead-lettered, brings it back, waits until every accepted order is
// either final or dead-lettered, replays, and proves a repeated replay harmless.
func outageLongerThanTheBudget(t *testing.T, r *run, s *stream, c config) {
	s.waitAnswered(c.orders / 4)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, r.Kill(ctx, "mailpit", syscall.SIGKILL))
	down := time.Now()
	t.Logf("mailpit killed")

	// The outage lasts for the rest of the stream and until confirmations were
	// dead-lettered: each of them was redelivered for its whole budget while SMTP refused
	// connections.
	ps, _ := s.wait()
	want := max(5, int64(c.orders/20))
	waitFor(t, c.drain, "dead letters on order_confirm-dlq", func() bool {
		return topicRecords(t, "order_confirm-dlq") >= want
	})
	require.NoError(t, r.Restart(ctx, "mailpit"))
	t.Logf("mailpit back after %s; %d confirmations dead-lettered meanwhile", time.Since(down).Round(100*time.Millisecond), topicRecords(t, "order_confirm-dlq"))

	pending := map[string]bool{}
	for _, p := range ps {
		if p.id != "" {
			pending[p.id] = true
		}
	}
	// Settled: every accepted order is final or has its event on a dead-letter topic (an
	// event redelivered while the breaker was still open may have joined them).
	var stranded map[string]bool
	waitFor(t, c.drain, "every accepted order final or dead-lettered", func() bool {
		dropFinal(pending)
		stranded = deadLettered(t)
		for id := range pending {
			if !stranded[id] {
				return false
			}
		}
		return true
	})
	require.NotEmpty(t, pending, "no order was stranded by the outage: nothing to replay")
	t.Logf("%d orders stranded by the outage (%d dead letters)", len(pending), len(stranded))

	// The way home: the same command a user runs (`bin/dlq replay`), until the dead-letter
	// topics hold nothing unreplayed and every stranded order is final.
	replayed, passes := int64(0), 0
	waitFor(t, c.drain, "every stranded order final after the replay", func() bool {
		if n := deadLetterCount(t); n > replayed {
			passes++
			require.LessOrEqual(t, passes, 3, "events keep dead-lettering after their replay")
			out := dlq(t, "replay")
			t.Logf("replay %d: %s", passes, lastLine(out))
			replayed = n
		}
		dropFinal(pending)
		return len(pending) == 0
	})
	t.Logf("stranded orders final after %d replay(s)", passes)

	// Replaying again is harmless. The tool remembers what it replayed...
	assert.Contains(t, dlq(t, "replay"), "0 replayed", "the tool replayed a dead letter twice")
	// ...and a replay that ran twice (its commit lost) redelivers every dead letter once
	// more: each consumer must see a decided order and do nothing.
	letters := deadLetterRecords(t)
	before := deadLetterCount(t)
	from := logSize(r.LogFile("email"))
	for _, rec := range letters {
		stack.Produce(t, deadLetterTopics[rec.Topic], rec.Key, rec.Value)
	}
	waitCaughtUp(t, c.drain, "transactions", "order")
	waitCaughtUp(t, c.drain, "email", "order_confirm")
	again := linesWith(r.LogFile("email"), from, "email already sent; not sending again")
	t.Logf("%d dead letters redelivered a second time: %d times the email service found the email already sent", len(letters), len(again))
	assert.NotEmpty(t, again, "the email service never saw a replayed confirmation of an order it had emailed")
	assert.Equal(t, before, deadLetterCount(t), "a second delivery of a replayed event was dead-lettered")
}

// waitFor polls cond every 200 ms until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dropFinal removes the orders that reached a final status.
func dropFinal(pending map[string]bool) {
	for id := range pending {
		if _, final := orderStatus(id); final {
			delete(pending, id)
		}
	}
}

func deadLetterRecords(t *testing.T) []stack.Record {
	var out []stack.Record
	for topic := range deadLetterTopics {
		out = append(out, stack.ReadTopic(t, topic)...)
	}
	return out
}

func deadLetterCount(t *testing.T) int64 {
	var n int64
	for topic := range deadLetterTopics {
		n += topicRecords(t, topic)
	}
	return n
}

// deadLettered returns the order ids whose events are on a dead-letter topic (the
// CloudEvent id is the order id on `order`, "<order id>.charged" on `order_confirm`,
// "<order id>.notified" on `order_notified`).
func deadLettered(t *testing.T) map[string]bool {
	out := map[string]bool{}
	for _, rec := range deadLetterRecords(t) {
		var ce struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(rec.Value, &ce) == nil && ce.ID != "" {
			out[strings.TrimSuffix(strings.TrimSuffix(ce.ID, ".charged"), ".notified")] = true
		}
	}
	return out
}

// dlq runs the dead-letter tool as a user does (make build puts it in bin/).
func dlq(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(stack.Root(t), "bin", "dlq")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run `make build` (make test and make faults do)", bin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(args, "-brokers", stack.Broker)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "bin/dlq %s: %s", strings.Join(args, " "), out.String())
	return out.String()
}

var replayedLine = regexp.MustCompile(`(?m)^\d+ replayed$`)

// lastLine is the tool's summary ("N replayed").
func lastLine(out string) string {
	if m := replayedLine.FindString(out); m != "" {
		return m
	}
	return strings.TrimSpace(out)
}

// waitCaughtUp waits until a consumer group has committed every record of topic that is
// on the broker now: everything published so far was handled.
func waitCaughtUp(t *testing.T, timeout time.Duration, group, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(stack.Broker))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	waitFor(t, timeout, group+" caught up on "+topic, func() bool {
		committed, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return false
		}
		behind := false
		ends.Each(func(o kadm.ListedOffset) {
			c, ok := committed.Lookup(topic, o.Partition)
			if o.Err == nil && o.Offset > 0 && (!ok || c.At < o.Offset) {
				behind = true
			}
		})
		return !behind
	})
}
