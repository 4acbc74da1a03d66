package mobileapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	"github.com/carehex/carehex/providers"
)

// maxIDLen bounds an ID in a path or body; every carehex ID is far shorter.
const maxIDLen = 100

// maxAccuracyM bounds a reported accuracy; beyond it a fix says nothing.
const maxAccuracyM = 100_000

func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > maxIDLen || !utf8.ValidString(id) {
		return "", carehex.Errorf(carehex.EINVALID, "id", "id must be 1 to %d characters", maxIDLen)
	}
	return id, nil
}

func position(lat, lng *float64) (carehex.LatLng, error) {
	switch {
	case lat == nil:
		return carehex.LatLng{}, carehex.Errorf(carehex.EINVALID, "lat", "lat is required")
	case lng == nil:
		return carehex.LatLng{}, carehex.Errorf(carehex.EINVALID, "lng", "lng is required")
	}
	p := carehex.LatLng{Lat: *lat, Lng: *lng}
	if err := p.Validate("location"); err != nil {
		return p, carehex.Errorf(carehex.EINVALID, fieldOf(err), "%s", carehex.ErrorMessage(err))
	}
	return p, nil
}

// fieldOf turns LatLng.Validate's "location.lat" into the body's "lat".
func fieldOf(err error) string {
	f := carehex.ErrorField(err)
	if _, after, ok := strings.Cut(f, "."); ok {
		return after
	}
	return "lat"
}

func accuracy(a *float64) (float64, error) {
	if a == nil {
		return 0, nil
	}
	if *a < 0 || *a > maxAccuracyM || math.IsNaN(*a) {
		return 0, carehex.Errorf(carehex.EINVALID, "accuracy_m", "accuracy_m must be between 0 and %d", maxAccuracyM)
	}
	return *a, nil
}

type heartbeatIn struct {
	Lat       *float64 `json:"lat"`
	Lng       *float64 `json:"lng"`
	AccuracyM *float64 `json:"accuracy_m"`
	Available *bool    `json:"available"`
}

// heartbeat: POST /m/v1/heartbeat {lat, lng, accuracy_m, available}.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	var in heartbeatIn
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	pos, err := position(in.Lat, in.Lng)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	acc, err := accuracy(in.AccuracyM)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Available == nil {
		s.fail(w, r, carehex.Errorf(carehex.EINVALID, "available", "available is required (true to receive offers)"))
		return
	}
	hb := providers.Heartbeat{ProviderID: subject(r), Position: pos, AccuracyM: acc, Available: *in.Available}
	st, err := s.live.Heartbeat(r.Context(), hb)
	if errors.Is(err, providers.ErrUnknownProvider) {
		// Redis does not know the provider yet (first heartbeat, or Redis
		// was restarted): introduce them with the roster's skills.
		var p *carehex.Provider
		if p, err = s.store.Provider(r.Context(), hb.ProviderID); err == nil {
			if !p.Active {
				err = carehex.Errorf(carehex.EFORBIDDEN, "", "provider is not active on the roster")
			} else {
				hb.Skills = p.Skills
				st, err = s.live.Heartbeat(r.Context(), hb)
			}
		}
	}
	if err == nil && st == providers.StatusBusy {
		// Busy in Redis but perhaps not in the system of record: the free
		// after the last visit's end may have been lost. Repair, then
		// report the status the heartbeat leaves.
		freed, ferr := s.engine.FreeIfDone(r.Context(), hb.ProviderID)
		switch {
		case ferr != nil: // the heartbeat itself counted; the next one repairs
			s.log.WarnContext(r.Context(), "mobile.free", "provider", hb.ProviderID, "err", ferr)
		case freed:
			st, err = s.live.Heartbeat(r.Context(), hb)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"status": string(st)})
}

// offerOut is what a provider sees of an offer: never the resident's name,
// phone or address (invariant 5).
type offerOut struct {
	ID          string    `json:"id"`
	RequestID   string    `json:"request_id"`
	ServiceCode string    `json:"service_code"`
	DistanceM   float64   `json:"distance_m"`
	ExpiresAt   time.Time `json:"expires_at"`
}

func toOffers(os []*carehex.Offer) []offerOut {
	out := make([]offerOut, 0, len(os))
	for _, o := range os {
		out = append(out, toOffer(o))
	}
	return out
}

func toOffer(o *carehex.Offer) offerOut {
	return offerOut{ID: o.ID, RequestID: o.RequestID, ServiceCode: o.ServiceCode,
		DistanceM: math.Round(o.DistanceM), ExpiresAt: o.ExpireTime.UTC()}
}

// offers: GET /m/v1/offers?wait=SECONDS answers as soon as the provider has
// an offer, or after wait seconds with none.
func (s *Server) offers(w http.ResponseWriter, r *http.Request) {
	wait := time.Duration(0)
	if v := r.URL.Query().Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || time.Duration(n)*time.Second > s.cfg.MaxWait {
			s.fail(w, r, carehex.Errorf(carehex.EINVALID, "wait", "wait must be whole seconds from 0 to %d", int(s.cfg.MaxWait/time.Second)))
			return
		}
		wait = time.Duration(n) * time.Second
	}
	// The server's ReadTimeout would end a long wait: on HTTP/1.1 its
	// background read fails and cancels the request. This call has no body
	// left to read, so its deadline moves past the wait.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(wait + 10*time.Second))
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	pid := subject(r)
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	for {
		os, err := s.engine.Offers(r.Context(), pid)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(os) > 0 {
			s.writeJSON(w, http.StatusOK, map[string]any{"offers": toOffers(os)})
			return
		}
		select {
		case <-ctx.Done():
			if r.Context().Err() != nil {
				return // the phone hung up
			}
			s.writeJSON(w, http.StatusOK, map[string]any{"offers": []offerOut{}})
			return
		case <-tick.C:
		}
	}
}

// offerStream: GET /m/v1/offers/stream sends each new offer as an SSE
// "offer" event, with a comment every KeepAlive so proxies keep the line
// open, until the phone disconnects or the stream's lifetime ends.
func (s *Server) offerStream(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StreamLifetime)
	defer cancel()
	pid := subject(r)
	// Fail before the stream starts if the engine is down, as JSON.
	first, err := s.engine.Offers(ctx, pid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	write := s.openStream(w)
	if !write(": carehex offers\nretry: 3000\n\n") {
		return
	}
	sent := map[string]bool{}
	send := func(os []*carehex.Offer) bool {
		open := map[string]bool{}
		for _, o := range os {
			open[o.ID] = true
			if sent[o.ID] {
				continue
			}
			sent[o.ID] = true
			b, _ := jsonMarshal(toOffer(o))
			if !write("id: %s\nevent: offer\ndata: %s\n\n", o.ID, b) {
				return false
			}
		}
		for id := range sent { // forget closed offers, so the map stays small
			if !open[id] {
				delete(sent, id)
			}
		}
		return true
	}
	if !send(first) {
		return
	}
	s.pump(ctx, write, s.cfg.PollInterval, func() bool {
		os, err := s.engine.Offers(ctx, pid)
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "mobile.stream_offers", "err", err)
				b, _ := jsonMarshal(errorDetail{Code: carehex.ErrorCode(err), Message: carehex.ErrorMessage(err)})
				_ = write("event: error\ndata: %s\n\n", b)
			}
			return false
		}
		return send(os)
	})
}

type declineIn struct {
	Reason string `json:"reason"`
}

// accept: POST /m/v1/offers/{id}/accept → the visit, with the resident's
// name and address now that the job is the provider's.
func (s *Server) accept(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.engine.Accept(r.Context(), subject(r), id)
	if err != nil {
		s.fail(w, r, notFoundIfForbidden(err, "offer", id))
		return
	}
	out, err := s.visitOut(r.Context(), v, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"visit": out})
}

// notFoundIfForbidden hides whether someone else's object exists.
func notFoundIfForbidden(err error, what, id string) error {
	if carehex.ErrorCode(err) == carehex.EFORBIDDEN {
		return carehex.Errorf(carehex.ENOTFOUND, "id", "no %s %q", what, id)
	}
	return err
}

// decline: POST /m/v1/offers/{id}/decline {reason}.
func (s *Server) decline(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in declineIn
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	in.Reason = carehex.Trimmed(in.Reason)
	if !utf8.ValidString(in.Reason) || strings.ContainsRune(in.Reason, 0) || utf8.RuneCountInString(in.Reason) > 500 {
		s.fail(w, r, carehex.Errorf(carehex.EINVALID, "reason", "reason must be text of at most 500 characters"))
		return
	}
	if in.Reason == "" {
		in.Reason = "declined"
	}
	if err := s.engine.Decline(r.Context(), subject(r), id, in.Reason); err != nil {
		s.fail(w, r, notFoundIfForbidden(err, "offer", id))
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"declined": true})
}

type latLngOut struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

type residentOut struct {
	Name     string    `json:"name"`
	Phone    string    `json:"phone,omitempty"`
	Address  string    `json:"address"`
	Location latLngOut `json:"location"`
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
		PlannedStart: v.PlannedStart.UTC(), PlannedEnd: v.PlannedEnd.UTC()}
	if v.Status == carehex.StatusCancelled && req.Status == carehex.StatusCancelled && req.VisitID == v.ID &&
		req.CancelReason != "no_show" { // a no-show is the carer's own report, not a withdrawal
		out.Withdrawn, out.CancelReason = true, carehex.CancelReasonCode(req.CancelReason)
	}
	if withResident && s.reveal(v) {
		res, err := s.store.Resident(ctx, req.ResidentID)
		if err != nil {
			return nil, err
		}
		out.Resident = &residentOut{Name: res.Name, Phone: res.Phone, Address: res.Address,
			Location: latLngOut{Lat: res.Location.Lat, Lng: res.Location.Lng}}
	}
	return out, nil
}

// visits: GET /m/v1/visits lists the provider's visits today (in DayZone),
// and any still live from before.
func (s *Server) visits(w http.ResponseWriter, r *http.Request) {
	vs, err := s.store.ProviderVisits(r.Context(), subject(r), false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now().In(s.cfg.DayZone)
	dayStart := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.cfg.DayZone)
	dayEnd := dayStart.AddDate(0, 0, 1)
	out := []*visitOut{}
	for _, v := range vs {
		today := !v.PlannedStart.Before(dayStart) && v.PlannedStart.Before(dayEnd)
		if !today && !v.Live() {
			continue
		}
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

// verify judges the event's position against the home (EVV): a check-in
// inside the geofence is verified, one outside is accepted but flagged; a
// check-out far from home is flagged.
func (s *Server) verify(e *carehex.VisitEvent, home carehex.LatLng) {
	d := geo.DistanceM(e.Position, home)
	slack := math.Min(e.AccuracyM, s.cfg.GeofenceM)
	e.Verified = d <= s.cfg.GeofenceM+slack
	switch e.Type {
	case carehex.VisitArrive:
		if !e.Verified {
			e.Exceptions = append(e.Exceptions, carehex.ExceptionOutsideGeofence)
		}
	case carehex.VisitComplete:
		if d > s.cfg.CheckoutFarM+math.Min(e.AccuracyM, s.cfg.CheckoutFarM) {
			e.Exceptions = append(e.Exceptions, carehex.ExceptionCheckoutFar)
		}
	}
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
		rules.MinDuration = st.DefaultDuration / 2
	}
	s.verify(ev, res.Location)
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

// pump keeps a stream going until ctx ends or the phone is gone: a
// keep-alive comment every KeepAlive, and poll every interval (poll reports
// false to end the stream).
func (s *Server) pump(ctx context.Context, write func(format string, args ...any) bool, interval time.Duration, poll func() bool) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	keep := time.NewTicker(s.cfg.KeepAlive)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keep.C:
			if !write(": keepalive\n\n") {
				return
			}
		case <-tick.C:
			if !poll() {
				return
			}
		}
	}
}

// openStream starts a Server-Sent Events answer and returns its writer,
// which reports false once the phone is gone.
func (s *Server) openStream(w http.ResponseWriter) func(format string, args ...any) bool {
	rc := http.NewResponseController(w)
	// No read deadline for a stream (see offers); each write gets its own,
	// since the server's timeouts are for ordinary calls.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.KeepAlive + 10*time.Second))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
}
