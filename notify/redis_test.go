package notify_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/notify"
	"github.com/redis/go-redis/v9"
)

// deadline bounds every wait on a wake-up; a test that reaches it fails.
// Waiting is on the channel itself, never a sleep.
const deadline = 10 * time.Second

func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(deadline):
		t.Fatalf("%s: no wake-up within %s", what, deadline)
	}
}

func zone(t *testing.T) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "test" + hex.EncodeToString(b[:])
}

// backends are the Redis kinds the bridge must work on; the shared servers
// are used by others at the same time, and each test has its own zone, so
// its own channel.
var backends = []struct {
	name string
	open func(t *testing.T) redis.UniversalClient
}{
	{"miniredis", func(t *testing.T) redis.UniversalClient {
		mr := miniredis.RunT(t)
		return client(t, redis.NewClient(&redis.Options{Addr: mr.Addr()}))
	}},
	{"redis", func(t *testing.T) redis.UniversalClient {
		opt, err := redis.ParseURL(testenv.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		return client(t, redis.NewClient(opt))
	}},
	{"cluster", func(t *testing.T) redis.UniversalClient {
		v := os.Getenv("CAREHEX_TEST_REDIS_CLUSTER_ADDRS")
		if v == "" {
			msg := "Redis Cluster not configured: set CAREHEX_TEST_REDIS_CLUSTER_ADDRS (eval \"$(scripts/redis-cluster.sh start)\" starts one)"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		return client(t, redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(v, ",")}))
	}},
}

func client(t *testing.T, rdb redis.UniversalClient) redis.UniversalClient {
	t.Helper()
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	return rdb
}

// startBridge runs a bridge with its own hub (one replica) until the test
// ends, and waits until it is subscribed.
func startBridge(t *testing.T, rdb redis.UniversalClient, zone string) *notify.Bridge {
	t.Helper()
	b, err := notify.NewBridge(notify.NewHub(), rdb, notify.BridgeOptions{Zone: zone})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("bridge Run: %v, want context.Canceled", err)
		}
	})
	select {
	case <-b.Ready():
	case <-time.After(deadline):
		t.Fatal("bridge did not subscribe")
	}
	return b
}

func TestBridgeDeliversBetweenReplicas(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			rdb := be.open(t)
			z := zone(t)
			a, b := startBridge(t, rdb, z), startBridge(t, rdb, z)
			ctx := context.Background()

			onB, cancel := b.Hub().Subscribe(provider("p1"))
			defer cancel()
			otherOnB, cancel2 := b.Hub().Subscribe(provider("p2"))
			defer cancel2()
			echoOnA, cancel3 := a.Hub().Subscribe(provider("p1"))
			defer cancel3()
			backOnA, cancel4 := a.Hub().Subscribe(carehex.ConsoleNotice)
			defer cancel4()

			if err := a.Publish(ctx, provider("p1")); err != nil {
				t.Fatal(err)
			}
			if !woken(echoOnA) {
				t.Fatal("publishing on A must wake A's own subscriber at once, before Redis")
			}
			await(t, onB, "A's notice for p1 on B")
			// B answers on the same channel; Redis delivers in order, so by
			// the time A has B's notice it has had its own echo too.
			if err := b.Publish(ctx, carehex.ConsoleNotice); err != nil {
				t.Fatal(err)
			}
			await(t, backOnA, "B's console notice on A")
			if woken(echoOnA) {
				t.Fatal("A was woken again by its own echo from Redis")
			}
			if woken(otherOnB) {
				t.Fatal("a notice for p1 woke B's subscriber of p2")
			}
		})
	}
}

// TestBridgeZonesApart: a replica of another zone hears nothing, and
// garbage on the channel is skipped without stopping the bridge.
func TestBridgeZonesApart(t *testing.T) {
	rdb := backends[0].open(t)
	a, b, c := startBridge(t, rdb, zone(t)), startBridge(t, rdb, "otherzone"), startBridge(t, rdb, "otherzone")
	onB, cancel := b.Hub().Subscribe(provider("p1"))
	defer cancel()
	onC, cancel2 := c.Hub().Subscribe(carehex.ConsoleNotice)
	defer cancel2()
	ctx := context.Background()
	a.Publish(ctx, provider("p1"))
	for _, junk := range []string{"", "rep_x\nnot-a-notice", "rep_x\nplanet:p1"} {
		if err := rdb.Publish(ctx, notify.Channel("otherzone"), junk).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// B's notice reaches C after everything published before it on the
	// channel, so once C has it B has seen A's publish (if it were
	// delivered) and the junk.
	b.Publish(ctx, carehex.ConsoleNotice)
	await(t, onC, "B's notice on C")
	if woken(onB) {
		t.Fatal("a notice from another zone reached B")
	}
}

// ownRedis is a redis-server of this test's own on a free port, which it
// kills and restarts; the shared test servers are never touched.
type ownRedis struct {
	port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func startOwnRedis(t *testing.T) *ownRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.RedisURL(t) // fails under CI=true, skips otherwise
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &ownRedis{port: ln.Addr().(*net.TCPAddr).Port, dir: t.TempDir()}
	ln.Close()
	r.start(t)
	t.Cleanup(r.kill)
	return r
}

func (r *ownRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *ownRedis) start(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	r.done = done
	go func(c *exec.Cmd) { _ = c.Wait(); close(done) }(r.cmd)
	// redis-server offers no readiness signal but answering; ask until it does.
	probe := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1})
	defer probe.Close()
	for start := time.Now(); probe.Ping(context.Background()).Err() != nil; {
		if time.Since(start) > deadline {
			t.Fatal("own redis-server did not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *ownRedis) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		_ = r.cmd.Process.Kill()
		<-r.done
		r.cmd = nil
	}
}

// TestBridgeRedisRestart kills Redis under two replicas and starts it again
// empty: every subscriber on both is woken once (so it re-reads what it may
// have missed), and delivery A→B resumes.
func TestBridgeRedisRestart(t *testing.T) {
	own := startOwnRedis(t)
	dial := func() redis.UniversalClient {
		return client(t, redis.NewClient(&redis.Options{Addr: own.addr(), DialTimeout: time.Second}))
	}
	z := zone(t)
	a, b := startBridge(t, dial(), z), startBridge(t, dial(), z)
	ctx := context.Background()

	onB, cancel := b.Hub().Subscribe(provider("p1"))
	defer cancel()
	idleOnA, cancel2 := a.Hub().Subscribe(carehex.Notice{Topic: carehex.TopicResident, ID: "r1"})
	defer cancel2()
	idleOnB, cancel3 := b.Hub().Subscribe(carehex.Notice{Topic: carehex.TopicRequest, ID: "q1"})
	defer cancel3()
	a.Publish(ctx, provider("p1"))
	await(t, onB, "before the restart")
	subA, subB := a.Subscribed(), b.Subscribed()

	own.kill()
	own.start(t)

	// Nobody published for r1 or q1: these wake-ups are the bridges'
	// "you may have missed something" after resubscribing.
	await(t, idleOnA, "A's idle subscriber after the restart")
	await(t, idleOnB, "B's idle subscriber after the restart")
	if a.Subscribed() <= subA || b.Subscribed() <= subB {
		t.Fatalf("subscriptions %d→%d and %d→%d: the bridges did not resubscribe", subA, a.Subscribed(), subB, b.Subscribed())
	}
	<-onB // the same wake-all woke it too; take it so the next wait is A's notice
	if err := a.Publish(ctx, provider("p1")); err != nil {
		t.Fatal(err)
	}
	await(t, onB, "after the restart")
}

func TestNewBridgeRejectsBadOptions(t *testing.T) {
	rdb := backends[0].open(t)
	for _, tc := range []struct {
		name  string
		hub   *notify.Hub
		rdb   redis.UniversalClient
		opts  notify.BridgeOptions
		field string
	}{
		{"no hub", nil, rdb, notify.BridgeOptions{Zone: "z"}, "hub"},
		{"no redis", notify.NewHub(), nil, notify.BridgeOptions{Zone: "z"}, "redis"},
		{"no zone", notify.NewHub(), rdb, notify.BridgeOptions{}, "zone"},
		{"brace in zone", notify.NewHub(), rdb, notify.BridgeOptions{Zone: "a}b"}, "zone"},
		{"negative queue", notify.NewHub(), rdb, notify.BridgeOptions{Zone: "z", Queue: -1}, "queue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.NewBridge(tc.hub, tc.rdb, tc.opts)
			var ce *carehex.Error
			if !errors.As(err, &ce) || carehex.ErrorCode(err) != carehex.EINVALID || ce.Field != tc.field {
				t.Fatalf("err = %v, want EINVALID naming %q", err, tc.field)
			}
		})
	}
}
