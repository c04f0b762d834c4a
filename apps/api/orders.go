package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/card"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/events"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/order"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

// api holds the API's dependencies; its methods are the handlers.
type api struct {
	log       *slog.Logger
	catalog   catalogIndex
	orders    orderStore
	publisher publisher
	bank      tokenizer
	ready     func(context.Context) error
	now       func() time.Time
	// publishTimeout bounds one publish of `order` (0: the request's own deadline), so the
	// API answers before nginx gives up on it.
	publishTimeout time.Duration
}

func timeNow() time.Time { return time.Now().UTC() }

// errUnavailable answers a request that failed on a dependency (state store, broker): the
// client may retry, nothing was charged.
var errUnavailable = service.Errorf(http.StatusServiceUnavailable, "unavailable", "your order could not be taken right now; nothing was charged, please try again")

// A publish of `order` that returned an error may still have reached the broker (a
// timeout, a client that hung up, a reply lost on the way back): its outcome is unknown,
// never "nothing was charged". The Idempotency-Key keeps the order, so a retry with it
// learns the outcome and is never a second order (docs/ORDERS.md, section 1).
var (
	errOutcomeUnknown = service.Errorf(http.StatusServiceUnavailable, "outcome_unknown",
		"we could not confirm that your order was received; it may still go through. Retry with the same Idempotency-Key to learn its outcome: it will never be charged twice")
	errOutcomeUnknownNoKey = service.Errorf(http.StatusServiceUnavailable, "outcome_unknown",
		"we could not confirm that your order was received; it may still go through. Please check your email before you order again")
)

// orderRequest is the body of POST /orders. The seed sent restaurant, email and creditCard;
// items and cardExpiry are optional additions. There is no CVV field: it is never taken.
type orderRequest struct {
	Restaurant string      `json:"restaurant"`
	Email      string      `json:"email"`
	CreditCard string      `json:"creditCard"`
	CardExpiry string      `json:"cardExpiry,omitempty"`
	Items      []itemInput `json:"items,omitempty"`
}

type itemInput struct {
	MenuItemID string `json:"menuItemId"`
	Quantity   int    `json:"quantity"`
}

// orderResponse is the 202 answer, as in the seed plus the status URL.
type orderResponse struct {
	OrderID   string       `json:"orderId"`
	Status    order.Status `json:"status"`
	Message   string       `json:"message"`
	StatusURL string       `json:"statusUrl"`
}

const (
	maxItems      = 50
	maxQuantity   = 50
	maxIdemKeyLen = 200
)

// placeOrder validates an order, prices it from the catalog, exchanges the card for a bank
// token and publishes the `order` event. The event is the commit point: 202 is answered
// only after the broker took it, and nothing is kept when it did not (see docs/ORDERS.md).
func (a *api) placeOrder(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	idem := r.Header.Get("Idempotency-Key")
	if len(idem) > maxIdemKeyLen || !printable(idem) {
		return service.Errorf(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be at most %d printable characters", maxIdemKeyLen)
	}
	var req orderRequest
	if err := service.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	v, err := a.validate(req)
	if err != nil {
		return err
	}

	if idem != "" {
		rec, found, err := a.orders.GetIdempotency(ctx, idem)
		if err != nil {
			service.Logger(ctx, a.log).ErrorContext(ctx, "idempotency lookup failed", "error", err)
			return errUnavailable
		}
		if found {
			return a.replay(w, r, rec, v.fingerprint)
		}
	}

	tokenized, err := a.bank.Tokenize(ctx, v.cardNumber, v.expMonth, v.expYear)
	var refused errCardRefused
	switch {
	case errors.As(err, &refused):
		return service.Errorf(http.StatusBadRequest, "invalid_card", "%s", refused.msg)
	case err != nil:
		service.Logger(ctx, a.log).WarnContext(ctx, "tokenize failed", "error", err)
		return service.Errorf(http.StatusServiceUnavailable, "bank_unavailable", "the bank cannot be reached right now; nothing was charged, please try again")
	}

	v.details.Card, v.details.PlacedAt = tokenized, a.now()
	ev := events.OrderPlaced{OrderID: newOrderID(a.now()), Details: v.details}
	if idem != "" {
		err := a.orders.ClaimIdempotency(ctx, idem, idemRecord{Fingerprint: v.fingerprint, Event: ev})
		if errors.Is(err, errExists) {
			// Another request with the same key won the race: answer as it did.
			rec, found, gerr := a.orders.GetIdempotency(ctx, idem)
			if gerr == nil && found {
				return a.replay(w, r, rec, v.fingerprint)
			}
			err = gerr
		}
		if err != nil {
			service.Logger(ctx, a.log).ErrorContext(ctx, "idempotency claim failed", "error", err)
			return errUnavailable
		}
	}
	if err := a.accept(ctx, ev); err != nil {
		// The event may be on the broker: the key keeps this order (a retry re-publishes the
		// same event id, which the consumers deduplicate), and the answer says "unknown".
		service.Logger(ctx, a.log).ErrorContext(ctx, "order outcome unknown: the publish failed", "orderId", ev.OrderID, "error", err)
		if idem == "" {
			return errOutcomeUnknownNoKey
		}
		return errOutcomeUnknown
	}
	a.respondAccepted(w, ev.OrderID, order.StatusAccepted)
	return nil
}

// accept publishes the event, then records the order. If writing the record fails after
// the publish, the order still goes through: every later event of it carries its details,
// and GET /orders/{id} reads them from there.
func (a *api) accept(ctx context.Context, ev events.OrderPlaced) error {
	log := service.Logger(ctx, a.log).With("orderId", ev.OrderID)
	pctx, cancel := ctx, context.CancelFunc(func() {})
	if a.publishTimeout > 0 {
		pctx, cancel = context.WithTimeout(ctx, a.publishTimeout)
	}
	err := a.publisher.PublishOrder(pctx, ev)
	cancel()
	if err != nil {
		return fmt.Errorf("publish order: %w", err)
	}
	if err := a.orders.Create(ctx, record{OrderID: ev.OrderID, Details: ev.Details}); err != nil && !errors.Is(err, errExists) {
		log.WarnContext(ctx, "order published but not recorded; its status shows once it is charged", "error", err)
	}
	log.InfoContext(ctx, "order accepted", "restaurant", ev.RestaurantName, "total", ev.Total, "card", ev.Card.Brand+" *"+ev.Card.Last4)
	return nil
}

// replay answers a request whose Idempotency-Key was seen before.
func (a *api) replay(w http.ResponseWriter, r *http.Request, rec idemRecord, fingerprint string) error {
	ctx := r.Context()
	if rec.Fingerprint != fingerprint {
		return service.Errorf(http.StatusUnprocessableEntity, "idempotency_conflict", "this Idempotency-Key was used for a different order")
	}
	p, err := a.orders.Get(ctx, rec.Event.OrderID)
	switch {
	case err == nil:
		status, _, _ := p.Steps()
		a.respondAccepted(w, p.ID, status)
		return nil
	case errors.Is(err, errNotFound):
		// The first request stopped between claiming the key and recording the order (a
		// crash, or a publish whose outcome it never learned): publish again (same event
		// id; consumers deduplicate) so the order goes through, once.
		if err := a.accept(ctx, rec.Event); err != nil {
			service.Logger(ctx, a.log).ErrorContext(ctx, "order outcome unknown: the publish failed", "orderId", rec.Event.OrderID, "error", err)
			return errOutcomeUnknown
		}
		a.respondAccepted(w, rec.Event.OrderID, order.StatusAccepted)
		return nil
	default:
		return err
	}
}

func (a *api) respondAccepted(w http.ResponseWriter, id string, status order.Status) {
	w.Header().Set("Location", "/api/orders/"+id)
	service.WriteJSON(w, http.StatusAccepted, orderResponse{
		OrderID:   id,
		Status:    status,
		Message:   "Order received. We are charging your card and will email you a confirmation.",
		StatusURL: "/api/orders/" + id,
	})
}

// getOrder returns an order's status and timeline.
func (a *api) getOrder(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if !order.ValidID(id) {
		return service.Errorf(http.StatusNotFound, "not_found", "no order with that id")
	}
	p, err := a.orders.Get(r.Context(), id)
	switch {
	case errors.Is(err, errNotFound):
		return service.Errorf(http.StatusNotFound, "not_found", "no order with that id")
	case err != nil:
		return err
	}
	v, err := view(p)
	if err != nil {
		// A fact the state machine refuses: show the order as far as it goes, and say so.
		service.Logger(r.Context(), a.log).ErrorContext(r.Context(), "order facts disagree", "orderId", id, "error", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	service.WriteJSON(w, http.StatusOK, v)
	return nil
}

// validOrder is a validated, priced order request.
type validOrder struct {
	details           order.Details // all but the card's token and the time placed
	cardNumber        string
	expMonth, expYear int
	fingerprint       string
}

// validate checks the request against the catalog and prices it. Prices come from the
// catalog only; the client names items and quantities.
func (a *api) validate(req orderRequest) (validOrder, error) {
	var v validOrder
	bad := func(code, format string, args ...any) error {
		return service.Errorf(http.StatusBadRequest, code, format, args...)
	}
	ix := a.catalog.Index()
	if ix == nil {
		return v, errNoCatalog
	}
	rest, ok := ix.Lookup(strings.TrimSpace(req.Restaurant))
	if !ok {
		return v, bad("unknown_restaurant", "no restaurant named %q", truncate(card.Redact(req.Restaurant), 80))
	}
	if err := order.ValidateEmail(req.Email); err != nil {
		return v, bad("invalid_email", "%s", err.Error())
	}
	if card.HoldsNumber(req.Email) {
		// The message never repeats the address: it holds the number.
		return v, bad("invalid_email", "this email address looks like it holds a card number; the card number goes only in the card field")
	}
	number, err := card.Normalize(req.CreditCard)
	if err != nil {
		return v, bad("invalid_card", "%s", err.Error())
	}
	if req.CardExpiry != "" {
		if v.expMonth, v.expYear, err = card.ParseExpiry(req.CardExpiry, a.now()); err != nil {
			return v, bad("invalid_card_expiry", "%s", err.Error())
		}
	}
	if len(req.Items) > maxItems {
		return v, bad("invalid_items", "at most %d lines per order", maxItems)
	}
	currency := rest.Currency
	if currency == "" {
		currency = "ILS"
	}
	d := order.Details{RestaurantID: rest.ID, RestaurantName: rest.Name, Email: req.Email, Currency: currency, Items: []order.Item{}}
	seen := map[string]bool{}
	for _, in := range req.Items {
		item, ok := rest.Item(in.MenuItemID)
		switch {
		case !ok:
			return v, bad("invalid_items", "%s has no menu item %q", rest.Name, truncate(card.Redact(in.MenuItemID), 80))
		case in.Quantity < 1 || in.Quantity > maxQuantity:
			return v, bad("invalid_items", "quantity of %q must be 1 to %d", item.Name, maxQuantity)
		case seen[item.ID]:
			return v, bad("invalid_items", "%q appears twice; send one line with a quantity", item.Name)
		}
		seen[item.ID] = true
		d.Items = append(d.Items, order.Item{MenuItemID: item.ID, Name: item.Name, Quantity: in.Quantity, UnitPrice: item.Price})
		d.Total += int64(in.Quantity) * item.Price
	}
	v.details, v.cardNumber = d, number
	v.fingerprint = fingerprint(rest.ID, req.Email, d.Items, number, req.CardExpiry)
	return v, nil
}

// fingerprint identifies "the same order" for idempotency without keeping anything from
// which the card number could be recovered: only its length and last four digits go in.
func fingerprint(restaurantID, email string, items []order.Item, number, expiry string) string {
	lines := make([]string, 0, len(items))
	for _, it := range items {
		lines = append(lines, it.MenuItemID+"x"+strconv.Itoa(it.Quantity))
	}
	sort.Strings(lines)
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%d|%s|%s", restaurantID, strings.ToLower(email), strings.Join(lines, ","), len(number), number[len(number)-4:], expiry)
	return hex.EncodeToString(h.Sum(nil))
}

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// newOrderID returns "ord_" and 26 characters: 48 bits of milliseconds then 80 random bits,
// so ids sort by time and cannot be guessed.
func newOrderID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	out := make([]byte, 0, 30)
	out = append(out, "ord_"...)
	var acc uint64
	var bits uint
	for _, c := range b {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			out = append(out, crockford[(acc>>(bits-5))&31])
			bits -= 5
		}
	}
	if bits > 0 {
		out = append(out, crockford[(acc<<(5-bits))&31])
	}
	return string(out)
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
