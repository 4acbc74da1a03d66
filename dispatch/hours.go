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
// near and available, on shift or not.
func (e *Engine) onShift(ctx context.Context, j *job, found []carehex.LiveCandidate, at time.Time) ([]carehex.LiveCandidate, error) {
	if j.class == carehex.ClassEmergency || len(found) == 0 {
		return found, nil
	}
	ids := make([]string, len(found))
	for i, c := range found {
		ids[i] = c.ProviderID
	}
	hours, err := e.d.Store.WorkingHoursOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := found[:0]
	for _, c := range found {
		if w := hours[c.ProviderID]; w == nil || w.OnShift(at) {
			out = append(out, c)
		}
	}
	return out, nil
}
