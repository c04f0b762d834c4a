package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// HTTP is the client tests use; it keeps connections.
var HTTP = &http.Client{Timeout: 15 * time.Second}

// Response is an HTTP answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// Do sends a request and reads the answer.
func Do(t testing.TB, method, u string, body []byte, header map[string]string) Response {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	must(t, err, "request")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := HTTP.Do(req)
	must(t, err, "%s %s", method, u)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err, "read body")
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Order is an order as GET /api/orders/{id} returns it.
type Order struct {
	OrderID  string `json:"orderId"`
	Status   string `json:"status"`
	Final    bool   `json:"final"`
	Total    int64  `json:"total"`
	Refunded bool   `json:"refunded"`
	Timeline []struct {
		Status string    `json:"status"`
		At     time.Time `json:"at"`
		Detail string    `json:"detail"`
	} `json:"timeline"`
}

// PlaceOrder posts an order through nginx and returns the answer.
func PlaceOrder(t testing.TB, body string, header map[string]string) Response {
	t.Helper()
	return Do(t, http.MethodPost, WebURL+"/api/orders", []byte(body), header)
}

// WaitFinal polls the order's status through nginx until it is final.
func WaitFinal(t testing.TB, id string, timeout time.Duration) Order {
	t.Helper()
	return WaitFinalAt(t, WebURL, id, timeout)
}

// WaitFinalAt is WaitFinal through the website at base (a cluster's frontend Service).
func WaitFinalAt(t testing.TB, base, id string, timeout time.Duration) Order {
	t.Helper()
	var o Order
	Eventually(t, timeout, "order "+id+" to reach a final status", func() bool {
		r := Do(t, http.MethodGet, base+"/api/orders/"+url.PathEscape(id), nil, nil)
		if r.Status != http.StatusOK {
			return false
		}
		r.JSON(t, &o)
		return o.Final
	})
	return o
}

// Mailpit reads mailpit's REST API.
type Mailpit struct{ URL string }

// Message is an email as mailpit lists it.
type Message struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	To      []struct {
		Address string `json:"Address"`
	} `json:"To"`
	Snippet string `json:"Snippet"`
}

// Search returns the messages matching a mailpit search query.
func (m *Mailpit) Search(t testing.TB, query string) []Message {
	t.Helper()
	r := Do(t, http.MethodGet, m.URL+"/api/v1/search?limit=1000&query="+url.QueryEscape(query), nil, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("mailpit search: %d %s", r.Status, r.Body)
	}
	var res struct {
		Messages []Message `json:"messages"`
	}
	r.JSON(t, &res)
	return res.Messages
}

// All returns every message.
func (m *Mailpit) All(t testing.TB) []Message {
	t.Helper()
	r := Do(t, http.MethodGet, m.URL+"/api/v1/messages?limit=100000", nil, nil)
	var res struct {
		Messages []Message `json:"messages"`
	}
	r.JSON(t, &res)
	return res.Messages
}

// Body returns a message's text.
func (m *Mailpit) Body(t testing.TB, id string) string {
	t.Helper()
	r := Do(t, http.MethodGet, m.URL+"/api/v1/message/"+url.PathEscape(id), nil, nil)
	var res struct {
		Text string `json:"Text"`
		HTML string `json:"HTML"`
	}
	r.JSON(t, &res)
	return res.Text + "\n" + res.HTML
}

// Bank reads the bank's ledger and sets its faults.
type Bank struct{ URL string }

// Charge is one ledger entry.
type Charge struct {
	ID      string `json:"id"`
	OrderID string `json:"orderId"`
	Status  string `json:"status"`
	Amount  int64  `json:"amount"`
}

// Charges returns the ledger's charges, for one order when orderID is set.
func (b *Bank) Charges(t testing.TB, orderID string) []Charge {
	t.Helper()
	u := b.URL + "/v1/ledger"
	if orderID != "" {
		u += "?orderId=" + url.QueryEscape(orderID)
	}
	r := Do(t, http.MethodGet, u, nil, nil)
	var res struct {
		Charges []Charge `json:"charges"`
	}
	r.JSON(t, &res)
	return res.Charges
}

// SetFaults changes the bank's fault injection at run time.
func (b *Bank) SetFaults(t testing.TB, faults map[string]any) {
	t.Helper()
	body, _ := json.Marshal(faults)
	r := Do(t, http.MethodPut, b.URL+"/v1/admin/faults", body, nil)
	if r.Status/100 != 2 {
		t.Fatalf("set bank faults: %d %s", r.Status, r.Body)
	}
}

// Record is one Kafka record.
type Record struct {
	Topic     string
	Partition int32
	Key       []byte
	Value     []byte
}

// ReadTopic returns every record of topic from the beginning, read with a real Kafka client.
func ReadTopic(t testing.TB, topic string) []Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(Broker), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	must(t, err, "kafka client")
	defer cl.Close()
	ctx := context.Background()
	// Read until the high-water marks seen at the start are reached.
	ends := highWater(t, cl, topic)
	var recs []Record
	got := map[int32]int64{}
	deadline := time.Now().Add(15 * time.Second)
	for !reached(got, ends) && time.Now().Before(deadline) {
		fctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(fctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			recs = append(recs, Record{Topic: r.Topic, Partition: r.Partition, Key: r.Key, Value: r.Value})
			got[r.Partition] = r.Offset + 1
		})
	}
	return recs
}

func reached(got, ends map[int32]int64) bool {
	for p, end := range ends {
		if got[p] < end {
			return false
		}
	}
	return true
}
