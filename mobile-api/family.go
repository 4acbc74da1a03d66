package mobileapi

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// maxFamilyRequests bounds the family's list to the latest requests.
const maxFamilyRequests = 50

type timelineOut struct {
	Type   string    `json:"type"`
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
}

type familyVisitOut struct {
	ID           string    `json:"id"` // the visit's; "" while nobody is assigned
	RequestID    string    `json:"request_id"`
	Status       string    `json:"status"`
	ServiceCode  string    `json:"service_code"`
	ProviderName string    `json:"provider_name"`
	CreateTime   time.Time `json:"create_time"`
	// ETAS is the estimated seconds until arrival while en route, from the
	// provider's last position; absent when unknown.
	ETAS   *int          `json:"eta_s,omitempty"`
	Events []timelineOut `json:"events"`
}

// member returns the family link of the caller.
func (s *Server) member(ctx context.Context, r *http.Request) (*carehex.FamilyMember, error) {
	m, err := s.store.FamilyMember(ctx, subject(r))
	if carehex.ErrorCode(err) == carehex.ENOTFOUND {
		return nil, carehex.Errorf(carehex.EUNAUTHENTICATED, "", "this family link no longer exists")
	}
	return m, err
}

func (s *Server) familyItem(ctx context.Context, req *carehex.ServiceRequest) (*familyVisitOut, error) {
	out := &familyVisitOut{ID: req.VisitID, RequestID: req.ID, Status: string(req.Status),
		ServiceCode: req.ServiceCode, CreateTime: req.CreateTime.UTC(), Events: []timelineOut{}}
	if req.ProviderID != "" {
		if p, err := s.store.Provider(ctx, req.ProviderID); err == nil {
			out.ProviderName = p.Name
		} else if carehex.ErrorCode(err) != carehex.ENOTFOUND {
			return nil, err
		}
	}
	if req.Status == carehex.StatusEnRoute && req.ProviderID != "" {
		out.ETAS = s.eta(ctx, req)
	}
	evs, err := s.store.RequestEvents(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	// The status timeline only: who at the hotline did what, and why, is
	// for the console.
	for _, e := range evs {
		if n := len(out.Events); n > 0 && out.Events[n-1].Status == string(e.ToStatus) {
			continue // e.g. the offer closed and the visit committed: one step for the family
		}
		out.Events = append(out.Events, timelineOut{Type: e.Type, Status: string(e.ToStatus), Time: e.Time.UTC()})
	}
	return out, nil
}

// familyVisits: GET /m/v1/family/visits lists the linked resident's latest
// requests, assigned or not, with their status timeline.
func (s *Server) familyVisits(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, err := s.member(ctx, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reqs, err := s.store.ServiceRequests(ctx, carehex.RequestFilter{ResidentID: m.ResidentID, Limit: maxFamilyRequests})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []*familyVisitOut{}
	for _, req := range reqs {
		if req.ResidentID != m.ResidentID { // belt and braces: never another resident's
			continue
		}
		item, err := s.familyItem(ctx, req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, item)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"visits": out, "hotline": s.cfg.Hotline})
}

// familyRequest: GET /m/v1/family/requests/{id}; another resident's request
// is answered exactly like one that does not exist.
func (s *Server) familyRequest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.member(ctx, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := s.store.ServiceRequest(ctx, id)
	if err == nil && req.ResidentID != m.ResidentID {
		err = carehex.Errorf(carehex.ENOTFOUND, "id", "no service request %q", id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	item, err := s.familyItem(ctx, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"visit": item})
}

// familyStream: GET /m/v1/family/stream sends an SSE "visit" event with the
// item of /m/v1/family/visits whenever one of the linked resident's requests
// changes (and each once at the start), until the phone disconnects.
func (s *Server) familyStream(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), spread(s.cfg.StreamLifetime))
	defer cancel()
	m, err := s.member(ctx, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Woken by the resident's notices (their requests and visits), and by
	// the reconcile timer; subscribed before the first read, as in offers.
	wake, unsubscribe := s.notices.Subscribe(carehex.Notice{Topic: carehex.TopicResident, ID: m.ResidentID})
	defer unsubscribe()
	// request ID → what was sent; the status is part of it so two changes
	// stamped in the same microsecond still differ.
	seen := map[string]string{}
	changed := func() ([]*familyVisitOut, error) {
		reqs, err := s.store.ServiceRequests(ctx, carehex.RequestFilter{ResidentID: m.ResidentID, Limit: maxFamilyRequests})
		if err != nil {
			return nil, err
		}
		var out []*familyVisitOut
		for _, req := range reqs {
			sig := string(req.Status) + "|" + req.VisitID + "|" + req.UpdateTime.Format(time.RFC3339Nano)
			if req.ResidentID != m.ResidentID || seen[req.ID] == sig {
				continue
			}
			item, err := s.familyItem(ctx, req)
			if err != nil {
				return nil, err
			}
			seen[req.ID] = sig
			out = append(out, item)
		}
		return out, nil
	}
	first, err := changed()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	raw := s.openStream(w)
	write := s.guarded(ctx, r, raw) // an unlinked member gets nothing more
	send := func(items []*familyVisitOut) bool {
		for _, it := range items {
			b, _ := jsonMarshal(it)
			if !write("event: visit\ndata: %s\n\n", b) {
				return false
			}
		}
		return true
	}
	if !write(": carehex family\nretry: 5000\n\n") || !send(first) {
		return
	}
	// The family's stream keeps its own reconcile: RunReconcile wakes
	// phones with offers, not families.
	reconcile := time.NewTicker(s.cfg.Reconcile)
	defer reconcile.Stop()
	s.pump(ctx, raw, wake, reconcile.C, func() bool {
		// The first write re-checks the token, but a wake-up with nothing
		// new writes nothing: check here too, so an unlinked member's
		// stream ends when woken.
		if !s.stillAuthorised(ctx, r) {
			return false
		}
		items, err := changed()
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "mobile.stream_family", "err", err)
			}
			return false
		}
		return send(items)
	})
}

// eta estimates the seconds until the provider of req arrives, from their
// last heartbeat; nil when that is unknown. A family's view must not fail
// because Redis is away, so errors only leave the estimate out.
func (s *Server) eta(ctx context.Context, req *carehex.ServiceRequest) *int {
	l, err := s.live.Live(ctx, req.ProviderID)
	if err != nil || l == nil || (l.Position == carehex.LatLng{}) {
		return nil
	}
	res, err := s.store.Resident(ctx, req.ResidentID)
	if err != nil {
		return nil
	}
	secs := int(math.Round(geo.DistanceM(l.Position, res.Location) / (s.cfg.SpeedKmh / 3.6)))
	return &secs
}
