// Command broker is the local Kafka: an in-process, Kafka-protocol broker (franz-go's kfake)
// on 127.0.0.1 (or, with -listen and -advertise, in a pod behind a Service) that Dapr's pubsub.kafka component (Sarama) talks to as it would to a real
// cluster. It creates the topics the system uses up front, optionally keeps its log in a
// data directory so messages survive a restart, and stops cleanly on SIGINT or SIGTERM.
//
//	broker -port 9092 -topics order:12,order_confirm:12,order_notified:12,order-dlq:1,order_confirm-dlq:1,order_notified-dlq:1 -data .data/kafka
//
// With -tls-cert/-tls-key it serves TLS, and with -users it requires SCRAM-SHA-512 and
// enforces each user's ACLs, as the cluster's tls listener does (auth.go; tests/kafkatls).
//
// With -admin 127.0.0.1:9644 (or BROKER_ADMIN in its environment, which is how a devstack
// run turns it on without another run file) it also serves a fault endpoint for tests:
// POST /outage?for=20s makes the broker unreachable, DELETE /outage ends that, GET /offsets
// reports per-topic end offsets (see admin.go); POST /produce-hang?for=10s holds every
// Produce request unanswered until the hang ends, then appends it (hang.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultTopics are the topics of the order chain and their dead-letter topics.
const DefaultTopics = "order:12,order_confirm:12,order_notified:12,order-dlq:1,order_confirm-dlq:1,order_notified-dlq:1"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("service", "broker")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, log, os.Args[1:])
	stop()
	if err != nil {
		log.Error("broker stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	port := fs.Int("port", 9092, "port to listen on (127.0.0.1)")
	topics := fs.String("topics", DefaultTopics, "topics to create, as name:partitions,...")
	data := fs.String("data", "", "directory to persist the log in (empty: memory only)")
	host := fs.String("listen", "127.0.0.1", "address to bind (0.0.0.0 in a pod)")
	advertise := fs.String("advertise", "", "host name clients are told to connect to (empty: the bound address); in a cluster, the broker's Service name")
	adminAddr := fs.String("admin", os.Getenv("BROKER_ADMIN"), "loopback address of the fault/offsets endpoint for tests (empty: off; default $BROKER_ADMIN)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate (chain) to serve TLS with (empty: plaintext)")
	tlsKey := fs.String("tls-key", "", "PEM private key of -tls-cert")
	users := fs.String("users", "", "JSON file of SCRAM-SHA-512 users and their ACLs, shaped like Strimzi KafkaUsers (auth.go): SASL required and ACLs enforced (empty: no authentication)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := validHost(*host); err != nil {
		return err
	}
	opts, err := clusterOptions(*port, *topics, *data)
	if err != nil {
		return err
	}
	auth, err := authOptions(*tlsCert, *tlsKey, *users)
	if err != nil {
		return err
	}
	opts = append(opts, auth...)
	listen := listener(*host, *advertise, net.Listen)
	var g *gate
	if *adminAddr != "" {
		g = newGate(listen)
		listen = g.Listen
	}
	opts = append(opts, kfake.ListenFn(listen))
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start broker on port %d: %w", *port, err)
	}
	defer c.Close()
	if g != nil {
		hang := &produceHang{}
		c.ControlKey(int16(kmsg.Produce), hang.control(c))
		stopAdmin, err := serveAdmin(*adminAddr, &admin{gate: g, hang: hang, cluster: c, topics: topicNames(*topics), log: log})
		if err != nil {
			return err
		}
		defer stopAdmin()
	}
	log.Info("broker ready", "addrs", c.ListenAddrs(), "topics", *topics, "data", *data)
	<-ctx.Done()
	log.Info("broker stopping")
	return nil
}

// clusterOptions turns the flags into kfake options. Dead-letter topics are created like the
// others; auto-creation stays on for topics Dapr makes itself.
func clusterOptions(port int, topics, dataDir string) ([]kfake.Opt, error) {
	opts := []kfake.Opt{
		kfake.Ports(port),
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(3),
		kfake.ClusterID("kafka-restaurants-local"),
	}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	for _, spec := range strings.Split(topics, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		name, parts, ok := strings.Cut(spec, ":")
		n, err := strconv.Atoi(parts)
		if !ok || name == "" || err != nil || n < 1 {
			return nil, errors.New("bad -topics entry " + strconv.Quote(spec) + ": want name:partitions")
		}
		opts = append(opts, kfake.SeedTopics(int32(n), name))
	}
	return opts, nil
}

// topicNames lists the topic names of a -topics value.
func topicNames(spec string) []string {
	var out []string
	for _, t := range strings.Split(spec, ",") {
		if name, _, _ := strings.Cut(strings.TrimSpace(t), ":"); name != "" {
			out = append(out, name)
		}
	}
	return out
}
