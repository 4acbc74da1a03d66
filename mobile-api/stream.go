package mobileapi

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Server-Sent Events, shared by the offer stream and the family stream.

// pump keeps a stream going until ctx ends or the phone is gone: a
// keep-alive comment every KeepAlive through keep (the unguarded writer: a
// comment carries nothing, so it needs no token check, which would be one
// SQL read per idle phone per KeepAlive; a revocation wakes the stream,
// whose poll re-checks), and poll whenever wake receives (a
// notice of the stream's subject) and whenever reconcile does, in case a
// notice was lost (poll reports false to end the stream).
func (s *Server) pump(ctx context.Context, keep func(format string, args ...any) bool, wake <-chan struct{}, reconcile <-chan time.Time, poll func() bool) {
	alive := time.NewTicker(s.cfg.KeepAlive)
	defer alive.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-alive.C:
			if !keep(": keepalive\n\n") {
				return
			}
		case <-wake:
			if !poll() {
				return
			}
		case <-reconcile:
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
