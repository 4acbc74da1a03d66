package testenv

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records how a helper ended the test
// instead of ending this one. Like testing's own, its Fatal and Skip stop
// the goroutine they are called on, so run the helper with ending.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Fatal(args ...any)            { r.fatal = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, args ...any) { r.fatal = fmt.Sprintf(f, args...); runtime.Goexit() }
func (r *recorder) Skip(args ...any)             { r.skip = fmt.Sprint(args...); runtime.Goexit() }

// ending runs f on a goroutine of its own, as a test body, and returns when
// it has returned or been stopped by the recorder.
func ending(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// TestUnavailable: under CI=true a missing part fails the test; elsewhere it
// skips it, with the same message.
func TestUnavailable(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			r := &recorder{TB: t}
			ending(func() { Unavailable(r, "redis-server is not installed") })
			got, other := r.skip, r.fatal
			if ci == "true" {
				got, other = r.fatal, r.skip
			}
			if got != "redis-server is not installed" || other != "" {
				t.Errorf("fatal %q, skip %q", r.fatal, r.skip)
			}
		})
	}
}

// TestRedisFallback: with no server configured and CI unset, a test gets a
// miniredis of its own, the same one on every call; under CI=true it fails.
func TestRedisFallback(t *testing.T) {
	t.Run("miniredis", func(t *testing.T) {
		t.Setenv("CAREHEX_TEST_REDIS_URL", "")
		t.Setenv("CI", "")
		a, sharedA := Redis(t)
		b, sharedB := Redis(t)
		if sharedA || sharedB {
			t.Fatal("a miniredis reported as the shared server")
		}
		ctx := context.Background()
		if err := a.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Get(ctx, "k").Result(); err != nil || got != "v" {
			t.Fatalf("second client reads %q, %v: not the same server", got, err)
		}
	})
	t.Run("CI", func(t *testing.T) {
		t.Setenv("CAREHEX_TEST_REDIS_URL", "")
		t.Setenv("CI", "true")
		r := &recorder{TB: t}
		ending(func() { Redis(r) })
		if r.fatal == "" || r.skip != "" {
			t.Fatalf("fatal %q, skip %q; want a failure", r.fatal, r.skip)
		}
	})
}
