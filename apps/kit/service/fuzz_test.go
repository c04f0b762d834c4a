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
