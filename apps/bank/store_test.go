package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTornLastLineIsCutOnStart(t *testing.T) {
	tb := newTestBank(t)
	tok := tb.tokenize("4242424242424242")
	first := tb.charge("ord-1", tok, 100, "ord-1")
	require.Equal(t, http.StatusCreated, first.Code)
	require.NoError(t, tb.store.Close())
	tb.store = nil

	// A crash in the middle of a write leaves half a line without its newline.
	for _, name := range []string{ledgerFile, tokensFile} {
		f, err := os.OpenFile(filepath.Join(tb.dir, name), os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, err = f.WriteString(`{"charge":{"id":"ch_torn","sta`)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}

	tb.open()
	again := tb.charge("ord-1", tok, 100, "ord-1")
	assert.Equal(t, first.Body.String(), again.Body.String(), "entries before the torn line survive")
	require.Equal(t, http.StatusCreated, tb.charge("ord-2", tok, 100, "ord-2").Code, "appends still work")

	tb.restart()
	assert.Equal(t, 2, tb.ledger("").Counts.Succeeded, "the new entry was not glued to the torn one")
}

func TestDamagedLedgerRefusesToStart(t *testing.T) {
	tests := []struct{ name, file, content, wantErr string }{
		{"ledger", ledgerFile, "not json\n{}\n", "ledger.jsonl line 1: bad ledger record"},
		{"tokens", tokensFile, "{}\n", "tokens.jsonl line 1: bad token record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.content), 0o600))
			_, err := openStore(dir)
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestStoreRefusesSecondAnswerForOneKey(t *testing.T) {
	st, err := openStore(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	line := func(id string) ledgerLine {
		return ledgerLine{
			Charge:      &chargeRecord{ID: id, Status: statusSucceeded, OrderID: "o"},
			Idempotency: &idemRecord{Scope: scopeCharges, Key: "k", RequestHash: "h", Status: 201, Body: "{}"},
		}
	}
	require.NoError(t, st.record(line("ch_a")))
	assert.ErrorIs(t, st.record(line("ch_b")), errDuplicateKey)
	assert.Len(t, st.ledger("").Charges, 1)
}

// cardNumberRE matches what the system-wide scan of issue 4 looks for.
var cardNumberRE = regexp.MustCompile(`\d{13,19}`)

func TestNoCardNumberIsStoredLoggedOrReturned(t *testing.T) {
	tb := newTestBank(t)
	numbers := []string{"4111111111111111", "6011000000000000001", "4222222222222"}
	for n := range testCards {
		numbers = append(numbers, n)
	}
	var responses strings.Builder
	for i, n := range numbers {
		rec := tb.do(http.MethodPost, "/v1/tokens", `{"number":"`+n+`","expMonth":12,"expYear":2031}`, nil)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		responses.WriteString(rec.Body.String())
		tok := decode(t, rec.Body.Bytes())["token"].(string)
		key := "ord-" + string(rune('a'+i))
		ch := tb.charge(key, tok, 1300, key)
		responses.WriteString(ch.Body.String())
		if ch.Code == http.StatusCreated {
			id := decode(t, ch.Body.Bytes())["id"].(string)
			ref := tb.do(http.MethodPost, "/v1/refunds", `{"chargeId":"`+id+`"}`, map[string]string{idemKeyHeader: "r-" + key})
			responses.WriteString(ref.Body.String())
		}
	}
	// Rejected numbers must not be echoed or logged either.
	rejected := []string{"4242424242424241", "42424242424242424242"}
	for _, n := range rejected {
		rec := tb.do(http.MethodPost, "/v1/tokens", `{"number":"`+n+`"}`, nil)
		require.Equal(t, http.StatusBadRequest, rec.Code)
		responses.WriteString(rec.Body.String())
	}
	numbers = append(numbers, rejected...)
	responses.WriteString(tb.do(http.MethodGet, "/v1/ledger", "", nil).Body.String())
	tb.restart()

	sources := map[string]string{"log": tb.logs.String(), "responses": responses.String()}
	entries, err := os.ReadDir(tb.dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(tb.dir, e.Name()))
		require.NoError(t, err)
		sources["data/"+e.Name()] = string(b)
	}
	require.Contains(t, sources["log"], "card tokenized", "the log was captured")
	require.Contains(t, sources["data/"+ledgerFile], "succeeded", "the ledger was written")
	for name, text := range sources {
		t.Run(name, func(t *testing.T) {
			for _, n := range numbers {
				assert.NotContains(t, text, n)
			}
			assert.Empty(t, cardNumberRE.FindAllString(text, -1), "no 13-19 digit run at all")
		})
	}
}
