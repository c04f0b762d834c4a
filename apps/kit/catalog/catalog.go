// Package catalog is the restaurant catalog: its file format, the validation that
// keeps a bad file from ever being served, and the in-memory search index the API
// answers from. The catalog file is the one source of truth: the local stack reads
// it from disk and the Helm chart ships the same file as a ConfigMap.
package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	// The API and loader run on distroless images without /usr/share/zoneinfo;
	// embedding the zone database keeps opening hours correct there.
	_ "time/tzdata"
)

// Defaults applied by Parse when a restaurant leaves the field out. The system
// started in Israel, so a catalog written for it needs no boilerplate.
const (
	DefaultTimezone = "Asia/Jerusalem"
	DefaultCurrency = "ILS"
)

// Limits keep one bad or hostile file from exhausting the loader or the API. The
// shipped catalog is a ConfigMap (at most 1 MiB); the larger limits leave room for
// generated benchmark catalogs of 100,000 restaurants.
const (
	MaxCatalogBytes   = 256 << 20
	MaxRestaurants    = 200_000
	MaxMenuItems      = 200
	MaxTags           = 16
	MaxIntervalsDay   = 4
	maxIDLen          = 64
	maxNameLen        = 120
	maxTextLen        = 200
	maxDescriptionLen = 500
	maxTagLen         = 32
	maxDeliveryMins   = 24 * 60
	maxPrice          = 100_000_000 // one million in major units: a typo guard, not a business rule
)

// Catalog is a whole, validated set of restaurants. Values returned by Parse are
// never modified afterwards, which is what lets one Index be shared by every reader.
type Catalog struct {
	// Restaurants in file order.
	Restaurants []Restaurant `json:"restaurants"`
	// Version identifies the content: a short hash of the canonical encoding, so the
	// same restaurants give the same version however the file was formatted.
	Version string `json:"-"`
}

// Restaurant is one place a user can find and order from. The seed's fields
// (name, style, vegetarian, delivery) keep their names and meaning.
type Restaurant struct {
	// ID is a stable slug (lower-case letters, digits, single dashes); orders and
	// URLs use it, so it must not change when the name does.
	ID    string `json:"id"`
	Name  string `json:"name"`
	Style string `json:"style"`
	// Vegetarian marks a place where a vegetarian can eat well (seed semantics).
	Vegetarian bool `json:"vegetarian"`
	// Delivery marks a place that delivers (seed semantics).
	Delivery bool   `json:"delivery"`
	Area     string `json:"area,omitempty"`
	Address  string `json:"address,omitempty"`
	// Timezone is an IANA zone name; opening hours are local to it.
	Timezone string `json:"timezone,omitempty"`
	// Hours are the weekly opening intervals; a restaurant without hours is never
	// reported as open now, because we do not know.
	Hours Hours `json:"hours,omitzero"`
	// Rating is 0 to 5.
	Rating float64 `json:"rating"`
	// DeliveryMinutes is the typical delivery time; 0 means unknown.
	DeliveryMinutes int `json:"deliveryMinutes,omitempty"`
	// Currency is the ISO 4217 code every menu price is in.
	Currency string     `json:"currency,omitempty"`
	Menu     []MenuItem `json:"menu,omitempty"`
}

// MenuItem is one thing on a restaurant's menu. Orders carry only its ID and a
// quantity: the price always comes from here, never from the client.
type MenuItem struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Price is in minor units of the restaurant's currency (agorot for ILS), so
	// totals are exact integer sums.
	Price int64 `json:"price"`
	// Tags are dietary and taste labels such as vegetarian, vegan, spicy, gluten-free.
	Tags []string `json:"tags,omitempty"`
}

// Item returns the menu item with the given id.
func (r *Restaurant) Item(id string) (MenuItem, bool) {
	for _, m := range r.Menu {
		if m.ID == id {
			return m, true
		}
	}
	return MenuItem{}, false
}

// Location is the restaurant's time zone. Parse has already checked the name, so
// this only falls back to UTC for a Restaurant built by hand with a bad zone.
func (r *Restaurant) Location() *time.Location {
	loc, err := loadLocation(r.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// OpenAt reports whether the restaurant is open at instant t, in its own zone.
func (r *Restaurant) OpenAt(t time.Time) bool {
	ranges := r.Hours.weekRanges(nil)
	return openIn(ranges, minuteOfWeek(t.In(r.Location())))
}

// file is the on-disk shape; a pointer lets Parse tell a missing list from an empty one.
type file struct {
	Restaurants *[]Restaurant `json:"restaurants"`
}

// Parse decodes and validates a catalog file. It rejects bad JSON, unknown fields,
// duplicate ids and names, missing required fields, negative prices, bad ratings,
// hours and time zones; the *ParseError lists every problem found on one line, so
// one log line tells an operator what to fix. Defaults are filled in, and the
// returned catalog carries its content Version.
func Parse(data []byte) (*Catalog, error) {
	if len(data) > MaxCatalogBytes {
		return nil, &ParseError{Problems: []string{fmt.Sprintf("file is %d bytes, more than the %d allowed", len(data), MaxCatalogBytes)}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, &ParseError{Problems: []string{"invalid JSON: " + jsonProblem(err)}}
	}
	if dec.More() {
		return nil, &ParseError{Problems: []string{"invalid JSON: unexpected data after the catalog object"}}
	}
	if f.Restaurants == nil {
		return nil, &ParseError{Problems: []string{"restaurants missing"}}
	}
	c := &Catalog{Restaurants: *f.Restaurants}
	if err := c.normalize(true); err != nil {
		return nil, err
	}
	v, err := c.computeVersion()
	if err != nil {
		return nil, fmt.Errorf("catalog: encode canonical form: %w", err)
	}
	c.Version = v
	return c, nil
}

// Marshal returns the canonical encoding of the catalog: compact JSON in file order
// with defaults filled in. Parse(Marshal(c)) gives back the same catalog and version.
func (c *Catalog) Marshal() ([]byte, error) {
	return json.Marshal(c)
}

// computeVersion hashes the canonical bytes; 12 bytes of SHA-256 are plenty to tell
// catalog versions apart while staying short in logs and headers.
func (c *Catalog) computeVersion() (string, error) {
	// Streaming into the hash avoids holding a second copy of a large catalog.
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// Seal validates a catalog built in code (by a generator or a test), fills in
// defaults and sets its Version, exactly as Parse would for the same content.
func (c *Catalog) Seal() error {
	if err := c.normalize(false); err != nil {
		return err
	}
	v, err := c.computeVersion()
	if err != nil {
		return fmt.Errorf("catalog: encode canonical form: %w", err)
	}
	c.Version = v
	return nil
}

// jsonProblem turns encoding/json's errors into something an operator can act on,
// with the byte offset that locates the mistake in the file.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case asError(err, &syn):
		return fmt.Sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	case asError(err, &typ):
		where := typ.Field
		if where == "" {
			where = "value"
		}
		return fmt.Sprintf("%s must be %s, not %s (at byte %d)", where, typ.Type, typ.Value, typ.Offset)
	default:
		return err.Error()
	}
}
