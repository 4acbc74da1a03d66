package notify_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/notify"
)

func provider(id string) carehex.Notice { return carehex.Notice{Topic: carehex.TopicProvider, ID: id} }

// woken reports whether ch holds a wake-up, without waiting: the hub sends
// before Publish returns, so there is nothing to wait for.
func woken(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestHubWakesOnlySubscribersOfTheNotice(t *testing.T) {
	h := notify.NewHub()
	a, cancelA := h.Subscribe(provider("p1"))
	defer cancelA()
	b, cancelB := h.Subscribe(provider("p2"), carehex.ConsoleNotice)
	defer cancelB()
	// Same ID, other topic: a request named like a provider is not its news.
	c, cancelC := h.Subscribe(carehex.Notice{Topic: carehex.TopicRequest, ID: "p1"})
	defer cancelC()

	ctx := context.Background()
	h.Publish(ctx, provider("p1"))
	if !woken(a) || woken(b) || woken(c) {
		t.Fatal("publishing provider:p1 must wake only its subscriber")
	}
	h.Publish(ctx, carehex.ConsoleNotice)
	if woken(a) || !woken(b) || woken(c) {
		t.Fatal("publishing console must wake only the console subscriber")
	}
}

func TestHubCoalescesWakeUps(t *testing.T) {
	h := notify.NewHub()
	ch, cancel := h.Subscribe(provider("p1"))
	defer cancel()
	for range 10 {
		h.Publish(context.Background(), provider("p1"), provider("p1"))
	}
	if !woken(ch) {
		t.Fatal("no wake-up after ten notices")
	}
	if woken(ch) {
		t.Fatal("ten notices before the waiter read must be one wake-up, got a second")
	}
}

func TestHubCancel(t *testing.T) {
	h := notify.NewHub()
	ch, cancel := h.Subscribe(provider("p1"), provider("p1"), carehex.ConsoleNotice)
	if got := h.Subscriptions(); got != 2 {
		t.Fatalf("Subscriptions = %d after subscribing to two distinct notices, want 2", got)
	}
	cancel()
	cancel() // idempotent
	h.Publish(context.Background(), provider("p1"), carehex.ConsoleNotice)
	h.WakeAll()
	if woken(ch) {
		t.Fatal("a cancelled hubSubscription was woken")
	}
	if got := h.Subscriptions(); got != 0 {
		t.Fatalf("Subscriptions = %d after cancel, want 0", got)
	}
}

func TestHubWakeAll(t *testing.T) {
	h := notify.NewHub()
	var chans []<-chan struct{}
	for i := range 100 {
		ch, cancel := h.Subscribe(provider(fmt.Sprint("p", i)))
		defer cancel()
		chans = append(chans, ch)
	}
	h.WakeAll()
	for i, ch := range chans {
		if !woken(ch) {
			t.Fatalf("subscriber %d not woken by WakeAll", i)
		}
	}
}

// TestHubManySubscribersNoLeak subscribes and cancels 20,000 waiters (a
// city's phones) from many goroutines at once while notices fly, and checks
// that nothing is left behind: no hubSubscription and no goroutine.
func TestHubManySubscribersNoLeak(t *testing.T) {
	h := notify.NewHub()
	before := runtime.NumGoroutine()
	const phones, rounds = 20000, 3
	ctx := context.Background()

	// All phones online at once: a notice to one wakes that one alone.
	chans := make([]<-chan struct{}, phones)
	cancels := make([]func(), phones)
	for i := range phones {
		chans[i], cancels[i] = h.Subscribe(provider(fmt.Sprint("p", i)), carehex.Notice{Topic: carehex.TopicResident, ID: fmt.Sprint("r", i%50)})
	}
	if runtime.NumGoroutine() > before {
		t.Fatalf("subscribing started goroutines: %d before, %d after", before, runtime.NumGoroutine())
	}
	h.Publish(ctx, provider("p12345"))
	for i, ch := range chans {
		if got := woken(ch); got != (i == 12345) {
			t.Fatalf("phone %d woken=%v by a notice to p12345", i, got)
		}
	}
	for _, c := range cancels {
		c()
	}

	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds * phones / 16 {
				id := fmt.Sprint("p", (w*7919+r)%phones)
				_, cancel := h.Subscribe(provider(id), carehex.ConsoleNotice)
				h.Publish(ctx, provider(id), carehex.ConsoleNotice)
				cancel()
			}
		}()
	}
	wg.Wait()
	if got := h.Subscriptions(); got != 0 {
		t.Fatalf("Subscriptions = %d after every waiter cancelled, want 0", got)
	}
}

// BenchmarkHubPublish: one notice to one of 20,000 idle subscribers (an
// offer to one phone of a city), and the subscribe/cancel pair a long poll
// pays per call.
func BenchmarkHubPublish(b *testing.B) {
	h := notify.NewHub()
	for i := range 20000 {
		_, cancel := h.Subscribe(provider(fmt.Sprint("p", i)))
		defer cancel()
	}
	ctx := context.Background()
	n := provider("p12345")
	b.Run("publish", func(b *testing.B) {
		for b.Loop() {
			h.Publish(ctx, n)
		}
	})
	b.Run("subscribe+cancel", func(b *testing.B) {
		for b.Loop() {
			_, cancel := h.Subscribe(n, carehex.ConsoleNotice)
			cancel()
		}
	})
}
