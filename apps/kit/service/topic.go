package service

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"

	"github.com/dapr/go-sdk/service/common"
)

// Dapr's answers to a delivered event. SUCCESS acknowledges it, RETRY asks for redelivery
// (under the subscription's resiliency policy) and DROP sends it to the dead-letter topic.
const (
	statusSuccess = "SUCCESS"
	statusRetry   = "RETRY"
	statusDrop    = "DROP"
)

// maxEventBytes bounds one delivered CloudEvent; anything larger is dropped to dead letter.
const maxEventBytes = 1 << 20

// TopicHandler adapts a go-sdk topic handler to a plain HTTP route that daprd calls for a
// declarative subscription. The handler's answer maps as in the go-sdk: nil → SUCCESS,
// retry → RETRY, an error without retry → DROP. A body that is not a CloudEvent is dropped
// (it would never parse on a redelivery either). The answer is always a 200 with a status,
// never a 404, which daprd would take as "drop".
func TopicHandler(log *slog.Logger, h common.TopicEventHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l := Logger(r.Context(), log)
		raw, err := io.ReadAll(io.LimitReader(r.Body, maxEventBytes+1))
		if err != nil {
			writeStatus(w, statusRetry)
			return
		}
		ev, err := decodeCloudEvent(raw)
		if err != nil || len(raw) > maxEventBytes {
			l.WarnContext(r.Context(), "dropping undecodable event", "path", r.URL.Path, "bytes", len(raw))
			writeStatus(w, statusDrop)
			return
		}
		if ev.TraceParent == "" {
			ev.TraceParent = r.Header.Get("traceparent")
		}
		retry, err := h(r.Context(), ev)
		switch {
		case err == nil:
			writeStatus(w, statusSuccess)
		case retry:
			l.WarnContext(r.Context(), "event will be redelivered", "topic", ev.Topic, "eventId", ev.ID, "error", err)
			writeStatus(w, statusRetry)
		default:
			l.ErrorContext(r.Context(), "event dropped to dead letter", "topic", ev.Topic, "eventId", ev.ID, "error", err)
			writeStatus(w, statusDrop)
		}
	}
}

func writeStatus(w http.ResponseWriter, status string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"`+status+`"}`)
}

// decodeCloudEvent reads a structured CloudEvent as daprd delivers it. RawData holds the
// data exactly as published (JSON data stays JSON; data_base64 is decoded).
func decodeCloudEvent(raw []byte) (*common.TopicEvent, error) {
	var env struct {
		common.TopicEvent
		Data json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return nil, err
	}
	ev := env.TopicEvent
	switch {
	case ev.DataBase64 != "":
		b, err := base64.StdEncoding.DecodeString(ev.DataBase64)
		if err != nil {
			return nil, err
		}
		ev.RawData = b
		ev.Data = b
	case len(env.Data) > 0:
		ev.RawData = env.Data
		// JSON data stays raw; a JSON string holding JSON (how some publishers send it) is unwrapped.
		var s string
		if env.Data[0] == '"' && json.Unmarshal(env.Data, &s) == nil {
			ev.RawData = []byte(s)
		}
		ev.Data = ev.RawData
	}
	return &ev, nil
}
