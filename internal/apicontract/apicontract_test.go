package apicontract_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/carehex/carehex/internal/apicontract"
	mobileapi "github.com/carehex/carehex/mobile-api"
)

func load(t *testing.T) *apicontract.Contract {
	t.Helper()
	c, err := apicontract.Load(context.Background(), mobileapi.OpenAPI)
	if err != nil {
		t.Fatalf("the mobile API's contract: %v", err)
	}
	return c
}

// fake answers every call with one canned status and body, standing in for
// a server that drifted from the contract.
func fake(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTransportRejects: the validating transport reports a response or a
// request that breaks the contract, and passes ones that keep it, leaving
// the body readable for the caller.
func TestTransportRejects(t *testing.T) {
	c := load(t)
	const offer = `{"id":"off_1","request_id":"req_1","service_code":"meal_delivery","distance_m":120,"expires_at":"2026-03-02T09:30:00Z"}`
	tests := []struct {
		name                    string
		status                  int
		contentType, answer     string
		method, path, body, tok string
		want                    string // in the reported error; "" for none
	}{
		{"valid offers", 200, "application/json; charset=utf-8", `{"offers":[` + offer + `]}`,
			"GET", "/m/v1/offers?wait=0", "", "dev", ""},
		{"offer without its expiry", 200, "application/json", `{"offers":[{"id":"off_1","request_id":"req_1","service_code":"meal_delivery","distance_m":120}]}`,
			"GET", "/m/v1/offers", "", "dev", "expires_at"},
		{"offer revealing the address", 200, "application/json", `{"offers":[` + strings.TrimSuffix(offer, "}") + `,"address":"华光路"}]}`,
			"GET", "/m/v1/offers", "", "dev", "address"},
		{"status the contract does not list", 418, "application/json", `{"error":{"code":"teapot","message":"x"}}`,
			"GET", "/m/v1/offers", "", "dev", "418"},
		{"error body of another shape", 404, "application/json", `{"message":"no offer"}`,
			"POST", "/m/v1/offers/off_1/accept", "", "dev", "error"},
		{"event of an unknown type", 201, "application/json", `{}`,
			"POST", "/m/v1/visits/vis_1/events", `{"event_id":"e1","type":"teleport","lat":36.8,"lng":118.05,"device_time":"2026-03-02T09:30:00Z"}`, "dev", "teleport"},
		{"heartbeat without a token", 200, "application/json", `{"status":"available"}`,
			"POST", "/m/v1/heartbeat", `{"lat":36.8,"lng":118.05,"available":true}`, "", "Authorization"},
		{"route not in the contract", 200, "application/json", `{}`,
			"GET", "/m/v1/nowhere", "", "dev", "not in the contract"},
		{"stream checked by its headers", 200, "text/event-stream", ": hello\n\n",
			"GET", "/m/v1/offers/stream", "", "dev", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := fake(t, tt.status, tt.contentType, tt.answer)
			var reported []error
			hc := &http.Client{Transport: c.Transport(nil, func(err error) { reported = append(reported, err) })}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, base+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.tok != "" {
				req.Header.Set("Authorization", "Bearer "+tt.tok)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != tt.answer {
				t.Errorf("the caller read %q, want the server's %q", got, tt.answer)
			}
			switch {
			case tt.want == "" && len(reported) > 0:
				t.Errorf("reported %v; want the exchange to pass", reported)
			case tt.want != "" && len(reported) == 0:
				t.Errorf("nothing reported; want an error about %q", tt.want)
			case tt.want != "":
				all := ""
				for _, e := range reported {
					all += e.Error() + "\n"
				}
				if !strings.Contains(all, tt.want) {
					t.Errorf("reported %s; want it to mention %q", all, tt.want)
				}
			}
		})
	}
}

func TestCheckEvent(t *testing.T) {
	c := load(t)
	if err := c.CheckEvent("Offer", []byte(`{"id":"o","request_id":"r","service_code":"s","distance_m":1,"expires_at":"2026-03-02T09:30:00Z"}`)); err != nil {
		t.Errorf("a good offer event: %v", err)
	}
	if err := c.CheckEvent("Offer", []byte(`{"id":"o","request_id":"r"}`)); err == nil {
		t.Error("an offer event without service_code, distance_m and expires_at passed")
	}
	if err := c.CheckEvent("NoSuchSchema", []byte(`{}`)); err == nil {
		t.Error("an unknown schema passed")
	}
}
