package faults

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// mostlyApproved: nine approved orders in ten, one declined, so both paths run.
func mostlyApproved(i int) string {
	switch {
	case i%10 == 9:
		return cardDeclined
	case i%2 == 0:
		return cardVisa
	default:
		return cardMaster
	}
}

// scenario is one fault, injected while orders stream.
type scenario struct {
	name string
	env  map[string]map[string]string
	card func(i int) string
	// inject runs while the orders stream; refusals says whether non-202 answers (refused
	// or outcome unknown) are allowed (only while Kafka is away).
	inject    func(t *testing.T, r *run, s *stream, c config)
	refusals  bool
	afterward func(t *testing.T, r *run, c config) // checks after the audit
	// evidence are log lines (process name, then text) proving the fault really struck:
	// a scenario whose fault never fired proves nothing.
	evidence [][2]string
	// knownBug, when set, names a service bug this scenario exposes (reported to the lead;
	// services are not this suite's to fix): the duplicate or missing emails it causes are
	// logged and tabled, and the scenario is skipped instead of failed until it is fixed.
	knownBug string
	// replicas runs more instances of an app in the same consumer group.
	replicas map[string]int
	// components, when set, writes the components folder the stack runs on instead of
	// components/ (e.g. a copy with a shorter retry budget).
	components func(t *testing.T) string
}

var (
	resultsMu sync.Mutex
	results   []result
)

// TestFaults runs every scenario on its own stack, audits it, scans it for card data, and
// prints the table (also written to .run/faults.md, which git ignores).
func TestFaults(t *testing.T) {
	c := loadConfig()
	if testing.Short() {
		t.Skip("starts the whole stack; skipped with -short")
	}
	// The suite holds the machine-wide stack lock from its first scenario to its last, so
	// other stack tests do not slip in between and stretch the run.
	t.Cleanup(stack.Lock(t))
	t.Logf("fault suite: full=%v, %d orders per scenario at %.0f/s", c.full, c.orders, c.rate)
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			var components string
			if sc.components != nil {
				components = sc.components(t)
			}
			r := start(t, sc.env, sc.replicas, components)
			card := sc.card
			if card == nil {
				card = mostlyApproved
			}
			s := r.streamOrders(sc.name, c.orders, c.rate, card)
			sc.inject(t, r, s, c)
			ps, ended := s.wait()
			res := r.audit(sc.name, ps, ended, c.drain, sc.knownBug != "")
			for _, ev := range sc.evidence {
				assert.Contains(t, r.readLog(ev[0]), ev[1], "the fault never struck: no %q in %s's log", ev[1], ev[0])
			}
			if !sc.refusals {
				assert.Zero(t, res.Refused+res.Unknown, "orders not accepted although Kafka stayed up: %v", statuses(ps))
			}
			assert.Positive(t, res.Accepted)
			if sc.afterward != nil {
				sc.afterward(t, r, c)
			}
			auditCardData(t, r)
			resultsMu.Lock()
			results = append(results, res)
			resultsMu.Unlock()
			if sc.knownBug != "" && res.DuplicateMails+res.MissingMails > 0 {
				t.Skipf("known bug, %d duplicate and %d missing emails: %s", res.DuplicateMails, res.MissingMails, sc.knownBug)
			}
		})
	}
	resultsMu.Lock()
	md := table(results)
	resultsMu.Unlock()
	t.Logf("fault suite results:\n%s", md)
	fmt.Print("\n" + md)
	dir := filepath.Join(stack.Root(t), ".run")
	if err := os.MkdirAll(dir, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "faults.md"), []byte(md), 0o644)
	}
}

func statuses(ps []placed) map[int]int {
	out := map[int]int{}
	for _, p := range ps {
		out[p.status]++
	}
	return out
}

// spread returns k points spread over n orders: the orders after which to strike.
func spread(n, k int) []int {
	out := make([]int, k)
	for j := range out {
		out[j] = n * (j + 1) / (k + 1)
	}
	return out
}

func scenarios() []scenario {
	return []scenario{
		{
			name: "kill-consumers",
			inject: func(t *testing.T, r *run, s *stream, c config) {
				// Transactions and email die at points spread over the stream, each
				// restarted at once: in-flight events must be redelivered, never re-done.
				type strike struct {
					at   int
					name string
				}
				var plan []strike
				for _, at := range spread(c.orders, c.txKills) {
					plan = append(plan, strike{at, "transactions"})
				}
				for _, at := range spread(c.orders, c.emailKills) {
					plan = append(plan, strike{at + c.orders/(2*(c.txKills+1)), "email"})
				}
				sortStrikes := func(a, b strike) bool { return a.at < b.at }
				for i := range plan {
					for j := i + 1; j < len(plan); j++ {
						if sortStrikes(plan[j], plan[i]) {
							plan[i], plan[j] = plan[j], plan[i]
						}
					}
				}
				for _, st := range plan {
					s.waitAnswered(st.at)
					r.killAndRestart(st.name)
				}
			},
		},
		{
			name:   "kill-sidecars",
			inject: killAtThirds("transactions-dapr", "email-dapr"),
		},
		{
			name:     "broker-outage",
			refusals: true,
			evidence: [][2]string{{"broker", "outage injected"}},
			inject: func(t *testing.T, r *run, s *stream, c config) {
				s.waitAnswered(c.orders / 4)
				adminCall(t, http.MethodPost, "/outage?for="+c.outage.String())
				t.Logf("broker unreachable for %s", c.outage)
			},
		},
		{
			name:     "bank-flaky",
			evidence: [][2]string{{"bank", "fault injected: charge refused"}},
			// Every fifth order uses the card the bank answers after 2 s.
			card: func(i int) string {
				if i%5 == 4 {
					return cardSlow
				}
				return mostlyApproved(i)
			},
			inject: func(t *testing.T, r *run, s *stream, c config) {
				r.bank.SetFaults(t, map[string]any{"failureRate": 0.3, "latency": "50ms"})
				<-s.done
				// The bank recovers; orders still retrying then go through.
				r.bank.SetFaults(t, map[string]any{"failureRate": 0.0, "latency": "0s"})
			},
		},
		{
			name:     "bank-drops-replies",
			evidence: [][2]string{{"bank", "fault injected: reply dropped"}},
			inject: func(t *testing.T, r *run, s *stream, c config) {
				r.bank.SetFaults(t, map[string]any{"dropReplyRate": 0.3})
				<-s.done
				r.bank.SetFaults(t, map[string]any{"dropReplyRate": 0.0})
			},
		},
		{
			// A hung SMTP server stores what it had buffered when it resumes: an email whose
			// send timed out must not be sent again (docs/ORDERS.md, section 4).
			name: "mailpit-stopped",
			inject: func(t *testing.T, r *run, s *stream, c config) {
				s.waitAnswered(c.orders / 4)
				require.NoError(t, r.signal("mailpit", 19 /* SIGSTOP */))
				t.Logf("mailpit stopped for %s", c.mailStop)
				time.Sleep(c.mailStop) // the outage itself: nothing to await
				require.NoError(t, r.signal("mailpit", 18 /* SIGCONT */))
			},
		},
		{
			// Two replicas of each consumer share their consumer group; killing one moves
			// its partitions to the other mid-stream (a rebalance), and the restarted one
			// takes some back: events in flight are redelivered to whichever owns them now.
			name:     "kill-replicas",
			replicas: map[string]int{"transactions": 2, "email": 2},
			inject:   killAtThirds("transactions-2", "email-2"),
		},
		{
			name:   "poison-event",
			inject: injectPoison,
			afterward: func(t *testing.T, r *run, c config) {
				// Not replayed after a restart: transactions starts again, consumes a new
				// order, and the dead-letter topic and the bank saw nothing more of it.
				dlq := topicRecords(t, "order-dlq")
				from := map[string]int64{}
				for _, name := range []string{"transactions", "transactions-dapr"} {
					from[name] = logSize(r.LogFile(name))
				}
				r.killAndRestart("transactions")
				id, _ := r.probe("poison-restart")
				st, ok := waitFinal(id, 60*time.Second)
				require.True(t, ok, "an order after the restart did not complete (status %q)", st)
				assert.Equal(t, dlq, topicRecords(t, "order-dlq"), "the poison event went to the dead-letter topic again")
				for name, off := range from {
					assert.Empty(t, linesWith(r.LogFile(name), off, r.poisonID), "%s saw the poison event again after the restart", name)
				}
			},
		},
		deadLetterReplay(),
	}
}

// killAtThirds SIGKILLs and restarts first once a third of the stream is answered, and
// second at two thirds.
func killAtThirds(first, second string) func(*testing.T, *run, *stream, config) {
	return func(t *testing.T, r *run, s *stream, c config) {
		s.waitAnswered(c.orders / 3)
		r.killAndRestart(first)
		s.waitAnswered(2 * c.orders / 3)
		r.killAndRestart(second)
	}
}

// injectPoison writes a CloudEvent with garbage data straight onto `order`, as a broken
// producer would, and checks it ends on order-dlq without holding up the orders behind it.
func injectPoison(t *testing.T, r *run, s *stream, c config) {
	s.waitAnswered(c.orders / 3)
	before := topicRecords(t, "order-dlq")
	id := fmt.Sprintf("poison-%d", time.Now().UnixNano())
	event := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"faults","type":"kafkarestaurants.order.placed.v1","datacontenttype":"application/json","data":"\u0000\u00ff{{not an order"}`, id)
	// The poison's key puts it on some partition; orders keyed to the same one queue behind it.
	stack.Produce(t, "order", []byte(id), []byte(event))
	produced := time.Now()
	r.poisonID = id

	probe, _ := r.probe("poison-after")
	st, ok := waitFinal(probe, 30*time.Second)
	assert.True(t, ok, "an order placed after the poison event was not final within 30 s (status %q)", st)

	deadline := time.Now().Add(time.Minute)
	for topicRecords(t, "order-dlq") < before+1 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	assert.Equal(t, before+1, topicRecords(t, "order-dlq"), "the poison event should be on order-dlq exactly once")
	t.Logf("poison event %s on order-dlq %s after it was produced", id, time.Since(produced).Round(100*time.Millisecond))
	dlq := stack.ReadTopic(t, "order-dlq")
	found := false
	for _, rec := range dlq {
		found = found || strings.Contains(string(rec.Value), id)
	}
	assert.True(t, found, "order-dlq does not hold the poison event")
}
