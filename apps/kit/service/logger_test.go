package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/card/cardtest"
)

func TestNewLoggerRedactsEveryKindOfValue(t *testing.T) {
	card := cardtest.WithCheckDigit("400000000000000")
	type payload struct {
		Number string `json:"number"`
	}
	tests := []struct {
		name string
		log  func(l interface {
			Info(string, ...any)
		})
	}{
		{"message", func(l interface{ Info(string, ...any) }) { l.Info("charging " + card) }},
		{"string attribute", func(l interface{ Info(string, ...any) }) { l.Info("x", "card", card) }},
		{"error attribute", func(l interface{ Info(string, ...any) }) {
			l.Info("x", "error", fmt.Errorf("bank: %w", errors.New("card "+card+" refused")))
		}},
		{"integer attribute", func(l interface{ Info(string, ...any) }) {
			var n int64
			_, _ = fmt.Sscan(card, &n)
			l.Info("x", "number", n)
		}},
		{"struct attribute", func(l interface{ Info(string, ...any) }) { l.Info("x", "body", payload{Number: card}) }},
		{"grouped attribute", func(l interface{ Info(string, ...any) }) {
			l.Info("x", "req", map[string]string{"creditCard": card})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, buf := testLogger(t)
			tc.log(log)
			out := buf.String()
			require.NotEmpty(t, out)
			var line map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &line), "one JSON line")
			assert.Equal(t, "test", line["service"])
			assert.NotContains(t, out, card[:12])
			assert.Empty(t, cardtest.Runs(out))
			assert.Contains(t, out, card[12:], "the last four digits stay for support")
		})
	}
}

func TestNewLoggerLeavesOrdinaryValuesAlone(t *testing.T) {
	log, buf := testLogger(t)
	log.Info("order accepted", "orderId", "ord_01jd8xq3v7k2m9p4r6t8w0y2za", "total", 1300, "at", "2026-11-27T18:00:00Z")
	out := buf.String()
	for _, want := range []string{"ord_01jd8xq3v7k2m9p4r6t8w0y2za", `"total":1300`, "2026-11-27T18:00:00Z"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, strings.ToLower(out), "***")
}
