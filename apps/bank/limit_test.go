package main

import (
	"net/http"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// At its bound the bank refuses new tokens and charges with 507 ledger_full, an answer the
// caller sees, instead of growing until its memory limit kills it and forgets the ledger.
// What it already answered still replays, a refund of a charge it holds still goes
// through, and the bound holds across a restart.
func TestLedgerBoundRefusesNewRecordsAndKeepsOldAnswers(t *testing.T) {
	tb := newTestBank(t)
	tb.store.limit = 3 // two tokens and one charge
	tok := tb.tokenize("4242424242424242")
	other := tb.tokenize("5555555555554444")
	first := tb.charge("ord-1", tok, 1300, "ord-1")
	require.Equal(t, http.StatusCreated, first.Code, first.Body.String())

	full := tb.charge("ord-2", other, 900, "ord-2")
	require.Equal(t, http.StatusInsufficientStorage, full.Code, full.Body.String())
	assert.Equal(t, "ledger_full", decode(t, full.Body.Bytes())["code"])
	noToken := tb.do(http.MethodPost, "/v1/tokens", `{"number":"4000000000000002"}`, nil)
	assert.Equal(t, http.StatusInsufficientStorage, noToken.Code, noToken.Body.String())

	again := tb.charge("ord-1", tok, 1300, "ord-1")
	assert.Equal(t, http.StatusCreated, again.Code, "an answer given before the bound replays")
	assert.Equal(t, first.Body.String(), again.Body.String())
	chargeID, _ := decode(t, first.Body.Bytes())["id"].(string)
	refund := tb.do(http.MethodPost, "/v1/refunds", `{"chargeId":"`+chargeID+`"}`, map[string]string{idemKeyHeader: "refund-ord-1"})
	assert.Equal(t, http.StatusCreated, refund.Code, "a refund of a held charge is never refused: %s", refund.Body.String())

	tb.restart()
	tb.store.limit = 3
	assert.Equal(t, http.StatusInsufficientStorage, tb.charge("ord-2", other, 900, "ord-2").Code, "the bound counts what the files hold")
	assert.Len(t, tb.ledger("ord-2").Charges, 0)
	assert.Len(t, tb.ledger("ord-1").Charges, 1)
}

// What one token and one charge cost in memory, for sizing the chart's memory limit
// against BANK_MAX_RECORDS (helm/kafka-restaurants values.yaml, bank.resources).
// go test -run '^$' -bench BankRecordMemory ./apps/bank/
func BenchmarkBankRecordMemory(b *testing.B) {
	const n = 20_000
	var before, after runtime.MemStats
	for range b.N {
		tb := newTestBank(b)
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range n {
			tok := tb.tokenize("4242424242424242")
			key := "ord-" + strconv.Itoa(i)
			if c := tb.charge(key, tok, 1300, key); c.Code != http.StatusCreated {
				b.Fatalf("charge %d: %d %s", i, c.Code, c.Body.String())
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/(token+charge)")
		runtime.KeepAlive(tb)
	}
}
