package providers

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	"github.com/redis/go-redis/v9"
)

// Query asks for the nearest providers who can take a job now.
type Query = carehex.LiveQuery

// Candidate is a provider that passed the hard filters: the skill, available,
// fresh, not excluded, within the radius.
type Candidate = carehex.LiveCandidate

// Limits of a query, so one bad request cannot scan a province.
const (
	MaxRadiusM = carehex.LiveMaxRadiusM
	MaxWant    = 1000
)

func (s *Store) check(q *Query) error {
	if err := q.Origin.Validate("origin"); err != nil {
		return err
	}
	if err := validSkill("skill", q.Skill); err != nil {
		return err
	}
	switch {
	case math.IsNaN(q.MaxRadiusM) || q.MaxRadiusM <= 0 || q.MaxRadiusM > MaxRadiusM:
		return carehex.Errorf(carehex.EINVALID, "max_radius_m", "max_radius_m must be above 0 and at most %d", MaxRadiusM)
	case q.Want < 1 || q.Want > MaxWant:
		return carehex.Errorf(carehex.EINVALID, "want", "want must be between 1 and %d", MaxWant)
	case q.MaxAge <= 0:
		return carehex.Errorf(carehex.EINVALID, "max_age", "max heartbeat age must be positive")
	}
	if q.Now.IsZero() {
		q.Now = s.now()
	}
	return nil
}

// Candidates returns up to q.Want providers nearest to q.Origin that pass the
// hard filters, nearest first (ties by ID).
//
// It reads the availability index ring by ring outward from the origin's
// cell (grid disks k = 0, 1, 2 …), one round trip per step, and stops as soon
// as the disk read so far provably holds the q.Want nearest qualified
// providers (a disk reaches geo.CoverRadiusM from its centre cell's centre),
// or covers the whole radius. Everything it filters on is in the index
// itself: the skill picks the sets, membership means available, Redis drops
// stale members by score, and each member carries its position and last
// heartbeat; no provider hash is read.
//
// The index has two resolutions (see Options.IndexRes). Which one a lookup
// reads, and how many rings its first step takes, come from how far the last
// lookup for the same skill and count near the same place had to look: where
// providers are dense the fine cells hold few members each and the answer is
// within a ring or two; where they are sparse the coarse cells reach far in
// a few keys. Usually one round trip either way.
func (s *Store) Candidates(ctx context.Context, q Query) ([]Candidate, error) {
	out, _, err := s.candidates(ctx, q)
	return out, err
}

// LookupStats says how much one H3 lookup read: the resolution it ended at,
// the rings it widened to, the cells and index members it read and its
// round trips to Redis. The dispatch benchmark reports them beside the
// timings; the tests of ring widening check them.
type LookupStats struct {
	Res, Rings, Cells, Scanned, Trips int
}

// CandidatesMeasured is Candidates with the figures of what the lookup read.
func (s *Store) CandidatesMeasured(ctx context.Context, q Query) ([]Candidate, LookupStats, error) {
	return s.candidates(ctx, q)
}

// hit is a qualified index member found by a lookup.
type hit struct {
	d    float64
	m    string // the member: "<id>|<lat>|<lng>|<seen>"
	cell carehex.Cell
}

// fineMaxRings decides the resolution: a lookup reads the fine cells when
// the distance the last lookup nearby had to look lies within this many fine
// rings (19 cells at 2; ~350 m at resolution 9). Farther, the coarse cells
// cover the same ground in a seventh of the keys; nearer, the fine ones hand
// back a seventh of the members.
const fineMaxRings = 2

func (s *Store) candidates(ctx context.Context, q Query) ([]Candidate, LookupStats, error) {
	var stats LookupStats
	if err := s.check(&q); err != nil {
		return nil, stats, err
	}
	coarse, err := geo.CellOf(q.Origin, s.res)
	if err != nil {
		return nil, stats, err
	}
	hk := hintKey{skill: q.Skill, area: coarse, want: q.Want}
	hint := s.hint(hk) // metres the last lookup here had to look; 0 if none

	// Pick the resolution, and the first step's disk: the smallest that
	// reaches the hinted distance (at least one ring; never past the radius).
	origin, res := coarse, s.res
	if hint > 0 {
		fine, err := geo.CellOf(q.Origin, s.res+1)
		if err != nil {
			return nil, stats, err
		}
		rc, err := s.reachOf(fine)
		if err != nil {
			return nil, stats, err
		}
		r, err := rc.radius(fineMaxRings)
		if err != nil {
			return nil, stats, err
		}
		if r-geo.FastDistanceM(q.Origin, rc.centre) >= hint {
			origin, res = fine, s.res+1
		}
	}
	rc, err := s.reachOf(origin)
	if err != nil {
		return nil, stats, err
	}
	// The origin may sit anywhere in its cell; a disk's reach from the
	// origin is its reach from the cell's centre less that offset.
	off := geo.FastDistanceM(q.Origin, rc.centre)
	covers := func(k int) (float64, error) {
		r, err := rc.radius(k)
		return r - off, err
	}
	goal := math.Min(hint, q.MaxRadiusM)
	hi := 1
	for ; hi < maxFirstRings; hi++ {
		r, err := covers(hi)
		if err != nil {
			return nil, stats, err
		}
		if r >= goal {
			break
		}
	}

	// The index keeps whole seconds; a heartbeat in the oldest acceptable
	// second counts.
	oldest := strconv.FormatInt(q.Now.Add(-q.MaxAge).Unix(), 10)
	var skip map[string]bool
	if len(q.Exclude) > 0 {
		skip = make(map[string]bool, len(q.Exclude))
		for _, id := range q.Exclude {
			skip[id] = true
		}
	}
	dist := geo.DistanceFrom(q.Origin)

	var (
		hits  []hit
		cells []carehex.Cell
		cmds  []*redis.StringSliceCmd
		lo    int
	)
	for {
		cells = cells[:0]
		for k := lo; k <= hi; k++ {
			ring, err := geo.Ring(origin, k)
			if err != nil {
				return nil, stats, err
			}
			cells = append(cells, ring...)
		}
		cmds = cmds[:0]
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range cells {
				cmds = append(cmds, p.ZRangeByScore(ctx, indexKey(s.zone, q.Skill, c), &redis.ZRangeBy{Min: oldest, Max: "+inf"}))
			}
			return nil
		})
		if err != nil {
			return nil, stats, s.fail(err, "candidates")
		}
		stats.Trips++
		stats.Cells += len(cells)
		for i, cmd := range cmds {
			for _, m := range cmd.Val() {
				stats.Scanned++
				id, pos, ok := parseMember(m)
				if !ok || skip[id] {
					continue
				}
				if d := dist(pos); d <= q.MaxRadiusM {
					hits = append(hits, hit{d: d, m: m, cell: cells[i]})
				}
			}
		}
		r, err := covers(hi)
		if err != nil {
			return nil, stats, err
		}
		if r >= q.MaxRadiusM || nearer(hits, r) >= q.Want {
			break // nobody outside the disk can be nearer than these
		}
		lo, hi = hi+1, hi+1
	}
	stats.Res, stats.Rings = res, hi+1

	hits = nearest(hits, q.Want)
	// Remember how far this lookup had to look, for the next one nearby.
	need := q.MaxRadiusM
	if len(hits) == q.Want {
		need = math.Max(1, hits[len(hits)-1].d) // 0 would read as "no hint"
	}
	s.setHint(hk, need)

	out := make([]Candidate, 0, len(hits))
	for _, h := range hits {
		id, pos, _ := parseMember(h.m)
		seen, _ := strconv.ParseInt(h.m[strings.LastIndexByte(h.m, '|')+1:], 10, 64)
		out = append(out, Candidate{ProviderID: id, Position: pos, DistanceM: geo.FastDistanceM(q.Origin, pos),
			Cell: h.cell, LastSeen: time.Unix(seen, 0)})
	}
	return out, stats, nil
}

// maxFirstRings bounds the first step however far the hint says to look; a
// wide search goes on ring by ring from there.
const maxFirstRings = 12

// nearest returns the n nearest hits, nearest first (ties by member, so the
// answer is the same every time). A dense lookup finds a few hundred hits to
// return ten: it selects before it sorts.
func nearest(hits []hit, n int) []hit {
	if len(hits) > n {
		lo, hi := 0, len(hits)-1
		for lo < hi { // quickselect: hits[:n] become the n nearest
			p := hits[(lo+hi)/2]
			i, j := lo, hi
			for i <= j {
				for closer(hits[i], p) {
					i++
				}
				for closer(p, hits[j]) {
					j--
				}
				if i <= j {
					hits[i], hits[j] = hits[j], hits[i]
					i++
					j--
				}
			}
			switch {
			case n-1 <= j:
				hi = j
			case n-1 >= i:
				lo = i
			default:
				lo = hi
			}
		}
		hits = hits[:n]
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if closer(a, b) {
			return -1
		}
		if closer(b, a) {
			return 1
		}
		return 0
	})
	return hits
}

func closer(a, b hit) bool { return a.d < b.d || a.d == b.d && a.m < b.m }

// nearer counts the hits within r.
func nearer(hits []hit, r float64) int {
	n := 0
	for i := range hits {
		if hits[i].d <= r {
			n++
		}
	}
	return n
}

func sortCandidates(cs []Candidate) {
	slices.SortFunc(cs, func(a, b Candidate) int {
		if c := cmp.Compare(a.DistanceM, b.DistanceM); c != 0 {
			return c
		}
		return strings.Compare(a.ProviderID, b.ProviderID)
	})
}

// parseMember reads the provider ID and position of an index member
// "<id>|<lat>|<lng>|<seen>"; the time is read only for the members returned.
func parseMember(m string) (id string, pos carehex.LatLng, ok bool) {
	k := strings.LastIndexByte(m, '|')
	if k < 0 {
		return
	}
	j := strings.LastIndexByte(m[:k], '|')
	if j < 0 {
		return
	}
	i := strings.LastIndexByte(m[:j], '|')
	if i < 0 {
		return
	}
	var ok1, ok2 bool
	pos.Lat, ok1 = parseDegrees(m[i+1 : j])
	pos.Lng, ok2 = parseDegrees(m[j+1 : k])
	return m[:i], pos, ok1 && ok2
}

// parseDegrees reads the fixed-point decimals the scripts store ("-36.80123")
// several times faster than strconv.ParseFloat, which matters at a few
// hundred members per lookup; anything else falls back to ParseFloat.
func parseDegrees(v string) (float64, bool) {
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	var n, scale int64 = 0, 1
	dot := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9' && n < 1e15:
			n = n*10 + int64(c-'0')
			if dot {
				scale *= 10
			}
		case c == '.' && !dot:
			dot = true
		default:
			f, err := strconv.ParseFloat(v, 64)
			if neg {
				f = -f
			}
			return f, err == nil
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	f := float64(n) / float64(scale)
	if neg {
		f = -f
	}
	return f, true
}

// hintKey names the lookups a hint is for: the same skill and count wanted
// with the origin in the same coarse index cell.
type hintKey struct {
	skill string
	area  carehex.Cell
	want  int
}

// maxHints bounds the hint cache like maxReachCells.
const maxHints = 100_000

// hint returns how far, in metres, the last lookup for k had to look to find
// its candidates (the radius when it found too few); 0 if there was none.
func (s *Store) hint(k hintKey) float64 {
	s.hintMu.RLock()
	defer s.hintMu.RUnlock()
	return float64(s.hints[k])
}

func (s *Store) setHint(k hintKey, m float64) {
	v := float32(m)
	s.hintMu.RLock()
	same := s.hints[k] == v
	s.hintMu.RUnlock()
	if same {
		return
	}
	s.hintMu.Lock()
	defer s.hintMu.Unlock()
	if len(s.hints) >= maxHints {
		s.hints = map[hintKey]float32{}
	}
	s.hints[k] = v
}

// reach caches, per origin cell, its centre and how far each disk around it
// reaches (geo.CoverRadiusM). The figures depend only on the grid, and
// computing one takes tens of microseconds, more than the lookup itself.
type reach struct {
	origin carehex.Cell
	centre carehex.LatLng

	mu    sync.Mutex
	radii []float64 // radii[k] for the disks read so far; grows on demand
}

// maxReachCells bounds the cache (~200 bytes a cell): a city has a few
// thousand cells at each index resolution; past this the cache starts over
// rather than grow without limit.
const maxReachCells = 100_000

func (s *Store) reachOf(c carehex.Cell) (*reach, error) {
	s.reachMu.RLock()
	r := s.reach[c]
	s.reachMu.RUnlock()
	if r != nil {
		return r, nil
	}
	centre, err := geo.Center(c)
	if err != nil {
		return nil, err
	}
	r = &reach{origin: c, centre: centre}
	s.reachMu.Lock()
	defer s.reachMu.Unlock()
	if old := s.reach[c]; old != nil {
		return old, nil
	}
	if len(s.reach) >= maxReachCells {
		s.reach = map[carehex.Cell]*reach{}
	}
	s.reach[c] = r
	return r, nil
}

// radius returns how far the disk of k rings reaches from the cell centre.
func (r *reach) radius(k int) (float64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.radii) <= k {
		v, err := geo.CoverRadiusM(r.origin, len(r.radii))
		if err != nil {
			return 0, err
		}
		r.radii = append(r.radii, v)
	}
	return r.radii[k], nil
}

// CandidatesGeo answers the same query as Candidates from the Redis GEO set
// (Options.GeoSet) with GEOSEARCH … BYRADIUS … ASC COUNT, applying the same
// hard filters by reading each hit's provider hash in the script. It is the
// baseline the benchmark measures the H3 index against: GEOSEARCH cannot
// stop early, it computes the distance to every member within the radius
// before it sorts, and it knows nothing of skills or status.
func (s *Store) CandidatesGeo(ctx context.Context, q Query) ([]Candidate, error) {
	if !s.geo {
		return nil, carehex.Errorf(carehex.EINVALID, "geo_set", "this store keeps no geo set (Options.GeoSet is off)")
	}
	if err := s.check(&q); err != nil {
		return nil, err
	}
	args := make([]any, 0, 7+len(q.Exclude))
	args = append(args,
		strconv.FormatFloat(q.Origin.Lng, 'f', -1, 64), strconv.FormatFloat(q.Origin.Lat, 'f', -1, 64),
		strconv.FormatFloat(q.MaxRadiusM, 'f', -1, 64), q.Want,
		q.Now.Add(-q.MaxAge).Unix(), q.Skill, s.pPrefix)
	for _, id := range q.Exclude {
		args = append(args, id)
	}
	v, err := geonearScript.Run(ctx, s.rdb, []string{s.geoSet}, args...).StringSlice()
	if err != nil {
		return nil, s.fail(err, "candidates geo")
	}
	out := make([]Candidate, 0, len(v)/6)
	for i := 0; i+5 < len(v); i += 6 {
		lat, _ := strconv.ParseFloat(v[i+1], 64)
		lng, _ := strconv.ParseFloat(v[i+2], 64)
		c := Candidate{ProviderID: v[i], Position: carehex.LatLng{Lat: lat, Lng: lng}, Cell: fineCell(v[i+3]),
			LastSeen: fromMS(v[i+4]).Truncate(time.Second)}
		// The distance to the stored position, as Candidates measures it, so
		// the two answers compare; GEOSEARCH's own (v[i+5]) is to a 52-bit
		// geohash with another earth radius and differs by a metre or so.
		c.DistanceM = geo.FastDistanceM(q.Origin, c.Position)
		out = append(out, c)
	}
	sortCandidates(out)
	return out, nil
}
