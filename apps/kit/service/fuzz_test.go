package service

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dapr/go-sdk/service/common"
)

// FuzzTopicHandler delivers arbitrary bodies: the answer is always a 200 with one of the
// three statuses daprd understands, never a panic or a 404, and a body that does not start
// with a JSON object never reaches the handler.
func FuzzTopicHandler(f *testing.F) {
	f.Add([]byte(cloudEvent))
	f.Add([]byte(`{"id":"x","data_base64":"eyJhIjoxfQ=="}`))
	f.Add([]byte(`{"id":"x","data":"{\"a\":1}"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, body []byte) {
		called := false
		h := TopicHandler(log, func(_ context.Context, e *common.TopicEvent) (bool, error) {
			called = true
			if len(e.RawData) > 0 && !json.Valid(e.RawData) {
				return false, io.ErrUnexpectedEOF
			}
			return len(e.RawData)%2 == 0, nil
		})
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodPost, "/events/order", strings.NewReader(string(body))))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		var ans struct{ Status string }
		if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
			t.Fatalf("answer %q is not JSON", rec.Body.String())
		}
		switch ans.Status {
		case "SUCCESS", "RETRY", "DROP":
		default:
			t.Fatalf("status %q", ans.Status)
		}
		var first map[string]any
		if called && json.NewDecoder(strings.NewReader(string(body))).Decode(&first) != nil {
			t.Fatalf("handler called for a body that does not start with a JSON object: %q", body)
		}
	})
}

// FuzzRedact: whatever the input, the output holds no Luhn-valid run of 13 to 19 digits,
// keeps its length (only digits turn into '*') and changes nothing when there is none.
func FuzzRedact(f *testing.F) {
	f.Add("card 4242424242424242 refused")
	f.Add("4242 4242 4242 4242 4111 1111 1111 1111")
	f.Add("2026-11-27T18:00:00Z order ord_01jd8xq3v7k2m9p4r6t8w0y2za total 1300")
	f.Add("0000000000000000000000000000000000000000")
	f.Fuzz(func(t *testing.T, s string) {
		got := Redact(s)
		if len(got) != len(s) {
			t.Fatalf("length changed: %q → %q", s, got)
		}
		for i := 0; i < len(s); i++ {
			if got[i] != s[i] && (got[i] != '*' || !isDigit(s[i])) {
				t.Fatalf("byte %d changed from %q to %q", i, s[i], got[i])
			}
		}
		if runs := cardRuns(got); len(runs) > 0 {
			t.Fatalf("Redact(%q) = %q still holds %v", s, got, runs)
		}
		if len(cardRuns(s)) == 0 && got != s {
			t.Fatalf("Redact(%q) = %q changed a string with no card number", s, got)
		}
	})
}
