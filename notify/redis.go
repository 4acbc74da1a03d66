package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carehex/carehex"
	"github.com/redis/go-redis/v9"
)

// Bridge carries notices between the replicas of one zone over Redis
// pub/sub. It is the Publisher the system of record is given: Publish wakes
// this process's waiters at once (through the Hub) and queues the notices
// for the other replicas; Run sends the queue to the zone's channel and feeds
// what the other replicas send into the local Hub.
//
// On Redis Cluster it uses sharded pub/sub (SPUBLISH/SSUBSCRIBE): the zone's
// channel lives on the node of the zone's slot and works in Cluster mode.
// On a single Redis (or the in-process miniredis, which has no sharded
// pub/sub) it uses PUBLISH/SUBSCRIBE.
//
// Pub/sub is fire and forget: a message published while a replica is
// disconnected never reaches it. So every time the hubSubscription is
// (re)established, the bridge wakes every local waiter once; each re-reads
// its state from the system of record and finds whatever it missed. A
// notice lost some other way (the send queue full, a publish failing while
// Redis is down) delays that news until the waiters' slow reconcile; it
// never loses it, because notices carry no news, only "re-read".
type Bridge struct {
	hub     *Hub
	rdb     redis.UniversalClient
	channel string
	sharded bool
	id      string // this replica's ID, to drop its own echoes
	log     *slog.Logger

	out chan carehex.Notice

	readyOnce sync.Once
	ready     chan struct{}

	subscribed atomic.Int64 // subscriptions established, the first included
	sent       atomic.Int64
	dropped    atomic.Int64 // notices that never left this replica
}

// BridgeOptions configure a Bridge.
type BridgeOptions struct {
	Zone string       // dispatch zone, as in providers.Options; names the channel
	Log  *slog.Logger // nil: discard
	// Queue is how many notices may wait to be sent before Publish drops
	// them (they still reach local waiters; remote ones get them by the
	// reconcile). Zero: 8192, some seconds of a busy city's writes.
	Queue int
}

var _ carehex.Publisher = (*Bridge)(nil)

// maxNoticeBatch is the most notices one Redis message carries: a burst of writes
// becomes a few messages, not one round trip each.
const maxNoticeBatch = 256

// NewBridge returns a bridge between hub and the other replicas on rdb.
// Nothing is sent or received until Run.
func NewBridge(hub *Hub, rdb redis.UniversalClient, opts BridgeOptions) (*Bridge, error) {
	switch {
	case hub == nil:
		return nil, carehex.Errorf(carehex.EINVALID, "hub", "notify: a bridge needs a hub")
	case rdb == nil:
		return nil, carehex.Errorf(carehex.EINVALID, "redis", "notify: a bridge needs a Redis client")
	case strings.TrimSpace(opts.Zone) == "" || strings.ContainsAny(opts.Zone, "{}\n"):
		return nil, carehex.Errorf(carehex.EINVALID, "zone", "notify: zone %q must be non-empty without braces or newlines", opts.Zone)
	case opts.Queue < 0:
		return nil, carehex.Errorf(carehex.EINVALID, "queue", "notify: queue %d must not be negative", opts.Queue)
	}
	if opts.Queue == 0 {
		opts.Queue = 8192
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	_, sharded := rdb.(*redis.ClusterClient)
	return &Bridge{
		hub: hub, rdb: rdb, channel: noticeChannel(opts.Zone), sharded: sharded,
		id: carehex.NewID("rep"), log: opts.Log,
		out: make(chan carehex.Notice, opts.Queue), ready: make(chan struct{}),
	}, nil
}

// Hub is the local hub the bridge feeds.
func (b *Bridge) Hub() *Hub { return b.hub }

// Ready is closed once Run has subscribed for the first time: from then on
// notices other replicas publish reach this one.
func (b *Bridge) Ready() <-chan struct{} { return b.ready }

// Subscribed counts how often the hubSubscription was established: 1 after
// start, one more after each reconnect (each woke every local waiter).
func (b *Bridge) Subscribed() int64 { return b.subscribed.Load() }

// Dropped counts notices that never left this replica (queue full, Redis
// failing); their waiters on other replicas catch up at the reconcile.
func (b *Bridge) Dropped() int64 { return b.dropped.Load() }

// Publish wakes the local subscribers of notices and queues them for the
// other replicas. It never blocks: when the queue is full the notices are
// dropped for the other replicas (they are counted, and the error says so);
// the caller logs it and goes on, the write it reports has committed.
func (b *Bridge) Publish(ctx context.Context, notices ...carehex.Notice) error {
	b.hub.Publish(ctx, notices...)
	lost := 0
	for _, n := range notices {
		select {
		case b.out <- n:
		default:
			lost++
		}
	}
	if lost > 0 {
		b.dropped.Add(int64(lost))
		return fmt.Errorf("notify: send queue full, %d notices not sent to other replicas (they catch up at their reconcile)", lost)
	}
	return nil
}

// Run subscribes to the zone's channel and moves notices both ways until ctx
// ends. go-redis reconnects and resubscribes by itself; Run wakes every local
// waiter on each (re)hubSubscription. It returns ctx's error.
func (b *Bridge) Run(ctx context.Context) error {
	var ps *redis.PubSub
	if b.sharded {
		ps = b.rdb.SSubscribe(ctx, b.channel)
	} else {
		ps = b.rdb.Subscribe(ctx, b.channel)
	}
	// Closing the PubSub stops go-redis's receive and health-check
	// goroutines and closes msgs.
	defer ps.Close()
	// A ping every few seconds when the channel is quiet is what finds a
	// silently dead connection; a closed one is found at once.
	msgs := ps.ChannelWithSubscriptions(redis.WithChannelHealthCheckInterval(3*time.Second), redis.WithChannelSize(1024))
	batch := make([]carehex.Notice, 0, maxNoticeBatch)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-msgs:
			if !ok {
				return errors.New("notify: Redis hubSubscription closed")
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" || m.Kind == "ssubscribe" {
					b.onSubscribed()
				}
			case *redis.Message:
				b.receive(ctx, m.Payload)
			}
		case n := <-b.out:
			batch = append(batch[:0], n)
		more:
			for len(batch) < maxNoticeBatch {
				select {
				case n := <-b.out:
					batch = append(batch, n)
				default:
					break more
				}
			}
			b.send(ctx, batch)
		}
	}
}

// onSubscribed wakes every local waiter: whatever was published while this
// replica was not subscribed (before start, or while Redis was away) is
// found by their re-read.
func (b *Bridge) onSubscribed() {
	if b.subscribed.Add(1) > 1 {
		b.log.Info("notify.resubscribed", "channel", b.channel)
	}
	b.hub.WakeAll()
	b.readyOnce.Do(func() { close(b.ready) })
}

func (b *Bridge) send(ctx context.Context, batch []carehex.Notice) {
	payload := encodeNotices(b.id, batch)
	// Bounded, so a hung Redis delays the receive side by at most this.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var err error
	if b.sharded {
		err = b.rdb.SPublish(ctx, b.channel, payload).Err()
	} else {
		err = b.rdb.Publish(ctx, b.channel, payload).Err()
	}
	if err != nil {
		b.dropped.Add(int64(len(batch)))
		b.log.Warn("notify.publish", "channel", b.channel, "notices", len(batch), "err", err)
		return
	}
	b.sent.Add(int64(len(batch)))
}

func (b *Bridge) receive(ctx context.Context, payload string) {
	from, notices, err := decodeNotices(payload)
	if err != nil {
		b.log.Warn("notify.decode", "channel", b.channel, "err", err)
		return
	}
	if from == b.id {
		return // our own echo: local waiters were woken when we published
	}
	b.hub.Publish(ctx, notices...)
}

// encodeNotices writes a message: the sender's ID, then one "topic:id" per line.
// IDs never hold a newline (the store makes them); decode checks anyway.
func encodeNotices(from string, notices []carehex.Notice) string {
	var sb strings.Builder
	sb.WriteString(from)
	for _, n := range dedupeNotices(notices) {
		sb.WriteByte('\n')
		sb.WriteString(n.String())
	}
	return sb.String()
}

// decodeNotices is encodeNotices's inverse; a message it cannot read is an error naming
// the bad line, never a panic (the channel is open to anything on Redis).
func decodeNotices(payload string) (from string, notices []carehex.Notice, err error) {
	lines := strings.Split(payload, "\n")
	from = lines[0]
	if from == "" {
		return "", nil, errors.New("notify: message without a sender")
	}
	notices = make([]carehex.Notice, 0, len(lines)-1)
	for i, line := range lines[1:] {
		name, id, ok := strings.Cut(line, ":")
		if !ok {
			return "", nil, fmt.Errorf("notify: line %d %q is not topic:id", i+2, line)
		}
		t, err := carehex.ParseTopic(name)
		if err != nil {
			return "", nil, fmt.Errorf("notify: line %d: %w", i+2, err)
		}
		notices = append(notices, carehex.Notice{Topic: t, ID: id})
	}
	return from, notices, nil
}
