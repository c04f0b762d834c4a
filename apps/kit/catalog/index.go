package catalog

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Summary is a search result: a restaurant without its menu, plus whether it is
// open at the time of the search. Its first four fields are the seed's response.
type Summary struct {
	ID              string  `json:"id"`
	Name            string  `json:"name"`
	Style           string  `json:"style"`
	Vegetarian      bool    `json:"vegetarian"`
	Delivery        bool    `json:"delivery"`
	Area            string  `json:"area,omitempty"`
	Address         string  `json:"address,omitempty"`
	Rating          float64 `json:"rating"`
	DeliveryMinutes int     `json:"deliveryMinutes,omitempty"`
	Currency        string  `json:"currency"`
	OpenNow         bool    `json:"openNow"`
}

// Index answers searches over one catalog version from memory. It is built once per
// version and never changes afterwards, so any number of goroutines may use it at
// once, and a reload swaps in a whole new Index: no reader sees half of a version.
//
// Restaurants are kept in name order, so the default sort is the natural order of
// the filter bitsets; the other sorts are precomputed permutations.
type Index struct {
	cat   *Catalog
	rs    []*Restaurant // position -> restaurant, in name order
	words int           // uint64 words per bitset

	byID   map[string]int32
	byName map[string]int32
	styles []string

	styleBits map[string]bitset // folded style -> restaurants of that style
	vegBits   bitset
	delBits   bitset

	// nameBlob is every folded name, each preceded by a NUL, so one substring scan
	// of a contiguous string finds restaurant_name matches at memory speed.
	nameBlob  string
	nameStart []int32 // position -> offset of its name in nameBlob (plus a sentinel)
	// trigrams maps every 3-byte run of a folded name to the positions whose name
	// contains it, so a name search verifies only the names that can match.
	trigrams map[uint32][]int32

	// vocab is every folded word of names, styles, areas, menu items and tags,
	// sorted so a query word finds all words it is a prefix of with one search.
	vocab    []string
	postings [][]int32 // vocab index -> positions, ascending; nil when dense
	// dense holds the most common words (tags like vegan, styles) as bitsets:
	// OR-ing words is far cheaper than setting tens of thousands of bits.
	dense map[int]bitset // vocab index -> restaurants

	// Restaurants share a few weekly schedules (zone plus hours); open now is
	// decided once per schedule and looked up per restaurant.
	locs    []*time.Location
	schedOf []int32 // position -> schedule
	scheds  []schedule
	// schedBits holds each schedule's restaurants when there are few schedules
	// (the usual case), so open now is a handful of word-wide ORs.
	schedBits []bitset

	order [sortKinds][]int32 // sort -> positions in that order (nil for name order)
	rank  [sortKinds][]int32 // sort -> position -> rank in that order

	scratch sync.Pool // *scratch

	// heads caches each restaurant's Summary JSON without openNow (see summaryHead),
	// filled on first use: memory only for restaurants that searches return.
	heads []atomic.Pointer[[]byte]
}

type bitset []uint64

// maxSchedBitsets bounds the per-schedule bitsets to 256 * n/8 bytes (3 MiB for
// 100,000 restaurants); a catalog with more distinct schedules tests each match.
const maxSchedBitsets = 256

type schedule struct {
	loc    uint16 // index in locs
	ranges []weekRange
}

// scratch is per-search working memory, pooled so a search allocates only its
// result page.
type scratch struct {
	mask, tmp bitset
	hits      []int32
	page      []int32
	mow       []uint16
	open      []bool
}

// NewIndex builds the search index for a validated catalog (from Parse, Seal or
// Generate). The catalog must not be modified afterwards.
func NewIndex(c *Catalog) *Index {
	n := len(c.Restaurants)
	ix := &Index{
		cat:       c,
		rs:        make([]*Restaurant, n),
		words:     (n + 63) / 64,
		byID:      make(map[string]int32, n),
		byName:    make(map[string]int32, n),
		styleBits: make(map[string]bitset),
	}
	folded := make([]string, n)
	pos := make([]int32, n)
	for i := range c.Restaurants {
		pos[i] = int32(i)
		folded[i] = fold(c.Restaurants[i].Name)
	}
	slices.SortFunc(pos, func(a, b int32) int {
		return cmp.Or(strings.Compare(folded[a], folded[b]), strings.Compare(c.Restaurants[a].ID, c.Restaurants[b].ID))
	})

	ix.vegBits, ix.delBits = make(bitset, ix.words), make(bitset, ix.words)
	ix.nameStart = make([]int32, n+1)
	ix.schedOf = make([]int32, n)
	ix.trigrams = map[uint32][]int32{}
	schedIdx := map[string]int32{}
	var schedKey []byte
	var ranges []weekRange
	var blob strings.Builder
	styleFirst := map[string]string{}
	tokens := newTokenizer()
	postings := map[string][]int32{}
	locIdx := map[string]uint16{}
	for p, i := range pos {
		r := &c.Restaurants[i]
		ix.rs[p] = r
		ix.byID[r.ID] = int32(p)
		ix.byName[lookupKey(r.Name)] = int32(p)
		if r.Vegetarian {
			ix.vegBits.set(p)
		}
		if r.Delivery {
			ix.delBits.set(p)
		}
		st := fold(r.Style)
		if _, ok := ix.styleBits[st]; !ok {
			ix.styleBits[st] = make(bitset, ix.words)
			styleFirst[st] = r.Style
		}
		ix.styleBits[st].set(p)

		ix.nameStart[p] = int32(blob.Len() + 1)
		blob.WriteByte(0)
		name := strings.ReplaceAll(folded[i], "\x00", "")
		blob.WriteString(name)
		for k := 0; k+3 <= len(name); k++ {
			g := trigram(name[k:])
			if ps := ix.trigrams[g]; len(ps) == 0 || ps[len(ps)-1] != int32(p) {
				ix.trigrams[g] = append(ps, int32(p))
			}
		}

		for _, w := range tokens.restaurant(r) {
			postings[w] = append(postings[w], int32(p))
		}

		li, ok := locIdx[r.Timezone]
		if !ok {
			li = uint16(len(ix.locs))
			locIdx[r.Timezone] = li
			ix.locs = append(ix.locs, r.Location())
		}
		ranges = r.Hours.weekRanges(ranges[:0])
		schedKey = append(schedKey[:0], byte(li), byte(li>>8))
		for _, wr := range ranges {
			schedKey = append(schedKey, byte(wr.from), byte(wr.from>>8), byte(wr.to), byte(wr.to>>8))
		}
		si, ok := schedIdx[string(schedKey)]
		if !ok {
			si = int32(len(ix.scheds))
			schedIdx[string(schedKey)] = si
			ix.scheds = append(ix.scheds, schedule{loc: li, ranges: slices.Clone(ranges)})
		}
		ix.schedOf[p] = si
	}
	if len(ix.scheds) <= maxSchedBitsets {
		ix.schedBits = make([]bitset, len(ix.scheds))
		for k := range ix.schedBits {
			ix.schedBits[k] = make(bitset, ix.words)
		}
		for p, si := range ix.schedOf {
			ix.schedBits[si].set(p)
		}
	}
	for g, ps := range ix.trigrams {
		ix.trigrams[g] = slices.Clone(ps) // exact size: append left spare capacity
	}
	ix.nameBlob = blob.String()
	ix.nameStart[n] = int32(len(ix.nameBlob) + 1)

	for st := range styleFirst {
		ix.styles = append(ix.styles, styleFirst[st])
	}
	slices.SortFunc(ix.styles, func(a, b string) int { return cmp.Or(strings.Compare(fold(a), fold(b)), strings.Compare(a, b)) })

	ix.vocab = make([]string, 0, len(postings))
	for w := range postings {
		ix.vocab = append(ix.vocab, w)
	}
	slices.Sort(ix.vocab)
	ix.postings = make([][]int32, len(ix.vocab))
	for k, w := range ix.vocab {
		ix.postings[k] = slices.Clone(postings[w])
	}
	ix.buildDense()

	ix.buildOrder(SortRating, func(a, b *Restaurant) int { return cmp.Compare(b.Rating, a.Rating) })
	ix.buildOrder(SortDelivery, func(a, b *Restaurant) int { return cmp.Compare(deliveryKey(a), deliveryKey(b)) })
	ix.heads = make([]atomic.Pointer[[]byte], n)
	ix.scratch.New = func() any {
		return &scratch{mask: make(bitset, ix.words), tmp: make(bitset, ix.words), mow: make([]uint16, len(ix.locs)), open: make([]bool, len(ix.scheds))}
	}
	return ix
}

// maxDense bounds the dense word bitsets to 64 * n/8 bytes (800 KiB for 100,000
// restaurants).
const maxDense = 64

// buildDense turns the most common words into bitsets: those in more than one
// restaurant in 32, where a bitset is smaller than the list anyway.
func (ix *Index) buildDense() {
	n := len(ix.rs)
	var common []int
	for k, ps := range ix.postings {
		if len(ps)*32 > n && n >= 64 {
			common = append(common, k)
		}
	}
	slices.SortFunc(common, func(a, b int) int { return cmp.Compare(len(ix.postings[b]), len(ix.postings[a])) })
	ix.dense = map[int]bitset{}
	for _, k := range common[:min(len(common), maxDense)] {
		bs := make(bitset, ix.words)
		for _, p := range ix.postings[k] {
			bs.set(int(p))
		}
		ix.dense[k] = bs
		ix.postings[k] = nil
	}
}

// deliveryKey sorts places that do not deliver, or whose time is unknown, last.
func deliveryKey(s *Restaurant) int {
	if !s.Delivery || s.DeliveryMinutes <= 0 {
		return maxDeliveryMins + 1
	}
	return s.DeliveryMinutes
}

// buildOrder records a sort order; a stable sort over name order breaks ties by
// name, then id.
func (ix *Index) buildOrder(k SortKey, less func(a, b *Restaurant) int) {
	s := sortKind(k)
	order := make([]int32, len(ix.rs))
	for p := range order {
		order[p] = int32(p)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return less(ix.rs[a], ix.rs[b]) })
	rank := make([]int32, len(order))
	for r, p := range order {
		rank[p] = int32(r)
	}
	ix.order[s], ix.rank[s] = order, rank
}

// tokenizer folds and splits catalog text, remembering strings already seen:
// menus repeat the same texts across thousands of restaurants.
type tokenizer struct {
	memo map[string][]string
	seen map[string]struct{}
	out  []string
}

func newTokenizer() *tokenizer {
	return &tokenizer{memo: map[string][]string{}, seen: map[string]struct{}{}}
}

// restaurant returns the distinct searchable words of one restaurant.
func (t *tokenizer) restaurant(r *Restaurant) []string {
	t.out = t.out[:0]
	clear(t.seen)
	t.add(r.Name)
	t.add(r.Style)
	t.add(r.Area)
	for _, m := range r.Menu {
		t.add(m.Name)
		for _, tag := range m.Tags {
			t.add(tag)
		}
	}
	return t.out
}

func (t *tokenizer) add(s string) {
	ws, ok := t.memo[s]
	if !ok {
		ws = words(fold(s))
		t.memo[s] = ws
	}
	for _, w := range ws {
		if _, dup := t.seen[w]; !dup {
			t.seen[w] = struct{}{}
			t.out = append(t.out, w)
		}
	}
}

// Search returns one page of the restaurants matching q at instant now, and how
// many match in all. An out-of-range Limit or Offset is clamped rather than
// rejected: ParseQuery is where user input is checked.
func (ix *Index) Search(q Query, now time.Time) (results []Summary, total int) {
	sc := ix.scratch.Get().(*scratch)
	defer ix.scratch.Put(sc)
	page, total := ix.find(q, now, sc)
	results = make([]Summary, 0, len(page))
	for _, p := range page {
		results = append(results, ix.summary(int(p), now))
	}
	return results, total
}

// AppendSearchJSON appends the JSON array of Search's results to dst, followed by a
// newline: the same bytes json.Encoder writes for them. Each restaurant's JSON is encoded
// once per catalog version (on its first appearance in a result) and reused, so a search
// allocates nothing but dst's growth.
func (ix *Index) AppendSearchJSON(dst []byte, q Query, now time.Time) (_ []byte, total int) {
	sc := ix.scratch.Get().(*scratch)
	defer ix.scratch.Put(sc)
	page, total := ix.find(q, now, sc)
	dst = append(dst, '[')
	for i, p := range page {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, ix.summaryHead(p)...)
		if ix.openAt(int(p), now) {
			dst = append(dst, openTrue...)
		} else {
			dst = append(dst, openFalse...)
		}
	}
	return append(dst, ']', '\n'), total
}

// A Summary's JSON ends with its openNow field, the only one that changes with the time.
const (
	openTrue  = `,"openNow":true}`
	openFalse = `,"openNow":false}`
)

// summaryHead is position p's Summary JSON up to (not including) its openNow field.
func (ix *Index) summaryHead(p int32) []byte {
	if h := ix.heads[p].Load(); h != nil {
		return *h
	}
	s := ix.summary(int(p), time.Time{})
	s.OpenNow = false
	b, err := json.Marshal(s)
	if err != nil || !bytes.HasSuffix(b, []byte(openFalse)) {
		panic(fmt.Sprintf("catalog: summary JSON of %q does not end in openNow: %s (%v)", s.ID, b, err))
	}
	h := b[:len(b)-len(openFalse)]
	ix.heads[p].Store(&h)
	return h
}

// find runs a query and returns the positions of its page (held in sc until sc is put
// back) and the number of matches before paging.
func (ix *Index) find(q Query, now time.Time, sc *scratch) (page []int32, total int) {
	n := len(ix.rs)
	sc.page = sc.page[:0]
	if n == 0 {
		return sc.page, 0
	}
	m := sc.mask
	m.fill(n)

	if q.Style != "" {
		bs, ok := ix.styleBits[fold(strings.TrimSpace(q.Style))]
		if !ok {
			return sc.page, 0
		}
		m.and(bs)
	}
	if q.Vegetarian {
		m.and(ix.vegBits)
	}
	if q.Delivery {
		m.and(ix.delBits)
	}
	if q.Text != "" {
		for _, w := range words(fold(q.Text)) {
			ix.matchWord(sc.tmp, w)
			m.and(sc.tmp)
		}
	}
	if name := strings.ReplaceAll(fold(q.Name), "\x00", ""); name != "" {
		ix.matchName(m, sc.tmp, name)
	}
	if q.OpenNow {
		ix.keepOpen(m, sc, now)
	}

	total = m.count()
	limit, offset := q.page()
	if offset >= total {
		return sc.page, total
	}
	want := min(limit, total-offset)
	emit := func(p int32) bool {
		if offset > 0 {
			offset--
			return true
		}
		sc.page = append(sc.page, p)
		return len(sc.page) < want
	}

	s := sortKind(q.Sort)
	switch {
	case s == sortByName:
		m.each(emit)
	case total*32 <= n:
		// Few matches: sorting them by precomputed rank beats scanning the whole order.
		sc.hits = sc.hits[:0]
		m.each(func(p int32) bool { sc.hits = append(sc.hits, p); return true })
		rank := ix.rank[s]
		slices.SortFunc(sc.hits, func(a, b int32) int { return cmp.Compare(rank[a], rank[b]) })
		for _, p := range sc.hits {
			if !emit(p) {
				break
			}
		}
	default:
		for _, p := range ix.order[s] {
			if m.has(int(p)) && !emit(p) {
				break
			}
		}
	}
	return sc.page, total
}

// matchWord sets dst to the restaurants with a word starting with w.
func (ix *Index) matchWord(dst bitset, w string) {
	clear(dst)
	for k := sort.SearchStrings(ix.vocab, w); k < len(ix.vocab) && strings.HasPrefix(ix.vocab[k], w); k++ {
		if bs, ok := ix.dense[k]; ok {
			dst.or(bs)
			continue
		}
		for _, p := range ix.postings[k] {
			dst.set(int(p))
		}
	}
}

// trigram packs three bytes into a map key.
func trigram(s string) uint32 { return uint32(s[0])<<16 | uint32(s[1])<<8 | uint32(s[2]) }

// nameOf is position p's folded name.
func (ix *Index) nameOf(p int32) string { return ix.nameBlob[ix.nameStart[p] : ix.nameStart[p+1]-1] }

// matchName keeps in m the restaurants whose folded name contains name.
func (ix *Index) matchName(m, tmp bitset, name string) {
	if len(name) >= 3 {
		// Only names holding the query's rarest trigram can match; check those.
		var best []int32
		for k := 0; k+3 <= len(name); k++ {
			ps := ix.trigrams[trigram(name[k:])]
			if k == 0 || len(ps) < len(best) {
				best = ps
			}
			if len(ps) == 0 {
				break
			}
		}
		clear(tmp)
		for _, p := range best {
			if m.has(int(p)) && strings.Contains(ix.nameOf(p), name) {
				tmp.set(int(p))
			}
		}
		copy(m, tmp)
		return
	}
	if m.count()*8 < len(ix.rs) {
		// Few candidates left: test each one rather than scan every name.
		m.each(func(p int32) bool {
			if !strings.Contains(ix.nameOf(p), name) {
				m.clear(int(p))
			}
			return true
		})
		return
	}
	clear(tmp)
	blob, at, p := ix.nameBlob, 0, 0
	for {
		k := strings.Index(blob[at:], name)
		if k < 0 {
			break
		}
		hit := at + k
		// Matches come in blob order, so the owning position only moves forward.
		for int(ix.nameStart[p+1]) <= hit {
			p++
		}
		tmp.set(p)
		if p+1 >= len(ix.rs) {
			break
		}
		at = int(ix.nameStart[p+1])
	}
	m.and(tmp)
}

// keepOpen keeps in m the restaurants open at now, converting now once per time
// zone and deciding once per schedule rather than once per restaurant.
func (ix *Index) keepOpen(m bitset, sc *scratch, now time.Time) {
	for k, loc := range ix.locs {
		sc.mow[k] = minuteOfWeek(now.In(loc))
	}
	for k, s := range ix.scheds {
		sc.open[k] = openIn(s.ranges, sc.mow[s.loc])
	}
	if ix.schedBits != nil {
		clear(sc.tmp)
		for k, open := range sc.open {
			if open {
				sc.tmp.or(ix.schedBits[k])
			}
		}
		m.and(sc.tmp)
		return
	}
	m.each(func(p int32) bool {
		if !sc.open[ix.schedOf[p]] {
			m.clear(int(p))
		}
		return true
	})
}

// summary is built per result rather than stored: a page is at most 100
// restaurants, and not storing 100,000 summaries keeps the index small.
func (ix *Index) summary(p int, now time.Time) Summary {
	r := ix.rs[p]
	return Summary{
		ID: r.ID, Name: r.Name, Style: r.Style, Vegetarian: r.Vegetarian, Delivery: r.Delivery,
		Area: r.Area, Address: r.Address, Rating: r.Rating, DeliveryMinutes: r.DeliveryMinutes, Currency: r.Currency,
		OpenNow: ix.openAt(p, now),
	}
}

func (ix *Index) openAt(p int, now time.Time) bool {
	s := &ix.scheds[ix.schedOf[p]]
	return openIn(s.ranges, minuteOfWeek(now.In(ix.locs[s.loc])))
}

// Restaurant returns the restaurant with the given id, menu included. The result
// is shared by every reader and must not be modified.
func (ix *Index) Restaurant(id string) (*Restaurant, bool) {
	p, ok := ix.byID[id]
	if !ok {
		return nil, false
	}
	return ix.rs[p], true
}

// Lookup finds the restaurant an order names: by id, or by its exact name ignoring
// case (seed orders send the name). The result must not be modified.
func (ix *Index) Lookup(nameOrID string) (*Restaurant, bool) {
	if p, ok := ix.byID[nameOrID]; ok {
		return ix.rs[p], true
	}
	key := lookupKey(nameOrID)
	if p, ok := ix.byID[key]; ok {
		return ix.rs[p], true
	}
	if p, ok := ix.byName[key]; ok {
		return ix.rs[p], true
	}
	return nil, false
}

// Styles returns the distinct styles, sorted, for the frontend's style list. The
// caller may modify the returned slice.
func (ix *Index) Styles() []string { return slices.Clone(ix.styles) }

// Len is the number of restaurants.
func (ix *Index) Len() int { return len(ix.rs) }

// Version is the catalog version this index was built from.
func (ix *Index) Version() string { return ix.cat.Version }

// Catalog returns the catalog this index serves; it must not be modified.
func (ix *Index) Catalog() *Catalog { return ix.cat }

func (b bitset) set(p int)      { b[p>>6] |= 1 << (uint(p) & 63) }
func (b bitset) clear(p int)    { b[p>>6] &^= 1 << (uint(p) & 63) }
func (b bitset) has(p int) bool { return b[p>>6]&(1<<(uint(p)&63)) != 0 }

// fill sets the first n bits and clears the rest.
func (b bitset) fill(n int) {
	for i := range b {
		b[i] = ^uint64(0)
	}
	if r := n & 63; r != 0 {
		b[len(b)-1] = 1<<uint(r) - 1
	}
}

func (b bitset) and(o bitset) {
	for i := range b {
		b[i] &= o[i]
	}
}

func (b bitset) or(o bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}

func (b bitset) count() int {
	c := 0
	for _, w := range b {
		c += bits.OnesCount64(w)
	}
	return c
}

// each calls f for every set bit in ascending order until f returns false.
func (b bitset) each(f func(p int32) bool) {
	for i, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			if !f(int32(i<<6 + t)) {
				return
			}
			w &= w - 1
		}
	}
}
