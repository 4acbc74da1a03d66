package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
)

// accessConfig is who may log in how often, and how long access lasts.
type accessConfig struct {
	Login             carehex.LoginPolicy // the login throttle
	HashConcurrency   int                 // bcrypt comparisons at once
	FamilyTTL         time.Duration       // a family token's lifetime
	TrustForwardedFor bool                // take the throttle's client address from X-Forwarded-For
	Reads             carehex.ReadPolicy  // the bulk-access limit on residents' personal data

	env map[string]string // the CAREHEX_* values given, parsed by validate
}

// accessEnv lists the settings, each with its variable.
var accessEnv = []string{
	"CAREHEX_LOGIN_MAX_FAILURES", "CAREHEX_LOGIN_MAX_ADDR_FAILURES", "CAREHEX_LOGIN_WINDOW",
	"CAREHEX_LOGIN_LOCKOUT", "CAREHEX_LOGIN_MAX_LOCKOUT", "CAREHEX_HASH_CONCURRENCY",
	"CAREHEX_FAMILY_TOKEN_TTL", "CAREHEX_TRUST_FORWARDED_FOR",
	"CAREHEX_BULK_ACCESS_LIMIT", "CAREHEX_BULK_ACCESS_WINDOW",
}

func defaultAccessConfig(getenv func(string) string) accessConfig {
	a := accessConfig{Login: carehex.DefaultLoginPolicy(), HashConcurrency: auth.DefaultHashConcurrency(),
		FamilyTTL: carehex.FamilyTTL, Reads: carehex.DefaultReadPolicy(), env: map[string]string{}}
	for _, k := range accessEnv {
		if v := getenv(k); v != "" {
			a.env[k] = v
		}
	}
	return a
}

// validate reads the given variables over the defaults, failing on the first
// bad one with the range it must be in.
func (a *accessConfig) validate() error {
	ints := []struct {
		key      string
		dst      *int
		min, max int
	}{
		{"CAREHEX_LOGIN_MAX_FAILURES", &a.Login.MaxFailures, 1, 1000},
		{"CAREHEX_LOGIN_MAX_ADDR_FAILURES", &a.Login.MaxAddrFailures, 1, 1000000},
		{"CAREHEX_HASH_CONCURRENCY", &a.HashConcurrency, 1, 64},
		{"CAREHEX_BULK_ACCESS_LIMIT", &a.Reads.MaxResidents, 1, 1000000},
	}
	for _, s := range ints {
		if v, ok := a.env[s.key]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < s.min || n > s.max {
				return fmt.Errorf("%s %q must be a whole number from %d to %d", s.key, v, s.min, s.max)
			}
			*s.dst = n
		}
	}
	durs := []struct {
		key      string
		dst      *time.Duration
		min, max time.Duration
	}{
		{"CAREHEX_LOGIN_WINDOW", &a.Login.Window, time.Minute, 24 * time.Hour},
		{"CAREHEX_LOGIN_LOCKOUT", &a.Login.Lockout, time.Second, 24 * time.Hour},
		{"CAREHEX_LOGIN_MAX_LOCKOUT", &a.Login.MaxLockout, time.Second, 30 * 24 * time.Hour},
		{"CAREHEX_FAMILY_TOKEN_TTL", &a.FamilyTTL, time.Hour, 365 * 24 * time.Hour},
		{"CAREHEX_BULK_ACCESS_WINDOW", &a.Reads.Window, time.Minute, 24 * time.Hour},
	}
	for _, s := range durs {
		if v, ok := a.env[s.key]; ok {
			d, err := time.ParseDuration(v)
			if err != nil || d < s.min || d > s.max {
				return fmt.Errorf("%s %q must be a duration from %v to %v, e.g. 15m or 720h", s.key, v, s.min, s.max)
			}
			*s.dst = d
		}
	}
	if v, ok := a.env["CAREHEX_TRUST_FORWARDED_FOR"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("CAREHEX_TRUST_FORWARDED_FOR %q must be true or false", v)
		}
		a.TrustForwardedFor = b
	}
	if a.Login.MaxLockout < a.Login.Lockout {
		return fmt.Errorf("CAREHEX_LOGIN_MAX_LOCKOUT (%v) must be at least CAREHEX_LOGIN_LOCKOUT (%v)", a.Login.MaxLockout, a.Login.Lockout)
	}
	return nil
}
