package carehex

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"
)

// Fraud signals: what the court cases on home-care insurance fraud name
// (location switched off or faked, orders moved to other carers once hour
// caps were reached, an elder's card lent for services never given) as
// rules over the visits' own records. A signal is not a verdict: it flags a
// visit for an operator's review, and until the operator clears it the
// visit is held back from payment with the signal as the reason
// (SettleVisit.Hold). DetectFraud is a pure function of the visits and the
// settings, so the job, the tests and any later audit judge alike; every
// threshold is a setting of the district.

// Signals, the reason codes of flags.
const (
	// A carer's check-in too far from their previous visit for the time
	// between them, at their travel mode's plausible top speed.
	SignalImpossibleTravel = "impossible_travel"
	// The very same coordinates on the events of many visits: real fixes
	// jitter by metres, a faked location does not.
	SignalRepeatedGPS = "repeated_gps"
	// A carer's verified hours in a day over their cap, whichever
	// resident or organisation the orders came through.
	SignalCarerHoursOverCap = "carer_hours_over_cap"
	// A resident's verified hours in a day over the cap, whichever carers
	// did them: moving orders to another carer does not reset it.
	SignalResidentHoursOverCap = "resident_hours_over_cap"
	// A check-in where the phone has not moved since the previous visit,
	// at a home that is elsewhere.
	SignalNoMovement = "no_movement"
	// The same photo (by SHA-256) as evidence of different visits.
	SignalSharedPhoto = "shared_photo"
)

// FraudSignals lists the signals in the order the console shows them.
var FraudSignals = []string{SignalImpossibleTravel, SignalRepeatedGPS, SignalCarerHoursOverCap,
	SignalResidentHoursOverCap, SignalNoMovement, SignalSharedPhoto}

// FraudHoldPrefix begins the hold reason of a flagged visit: "fraud_" and
// the signal, e.g. fraud_impossible_travel.
const FraudHoldPrefix = "fraud_"

// FraudSettings are the district's thresholds.
type FraudSettings struct {
	// SpeedFactor times the carer's travel mode's planning speed is the
	// fastest plausible straight-line speed between check-ins (planning
	// speeds are door-to-door averages).
	SpeedFactor float64
	// UnknownModeKmh is the plausible top speed of a carer with no
	// working hours (no travel mode on record).
	UnknownModeKmh float64
	// MinTravelM: shorter hops are never judged for speed; GPS error
	// alone can make them look fast.
	MinTravelM float64
	// RepeatedGPSVisits: coordinates identical to a millionth of a degree
	// on this many distinct visits flag them all.
	RepeatedGPSVisits int
	// NoMovementM and HomesApartM: a check-in within NoMovementM of the
	// previous visit's last position, when the two homes are at least
	// HomesApartM apart.
	NoMovementM float64
	HomesApartM float64
	// CarerDayCap is the cap of a carer with no working hours (theirs is
	// WorkingHours.MaxWorkPerDay); ResidentDayCap bounds a resident's
	// verified hours a day.
	CarerDayCap    time.Duration
	ResidentDayCap time.Duration
}

// DefaultFraudSettings are the defaults of the settings.
func DefaultFraudSettings() FraudSettings {
	return FraudSettings{SpeedFactor: 3, UnknownModeKmh: 45, MinTravelM: 1000, RepeatedGPSVisits: 3,
		NoMovementM: 30, HomesApartM: 300, CarerDayCap: 10 * time.Hour, ResidentDayCap: 6 * time.Hour}
}

// Validate checks the settings at start; field names the setting.
func (s FraudSettings) Validate() error {
	switch {
	case s.SpeedFactor < 1 || s.SpeedFactor > 20:
		return Errorf(EINVALID, "speed_factor", "fraud speed factor must be between 1 and 20, got %v", s.SpeedFactor)
	case s.UnknownModeKmh < 5 || s.UnknownModeKmh > 300:
		return Errorf(EINVALID, "unknown_mode_kmh", "fraud top speed without a travel mode must be 5–300 km/h, got %v", s.UnknownModeKmh)
	case s.MinTravelM < 0 || s.MinTravelM > 100_000:
		return Errorf(EINVALID, "min_travel_m", "fraud minimum travel must be 0–100000 m, got %v", s.MinTravelM)
	case s.RepeatedGPSVisits < 2:
		return Errorf(EINVALID, "repeated_gps_visits", "repeated GPS visits must be at least 2, got %d", s.RepeatedGPSVisits)
	case s.NoMovementM <= 0 || s.HomesApartM <= s.NoMovementM:
		return Errorf(EINVALID, "no_movement_m", "no-movement distance must be positive and below the homes-apart distance")
	case s.CarerDayCap < time.Hour || s.CarerDayCap > 24*time.Hour || s.ResidentDayCap < time.Hour || s.ResidentDayCap > 24*time.Hour:
		return Errorf(EINVALID, "day_cap", "carer and resident day caps must be between 1h and 24h")
	}
	return nil
}

// FraudVisit is a completed visit as the signals see it. A position is
// missing (Has… false) once retention reduced it to a summary.
type FraudVisit struct {
	VisitID    string
	RequestID  string
	ProviderID string
	ResidentID string
	Home       LatLng
	// Mode and CarerCap come from the carer's working hours; "" and 0
	// when the carer has none.
	Mode     TravelMode
	CarerCap time.Duration
	// Arrive and Complete are the events' times (EventTime).
	Arrive, Complete             time.Time
	ArrivePos, CompletePos       LatLng
	HasArrivePos, HasCompletePos bool
	Photos                       []string // SHA-256 of the visit's photos
	// Carers is how many carers the request has had: more than one when
	// the order was moved.
	Carers int
	// InPeriod: completed in the period judged, not context.
	InPeriod bool
}

// FlagStatus is where a flag's review stands.
type FlagStatus string

const (
	FlagOpen      FlagStatus = "open"      // waiting for review; the visit is held back
	FlagCleared   FlagStatus = "cleared"   // an operator found it innocent; payable
	FlagConfirmed FlagStatus = "confirmed" // an operator found it real; stays held back
)

// FraudFlag is one signal on one visit, with what was seen.
type FraudFlag struct {
	ID      string
	VisitID string
	Signal  string
	// Evidence is a JSON object of the figures that raised it
	// (distances, speeds, the other visits), for the reviewer.
	Evidence     string
	Status       FlagStatus
	CreateTime   time.Time
	ReviewActor  string
	ReviewReason string
	ReviewTime   time.Time
	// Filled in for lists, from the visit.
	ProviderID string
	ResidentID string
	RequestID  string
	FinishTime time.Time
}

// FlagReview is an operator's ruling on a flag.
type FlagReview struct {
	FlagID   string
	Decision FlagStatus // FlagCleared or FlagConfirmed
	Reason   string
}

// Validate checks a review before it is saved.
func (r *FlagReview) Validate() error {
	if r.FlagID == "" {
		return Errorf(EINVALID, "flag_id", "flag_id is required")
	}
	if r.Decision != FlagCleared && r.Decision != FlagConfirmed {
		return Errorf(EINVALID, "decision", "decision must be cleared or confirmed, got %q", r.Decision)
	}
	return requireText("reason", r.Reason, MaxTextLen)
}

// FraudHold is the hold reason of a visit with flags in the given
// statuses: the first signal not cleared, in FraudSignals order, "" when
// all are cleared.
func FraudHold(flags map[string]FlagStatus) string {
	for _, s := range FraudSignals {
		if st, ok := flags[s]; ok && st != FlagCleared {
			return FraudHoldPrefix + s
		}
	}
	return ""
}

func evidence(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// gpsKey is a position to a millionth of a degree (about 0.1 m), as the
// phones send it.
func gpsKey(p LatLng) string { return fmt.Sprintf("%.6f,%.6f", p.Lat, p.Lng) }

// DetectFraud judges visits (any order) and returns one flag per visit and
// signal raised, in visit then signal order. Visits outside the period
// being judged may be passed as context (a carer's previous visit); the
// caller keeps only the flags it wants. Days are zone's.
func DetectFraud(visits []*FraudVisit, s FraudSettings, zone *time.Location) []*FraudFlag {
	if zone == nil {
		zone = time.UTC
	}
	type key struct{ visit, signal string }
	raised := map[key]*FraudFlag{}
	raise := func(v *FraudVisit, signal string, ev map[string]any) {
		k := key{v.VisitID, signal}
		if raised[k] == nil {
			raised[k] = &FraudFlag{VisitID: v.VisitID, Signal: signal, Evidence: evidence(ev), Status: FlagOpen,
				ProviderID: v.ProviderID, ResidentID: v.ResidentID, RequestID: v.RequestID}
		}
	}
	vs := append([]*FraudVisit(nil), visits...)
	sort.SliceStable(vs, func(i, j int) bool {
		if !vs[i].Arrive.Equal(vs[j].Arrive) {
			return vs[i].Arrive.Before(vs[j].Arrive)
		}
		return vs[i].VisitID < vs[j].VisitID
	})

	// A carer's consecutive check-ins: travel and movement.
	last := map[string]*FraudVisit{}
	for _, v := range vs {
		if v.Arrive.IsZero() {
			continue
		}
		prev := last[v.ProviderID]
		last[v.ProviderID] = v
		if prev == nil || !v.HasArrivePos {
			continue
		}
		from, at, ok := prev.CompletePos, prev.Complete, prev.HasCompletePos
		if !ok || at.IsZero() || at.After(v.Arrive) {
			from, at, ok = prev.ArrivePos, prev.Arrive, prev.HasArrivePos
		}
		if !ok {
			continue
		}
		d := DistanceM(from, v.ArrivePos)
		gap := v.Arrive.Sub(at)
		maxKmh := s.UnknownModeKmh
		if sp := v.Mode.SpeedKMH(); sp > 0 {
			maxKmh = sp * s.SpeedFactor
		}
		if d >= s.MinTravelM {
			kmh := math.Inf(1)
			if gap > 0 {
				kmh = d / 1000 / gap.Hours()
			}
			if kmh > maxKmh {
				speed := any("instant")
				if !math.IsInf(kmh, 1) {
					speed = math.Round(kmh)
				}
				raise(v, SignalImpossibleTravel, map[string]any{"prev_visit": prev.VisitID, "distance_m": math.Round(d),
					"minutes": math.Round(gap.Minutes()*10) / 10, "speed_kmh": speed, "max_kmh": math.Round(maxKmh),
					"mode": string(v.Mode)})
			}
		}
		if apart := DistanceM(prev.Home, v.Home); d <= s.NoMovementM && apart >= s.HomesApartM {
			raise(v, SignalNoMovement, map[string]any{"prev_visit": prev.VisitID, "moved_m": math.Round(d),
				"homes_apart_m": math.Round(apart)})
		}
	}

	// Identical coordinates across many visits.
	byPoint := map[string][]*FraudVisit{}
	for _, v := range vs {
		seen := map[string]bool{}
		for _, p := range []struct {
			pos LatLng
			ok  bool
		}{{v.ArrivePos, v.HasArrivePos}, {v.CompletePos, v.HasCompletePos}} {
			if k := gpsKey(p.pos); p.ok && !seen[k] {
				seen[k] = true
				byPoint[k] = append(byPoint[k], v)
			}
		}
	}
	for _, k := range sortedKeys(byPoint) {
		if group := byPoint[k]; len(group) >= s.RepeatedGPSVisits {
			ids := visitIDs(group)
			for _, v := range group {
				raise(v, SignalRepeatedGPS, map[string]any{"point": k, "visits": len(group), "visit_ids": firstN(ids, 10)})
			}
		}
	}

	// Hours a day, per carer and per resident, in check-in order.
	type dayKey struct{ who, day string }
	carerUsed, residentUsed := map[dayKey]time.Duration{}, map[dayKey]time.Duration{}
	residentCarers := map[dayKey]map[string]bool{}
	for _, v := range vs {
		if v.Arrive.IsZero() || v.Complete.IsZero() || !v.Complete.After(v.Arrive) {
			continue
		}
		dur := v.Complete.Sub(v.Arrive)
		day := v.Arrive.In(zone).Format(time.DateOnly)
		ck, rk := dayKey{v.ProviderID, day}, dayKey{v.ResidentID, day}
		carerUsed[ck] += dur
		residentUsed[rk] += dur
		if residentCarers[rk] == nil {
			residentCarers[rk] = map[string]bool{}
		}
		residentCarers[rk][v.ProviderID] = true
		capC := v.CarerCap
		if capC <= 0 {
			capC = s.CarerDayCap
		}
		if carerUsed[ck] > capC {
			raise(v, SignalCarerHoursOverCap, map[string]any{"day": day, "worked_min": int(carerUsed[ck].Minutes()),
				"cap_min": int(capC.Minutes()), "moved": v.Carers > 1})
		}
		if residentUsed[rk] > s.ResidentDayCap {
			raise(v, SignalResidentHoursOverCap, map[string]any{"day": day, "served_min": int(residentUsed[rk].Minutes()),
				"cap_min": int(s.ResidentDayCap.Minutes()), "carers": len(residentCarers[rk]), "moved": v.Carers > 1})
		}
	}

	// The same photo on different visits.
	byPhoto := map[string][]*FraudVisit{}
	for _, v := range vs {
		seen := map[string]bool{}
		for _, h := range v.Photos {
			if !seen[h] {
				seen[h] = true
				byPhoto[h] = append(byPhoto[h], v)
			}
		}
	}
	for _, h := range sortedKeys(byPhoto) {
		if group := byPhoto[h]; len(group) > 1 {
			ids := visitIDs(group)
			for _, v := range group {
				raise(v, SignalSharedPhoto, map[string]any{"sha256": h, "visits": len(group), "visit_ids": firstN(ids, 10)})
			}
		}
	}

	out := make([]*FraudFlag, 0, len(raised))
	for _, f := range raised {
		out = append(out, f)
	}
	order := map[string]int{}
	for i, s := range FraudSignals {
		order[s] = i
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].VisitID != out[j].VisitID {
			return out[i].VisitID < out[j].VisitID
		}
		return order[out[i].Signal] < order[out[j].Signal]
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func visitIDs(vs []*FraudVisit) []string {
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.VisitID
	}
	sort.Strings(ids)
	return ids
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// FraudStore keeps what the signals read and the flags they raise.
type FraudStore interface {
	// FraudVisits lists the visits completed in [from, to) with their
	// carers' previous visits back to from minus a day as context.
	FraudVisits(ctx context.Context, from, to time.Time) ([]*FraudVisit, error)
	// SaveFraudFlags stores new flags; a flag already raised for the
	// visit and signal stays as it is (cleared stays cleared), so the job
	// is idempotent. It returns how many were new.
	SaveFraudFlags(ctx context.Context, flags []*FraudFlag) (int, error)
	// FraudFlags lists flags in status ("" for all), newest first.
	FraudFlags(ctx context.Context, status FlagStatus, limit int) ([]*FraudFlag, error)
	// ReviewFraudFlag records an operator's ruling, with its audit record.
	ReviewFraudFlag(ctx context.Context, r *FlagReview) (*FraudFlag, error)
}

// ScanFraud is the idempotent job: it judges the visits completed in
// [from, to) (with the day before as context) and stores the flags raised
// on them; flags already raised stay as they are. It returns how many flags
// were new.
func ScanFraud(ctx context.Context, store FraudStore, from, to time.Time, s FraudSettings, zone *time.Location) (int, error) {
	vs, err := store.FraudVisits(ctx, from, to)
	if err != nil {
		return 0, err
	}
	in := map[string]bool{}
	for _, v := range vs {
		if v.InPeriod {
			in[v.VisitID] = true
		}
	}
	var keep []*FraudFlag
	for _, f := range DetectFraud(vs, s, zone) {
		if in[f.VisitID] {
			keep = append(keep, f)
		}
	}
	return store.SaveFraudFlags(ctx, keep)
}
