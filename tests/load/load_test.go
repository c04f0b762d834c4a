// Package load_test is the load tool's smoke run, part of `make test`: the whole stack on
// real sidecars and broker, a few seconds of searches and orders through nginx at a modest
// rate, and the guarantees a user relies on checked from the outside: no request failed, no
// accepted order was lost, none was emailed or charged twice. Speed is logged, never
// asserted: this machine is shared and its timing is not the product's.
package load_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
	"github.com/kafka-restaurants/kafka-restaurants/tools/load"
)

// testLog sends the tool's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\r\n\033[K"))
	return len(p), nil
}

func TestSmokeLoadThroughNginx(t *testing.T) {
	// nginx limits order creation per client to a human pace; the load comes from one
	// address, so the limit is lifted for this stack only.
	stack.Start(t, stack.Options{Env: map[string]map[string]string{
		"frontend": {"NGINX_ORDER_RATE": "10000r/s", "NGINX_ORDER_BURST": "10000"},
	}})

	cfg := load.Defaults()
	cfg.Target = load.NginxURL
	cfg.Rate = 20
	cfg.Warmup, cfg.Ramp, cfg.Duration = time.Second, time.Second, 4*time.Second
	cfg.OrderShare, cfg.DeclineShare = 0.3, 0.2
	cfg.Deadline = 45 * time.Second
	cfg.Sample = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	rep, err := load.Run(ctx, cfg, testLog{t})
	require.NoError(t, err)
	var table strings.Builder
	rep.WriteTable(&table)
	t.Log("\n" + table.String())

	o := rep.Orders
	assert.Empty(t, rep.Errors, "no request may fail")
	require.Positive(t, o.Accepted, "the run must have placed orders")
	assert.Positive(t, rep.Requests["search"].OK, "the run must have searched")
	assert.Zero(t, o.Lost, "accepted orders that never became final: %v", o.LostIDs)
	assert.Zero(t, o.EmailsMissing, "final orders without an email: %v", o.EmailMissingIDs)
	assert.True(t, o.EmailsChecked && o.ChargesChecked, "mailpit and the bank ledger must both be read")
	assert.Zero(t, o.DuplicateEmails, "orders emailed twice: %v", o.DuplicateEmailIDs)
	assert.Zero(t, o.DuplicateCharges, "orders charged twice: %v", o.DuplicateChargeIDs)
	assert.Equal(t, o.Accepted, o.Final)
	if o.DeclinedCard > 0 {
		assert.Positive(t, o.ByStatus["notified_declined"], "orders paid with the declined card end declined")
	}
	assert.Equal(t, o.Accepted-o.DeclinedCard, o.ByStatus["confirmed"], "every other order is confirmed")
}
