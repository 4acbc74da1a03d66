// Package phones plays simulated carer phones against a running carehex, at
// wall-clock time, so that `make run` dispatches: each phone heartbeats
// near its carer's home, takes offers from the offer stream, accepts after
// a few seconds and walks the visit through depart, arrive and complete,
// as a carer's phone would, through the mobile API's own client
// (mobileclient) and nothing else, placing itself with simulate's Jitter
// and Along. It is for the demo only: the carers it plays are named with
// （演示） (see Prepare) and the server says so when it starts them.
//
// `carehex simulate` plays a whole day on a simulated clock with a model of
// behaviour (shifts, dead phones, refusals); this package is the small
// real-time opposite: every demo carer is on shift, always answers and
// always accepts when free, so a newcomer watching the console sees a
// request go from 待派单 to 已完成 within a minute or two.
package phones

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/stats"
	"github.com/carehex/carehex/matching"
	"github.com/carehex/carehex/mobile-api/mobileclient"
	"github.com/carehex/carehex/simulate"
)

// Mark ends every demo carer's name.
const Mark = "（演示）"

// IsDemo reports whether a provider is one of the demo's phones.
func IsDemo(p *carehex.Provider) bool { return strings.HasSuffix(p.Name, Mark) }

// Prepare turns generated providers into demo carers: marked names and every
// skill, so that whatever the newcomer logs, someone near can take it.
func Prepare(ps []*carehex.Provider, skills []string) {
	for _, p := range ps {
		if !IsDemo(p) {
			p.Name += Mark
		}
		p.Skills = append([]string(nil), skills...)
	}
}

// Phone is one demo carer's phone.
type Phone struct {
	ProviderID string
	Home       carehex.LatLng
	API        *mobileclient.Client // with the carer's device token
}

// Config is how the demo carers behave. Times are wall-clock.
type Config struct {
	Heartbeat   time.Duration // how often a phone reports (the server drops one silent for 2 minutes)
	AnswerAfter time.Duration // a carer looks at an offer after about this long
	DepartAfter time.Duration // and sets off about this long after accepting
	SpeedKmh    float64       // travel speed along the road (an e-bike)
	MaxTravel   time.Duration // travel is cut to this, so the demo keeps moving
	ServiceTime time.Duration // time at the home (shorter than the real service: the visit is flagged short)
	Seed        uint64
	Log         *slog.Logger
}

// DefaultConfig is what `make run` uses.
func DefaultConfig() Config {
	return Config{Heartbeat: 20 * time.Second, AnswerAfter: 4 * time.Second, DepartAfter: 5 * time.Second,
		SpeedKmh: 15, MaxTravel: 45 * time.Second, ServiceTime: 40 * time.Second, Seed: 1}
}

// Run plays the phones until ctx ends, then returns once every phone has
// stopped. It returns an error only for a bad configuration.
func Run(ctx context.Context, phones []Phone, cfg Config) error {
	if cfg.Heartbeat <= 0 || cfg.AnswerAfter < 0 || cfg.DepartAfter < 0 || cfg.SpeedKmh <= 0 || cfg.MaxTravel <= 0 || cfg.ServiceTime < 0 {
		return errors.New("demo phones: Heartbeat, SpeedKmh and MaxTravel must be positive, the other times not negative")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	for i, p := range phones {
		ph := &phone{Phone: p, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i))), pos: p.Home}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ph.run(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// phone is one carer: where it is, and the visit it is on.
type phone struct {
	Phone
	cfg Config
	rng *rand.Rand // used by the phone's own goroutines, under mu

	mu   sync.Mutex
	pos  carehex.LatLng
	trip *trip // set while on a visit
	wake chan struct{}
}

// trip is a visit under way: from where to the home, and when.
type trip struct {
	visitID    string
	from, home carehex.LatLng
	depart     time.Time
	arrive     time.Time
}

// where is the phone's position at now: along the road while travelling.
func (ph *phone) where(now time.Time) carehex.LatLng {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	t := ph.trip
	if t == nil || t.depart.IsZero() || !now.Before(t.arrive) {
		return ph.pos
	}
	return simulate.Along(t.from, t.home, float64(now.Sub(t.depart))/float64(t.arrive.Sub(t.depart)))
}

func (ph *phone) run(ctx context.Context) {
	ph.wake = make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ph.heartbeats(ctx)
	}()
	ph.offers(ctx, &wg)
	wg.Wait()
}

// heartbeats reports the position every Heartbeat, and at once when woken
// (a visit over: free again). A demo carer is always on shift: the server
// knows from its visits when it is busy, as with a real phone.
func (ph *phone) heartbeats(ctx context.Context) {
	t := time.NewTicker(ph.cfg.Heartbeat)
	defer t.Stop()
	for {
		pos := ph.where(time.Now())
		_, err := ph.API.Heartbeat(ctx, mobileclient.Heartbeat{Lat: round6(pos.Lat), Lng: round6(pos.Lng), AccuracyM: 12, Available: true})
		if err != nil && ctx.Err() == nil {
			ph.cfg.Log.Debug("demo.phone_heartbeat", "provider", ph.ProviderID, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-ph.wake:
		}
	}
}

// offers follows the offer stream, reconnecting with a growing pause after
// failures; each offer is answered by its own goroutine, owned by wg.
func (ph *phone) offers(ctx context.Context, wg *sync.WaitGroup) {
	pause := time.Second
	for ctx.Err() == nil {
		err := ph.API.StreamOffers(ctx, func(o mobileclient.Offer) error {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ph.answer(ctx, o)
			}()
			return nil
		})
		if err == nil {
			pause = time.Second // the server ended the stream: reconnect now
			continue
		}
		if ctx.Err() != nil {
			return
		}
		ph.cfg.Log.Debug("demo.phone_stream", "provider", ph.ProviderID, "err", err)
		if !sleep(ctx, pause) {
			return
		}
		pause = min(2*pause, 30*time.Second)
	}
}

// answer looks at the offer after a few seconds: accepted when free,
// declined as busy when on another visit.
func (ph *phone) answer(ctx context.Context, o mobileclient.Offer) {
	if !sleep(ctx, ph.jitter(ph.cfg.AnswerAfter)) {
		return
	}
	ph.mu.Lock()
	busy := ph.trip != nil
	if !busy {
		ph.trip = &trip{} // claimed: a second offer meanwhile is declined
	}
	ph.mu.Unlock()
	if busy {
		_ = ph.API.Decline(ctx, o.ID, carehex.DeclineBusy, "")
		return
	}
	v, err := ph.API.Accept(ctx, o.ID)
	if err != nil || v.Resident == nil {
		// Taken by another carer of a fan-out, expired or withdrawn.
		ph.free()
		return
	}
	ph.cfg.Log.Info("demo.phone_accepted", "provider", ph.ProviderID, "visit", v.ID, "request", v.RequestID)
	ph.visit(ctx, v)
	ph.free()
}

func (ph *phone) free() {
	ph.mu.Lock()
	ph.trip = nil
	ph.mu.Unlock()
	select {
	case ph.wake <- struct{}{}:
	default:
	}
}

// visit walks an accepted visit through depart, arrive and complete.
func (ph *phone) visit(ctx context.Context, v *mobileclient.Visit) {
	home := carehex.LatLng{Lat: v.Resident.Location.Lat, Lng: v.Resident.Location.Lng}
	if !sleep(ctx, ph.jitter(ph.cfg.DepartAfter)) {
		return
	}
	ph.mu.Lock()
	from := ph.pos
	ph.mu.Unlock()
	travel := time.Duration(matching.RoadKM(from, home) / ph.cfg.SpeedKmh * float64(time.Hour))
	travel = min(travel, ph.cfg.MaxTravel)
	now := time.Now()
	ph.mu.Lock()
	ph.trip = &trip{visitID: v.ID, from: from, home: home, depart: now, arrive: now.Add(travel)}
	ph.mu.Unlock()
	if !ph.event(ctx, v.ID, "depart", from) || !sleep(ctx, travel) {
		return
	}
	ph.mu.Lock()
	ph.pos = home
	ph.mu.Unlock()
	if !ph.event(ctx, v.ID, "arrive", ph.near(home, 10)) || !sleep(ctx, ph.jitter(ph.cfg.ServiceTime)) {
		return
	}
	ph.event(ctx, v.ID, "complete", ph.near(home, 10))
	ph.cfg.Log.Info("demo.phone_completed", "provider", ph.ProviderID, "visit", v.ID)
}

// event reports one visit event; false when the server refused it (the
// request was cancelled meanwhile) or ctx ended.
func (ph *phone) event(ctx context.Context, visitID, typ string, at carehex.LatLng) bool {
	_, err := ph.API.RecordVisitEvent(ctx, visitID, mobileclient.VisitEvent{EventID: visitID + "-" + typ, Type: typ,
		Lat: round6(at.Lat), Lng: round6(at.Lng), AccuracyM: 10, DeviceTime: time.Now()})
	if err != nil && ctx.Err() == nil {
		ph.cfg.Log.Info("demo.phone_event_refused", "provider", ph.ProviderID, "visit", visitID, "type", typ, "err", err)
	}
	return err == nil
}

// jitter is d ± 40 %.
func (ph *phone) jitter(d time.Duration) time.Duration {
	ph.mu.Lock()
	f := 0.6 + 0.8*ph.rng.Float64()
	ph.mu.Unlock()
	return time.Duration(float64(d) * f)
}

// near is where the phone reports itself at p: within about m metres.
func (ph *phone) near(p carehex.LatLng, m float64) carehex.LatLng {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return simulate.Jitter(ph.rng, p, m/2)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func round6(v float64) float64 { return stats.Round(v, 6) }

// Describe is the line the server prints when it starts n demo phones.
func Describe(n int) string {
	return fmt.Sprintf("demo: %d simulated carer phones (named …%s) are taking jobs around Zibo; --demo-phones 0 turns them off", n, Mark)
}
