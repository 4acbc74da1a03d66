package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/carehex/carehex"
)

// ScanInvariants is the one definition of the invariant scan, read by the
// fault test, the simulator and the engine's race test. A request is lost
// when the store does not hold it, or when it waits (pending or offered) at
// now, older than p.Unalerted allows, with neither a live offer (open, and
// not past its expiry by more than p.OfferGrace) nor an open alert. A request
// assigned or further, cancelled or marked unfilled is accounted for: a
// provider or a person decided its fate, and its events say who.
func (s *DB) ScanInvariants(ctx context.Context, requestIDs []string, now time.Time, p carehex.Patience) (*carehex.InvariantScan, error) {
	out := &carehex.InvariantScan{}
	var err error
	if out.Overlaps, err = s.OverlappingVisits(ctx); err != nil {
		return nil, err
	}
	ids := dedupe(requestIDs)
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		if err := s.scanChunk(ctx, chunk, now, p, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *DB) scanChunk(ctx context.Context, ids []string, now time.Time, p carehex.Patience, out *carehex.InvariantScan) error {
	in := placeholders(len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	reqs, err := queryAll(ctx, s, "scan requests", scanRequest, s.rebind(requestSelect+` WHERE id IN (`+in+`)`), args...)
	if err != nil {
		return err
	}
	byID := make(map[string]*carehex.ServiceRequest, len(reqs))
	for _, r := range reqs {
		byID[r.ID] = r
	}

	live, accepted := map[string]bool{}, map[string]int{}
	offerArgs := append(slices.Clone(args), string(carehex.OfferOpen), string(carehex.OfferAccepted))
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT request_id, status, expire_time FROM offers
		WHERE request_id IN (`+in+`) AND status IN (?, ?)`), offerArgs...)
	if err != nil {
		return s.wrap(err, "scan offers")
	}
	for rows.Next() {
		var (
			id, status string
			expire     int64
		)
		if err := rows.Scan(&id, &status, &expire); err != nil {
			rows.Close()
			return s.wrap(err, "scan offers")
		}
		if status == string(carehex.OfferAccepted) {
			accepted[id]++
		} else if fromMicros(expire).Add(p.OfferGrace).After(now) {
			live[id] = true
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return s.wrap(err, "scan offers")
	}

	alerted := map[string]bool{}
	rows, err = s.db.QueryContext(ctx, s.rebind(`SELECT DISTINCT request_id FROM alerts WHERE ack_time = 0 AND request_id IN (`+in+`)`), args...)
	if err != nil {
		return s.wrap(err, "scan alerts")
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return s.wrap(err, "scan alerts")
		}
		alerted[id] = true
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return s.wrap(err, "scan alerts")
	}

	for _, id := range ids {
		if accepted[id] > 1 {
			out.MultiAccepted = append(out.MultiAccepted, id)
		}
		r := byID[id]
		switch {
		case r == nil:
			out.Lost = append(out.Lost, carehex.LostRequest{ID: id, Why: "not in the system of record"})
		case r.Status != carehex.StatusPending && r.Status != carehex.StatusOffered:
		case live[id] || alerted[id]:
		case p.Unalerted != nil && now.Sub(r.CreateTime) < p.Unalerted(r):
		default:
			out.Lost = append(out.Lost, carehex.LostRequest{ID: id, Status: r.Status,
				Why: string(r.Status) + " with no live offer and no open alert"})
		}
	}
	return nil
}
