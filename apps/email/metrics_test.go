package main

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// Each send is timed under its outcome: sent, or error.
func TestTimedMailerRecordsEachSendByOutcome(t *testing.T) {
	m := service.NewMetrics()
	mail := &fakeMailer{}
	timed := newTimedMailer(mail, m)
	require.NoError(t, timed.Send(context.Background(), message{}))
	require.NoError(t, timed.Send(context.Background(), message{}))
	mail.err = errors.New("421 try again later")
	require.Error(t, timed.Send(context.Background(), message{}))

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), `kafkarestaurants_email_send_duration_seconds_count{outcome="sent"} 2`+"\n")
	assert.Contains(t, string(body), `kafkarestaurants_email_send_duration_seconds_count{outcome="error"} 1`+"\n")
}
