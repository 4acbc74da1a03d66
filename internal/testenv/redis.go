package testenv

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// minis holds the miniredis of each test that asked for Redis without a
// configured server, so that every client a test opens (one per replica)
// reaches the same one.
var minis sync.Map // testing.TB → *miniredis.Miniredis

// Redis returns a new client for a test's live state, closed when the test
// ends. With CAREHEX_TEST_REDIS_URL set it is the real test redis-server,
// shared with other tests (use a zone of your own and delete only its keys;
// shared reports true). Without it, under CI=true the test fails; elsewhere
// the test gets a miniredis of its own (every call in one test reaches the
// same one), so a bare `go test ./...` still runs the engine and the phone
// API; make test runs them on the real server.
func Redis(t testing.TB) (rdb *redis.Client, shared bool) {
	t.Helper()
	if os.Getenv("CAREHEX_TEST_REDIS_URL") == "" && os.Getenv("CI") != "true" {
		v, ok := minis.Load(t)
		if !ok {
			mr := miniredis.RunT(t)
			minis.Store(t, mr)
			t.Cleanup(func() { minis.Delete(t) })
			v = mr
		}
		rdb = redis.NewClient(&redis.Options{Addr: v.(*miniredis.Miniredis).Addr(), PoolSize: 64})
		t.Cleanup(func() { rdb.Close() })
		return rdb, false
	}
	opt, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatalf("testenv: bad CAREHEX_TEST_REDIS_URL: %v", err)
	}
	rdb = redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	Ping(t, rdb)
	return rdb, true
}

// RedisClusterAddrs returns the addresses of the test Redis Cluster started
// by scripts/redis-cluster.sh. A missing cluster fails the test under
// CI=true and skips it elsewhere.
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	v := os.Getenv("CAREHEX_TEST_REDIS_CLUSTER_ADDRS")
	if v == "" {
		Unavailable(t, "Redis Cluster not configured: set CAREHEX_TEST_REDIS_CLUSTER_ADDRS (eval \"$(scripts/redis-cluster.sh start)\" starts one)")
	}
	return strings.Split(v, ",")
}

// Ping fails the test when rdb does not answer within five seconds.
func Ping(t testing.TB, rdb redis.UniversalClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
}
