package main

import (
	"strings"
	"testing"
	"time"
)

// TestEmergencyDeadlineSetting reads CAREHEX_EMERGENCY_DEADLINE: the
// default is the dispatcher's, a good value replaces it, and a bad one
// stops the start with a message naming the setting.
func TestEmergencyDeadlineSetting(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration
		bad  bool
	}{
		{"", 3 * time.Minute, false},
		{"20s", 20 * time.Second, false},
		{"5s", 0, true},
		{"1h", 0, true},
		{"soon", 0, true},
	} {
		cfg := defaultConfig(func(k string) string {
			if k == "CAREHEX_EMERGENCY_DEADLINE" {
				return c.env
			}
			return ""
		})
		err := cfg.validate()
		switch {
		case c.bad && (err == nil || !strings.Contains(err.Error(), "CAREHEX_EMERGENCY_DEADLINE")):
			t.Errorf("%q: err %v, want one naming CAREHEX_EMERGENCY_DEADLINE", c.env, err)
		case !c.bad && err != nil:
			t.Errorf("%q: %v", c.env, err)
		case !c.bad && cfg.EmergencyDeadline != c.want:
			t.Errorf("%q: deadline %s, want %s", c.env, cfg.EmergencyDeadline, c.want)
		}
	}
}
