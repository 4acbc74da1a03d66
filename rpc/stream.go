package rpc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
)

// ConsoleStream serves GET /console/v1/stream: Server-Sent Events that tell
// an open console board "something changed, re-read" when the store
// publishes carehex.ConsoleNotice, so that the board refreshes on news
// instead of on a timer.
//
// It is plain SSE beside Twirp rather than a Twirp method: Twirp calls are
// one request, one answer, and a browser's fetch-based SSE reader (the
// phone app's mobileapi.js stream) needs a long-lived text/event-stream.
// The console's bearer token goes in the Authorization header as for Twirp;
// any console role may listen, since the event carries no data (the board
// re-reads through Twirp, where each call checks its role).
//
// Events: "changed" (data {}) at most once per Coalesce however many
// notices arrive; "call" (data {"call_id"}) when a call is active at the
// extension the console named (?extension=8001): on connect, and at once
// after each call event the telephone system reports there, so the console
// asks IntakeService/GetActiveCall and pops the caller's card (no event when
// the call has hung up: a console never asks for a call that is gone); a ": keepalive" comment every KeepAlive (the first past
// each Reconcile re-checks the token, so a logged-out or expired session's
// stream ends within Reconcile + KeepAlive; every "changed" re-checks it
// too), and the stream ends after Lifetime so the browser reconnects and
// is authenticated afresh.
type ConsoleStream struct {
	Store carehex.AuthStore
	// Calls answers the call active at an extension, for the "call"
	// event; nil sends none.
	Calls     carehex.CallStore
	Notices   carehex.Subscriber
	Clock     carehex.Clock // default time.Now
	Log       *slog.Logger  // default: discard
	Coalesce  time.Duration // default 250 ms
	KeepAlive time.Duration // default 15 s
	Lifetime  time.Duration // default 10 min
	// Reconcile is the least time between two token re-checks that no
	// notice asked for (the keep-alive's): no stream reads SQL more often
	// on a timer. Default 20 s, the waiters' reconcile.
	Reconcile time.Duration
}

func (c *ConsoleStream) now() time.Time {
	if c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

// authorise is the token's principal when it is a live console session.
func (c *ConsoleStream) authorise(ctx context.Context, r *http.Request) (carehex.Principal, error) {
	token, err := auth.BearerToken(r.Header)
	if err != nil {
		return carehex.Principal{}, err
	}
	p, err := auth.Authenticate(ctx, c.Store, c.now(), token)
	if err != nil {
		return carehex.Principal{}, err
	}
	if p.Kind != carehex.KindUser {
		return carehex.Principal{}, carehex.Errorf(carehex.EFORBIDDEN, "", "%s tokens cannot open the console stream; it needs a console session", p.Kind)
	}
	return p, nil
}

func (c *ConsoleStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	coalesce, keepAlive, lifetime := orDefault(c.Coalesce, 250*time.Millisecond), orDefault(c.KeepAlive, 15*time.Second),
		orDefault(c.Lifetime, 10*time.Minute)
	recheck := orDefault(c.Reconcile, 20*time.Second)
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := c.authorise(r.Context(), r)
	if err != nil {
		status := http.StatusUnauthorized
		if carehex.ErrorCode(err) == carehex.EFORBIDDEN {
			status = http.StatusForbidden
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		b, _ := json.Marshal(map[string]string{"code": carehex.ErrorCode(err), "msg": carehex.ErrorMessage(err)})
		_, _ = w.Write(b)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), lifetime)
	defer cancel()
	notices := c.Notices
	if notices == nil {
		notices = carehex.NoSubscriber{}
	}
	wake, unsubscribe := notices.Subscribe(carehex.ConsoleNotice)
	defer unsubscribe()
	var ring <-chan struct{} // nil: no extension, never ready
	ext := r.URL.Query().Get("extension")
	if c.Calls == nil || p.Role.OrgRole() {
		// An organisation's account takes no hotline calls: no call
		// notices (rpc/org.go).
		ext = ""
	}
	if ext != "" {
		if len(ext) > carehex.MaxExtensionLen {
			http.Error(w, "extension is too long", http.StatusBadRequest)
			return
		}
		var stop func()
		ring, stop = notices.Subscribe(carehex.Notice{Topic: carehex.TopicCall, ID: ext})
		defer stop()
	}

	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{}) // a stream outlives the server's ReadTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(s string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(keepAlive + 10*time.Second))
		if _, err := fmt.Fprint(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	checked := time.Now()
	alive := func() bool {
		checked = time.Now()
		if _, err := c.authorise(ctx, r); err != nil {
			log.InfoContext(ctx, "console.stream_ended", "reason", carehex.ErrorMessage(err))
			return false
		}
		return true
	}
	if !write(": carehex console\nretry: 3000\n\n") {
		return
	}
	// call tells the console of the call active at its extension, if any.
	call := func() bool {
		got, err := c.Calls.ActiveCall(ctx, ext)
		if err != nil {
			return carehex.ErrorCode(err) == carehex.ENOTFOUND
		}
		b, _ := json.Marshal(map[string]string{"call_id": got.CallID})
		return write("event: call\ndata: " + string(b) + "\n\n")
	}
	if ext != "" && !call() {
		return
	}
	keep := time.NewTicker(keepAlive)
	defer keep.Stop()
	// Coalescing: a burst of writes (a busy morning) is one "changed" per
	// Coalesce, not one per write; the board re-reads once.
	hold := time.NewTimer(0)
	<-hold.C
	holding, pending := false, false
	send := func() bool {
		if !alive() {
			return false
		}
		hold.Reset(coalesce)
		holding, pending = true, false
		return write("event: changed\ndata: {}\n\n")
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-keep.C:
			if (time.Since(checked) >= recheck && !alive()) || !write(": keepalive\n\n") {
				return
			}
		case <-ring:
			if !alive() || !call() {
				return
			}
		case <-wake:
			if holding {
				pending = true
				continue
			}
			if !send() {
				return
			}
		case <-hold.C:
			holding = false
			if pending && !send() {
				return
			}
		}
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
