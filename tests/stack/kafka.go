package stack

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// highWater returns the end offset of every partition of topic.
func highWater(t testing.TB, cl *kgo.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	must(t, err, "list end offsets of %s", topic)
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			out[o.Partition] = o.Offset
		}
	})
	return out
}

// TopicSize is the number of records in topic.
func TopicSize(t testing.TB, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(Broker))
	must(t, err, "kafka client")
	defer cl.Close()
	var n int64
	for _, end := range highWater(t, cl, topic) {
		n += end
	}
	return n
}
