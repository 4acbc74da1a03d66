package dispatch

import "time"

// When requests outnumber free providers (a morning peak, or the backlog
// after an outage), most waiting requests find nobody to claim, and
// re-ranking each of them every second on every replica is futile work that
// slows everything else, the claims that would succeed included. So a request
// that found nobody free is left out of the dispatcher's pass for a while,
// 1 s doubling to maxQuiet, unless a provider was freed in this process
// since (an offer declined or expired, a visit over): then every waiting
// request is tried again at once. A provider freed by another replica is
// seen within maxQuiet. New requests and operator actions dispatch at once
// whatever the backoff says.

const maxQuiet = 4 * time.Second

type quiet struct {
	freed uint64    // the engine's count of freed providers when it found nobody
	until time.Time // not before this, unless a provider was freed since
	n     int       // consecutive times it found nobody
}

// foundNobody records that requestID's dispatch claimed nobody at now.
func (e *Engine) foundNobody(requestID string, now time.Time) {
	e.mu.Lock()
	q := e.quiet[requestID]
	q.n++
	q.freed, q.until = e.freedCount, now.Add(min(time.Second<<(q.n-1), maxQuiet))
	e.quiet[requestID] = q
	e.mu.Unlock()
	e.dueAt(q.until)
}

// foundSomeone forgets requestID's backoff.
func (e *Engine) foundSomeone(requestID string) {
	e.mu.Lock()
	delete(e.quiet, requestID)
	e.mu.Unlock()
}

// freed notes that a provider became free in this process; the requests
// resting are then tried again at once.
func (e *Engine) freed() {
	e.mu.Lock()
	e.freedCount++
	resting := len(e.quiet) > 0
	e.mu.Unlock()
	if resting {
		e.dueAt(e.now())
	}
}

// resting reports whether the pass at now should leave requestID out.
func (e *Engine) resting(requestID string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, ok := e.quiet[requestID]
	return ok && now.Before(q.until) && q.freed == e.freedCount
}

// pruneQuiet forgets backoffs long past, of requests served or gone, and
// asks for a pass when the soonest backoff still ahead ends.
func (e *Engine) pruneQuiet(now time.Time) {
	var next time.Time
	e.mu.Lock()
	for id, q := range e.quiet {
		switch {
		case now.Sub(q.until) > time.Minute:
			delete(e.quiet, id)
		case q.until.After(now) && (next.IsZero() || q.until.Before(next)):
			next = q.until
		}
	}
	e.mu.Unlock()
	if !next.IsZero() {
		e.dueAt(next)
	}
}
