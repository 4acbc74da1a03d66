package dispatch_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/dispatch"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	def := dispatch.DefaultConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("DefaultConfig does not validate: %v", err)
	}
	tests := []struct {
		field string
		edit  func(c *dispatch.Config)
	}{
		{"offer_ttl", func(c *dispatch.Config) { c.OfferTTL = 0 }},
		{"heartbeat_max_age", func(c *dispatch.Config) { c.HeartbeatMaxAge = -time.Second }},
		{"expiry_grace", func(c *dispatch.Config) { c.ExpiryGrace = time.Hour }},
		{"redis_timeout", func(c *dispatch.Config) { c.RedisTimeout = 0 }},
		{"speed_kmh", func(c *dispatch.Config) { c.SpeedKmh = math.NaN() }},
		{"batch", func(c *dispatch.Config) { c.Batch = 0 }},
		{"workers", func(c *dispatch.Config) { c.Workers = 0 }},
		{"day_zone", func(c *dispatch.Config) { c.DayZone = nil }},
		{"emergency.start_radius_m", func(c *dispatch.Config) { c.Emergency.StartRadiusM = 0 }},
		{"soon.max_radius_m", func(c *dispatch.Config) { c.Soon.MaxRadiusM = 1000 }},
		{"soon.max_radius_m", func(c *dispatch.Config) { c.Soon.MaxRadiusM = 60_000 }},
		{"scheduled.want", func(c *dispatch.Config) { c.Scheduled.Want = 0 }},
		{"soon.enough", func(c *dispatch.Config) { c.Soon.Enough = 11 }},
		{"emergency.fan_out", func(c *dispatch.Config) { c.Emergency.FanOut = 0 }},
		{"emergency.deadline", func(c *dispatch.Config) { c.Emergency.Deadline = 0 }},
		{"scheduled.deadline", func(c *dispatch.Config) { c.Scheduled.Deadline = -3 * time.Hour }},
		{"weights.travel_per_minute", func(c *dispatch.Config) { c.Weights.TravelPerMinute = 1 }},
		{"weights.continuity", func(c *dispatch.Config) { c.Weights.Continuity = -1 }},
		{"weights.language", func(c *dispatch.Config) { c.Weights.Language = math.Inf(1) }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			c := dispatch.DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != tt.field {
				t.Fatalf("Validate = %v (field %q), want invalid %s", err, carehex.ErrorField(err), tt.field)
			}
			if _, err := dispatch.New(c, dispatch.Deps{}); carehex.ErrorCode(err) != carehex.EINVALID {
				t.Errorf("New accepted a bad config: %v", err)
			}
		})
	}
}

// TestRankOrder: the soft ranking in minutes of travel. With the default
// weights (travel −1/min at 15 km/h = 250 m/min, preferred +12, gender +6,
// language +4) the expected scores are written out below.
func TestRankOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	near := e.provider("近", away(800), func(p *carehex.Provider) { p.Gender = carehex.GenderMale })
	far := e.provider("远", away(2500), func(p *carehex.Provider) { p.Gender = carehex.GenderMale })
	pref := e.provider("熟人", away(3000), func(p *carehex.Provider) { p.Gender = carehex.GenderMale })
	woman := e.provider("王芳", away(1500), func(p *carehex.Provider) {
		p.Gender, p.Languages = carehex.GenderFemale, []string{"zh-Hans", "Zibo dialect"}
	})
	blocked := e.provider("拉黑", away(100))
	e.setPrefs(carehex.Preferences{PreferredProviderIDs: []string{pref.ID}, BlockedProviderIDs: []string{blocked.ID},
		PreferredProviderGender: carehex.GenderFemale, Language: "zibo dialect"})
	r := e.request("meal_delivery", carehex.UrgencySoon)

	got, err := e.eng.Rank(context.Background(), r.ID)
	if err != nil {
		t.Fatalf("Rank: %v", err)
	}
	// woman: −6 + 6 + 4 = 4; pref: −12 + 12 = 0; near: −3.2; far: −10.
	// The blocked provider, nearest of all, is not there.
	want := names(woman, pref, near, far)
	if !slices.Equal(ids(got), want) {
		t.Fatalf("Rank = %v, want %v", ids(got), want)
	}
	wantScores := []float64{4, 0, -3.2, -10}
	for i, c := range got {
		if math.Abs(c.Score-wantScores[i]) > 0.05 {
			t.Errorf("%s: score %.2f, want %.2f", c.Name, c.Score, wantScores[i])
		}
		var sum float64
		for _, f := range c.Factors {
			if math.Abs(f.Contribution-f.Value*f.Weight) > 0.01 {
				t.Errorf("%s: factor %+v: contribution is not value × weight", c.Name, f)
			}
			sum += f.Contribution
		}
		if math.Abs(sum-c.Score) > 0.01 {
			t.Errorf("%s: factors add up to %.2f, score is %.2f", c.Name, sum, c.Score)
		}
		if c.ETA <= 0 || c.DistanceM <= 0 {
			t.Errorf("%s: ETA %s, distance %.0f", c.Name, c.ETA, c.DistanceM)
		}
	}
	factor := func(c carehex.Candidate, name string) carehex.Factor {
		for _, f := range c.Factors {
			if f.Name == name {
				return f
			}
		}
		t.Fatalf("%s has no factor %s: %+v", c.Name, name, c.Factors)
		return carehex.Factor{}
	}
	if f := factor(got[0], carehex.FactorGender); f.Value != 1 || f.Contribution != 6 {
		t.Errorf("woman's gender factor: %+v", f)
	}
	if f := factor(got[0], carehex.FactorLanguage); f.Value != 1 || f.Contribution != 4 {
		t.Errorf("woman's language factor: %+v", f)
	}
	if f := factor(got[1], carehex.FactorPreferred); f.Value != 1 || f.Contribution != 12 {
		t.Errorf("preferred provider's factor: %+v", f)
	}
	if f := factor(got[2], carehex.FactorTravelTime); math.Abs(f.Value-3.2) > 0.05 || f.Weight != -1 {
		t.Errorf("near's travel factor: %+v (800 m at 15 km/h is 3.2 min)", f)
	}

	// Dispatch offers the top one only (routine), never the blocked one.
	offers := e.dispatch(r)
	if len(offers) != 1 || offers[0].ProviderID != woman.ID {
		t.Fatalf("offers = %v, want one to %s", e.offersOf(r), woman.Name)
	}
	if e.status(r.ID) != carehex.StatusOffered || e.liveStatus(woman.ID) != "offered" {
		t.Errorf("request %s, provider %s after dispatch", e.status(r.ID), e.liveStatus(woman.ID))
	}
	// Everyone declines in turn: the request goes down the ranking, and
	// never to the blocked provider.
	var asked []string
	for o := offers[0]; o != nil; {
		asked = append(asked, o.ProviderID)
		if err := e.eng.Decline(context.Background(), o.ProviderID, o.ID, "busy"); err != nil {
			t.Fatal(err)
		}
		o = nil
		all, _ := e.db.RequestOffers(context.Background(), r.ID)
		for _, next := range all {
			if next.Status == carehex.OfferOpen {
				o = next
			}
		}
	}
	if !slices.Equal(asked, want) {
		t.Errorf("offered in turn to %v, want %v", asked, want)
	}
	if e.status(r.ID) != carehex.StatusPending {
		t.Errorf("after everyone declined the request is %s, want pending", e.status(r.ID))
	}
}

// TestRankContinuityAndFairShare: having served the resident before is worth
// more than a few minutes of travel; having had more work today is a cost.
func TestRankContinuityAndFairShare(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	known := e.provider("老张", away(1500))
	e.beat(known.ID, away(1500), true)

	// known serves the resident once while nobody else is around.
	r1 := e.request("meal_delivery", carehex.UrgencySoon)
	o := e.dispatch(r1)
	if len(o) != 1 || o[0].ProviderID != known.ID {
		t.Fatalf("first request offered to %v", e.offersOf(r1))
	}
	e.complete(e.accept(o[0]))
	e.advance(time.Minute)

	stranger := e.provider("新人", away(500))
	r2 := e.request("meal_delivery", carehex.UrgencySoon)
	got, err := e.eng.Rank(ctx, r2.ID)
	if err != nil {
		t.Fatal(err)
	}
	// known: −6 + 8 (served before) − 1.5 (one visit today) = 0.5;
	// stranger: −2.
	if !slices.Equal(ids(got), names(known, stranger)) {
		t.Fatalf("Rank = %v, want the provider who served before first", ids(got))
	}
	for _, f := range got[0].Factors {
		switch f.Name {
		case carehex.FactorContinuity:
			if f.Value != 1 || f.Contribution != 8 {
				t.Errorf("continuity: %+v", f)
			}
		case carehex.FactorFairShare:
			if f.Value != 1 || f.Contribution != -1.5 {
				t.Errorf("fair share: %+v", f)
			}
		}
	}

	// For another resident, equally far from both, the one with less work
	// today goes first.
	other := e.resident("李秀英", at(zibo, 1000, 0), carehex.Preferences{})
	r3 := e.requestFor(other, "meal_delivery", carehex.UrgencySoon)
	e.beat(stranger.ID, at(zibo, 1000, 600), true)
	e.beat(known.ID, at(zibo, 1000, -600), true)
	got, err = e.eng.Rank(ctx, r3.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), names(stranger, known)) {
		t.Errorf("Rank = %v, want the provider with fewer visits today first", ids(got))
	}
}

// TestFilters: the hard filters. Everyone below is nearer than ok, and none
// may be offered the emergency.
func TestFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ok := e.provider("合格", away(1500))
	noSkill := e.provider("只送餐", away(100), func(p *carehex.Provider) { p.Skills = []string{"meals"} })
	// Redis believes this one can give first aid; the roster, which is
	// the record, says not.
	notOnRecord := e.provider("未登记", away(150), func(p *carehex.Provider) { p.Skills = []string{"meals"} })
	e.beat(notOnRecord.ID, away(150), true, "meals", "first_aid")
	stale := e.provider("失联", away(200))
	busy := e.provider("忙碌", away(300))
	offline := e.provider("下线", away(400))
	e.beat(offline.ID, away(400), false)
	blocked := e.provider("拉黑", away(500))
	e.beat("prv_ghost", away(50), true, "first_aid") // in Redis, not on the roster
	e.setPrefs(carehex.Preferences{BlockedProviderIDs: []string{blocked.ID}})

	// busy is on another job.
	other := e.resident("李秀英", away(300), carehex.Preferences{})
	job := e.requestFor(other, "meal_delivery", carehex.UrgencySoon)
	if _, _, err := e.eng.Assign(ctx, job.ID, busy.ID, operator.Actor(), ""); err != nil {
		t.Fatal(err)
	}
	// stale's phone went quiet three minutes ago.
	e.clock.Advance(3 * time.Minute)
	delete(e.placed, stale.ID)
	e.beatAll()

	r := e.request("fall_help", carehex.UrgencyEmergency)
	got, err := e.eng.Rank(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), names(ok)) {
		t.Errorf("Rank = %v, want only %s (filtered: no skill %s, not on record %s, stale %s, busy %s, offline %s, blocked %s)",
			ids(got), ok.ID, noSkill.ID, notOnRecord.ID, stale.ID, busy.ID, offline.ID, blocked.ID)
	}
	offers := e.dispatch(r)
	if len(offers) != 1 || offers[0].ProviderID != ok.ID {
		t.Errorf("emergency offered to %v, want %s only", e.offersOf(r), ok.ID)
	}
}

// TestRingWidening: the search widens from the start radius only while too
// few qualify, and stops at the class's maximum radius.
func TestRingWidening(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // soon: 2 km start, 5 km max, 3 are enough
	ctx := context.Background()
	near := []*carehex.Provider{e.provider("一", away(500)), e.provider("二", away(700)), e.provider("三", at(zibo, 0, 900))}
	far := e.provider("远", away(4000))
	r := e.request("meal_delivery", carehex.UrgencySoon)

	got, err := e.eng.Rank(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), names(near...)) {
		t.Fatalf("with three nearby, Rank = %v, want %v (not the one 4 km away)", ids(got), names(near...))
	}
	for _, p := range near {
		e.beat(p.ID, e.placed[p.ID].pos, false)
	}
	if got, _ = e.eng.Rank(ctx, r.ID); !slices.Equal(ids(got), names(far)) {
		t.Fatalf("with nobody nearby, Rank = %v, want %s 4 km away", ids(got), far.ID)
	}

	e.beat(far.ID, away(4000), false)
	beyond := e.provider("太远", away(6000))
	if got, _ = e.eng.Rank(ctx, r.ID); len(got) != 0 {
		t.Fatalf("Rank = %v, want nobody (%s is beyond 5 km)", ids(got), beyond.ID)
	}
	if offers := e.dispatch(r); len(offers) != 0 {
		t.Fatalf("offers beyond the maximum radius: %v", e.offersOf(r))
	}
	if st := e.status(r.ID); st != carehex.StatusPending {
		t.Errorf("request is %s, want pending (retried as providers come online)", st)
	}
	if a := e.openAlerts(r); !slices.Equal(a, []string{carehex.AlertNoCandidates}) {
		t.Errorf("alerts = %v, want no_candidates", a)
	}
	e.tick()
	e.tick()
	if a := e.openAlerts(r); len(a) != 1 {
		t.Errorf("alerts after more ticks = %v, want the one", a)
	}

	// An emergency searches further: 8 km.
	urgent := e.request("fall_help", carehex.UrgencyEmergency)
	if got, _ = e.eng.Rank(ctx, urgent.ID); !slices.Equal(ids(got), names(beyond)) {
		t.Errorf("emergency Rank = %v, want %s 6 km away", ids(got), beyond.ID)
	}
}
