package auth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string // "" means an unauthenticated error
	}{
		{"Bearer abc", "abc"},
		{"bearer  abc ", "abc"},
		{"", ""},
		{"Basic abc", ""},
		{"Bearer", ""},
		{"Bearer   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("Authorization", tt.header)
			}
			got, err := auth.BearerToken(h)
			if tt.want == "" {
				if carehex.ErrorCode(err) != carehex.EUNAUTHENTICATED {
					t.Fatalf("BearerToken(%q) = %q, %v; want unauthenticated", tt.header, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("BearerToken(%q) = %q, %v; want %q", tt.header, got, err, tt.want)
			}
		})
	}
}

func TestHashPassword(t *testing.T) {
	if _, err := auth.HashPassword("short"); carehex.ErrorField(err) != "password" {
		t.Fatalf("short password: %v", err)
	}
	if _, err := auth.HashPassword(strings.Repeat("x", 73)); carehex.ErrorField(err) != "password" {
		t.Fatalf("over bcrypt's 72 bytes: %v", err)
	}
	h, err := auth.HashPassword("correct-horse-battery")
	if err != nil || !strings.HasPrefix(h, "$2") || strings.Contains(h, "correct-horse") {
		t.Fatalf("HashPassword = %q, %v", h, err)
	}
}

func TestHashTokenIsStable(t *testing.T) {
	a, b := auth.HashToken("chs_x"), auth.HashToken("chs_x")
	if a != b || len(a) != 64 || a == auth.HashToken("chs_y") {
		t.Fatalf("HashToken: %q %q", a, b)
	}
}
