package notify

import (
	"context"
	"hash/maphash"
	"sync"

	"github.com/carehex/carehex"
)

// Hub is the in-process fan-out of notices to the waiters of this process:
// a phone's long poll or offer stream, a family stream, the console board.
//
// A waiter subscribes to the notices it cares about and gets a channel that
// receives a value whenever one of them is published. The channel holds one
// value: wake-ups coalesce, because a notice carries no news, only "re-read
// your state". A waiter therefore subscribes first, then reads its state,
// then waits; a notice published between the read and the wait is not lost,
// it is already in the channel.
//
// The Hub starts no goroutine and holds no goroutine per subscriber: a
// hubSubscription is a channel in a map, and publishing is a map lookup and a
// non-blocking send per subscriber of the notice, so 20,000 idle phones cost
// their memory and nothing else. Subscriptions are spread over shards by
// notice so that publishers and subscribers of different notices rarely
// share a lock.
//
// The zero Hub is not usable; call NewHub. A Hub is safe for concurrent use.
type Hub struct {
	seed   maphash.Seed
	shards [hubShards]hubShard
}

// hubShards spreads the lock; a power of two so the hash is masked.
const hubShards = 64

type hubShard struct {
	mu   sync.Mutex
	subs map[carehex.Notice]map[*hubSubscription]struct{}
}

type hubSubscription struct {
	ch      chan struct{}
	notices []carehex.Notice
}

var (
	_ carehex.Publisher  = (*Hub)(nil)
	_ carehex.Subscriber = (*Hub)(nil)
)

// NewHub returns an empty hub.
func NewHub() *Hub {
	h := &Hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].subs = make(map[carehex.Notice]map[*hubSubscription]struct{})
	}
	return h
}

func (h *Hub) shard(n carehex.Notice) *hubShard {
	var mh maphash.Hash
	mh.SetSeed(h.seed)
	mh.WriteByte(byte(n.Topic))
	mh.WriteString(n.ID)
	return &h.shards[mh.Sum64()&(hubShards-1)]
}

// Subscribe returns a channel that receives a value after any of notices is
// published (or WakeAll is called), and the func that ends the
// hubSubscription. The waiter must call cancel when it stops waiting (defer it);
// cancel is idempotent and never closes the channel, so a waiter selecting on
// it after cancel just never wakes from it.
func (h *Hub) Subscribe(notices ...carehex.Notice) (wake <-chan struct{}, cancel func()) {
	s := &hubSubscription{ch: make(chan struct{}, 1), notices: dedupeNotices(notices)}
	for _, n := range s.notices {
		sh := h.shard(n)
		sh.mu.Lock()
		set := sh.subs[n]
		if set == nil {
			set = make(map[*hubSubscription]struct{}, 1)
			sh.subs[n] = set
		}
		set[s] = struct{}{}
		sh.mu.Unlock()
	}
	var once sync.Once
	return s.ch, func() { once.Do(func() { h.unsubscribe(s) }) }
}

func (h *Hub) unsubscribe(s *hubSubscription) {
	for _, n := range s.notices {
		sh := h.shard(n)
		sh.mu.Lock()
		if set := sh.subs[n]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				// Drop the empty set, or a city's worth of requests that
				// were once watched would stay in the map for ever.
				delete(sh.subs, n)
			}
		}
		sh.mu.Unlock()
	}
}

// Publish wakes every subscriber of any of notices. It never blocks and never
// fails; ctx is there to satisfy carehex.Publisher.
func (h *Hub) Publish(_ context.Context, notices ...carehex.Notice) error {
	for _, n := range notices {
		sh := h.shard(n)
		sh.mu.Lock()
		for s := range sh.subs[n] {
			s.wake()
		}
		sh.mu.Unlock()
	}
	return nil
}

// WakeAll wakes every subscriber once, whatever it waits for. The Redis
// bridge calls it when it may have missed notices from other replicas (it
// reconnected), so that every waiter re-reads: a lost notice delays news by
// one re-read instead of until the next reconcile.
func (h *Hub) WakeAll() {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		for _, set := range sh.subs {
			for s := range set {
				s.wake()
			}
		}
		sh.mu.Unlock()
	}
}

// Subscriptions counts live (hubSubscription, notice) pairs; a leak shows here.
func (h *Hub) Subscriptions() int {
	total := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		for _, set := range sh.subs {
			total += len(set)
		}
		sh.mu.Unlock()
	}
	return total
}

// wake leaves a value in the channel unless one is already waiting there:
// the coalescing that keeps a burst of notices one wake-up.
func (s *hubSubscription) wake() {
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

func dedupeNotices(ns []carehex.Notice) []carehex.Notice {
	out := make([]carehex.Notice, 0, len(ns))
	seen := make(map[carehex.Notice]bool, len(ns))
	for _, n := range ns {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
