package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/carehex/carehex"
)

var _ carehex.FraudStore = (*DB)(nil)

// fraudVisitSelect reads completed visits as the fraud signals see them:
// the home, the carer's travel mode and cap, the check-in and check-out
// with their positions (none once retention reduced them), and how many
// carers the request has had.
const fraudVisitSelect = `SELECT v.id, v.request_id, v.provider_id, r.resident_id, res.lat, res.lng,
	COALESCE(w.travel_mode, ''), COALESCE(w.max_work_s, 0),
	COALESCE(a.device_time, 0), COALESCE(a.receive_time, 0), COALESCE(a.lat, 0), COALESCE(a.lng, 0), COALESCE(a.gps_reduced, 1),
	COALESCE(c.device_time, 0), COALESCE(c.receive_time, 0), COALESCE(c.lat, 0), COALESCE(c.lng, 0), COALESCE(c.gps_reduced, 1),
	(SELECT COUNT(DISTINCT v2.provider_id) FROM visits v2 WHERE v2.request_id = v.request_id),
	v.finish_time
	FROM visits v
	JOIN service_requests r ON r.id = v.request_id
	JOIN residents res ON res.id = r.resident_id
	LEFT JOIN working_hours w ON w.provider_id = v.provider_id
	LEFT JOIN visit_events a ON a.visit_id = v.id AND a.type = 'arrive'
	LEFT JOIN visit_events c ON c.visit_id = v.id AND c.type = 'complete'`

// eventTime is carehex.VisitEvent.EventTime over stored micros.
func eventTime(device, receive int64) time.Time {
	if receive != 0 && device > receive {
		return fromMicros(receive)
	}
	return fromMicros(device)
}

// FraudVisits lists the visits completed in [from, to) (InPeriod) and
// those completed in the day before as context, with their photos; visits
// elsewhere in time that share a photo hash with them come too, with their
// photos only, so that a photo reused a month later is seen.
func (s *DB) FraudVisits(ctx context.Context, from, to time.Time) ([]*carehex.FraudVisit, error) {
	fromMicro := micros(from)
	vs, err := queryAll(ctx, s, "list visits for fraud signals", func(sc interface{ Scan(...any) error }) (*carehex.FraudVisit, error) {
		var (
			v                      carehex.FraudVisit
			mode                   string
			maxWork                int64
			ad, ar, cd, cr         int64
			aRed, cRed             int64
			carers, finish         int64
			aLat, aLng, cLat, cLng float64
		)
		if err := sc.Scan(&v.VisitID, &v.RequestID, &v.ProviderID, &v.ResidentID, &v.Home.Lat, &v.Home.Lng, &mode, &maxWork,
			&ad, &ar, &aLat, &aLng, &aRed, &cd, &cr, &cLat, &cLng, &cRed, &carers, &finish); err != nil {
			return nil, err
		}
		v.Mode, v.CarerCap, v.Carers = carehex.TravelMode(mode), time.Duration(maxWork)*time.Second, int(carers)
		if ad != 0 {
			v.Arrive, v.ArrivePos, v.HasArrivePos = eventTime(ad, ar), carehex.LatLng{Lat: aLat, Lng: aLng}, aRed == 0
		}
		if cd != 0 {
			v.Complete, v.CompletePos, v.HasCompletePos = eventTime(cd, cr), carehex.LatLng{Lat: cLat, Lng: cLng}, cRed == 0
		}
		v.InPeriod = finish >= fromMicro
		return &v, nil
	}, s.rebind(fraudVisitSelect+` WHERE v.status = 'completed' AND v.finish_time >= ? AND v.finish_time < ?
		ORDER BY v.finish_time, v.id`), micros(from.Add(-24*time.Hour)), micros(to))
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*carehex.FraudVisit, len(vs))
	for _, v := range vs {
		byID[v.VisitID] = v
	}
	type photo struct{ visit, sha string }
	photos, err := queryAll(ctx, s, "list photos for fraud signals", func(sc interface{ Scan(...any) error }) (photo, error) {
		var p photo
		return p, sc.Scan(&p.visit, &p.sha)
	}, s.rebind(`SELECT p.visit_id, p.sha256 FROM visit_photos p WHERE p.sha256 IN
		(SELECT q.sha256 FROM visit_photos q JOIN visits v ON v.id = q.visit_id
			WHERE v.status = 'completed' AND v.finish_time >= ? AND v.finish_time < ?)
		ORDER BY p.visit_id, p.position`), micros(from), micros(to))
	if err != nil {
		return nil, err
	}
	for _, p := range photos {
		v := byID[p.visit]
		if v == nil { // another time's visit with the same photo
			v = &carehex.FraudVisit{VisitID: p.visit}
			byID[p.visit] = v
			vs = append(vs, v)
		}
		v.Photos = append(v.Photos, p.sha)
	}
	return vs, nil
}

// SaveFraudFlags inserts the flags not raised before; the unique (visit,
// signal) index keeps one, so two replicas scanning at once agree.
func (s *DB) SaveFraudFlags(ctx context.Context, flags []*carehex.FraudFlag) (int, error) {
	if len(flags) == 0 {
		return 0, nil
	}
	now := s.stamp()
	added := 0
	err := s.inTx(ctx, "save fraud flags", func(tx *sql.Tx) error {
		added = 0
		for _, f := range flags {
			if f.ID == "" {
				f.ID = carehex.NewID("flg")
			}
			res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO fraud_flags (id, visit_id, signal, evidence, status, create_time)
				VALUES (?, ?, ?, ?, 'open', ?) ON CONFLICT (visit_id, signal) DO NOTHING`),
				f.ID, f.VisitID, f.Signal, f.Evidence, micros(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			added++
			f.Status, f.CreateTime = carehex.FlagOpen, now
			if err := s.audit(ctx, tx, &carehex.AuditRecord{Actor: "system", Time: now, Action: "visit.fraud_flag",
				ObjectType: "visit", ObjectID: f.VisitID, Detail: f.Signal + " " + f.Evidence}); err != nil {
				return err
			}
		}
		return nil
	})
	return added, err
}

const flagSelect = `SELECT f.id, f.visit_id, f.signal, f.evidence, f.status, f.create_time, f.review_actor, f.review_reason,
	f.review_time, v.provider_id, r.resident_id, v.request_id, v.finish_time
	FROM fraud_flags f JOIN visits v ON v.id = f.visit_id JOIN service_requests r ON r.id = v.request_id`

func scanFlag(sc interface{ Scan(...any) error }) (*carehex.FraudFlag, error) {
	var (
		f                      carehex.FraudFlag
		status                 string
		create, review, finish int64
	)
	if err := sc.Scan(&f.ID, &f.VisitID, &f.Signal, &f.Evidence, &status, &create, &f.ReviewActor, &f.ReviewReason,
		&review, &f.ProviderID, &f.ResidentID, &f.RequestID, &finish); err != nil {
		return nil, err
	}
	f.Status, f.CreateTime, f.ReviewTime, f.FinishTime = carehex.FlagStatus(status), fromMicros(create), fromMicros(review), fromMicros(finish)
	return &f, nil
}

// FraudFlags lists flags in status ("" for all), newest first, at most
// limit (default 200, at most 1000).
func (s *DB) FraudFlags(ctx context.Context, status carehex.FlagStatus, limit int) ([]*carehex.FraudFlag, error) {
	limit = clampLimit(limit, 200, 1000)
	if status == "" {
		return queryAll(ctx, s, "list fraud flags", scanFlag, s.rebind(flagSelect+` ORDER BY f.create_time DESC, f.id LIMIT ?`), limit)
	}
	return queryAll(ctx, s, "list fraud flags", scanFlag,
		s.rebind(flagSelect+` WHERE f.status = ? ORDER BY f.create_time DESC, f.id LIMIT ?`), string(status), limit)
}

// VisitFraudFlags lists a visit's flags.
func (s *DB) VisitFraudFlags(ctx context.Context, visitID string) ([]*carehex.FraudFlag, error) {
	return queryAll(ctx, s, "list visit fraud flags", scanFlag, s.rebind(flagSelect+` WHERE f.visit_id = ? ORDER BY f.signal`), visitID)
}

// ReviewFraudFlag records an operator's ruling on a flag, with its audit
// record (visit.fraud_cleared / visit.fraud_confirmed). A ruling may be
// changed by a later one; the trail keeps every one.
func (s *DB) ReviewFraudFlag(ctx context.Context, r *carehex.FlagReview) (*carehex.FraudFlag, error) {
	if r == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "review", "review is required")
	}
	r.Reason = carehex.Trimmed(r.Reason)
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var out *carehex.FraudFlag
	err := s.inTx(ctx, "review fraud flag", func(tx *sql.Tx) error {
		f, err := scanFlag(tx.QueryRowContext(ctx, s.rebind(flagSelect+` WHERE f.id = ?`), r.FlagID))
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "flag_id", "no fraud flag %q", r.FlagID)
		}
		if err != nil {
			return err
		}
		now, actor := s.stamp(), actorOf(ctx)
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE fraud_flags SET status = ?, review_actor = ?, review_reason = ?,
			review_time = ? WHERE id = ?`), string(r.Decision), actor, r.Reason, micros(now), f.ID); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]string{"flag_id": f.ID, "signal": f.Signal, "reason": r.Reason})
		if err := s.audit(ctx, tx, &carehex.AuditRecord{Actor: actor, Time: now, Action: "visit.fraud_" + string(r.Decision),
			ObjectType: "visit", ObjectID: f.VisitID, Detail: string(detail)}); err != nil {
			return err
		}
		f.Status, f.ReviewActor, f.ReviewReason, f.ReviewTime = r.Decision, actor, r.Reason, now
		out = f
		return nil
	})
	return out, err
}

// loadFraudHolds sets Flagged on the visits with a fraud flag not cleared,
// a chunk of visits per query: settlement holds them back.
func (s *DB) loadFraudHolds(ctx context.Context, vs []*carehex.SettleVisit) error {
	byID := make(map[string]*carehex.SettleVisit, len(vs))
	for _, v := range vs {
		byID[v.VisitID] = v
	}
	for i := 0; i < len(vs); i += statementBatch {
		part := vs[i:min(i+statementBatch, len(vs))]
		args := make([]any, len(part))
		for j, v := range part {
			args[j] = v.VisitID
		}
		type row struct{ visit, signal, status string }
		rows, err := queryAll(ctx, s, "read fraud flags", func(sc interface{ Scan(...any) error }) (row, error) {
			var r row
			return r, sc.Scan(&r.visit, &r.signal, &r.status)
		}, s.rebind(`SELECT visit_id, signal, status FROM fraud_flags WHERE visit_id IN (`+placeholders(len(part))+`)`), args...)
		if err != nil {
			return err
		}
		flags := map[string]map[string]carehex.FlagStatus{}
		for _, r := range rows {
			if flags[r.visit] == nil {
				flags[r.visit] = map[string]carehex.FlagStatus{}
			}
			flags[r.visit][r.signal] = carehex.FlagStatus(r.status)
		}
		for id, fs := range flags {
			byID[id].Flagged = carehex.FraudHold(fs)
		}
	}
	return nil
}

// SetContractPhotos sets whether a contract requires photos at arrival
// and completion, with its audit record.
func (s *DB) SetContractPhotos(ctx context.Context, contractID string, required bool) error {
	return s.inTx(ctx, "set contract photos", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE contracts SET require_photos = ? WHERE id = ?`), boolInt(required), contractID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "contract_id", "no contract %q", contractID)
		}
		detail, _ := json.Marshal(map[string]bool{"require_photos": required})
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "contract.photos", ObjectType: "contract", ObjectID: contractID,
			Detail: string(detail)})
	})
}
