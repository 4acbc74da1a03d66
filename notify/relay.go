package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/carehex/carehex"
)

// Sender delivers one notification; an error means "try again later".
type Sender interface {
	Send(ctx context.Context, n *carehex.Notification) error
}

// LogSender writes notifications to the log: the default where no push
// service is configured.
type LogSender struct{ Log *slog.Logger }

// Send logs n.
func (s LogSender) Send(ctx context.Context, n *carehex.Notification) error {
	s.Log.InfoContext(ctx, "notify.send", "kind", n.Kind, "request", n.RequestID, "resident", n.ResidentID,
		"dedupe_key", n.DedupeKey)
	return nil
}

// WebhookSender POSTs each notification's JSON payload to URL with its
// dedupe key in the Idempotency-Key header; any 2xx is a delivery.
type WebhookSender struct {
	URL    string
	Client *http.Client // default: 10 s timeout
}

// Send posts n to the webhook.
func (s WebhookSender) Send(ctx context.Context, n *carehex.Notification) error {
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader([]byte(n.Payload)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", n.DedupeKey)
	req.Header.Set("X-Carehex-Notification-Kind", n.Kind)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// Relay moves notifications from the outbox to a Sender, at least once.
type Relay struct {
	Outbox carehex.Outbox
	Sender Sender
	Clock  carehex.Clock // default time.Now
	Log    *slog.Logger  // default: discard
	// Lease is how long a claimed notification is left to this relay
	// before another may retry it; it is also the retry delay after a
	// failed send. Default 30 s.
	Lease time.Duration
	Batch int // default 100
	// Notices wakes Run when a notification is written
	// (carehex.OutboxNotice, published after the commit), so it is sent at
	// once; nil: Run sends on its reconcile timer alone.
	Notices carehex.Subscriber
}

// Once delivers the notifications due now and returns how many were sent.
func (r *Relay) Once(ctx context.Context) (int, error) {
	now, log := time.Now, r.Log
	if r.Clock != nil {
		now = r.Clock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lease, batch := r.Lease, r.Batch
	if lease <= 0 {
		lease = 30 * time.Second
	}
	if batch <= 0 {
		batch = 100
	}
	ns, err := r.Outbox.ClaimNotifications(ctx, now(), lease, batch)
	if err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, n := range ns {
		if err := r.Sender.Send(ctx, n); err != nil {
			// Left claimed: it is retried when the lease runs out.
			log.WarnContext(ctx, "notify.retry", "id", n.ID, "attempts", n.Attempts, "err", err)
			continue
		}
		if err := r.Outbox.MarkNotificationSent(ctx, n.ID, now()); err != nil {
			errs = append(errs, err) // delivered but not marked: it goes again, the dedupe key tells
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}

// Run sends what is due at start, whenever a carehex.OutboxNotice arrives,
// and every reconcile (the safety net: a notice lost, another replica's
// notification whose relay died, a failed send whose lease ran out) until
// ctx is done; its caller owns the goroutine. A full batch is followed by
// another pass at once.
func (r *Relay) Run(ctx context.Context, reconcile time.Duration) error {
	if reconcile <= 0 {
		return carehex.Errorf(carehex.EINVALID, "interval", "notify: relay reconcile interval must be positive")
	}
	var wake <-chan struct{}
	if r.Notices != nil {
		var cancel func()
		wake, cancel = r.Notices.Subscribe(carehex.OutboxNotice)
		defer cancel()
	}
	batch := r.Batch
	if batch <= 0 {
		batch = 100
	}
	t := time.NewTimer(reconcile)
	defer t.Stop()
	for {
		sent, err := r.Once(ctx)
		if err != nil && ctx.Err() == nil && r.Log != nil {
			r.Log.WarnContext(ctx, "notify.relay", "err", err)
		}
		if sent >= batch {
			continue // more are waiting
		}
		t.Reset(reconcile)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-t.C:
		}
	}
}
