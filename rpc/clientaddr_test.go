package rpc

import (
	"net/http/httptest"
	"testing"
)

// The throttle's client address is the connection's, unless the server is
// told to trust the last X-Forwarded-For entry (its own proxy's).
func TestClientAddr(t *testing.T) {
	tests := []struct {
		name   string
		remote string
		xff    []string
		trust  bool
		want   string
	}{
		{"connection", "192.0.2.7:51000", nil, false, "192.0.2.7"},
		{"forwarded header ignored by default", "192.0.2.7:51000", []string{"203.0.113.9"}, false, "192.0.2.7"},
		{"trusted proxy's entry", "10.0.0.1:4000", []string{"198.51.100.1, 203.0.113.9"}, true, "203.0.113.9"},
		{"last header wins", "10.0.0.1:4000", []string{"198.51.100.1", "203.0.113.10"}, true, "203.0.113.10"},
		{"garbage header falls back", "10.0.0.1:4000", []string{"not-an-ip"}, true, "10.0.0.1"},
		{"IPv4-mapped IPv6", "[::ffff:192.0.2.8]:80", nil, false, "192.0.2.8"},
		{"IPv6", "[2001:db8::1]:80", nil, false, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/twirp/x", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientAddr(r, tt.trust); got != tt.want {
				t.Errorf("clientAddr = %q, want %q", got, tt.want)
			}
		})
	}
}
