package carehex

import (
	"strings"
	"testing"
	"time"
)

// northOf is the point m metres north of the test centre.
func northOf(m float64) LatLng { return LatLng{Lat: 36.8 + m/111195, Lng: 118.05} }

func TestDetectFraudEdges(t *testing.T) {
	s := DefaultFraudSettings()
	t0 := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	visit := func(id, carer string, home LatLng, arrive time.Duration, stay time.Duration, at LatLng, mode TravelMode) *FraudVisit {
		return &FraudVisit{VisitID: id, ProviderID: carer, ResidentID: "res_" + id, Home: home, Mode: mode,
			Arrive: t0.Add(arrive), Complete: t0.Add(arrive + stay), ArrivePos: at, CompletePos: at,
			HasArrivePos: true, HasCompletePos: true, InPeriod: true}
	}
	signals := func(vs ...*FraudVisit) map[string][]string {
		out := map[string][]string{}
		for _, f := range DetectFraud(vs, s, time.UTC) {
			out[f.VisitID] = append(out[f.VisitID], f.Signal)
		}
		return out
	}
	a, b := northOf(0), northOf(1200)
	for _, c := range []struct {
		name string
		vs   []*FraudVisit
		want map[string][]string
	}{
		{"a walk of 1.2 km in 20 minutes", []*FraudVisit{
			visit("v1", "c", a, 0, 30*time.Minute, a, TravelWalk),
			visit("v2", "c", b, 50*time.Minute, 30*time.Minute, b, TravelWalk)}, map[string][]string{}},
		{"a walk of 1.2 km in 3 minutes", []*FraudVisit{
			visit("v1", "c", a, 0, 30*time.Minute, a, TravelWalk),
			visit("v2", "c", b, 33*time.Minute, 30*time.Minute, b, TravelWalk)}, map[string][]string{"v2": {SignalImpossibleTravel}}},
		{"the same 3 minutes by car (24 km/h)", []*FraudVisit{
			visit("v1", "c", a, 0, 30*time.Minute, a, TravelCar),
			visit("v2", "c", b, 33*time.Minute, 30*time.Minute, b, TravelCar)}, map[string][]string{}},
		{"at once, by car", []*FraudVisit{
			visit("v1", "c", a, 0, 30*time.Minute, a, TravelCar),
			visit("v2", "c", b, 30*time.Minute, 30*time.Minute, b, TravelCar)}, map[string][]string{"v2": {SignalImpossibleTravel}}},
		{"two carers, same times", []*FraudVisit{
			visit("v1", "c", a, 0, 30*time.Minute, a, TravelWalk),
			visit("v2", "d", b, 33*time.Minute, 30*time.Minute, b, TravelWalk)}, map[string][]string{}},
	} {
		got := signals(c.vs...)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for id, sig := range c.want {
			if strings.Join(got[id], ",") != strings.Join(sig, ",") {
				t.Errorf("%s: %s %v, want %v", c.name, id, got[id], sig)
			}
		}
	}

	// Positions reduced by retention judge nothing about place.
	v1, v2, v3 := visit("v1", "c", a, 0, 30*time.Minute, a, ""), visit("v2", "c", b, 31*time.Minute, 30*time.Minute, a, ""),
		visit("v3", "c", northOf(3000), 62*time.Minute, 30*time.Minute, a, "")
	if got := signals(v1, v2, v3); len(got["v2"]) == 0 || len(got["v3"]) == 0 {
		t.Fatalf("one spot on three visits, no movement between homes: %v", got)
	}
	for _, v := range []*FraudVisit{v1, v2, v3} {
		v.HasArrivePos, v.HasCompletePos = false, false
	}
	if got := signals(v1, v2, v3); len(got) != 0 {
		t.Fatalf("reduced positions raised %v", got)
	}

	// A carer's own cap beats the default; the resident's counts all carers.
	long := []*FraudVisit{visit("v1", "c", a, 0, 3*time.Hour, a, ""), visit("v2", "d", a, 4*time.Hour, 3*time.Hour+time.Minute, northOf(5), "")}
	long[0].CarerCap = 2 * time.Hour
	long[1].ResidentID = long[0].ResidentID // the order moved to carer d
	got := signals(long...)
	if strings.Join(got["v1"], ",") != SignalCarerHoursOverCap || strings.Join(got["v2"], ",") != SignalResidentHoursOverCap {
		t.Fatalf("caps: %v", got)
	}

	if FraudHold(map[string]FlagStatus{SignalSharedPhoto: FlagOpen, SignalRepeatedGPS: FlagCleared}) != FraudHoldPrefix+SignalSharedPhoto ||
		FraudHold(map[string]FlagStatus{SignalSharedPhoto: FlagCleared}) != "" ||
		FraudHold(map[string]FlagStatus{SignalNoMovement: FlagConfirmed}) != FraudHoldPrefix+SignalNoMovement {
		t.Fatal("FraudHold: a flag not cleared holds, a cleared one does not")
	}
	for _, bad := range []func(*FraudSettings){
		func(s *FraudSettings) { s.SpeedFactor = 0.5 }, func(s *FraudSettings) { s.RepeatedGPSVisits = 1 },
		func(s *FraudSettings) { s.HomesApartM = s.NoMovementM }, func(s *FraudSettings) { s.ResidentDayCap = time.Minute },
	} {
		x := DefaultFraudSettings()
		bad(&x)
		if ErrorCode(x.Validate()) != EINVALID {
			t.Errorf("settings %+v accepted", x)
		}
	}
	if err := DefaultFraudSettings().Validate(); err != nil {
		t.Fatal(err)
	}
}
