package stack

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Produce writes raw records onto a topic with a real Kafka client, as another producer
// (or a misbehaving one) would: tests use it to redeliver an event or inject a poison one.
func Produce(t testing.TB, topic string, key, value []byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(Broker), kgo.DefaultProduceTopic(topic))
	must(t, err, "kafka client")
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	must(t, cl.ProduceSync(ctx, &kgo.Record{Key: key, Value: value}).FirstErr(), "produce to %s", topic)
}
