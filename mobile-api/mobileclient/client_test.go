package mobileclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/carehex/carehex/mobile-api/mobileclient"
)

// The client against the real handler, with every exchange checked against
// the contract, is mobile-api's TestClient. These cover what the real
// server does not readily produce: foreign error pages, Retry-After, the
// SSE framing's corners and broken answers.

func serve(t *testing.T, h http.HandlerFunc) *mobileclient.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return mobileclient.New(srv.URL+"/", "tok", srv.Client())
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   mobileclient.Error
		is     error
	}{
		{"API error", 400, nil, `{"error":{"code":"invalid","message":"lat is required","field":"lat"}}`,
			mobileclient.Error{Status: 400, Code: "invalid", Message: "lat is required", Field: "lat"}, nil},
		{"rate limited", 429, map[string]string{"Retry-After": "2"}, `{"error":{"code":"rate_limited","message":"slow down"}}`,
			mobileclient.Error{Status: 429, Code: "rate_limited", Message: "slow down", RetryAfter: 2 * time.Second}, nil},
		{"a proxy's page", 502, nil, "<html>Bad Gateway</html>",
			mobileclient.Error{Status: 502, Code: "http_502", Message: "<html>Bad Gateway</html>"}, nil},
		{"empty 2xx", 200, nil, "", mobileclient.Error{}, mobileclient.ErrEmptyBody},
		{"2xx not JSON", 200, nil, "<html>", mobileclient.Error{}, mobileclient.ErrBadAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/m/v1/offers" || r.URL.Query().Get("wait") != "3" {
					t.Errorf("request %s %s with %q", r.Method, r.URL, r.Header.Get("Authorization"))
				}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := c.Offers(context.Background(), 3500*time.Millisecond)
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Fatalf("err = %v, want %v", err, tt.is)
				}
				return
			}
			var e *mobileclient.Error
			if !errors.As(err, &e) || *e != tt.want {
				t.Fatalf("err = %#v, want %#v", err, tt.want)
			}
			if mobileclient.StatusOf(err) != tt.status {
				t.Fatalf("StatusOf = %d, want %d", mobileclient.StatusOf(err), tt.status)
			}
		})
	}
	if s := mobileclient.StatusOf(context.Canceled); s != 0 {
		t.Errorf("StatusOf(a transport error) = %d, want 0", s)
	}
}

// TestStreamFraming: comments, other event names, events split over
// several data lines, an "error" event and the end of the stream.
func TestStreamFraming(t *testing.T) {
	const stream = ": carehex offers\nretry: 3000\n\n" +
		"id: o1\nevent: offer\ndata: {\"id\":\"o1\",\"request_id\":\"r1\",\"service_code\":\"s\",\"distance_m\":5,\"expires_at\":\"2026-03-02T09:30:00Z\"}\n\n" +
		": keepalive\n\n" +
		"event: something_new\ndata: {}\n\n" +
		"event: offer\ndata: {\"id\":\"o2\",\ndata: \"request_id\":\"r2\"}\n\n"
	tests := []struct {
		name string
		tail string
		want func(error) bool
	}{
		{"ended by the server", "", func(err error) bool { return err == nil }},
		{"error event", "event: error\ndata: {\"code\":\"unavailable\",\"message\":\"redis away\"}\n\n",
			func(err error) bool {
				var e *mobileclient.Error
				return errors.As(err, &e) && e.Code == "unavailable" && e.Message == "redis away"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/m/v1/offers/stream" || r.Header.Get("Accept") != "text/event-stream" {
					t.Errorf("request %s with Accept %q", r.URL, r.Header.Get("Accept"))
				}
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, stream+tt.tail)
			})
			var got []string
			err := c.StreamOffers(context.Background(), func(o mobileclient.Offer) error {
				got = append(got, o.ID+"/"+o.RequestID)
				return nil
			})
			if !tt.want(err) {
				t.Fatalf("StreamOffers ended with %v", err)
			}
			if len(got) != 2 || got[0] != "o1/r1" || got[1] != "o2/r2" {
				t.Fatalf("offers %v, want o1/r1 and o2/r2", got)
			}
		})
	}
}

// TestStreamRefused: a refusal before the stream starts is an *Error.
func TestStreamRefused(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":{"code":"forbidden","message":"family tokens cannot call this"}}`)
	})
	err := c.StreamFamily(context.Background(), func(mobileclient.FamilyVisit) error {
		t.Error("an event from a refused stream")
		return nil
	})
	if mobileclient.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("err = %v, want a 403", err)
	}
}
