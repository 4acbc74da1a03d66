package dispatch

import (
	"fmt"
	"math"
	"time"

	"github.com/carehex/carehex"
)

// Config is how the engine matches. DefaultConfig holds the defaults; the
// binary overrides them from flags and environment and New validates the
// result, so a bad setting stops the process at start with a message saying
// which and why.
type Config struct {
	// OfferTTL is how long a provider has to answer an offer; the Redis
	// claim behind it lasts as long.
	OfferTTL time.Duration
	// ExpiryGrace is how long past its expiry an offer is left open before
	// Tick closes it, so an accept that started in time can still commit.
	// Keep it below the providers store's sweep grace (5 s), so Tick, not
	// the sweep, is what normally ends an offer.
	ExpiryGrace time.Duration
	// HeartbeatMaxAge: a provider whose phone has not reported for longer
	// is not offered anything (the phone may be off or out of coverage).
	HeartbeatMaxAge time.Duration
	// ScheduleLead is how long before its window a scheduled request is
	// dispatched: early enough to find someone, late enough that the
	// provider's plans for the day are known.
	ScheduleLead time.Duration
	// CommitAhead: an accepted visit starting within this is the provider's
	// job now, and Redis marks them busy. A visit booked further ahead
	// leaves them available for work before it; SQL's overlap check keeps
	// later offers out of its slot.
	CommitAhead time.Duration
	// RealertAfter is how long an engine waits before raising an alert of
	// the same kind for the same request again once an operator has
	// acknowledged it (the store keeps one unacknowledged alert anyway).
	RealertAfter time.Duration
	// SpeedKmh turns distance into the travel-time estimate of a carer
	// with no working hours on record: an e-bike in town, ~15 km/h door to
	// door. A carer with working hours travels at their mode's speed
	// (carehex.TravelMode.SpeedKMH; eta in hours.go).
	SpeedKmh float64
	// Batch bounds the requests, and the due offers, one Tick handles;
	// the rest wait for the next one.
	Batch int
	// Workers is how many requests one Tick dispatches at once.
	Workers int
	// RedisTimeout bounds each call to the live availability store, so a
	// Redis outage fails fast (EUNAVAILABLE) instead of hanging requests.
	RedisTimeout time.Duration
	// DayZone is where "today" is for the fair-share count.
	DayZone *time.Location
	// LiveCheck is how often Run asks Redis, and Redis alone, whether it
	// lost the zone (then the zone is rebuilt from SQL) and sweeps the
	// claims of replicas that died. Two Redis calls per check, no SQL.
	LiveCheck time.Duration
	// LateGrace is how long past a visit's planned start the provider may
	// arrive before CheckOverdue raises a carehex.ExceptionLateArrival
	// alert.
	LateGrace time.Duration

	// Per urgency class.
	Emergency, Soon, Scheduled ClassConfig

	Weights Weights

	// Via is two-tier dispatch: the services routed to an organisation
	// first (orgroute.go).
	Via OrgRouting
}

// ClassConfig is how widely and how fast one urgency class is dispatched.
type ClassConfig struct {
	// The search starts within StartRadiusM of the home and doubles the
	// radius, up to MaxRadiusM, until Enough qualified providers are in it.
	StartRadiusM float64
	MaxRadiusM   float64
	// Enough qualified candidates stop the widening; at most Want of the
	// nearest are ranked.
	Enough int
	Want   int
	// FanOut is how many providers hold an offer of the request at once:
	// several for an emergency (the first to accept wins), one for routine
	// work (nobody is asked to rush for a job that goes to someone else).
	FanOut int
	// Deadline is when an unaccepted request becomes an operator alert:
	// for emergency and soon, measured from the request's creation; for
	// scheduled, from the window's start (0: at the start, -30m: half an
	// hour before it).
	Deadline time.Duration
}

// Weights of the soft ranking, in minutes of travel time: a bonus of 8 means
// "worth 8 more minutes on the road". Each candidate's score is the sum of
// value × weight over the factors, and the console shows every term.
type Weights struct {
	TravelPerMinute float64 // per minute of estimated travel; negative
	Continuity      float64 // has served this resident before
	Preferred       float64 // on the resident's preferred list
	Gender          float64 // of the gender the resident prefers
	Language        float64 // speaks the resident's language or dialect
	VisitToday      float64 // per visit the provider already has today; negative, for a fair share
}

// chinaStandardTime is UTC+8 without DST, the zone of the hotlines; a fixed
// zone needs no tzdata on the host.
var chinaStandardTime = time.FixedZone("CST", 8*3600)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		OfferTTL:        45 * time.Second,
		ExpiryGrace:     2 * time.Second,
		HeartbeatMaxAge: 2 * time.Minute,
		ScheduleLead:    2 * time.Hour,
		CommitAhead:     30 * time.Minute,
		RealertAfter:    10 * time.Minute,
		SpeedKmh:        15,
		Batch:           100,
		Workers:         4,
		RedisTimeout:    2 * time.Second,
		DayZone:         chinaStandardTime,
		LateGrace:       15 * time.Minute,
		LiveCheck:       time.Second,
		// An emergency goes wide and to three at once; 8 km is ~30
		// minutes by e-bike, the most a fall can wait for a first helper
		// before the operator calls 120 instead.
		Emergency: ClassConfig{StartRadiusM: 3000, MaxRadiusM: 8000, Enough: 3, Want: 10, FanOut: 3, Deadline: 3 * time.Minute},
		Soon:      ClassConfig{StartRadiusM: 2000, MaxRadiusM: 5000, Enough: 3, Want: 10, FanOut: 1, Deadline: 15 * time.Minute},
		Scheduled: ClassConfig{StartRadiusM: 3000, MaxRadiusM: 5000, Enough: 3, Want: 10, FanOut: 1, Deadline: 0},
		Weights: Weights{
			TravelPerMinute: -1,
			Continuity:      8,
			Preferred:       12,
			Gender:          6,
			Language:        4,
			VisitToday:      -1.5,
		},
		Via: OrgRouting{Soon: 10 * time.Minute, Scheduled: 30 * time.Minute},
	}
}

// Class returns the settings of an urgency class.
func (c *Config) Class(class carehex.UrgencyClass) ClassConfig {
	switch class {
	case carehex.ClassEmergency:
		return c.Emergency
	case carehex.ClassScheduled:
		return c.Scheduled
	default:
		return c.Soon
	}
}

// Validate checks every setting and names the first bad one.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return carehex.Errorf(carehex.EINVALID, field, "dispatch: "+field+" "+format, args...)
	}
	between := func(field string, d, lo, hi time.Duration) error {
		if d < lo || d > hi {
			return bad(field, "must be between %s and %s, got %s", lo, hi, d)
		}
		return nil
	}
	for _, chk := range []error{
		between("offer_ttl", c.OfferTTL, time.Second, time.Hour),
		between("expiry_grace", c.ExpiryGrace, 0, time.Minute),
		between("heartbeat_max_age", c.HeartbeatMaxAge, time.Second, time.Hour),
		between("schedule_lead", c.ScheduleLead, 0, 7*24*time.Hour),
		between("commit_ahead", c.CommitAhead, 0, 24*time.Hour),
		between("realert_after", c.RealertAfter, time.Second, 24*time.Hour),
		between("redis_timeout", c.RedisTimeout, 10*time.Millisecond, time.Minute),
		between("late_grace", c.LateGrace, time.Second, 24*time.Hour),
		between("live_check", c.LiveCheck, 10*time.Millisecond, time.Minute),
	} {
		if chk != nil {
			return chk
		}
	}
	switch {
	case math.IsNaN(c.SpeedKmh) || c.SpeedKmh < 1 || c.SpeedKmh > 200:
		return bad("speed_kmh", "must be between 1 and 200, got %g", c.SpeedKmh)
	case c.Batch < 1 || c.Batch > 1000:
		return bad("batch", "must be between 1 and 1000, got %d", c.Batch)
	case c.Workers < 1 || c.Workers > 64:
		return bad("workers", "must be between 1 and 64, got %d", c.Workers)
	case c.DayZone == nil:
		return bad("day_zone", "is required (the zone in which \"today\" is counted)")
	}
	for _, cl := range []struct {
		name string
		c    ClassConfig
	}{{"emergency", c.Emergency}, {"soon", c.Soon}, {"scheduled", c.Scheduled}} {
		if err := cl.c.validate(cl.name, c.ScheduleLead); err != nil {
			return err
		}
	}
	if err := c.Via.validate(); err != nil {
		return err
	}
	w := c.Weights
	for _, f := range []struct {
		name string
		v    float64
		sign float64 // +1: must not be negative; -1: must not be positive
	}{
		{"travel_per_minute", w.TravelPerMinute, -1}, {"continuity", w.Continuity, 1}, {"preferred", w.Preferred, 1},
		{"gender", w.Gender, 1}, {"language", w.Language, 1}, {"visit_today", w.VisitToday, -1},
	} {
		switch {
		case math.IsNaN(f.v) || math.IsInf(f.v, 0) || math.Abs(f.v) > 1000:
			return bad("weights."+f.name, "must be a number between -1000 and 1000, got %g", f.v)
		case f.v*f.sign < 0 && f.sign > 0:
			return bad("weights."+f.name, "is a bonus and must not be negative, got %g", f.v)
		case f.v*f.sign < 0:
			return bad("weights."+f.name, "is a cost and must not be positive, got %g", f.v)
		}
	}
	return nil
}

func (cc ClassConfig) validate(class string, lead time.Duration) error {
	bad := func(field, format string, args ...any) error {
		f := class + "." + field
		return carehex.Errorf(carehex.EINVALID, f, "dispatch: "+f+" "+format, args...)
	}
	switch {
	case math.IsNaN(cc.StartRadiusM) || cc.StartRadiusM < 100:
		return bad("start_radius_m", "must be at least 100, got %g", cc.StartRadiusM)
	case math.IsNaN(cc.MaxRadiusM) || cc.MaxRadiusM < cc.StartRadiusM || cc.MaxRadiusM > carehex.LiveMaxRadiusM:
		return bad("max_radius_m", "must be between start_radius_m (%g) and %d, got %g", cc.StartRadiusM, carehex.LiveMaxRadiusM, cc.MaxRadiusM)
	case cc.Want < 1 || cc.Want > 100:
		return bad("want", "must be between 1 and 100, got %d", cc.Want)
	case cc.Enough < 1 || cc.Enough > cc.Want:
		return bad("enough", "must be between 1 and want (%d), got %d", cc.Want, cc.Enough)
	case cc.FanOut < 1 || cc.FanOut > min(cc.Want, 10):
		return bad("fan_out", "must be between 1 and %d, got %d", min(cc.Want, 10), cc.FanOut)
	}
	if class == "scheduled" {
		if cc.Deadline < -lead || cc.Deadline > 24*time.Hour {
			return bad("deadline", "must be between -schedule_lead (%s) and 24h after the window start, got %s", -lead, cc.Deadline)
		}
	} else if cc.Deadline < 10*time.Second || cc.Deadline > 24*time.Hour {
		return bad("deadline", "must be between 10s and 24h, got %s", cc.Deadline)
	}
	return nil
}

// String summarises the settings for the start-up log.
func (c *Config) String() string {
	return fmt.Sprintf("offer_ttl=%s heartbeat_max_age=%s schedule_lead=%s emergency=%gkm×%d soon=%gkm scheduled=%gkm",
		c.OfferTTL, c.HeartbeatMaxAge, c.ScheduleLead, c.Emergency.MaxRadiusM/1000, c.Emergency.FanOut,
		c.Soon.MaxRadiusM/1000, c.Scheduled.MaxRadiusM/1000)
}
