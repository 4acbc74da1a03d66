package main

import (
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

func TestQualityConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	c := defaultConfig(env("CAREHEX_CALLBACK_SHARE", "0.25", "CAREHEX_CALLBACK_ATTEMPTS", "5", "CAREHEX_COMPLAINT_DUE_REFERRED", "120h"))
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	r := c.Quality.Rules()
	if r.CallbackShare != 0.25 || r.CallbackAttempts != 5 || r.StepDue[carehex.ComplaintReferred] != 120*time.Hour ||
		r.StepDue[carehex.ComplaintOpen] != carehex.DefaultQualityRules().StepDue[carehex.ComplaintOpen] {
		t.Errorf("rules = %+v", r)
	}
	for _, bad := range [][2]string{
		{"CAREHEX_CALLBACK_SHARE", "1.5"}, {"CAREHEX_CALLBACK_SHARE", "ten"}, {"CAREHEX_CALLBACK_ATTEMPTS", "0"},
		{"CAREHEX_COMPLAINT_DUE_OPEN", "3d"}, {"CAREHEX_COMPLAINT_DUE_VERIFIED", "10s"},
	} {
		c := defaultConfig(env(bad[0], bad[1]))
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%s=%s: %v, want an error naming it", bad[0], bad[1], err)
		}
	}
}
