// Package testenv gives tests the real servers they need: a fresh PostgreSQL
// database and a Redis URL. The servers are started by
// scripts/test-servers.sh (make test does it). When CI=true a missing server
// fails the test; elsewhere the test is skipped with a note saying how to run it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func missing(t testing.TB, what, env string) {
	t.Helper()
	msg := what + " not configured: set " + env + " (make test starts one with scripts/test-servers.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// PostgresURL creates an empty database on the test PostgreSQL server, drops
// it when the test ends, and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("CAREHEX_TEST_POSTGRES_URL")
	if base == "" {
		missing(t, "PostgreSQL", "CAREHEX_TEST_POSTGRES_URL")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "carehex_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("testenv: connect to PostgreSQL at %s: %v", base, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer admin.Close(ctx)
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testenv: bad CAREHEX_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisURL returns the URL of the test redis-server. Tests that use it must
// use keys of their own (or FLUSHDB a database they own).
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CAREHEX_TEST_REDIS_URL")
	if u == "" {
		missing(t, "Redis", "CAREHEX_TEST_REDIS_URL")
	}
	return u
}

// RedisClusterAddrs returns the addresses of the test Redis Cluster started
// by scripts/redis-cluster.sh. Like the servers above, a missing cluster
// fails the test under CI=true and skips it elsewhere.
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	v := os.Getenv("CAREHEX_TEST_REDIS_CLUSTER_ADDRS")
	if v == "" {
		msg := "Redis Cluster not configured: set CAREHEX_TEST_REDIS_CLUSTER_ADDRS (eval \"$(scripts/redis-cluster.sh start)\" starts one)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return strings.Split(v, ",")
}
