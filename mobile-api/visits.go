package mobileapi

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carehex/carehex"
)

// A provider's visits: the day list, and the visit events (EVV) that move a
// visit along, judged by carehex.EVVRules.

type latLngOut struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

type residentOut struct {
	Name     string    `json:"name"`
	Phone    string    `json:"phone,omitempty"`
	Address  string    `json:"address"`
	Location latLngOut `json:"location"`
	// CareNotes are the elder's standing notes ("患糖尿病", "耳背"), for
	// the carer holding the visit only, like the address.
	CareNotes string `json:"care_notes,omitempty"`
}

type visitOut struct {
	ID           string       `json:"id"`
	RequestID    string       `json:"request_id"`
	Status       string       `json:"status"`
	ServiceCode  string       `json:"service_code"`
	PlannedStart time.Time    `json:"planned_start"`
	PlannedEnd   time.Time    `json:"planned_end"`
	Resident     *residentOut `json:"resident,omitempty"`
	// Withdrawn marks a visit the hotline cancelled (the request was
	// cancelled while the carer held it), so the phone says so instead of
	// leaving the job on screen. CancelReason is then the reason's code
	// only ("hospitalised", or "other"): the operator's own words may be
	// about the elder and stay in the console.
	Withdrawn    bool   `json:"withdrawn,omitempty"`
	CancelReason string `json:"cancel_reason,omitempty"`
	// Urgency and the request's time window, as on the offer.
	Urgency     string     `json:"urgency,omitempty"`
	WindowStart *time.Time `json:"window_start,omitempty"`
	WindowEnd   *time.Time `json:"window_end,omitempty"`
	// Notes are the operator's notes on the request ("午饭，低糖"),
	// shown with the resident: to the holder of the visit only.
	Notes string `json:"notes,omitempty"`
	// Events are the visit's recorded events (with the phone's time and
	// the server's), shown with the resident.
	Events []eventOut `json:"events,omitempty"`
	// PhotosRequired: the contract requires photos (photos.go).
	PhotosRequired bool `json:"photos_required,omitempty"`
	// CardRequired: the contract paying this visit requires the elder's
	// service card scanned at arrival and at completion (card.go).
	CardRequired bool `json:"card_required,omitempty"`
}

// reveal says whether the provider of v may still see the resident: while
// the visit is live and for RevealFor after it ended.
func (s *Server) reveal(v *carehex.Visit) bool {
	if v.Live() {
		return true
	}
	return !v.FinishTime.IsZero() && s.now().Sub(v.FinishTime) < s.cfg.RevealFor
}

func (s *Server) visitOut(ctx context.Context, v *carehex.Visit, withResident bool) (*visitOut, error) {
	req, err := s.store.ServiceRequest(ctx, v.RequestID)
	if err != nil {
		return nil, err
	}
	out := &visitOut{ID: v.ID, RequestID: v.RequestID, Status: string(v.Status), ServiceCode: req.ServiceCode,
		PlannedStart: v.PlannedStart.UTC(), PlannedEnd: v.PlannedEnd.UTC(), Urgency: string(req.Urgency)}
	if !req.WindowStart.IsZero() && !req.WindowEnd.IsZero() {
		ws, we := req.WindowStart.UTC(), req.WindowEnd.UTC()
		out.WindowStart, out.WindowEnd = &ws, &we
	}
	if v.Status == carehex.StatusCancelled && req.Status == carehex.StatusCancelled && req.VisitID == v.ID &&
		req.CancelReason != "no_show" { // a no-show is the carer's own report, not a withdrawal
		out.Withdrawn, out.CancelReason = true, carehex.CancelReasonCode(req.CancelReason)
	}
	// A job the hotline withdrew is no longer the carer's: the elder's
	// phone, address and notes go with it (minimum necessary).
	if withResident && !out.Withdrawn && s.reveal(v) {
		res, err := s.store.Resident(ctx, req.ResidentID)
		if err != nil {
			return nil, err
		}
		out.Resident = &residentOut{Name: res.Name, Phone: res.Phone, Address: res.Address,
			Location:  latLngOut{Lat: res.Location.Lat, Lng: res.Location.Lng},
			CareNotes: res.Preferences.Notes}
		out.Notes = req.Notes
		evs, err := s.store.VisitEvents(ctx, v.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			out.Events = append(out.Events, toEventOut(e))
		}
		if s.evidence != nil {
			if out.PhotosRequired, err = s.evidence.Records.PhotoRequired(ctx, v.ID); err != nil {
				return nil, err
			}
		}
		if v.Live() {
			if out.CardRequired, err = s.store.VisitNeedsCard(ctx, v.ID, s.now()); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// visits: GET /m/v1/visits lists the provider's visits today (in DayZone),
// and any still live from before.
func (s *Server) visits(w http.ResponseWriter, r *http.Request) {
	now := s.now().In(s.cfg.DayZone)
	dayStart := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.cfg.DayZone)
	vs, err := s.store.ProviderDayVisits(r.Context(), subject(r), dayStart, dayStart.AddDate(0, 0, 1))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []*visitOut{}
	for _, v := range vs {
		vo, err := s.visitOut(r.Context(), v, true)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, vo)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"visits": out})
}

type eventIn struct {
	EventID    *string  `json:"event_id"`
	Type       *string  `json:"type"`
	Lat        *float64 `json:"lat"`
	Lng        *float64 `json:"lng"`
	AccuracyM  *float64 `json:"accuracy_m"`
	DeviceTime *string  `json:"device_time"`
	Note       string   `json:"note"`
}

type eventOut struct {
	EventID     string    `json:"event_id"`
	Type        string    `json:"type"`
	Lat         float64   `json:"lat"`
	Lng         float64   `json:"lng"`
	AccuracyM   float64   `json:"accuracy_m"`
	DeviceTime  time.Time `json:"device_time"`
	ReceiveTime time.Time `json:"receive_time"`
	Verified    bool      `json:"verified"`
	Exceptions  []string  `json:"exceptions"`
	Applied     bool      `json:"applied"`
	Note        string    `json:"note,omitempty"`
}

func toEventOut(e *carehex.VisitEvent) eventOut {
	exc := e.Exceptions
	if exc == nil {
		exc = []string{}
	}
	return eventOut{EventID: e.EventID, Type: string(e.Type), Lat: e.Position.Lat, Lng: e.Position.Lng,
		AccuracyM: e.AccuracyM, DeviceTime: e.DeviceTime.UTC(), ReceiveTime: e.ReceiveTime.UTC(),
		Verified: e.Verified, Exceptions: exc, Applied: e.Applied, Note: e.Note}
}

func validEventID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for _, c := range id {
		if c <= ' ' || c == 0x7f || c > 0x7e {
			return false
		}
	}
	return true
}

// parseEvent checks an event body against the server's clock.
func (s *Server) parseEvent(in *eventIn, visitID, providerID string) (*carehex.VisitEvent, error) {
	switch {
	case in.EventID == nil || !validEventID(*in.EventID):
		return nil, carehex.Errorf(carehex.EINVALID, "event_id", "event_id must be 1 to %d printable ASCII characters, chosen by the phone", maxIDLen)
	case in.Type == nil || !carehex.VisitEventType(*in.Type).Valid():
		return nil, carehex.Errorf(carehex.EINVALID, "type", "type must be one of depart, arrive, complete, no_show")
	case in.DeviceTime == nil:
		return nil, carehex.Errorf(carehex.EINVALID, "device_time", "device_time is required (RFC 3339)")
	}
	pos, err := position(in.Lat, in.Lng)
	if err != nil {
		return nil, err
	}
	acc, err := accuracy(in.AccuracyM)
	if err != nil {
		return nil, err
	}
	dt, err := time.Parse(time.RFC3339Nano, *in.DeviceTime)
	if err != nil {
		return nil, carehex.Errorf(carehex.EINVALID, "device_time", "device_time must be an RFC 3339 time such as 2026-03-02T09:30:00+08:00")
	}
	now := s.now()
	switch {
	case dt.After(now.Add(s.cfg.MaxClockSkew)):
		return nil, carehex.Errorf(carehex.EINVALID, "device_time", "device_time %s is in the future; check the phone's clock", dt.UTC().Format(time.RFC3339))
	case dt.Before(now.Add(-s.cfg.MaxEventAge)):
		return nil, carehex.Errorf(carehex.EINVALID, "device_time", "device_time %s is too long ago", dt.UTC().Format(time.RFC3339))
	}
	note := carehex.Trimmed(in.Note)
	if !utf8.ValidString(note) || strings.ContainsRune(note, 0) || utf8.RuneCountInString(note) > carehex.MaxTextLen {
		return nil, carehex.Errorf(carehex.EINVALID, "note", "note must be text of at most %d characters", carehex.MaxTextLen)
	}
	return &carehex.VisitEvent{EventID: *in.EventID, VisitID: visitID, ProviderID: providerID, Type: carehex.VisitEventType(*in.Type),
		Position: pos, AccuracyM: acc, DeviceTime: dt, Note: note}, nil
}

// visitEvent: POST /m/v1/visits/{id}/events. Idempotent by event_id.
func (s *Server) visitEvent(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in eventIn
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	pid := subject(r)
	ev, err := s.parseEvent(&in, id, pid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	v, err := s.store.Visit(ctx, id)
	if err == nil && v.ProviderID != pid {
		err = carehex.Errorf(carehex.ENOTFOUND, "id", "no visit %q", id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ev.DeviceTime.Before(v.CreateTime.Add(-s.cfg.MaxClockSkew)) {
		s.fail(w, r, carehex.Errorf(carehex.EINVALID, "device_time", "device_time is before the visit was assigned"))
		return
	}
	req, err := s.store.ServiceRequest(ctx, v.RequestID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.store.Resident(ctx, req.ResidentID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rules carehex.VisitEventRules
	if st, err := s.store.ServiceType(ctx, req.ServiceCode); err == nil {
		rules = carehex.RulesFor(st)
	}
	rules.MaxClockSkew = s.cfg.MaxClockSkew
	ev.Verified, ev.Exceptions = s.evv.Judge(ev.Type, ev.Position, ev.AccuracyM, res.Location)
	out, nv, replayed, err := s.store.RecordVisitEvent(ctx, ev, rules)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !nv.Live() {
		// The visit is over: the provider takes offers again. Best effort;
		// the provider's next heartbeat repairs a failure.
		if _, err := s.engine.FreeIfDone(ctx, pid); err != nil {
			s.log.WarnContext(ctx, "mobile.free", "provider", pid, "visit", nv.ID, "err", err)
		}
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	s.writeJSON(w, status, map[string]any{"event": toEventOut(out), "replayed": replayed,
		"visit": map[string]string{"id": nv.ID, "status": string(nv.Status)}})
}
