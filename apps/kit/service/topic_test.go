package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dapr/go-sdk/service/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingHandler is a topic handler that answers as told and records what it got.
type recordingHandler struct {
	retry bool
	err   error
	calls []*common.TopicEvent
}

func (h *recordingHandler) handle(_ context.Context, e *common.TopicEvent) (bool, error) {
	h.calls = append(h.calls, e)
	return h.retry, h.err
}

// deliver posts body to a TopicHandler mounted on the services' real router, as daprd does.
func deliver(t *testing.T, h *recordingHandler, body string, header http.Header) (int, string) {
	t.Helper()
	log, _ := testLogger(t)
	r := NewRouter(log, "", func(context.Context) error { return nil })
	r.Post("/events/order", TopicHandler(log, h.handle))
	req := httptest.NewRequest(http.MethodPost, "/events/order", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	var ans struct {
		Status string `json:"status"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ans), "body %q", rec.Body.String())
	return rec.Code, ans.Status
}

const cloudEvent = `{"id":"ord_01","specversion":"1.0","type":"kafkarestaurants.order.placed.v1","source":"api",
"datacontenttype":"application/json","topic":"order","pubsubname":"pubsub","data":{"orderId":"ord_01","total":1300}}`

func TestTopicHandlerMapsTheHandlersAnswer(t *testing.T) {
	tests := []struct {
		name       string
		retry      bool
		err        error
		wantStatus string
	}{
		{"nil is success", false, nil, "SUCCESS"},
		{"retry with an error is retry", true, errors.New("bank down"), "RETRY"},
		{"an error without retry is drop", false, errors.New("malformed"), "DROP"},
		{"retry without an error is still success", true, nil, "SUCCESS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &recordingHandler{retry: tc.retry, err: tc.err}
			code, status := deliver(t, h, cloudEvent, nil)
			assert.Equal(t, http.StatusOK, code, "daprd reads 404 as drop; the answer is always 200")
			assert.Equal(t, tc.wantStatus, status)
			require.Len(t, h.calls, 1)
			assert.Equal(t, "ord_01", h.calls[0].ID)
			assert.Equal(t, "order", h.calls[0].Topic)
		})
	}
}

func TestTopicHandlerDropsWhatIsNotACloudEvent(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"empty body", ""},
		{"not JSON", "hello"},
		{"a JSON array", `[1,2]`},
		{"a JSON number", `42`},
		{"truncated", cloudEvent[:40]},
		{"metadata of the wrong type", `{"id":"x","metadata":{"a":1},"data":{}}`},
		{"bad base64", `{"id":"x","data_base64":"%%%"}`},
		{"over a mebibyte", `{"id":"x","data":"` + strings.Repeat("a", maxEventBytes) + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &recordingHandler{}
			code, status := deliver(t, h, tc.body, nil)
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, "DROP", status)
			assert.Empty(t, h.calls, "the handler never sees an undecodable event")
		})
	}
}

func TestTopicHandlerPassesTheDataAsPublished(t *testing.T) {
	payload := `{"orderId":"ord_01","total":1300}`
	tests := []struct {
		name string
		data string
	}{
		{"JSON object data stays raw", `"data":` + payload},
		{"JSON string data holding JSON is unwrapped", `"data":` + jsonString(payload)},
		{"data_base64 is decoded", `"data_base64":"` + base64.StdEncoding.EncodeToString([]byte(payload)) + `"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &recordingHandler{}
			_, status := deliver(t, h, `{"id":"ord_01","topic":"order",`+tc.data+`}`, nil)
			assert.Equal(t, "SUCCESS", status)
			require.Len(t, h.calls, 1)
			assert.JSONEq(t, payload, string(h.calls[0].RawData))
		})
	}
}

func TestTopicHandlerCarriesTheTraceparent(t *testing.T) {
	const fromHeader = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	const fromEvent = "00-11111111111111111111111111111111-2222222222222222-01"
	tests := []struct {
		name, body, want string
	}{
		{"from the header when the event has none", cloudEvent, fromHeader},
		{"the event's own wins", strings.Replace(cloudEvent, `"id":"ord_01"`, `"id":"ord_01","traceparent":"`+fromEvent+`"`, 1), fromEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &recordingHandler{}
			deliver(t, h, tc.body, http.Header{"Traceparent": {fromHeader}})
			require.Len(t, h.calls, 1)
			assert.Equal(t, tc.want, h.calls[0].TraceParent)
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
