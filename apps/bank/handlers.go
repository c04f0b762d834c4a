package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"
)

// Limits on request fields; maxAmount also keeps amounts far below card-number length.
const (
	maxAmount     = 1_000_000_000
	maxKeyLength  = 255
	maxIDLength   = 200
	scopeCharges  = "charges"
	scopeRefunds  = "refunds"
	idemKeyHeader = "Idempotency-Key"
	// replayHeader tells a client (and a test) that an answer is a stored replay.
	replayHeader = "Idempotent-Replayed"
)

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// bank holds the handlers' dependencies.
type bank struct {
	store     *store
	faults    *faults
	locks     keyLocks
	logger    *slog.Logger
	now       func() time.Time
	slowDelay time.Duration
}

// newBank wires a bank; now is injectable so expiry can be tested at a fixed date.
func newBank(st *store, f *faults, slowDelay time.Duration, logger *slog.Logger, now func() time.Time) *bank {
	return &bank{store: st, faults: f, logger: logger, now: now, slowDelay: slowDelay}
}

// sleep waits d or until the client goes away, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withLatency adds the configured latency before the bank API handles a call.
func (b *bank) withLatency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sleep(r.Context(), b.faults.latency()); err != nil {
			return // the client is gone; nothing was done
		}
		next.ServeHTTP(w, r)
	})
}

func (b *bank) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (b *bank) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, errorf(http.StatusNotFound, "not_found", "no route %s %s", r.Method, r.URL.Path))
}

func (b *bank) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusMethodNotAllowed,
		errorf(http.StatusMethodNotAllowed, "method_not_allowed", "method %s not allowed on %s", r.Method, r.URL.Path))
}

// tokenRequest is the body of POST /v1/tokens.
type tokenRequest struct {
	Number   string `json:"number"`
	ExpMonth int    `json:"expMonth"`
	ExpYear  int    `json:"expYear"`
}

// tokenResponse is what a client may keep and publish instead of the card.
type tokenResponse struct {
	Token string `json:"token"`
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// createToken exchanges a card number for a token. The number lives only in this
// function's request value: the bank derives brand, last four, expiry and test-card
// outcome from it and persists those alone.
func (b *bank) createToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	if err := validateNumber(req.Number); err != nil {
		writeError(w, r, b.logger, errorf(http.StatusBadRequest, "invalid_number", "%s", err.Error()))
		return
	}
	exp := expiry{Month: req.ExpMonth, Year: req.ExpYear}
	now := b.now().UTC()
	if err := exp.validate(now.Year(), int(now.Month())); err != nil {
		writeError(w, r, b.logger, errorf(http.StatusBadRequest, "invalid_expiry", "%s", err.Error()))
		return
	}
	t := tokenRecord{
		Token:    newID("tok_"),
		Brand:    brandOf(req.Number),
		Last4:    req.Number[len(req.Number)-4:],
		ExpMonth: exp.Month,
		ExpYear:  exp.Year,
		Outcome:  outcomeOf(req.Number),
		Created:  now,
	}
	if err := b.store.saveToken(t); err != nil {
		writeError(w, r, b.logger, fmt.Errorf("save token: %w", err))
		return
	}
	b.logger.InfoContext(r.Context(), "card tokenized", "token", t.Token, "brand", t.Brand, "last4", t.Last4)
	writeJSON(w, http.StatusCreated, tokenResponse{Token: t.Token, Brand: t.Brand, Last4: t.Last4})
}

// chargeRequest is the body of POST /v1/charges; amount is in minor units.
type chargeRequest struct {
	Token    string `json:"token"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	OrderID  string `json:"orderId"`
}

func (c chargeRequest) validate() error {
	switch {
	case c.Token == "":
		return errorf(http.StatusBadRequest, "invalid_request", "token is required")
	case c.Amount < 0 || c.Amount > maxAmount:
		return errorf(http.StatusBadRequest, "invalid_request", "amount must be from 0 to %d minor units", maxAmount)
	case !currencyRE.MatchString(c.Currency):
		return errorf(http.StatusBadRequest, "invalid_request", "currency must be a three-letter ISO 4217 code such as ILS")
	case c.OrderID == "" || len(c.OrderID) > maxIDLength:
		return errorf(http.StatusBadRequest, "invalid_request", "orderId is required and at most %d characters", maxIDLength)
	}
	return nil
}

// cardView is the safe card summary returned with a charge.
type cardView struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// chargeResponse is the body of 201 and 402 answers to POST /v1/charges.
type chargeResponse struct {
	ID       string    `json:"id"`
	Status   string    `json:"status"`
	Code     string    `json:"code,omitempty"`
	Message  string    `json:"message,omitempty"`
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
	OrderID  string    `json:"orderId"`
	Card     cardView  `json:"card"`
	Created  time.Time `json:"created"`
}

// declineMessages explains each decline code to a human reading the response.
var declineMessages = map[outcome]string{
	outcomeCardDeclined:      "the card was declined",
	outcomeInsufficientFunds: "the card has insufficient funds",
	outcomeStolenCard:        "the card was reported stolen",
	outcomeExpiredCard:       "the card has expired",
}

// reply is an answer that may be stored for an idempotency key.
type reply struct {
	status   int
	body     []byte
	replayed bool
}

// idempotencyKey reads the required header.
func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get(idemKeyHeader)
	switch {
	case key == "":
		return "", errorf(http.StatusBadRequest, "missing_idempotency_key", "header Idempotency-Key is required")
	case len(key) > maxKeyLength:
		return "", errorf(http.StatusBadRequest, "invalid_idempotency_key", "header Idempotency-Key must be at most %d characters", maxKeyLength)
	}
	return key, nil
}

// requestHash fingerprints the decoded request, so the same request sent with other
// whitespace or field order still counts as the same.
func requestHash(v any) string {
	b, _ := json.Marshal(v) // request structs always marshal
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// replayOrConflict returns the stored answer for key, a 409 if the key was used with
// another request, or ok=false when the key is new. Callers hold the key's lock.
func (b *bank) replayOrConflict(scope, key, hash string) (reply, bool, error) {
	rec, ok := b.store.idempotent(scope, key)
	if !ok {
		return reply{}, false, nil
	}
	if rec.RequestHash != hash {
		return reply{}, true, errorf(http.StatusConflict, "idempotency_conflict",
			"Idempotency-Key was already used with a different request")
	}
	return reply{status: rec.Status, body: []byte(rec.Body), replayed: true}, true, nil
}

func writeReply(w http.ResponseWriter, rp reply) {
	if rp.replayed {
		w.Header().Set(replayHeader, "true")
	}
	writeRaw(w, rp.status, rp.body)
}

// createCharge charges a token once per idempotency key.
func (b *bank) createCharge(w http.ResponseWriter, r *http.Request) {
	key, err := idempotencyKey(r)
	if err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	var req chargeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	if err := req.validate(); err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	f := b.faults.roll()
	if f == faultFail {
		b.logger.WarnContext(r.Context(), "fault injected: charge refused", "orderId", req.OrderID)
		w.Header().Set("Retry-After", "1")
		writeError(w, r, b.logger, errorf(http.StatusServiceUnavailable, "unavailable", "the bank is temporarily unavailable; retry with the same Idempotency-Key"))
		return
	}
	rp, err := b.charge(r.Context(), key, req)
	if err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	if f == faultHang {
		b.logger.WarnContext(r.Context(), "fault injected: charged, now hanging until the client gives up", "orderId", req.OrderID)
		_ = sleep(r.Context(), maxHang)
		return
	}
	if f == faultDropReply {
		b.logger.WarnContext(r.Context(), "fault injected: reply dropped after charge", "orderId", req.OrderID)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
			return
		}
		b.logger.WarnContext(r.Context(), "cannot drop reply on this connection; answering", "err", err)
	}
	writeReply(w, rp)
}

// charge decides and records one charge, or replays the answer already given.
func (b *bank) charge(ctx context.Context, key string, req chargeRequest) (reply, error) {
	unlock := b.locks.lock(scopeCharges + "\x00" + key)
	defer unlock()

	if _, voided := b.store.voidedKey(key); voided {
		return reply{}, errorf(http.StatusConflict, "charge_voided", "this Idempotency-Key was voided: no charge was made with it, and none will be")
	}
	hash := requestHash(req)
	if rp, ok, err := b.replayOrConflict(scopeCharges, key, hash); ok || err != nil {
		return rp, err
	}
	tok, ok := b.store.token(req.Token)
	if !ok {
		return reply{}, errorf(http.StatusNotFound, "unknown_token", "no such token")
	}
	switch tok.Outcome {
	case outcomeProcessingError:
		// Transient by contract: nothing is recorded, so a retry with the same key
		// is processed afresh (and fails again for this card).
		b.logger.WarnContext(ctx, "processing error (test card)", "orderId", req.OrderID, "last4", tok.Last4)
		return reply{}, errorf(http.StatusInternalServerError, "processing_error", "the card could not be processed; retry later")
	case outcomeSlow:
		if err := sleep(ctx, b.slowDelay); err != nil {
			return reply{}, errorf(http.StatusServiceUnavailable, "client_gone", "the client went away before the charge; nothing was charged")
		}
	}

	now := b.now().UTC()
	c := chargeRecord{
		ID: newID("ch_"), Status: statusSucceeded, Amount: req.Amount, Currency: req.Currency,
		OrderID: req.OrderID, Token: tok.Token, Brand: tok.Brand, Last4: tok.Last4,
		IdempotencyKey: key, Created: now,
	}
	status := http.StatusCreated
	code := outcome("")
	switch {
	case tok.Outcome.declined():
		code = tok.Outcome
	case expiry{Month: tok.ExpMonth, Year: tok.ExpYear}.expiredAt(now.Year(), int(now.Month())):
		code = outcomeExpiredCard
	}
	resp := chargeResponse{
		ID: c.ID, Status: c.Status, Amount: c.Amount, Currency: c.Currency, OrderID: c.OrderID,
		Card: cardView{Brand: c.Brand, Last4: c.Last4}, Created: now,
	}
	if code != "" {
		status = http.StatusPaymentRequired
		c.Status, c.Code = statusDeclined, string(code)
		resp.Status, resp.Code, resp.Message = c.Status, c.Code, declineMessages[code]
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return reply{}, fmt.Errorf("encode charge: %w", err)
	}
	err = b.store.record(ledgerLine{Charge: &c, Idempotency: &idemRecord{
		Scope: scopeCharges, Key: key, RequestHash: hash, Status: status, Body: string(body),
	}})
	if err != nil {
		return reply{}, fmt.Errorf("record charge: %w", err)
	}
	b.logger.InfoContext(ctx, "charge recorded", "chargeId", c.ID, "orderId", c.OrderID,
		"status", c.Status, "code", c.Code, "amount", c.Amount, "currency", c.Currency, "last4", c.Last4)
	return reply{status: status, body: body}, nil
}

// maxHang bounds the hang fault, so a client that never gives up cannot hold a handler
// (and the bank's shutdown) forever.
const maxHang = time.Minute

// Where a charge Idempotency-Key stands (GET /v1/charges?idempotencyKey=, POST
// /v1/charges/void).
const (
	keyCharged = "charged" // a charge was made (succeeded or declined): it is in charge
	keyNone    = "none"    // no charge yet; one may still arrive with this key
	keyVoided  = "voided"  // no charge, and none will ever be made with this key
)

// keyView is the answer of a charge key lookup or void.
type keyView struct {
	IdempotencyKey string          `json:"idempotencyKey"`
	State          string          `json:"state"`
	Charge         json.RawMessage `json:"charge,omitempty"`
	VoidedAt       *time.Time      `json:"voidedAt,omitempty"`
}

// keyState reads where key stands. Callers hold the key's lock, so a charge in progress
// with the key (the slow card) has finished first.
func (b *bank) keyState(key string) keyView {
	v := keyView{IdempotencyKey: key, State: keyNone}
	if rec, ok := b.store.idempotent(scopeCharges, key); ok {
		v.State, v.Charge = keyCharged, json.RawMessage(rec.Body)
	} else if vr, ok := b.store.voidedKey(key); ok {
		v.State, v.VoidedAt = keyVoided, &vr.Created
	}
	return v
}

// chargeKey reads the key of GET /v1/charges?idempotencyKey=.
func chargeKey(r *http.Request) (string, error) {
	q := r.URL.Query()
	key := q.Get("idempotencyKey")
	switch {
	case len(q["idempotencyKey"]) != 1 || key == "":
		return "", errorf(http.StatusBadRequest, "missing_idempotency_key", "query idempotencyKey is required, once")
	case len(key) > maxKeyLength:
		return "", errorf(http.StatusBadRequest, "invalid_idempotency_key", "idempotencyKey must be at most %d characters", maxKeyLength)
	}
	return key, nil
}

// lookupCharge tells a client whose charge call gave no answer (a timeout, a dropped
// reply, a bank that hangs) what became of it: the charge's own answer, or that there is
// none yet, or that the key was voided.
func (b *bank) lookupCharge(w http.ResponseWriter, r *http.Request) {
	key, err := chargeKey(r)
	if err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	unlock := b.locks.lock(scopeCharges + "\x00" + key)
	v := b.keyState(key)
	unlock()
	writeJSON(w, http.StatusOK, v)
}

// voidCharge closes the charge key in Idempotency-Key: if a charge was made with it, it
// answers that charge (nothing is voided); otherwise no charge will ever be made with
// it. Repeating it answers the same.
func (b *bank) voidCharge(w http.ResponseWriter, r *http.Request) {
	key, err := idempotencyKey(r)
	if err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	if r.ContentLength > 0 {
		writeError(w, r, b.logger, errorf(http.StatusBadRequest, "invalid_request", "a void has no body; the key is the Idempotency-Key header"))
		return
	}
	unlock := b.locks.lock(scopeCharges + "\x00" + key)
	defer unlock()
	if v := b.keyState(key); v.State != keyNone {
		writeJSON(w, http.StatusOK, v)
		return
	}
	if err := b.store.void(voidRecord{IdempotencyKey: key, Created: b.now().UTC()}); err != nil {
		writeError(w, r, b.logger, fmt.Errorf("record void: %w", err))
		return
	}
	b.logger.InfoContext(r.Context(), "charge key voided", "idempotencyKey", key)
	writeJSON(w, http.StatusOK, b.keyState(key))
}

// refundRequest is the body of POST /v1/refunds.
type refundRequest struct {
	ChargeID string `json:"chargeId"`
}

// createRefund refunds a succeeded charge in full, at most once per charge: a second
// refund of the same charge, under any key, answers 200 with the first refund.
func (b *bank) createRefund(w http.ResponseWriter, r *http.Request) {
	key, err := idempotencyKey(r)
	if err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	var req refundRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	if req.ChargeID == "" || len(req.ChargeID) > maxIDLength {
		writeError(w, r, b.logger, errorf(http.StatusBadRequest, "invalid_request", "chargeId is required and at most %d characters", maxIDLength))
		return
	}
	rp, err := b.refund(r.Context(), key, req)
	if err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	writeReply(w, rp)
}

func (b *bank) refund(ctx context.Context, key string, req refundRequest) (reply, error) {
	unlockKey := b.locks.lock(scopeRefunds + "\x00" + key)
	defer unlockKey()
	hash := requestHash(req)
	if rp, ok, err := b.replayOrConflict(scopeRefunds, key, hash); ok || err != nil {
		return rp, err
	}
	// A second lock on the charge stops two keys from refunding it twice at once.
	unlockCharge := b.locks.lock("refund-of\x00" + req.ChargeID)
	defer unlockCharge()

	c, ok := b.store.charge(req.ChargeID)
	if !ok {
		return reply{}, errorf(http.StatusNotFound, "unknown_charge", "no such charge")
	}
	if c.Status != statusSucceeded {
		return reply{}, errorf(http.StatusConflict, "charge_not_refundable", "only a succeeded charge can be refunded; this one was %s", c.Status)
	}
	line := ledgerLine{}
	ref, exists := b.store.refundFor(c.ID)
	status := http.StatusOK
	if !exists {
		status = http.StatusCreated
		ref = refundRecord{
			ID: newID("re_"), Status: statusSucceeded, ChargeID: c.ID, Amount: c.Amount,
			Currency: c.Currency, OrderID: c.OrderID, IdempotencyKey: key, Created: b.now().UTC(),
		}
		line.Refund = &ref
	}
	body, err := json.Marshal(ref)
	if err != nil {
		return reply{}, fmt.Errorf("encode refund: %w", err)
	}
	line.Idempotency = &idemRecord{Scope: scopeRefunds, Key: key, RequestHash: hash, Status: status, Body: string(body)}
	if err := b.store.record(line); err != nil {
		return reply{}, fmt.Errorf("record refund: %w", err)
	}
	if !exists {
		b.logger.InfoContext(ctx, "refund recorded", "refundId", ref.ID, "chargeId", c.ID, "orderId", c.OrderID, "amount", c.Amount)
	}
	return reply{status: status, body: body}, nil
}

// ledger lists charges and refunds, filtered by ?orderId= when given.
func (b *bank) ledger(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, b.store.ledger(r.URL.Query().Get("orderId")))
}

// getFaults shows the fault injection in force.
func (b *bank) getFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, b.faults.settings())
}

// putFaults replaces the fault injection settings at run time.
func (b *bank) putFaults(w http.ResponseWriter, r *http.Request) {
	var s faultSettings
	if err := decodeJSON(w, r, &s); err != nil {
		writeError(w, r, b.logger, err)
		return
	}
	if err := s.validate(); err != nil {
		writeError(w, r, b.logger, errorf(http.StatusBadRequest, "invalid_request", "%s", err.Error()))
		return
	}
	b.faults.set(s)
	cur := b.faults.settings()
	b.logger.InfoContext(r.Context(), "faults changed", "failureRate", cur.FailureRate,
		"dropReplyRate", cur.DropReplyRate, "hangRate", cur.HangRate, "latency", time.Duration(cur.Latency).String(), "seed", *cur.Seed)
	writeJSON(w, http.StatusOK, cur)
}
