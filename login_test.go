package carehex

import (
	"testing"
	"time"
)

func TestLoginPolicyFail(t *testing.T) {
	p := LoginPolicy{MaxFailures: 3, MaxAddrFailures: 10, Window: 15 * time.Minute, Lockout: time.Minute, MaxLockout: 3 * time.Minute}
	t0 := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   LoginThrottle
		at   time.Time
		want LoginThrottle
	}{
		{"first failure opens the window", LoginThrottle{}, t0,
			LoginThrottle{Failures: 1, WindowStart: t0}},
		{"inside the window counts on", LoginThrottle{Failures: 1, WindowStart: t0}, t0.Add(14 * time.Minute),
			LoginThrottle{Failures: 2, WindowStart: t0}},
		{"after the window starts again", LoginThrottle{Failures: 2, WindowStart: t0}, t0.Add(15 * time.Minute),
			LoginThrottle{Failures: 1, WindowStart: t0.Add(15 * time.Minute)}},
		{"the limit starts a lockout", LoginThrottle{Failures: 2, WindowStart: t0}, t0.Add(time.Minute),
			LoginThrottle{LockedUntil: t0.Add(2 * time.Minute), Lockouts: 1}},
		{"the second lockout doubles", LoginThrottle{Failures: 2, WindowStart: t0, Lockouts: 1}, t0,
			LoginThrottle{LockedUntil: t0.Add(2 * time.Minute), Lockouts: 2}},
		{"the cap holds", LoginThrottle{Failures: 2, WindowStart: t0, Lockouts: 5}, t0,
			LoginThrottle{LockedUntil: t0.Add(3 * time.Minute), Lockouts: 6}},
		{"many lockouts do not overflow", LoginThrottle{Failures: 2, WindowStart: t0, Lockouts: 1000}, t0,
			LoginThrottle{LockedUntil: t0.Add(3 * time.Minute), Lockouts: 1001}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Fail(tt.in, tt.at, p.MaxFailures); got != tt.want {
				t.Errorf("Fail = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoginPolicyValidate(t *testing.T) {
	if err := DefaultLoginPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	for field, edit := range map[string]func(*LoginPolicy){
		"MaxFailures":     func(p *LoginPolicy) { p.MaxFailures = 0 },
		"MaxAddrFailures": func(p *LoginPolicy) { p.MaxAddrFailures = -1 },
		"Window":          func(p *LoginPolicy) { p.Window = 0 },
		"Lockout":         func(p *LoginPolicy) { p.MaxLockout = p.Lockout - 1 },
	} {
		p := DefaultLoginPolicy()
		edit(&p)
		if err := p.Validate(); ErrorCode(err) != EINVALID || ErrorField(err) != field {
			t.Errorf("%s: Validate = %v, want invalid naming it", field, err)
		}
	}
}

func TestSessionID(t *testing.T) {
	h := "0123456789abcdef0123456789abcdef"
	if got := SessionID(h); got != "ses_0123456789abcdef" {
		t.Errorf("SessionID = %q", got)
	}
}
