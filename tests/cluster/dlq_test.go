//go:build cluster

package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// The dead letters' way home in the cluster (templates/dlq.yaml, docs/RELIABILITY.md): the
// chart's suspended CronJobs, started by hand as a user does, list and replay a dead letter
// with the Kafka address, credentials and NetworkPolicy the chart gives them. The dead
// letter is the confirmation of an order that was already emailed, written onto
// order_confirm-dlq through the email app's own sidecar (a subscriber of order_confirm, so
// one of the topic's two publishers, with the API): the replay redelivers it to both
// subscribers, the email service finds the email sent and sends nothing, the API keeps the
// order confirmed (a `paid` after `confirmed` is old news), and a second replay Job
// replays nothing. (That a replay brings stranded orders home — an outage
// longer than the retry budget, every charged order emailed once afterwards — is
// tests/faults' dead-letter-replay on the local stack; waiting out the cluster's 3.5-minute
// budget here would double the cluster run.)
func TestDeadLetterReplayJobs(t *testing.T) {
	sys := system(t)
	id := placeOrder(t, sys.Web, "China city", "4242424242424242", fmt.Sprintf("cluster-dlq-%d", time.Now().UnixNano()))
	o := stack.WaitFinalAt(t, sys.Web, id, 2*time.Minute)
	require.Equal(t, "confirmed", o.Status)
	stack.Eventually(t, time.Minute, "the email of "+id, func() bool { return len(sys.Mail.Search(t, id)) > 0 })

	// Its confirmation, as transactions publishes it, onto the dead-letter topic.
	var view struct {
		RestaurantName string          `json:"restaurant"`
		Items          json.RawMessage `json:"items"`
		Total          int64           `json:"total"`
		Currency       string          `json:"currency"`
		Card           json.RawMessage `json:"card"`
	}
	stack.Do(t, http.MethodGet, sys.Web+"/api/orders/"+id, nil, nil).JSON(t, &view)
	event, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id + ".charged", "source": "transactions",
		"type": "kafkarestaurants.order.charged.v1", "datacontenttype": "application/json",
		"data": map[string]any{
			"orderId": id, "restaurantName": view.RestaurantName, "email": "dana@example.com",
			"items": view.Items, "total": view.Total, "currency": view.Currency, "card": view.Card,
			"outcome": "paid", "decidedAt": time.Now().UTC().Format(time.RFC3339Nano),
		},
	})
	require.NoError(t, err)
	email := pods(t, appNS, "app.kubernetes.io/name=email")
	require.NotEmpty(t, email)
	sidecar := "http://" + portForward(t, appNS, email[0].Metadata.Name, 3500)
	r := stack.Do(t, http.MethodPost, sidecar+"/v1.0/publish/pubsub/order_confirm-dlq", event, map[string]string{
		"Content-Type":   "application/cloudevents+json",
		"dapr-api-token": secretValue(t, appNS, "email-dapr-api-token", "token"),
	})
	require.Equal(t, http.StatusNoContent, r.Status, "publish to order_confirm-dlq: %s", r.Body)
	emailLog := func() string {
		out, _ := kubectlErr("-n", appNS, "logs", "pod/"+email[0].Metadata.Name, "-c", "email")
		return string(out)
	}
	before := strings.Count(emailLog(), "email already sent; not sending again")

	listed := runJob(t, "dlq-list")
	assert.Contains(t, listed, id+".charged", "dlq-list does not show the dead letter")
	assert.NotContains(t, listed, "4242424242424242", "dlq-list printed a card number")

	replayed := runJob(t, "dlq-replay")
	assert.Contains(t, replayed, "(event "+id+".charged) onto order_confirm", "dlq-replay did not replay the dead letter")
	stack.Eventually(t, time.Minute, "the email service to handle the replayed confirmation", func() bool {
		return strings.Count(emailLog(), "email already sent; not sending again") > before
	})

	again := runJob(t, "dlq-replay")
	assert.Contains(t, again, "0 replayed", "a second replay Job replayed a dead letter again")

	after := stack.Do(t, http.MethodGet, sys.Web+"/api/orders/"+id, nil, map[string]string{"Cache-Control": "no-cache"})
	require.Equal(t, http.StatusOK, after.Status, "%s", after.Body)
	var final stack.Order
	after.JSON(t, &final)
	var steps []string
	for _, s := range final.Timeline {
		steps = append(steps, s.Status)
	}
	assert.Equal(t, "confirmed", final.Status, "the API took the replayed confirmation as news")
	assert.Equal(t, []string{"accepted", "paid", "confirmed"}, steps, "the replay changed the order's timeline")

	assert.Len(t, sys.Mail.Search(t, id), 1, "emails for %s after the replays", id)
	charged := 0
	for _, c := range sys.Bank.Charges(t, id) {
		if c.Status == "succeeded" {
			charged++
		}
	}
	assert.Equal(t, 1, charged, "charges of %s after the replays", id)
}

// runJob starts a Job from one of the chart's suspended CronJobs, as docs/KUBERNETES.md
// tells a user to, waits until it completes and returns its log; the Job is deleted after
// the test.
func runJob(t *testing.T, cronJob string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", cronJob, time.Now().UnixNano()%1e9)
	kubectl(t, "-n", appNS, "create", "job", name, "--from=cronjob/"+cronJob)
	t.Cleanup(func() { _, _ = kubectlErr("-n", appNS, "delete", "job", name, "--wait=false") })
	stack.Eventually(t, 3*time.Minute, "job "+name+" to complete", func() bool {
		var status struct {
			Conditions []struct {
				Type   string `json:"type"`
				Status string `json:"status"`
			} `json:"conditions"`
		}
		out := kubectl(t, "-n", appNS, "get", "job", name, "-o", "jsonpath={.status}")
		require.NoError(t, json.Unmarshal(out, &status))
		for _, c := range status.Conditions {
			switch {
			case c.Type == "Complete" && c.Status == "True":
				return true
			case c.Type == "Failed" && c.Status == "True":
				logs, _ := kubectlErr("-n", appNS, "logs", "job/"+name)
				t.Fatalf("job %s failed: %s", name, logs)
			}
		}
		return false
	})
	logs := string(kubectl(t, "-n", appNS, "logs", "job/"+name))
	t.Logf("%s:\n%s", name, logs)
	return logs
}
