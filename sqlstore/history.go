package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/carehex/carehex"
)

var _ carehex.HistoryImporter = (*DB)(nil)

// ImportHistory writes past records in bulk, in one transaction, with
// multi-row INSERTs (`carehex demo seed --history`). The records are taken
// as given (the generator made them consistent); the request events join
// the trail's chain at the next seal. History visits carry negative fences,
// so they never meet a live claim's token (provider_visits_fence is unique).
func (s *DB) ImportHistory(ctx context.Context, b *carehex.HistoryBatch) error {
	return s.inTx(ctx, "import history", func(tx *sql.Tx) error {
		ins := func(table, cols string, n int, row func(i int) []any) error {
			width := strings.Count(cols, ",") + 1
			per := 30000 / width
			for start := 0; start < n; start += per {
				end := min(start+per, n)
				args := make([]any, 0, (end-start)*width)
				for i := start; i < end; i++ {
					args = append(args, row(i)...)
				}
				if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO `+table+` (`+cols+`) VALUES `+
					repeatRow("("+placeholders(width)+")", end-start)), args...); err != nil {
					return err
				}
			}
			return nil
		}
		if err := ins("service_requests", "id, resident_id, service_code, urgency, status, notes, window_start, window_end, provider_id, visit_id, cancel_reason, created_by, create_time, update_time",
			len(b.Requests), func(i int) []any {
				r := b.Requests[i]
				return []any{r.ID, r.ResidentID, r.ServiceCode, string(r.Urgency), string(r.Status), r.Notes, micros(r.WindowStart), micros(r.WindowEnd),
					r.ProviderID, r.VisitID, r.CancelReason, r.CreatedBy, micros(r.CreateTime), micros(r.UpdateTime)}
			}); err != nil {
			return err
		}
		if err := ins("visits", "id, request_id, provider_id, fence, status, planned_start, planned_end, held_start, held_end, finish_time, create_time, update_time",
			len(b.Visits), func(i int) []any {
				v := b.Visits[i]
				hs, he := v.Held()
				return []any{v.ID, v.RequestID, v.ProviderID, v.Fence, string(v.Status), micros(v.PlannedStart), micros(v.PlannedEnd),
					micros(hs), micros(he), micros(v.FinishTime), micros(v.CreateTime), micros(v.UpdateTime)}
			}); err != nil {
			return err
		}
		if err := ins("request_events", "id, request_id, seq, type, from_status, to_status, actor, reason, time", len(b.Events), func(i int) []any {
			e := &b.Events[i]
			return []any{e.ID, e.RequestID, e.Seq, e.Type, string(e.FromStatus), string(e.ToStatus), e.Actor, e.Reason, micros(e.Time)}
		}); err != nil {
			return err
		}
		if len(b.Events) > 0 {
			s.trail.mark(tx, carehex.ChainEvents)
		}
		return ins("visit_events", "event_id, visit_id, provider_id, type, lat, lng, accuracy_m, device_time, receive_time, note, verified, exception, applied",
			len(b.VisitEvents), func(i int) []any {
				e := &b.VisitEvents[i]
				return []any{e.EventID, e.VisitID, e.ProviderID, string(e.Type), e.Position.Lat, e.Position.Lng, e.AccuracyM,
					micros(e.DeviceTime), micros(e.ReceiveTime), e.Note, boolInt(e.Verified), strings.Join(e.Exceptions, " "), boolInt(e.Applied)}
			})
	})
}

// HistoryPeople reads every active resident's id and home, and every active
// provider's id and base: whom `demo seed --history` writes records for.
func (s *DB) HistoryPeople(ctx context.Context) ([]*carehex.Resident, []*carehex.Provider, error) {
	res, err := queryAll(ctx, s, "history residents", func(r interface{ Scan(...any) error }) (*carehex.Resident, error) {
		x := &carehex.Resident{}
		return x, r.Scan(&x.ID, &x.Location.Lat, &x.Location.Lng)
	}, `SELECT id, lat, lng FROM residents WHERE deactivate_time = 0 AND erase_time = 0 ORDER BY id`)
	if err != nil {
		return nil, nil, err
	}
	prv, err := queryAll(ctx, s, "history providers", func(r interface{ Scan(...any) error }) (*carehex.Provider, error) {
		x := &carehex.Provider{}
		return x, r.Scan(&x.ID, &x.Home.Lat, &x.Home.Lng)
	}, `SELECT id, lat, lng FROM providers WHERE active = 1 ORDER BY id`)
	return res, prv, err
}
