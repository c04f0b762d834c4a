package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Files in the data directory. Both are append-only JSON lines, fsynced per write,
// so an answered request is never forgotten by a restart.
const (
	tokensFile = "tokens.jsonl"
	ledgerFile = "ledger.jsonl"
)

// tokenRecord is what the bank remembers about a card: never the full number.
type tokenRecord struct {
	Token    string    `json:"token"`
	Brand    string    `json:"brand"`
	Last4    string    `json:"last4"`
	ExpMonth int       `json:"expMonth,omitempty"`
	ExpYear  int       `json:"expYear,omitempty"`
	Outcome  outcome   `json:"outcome"`
	Created  time.Time `json:"created"`
}

// Charge statuses.
const (
	statusSucceeded = "succeeded"
	statusDeclined  = "declined"
)

// chargeRecord is one ledger entry; the ledger endpoint shows it as is.
type chargeRecord struct {
	ID             string    `json:"id"`
	Status         string    `json:"status"`
	Code           string    `json:"code,omitempty"`
	Amount         int64     `json:"amount"`
	Currency       string    `json:"currency"`
	OrderID        string    `json:"orderId"`
	Token          string    `json:"token"`
	Brand          string    `json:"brand"`
	Last4          string    `json:"last4"`
	IdempotencyKey string    `json:"idempotencyKey"`
	Created        time.Time `json:"created"`
}

// refundRecord is a full refund of one succeeded charge.
type refundRecord struct {
	ID             string    `json:"id"`
	Status         string    `json:"status"`
	ChargeID       string    `json:"chargeId"`
	Amount         int64     `json:"amount"`
	Currency       string    `json:"currency"`
	OrderID        string    `json:"orderId"`
	IdempotencyKey string    `json:"idempotencyKey"`
	Created        time.Time `json:"created"`
}

// idemRecord is the exact answer given to an idempotency key, kept so a retry gets
// the same bytes back; Body is a string so the bytes survive the JSON round trip.
type idemRecord struct {
	Scope       string `json:"scope"`
	Key         string `json:"key"`
	RequestHash string `json:"requestHash"`
	Status      int    `json:"status"`
	Body        string `json:"body"`
}

// voidRecord closes a charge Idempotency-Key that has no charge: no charge will ever be
// made with it. A client that could not learn whether its charge went through voids the
// key before it tells its customer "not charged", so a late retry cannot charge after all.
type voidRecord struct {
	IdempotencyKey string    `json:"idempotencyKey"`
	Created        time.Time `json:"created"`
}

// ledgerLine is one line of ledger.jsonl: the entry and the answer are written in
// one line so they are durable together or not at all.
type ledgerLine struct {
	Charge      *chargeRecord `json:"charge,omitempty"`
	Refund      *refundRecord `json:"refund,omitempty"`
	Void        *voidRecord   `json:"void,omitempty"`
	Idempotency *idemRecord   `json:"idempotency,omitempty"`
}

// ledgerView is the body of GET /v1/ledger.
type ledgerView struct {
	Charges []chargeRecord `json:"charges"`
	Refunds []refundRecord `json:"refunds"`
	Voids   []voidRecord   `json:"voids"`
	Counts  ledgerCounts   `json:"counts"`
}

// ledgerCounts lets tests count charges without walking the list.
type ledgerCounts struct {
	Succeeded int `json:"succeeded"`
	Declined  int `json:"declined"`
}

// errDuplicateKey means a caller tried to record a second answer for one key; the
// per-key locks make this a programming error, and the store refuses it anyway.
var errDuplicateKey = errors.New("idempotency key already recorded")

// store keeps tokens and the ledger in memory and on disk.
type store struct {
	mu             sync.Mutex
	tokensF        *os.File
	ledgerF        *os.File
	tokens         map[string]tokenRecord
	charges        []chargeRecord
	chargeByID     map[string]int
	refunds        []refundRecord
	refundByCharge map[string]int
	idem           map[string]idemRecord
	voids          []voidRecord
	voided         map[string]int
	// limit bounds tokens plus charges (0: none); refunds and voids, at most one per
	// charge or key, are never refused by it.
	limit int
}

// errLedgerFull is the answer to a new token or charge once the store holds limit of them.
var errLedgerFull = errorf(http.StatusInsufficientStorage, "ledger_full",
	"the bank holds as many tokens and charges as it may (BANK_MAX_RECORDS); answers already given still replay")

// full reports whether a new token or charge would pass the limit. s.mu must be held.
func (s *store) full() bool {
	return s.limit > 0 && len(s.tokens)+len(s.charges) >= s.limit
}

// openStore creates dir if needed and replays both files into memory.
func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	s := &store{
		tokens:         map[string]tokenRecord{},
		chargeByID:     map[string]int{},
		refundByCharge: map[string]int{},
		idem:           map[string]idemRecord{},
		voided:         map[string]int{},
	}
	if err := loadLines(filepath.Join(dir, tokensFile), func(line []byte) error {
		var t tokenRecord
		if err := json.Unmarshal(line, &t); err != nil || t.Token == "" {
			return fmt.Errorf("bad token record: %v", err)
		}
		s.tokens[t.Token] = t
		return nil
	}); err != nil {
		return nil, err
	}
	if err := loadLines(filepath.Join(dir, ledgerFile), func(line []byte) error {
		var l ledgerLine
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("bad ledger record: %w", err)
		}
		s.apply(l)
		return nil
	}); err != nil {
		return nil, err
	}
	var err error
	if s.tokensF, err = openAppend(filepath.Join(dir, tokensFile)); err != nil {
		return nil, err
	}
	if s.ledgerF, err = openAppend(filepath.Join(dir, ledgerFile)); err != nil {
		_ = s.tokensF.Close()
		return nil, err
	}
	return s, nil
}

// loadLines feeds every complete line of path to apply. A last line without its
// newline is a write torn by a crash: its request was never answered, so it is cut
// off. A bad line anywhere else means the file is damaged, and the bank refuses to
// start rather than forget charges.
func loadLines(path string, apply func([]byte) error) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	complete := data
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		complete = data[:i+1]
		if err := os.Truncate(path, int64(len(complete))); err != nil {
			return fmt.Errorf("cut torn last line of %s: %w", filepath.Base(path), err)
		}
	}
	for n, line := range bytes.Split(complete, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if err := apply(line); err != nil {
			return fmt.Errorf("%s line %d: %w", filepath.Base(path), n+1, err)
		}
	}
	return nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	return f, nil
}

// Close releases both files; the data is already on disk.
func (s *store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.tokensF.Close(), s.ledgerF.Close())
}

// appendLine writes one record and waits for the disk: the caller answers the
// client only after this returns nil. Callers hold s.mu.
func appendLine(f *os.File, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(f.Name()), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", filepath.Base(f.Name()), err)
	}
	return nil
}

func idemKey(scope, key string) string { return scope + "\x00" + key }

// apply adds a ledger line to memory. Callers hold s.mu (or own s exclusively).
func (s *store) apply(l ledgerLine) {
	if l.Charge != nil {
		s.chargeByID[l.Charge.ID] = len(s.charges)
		s.charges = append(s.charges, *l.Charge)
	}
	if l.Refund != nil {
		s.refundByCharge[l.Refund.ChargeID] = len(s.refunds)
		s.refunds = append(s.refunds, *l.Refund)
	}
	if l.Void != nil {
		s.voided[l.Void.IdempotencyKey] = len(s.voids)
		s.voids = append(s.voids, *l.Void)
	}
	if l.Idempotency != nil {
		s.idem[idemKey(l.Idempotency.Scope, l.Idempotency.Key)] = *l.Idempotency
	}
}

// saveToken persists a new token.
func (s *store) saveToken(t tokenRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full() {
		return errLedgerFull
	}
	if err := appendLine(s.tokensF, t); err != nil {
		return err
	}
	s.tokens[t.Token] = t
	return nil
}

// token looks a token up.
func (s *store) token(id string) (tokenRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	return t, ok
}

// idempotent returns the answer already given to key in scope, if any.
func (s *store) idempotent(scope, key string) (idemRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.idem[idemKey(scope, key)]
	return r, ok
}

// voidedKey returns the void of a charge key, if it was voided.
func (s *store) voidedKey(key string) (voidRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.voided[key]
	if !ok {
		return voidRecord{}, false
	}
	return s.voids[i], true
}

// void makes a charge key's void durable. Callers hold the key's lock and have checked
// that the key has no charge.
func (s *store) void(v voidRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.voided[v.IdempotencyKey]; dup {
		return nil
	}
	if _, charged := s.idem[idemKey(scopeCharges, v.IdempotencyKey)]; charged {
		return errDuplicateKey
	}
	if err := appendLine(s.ledgerF, ledgerLine{Void: &v}); err != nil {
		return err
	}
	s.apply(ledgerLine{Void: &v})
	return nil
}

// charge looks a charge up by id.
func (s *store) charge(id string) (chargeRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.chargeByID[id]
	if !ok {
		return chargeRecord{}, false
	}
	return s.charges[i], true
}

// refundFor returns the refund of a charge, if it was refunded.
func (s *store) refundFor(chargeID string) (refundRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.refundByCharge[chargeID]
	if !ok {
		return refundRecord{}, false
	}
	return s.refunds[i], true
}

// record makes a ledger line durable and visible. It needs an idempotency answer
// and refuses a key that already has one.
func (s *store) record(l ledgerLine) error {
	if l.Idempotency == nil {
		return errors.New("ledger line without idempotency record")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.idem[idemKey(l.Idempotency.Scope, l.Idempotency.Key)]; dup {
		return errDuplicateKey
	}
	if l.Charge != nil && s.full() {
		return errLedgerFull
	}
	if l.Refund != nil {
		if _, dup := s.refundByCharge[l.Refund.ChargeID]; dup {
			return fmt.Errorf("charge %s already refunded", l.Refund.ChargeID)
		}
	}
	if err := appendLine(s.ledgerF, l); err != nil {
		return err
	}
	s.apply(l)
	return nil
}

// ledger lists charges and refunds, only those of orderID when it is not empty.
func (s *store) ledger(orderID string) ledgerView {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := ledgerView{Charges: []chargeRecord{}, Refunds: []refundRecord{}, Voids: []voidRecord{}}
	for _, c := range s.charges {
		if orderID != "" && c.OrderID != orderID {
			continue
		}
		v.Charges = append(v.Charges, c)
		switch c.Status {
		case statusSucceeded:
			v.Counts.Succeeded++
		case statusDeclined:
			v.Counts.Declined++
		}
	}
	for _, r := range s.refunds {
		if orderID == "" || r.OrderID == orderID {
			v.Refunds = append(v.Refunds, r)
		}
	}
	if orderID == "" {
		v.Voids = append(v.Voids, s.voids...)
	} else if i, ok := s.voided[orderID]; ok {
		// The services use the order id as the charge key.
		v.Voids = append(v.Voids, s.voids[i])
	}
	return v
}

// keyLocks serialises requests that share an idempotency key (or a charge being
// refunded) without making unrelated requests wait for a slow one.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

// lock blocks until key is free and returns its unlock function; entries are
// dropped when nobody holds or waits for them, so the map does not grow forever.
func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l, ok := k.m[key]
	if !ok {
		l = &keyLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()

	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
