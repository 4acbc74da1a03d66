package dispatch_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/dispatch"
)

// rosterCreate puts a provider on the roster only: the live state has never
// heard of them, as after their sign-up or a Redis restart.
func (e *env) rosterCreate(name string, skills ...string) *carehex.Provider {
	e.t.Helper()
	p := &carehex.Provider{Name: name, Phone: "13700000000", Skills: skills, Home: away(500)}
	if err := e.db.CreateProvider(opCtx(), p); err != nil {
		e.t.Fatalf("CreateProvider(%s): %v", name, err)
	}
	return p
}

// TestHeartbeatIntroduces: the first heartbeat of a provider the live state
// does not know brings the roster's skills with it, so they are found for
// work of those skills at once.
func TestHeartbeatIntroduces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.rosterCreate("王芳", "meals")
	if _, err := e.live.Live(ctx, p.ID); carehex.ErrorCode(err) != carehex.ENOTFOUND {
		t.Fatalf("live state before the heartbeat: %v, want none", err)
	}
	st, err := e.eng.Heartbeat(ctx, carehex.Heartbeat{ProviderID: p.ID, Position: away(200), AccuracyM: 8, Available: true})
	if err != nil || st != carehex.LiveAvailable {
		t.Fatalf("Heartbeat = %s, %v; want available", st, err)
	}
	l, err := e.live.Live(ctx, p.ID)
	if err != nil || !slices.Equal(l.Skills, []string{"meals"}) || !l.WantsOffers {
		t.Fatalf("live state %+v, %v; want the roster's skills, wanting offers", l, err)
	}
	r := e.request("meal_delivery", carehex.UrgencySoon)
	if got := e.dispatch(r); len(got) != 1 || got[0].ProviderID != p.ID {
		t.Fatalf("the introduced provider is not offered the request: %v", got)
	}
	// A heartbeat, even one going off duty, leaves an open offer alone.
	if st, err := e.eng.Heartbeat(ctx, carehex.Heartbeat{ProviderID: p.ID, Position: away(200), Available: false}); err != nil ||
		st != carehex.LiveOffered {
		t.Fatalf("Heartbeat while holding an offer = %s, %v; want offered (a heartbeat does not touch an offer)", st, err)
	}
}

// inactiveRoster is the system of record's roster with every provider taken
// off it (the store has no call for that yet; the engine only reads the flag).
type inactiveRoster struct{ dispatch.Store }

func (r inactiveRoster) Provider(ctx context.Context, id string) (*carehex.Provider, error) {
	p, err := r.Store.Provider(ctx, id)
	if p != nil {
		p.Active = false
	}
	return p, err
}

// TestHeartbeatRefuses: nobody unknown to the roster, or off it, gets live
// state; bad input names its field; neither changes anything.
func TestHeartbeatRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.rosterCreate("王芳", "meals")
	eng, err := dispatch.New(e.cfg, dispatch.Deps{Store: inactiveRoster{e.db}, Live: e.live, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		eng   *dispatch.Engine
		hb    carehex.Heartbeat
		code  string
		field string
	}{
		{"off the roster", eng, carehex.Heartbeat{ProviderID: p.ID, Position: zibo, Available: true}, carehex.EFORBIDDEN, ""},
		{"not on the roster", e.eng, carehex.Heartbeat{ProviderID: "prv_nobody", Position: zibo, Available: true}, carehex.ENOTFOUND, ""},
		{"no provider", e.eng, carehex.Heartbeat{Position: zibo, Available: true}, carehex.EINVALID, "provider_id"},
		{"bad latitude", e.eng, carehex.Heartbeat{ProviderID: p.ID, Position: carehex.LatLng{Lat: 91, Lng: 118}}, carehex.EINVALID, ""},
		{"bad accuracy", e.eng, carehex.Heartbeat{ProviderID: p.ID, Position: zibo, AccuracyM: -1}, carehex.EINVALID, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := c.eng.Heartbeat(ctx, c.hb)
			if carehex.ErrorCode(err) != c.code || st != "" {
				t.Fatalf("Heartbeat = %q, %v; want %s", st, err, c.code)
			}
			if c.code == carehex.EINVALID && carehex.ErrorField(err) == "" {
				t.Errorf("%v names no field", err)
			}
			if c.field != "" && carehex.ErrorField(err) != c.field {
				t.Errorf("%v names field %q, want %q", err, carehex.ErrorField(err), c.field)
			}
			if _, err := e.live.Live(ctx, p.ID); carehex.ErrorCode(err) != carehex.ENOTFOUND {
				t.Errorf("a refused heartbeat left live state: %v", err)
			}
		})
	}
}

// TestHeartbeatRepairsBusy: a provider whose visit is over but whom the
// live state still shows busy (the free was lost) is freed by their next
// heartbeat, which reports them available; during the visit it leaves them
// busy.
func TestHeartbeatRepairsBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.provider("甲", away(300))
	r := e.request("meal_delivery", carehex.UrgencySoon)
	v := e.accept(e.dispatch(r)[0])
	hb := carehex.Heartbeat{ProviderID: a.ID, Position: away(100), AccuracyM: 10, Available: true}
	if st, err := e.eng.Heartbeat(ctx, hb); err != nil || st != carehex.LiveBusy {
		t.Fatalf("Heartbeat during the visit = %s, %v; want busy", st, err)
	}
	for _, st := range []carehex.Status{carehex.StatusEnRoute, carehex.StatusInProgress, carehex.StatusCompleted} {
		if _, err := e.db.TransitionVisit(ctx, v.ID, st, "provider:"+a.ID, "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	// Nobody freed the provider when the visit ended.
	if s := e.liveStatus(a.ID); s != carehex.LiveBusy {
		t.Fatalf("provider is %s before the heartbeat, want busy", s)
	}
	if st, err := e.eng.Heartbeat(ctx, hb); err != nil || st != carehex.LiveAvailable {
		t.Fatalf("Heartbeat after the visit = %s, %v; want available", st, err)
	}
	if s := e.liveStatus(a.ID); s != carehex.LiveAvailable {
		t.Fatalf("provider is %s after the heartbeat, want available", s)
	}
	r2 := e.request("meal_delivery", carehex.UrgencySoon)
	if got := e.dispatch(r2); len(got) != 1 || got[0].ProviderID != a.ID {
		t.Fatalf("the repaired provider is not offered the next request: %v", got)
	}
}
