// Package providers owns the live availability of care providers: where each
// one last reported being, whether it wants work, the H3 cell index that finds
// the nearest qualified ones, and the atomic claim that reserves one provider
// for one offer and hands out the fencing token the SQL commit checks.
//
// All of it lives in Redis and all of it can be rebuilt: the roster, visits
// and tokens accepted are in the SQL system of record, and Rebuild recreates
// this state from them after Redis lost its data (Lost tells). Redis decides
// fast who may be offered a job; SQL decides last, so a stale claim loses.
//
// Every key is built in keys.go; every script is a .lua file beside this one.
// The same code runs on a single redis-server, on Redis Cluster (one zone's
// keys share a slot) and on miniredis, the in-process server of `carehex
// serve`.
package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	"github.com/redis/go-redis/v9"
)

// The store is the dispatch engine's live availability.
var _ carehex.LiveStore = (*Store)(nil)

// Status is where a provider stands for dispatch (the root's LiveStatus).
type Status = carehex.LiveStatus

const (
	StatusOffline   = carehex.LiveOffline
	StatusAvailable = carehex.LiveAvailable
	StatusOffered   = carehex.LiveOffered
	StatusBusy      = carehex.LiveBusy
)

// statusCodes maps the one-letter codes stored in Redis (keys.go).
var statusCodes = map[string]Status{"o": StatusOffline, "a": StatusAvailable, "f": StatusOffered, "b": StatusBusy}

func statusCode(s Status) string {
	for c, status := range statusCodes {
		if status == s {
			return c
		}
	}
	return ""
}

// Claim failures. They are *carehex.Error values, compared with errors.Is.
var (
	ErrUnknownProvider = carehex.ErrNoLiveState // the same value, so errors.Is matches either name
	ErrNotAvailable    = &carehex.Error{Code: carehex.ECONFLICT, Field: "provider_id",
		Message: "provider is offline or busy"}
	ErrStale = &carehex.Error{Code: carehex.ECONFLICT, Field: "provider_id",
		Message: "provider's last heartbeat is too old"}
	ErrClaimed = &carehex.Error{Code: carehex.ECONFLICT, Field: "provider_id",
		Message: "provider is already offered another request"}
)

// Defaults.
const (
	DefaultZone       = "city"
	DefaultSweepGrace = 5 * time.Second
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// Zone names the dispatch zone (a city). All its keys share the hash tag
	// {Zone}, so one Redis Cluster slot holds the zone; dispatch never
	// crosses zones. Letters, digits, '-', '_' and '.'; default "city".
	Zone string
	// IndexRes is the coarser of the availability index's two H3
	// resolutions; the finer is IndexRes+1. Default geo.IndexRes: 8 (0.74
	// km² cells, 531 m edges) and 9 (0.105 km², 201 m). Changing it on a
	// populated zone needs a Rebuild.
	//
	// Why two: a lookup costs a little per set it reads plus a little per
	// member it gets back, and which term dominates depends on density. In a
	// real city's few thousand providers the 10 nearest take two or three
	// resolution-8 rings, where resolution 9 would read many more rings and
	// resolution 7 would hand back hundreds of members; in a dense centre
	// resolution 9 hands back far fewer members than 8 from a similar number
	// of sets. A lookup picks per place (see Candidates). The finer sets cost
	// memory per provider, little in all. The measurements behind this are in
	// docs/PERFORMANCE.md ("Why two resolutions").
	IndexRes int
	// GeoSet also keeps every provider's position in a Redis GEO set, for
	// CandidatesGeo (the benchmark's comparison). Off by default: it costs
	// memory and a GEOADD per heartbeat and the H3 index does not need it.
	GeoSet bool
	// SweepGrace is how long past its deadline an offer is left to its
	// claimer before Sweep (or another claim) releases it; default 5 s. It
	// covers an accept in flight and clock skew between replicas.
	SweepGrace time.Duration
	// Clock tells the time every script is given; default time.Now.
	Clock carehex.Clock
}

// Store is the live availability of one zone's providers in Redis. It is safe
// for concurrent use.
type Store struct {
	rdb   redis.UniversalClient
	zone  string
	res   int
	geo   bool
	grace time.Duration
	now   carehex.Clock

	// Keys and prefixes of the zone, built once (keys.go).
	offers, geoSet, ready, pPrefix, aPrefix string

	reachMu sync.RWMutex
	reach   map[carehex.Cell]*reach // cover radii by origin cell (candidates.go)
	hintMu  sync.RWMutex
	hints   map[hintKey]float32 // how far the last lookup had to look, by skill, count and place
}

// New returns the Store of one zone. It does no I/O.
func New(rdb redis.UniversalClient, opt Options) (*Store, error) {
	if opt.Zone == "" {
		opt.Zone = DefaultZone
	}
	if len(opt.Zone) > 64 || strings.IndexFunc(opt.Zone, func(r rune) bool {
		return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '-' || r == '_' || r == '.')
	}) >= 0 {
		return nil, carehex.Errorf(carehex.EINVALID, "zone", "zone must be 1 to 64 letters, digits, '-', '_' or '.', got %q", opt.Zone)
	}
	if opt.IndexRes == 0 {
		opt.IndexRes = geo.IndexRes
	}
	if opt.IndexRes < 5 || opt.IndexRes > 10 {
		return nil, carehex.Errorf(carehex.EINVALID, "index_res", "index resolution must be between 5 and 10, got %d", opt.IndexRes)
	}
	if opt.SweepGrace <= 0 {
		opt.SweepGrace = DefaultSweepGrace
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	return &Store{
		rdb: rdb, zone: opt.Zone, res: opt.IndexRes, geo: opt.GeoSet, grace: opt.SweepGrace, now: opt.Clock,
		offers: offersKey(opt.Zone), geoSet: geoKey(opt.Zone), ready: readyKey(opt.Zone),
		pPrefix: providerKeyPrefix(opt.Zone), aPrefix: indexKeyPrefix(opt.Zone),
		reach: map[carehex.Cell]*reach{}, hints: map[hintKey]float32{},
	}, nil
}

// Zone returns the zone the store serves.
func (s *Store) Zone() string { return s.zone }

// IndexRes returns the coarser H3 resolution of the store's availability
// index; the finer one is IndexRes()+1.
func (s *Store) IndexRes() int { return s.res }

// Heartbeat is what a provider's phone reports every few seconds. Heartbeat
// answers ErrUnknownProvider for a provider Redis does not know (new, or
// Redis lost its data) unless Skills are given; the better answer to that
// error is Register with the provider's Snapshot from SQL, which also
// carries its token floor and an open visit, then the heartbeat again.
type Heartbeat = carehex.Heartbeat

// Heartbeat records a provider's position and wish to work and moves it to
// its new cell of the index, atomically. It returns the provider's status
// afterwards: an offer or a visit in progress is not changed by a heartbeat.
func (s *Store) Heartbeat(ctx context.Context, hb Heartbeat) (Status, error) {
	if err := validID("provider_id", hb.ProviderID); err != nil {
		return "", err
	}
	la, ln, cell, err := s.place(hb.Position)
	if err != nil {
		return "", err
	}
	acc, err := accuracy(hb.AccuracyM)
	if err != nil {
		return "", err
	}
	skills := ""
	if hb.Skills != nil {
		if skills, err = joinSkills(hb.Skills); err != nil {
			return "", err
		}
	}
	v, err := heartbeatScript.Run(ctx, s.rdb, []string{providerKey(s.zone, hb.ProviderID), s.geoSet},
		hb.ProviderID, la, ln, acc, cell, s.ms(s.now()), flag(hb.Available), skills, s.aPrefix, flag(s.geo)).Result()
	if err != nil {
		return "", s.fail(err, "heartbeat")
	}
	if n, ok := v.(int64); ok && n == -1 {
		return "", ErrUnknownProvider
	}
	code, _ := v.(string)
	status, ok := statusCodes[code]
	if !ok {
		return "", carehex.Internal(fmt.Errorf("unexpected reply %v", v), "providers: heartbeat")
	}
	return status, nil
}

// Live is one provider's live state, as Redis holds it.
type Live = carehex.LiveState

// Live returns one provider's live state, or ErrUnknownProvider.
func (s *Store) Live(ctx context.Context, providerID string) (*Live, error) {
	if err := validID("provider_id", providerID); err != nil {
		return nil, err
	}
	m, err := s.rdb.HGetAll(ctx, providerKey(s.zone, providerID)).Result()
	if err != nil {
		return nil, s.fail(err, "live")
	}
	if m["s"] == "" { // nothing, or only the fencing counter a rostered visit set (fence.lua)
		return nil, ErrUnknownProvider
	}
	return liveOf(providerID, m), nil
}

// Lives returns the live state of each provider, in order, in one round
// trip (a pipeline): nil for a provider Redis does not know. The console's
// roster and candidate list read a page of carers at once.
func (s *Store) Lives(ctx context.Context, providerIDs []string) ([]*Live, error) {
	for _, id := range providerIDs {
		if err := validID("provider_id", id); err != nil {
			return nil, err
		}
	}
	if len(providerIDs) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(providerIDs))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range providerIDs {
			cmds[i] = p.HGetAll(ctx, providerKey(s.zone, id))
		}
		return nil
	}); err != nil {
		return nil, s.fail(err, "lives")
	}
	out := make([]*Live, len(providerIDs))
	for i, c := range cmds {
		if m := c.Val(); len(m) > 0 {
			out[i] = liveOf(providerIDs[i], m)
		}
	}
	return out, nil
}

// liveOf reads a provider hash (keys.go's fields).
func liveOf(providerID string, m map[string]string) *Live {
	l := &Live{ProviderID: providerID, Status: statusCodes[m["s"]], RequestID: m["r"], WantsOffers: m["w"] == "1"}
	l.Position.Lat, _ = strconv.ParseFloat(m["la"], 64)
	l.Position.Lng, _ = strconv.ParseFloat(m["ln"], 64)
	l.AccuracyM, _ = strconv.ParseFloat(m["ac"], 64)
	l.Cell = fineCell(m["c"])
	l.LastSeen = fromMS(m["t"])
	l.OfferDeadline = fromMS(m["x"])
	l.Token, _ = strconv.ParseUint(m["f"], 10, 64)
	if m["k"] != "" {
		l.Skills = strings.Split(m["k"], ",")
	}
	return l
}

// Remove deletes a provider's live state (taken off the roster). It reports
// whether there was any.
func (s *Store) Remove(ctx context.Context, providerID string) (bool, error) {
	if err := validID("provider_id", providerID); err != nil {
		return false, err
	}
	n, err := removeScript.Run(ctx, s.rdb, []string{providerKey(s.zone, providerID), s.offers, s.geoSet},
		providerID, s.aPrefix).Int()
	if err != nil {
		return false, s.fail(err, "remove")
	}
	return n == 1, nil
}

// place rounds a position to the 5 decimals stored (~1 m, well inside GPS
// error) and returns it with its index cells, coarse and fine, as the
// provider hash's field c holds them. The cells are of the rounded position,
// so a member of a cell's set always lies in that cell.
func (s *Store) place(p carehex.LatLng) (la, ln, cell string, err error) {
	if err := p.Validate("location"); err != nil {
		return "", "", "", err
	}
	if s.geo && math.Abs(p.Lat) > 85.05112878 {
		return "", "", "", carehex.Errorf(carehex.EINVALID, "location.lat", "location.lat must be within ±85.05 for the geo set")
	}
	la = strconv.FormatFloat(p.Lat, 'f', 5, 64)
	ln = strconv.FormatFloat(p.Lng, 'f', 5, 64)
	lat, _ := strconv.ParseFloat(la, 64)
	lng, _ := strconv.ParseFloat(ln, 64)
	at := carehex.LatLng{Lat: lat, Lng: lng}
	c, err := geo.CellOf(at, s.res)
	if err != nil {
		return "", "", "", err
	}
	f, err := geo.CellOf(at, s.res+1)
	if err != nil {
		return "", "", "", err
	}
	return la, ln, geo.String(c) + "," + geo.String(f), nil
}

func accuracy(m float64) (string, error) {
	if math.IsNaN(m) || m < 0 || m > 1e6 {
		return "", carehex.Errorf(carehex.EINVALID, "accuracy_m", "accuracy_m must be between 0 and 1,000,000 metres")
	}
	return strconv.FormatInt(int64(math.Round(m)), 10), nil
}

// validID accepts the IDs of the roster: they become parts of index members
// ("<id>|<lat>|<lng>|<seen>") and of keys, so separators and spaces are
// refused.
func validID(field, id string) error {
	if id == "" {
		return carehex.Errorf(carehex.EINVALID, field, "%s is required", field)
	}
	if len(id) > 64 || strings.ContainsAny(id, "|,{}") || strings.IndexFunc(id, unicode.IsSpace) >= 0 || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return carehex.Errorf(carehex.EINVALID, field, "%s must be at most 64 characters without spaces, '|', ',', '{' or '}'", field)
	}
	return nil
}

// joinSkills checks and joins skills for the comma-separated hash field.
func joinSkills(skills []string) (string, error) {
	if len(skills) == 0 {
		return "", carehex.Errorf(carehex.EINVALID, "skills", "skills must list at least one skill")
	}
	for _, sk := range skills {
		if err := validSkill("skills", sk); err != nil {
			return "", err
		}
	}
	return strings.Join(skills, ","), nil
}

func validSkill(field, sk string) error {
	if sk == "" || len(sk) > carehex.MaxNameLen || strings.ContainsAny(sk, ",|") || strings.IndexFunc(sk, unicode.IsSpace) >= 0 || strings.IndexFunc(sk, unicode.IsControl) >= 0 {
		return carehex.Errorf(carehex.EINVALID, field, "a skill must be 1 to %d characters without spaces, ',' or '|', got %q", carehex.MaxNameLen, sk)
	}
	return nil
}

// fineCell reads the finer of the index cells in a provider hash's field c
// ("<coarse hex>,<fine hex>").
func fineCell(v string) carehex.Cell {
	c, err := geo.Parse(v[strings.LastIndexByte(v, ',')+1:])
	if err != nil {
		return 0
	}
	return c
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// ms renders a time as the Unix milliseconds the scripts compare.
func (s *Store) ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func fromMS(v string) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// fail turns a Redis error into the one error type: EUNAVAILABLE when Redis
// cannot be reached, is not serving, or did not answer before ctx ended
// (callers fail fast and retry later), EINTERNAL for anything else (a script
// bug, a wrong type); the detail is kept for the log only.
func (s *Store) fail(err error, what string) error {
	if err == nil {
		return nil
	}
	var ce *carehex.Error
	if errors.As(err, &ce) {
		return err
	}
	if unreachable(err) {
		return &carehex.Error{Code: carehex.EUNAVAILABLE, Message: "live provider state (Redis) is unavailable; retry shortly",
			Err: fmt.Errorf("providers: %s: %w", what, err)}
	}
	return carehex.Internal(err, "providers: "+what)
}

func unreachable(err error) bool {
	for _, target := range []error{context.DeadlineExceeded, context.Canceled, redis.ErrClosed, redis.ErrPoolTimeout,
		redis.ErrPoolExhausted, io.EOF, io.ErrUnexpectedEOF, syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE} {
		if errors.Is(err, target) {
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// Replies of a server that is up but not serving this zone right now.
	for _, p := range []string{"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "BUSY"} {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return strings.Contains(err.Error(), "cluster has no nodes")
}
