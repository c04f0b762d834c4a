package faults

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// digitRun is a run of digits in which single spaces or dashes may separate digits, as
// people write card numbers ("4242 4242 4242 4242", "4242-4242-...").
var digitRun = regexp.MustCompile(`[0-9](?:[ -]?[0-9])*`)

// luhn reports whether digits pass the Luhn check.
func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// cardNumbers returns the Luhn-valid runs of 13 to 19 digits in b: what a leaked card
// number looks like. A run inside a longer run of digits is not a card number on its own
// (an id or a timestamp), and the last four digits alone are allowed.
func cardNumbers(b []byte) []string {
	var out []string
	for _, loc := range digitRun.FindAllIndex(b, -1) {
		run := string(b[loc[0]:loc[1]])
		digits := strings.NewReplacer(" ", "", "-", "").Replace(run)
		if len(digits) < 13 || len(digits) > 19 || !luhn(digits) {
			continue
		}
		out = append(out, run)
	}
	return out
}

func TestCardNumberScanner(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"plain", `"card":"4242424242424242"`, []string{"4242424242424242"}},
		{"spaces", "pay with 4242 4242 4242 4242 today", []string{"4242 4242 4242 4242"}},
		{"dashes", "5555-5555-5555-4444", []string{"5555-5555-5555-4444"}},
		{"amex, 15 digits", "378282246310005", []string{"378282246310005"}},
		{"last four only", `"last4":"4242"`, nil},
		{"masked", "**** **** **** 4242", nil},
		{"fails Luhn", "4242424242424241", nil},
		{"too long to be a card", "42424242424242424242", nil},
		{"too short", "424242424242", nil},
		{"a date is no card", "2026-11-27 18:00:00", nil},
		{"two cards", "4242424242424242 and 4000000000000002", []string{"4242424242424242", "4000000000000002"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, cardNumbers([]byte(c.text)))
		})
	}
}

// auditCardData scans everything a run kept for card numbers: every Kafka topic (the
// order chain's, the dead-letter topics and whatever Dapr created for itself), every file
// under the run's data folder (the SQLite state stores in .data and sandbox/.data, the
// bank's ledger, mailpit's store, the broker's log) including every process log (services
// and sidecars at debug level), and every email body in mailpit.
func auditCardData(t *testing.T, r *run) {
	t.Helper()
	found := map[string][]string{}
	scan := func(where string, b []byte) {
		if hits := cardNumbers(b); len(hits) > 0 {
			found[where] = append(found[where], hits...)
		}
	}

	topics := allTopics(t)
	require.Contains(t, topics, "order")
	for _, topic := range topics {
		for _, rec := range stack.ReadTopic(t, topic) {
			scan("topic "+topic, rec.Key)
			scan("topic "+topic, rec.Value)
		}
	}

	var files int
	err := filepath.WalkDir(r.DataDir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return nil //nolint:nilerr // a file that vanished mid-walk has nothing to scan
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil //nolint:nilerr // as above
		}
		files++
		rel, _ := filepath.Rel(r.DataDir(), path)
		scan("file "+rel, b)
		return nil
	})
	require.NoError(t, err)
	var dbs int
	for _, dir := range []string{filepath.Join(r.DataDir(), ".data"), filepath.Join(r.DataDir(), "sandbox", ".data")} {
		m, _ := filepath.Glob(filepath.Join(dir, "*.db"))
		dbs += len(m)
	}
	assert.Positive(t, dbs, "no SQLite state store found to scan")

	msgs := r.mail.All(t)
	for _, m := range msgs {
		scan("email "+m.ID, []byte(m.Subject+"\n"+r.mail.Body(t, m.ID)))
	}

	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("card number(s) in %s: %q", k, found[k])
	}
	t.Logf("card-data audit: %d topics, %d files (%d SQLite stores), %d emails scanned; %d places with card numbers", len(topics), files, dbs, len(msgs), len(found))
}

// allTopics lists every topic on the broker, Dapr's own included.
func allTopics(t *testing.T) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(stack.Broker))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	td, err := kadm.NewClient(cl).ListTopicsWithInternal(ctx)
	require.NoError(t, err)
	return td.Names()
}
