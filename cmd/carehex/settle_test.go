package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSettleFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"settle"}, "--month"},
		{[]string{"settle", "--month", "2026-13"}, "--month"},
		{[]string{"settle", "--month", "March"}, "--month"},
		{[]string{"settle", "--month", "2026-03", "extra"}, "extra"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(tt.args, "--data", t.TempDir()), simEnv, strings.NewReader(""), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want one naming %s", tt.args, err, tt.want)
		}
	}
}

// TestSettleEmpty settles a month of an empty database: the default
// organisation's empty statement, closed, and exported.
func TestSettleEmpty(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"settle", "--month", "2026-03", "--data", dir, "--close", "--out", out},
		simEnv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("settle: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var f struct {
		Month      string `json:"month"`
		Orgs       int    `json:"orgs"`
		Mismatches *int   `json:"mismatches"`
	}
	lastJSON(t, stdout.String(), &f)
	if f.Month != "2026-03" || f.Orgs != 1 || f.Mismatches == nil || *f.Mismatches != 0 {
		t.Fatalf("figures = %+v\n%s", f, stdout.String())
	}
}
