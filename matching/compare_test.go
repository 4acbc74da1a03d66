package matching

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// A day where greedy goes wrong: on an east-west street, provider A lives
// at km 0 and provider B at km 2.5; call 1 comes from km 1, call 2 from
// km -1, a second later (inside one batch). Greedy gives call 1 its
// nearest, A (1 km), and must then send B 3.5 km to call 2: 4.5 km. The
// batch sends B to call 1 (1.5 km) and A to call 2 (1 km): 2.5 km.
func twoCallDay() *Day {
	on := []Window{{StartS: 0, EndS: 86400}}
	const km = 0.01122 // degrees of longitude per km at 36.8° N
	return &Day{
		Meta: Meta{StartS: 36000, EndS: 39600},
		Providers: []Provider{
			{ID: "A", Lat: 36.8, Lng: 118.02, Skills: []string{"cleaning"}, SpeedKmh: 15, Online: on},
			{ID: "B", Lat: 36.8, Lng: 118.02 + 2.5*km, Skills: []string{"cleaning"}, SpeedKmh: 15, Online: on},
		},
		Requests: []Request{
			{ID: "r1", TS: 36002, Lat: 36.8, Lng: 118.02 + km, Skill: "cleaning", DurationS: 3600},
			{ID: "r2", TS: 36004, Lat: 36.8, Lng: 118.02 - km, Skill: "cleaning", DurationS: 3600},
		},
	}
}

func TestBatchedBeatsGreedyOnCrossing(t *testing.T) {
	d := twoCallDay()
	c, err := Compare(d, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var greedy, batched, hind Row
	for _, r := range c.Rows {
		switch {
		case strings.HasPrefix(r.Policy, "greedy"):
			greedy = r
		case strings.HasPrefix(r.Policy, "batched"):
			batched = r
		case strings.HasPrefix(r.Policy, "hindsight"):
			hind = r
		}
	}
	if greedy.Served != 2 || batched.Served != 2 || hind.Served != 2 {
		t.Fatalf("served: greedy %d, batched %d, hindsight %d; want 2 each\n%+v", greedy.Served, batched.Served, hind.Served, c.Rows)
	}
	if !(batched.TotalKM < greedy.TotalKM) {
		t.Fatalf("batched %.2f km should beat greedy %.2f km on the crossing", batched.TotalKM, greedy.TotalKM)
	}
	if hind.TotalKM > batched.TotalKM+1e-9 {
		t.Fatalf("hindsight bound %.2f km above batched %.2f km", hind.TotalKM, batched.TotalKM)
	}
}

// randomDay draws a small city.
func randomDay(rng *rand.Rand, nProv, nReq int) *Day {
	skills := []string{"cleaning", "meal_service", "bathing"}
	d := &Day{Meta: Meta{StartS: 8 * 3600, EndS: 12 * 3600}}
	for i := range nProv {
		s := 8*3600 + rng.Float64()*3600
		d.Providers = append(d.Providers, Provider{ID: fmt.Sprint("p", i), Lat: 36.78 + rng.Float64()*0.05, Lng: 118.0 + rng.Float64()*0.06,
			Skills: []string{skills[rng.IntN(3)], skills[rng.IntN(3)]}, SpeedKmh: []float64{4.5, 15}[rng.IntN(2)],
			Online: []Window{{StartS: s, EndS: s + 3*3600}}})
	}
	for i := range nReq {
		d.Requests = append(d.Requests, Request{ID: fmt.Sprint("r", i), TS: 8*3600 + rng.Float64()*4*3600,
			Lat: 36.78 + rng.Float64()*0.05, Lng: 118.0 + rng.Float64()*0.06, Skill: skills[rng.IntN(3)],
			DurationS: float64(1800 + rng.IntN(3)*1800), Emergency: rng.Float64() < 0.1})
	}
	return d
}

// The hindsight bound is a relaxation of every schedule the replays make:
// it can never serve fewer requests than they do.
func TestHindsightBoundsReplays(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 20 {
		d := randomDay(rng, 3+rng.IntN(8), 5+rng.IntN(40))
		c, err := Compare(d, time.Duration(10+rng.IntN(60))*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		h := c.Rows[len(c.Rows)-1]
		for _, r := range c.Rows[:len(c.Rows)-1] {
			if r.Served > r.Requests || r.FillRate < 0 || r.FillRate > 1 {
				t.Fatalf("trial %d: %s served %d of %d (fill %v)", trial, r.Policy, r.Served, r.Requests, r.FillRate)
			}
			if r.Served > h.Served {
				t.Fatalf("trial %d: %s served %d, more than the hindsight bound %d", trial, r.Policy, r.Served, h.Served)
			}
			if r.AcceptP50S > r.AcceptP95S || r.ArriveP50S > r.ArriveP95S {
				t.Fatalf("trial %d: %s percentiles out of order: %+v", trial, r.Policy, r)
			}
		}
	}
}

func TestDayRoundTrip(t *testing.T) {
	d := twoCallDay()
	d.Outcomes = []Outcome{{ID: "r1", Matched: true, AcceptS: 20, ArriveS: 400, TravelKM: 1.2, Offers: 1}}
	var b bytes.Buffer
	if err := d.Write(&b); err != nil {
		t.Fatal(err)
	}
	got, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Providers) != 2 || len(got.Requests) != 2 || len(got.Outcomes) != 1 || got.Requests[1].ID != "r2" {
		t.Fatalf("round trip lost data: %+v", got)
	}
	for _, bad := range []string{"", "{\"kind\":\"meta\"}\nnot json\n", "{\"kind\":\"visit\"}\n",
		"{\"kind\":\"meta\"}\n{\"kind\":\"provider\",\"id\":\"p\",\"speed_kmh\":0}\n"} {
		if _, err := Read(strings.NewReader(bad)); err == nil {
			t.Errorf("Read(%q) = nil error, want one", bad)
		}
	}
}
