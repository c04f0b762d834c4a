// Command dlq lists and replays the dead-letter topics (order-dlq, order_confirm-dlq,
// order_notified-dlq).
//
//	dlq list                      every dead-lettered event, oldest first
//	dlq replay [-id EVENT_ID]     put events back on the topic they came from
//
// Dapr dead-letters an event as it was delivered (the whole CloudEvent), so a replay writes
// that CloudEvent back onto its source topic, keyed by its order id, where the consumer
// handles it again (its effects are idempotent). Replays are remembered in the consumer
// group kafka-restaurants-dlq-replay: each dead letter is replayed at most once.
//
// Locally it talks to the stack's broker (127.0.0.1:9092). In a cluster the chart runs it as
// a Job (helm/kafka-restaurants/templates/dlq.yaml) with the brokers' address, and for a
// Kafka with TLS and SCRAM users: -tls, -tls-ca (a PEM file; default the system roots),
// -sasl SCRAM-SHA-512 -user NAME, and the password in $KAFKA_PASSWORD (never a flag, so
// it shows in no process list).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/card"
)

// dlqTopics maps each dead-letter topic to the topic its events came from.
var dlqTopics = map[string]string{"order-dlq": "order", "order_confirm-dlq": "order_confirm", "order_notified-dlq": "order_notified"}

const replayGroup = "kafka-restaurants-dlq-replay"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dlq:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: dlq list|replay [-brokers 127.0.0.1:9092] [-topic order-dlq] [-id EVENT_ID] [-tls] [-tls-ca FILE] [-sasl SCRAM-SHA-512 -user NAME]")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("dlq "+cmd, flag.ContinueOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	topic := fs.String("topic", "", "one dead-letter topic (default: all)")
	id := fs.String("id", "", "replay only the event with this CloudEvent id")
	useTLS := fs.Bool("tls", false, "connect to the brokers with TLS")
	caFile := fs.String("tls-ca", "", "PEM file of the CA that signed the brokers' certificates (default: the system roots; implies -tls)")
	mechanism := fs.String("sasl", "", "SASL mechanism: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN (password in $KAFKA_PASSWORD)")
	user := fs.String("user", "", "SASL user name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	conn, err := connection(strings.Split(*brokers, ","), *useTLS || *caFile != "", *caFile, *mechanism, *user, getenv("KAFKA_PASSWORD"))
	if err != nil {
		return err
	}
	topics := []string{"order-dlq", "order_confirm-dlq", "order_notified-dlq"}
	if *topic != "" {
		if _, ok := dlqTopics[*topic]; !ok {
			return fmt.Errorf("unknown dead-letter topic %q", *topic)
		}
		topics = []string{*topic}
	}
	switch cmd {
	case "list":
		letters, err := read(ctx, conn, topics, "")
		if err != nil {
			return err
		}
		return list(out, letters)
	case "replay":
		return replay(ctx, conn, topics, *id, out)
	default:
		return fmt.Errorf("unknown command %q (list, replay)", cmd)
	}
}

// connection is how every client of a run reaches the brokers: their addresses, TLS, SASL.
func connection(seeds []string, useTLS bool, caFile, mechanism, user, password string) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...)}
	if useTLS {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, fmt.Errorf("tls-ca: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tls-ca: no PEM certificate in %s", caFile)
			}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if mechanism == "" {
		if user != "" {
			return nil, errors.New("-user needs -sasl")
		}
		return opts, nil
	}
	if user == "" || password == "" {
		return nil, fmt.Errorf("-sasl %s needs -user and $KAFKA_PASSWORD", mechanism)
	}
	switch strings.ToUpper(mechanism) {
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha256Mechanism()))
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: password}.AsMechanism()))
	default:
		return nil, fmt.Errorf("unknown SASL mechanism %q (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN)", mechanism)
	}
	return opts, nil
}

// letter is one dead-lettered event.
type letter struct {
	Topic     string
	Partition int32
	Offset    int64
	Time      time.Time
	Key       []byte
	Value     []byte
	EventID   string
	Type      string
}

// read returns every record of the topics up to their current end. With group set it
// starts after that group's committed offsets (what was not replayed yet).
func read(ctx context.Context, conn []kgo.Opt, topics []string, group string) ([]letter, error) {
	opts := append(append([]kgo.Opt(nil), conn...), kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if group != "" {
		opts = append(opts, kgo.ConsumerGroup(group), kgo.DisableAutoCommit())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	start := map[string]map[int32]int64{}
	if group != "" {
		committed, err := adm.FetchOffsets(ctx, group)
		if err == nil {
			committed.Each(func(o kadm.OffsetResponse) {
				if start[o.Topic] == nil {
					start[o.Topic] = map[int32]int64{}
				}
				start[o.Topic][o.Partition] = o.At
			})
		}
	}
	remaining := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > start[o.Topic][o.Partition] {
			remaining += int(o.Offset - start[o.Topic][o.Partition])
		}
	})
	var letters []letter
	for remaining > 0 {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errs := fetches.Errors(); len(errs) > 0 && !errors.Is(errs[0].Err, context.DeadlineExceeded) {
			return nil, errs[0].Err
		}
		if fetches.Empty() {
			break
		}
		fetches.EachRecord(func(r *kgo.Record) {
			remaining--
			var ce struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			}
			_ = json.Unmarshal(r.Value, &ce)
			letters = append(letters, letter{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Time: r.Timestamp,
				Key: r.Key, Value: r.Value, EventID: ce.ID, Type: ce.Type})
		})
	}
	return letters, nil
}

func list(out io.Writer, letters []letter) error {
	if len(letters) == 0 {
		_, err := fmt.Fprintln(out, "no dead letters")
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TOPIC\tOFFSET\tTIME\tEVENT ID\tTYPE\tDATA")
	for _, l := range letters {
		preview := card.Redact(string(l.Value))
		if len(preview) > 80 {
			preview = preview[:80] + "…"
		}
		fmt.Fprintf(w, "%s\t%d/%d\t%s\t%s\t%s\t%s\n", l.Topic, l.Partition, l.Offset, l.Time.UTC().Format(time.RFC3339), l.EventID, l.Type, preview)
	}
	return w.Flush()
}

// replay writes each not-yet-replayed dead letter (or only the one with id) back onto its
// source topic and commits it in the replay group.
func replay(ctx context.Context, conn []kgo.Opt, topics []string, id string, out io.Writer) error {
	letters, err := read(ctx, conn, topics, replayGroup)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(conn...)
	if err != nil {
		return err
	}
	defer cl.Close()
	commits := kadm.Offsets{}
	n := 0
	for _, l := range letters {
		if id == "" || l.EventID == id {
			rec := &kgo.Record{Topic: dlqTopics[l.Topic], Key: l.Key, Value: l.Value}
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				return fmt.Errorf("replay %s/%d: %w", l.Topic, l.Offset, err)
			}
			fmt.Fprintf(out, "replayed %s %d/%d (event %s) onto %s\n", l.Topic, l.Partition, l.Offset, l.EventID, rec.Topic)
			n++
		}
		commits.AddOffset(l.Topic, l.Partition, l.Offset+1, -1)
	}
	if id != "" && n == 0 {
		return fmt.Errorf("no unreplayed dead letter with event id %q", id)
	}
	if len(commits) > 0 && id == "" {
		if _, err := kadm.NewClient(cl).CommitOffsets(ctx, replayGroup, commits); err != nil {
			return fmt.Errorf("remember replays: %w", err)
		}
	}
	fmt.Fprintf(out, "%d replayed\n", n)
	return nil
}
