package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
)

// TestUserAccessCommands: `carehex user unlock|disable|enable` on the
// embedded SQLite file and on PostgreSQL.
func TestUserAccessCommands(t *testing.T) {
	for _, be := range []struct {
		name string
		env  func(t *testing.T) map[string]string
	}{
		{"sqlite", func(t *testing.T) map[string]string { return map[string]string{} }},
		{"postgres", func(t *testing.T) map[string]string {
			return map[string]string{"CAREHEX_DATABASE_URL": testenv.PostgresURL(t)}
		}},
	} {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			env := be.env(t)
			data := t.TempDir()
			getenv := func(k string) string { return env[k] }
			cli := func(stdin string, args ...string) (string, error) {
				var out, errOut strings.Builder
				err := run(ctx, append(args, "--data", data), getenv, strings.NewReader(stdin), &out, &errOut)
				return out.String() + errOut.String(), err
			}
			if out, err := cli("correct-horse-battery\n", "user", "add", "--username", "op1", "--role", "operator", "--password-stdin"); err != nil {
				t.Fatalf("user add: %v\n%s", err, out)
			}
			cfg := defaultConfig(getenv)
			cfg.DataDir = data
			store, err := openStore(ctx, &cfg, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()

			// Lock op1 out, then unlock by command.
			policy := carehex.DefaultLoginPolicy()
			for i := 0; i < policy.MaxFailures; i++ {
				if _, err := store.LoginFailed(ctx, carehex.LoginAttempt{Username: "op1", Addr: "10.1.1.1", Time: time.Now()}, policy); err != nil {
					t.Fatal(err)
				}
			}
			locked := []string{carehex.UserThrottleKey("op1")}
			if until, _ := store.LoginLockedUntil(ctx, locked, time.Now()); until.IsZero() {
				t.Fatal("op1 not locked after the failures")
			}
			if out, err := cli("", "user", "unlock", "--username", "op1"); err != nil || !strings.Contains(out, "unlocked") {
				t.Fatalf("user unlock: %v\n%s", err, out)
			}
			if until, _ := store.LoginLockedUntil(ctx, locked, time.Now()); !until.IsZero() {
				t.Errorf("op1 still locked until %v after unlock", until)
			}
			if out, err := cli("", "user", "unlock", "--username", "op1"); err != nil || !strings.Contains(out, "no failed logins") {
				t.Errorf("second unlock: %v\n%s", err, out)
			}

			if out, err := cli("", "user", "disable", "--username", "op1"); err != nil || !strings.Contains(out, "disabled user op1") {
				t.Fatalf("user disable: %v\n%s", err, out)
			}
			if u, err := store.UserByUsername(ctx, "op1"); err != nil || !u.Disabled {
				t.Errorf("after disable: %+v, %v", u, err)
			}
			if out, err := cli("", "user", "enable", "--username", "op1"); err != nil || !strings.Contains(out, "enabled user op1") {
				t.Fatalf("user enable: %v\n%s", err, out)
			}
			if u, err := store.UserByUsername(ctx, "op1"); err != nil || u.Disabled {
				t.Errorf("after enable: %+v, %v", u, err)
			}

			if _, err := cli("", "user", "disable", "--username", "nobody"); err == nil || !strings.Contains(err.Error(), `no user "nobody"`) {
				t.Errorf("disable of an unknown user: %v", err)
			}
			if _, err := cli("", "user", "unlock"); err == nil || !strings.Contains(err.Error(), "--username") {
				t.Errorf("unlock without --username: %v", err)
			}
		})
	}
}

// TestAccessConfig: the access settings' defaults, and bad values refused
// naming the variable.
func TestAccessConfig(t *testing.T) {
	c := defaultConfig(func(string) string { return "" })
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.Access.Login != carehex.DefaultLoginPolicy() || c.Access.FamilyTTL != carehex.FamilyTTL || c.Access.TrustForwardedFor || c.Access.HashConcurrency < 1 ||
		c.Access.Reads != carehex.DefaultReadPolicy() {
		t.Errorf("defaults %+v", c.Access)
	}
	good := map[string]string{"CAREHEX_LOGIN_MAX_FAILURES": "5", "CAREHEX_LOGIN_WINDOW": "30m",
		"CAREHEX_FAMILY_TOKEN_TTL": "168h", "CAREHEX_TRUST_FORWARDED_FOR": "true", "CAREHEX_HASH_CONCURRENCY": "2",
		"CAREHEX_BULK_ACCESS_LIMIT": "50", "CAREHEX_BULK_ACCESS_WINDOW": "30m"}
	c = defaultConfig(func(k string) string { return good[k] })
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.Access.Login.MaxFailures != 5 || c.Access.Login.Window != 30*time.Minute || c.Access.FamilyTTL != 168*time.Hour ||
		!c.Access.TrustForwardedFor || c.Access.HashConcurrency != 2 ||
		c.Access.Reads != (carehex.ReadPolicy{MaxResidents: 50, Window: 30 * time.Minute}) {
		t.Errorf("settings not applied: %+v", c.Access)
	}
	for key, bad := range map[string]string{
		"CAREHEX_LOGIN_MAX_FAILURES":      "0",
		"CAREHEX_LOGIN_MAX_ADDR_FAILURES": "many",
		"CAREHEX_LOGIN_WINDOW":            "5s",
		"CAREHEX_LOGIN_LOCKOUT":           "forever",
		"CAREHEX_LOGIN_MAX_LOCKOUT":       "2s",
		"CAREHEX_HASH_CONCURRENCY":        "0",
		"CAREHEX_FAMILY_TOKEN_TTL":        "10m",
		"CAREHEX_TRUST_FORWARDED_FOR":     "maybe",
		"CAREHEX_BULK_ACCESS_LIMIT":       "0",
		"CAREHEX_BULK_ACCESS_WINDOW":      "1s",
	} {
		c := defaultConfig(func(k string) string {
			if k == key {
				return bad
			}
			return ""
		})
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: %v; want an error naming it", key, bad, err)
		}
	}
}
