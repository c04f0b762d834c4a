package load

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a run's outcome, as the table, the JSON file and the chart show it.
type Report struct {
	Target       string  `json:"target"`
	Mode         Mode    `json:"mode"`
	Rate         float64 `json:"rate,omitempty"`
	Concurrency  int     `json:"concurrency"`
	OrderShare   float64 `json:"orderShare"`
	WarmupS      float64 `json:"warmupS"`
	Started      string  `json:"started"`
	MeasuredS    float64 `json:"measuredS"`
	DrainS       float64 `json:"drainS"`
	LoadAvgStart string  `json:"loadAvgStart"`
	LoadAvgEnd   string  `json:"loadAvgEnd"`
	// Requests is per kind: search, order (POST /orders), status (the tool's own polls).
	Requests      map[string]OpReport `json:"requests"`
	Orders        OrdersReport        `json:"orders"`
	Errors        map[string]int64    `json:"errors"`
	Processes     []ProcReport        `json:"processes,omitempty"`
	MachineCPUPct float64             `json:"machineCpuPct,omitempty"`
	// CPUMsPerOrder is the CPU every sampled process spent (the load tool's own included)
	// per order completed in the measured window, for an orders-only run.
	CPUMsPerOrder float64        `json:"cpuMsPerOrder,omitempty"`
	Sidecars      *SidecarReport `json:"sidecars,omitempty"`
	Notes         []string       `json:"notes,omitempty"`
	Deadline      string         `json:"deadline"`
	Series        []Second       `json:"series"`
}

// OpReport is one kind of request over the measured window.
type OpReport struct {
	Sent      int64   `json:"sent"`
	OK        int64   `json:"ok"`
	Errors    int64   `json:"errors"`
	PerSecond float64 `json:"perSecond"`
	Latency   Summary `json:"latency"`
}

// OrdersReport follows the accepted orders.
type OrdersReport struct {
	Accepted     int64            `json:"accepted"`
	Measured     int64            `json:"measured"`
	DeclinedCard int64            `json:"declinedCard"`
	Final        int64            `json:"final"`
	ByStatus     map[string]int64 `json:"byStatus"`
	// Lost orders were accepted but were still not final when the run ended, after their
	// deadline; Late orders became final, but only after their deadline.
	Lost    int64    `json:"lost"`
	LostIDs []string `json:"lostIds,omitempty"`
	Late    int64    `json:"late"`
	// EmailsMissing orders are final but no email reached mailpit within the deadline.
	EmailsMissing   int64    `json:"emailsMissing"`
	EmailMissingIDs []string `json:"emailMissingIds,omitempty"`
	// Duplicates are orders with more than one email, or more than one bank charge.
	DuplicateEmails    int64    `json:"duplicateEmails"`
	DuplicateEmailIDs  []string `json:"duplicateEmailIds,omitempty"`
	DuplicateCharges   int64    `json:"duplicateCharges"`
	DuplicateChargeIDs []string `json:"duplicateChargeIds,omitempty"`
	EmailsChecked      bool     `json:"emailsChecked"`
	// EmailsKept is how many of this run's orders still had their email in mailpit at the
	// end: mailpit prunes to its --max messages (500 by default; MP_MAX_MESSAGES=0 keeps
	// all), and duplicates can only be seen among the emails it kept.
	EmailsKept     int64 `json:"emailsKept"`
	ChargesChecked bool  `json:"chargesChecked"`
	// ToFinal is from accepted to final on the order's own timeline; ToFinalPolled from the
	// 202 to the poll that saw it final; ToEmail from the 202 to mailpit's reception.
	ToFinal       Summary `json:"toFinal"`
	ToFinalPolled Summary `json:"toFinalPolled"`
	ToEmail       Summary `json:"toEmail"`
	// PipelinePerS is measured orders made final per second, from the first 202 to the
	// last final step.
	PipelinePerS  float64 `json:"pipelinePerS"`
	MailpitErrors int64   `json:"mailpitErrors,omitempty"`
}

// Clean reports whether the run had no request error and no lost, unemailed or duplicated
// order: what the smoke test asserts.
func (r *Report) Clean() bool {
	var errs int64
	for _, n := range r.Errors {
		errs += n
	}
	o := r.Orders
	return errs == 0 && o.Lost == 0 && o.Late == 0 && o.EmailsMissing == 0 && o.DuplicateEmails == 0 && o.DuplicateCharges == 0
}

func (r *runner) report(end, drained time.Time) *Report {
	measured := end.Sub(r.measure).Seconds()
	if measured <= 0 {
		measured = end.Sub(r.start).Seconds()
	}
	rep := &Report{
		Target: r.cfg.Target, Mode: r.cfg.Mode, Concurrency: r.cfg.Concurrency, OrderShare: r.cfg.OrderShare,
		WarmupS: r.cfg.Warmup.Seconds(), Started: r.start.UTC().Format(time.RFC3339),
		MeasuredS: round1(measured), DrainS: round1(drained.Sub(end).Seconds()),
		Requests: map[string]OpReport{}, Errors: map[string]int64{}, Deadline: r.cfg.Deadline.String(),
	}
	if r.cfg.Mode == Open {
		rep.Rate = r.cfg.Rate
	}
	for k := range numOps {
		s := &r.stats[k]
		per := measured
		if op(k) == opStatus {
			per = drained.Sub(r.start).Seconds()
		}
		rep.Requests[opNames[k]] = OpReport{
			Sent: s.sent.Load(), OK: s.ok.Load(), Errors: s.errs.Load(),
			PerSecond: round1(float64(s.ok.Load()) / per), Latency: s.lat.Summary(),
		}
	}
	r.errMu.Lock()
	for k, v := range r.errKinds {
		rep.Errors[k] = v
	}
	r.errMu.Unlock()
	rep.Orders = r.tracker.orderReport()
	rep.Series = r.series.export()
	return rep
}

// WriteJSON writes the report, indented, to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteTable prints the report for a terminal.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "target %s, %s model", r.Target, r.Mode)
	if r.Mode == Open {
		fmt.Fprintf(w, " at %.0f/s", r.Rate)
	} else {
		fmt.Fprintf(w, " with %d in flight", r.Concurrency)
	}
	fmt.Fprintf(w, ", %.0f%% orders; measured %.1fs after %.0fs warm-up; load average %s -> %s\n\n",
		r.OrderShare*100, r.MeasuredS, r.WarmupS, r.LoadAvgStart, r.LoadAvgEnd)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "request\tok\terrors\tper s\tp50 ms\tp95 ms\tp99 ms\tmax ms\t")
	for _, k := range []string{"search", "order", "status"} {
		o := r.Requests[k]
		if o.Sent == 0 {
			continue
		}
		name := map[string]string{"search": "GET search", "order": "POST orders", "status": "GET order (polls)"}[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", name, o.OK, o.Errors, o.PerSecond, o.Latency.P50Ms, o.Latency.P95Ms, o.Latency.P99Ms, o.Latency.MaxMs)
	}
	o := r.Orders
	if o.Accepted > 0 {
		fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t")
		fmt.Fprintln(tw, "order pipeline\tcount\t\t\tp50 ms\tp95 ms\tp99 ms\tmax ms\t")
		for _, x := range []struct {
			name string
			s    Summary
		}{{"accepted -> final (timeline)", o.ToFinal}, {"202 -> final (polled)", o.ToFinalPolled}, {"202 -> email in mailpit", o.ToEmail}} {
			if x.s.Count > 0 {
				fmt.Fprintf(tw, "%s\t%d\t\t\t%.1f\t%.1f\t%.1f\t%.1f\t\n", x.name, x.s.Count, x.s.P50Ms, x.s.P95Ms, x.s.P99Ms, x.s.MaxMs)
			}
		}
	}
	tw.Flush()
	if o.Accepted > 0 {
		fmt.Fprintf(w, "\norders: %d accepted (%d measured, %d with the declined card), %d final %s; pipeline %.1f orders/s\n",
			o.Accepted, o.Measured, o.DeclinedCard, o.Final, statusList(o.ByStatus), o.PipelinePerS)
		fmt.Fprintf(w, "lost (never final): %d %s\n", o.Lost, idList(o.LostIDs))
		fmt.Fprintf(w, "late (final only after the %s deadline): %d\n", r.Deadline, o.Late)
		fmt.Fprintf(w, "final without an email: %d %s\n", o.EmailsMissing, idList(o.EmailMissingIDs))
		fmt.Fprintf(w, "duplicated: %s emails, %s charges\n", checked(o.EmailsChecked, o.DuplicateEmails, o.DuplicateEmailIDs), checked(o.ChargesChecked, o.DuplicateCharges, o.DuplicateChargeIDs))
	}
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors: none")
	} else {
		fmt.Fprintln(w, "errors:")
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-40s %d\n", k, r.Errors[k])
		}
	}
	if len(r.Processes) > 0 {
		fmt.Fprintf(w, "\nprocesses (CPU in %% of one core; the machine was %.0f%% busy on average, 100%% = all cores):\n", r.MachineCPUPct)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "process\tcpu avg\tcpu max\trss start MB\trss end MB\trss max MB\trss growth MB\t")
		for _, p := range r.Processes {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", p.Name, p.CPUAvgPct, p.CPUMaxPct, p.RSSStartMB, p.RSSEndMB, p.RSSMaxMB, p.RSSGrowthMB)
		}
		tw.Flush()
	}
	if r.CPUMsPerOrder > 0 {
		fmt.Fprintf(w, "CPU per completed order (every process, the load tool included): %.1f ms\n", r.CPUMsPerOrder)
	}
	writeSidecars(w, r.Sidecars)
	if o.EmailsChecked && o.EmailsKept < o.Final {
		fmt.Fprintf(w, "note: mailpit still held the emails of only %d of %d final orders (it prunes to --max, 500 by default; run the stack with MP_MAX_MESSAGES=0): duplicate emails were checked among those\n", o.EmailsKept, o.Final)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

func statusList(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func idList(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return "e.g. " + strings.Join(ids, " ")
}

func checked(ok bool, n int64, ids []string) string {
	if !ok {
		return "not checked"
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", n, idList(ids)))
}

// cpuPerOrder is the CPU every sampled process spent from the end of the warm-up until the
// pipeline drained, divided by the orders made final: what one order costs the machine,
// when the run places only orders. (Dividing by the accepted orders would flatter a
// saturated stack, which accepts faster than it completes.)
func cpuPerOrder(r *Report) float64 {
	window := r.MeasuredS + r.DrainS
	if window <= 0 || r.Orders.Final <= 0 {
		return 0
	}
	var pct float64
	for _, p := range r.Processes {
		pct += p.CPUAvgPct
	}
	return round1(pct / 100 * window * 1000 / float64(r.Orders.Final))
}
