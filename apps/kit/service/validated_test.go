package service

import (
	"context"
	"errors"
	"testing"

	"github.com/dapr/go-sdk/service/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidatedTopic(t *testing.T) {
	errBad := errors.New("malformed event: bad orderId")
	validate := func(data []byte) (Validated, error) {
		if string(data) == "bad" {
			return Validated{}, errBad
		}
		return Validated{ID: "ord_1", Tags: map[string]string{"order.id": "ord_1"}}, nil
	}
	cases := []struct {
		name       string
		id, data   string
		wantCalled bool
		wantID     string
		wantErr    error
	}{
		{"valid, the expected id", "ord_1", "ok", true, "ord_1", nil},
		{"valid, another envelope id: kept out of the records", "4242424242424242", "ok", true, "", nil},
		{"invalid: blanked and dropped with the safe reason", "4242424242424242", "bad", false, "", errBad},
	}
	rec := recordSpans(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.ended())
			var seen *common.TopicEvent
			h := ValidatedTopic("order", validate, func(_ context.Context, e *common.TopicEvent) (bool, error) {
				seen = e
				return false, nil
			})
			e := &common.TopicEvent{ID: tc.id, Topic: "order", RawData: []byte(tc.data)}
			retry, err := h(context.Background(), e)
			assert.False(t, retry)
			assert.Equal(t, tc.wantErr, err)
			assert.Equal(t, tc.wantCalled, seen != nil)
			assert.Equal(t, tc.wantID, e.ID)
			spans := rec.ended()[before:]
			require.Len(t, spans, 1)
			if !tc.wantCalled {
				require.Empty(t, e.RawData, "an invalid event's data is blanked before anything records it")
				assert.Empty(t, e.Topic)
				assert.Empty(t, attr(spans[0], "order.id"), "an invalid event's span gets no tag")
			} else {
				assert.Equal(t, "ord_1", attr(spans[0], "order.id"), "the validation's tags go on the consumer span")
			}
		})
	}
}
