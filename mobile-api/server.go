// Package mobileapi is carehex's phone-facing HTTP/JSON API under /m/v1/:
// care providers' phones (device tokens) heartbeat, receive offers by long
// poll or Server-Sent Events, accept or decline them, and report a visit's
// depart, arrive, complete and no_show events, verified against a geofence
// around the home; family members' phones (family tokens) follow their own
// relative's requests. It owns the HTTP edge: one authentication middleware,
// one error table, body limits, per-token rate limits and strict decoding.
// State lives in the system of record (Store) and the dispatch engine.
package mobileapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/carehex/carehex"
)

// Engine is what the mobile API asks of the dispatcher; *dispatch.Engine
// implements it.
type Engine interface {
	// Offers lists a provider's open offers, oldest first.
	Offers(ctx context.Context, providerID string) ([]*carehex.Offer, error)
	// Accept turns the provider's acceptance of an offer into a visit;
	// accepting an offer already accepted returns its visit again.
	Accept(ctx context.Context, providerID, offerID string) (*carehex.Visit, error)
	// Decline records a refusal; the request goes to the next candidate.
	Decline(ctx context.Context, providerID, offerID, reason string) error
	// Heartbeat records the phone's report and returns the provider's
	// live status, introducing a provider the live state does not know and
	// freeing one whose visit is over.
	Heartbeat(ctx context.Context, hb carehex.Heartbeat) (carehex.LiveStatus, error)
	// FreeIfDone makes a provider whose visit is over available again in
	// the live state (it reports whether anything changed).
	FreeIfDone(ctx context.Context, providerID string) (bool, error)
}

// Live is the providers' live availability, read for the family's
// estimated arrival; *providers.Store implements it.
type Live interface {
	// Live is a provider's last reported position and status.
	Live(ctx context.Context, providerID string) (*carehex.LiveState, error)
}

// Config is how the mobile API behaves. DefaultConfig holds the defaults.
type Config struct {
	// MaxBodyBytes bounds a request body; phones send a few hundred bytes.
	MaxBodyBytes int64
	// RatePerSecond and Burst are each token's bucket: a phone heartbeats
	// every few seconds and sends a backlog of events after a dead zone.
	RatePerSecond float64
	Burst         int
	// GeofenceM is the radius around the home inside which a check-in is
	// verified; the reported accuracy (up to the same radius) widens it.
	GeofenceM float64
	// CheckoutFarM: a check-out further than this from the home is an
	// exception.
	CheckoutFarM float64
	// MaxClockSkew is how far ahead of the server a device time may be;
	// MaxEventAge how old a queued event may be when it finally arrives.
	MaxClockSkew time.Duration
	MaxEventAge  time.Duration
	// Reconcile is how often RunReconcile wakes the phones holding an open
	// offer, and a family stream (or, while RunReconcile is not running, a
	// long poll or offer stream) re-reads its state with no notice having
	// woken it: the safety net for a notice lost between replicas
	// (docs/RELIABILITY.md "Notifications"). Waiters read at once
	// when a notice wakes them, so this is no latency figure; it bounds how
	// late news is when pub/sub dropped it. MaxWait bounds ?wait=;
	// KeepAlive is the SSE comment period; StreamLifetime ends a stream so
	// a phone reconnects (and is re-authenticated) now and then.
	Reconcile      time.Duration
	MaxWait        time.Duration
	KeepAlive      time.Duration
	StreamLifetime time.Duration
	// RevealFor is how long after a visit ends its provider still sees the
	// resident's name and address (need-to-know, invariant 5).
	RevealFor time.Duration
	// DayZone is where "today" is for a provider's day list.
	DayZone *time.Location
	// SpeedKmh turns the distance left into the family's estimated
	// arrival (an e-bike in town, as dispatch assumes).
	SpeedKmh float64
	// FamilyTTL is the lifetime of a family token renewed through
	// POST /m/v1/family/token.
	FamilyTTL time.Duration
	// Hotline is the number the family page offers to call (the district's
	// 12349 elderly-care hotline by default).
	Hotline string

	// MaxPhotoBytes bounds a photo upload (photos.go).
	MaxPhotoBytes int64
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:   16 << 10,
		RatePerSecond:  5,
		Burst:          30,
		GeofenceM:      150,
		CheckoutFarM:   500,
		MaxClockSkew:   carehex.DefaultClockSkew, // the store orders events with the same skew
		MaxEventAge:    7 * 24 * time.Hour,
		Reconcile:      20 * time.Second,
		MaxWait:        55 * time.Second,
		KeepAlive:      25 * time.Second,
		StreamLifetime: 30 * time.Minute,
		RevealFor:      2 * time.Hour,
		DayZone:        time.FixedZone("CST", 8*3600),
		SpeedKmh:       15,
		FamilyTTL:      carehex.FamilyTTL,
		Hotline:        "12349",

		MaxPhotoBytes: 8 << 20,
	}
}

// Validate names the first bad setting.
func (c *Config) Validate() error {
	bad := func(field, msg string) error {
		return carehex.Errorf(carehex.EINVALID, field, "mobile api: %s %s", field, msg)
	}
	switch {
	case c.MaxBodyBytes < 512:
		return bad("MaxBodyBytes", "must be at least 512")
	case c.RatePerSecond <= 0 || c.Burst < 1:
		return bad("RatePerSecond", "and Burst must be positive")
	case c.GeofenceM <= 0 || c.CheckoutFarM < c.GeofenceM:
		return bad("GeofenceM", "must be positive and no more than CheckoutFarM")
	case c.MaxClockSkew <= 0 || c.MaxEventAge <= 0:
		return bad("MaxClockSkew", "and MaxEventAge must be positive")
	case c.Reconcile <= 0 || c.MaxWait <= 0 || c.KeepAlive <= 0 || c.StreamLifetime <= 0:
		return bad("Reconcile", "MaxWait, KeepAlive and StreamLifetime must be positive")
	case c.FamilyTTL <= 0:
		return bad("FamilyTTL", "must be positive")
	case c.SpeedKmh <= 0:
		return bad("SpeedKmh", "must be positive")
	case c.MaxPhotoBytes < 1024:
		return bad("MaxPhotoBytes", "must be at least 1024")
	case c.DayZone == nil:
		return bad("DayZone", "is required")
	case !validHotline(c.Hotline):
		return bad("Hotline", "must be 3 to 20 digits, with - allowed between them (e.g. 12349 or 0533-12349)")
	}
	return nil
}

func validHotline(s string) bool {
	if len(s) < 3 || len(s) > 20 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// Deps is what the server works with.
type Deps struct {
	Store  Store
	Engine Engine
	Live   Live
	// Notices wakes long polls and streams when the store publishes a
	// change of theirs (the provider's offers, the resident's requests);
	// nil: they re-read on the Reconcile timer only.
	Notices carehex.Subscriber
	Clock   carehex.Clock // default time.Now
	Log     *slog.Logger  // default: discard
	// Plans answers the family's upcoming planned visits; nil answers
	// them unavailable.
	Plans PlanStore
	// Evidence keeps visit photos (photos.go); nil answers 503.
	Evidence *Evidence
	// Changes takes a carer's "can't do" and sick day (*plan.Planner);
	// nil answers them unavailable.
	Changes PlanChanger
	// Cards is the district's service-card key (CAREHEX_CARD_KEY); nil:
	// the one kept in the database.
	Cards *carehex.CardKey
}

// Server is the mobile API. It holds no goroutines of its own (streams end
// with their requests) but RunReconcile's, which its caller owns.
type Server struct {
	cfg     Config
	store   Store
	engine  Engine
	live    Live
	notices carehex.Subscriber
	now     carehex.Clock
	log     *slog.Logger
	evv     carehex.EVVRules // from cfg
	limits  *limiter
	edge    edgeLog     // throttled log lines of the edge (edge.go)
	central atomic.Bool // RunReconcile runs: waiters need no reconcile timer of their own (reconcile.go)
	tokens  tokenCache  // provider tokens, dropped on the provider's notice (tokencache.go)
	plans   PlanStore

	evidence *Evidence // photos.go
	changes  PlanChanger
	cards    cardKeys // card.go
}

// New returns a server; it validates cfg and does no I/O.
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Engine == nil || d.Live == nil {
		return nil, errors.New("mobileapi: Store, Engine and Live are required")
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Notices == nil {
		d.Notices = carehex.NoSubscriber{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, store: d.Store, engine: d.Engine, live: d.Live, notices: d.Notices, now: d.Clock, log: d.Log, plans: d.Plans, evidence: d.Evidence, changes: d.Changes,
		evv:    carehex.EVVRules{GeofenceM: cfg.GeofenceM, CheckoutFarM: cfg.CheckoutFarM},
		limits: newLimiter(cfg.RatePerSecond, cfg.Burst)}
	s.cards.key = d.Cards
	return s, nil
}

// Handler serves the API under /m/v1/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	p := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.authed(carehex.KindProvider, h)) }
	f := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.authed(carehex.KindFamily, h)) }

	p("POST /m/v1/heartbeat", s.heartbeat)
	p("GET /m/v1/offers", s.offers)
	p("GET /m/v1/offers/stream", s.offerStream)
	p("POST /m/v1/offers/{id}/accept", s.accept)
	p("POST /m/v1/offers/{id}/decline", s.decline)
	p("GET /m/v1/visits", s.visits)
	p("POST /m/v1/visits/{id}/events", s.visitEvent)
	p("POST /m/v1/visits/{id}/photos", s.visitPhoto)
	p("GET /m/v1/planned", s.carerPlanned)
	p("POST /m/v1/planned/{id}/cant-do", s.cantDo)
	p("POST /m/v1/sick", s.sickToday)
	p("POST /m/v1/visits/{id}/card", s.cardScan)

	f("GET /m/v1/family/visits", s.familyVisits)
	f("GET /m/v1/family/requests/{id}", s.familyRequest)
	f("GET /m/v1/family/stream", s.familyStream)
	f("GET /m/v1/family/upcoming", s.familyUpcoming)
	f("POST /m/v1/family/token", s.renewFamilyToken)
	mux.HandleFunc("GET /m/v1/openapi.yaml", contract)

	mux.HandleFunc("/m/v1/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, carehex.Errorf(carehex.ENOTFOUND, "", "no route %s %s", r.Method, r.URL.Path))
	})
	return s.recoverer(s.logged(mux))
}
