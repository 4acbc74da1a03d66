package mobileapi

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/carehex/carehex"
)

// Offers as a provider sees them: the long poll, the offer stream, accept
// and decline.

// offerOut is what a provider sees of an offer: how urgent, when and how
// far, never the resident's name, phone, address or notes (invariant 5).
type offerOut struct {
	ID          string     `json:"id"`
	RequestID   string     `json:"request_id"`
	ServiceCode string     `json:"service_code"`
	DistanceM   float64    `json:"distance_m"`
	ExpiresAt   time.Time  `json:"expires_at"`
	Urgency     string     `json:"urgency,omitempty"`
	WindowStart *time.Time `json:"window_start,omitempty"`
	WindowEnd   *time.Time `json:"window_end,omitempty"`
}

func (s *Server) toOffers(ctx context.Context, os []*carehex.Offer) ([]offerOut, error) {
	out := make([]offerOut, 0, len(os))
	for _, o := range os {
		oo, err := s.toOffer(ctx, o)
		if err != nil {
			return nil, err
		}
		out = append(out, oo)
	}
	return out, nil
}

// toOffer adds the request's urgency and time window to the offer, so the
// carer can judge it before accepting.
func (s *Server) toOffer(ctx context.Context, o *carehex.Offer) (offerOut, error) {
	out := offerOut{ID: o.ID, RequestID: o.RequestID, ServiceCode: o.ServiceCode,
		DistanceM: math.Round(o.DistanceM), ExpiresAt: o.ExpireTime.UTC()}
	req, err := s.store.ServiceRequest(ctx, o.RequestID)
	if err != nil {
		return out, err
	}
	out.Urgency = string(req.Urgency)
	if !req.WindowStart.IsZero() && !req.WindowEnd.IsZero() {
		ws, we := req.WindowStart.UTC(), req.WindowEnd.UTC()
		out.WindowStart, out.WindowEnd = &ws, &we
	}
	return out, nil
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
		wait = spread(time.Duration(n) * time.Second)
	}
	// The server's ReadTimeout would end a long wait: on HTTP/1.1 its
	// background read fails and cancels the request. This call has no body
	// left to read, so its deadline moves past the wait.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(wait + 10*time.Second))
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	pid := subject(r)
	// Subscribe before the first read, so an offer written between the read
	// and the wait still wakes this call (notify.Hub).
	wake, unsubscribe := s.notices.Subscribe(providerNotice(pid))
	defer unsubscribe()
	reconcile, stop := s.ownReconcile()
	defer stop()
	for woken := false; ; woken = true {
		if woken {
			// A revocation publishes the provider's notice: a revoked
			// phone's long poll ends now, not when its wait runs out.
			if err := s.recheck(r.Context(), r); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		os, err := s.engine.Offers(r.Context(), pid)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(os) > 0 {
			out, err := s.toOffers(r.Context(), os)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			s.writeJSON(w, http.StatusOK, map[string]any{"offers": out})
			return
		}
		select {
		case <-ctx.Done():
			if r.Context().Err() != nil {
				return // the phone hung up
			}
			s.writeJSON(w, http.StatusOK, map[string]any{"offers": []offerOut{}})
			return
		case <-wake:
		case <-reconcile:
		}
	}
}

// offerStream: GET /m/v1/offers/stream sends each new offer as an SSE
// "offer" event, with a comment every KeepAlive so proxies keep the line
// open, until the phone disconnects or the stream's lifetime ends.
func (s *Server) offerStream(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), spread(s.cfg.StreamLifetime))
	defer cancel()
	pid := subject(r)
	wake, unsubscribe := s.notices.Subscribe(providerNotice(pid)) // before the first read, as in offers
	defer unsubscribe()
	// Fail before the stream starts if the engine is down, as JSON.
	first, err := s.engine.Offers(ctx, pid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Every write re-checks the token, and so does every wake-up: a revoked
	// phone gets no further offer, and since the revocation publishes the
	// provider's notice its stream ends at once.
	raw := s.openStream(w)
	write := s.guarded(ctx, r, raw)
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
			oo, err := s.toOffer(ctx, o)
			if err != nil {
				// Sent on the next wake-up or reconcile, when the store
				// answers again.
				s.log.WarnContext(ctx, "mobile.stream_offer", "offer", o.ID, "err", err)
				continue
			}
			sent[o.ID] = true
			b, _ := jsonMarshal(oo)
			if !write("id: %s\nevent: offer\ndata: %s\n\n", o.ID, b) {
				return false
			}
		}
		for id := range sent { // forget closed offers, so the map stays small
			if !open[id] {
				delete(sent, id)
				// Taken, withdrawn, expired or answered: the phone drops it
				// now instead of on its next check.
				b, _ := jsonMarshal(map[string]string{"id": id})
				if !write("event: closed\ndata: %s\n\n", b) {
					return false
				}
			}
		}
		return true
	}
	if !send(first) {
		return
	}
	reconcile, stop := s.ownReconcile()
	defer stop()
	s.pump(ctx, raw, wake, reconcile, func() bool {
		if !s.stillAuthorised(ctx, r) {
			return false
		}
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

// providerNotice is what a provider's phone waits for: its offers or
// visits changed, or its tokens were revoked.
func providerNotice(id string) carehex.Notice {
	return carehex.Notice{Topic: carehex.TopicProvider, ID: id}
}

type declineIn struct {
	ReasonCode string `json:"reason_code"`
	Reason     string `json:"reason"`
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

// decline: POST /m/v1/offers/{id}/decline {reason_code, reason}; the
// offer keeps the code (and the carer's words), see carehex.DeclineReason.
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
	reason, err := carehex.DeclineReason(in.ReasonCode, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.engine.Decline(r.Context(), subject(r), id, reason); err != nil {
		s.fail(w, r, notFoundIfForbidden(err, "offer", id))
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"declined": true})
}

// spread shortens a long poll's wait, a stream's lifetime or a cached
// token's life by a random part of up to a quarter, so that phones which
// started together (after a restart of the server or of the network, or a
// bench's phones) do not all come back in the same instant: each poll again re-reads the provider's
// offers from SQL, and 2,000 phones doing so within 100 ms every 10 s held
// every database connection for tens of milliseconds (docs/LOAD.md,
// "PostgreSQL at 100/s"). Waits of a few seconds are left alone.
func spread(d time.Duration) time.Duration {
	if d < 4*time.Second {
		return d
	}
	return d - rand.N(d/4)
}
