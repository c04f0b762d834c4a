package load

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sync"
	"time"
)

// tracked is one accepted order followed to its final status and its email.
type tracked struct {
	id        string
	accepted  time.Time // when the 202 arrived
	counted   bool      // accepted after the warm-up
	declined  bool      // paid with the declined card
	status    string
	final     bool
	emailAt   time.Time // when mailpit received the first email
	nextCheck time.Time
	backoff   time.Duration
	checking  bool
	late      bool // final only after its deadline
}

// tracker follows every accepted order. Emails are found by watching mailpit's newest
// messages (one request finds them all); the order's status is read once its email is in,
// or, when no email comes, with a backing-off poll. The stack is not flooded with status
// requests, which would change what is measured.
type tracker struct {
	r        *runner
	mu       sync.Mutex
	orders   map[string]*tracked
	pending  map[string]*tracked // not final yet: what the poller looks at
	all      []*tracked
	seenMail map[string]bool
	// early holds emails whose order is not known yet: the pipeline can finish before the
	// 202 reaches the tool when the API is slow to answer.
	early map[string]time.Time
	// toEmail runs from the 202 to mailpit's reception of the email; toFinal from the
	// accepted step to the final step of the order's own timeline; toFinalSeen from the
	// 202 to the poll that saw the final status (quantised by the polling).
	toEmail, toFinal, toFinalSeen Histogram
	firstAccept, lastFinal        time.Time
	mailErrors                    int64
	// From verify: distinct emails and ledger charges per order of this run.
	emails                        map[string]map[string]bool
	charges                       map[string]int
	emailsChecked, chargesChecked bool
	mailKept                      int // messages mailpit holds (it prunes to its --max)
}

var orderIDInText = regexp.MustCompile(`ord_[0-9A-Za-z]{10,40}`)

func newTracker(r *runner) *tracker {
	return &tracker{r: r, orders: map[string]*tracked{}, pending: map[string]*tracked{}, seenMail: map[string]bool{}, early: map[string]time.Time{}}
}

func (t *tracker) add(id string, at time.Time, counted, declined bool) {
	first := 2 * time.Second // the email normally triggers the first look
	if t.r.cfg.Mailpit == "" {
		first = 100 * time.Millisecond
	}
	o := &tracked{id: id, accepted: at, counted: counted, declined: declined, nextCheck: at.Add(first), backoff: 250 * time.Millisecond}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.orders[id]; dup {
		return
	}
	t.orders[id] = o
	t.pending[id] = o
	if at, ok := t.early[id]; ok {
		delete(t.early, id)
		t.emailed(o, at, at)
	}
	t.all = append(t.all, o)
	if counted && (t.firstAccept.IsZero() || at.Before(t.firstAccept)) {
		t.firstAccept = at
	}
}

func (t *tracker) done(o *tracked) bool {
	return o.final && (t.r.cfg.Mailpit == "" || !o.emailAt.IsZero())
}

// counts returns orders still pending, final, and past their deadline.
func (t *tracker) counts() (pending, final, lost int) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, o := range t.all {
		switch {
		case t.done(o):
			final++
		case now.Sub(o.accepted) > t.r.cfg.Deadline:
			lost++
		default:
			pending++
		}
	}
	return pending, final, lost
}

func (t *tracker) run(ctx context.Context) {
	if t.r.cfg.Mailpit != "" {
		go t.watchMail(ctx)
	}
	jobs := make(chan *tracked)
	for range 8 {
		go func() {
			for o := range jobs {
				t.check(ctx, o)
			}
		}()
	}
	defer close(jobs)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			t.mu.Lock()
			var due []*tracked
			for _, o := range t.pending {
				if !o.final && !o.checking && !now.Before(o.nextCheck) && now.Sub(o.accepted) <= t.r.cfg.Deadline {
					o.checking = true
					due = append(due, o)
				}
			}
			t.mu.Unlock()
			for _, o := range due {
				select {
				case jobs <- o:
				case <-ctx.Done():
					return
				}
			}
		}
	}
}

// check reads one order's status.
func (t *tracker) check(ctx context.Context, o *tracked) {
	start := time.Now()
	var v struct {
		Status   string `json:"status"`
		Final    bool   `json:"final"`
		Timeline []struct {
			Status string    `json:"status"`
			At     time.Time `json:"at"`
		} `json:"timeline"`
	}
	err := getJSON(ctx, t.r.client, t.r.cfg.Target+"/orders/"+url.PathEscape(o.id), &v)
	now := time.Now()
	st := &t.r.stats[opStatus]
	st.sent.Add(1)
	if err != nil {
		st.errs.Add(1)
	} else {
		st.ok.Add(1)
		st.lat.Record(now.Sub(start))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	o.checking = false
	if err != nil || !v.Final {
		o.status = v.Status
		o.nextCheck = now.Add(o.backoff)
		o.backoff = min(o.backoff*2, 2*time.Second)
		return
	}
	o.status, o.final = v.Status, true
	o.late = now.Sub(o.accepted) > t.r.cfg.Deadline
	delete(t.pending, o.id)
	var serverFinal time.Time
	if n := len(v.Timeline); n > 1 {
		serverFinal = v.Timeline[n-1].At
		if o.counted {
			d := serverFinal.Sub(v.Timeline[0].At)
			t.toFinal.Record(d)
			t.r.series.final(serverFinal, d)
		}
	}
	if o.counted {
		t.toFinalSeen.Record(now.Sub(o.accepted))
		if !serverFinal.IsZero() && serverFinal.After(t.lastFinal) {
			t.lastFinal = serverFinal
		}
	}
}

// mailMessage is a message as mailpit lists it.
type mailMessage struct {
	ID      string    `json:"ID"`
	Subject string    `json:"Subject"`
	Created time.Time `json:"Created"`
}

func (t *tracker) listMail(ctx context.Context, start, limit int) ([]mailMessage, error) {
	var res struct {
		Messages []mailMessage `json:"messages"`
	}
	u := fmt.Sprintf("%s/api/v1/messages?start=%d&limit=%d", t.r.cfg.Mailpit, start, limit)
	if err := getJSON(ctx, t.r.client, u, &res); err != nil {
		return nil, err
	}
	return res.Messages, nil
}

// watchMail reads mailpit's newest messages every 200 ms, newest first, until it has gone
// past a run of messages it already saw (a message stored a little out of order is still
// found).
func (t *tracker) watchMail(ctx context.Context) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		const page, enough = 200, 100
		for start, seenRun := 0, 0; seenRun < enough; start += page {
			msgs, err := t.listMail(ctx, start, page)
			if err != nil {
				t.mu.Lock()
				t.mailErrors++
				t.mu.Unlock()
				break
			}
			for _, m := range msgs {
				if t.noteMail(m, time.Now()) {
					seenRun = 0
				} else {
					seenRun++
				}
			}
			if len(msgs) < page {
				break
			}
		}
	}
}

// noteMail records an email the first time it is seen and says whether it was new.
func (t *tracker) noteMail(m mailMessage, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seenMail[m.ID] {
		return false
	}
	t.seenMail[m.ID] = true
	id := orderIDInText.FindString(m.Subject)
	o := t.orders[id]
	switch {
	case o != nil:
		t.emailed(o, m.Created, now)
	case id != "":
		if _, ok := t.early[id]; !ok {
			t.early[id] = m.Created
		}
	}
	return true
}

// emailed records an order's first email (with t.mu held).
func (t *tracker) emailed(o *tracked, created, now time.Time) {
	if !o.emailAt.IsZero() {
		return
	}
	o.emailAt = created
	if o.counted {
		// An email stored before the 202 arrived counts as zero.
		t.toEmail.Record(max(created.Sub(o.accepted), 0))
	}
	if !o.final && !o.checking {
		o.nextCheck, o.backoff = now, 50*time.Millisecond
	}
}

// drain waits until every order is final with its email, or past its deadline.
func (t *tracker) drain(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if p, _, _ := t.counts(); p == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// verify reads every email in mailpit and every charge in the bank's ledger, for the orders
// of this run, and looks once more at the orders that were not final by their deadline (so
// that a late order is told apart from a lost one). Emails are counted by message id: new
// mail arriving while the pages are read shifts them, and a message can show up twice.
func (t *tracker) verify(ctx context.Context) error {
	t.mu.Lock()
	ours := make(map[string]*tracked, len(t.all))
	var unfinished []*tracked
	for _, o := range t.all {
		ours[o.id] = o
		if !o.final {
			unfinished = append(unfinished, o)
		}
	}
	t.mu.Unlock()
	for _, o := range unfinished {
		t.check(ctx, o)
	}
	if t.r.cfg.Mailpit != "" {
		emails := map[string]map[string]bool{}
		const page = 1000
		for start := 0; ; start += page {
			msgs, err := t.listMail(ctx, start, page)
			if err != nil {
				return fmt.Errorf("mailpit: %w", err)
			}
			t.mu.Lock()
			t.mailKept += len(msgs)
			t.mu.Unlock()
			for _, m := range msgs {
				id := orderIDInText.FindString(m.Subject)
				if ours[id] == nil {
					continue
				}
				if emails[id] == nil {
					emails[id] = map[string]bool{}
				}
				emails[id][m.ID] = true
				t.noteMail(m, time.Now()) // the watcher may have missed it
			}
			if len(msgs) < page {
				break
			}
		}
		t.mu.Lock()
		t.emails, t.emailsChecked = emails, true
		t.mu.Unlock()
	}
	if t.r.cfg.Bank != "" {
		var ledger struct {
			Charges []struct {
				OrderID string `json:"orderId"`
			} `json:"charges"`
		}
		if err := getJSON(ctx, t.r.client, t.r.cfg.Bank+"/v1/ledger", &ledger); err != nil {
			return fmt.Errorf("bank ledger: %w", err)
		}
		charges := map[string]int{}
		for _, c := range ledger.Charges {
			if ours[c.OrderID] != nil {
				charges[c.OrderID]++
			}
		}
		t.mu.Lock()
		t.charges, t.chargesChecked = charges, true
		t.mu.Unlock()
	}
	return nil
}

// appendSome keeps the first few ids as examples; the counts carry the rest.
func appendSome(ids []string, id string) []string {
	if len(ids) < 10 {
		ids = append(ids, id)
	}
	return ids
}

// orderReport fills the order part of the report.
func (t *tracker) orderReport() OrdersReport {
	t.mu.Lock()
	defer t.mu.Unlock()
	rep := OrdersReport{ByStatus: map[string]int64{}}
	for _, o := range t.all {
		rep.Accepted++
		if o.counted {
			rep.Measured++
		}
		if o.declined {
			rep.DeclinedCard++
		}
		if o.late {
			rep.Late++
		}
		if len(t.emails[o.id]) > 1 {
			rep.DuplicateEmails++
			rep.DuplicateEmailIDs = appendSome(rep.DuplicateEmailIDs, o.id)
		}
		if t.charges[o.id] > 1 {
			rep.DuplicateCharges++
			rep.DuplicateChargeIDs = appendSome(rep.DuplicateChargeIDs, o.id)
		}
		switch {
		case !o.final:
			rep.Lost++
			rep.LostIDs = appendSome(rep.LostIDs, o.id)
			rep.ByStatus[orUnknown(o.status)]++
		case t.r.cfg.Mailpit != "" && o.emailAt.IsZero():
			rep.Final++
			rep.EmailsMissing++
			rep.EmailMissingIDs = appendSome(rep.EmailMissingIDs, o.id)
			rep.ByStatus[o.status]++
		default:
			rep.Final++
			rep.ByStatus[o.status]++
		}
	}
	rep.EmailsChecked, rep.ChargesChecked = t.emailsChecked, t.chargesChecked
	rep.EmailsKept = int64(len(t.emails))
	rep.ToFinal = t.toFinal.Summary()
	rep.ToFinalPolled = t.toFinalSeen.Summary()
	rep.ToEmail = t.toEmail.Summary()
	if !t.firstAccept.IsZero() && t.lastFinal.After(t.firstAccept) {
		span := t.lastFinal.Sub(t.firstAccept).Seconds()
		rep.PipelinePerS = round1(float64(rep.ToFinal.Count) / span)
	}
	if t.mailErrors > 0 {
		rep.MailpitErrors = t.mailErrors
	}
	return rep
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
