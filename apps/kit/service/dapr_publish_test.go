package service

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type recordingPublisher struct {
	pubsub, topic string
	data          []byte
	req           pb.PublishEventRequest
	err           error
}

func (p *recordingPublisher) PublishEvent(_ context.Context, pubsub, topic string, data any, opts ...dapr.PublishEventOption) error {
	p.pubsub, p.topic = pubsub, topic
	p.data, _ = data.([]byte)
	for _, o := range opts {
		o(&p.req)
	}
	return p.err
}

func TestPublishJSON(t *testing.T) {
	p := &recordingPublisher{}
	e := Event{PubSub: "pubsub", Topic: "order_notified", ID: "ord_1.notified", Type: "x.notified.v1", PartitionKey: "ord_1"}
	require.NoError(t, PublishJSON(context.Background(), p, e, map[string]any{"orderId": "ord_1", "total": 1300}))
	assert.Equal(t, "pubsub", p.pubsub)
	assert.Equal(t, "order_notified", p.topic)
	assert.Equal(t, "application/json", p.req.DataContentType)
	assert.Equal(t, map[string]string{"cloudevent.id": "ord_1.notified", "cloudevent.type": "x.notified.v1", "partitionKey": "ord_1"}, p.req.Metadata)
	var got map[string]any
	require.NoError(t, json.Unmarshal(p.data, &got), "the data is JSON, not a JSON string")
	assert.Equal(t, "ord_1", got["orderId"])

	p.err = errors.New("broker down")
	assert.ErrorIs(t, PublishJSON(context.Background(), p, e, 1), p.err)
	assert.Error(t, PublishJSON(context.Background(), p, e, func() {}), "a value that is not JSON is refused before any publish")
}
