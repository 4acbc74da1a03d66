package dispatch

import (
	"context"
	"time"

	"github.com/carehex/carehex"
)

// onShift keeps the candidates who may take work starting at at: a carer
// with working hours must be on shift and not off then ("available" on the
// phone is no longer enough); one without hours is judged by the phone
// alone, as before working hours existed. An emergency goes to whoever is
// near and available, on shift or not. It returns the candidates' working
// hours too (nil for those without), whose travel mode times their journey
// (eta).
func (e *Engine) onShift(ctx context.Context, j *job, found []carehex.LiveCandidate, at time.Time) ([]carehex.LiveCandidate, map[string]*carehex.WorkingHours, error) {
	if len(found) == 0 {
		return found, nil, nil
	}
	ids := make([]string, len(found))
	for i, c := range found {
		ids[i] = c.ProviderID
	}
	hours, err := e.d.Store.WorkingHoursOf(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	if j.class == carehex.ClassEmergency {
		return found, hours, nil
	}
	out := found[:0]
	for _, c := range found {
		if w := hours[c.ProviderID]; w == nil || w.OnShift(at) {
			out = append(out, c)
		}
	}
	return out, hours, nil
}

// eta is how long a carer takes to cover distanceM in a straight line: at
// the speed of their travel mode (a walker 4.5 km/h, an e-bike 15, a car
// 25), or at the dispatcher's SpeedKmh for a carer with no working hours.
func (e *Engine) eta(distanceM float64, w *carehex.WorkingHours) time.Duration {
	kmh := e.cfg.SpeedKmh
	if w != nil && w.Mode.SpeedKMH() > 0 {
		kmh = w.Mode.SpeedKMH()
	}
	return time.Duration(distanceM / (kmh * 1000 / 3600) * float64(time.Second))
}
