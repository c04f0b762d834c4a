package catalog

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

const (
	minutesPerDay  = 24 * 60
	minutesPerWeek = 7 * minutesPerDay
	// badMinute marks a time that did not parse; validation reports it with its path
	// instead of aborting the decode, so one run lists every bad interval.
	badMinute = 0xFFFF
)

// Hours holds a restaurant's opening intervals per weekday, in its own time zone.
// A struct rather than a map keeps 100,000 restaurants small and makes an unknown
// day name ("tues") an unknown-field error.
type Hours struct {
	Mon []Interval `json:"mon,omitempty"`
	Tue []Interval `json:"tue,omitempty"`
	Wed []Interval `json:"wed,omitempty"`
	Thu []Interval `json:"thu,omitempty"`
	Fri []Interval `json:"fri,omitempty"`
	Sat []Interval `json:"sat,omitempty"`
	Sun []Interval `json:"sun,omitempty"`
}

// dayNames are the JSON keys of Hours, Monday first (the index used internally).
var dayNames = [7]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// days returns the intervals Monday first, so code can loop instead of naming fields.
func (h *Hours) days() [7][]Interval {
	return [7][]Interval{h.Mon, h.Tue, h.Wed, h.Thu, h.Fri, h.Sat, h.Sun}
}

// IsZero reports whether no hours are known; encoding omits them then.
func (h Hours) IsZero() bool {
	for _, d := range h.days() {
		if len(d) > 0 {
			return false
		}
	}
	return true
}

// Interval is one opening period, written ["11:00","23:00"]. A closing time at or
// before the opening time means the period runs past midnight into the next day;
// "24:00" closes at the end of the day.
type Interval struct {
	// Open and Close are minutes after local midnight (Close may be 1440).
	Open, Close uint16
}

// NewInterval builds an interval from "HH:MM" strings, for code that writes catalogs.
func NewInterval(open, close string) (Interval, error) {
	o, okO := parseClock(open, false)
	c, okC := parseClock(close, true)
	if !okO || !okC {
		return Interval{}, fmt.Errorf("catalog: interval [%q, %q]: want HH:MM times", open, close)
	}
	if o == c {
		return Interval{}, fmt.Errorf("catalog: interval [%q, %q] is empty", open, close)
	}
	return Interval{Open: o, Close: c}, nil
}

// MarshalJSON writes the interval as the ["HH:MM","HH:MM"] pair the file uses.
// It writes bytes directly: a 100,000-restaurant catalog has a million intervals,
// and the version hash encodes them all.
func (iv Interval) MarshalJSON() ([]byte, error) {
	if iv.Open == badMinute || iv.Close == badMinute {
		return json.Marshal([2]string{formatClock(iv.Open), formatClock(iv.Close)})
	}
	b := make([]byte, 0, 17)
	b = append(b, '[', '"')
	b = appendClock(b, iv.Open)
	b = append(b, '"', ',', '"')
	b = appendClock(b, iv.Close)
	return append(b, '"', ']'), nil
}

func appendClock(b []byte, m uint16) []byte {
	h, mm := m/60, m%60
	return append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mm/10), byte('0'+mm%10))
}

// UnmarshalJSON reads an ["HH:MM","HH:MM"] pair. A pair of strings that are not
// valid times decodes to a marked interval that validation reports with its path.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	// Fast path for the canonical spelling; anything else goes through the decoder.
	if len(b) == 17 && b[0] == '[' && b[1] == '"' && b[7] == '"' && b[8] == ',' && b[9] == '"' && b[15] == '"' && b[16] == ']' {
		o, okO := parseClock(string(b[2:7]), false)
		c, okC := parseClock(string(b[10:15]), true)
		if okO && okC {
			*iv = Interval{Open: o, Close: c}
			return nil
		}
	}
	var pair []string
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("an opening interval must be [\"HH:MM\",\"HH:MM\"], not %.40s", b)
	}
	o, okO := parseClock(pair[0], false)
	c, okC := parseClock(pair[1], true)
	if !okO {
		o = badMinute
	}
	if !okC {
		c = badMinute
	}
	*iv = Interval{Open: o, Close: c}
	return nil
}

// parseClock reads exactly "HH:MM"; "24:00" only as a closing time.
func parseClock(s string, closing bool) (uint16, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	switch {
	case m > 59:
		return 0, false
	case h == 24 && m == 0 && closing:
		return minutesPerDay, true
	case h > 23:
		return 0, false
	}
	return uint16(h*60 + m), true
}

func formatClock(m uint16) string {
	if m == badMinute {
		return "??:??"
	}
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// weekRange is a half-open span of minutes since Monday 00:00 local time.
type weekRange struct{ from, to uint16 }

// weekRanges appends the hours as spans of the week; a span past Sunday midnight
// wraps to Monday morning.
func (h *Hours) weekRanges(dst []weekRange) []weekRange {
	for d, ivs := range h.days() {
		base := d * minutesPerDay
		for _, iv := range ivs {
			if iv.Open == badMinute || iv.Close == badMinute {
				continue
			}
			from := base + int(iv.Open)
			to := base + int(iv.Close)
			if iv.Close <= iv.Open {
				to += minutesPerDay
			}
			if to > minutesPerWeek {
				dst = append(dst, weekRange{uint16(from), minutesPerWeek}, weekRange{0, uint16(to - minutesPerWeek)})
				continue
			}
			dst = append(dst, weekRange{uint16(from), uint16(to)})
		}
	}
	return dst
}

func openIn(ranges []weekRange, mow uint16) bool {
	for _, r := range ranges {
		if mow >= r.from && mow < r.to {
			return true
		}
	}
	return false
}

// minuteOfWeek is t's minute since Monday 00:00 in t's own location.
func minuteOfWeek(t time.Time) uint16 {
	day := (int(t.Weekday()) + 6) % 7 // time.Weekday starts on Sunday
	return uint16(day*minutesPerDay + t.Hour()*60 + t.Minute())
}

// zones caches time.LoadLocation, which reads the embedded zip on every call:
// 100,000 restaurants share a handful of zones.
var zones sync.Map // string -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimezone
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	// "Local" depends on the machine the API happens to run on; catalogs must not.
	if name == "Local" {
		return nil, fmt.Errorf("time zone %q depends on the server", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}
