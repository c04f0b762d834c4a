package order

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"ord_01jd8xq3v7k2m9p4r6t8w0y2za", true},
		{"ord_0123456789", true},
		{"ord_012345678", false},
		{"ord_" + strings.Repeat("a", 41), false},
		{"ORD_01jd8xq3v7k2m9p4r6t8w0y2za", false},
		{"ord_01jd8xq3v7k2m9p4r6t8w0y2z/", false},
		{"ord_01jd8xq3v7k2m9p4r6t8w0y2za\n", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) { assert.Equal(t, tc.want, ValidID(tc.id)) })
	}
}

func TestValidateEmail(t *testing.T) {
	tests := []struct {
		email string
		ok    bool
	}{
		{"dana@example.com", true},
		{"dana.levi+food@mail.example.co.il", true},
		{"a@b.io", true},
		{"", false},
		{"dana", false},
		{"dana@", false},
		{"@example.com", false},
		{"dana@localhost", false},
		{"dana@example.com.", false},
		{"a@b.com;c@d.com", false},
		{"a@b.com,c@d.com", false},
		{"a@b.com c@d.com", false},
		{"Dana <dana@example.com>", false},
		{"<dana@example.com>", false},
		{`"Dana"@example.com`, false},
		{"dana@example.com\r\nBcc: eve@example.com", false},
		{"dana@example.com\n", false},
		{"dana\t@example.com", false},
		{"dana@exa mple.com", false},
		{"dana@@example.com", false},
		{"dana@example.com (Dana)", false},
		{strings.Repeat("a", 243) + "@example.com", false},
		{strings.Repeat("a", 60) + "@" + strings.Repeat("b", 180) + ".com", true},
	}
	for _, tc := range tests {
		t.Run(tc.email, func(t *testing.T) {
			err := ValidateEmail(tc.email)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestStepsReadTheLifeFromTheFacts(t *testing.T) {
	placed := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	details := Details{RestaurantName: "China city", PlacedAt: placed}
	paid := &Charge{Outcome: OutcomePaid, ChargeID: "ch_1", DecidedAt: placed.Add(time.Second)}
	declined := &Charge{Outcome: OutcomeDeclined, Reason: "card_declined", DecidedAt: placed.Add(time.Second)}
	refunded := &Charge{Outcome: OutcomeFailed, Reason: "payment_error", ChargeID: "ch_1", RefundID: "re_1234", DecidedAt: placed.Add(time.Second)}
	sent := &Notice{Delivery: DeliverySent, NotifiedAt: placed.Add(2 * time.Second)}
	rejected := &Notice{Delivery: DeliveryRejected, SMTPCode: "550", NotifiedAt: placed.Add(2 * time.Second)}
	early := &Notice{Delivery: DeliverySent, NotifiedAt: placed.Add(-time.Hour)} // a clock behind

	tests := []struct {
		name    string
		charge  *Charge
		notice  *Notice
		want    Status
		details []string
	}{
		{"just placed", nil, nil, StatusAccepted, []string{""}},
		{"paid", paid, nil, StatusPaid, []string{"", ""}},
		{"paid and emailed", paid, sent, StatusConfirmed, []string{"", "", "email sent"}},
		{"declined and emailed", declined, sent, StatusNotifiedDeclined, []string{"", "card_declined", "email sent"}},
		{"refunded and emailed", refunded, sent, StatusNotifiedFailed, []string{"", "payment_error; charge refunded", "email sent"}},
		{"email refused", paid, rejected, StatusEmailRejected, []string{"", "", "the mail server refused the email (550)"}},
		{"a notice without its decision waits for it", nil, sent, StatusAccepted, []string{""}},
		{"a step is never before the one it follows", paid, early, StatusConfirmed, []string{"", "", "email sent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Progress{ID: "ord_0123456789", Details: details, Charge: tc.charge, Notice: tc.notice}
			status, steps, err := p.Steps()
			require.NoError(t, err)
			assert.Equal(t, tc.want, status)
			var got []string
			for i, s := range steps {
				got = append(got, s.Detail)
				if i > 0 {
					assert.False(t, s.At.Before(steps[i-1].At), "step %d goes back in time", i)
				}
			}
			assert.Equal(t, tc.details, got)
			assert.Equal(t, tc.want, steps[len(steps)-1].Status)
			assert.Equal(t, tc.charge == refunded, p.Refunded())
		})
	}

	_, _, err := Progress{ID: "ord_0123456789", Details: details, Charge: &Charge{Outcome: "maybe"}}.Steps()
	assert.Error(t, err, "an outcome the machine does not know is refused")
}

func TestTheStateMachine(t *testing.T) {
	statuses := []Status{StatusAccepted, StatusPaid, StatusDeclined, StatusFailed,
		StatusConfirmed, StatusNotifiedDeclined, StatusNotifiedFailed, StatusEmailRejected}
	for _, s := range statuses {
		for _, to := range statuses {
			legal := s.CanMoveTo(to)
			switch {
			case s == StatusAccepted:
				assert.Equal(t, to == StatusPaid || to == StatusDeclined || to == StatusFailed, legal, "%s → %s", s, to)
			case s.Final():
				assert.False(t, legal, "nothing leaves a final status: %s → %s", s, to)
			default:
				assert.Equal(t, to == AfterNotice(Outcome(s), Notice{Delivery: DeliverySent}) || to == StatusEmailRejected, legal, "%s → %s", s, to)
			}
		}
	}
	for _, s := range []Status{StatusConfirmed, StatusNotifiedDeclined, StatusNotifiedFailed, StatusEmailRejected} {
		assert.True(t, s.Final(), s)
	}
}
