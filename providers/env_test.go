package providers_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/providers"
	"github.com/redis/go-redis/v9"
)

// The shared fixtures (internal/testenv) under the names these tests use.
var (
	zibo = testenv.Zibo // the centre of Zhangdian district, Zibo
	at   = testenv.At
	ping = testenv.Ping
)

// backend is one kind of Redis the package must work on.
type backend struct {
	name string
	// open returns a client, closed when the test ends.
	open func(t testing.TB) redis.UniversalClient
	// shared servers are used by other tests at the same time: a test may
	// delete only its own zone's keys there, never flush.
	shared bool
}

var backends = []backend{
	{name: "miniredis", open: func(t testing.TB) redis.UniversalClient {
		t.Helper()
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), PoolSize: 64})
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}},
	{name: "redis", shared: true, open: func(t testing.TB) redis.UniversalClient {
		t.Helper()
		opt, err := redis.ParseURL(testenv.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		opt.PoolSize = 64
		rdb := redis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
		ping(t, rdb)
		return rdb
	}},
	{name: "cluster", shared: true, open: func(t testing.TB) redis.UniversalClient {
		t.Helper()
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testenv.RedisClusterAddrs(t), PoolSize: 64})
		t.Cleanup(func() { rdb.Close() })
		ping(t, rdb)
		return rdb
	}},
}

// each runs f as a subtest against every backend.
func each(t *testing.T, f func(t *testing.T, env *env)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f(t, newEnv(t, b))
		})
	}
}

// env is one test's view of a backend: a zone of its own, a fake clock and
// a store on them.
type env struct {
	b     backend
	rdb   redis.UniversalClient
	zone  string
	clock *testenv.Clock
	store *providers.Store
}

func newEnv(t testing.TB, b backend) *env {
	t.Helper()
	e := &env{b: b, rdb: b.open(t), zone: uniqueZone(), clock: newClock()}
	e.store = e.newStore(t, providers.Options{GeoSet: true})
	t.Cleanup(func() { e.wipe(t) })
	return e
}

// newStore opens another store on the env's zone and clock.
func (e *env) newStore(t testing.TB, opt providers.Options) *providers.Store {
	t.Helper()
	opt.Zone = e.zone
	if opt.Clock == nil {
		opt.Clock = e.clock.Now
	}
	s, err := providers.New(e.rdb, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wipe deletes every key of the env's zone: on a shared server this is what
// losing Redis looks like to the zone, without touching other tests' keys.
func (e *env) wipe(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	pattern := "ch:{" + e.zone + "}:*"
	del := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 500 {
				if err := c.Unlink(ctx, keys...).Err(); err != nil {
					return err
				}
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	var err error
	switch c := e.rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, del)
	case *redis.Client:
		err = del(ctx, c)
	}
	if err != nil {
		t.Logf("wipe zone %s: %v", e.zone, err)
	}
}

// lose simulates Redis losing its data: FLUSHALL on a server of the test's
// own, the zone's keys on a shared one.
func (e *env) lose(t testing.TB) {
	t.Helper()
	if e.b.shared {
		e.wipe(t)
		return
	}
	if err := e.rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

func uniqueZone() string { return testenv.UniqueZone("t") }

func newClock() *testenv.Clock {
	return testenv.NewClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
}
