package faults

import (
	"bytes"
	"context"
	"fmt"
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
// number looks like, written plain or in groups of four (amex 4-6-5) separated by one kind
// of separator. The last four digits alone are allowed. Not card numbers, and skipped so
// that a hit means a leak:
//   - a run touching a letter or another digit: part of a hex trace id, a ULID, a hash;
//   - a plain run starting with 0 or 1: no card brand uses those prefixes, while epoch
//     timestamps in ms, µs and ns (13, 16 and 19 digits) start with 1 until 2033;
//   - separators in other places, such as the dashes and space of "183 2026-11-27 19".
func cardNumbers(b []byte) []string {
	var out []string
	for _, loc := range digitRun.FindAllIndex(b, -1) {
		if (loc[0] > 0 && isAlnum(b[loc[0]-1])) || (loc[1] < len(b) && isAlnum(b[loc[1]])) {
			continue
		}
		run := string(b[loc[0]:loc[1]])
		digits := strings.NewReplacer(" ", "", "-", "").Replace(run)
		if len(digits) < 13 || len(digits) > 19 || !luhn(digits) {
			continue
		}
		if digits == run && (digits[0] == '0' || digits[0] == '1') {
			continue
		}
		if digits != run && !cardGrouping(run) {
			continue
		}
		out = append(out, run)
	}
	return out
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// cardGrouping says whether a separated run is grouped like a printed card number.
func cardGrouping(run string) bool {
	if strings.Contains(run, " ") && strings.Contains(run, "-") {
		return false
	}
	groups := strings.FieldsFunc(run, func(r rune) bool { return r == ' ' || r == '-' })
	sizes := make([]int, len(groups))
	for i, g := range groups {
		sizes[i] = len(g)
	}
	if len(sizes) == 3 && sizes[0] == 4 && sizes[1] == 6 && (sizes[2] == 5 || sizes[2] == 4) {
		return true // amex 4-6-5, diners 4-6-4
	}
	for i, n := range sizes {
		if n != 4 && !(i == len(sizes)-1 && n >= 1 && n <= 4) {
			return false
		}
	}
	return true
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
		{"digits then a date", "1832026-11-27 19:00", nil},
		{"inside a hex trace id", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", nil},
		{"digits of a hex id", "a01690298028973140b", nil},
		{"epoch milliseconds", `"ts":1795807812296}`, nil},
		{"epoch nanoseconds", "1795807812296000006", nil},
		{"odd grouping", "42424 24242 424242", nil},
		{"mixed separators", "4242-4242 4242-4242", nil},
		{"amex grouped", "3782 822463 10005", []string{"3782 822463 10005"}},
		{"card at the end of a line", "card=4242424242424242\n", []string{"4242424242424242"}},
		{"in binary", "\x00\x134242424242424242\x00", []string{"4242424242424242"}},
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
// bank's ledger, mailpit's store, the broker's partition files) including every process log (services
// and sidecars at debug level), and every email body in mailpit.
func auditCardData(t *testing.T, r *run) {
	t.Helper()
	found := map[string][]string{}
	scan := func(where string, b []byte) {
		for _, hit := range cardNumbers(b) {
			// Keep a little context, so a reader can tell what wrote it.
			i := bytes.Index(b, []byte(hit))
			lo, hi := max(0, i-24), min(len(b), i+len(hit)+24)
			found[where] = append(found[where], fmt.Sprintf("%s in %q", hit, b[lo:hi]))
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
		rel, _ := filepath.Rel(r.DataDir(), path)
		// The broker's own bookkeeping (producer ids, group offsets) holds random 64-bit
		// ids, some Luhn-valid by chance; its records are scanned through the topics and
		// the partition files.
		if strings.HasPrefix(rel, "kafka"+string(filepath.Separator)) && !strings.Contains(rel, string(filepath.Separator)+"partitions"+string(filepath.Separator)) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil //nolint:nilerr // as above
		}
		files++
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
		t.Errorf("card number(s) in %s: %d, first %s", k, len(found[k]), found[k][0])
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
