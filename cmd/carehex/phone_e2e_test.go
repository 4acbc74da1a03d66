package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex/internal/apicontract"
	"github.com/carehex/carehex/internal/testenv"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// phone is a provider's or family member's phone talking to the mobile API
// in raw JSON, the wire check independent of mobileclient; hc validates
// every exchange against the contract (contractClient).
type phone struct {
	t     *testing.T
	url   string
	token string
	hc    *http.Client
	api   *apicontract.Contract
}

// contractClient loads the contract the server serves at
// /m/v1/openapi.yaml and returns an HTTP client that fails t on every
// request or answer that does not validate against it.
func contractClient(t *testing.T, baseURL string) (*http.Client, *apicontract.Contract) {
	t.Helper()
	resp, err := http.Get(baseURL + "/m/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	spec, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /m/v1/openapi.yaml: HTTP %d %s, %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	c, err := apicontract.Load(context.Background(), spec)
	if err != nil {
		t.Fatalf("the served contract: %v", err)
	}
	return &http.Client{Timeout: 60 * time.Second, Transport: c.Transport(nil, func(err error) {
		t.Errorf("contract: %v", err)
	})}, c
}

// do sends a JSON request and decodes the JSON answer into out (when not nil).
func (p phone) do(method, path string, body any, out any) int {
	p.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+p.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			p.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// wireOffer is the test's own reading of an offer on the wire.
type wireOffer struct {
	ID          string  `json:"id"`
	RequestID   string  `json:"request_id"`
	ServiceCode string  `json:"service_code"`
	DistanceM   float64 `json:"distance_m"`
	ExpiresAt   string  `json:"expires_at"`
}

// waitOfferPoll long-polls until an offer of requestID arrives.
func (p phone) waitOfferPoll(requestID string) (wireOffer, []byte) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var raw json.RawMessage
		if code := p.do("GET", "/m/v1/offers?wait=5", nil, &raw); code != http.StatusOK {
			p.t.Fatalf("offers: HTTP %d", code)
		}
		var got struct{ Offers []wireOffer }
		_ = json.Unmarshal(raw, &got)
		for _, o := range got.Offers {
			if o.RequestID == requestID {
				return o, raw
			}
		}
	}
	p.t.Fatalf("no offer of %s within 30s", requestID)
	return wireOffer{}, nil
}

// waitOfferStream reads the SSE stream until an offer of requestID arrives.
func (p phone) waitOfferStream(requestID string) (wireOffer, []byte) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/m/v1/offers/stream", nil)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatalf("offer stream: %v", err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		p.t.Fatalf("offer stream: HTTP %d, %s", resp.StatusCode, ct)
	}
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "offer":
			data := []byte(strings.TrimPrefix(line, "data: "))
			if err := p.api.CheckEvent("Offer", data); err != nil {
				p.t.Errorf("contract: %v", err)
			}
			var o wireOffer
			if err := json.Unmarshal(data, &o); err != nil {
				p.t.Fatalf("offer event %q: %v", data, err)
			}
			if o.RequestID == requestID {
				return o, data
			}
		}
	}
	p.t.Fatalf("offer stream ended without an offer of %s: %v", requestID, sc.Err())
	return wireOffer{}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestPhoneEndToEnd does what the phones do, against the real binary on a
// real PostgreSQL and redis-server: a provider heartbeats near a resident,
// an operator logs a request, the provider gets the offer (by long poll, and
// in the second run by SSE), accepts, departs, arrives inside the geofence and
// completes; the operator sees it completed with its history, the family sees
// the same timeline, and nobody else sees or touches any of it.
func TestPhoneEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	for _, via := range []string{"long_poll", "sse"} {
		t.Run(via, func(t *testing.T) {
			env := []string{"CAREHEX_DATABASE_URL=" + testenv.PostgresURL(t), "CAREHEX_REDIS_URL=" + testenv.RedisURL(t),
				"CAREHEX_ZONE=e2e" + randomHex(4)}
			data := t.TempDir()
			addUser(t, bin, env, data, "op1", "operator", "correct-horse-battery")
			srv := startServer(t, bin, env, "--data", data)
			hc, api := contractClient(t, srv.url)
			ctx := login(t, srv.url, "op1", "correct-horse-battery")
			residents := pb.NewResidentServiceJSONClient(srv.url, http.DefaultClient)
			providersAPI := pb.NewProviderServiceJSONClient(srv.url, http.DefaultClient)
			intake := pb.NewIntakeServiceJSONClient(srv.url, http.DefaultClient)

			home := &pb.LatLng{Lat: 36.8000, Lng: 118.0500}
			res, err := residents.CreateResident(ctx, &pb.CreateResidentRequest{Name: "王桂兰", Phone: "13905330001",
				Address: "张店区华光路56号3单元201", Location: home})
			if err != nil {
				t.Fatal(err)
			}
			other, err := residents.CreateResident(ctx, &pb.CreateResidentRequest{Name: "李秀英", Phone: "13905330002",
				Address: "张店区共青团路8号", Location: &pb.LatLng{Lat: 36.81, Lng: 118.06}})
			if err != nil {
				t.Fatal(err)
			}
			fam, err := residents.LinkFamilyMember(ctx, &pb.LinkFamilyMemberRequest{ResidentId: res.Resident.Id, Name: "王刚", Phone: "13800000001", Relation: "儿子"})
			if err != nil {
				t.Fatal(err)
			}
			otherFam, err := residents.LinkFamilyMember(ctx, &pb.LinkFamilyMemberRequest{ResidentId: other.Resident.Id, Name: "李强", Phone: "13800000002", Relation: "儿子"})
			if err != nil {
				t.Fatal(err)
			}

			types, err := pb.NewCatalogServiceJSONClient(srv.url, http.DefaultClient).ListServiceTypes(ctx, &pb.ListServiceTypesRequest{Category: "daily_life"})
			if err != nil {
				t.Fatal(err)
			}
			var svc *pb.ServiceType
			for _, st := range types.ServiceTypes {
				if st.UrgencyClass == "soon" {
					svc = st
					break
				}
			}
			if svc == nil {
				t.Fatal("no daily_life service of urgency class soon in the catalogue")
			}
			newProvider := func(name, phoneNo string, at *pb.LatLng) phone {
				p, err := providersAPI.CreateProvider(ctx, &pb.CreateProviderRequest{Name: name, Phone: phoneNo,
					Skills: []string{svc.RequiredSkill}, Location: at})
				if err != nil {
					t.Fatal(err)
				}
				tok, err := providersAPI.IssueDeviceToken(ctx, &pb.IssueDeviceTokenRequest{ProviderId: p.Provider.Id})
				if err != nil {
					t.Fatal(err)
				}
				return phone{t: t, url: srv.url, token: tok.Token, hc: hc, api: api}
			}
			near := newProvider("刘芳", "13600000001", &pb.LatLng{Lat: 36.8009, Lng: 118.0500}) // ~100 m away
			far := newProvider("赵敏", "13600000002", &pb.LatLng{Lat: 37.2, Lng: 118.6})        // ~65 km: never offered
			for _, ph := range []struct {
				p  phone
				at *pb.LatLng
			}{{near, &pb.LatLng{Lat: 36.8009, Lng: 118.0500}}, {far, &pb.LatLng{Lat: 37.2, Lng: 118.6}}} {
				if code := ph.p.do("POST", "/m/v1/heartbeat", map[string]any{"lat": ph.at.Lat, "lng": ph.at.Lng, "accuracy_m": 10, "available": true}, nil); code != http.StatusOK {
					t.Fatalf("heartbeat: HTTP %d", code)
				}
			}

			created, err := intake.CreateServiceRequest(ctx, &pb.CreateServiceRequestRequest{ResidentId: res.Resident.Id,
				ServiceCode: svc.Code, Urgency: pb.Urgency_URGENCY_SOON, Notes: "午饭", IdempotencyKey: "e2e-" + via})
			if err != nil {
				t.Fatal(err)
			}
			reqID := created.Request.Id

			var offer wireOffer
			var raw []byte
			if via == "sse" {
				offer, raw = near.waitOfferStream(reqID)
			} else {
				offer, raw = near.waitOfferPoll(reqID)
			}
			// Need to know: an offer carries the service and the distance, never who or where.
			for _, secret := range []string{"王桂兰", "13905330001", "华光路", "resident"} {
				if bytes.Contains(raw, []byte(secret)) {
					t.Fatalf("offer reveals %q: %s", secret, raw)
				}
			}
			if offer.DistanceM <= 0 || offer.DistanceM > 500 || offer.ServiceCode != svc.Code {
				t.Fatalf("offer = %+v", offer)
			}
			if code := far.do("POST", "/m/v1/offers/"+offer.ID+"/accept", nil, nil); code != http.StatusNotFound {
				t.Fatalf("another provider accepting the offer: HTTP %d, want 404", code)
			}

			var accepted struct {
				Visit struct {
					ID       string `json:"id"`
					Resident struct {
						Name    string `json:"name"`
						Address string `json:"address"`
					} `json:"resident"`
				} `json:"visit"`
			}
			if code := near.do("POST", "/m/v1/offers/"+offer.ID+"/accept", nil, &accepted); code != http.StatusOK {
				t.Fatalf("accept: HTTP %d", code)
			}
			if accepted.Visit.ID == "" || accepted.Visit.Resident.Name != "王桂兰" || !strings.Contains(accepted.Visit.Resident.Address, "华光路") {
				t.Fatalf("accepted visit = %+v; want the resident revealed to the holder", accepted.Visit)
			}
			visitPath := "/m/v1/visits/" + accepted.Visit.ID + "/events"

			now := time.Now().UTC()
			event := func(id, typ string, lat, lng float64, at time.Time) map[string]any {
				return map[string]any{"event_id": id, "type": typ, "lat": lat, "lng": lng, "accuracy_m": 8,
					"device_time": at.Format(time.RFC3339Nano)}
			}
			if code := far.do("POST", visitPath, event("x-1", "depart", 36.8, 118.05, now), nil); code != http.StatusForbidden && code != http.StatusNotFound {
				t.Fatalf("another provider posting to the visit: HTTP %d, want 403 or 404", code)
			}
			steps := []map[string]any{
				event(via+"-1", "depart", 36.8009, 118.0500, now.Add(-3*time.Second)),
				event(via+"-2", "arrive", 36.8001, 118.0501, now.Add(-2*time.Second)), // ~15 m from home: inside the fence
				event(via+"-3", "complete", 36.8001, 118.0501, now.Add(-time.Second)),
			}
			for _, ev := range steps {
				if code := near.do("POST", visitPath, ev, nil); code != http.StatusCreated && code != http.StatusOK {
					t.Fatalf("event %v: HTTP %d", ev["type"], code)
				}
			}

			got, err := intake.GetServiceRequest(ctx, &pb.GetServiceRequestRequest{Id: reqID})
			if err != nil {
				t.Fatal(err)
			}
			if got.Request.Status != pb.RequestStatus_REQUEST_STATUS_COMPLETED {
				t.Fatalf("request status %v, want COMPLETED", got.Request.Status)
			}
			var statuses []string
			for _, e := range got.Events {
				if e.ToStatus != pb.RequestStatus_REQUEST_STATUS_UNSPECIFIED {
					statuses = append(statuses, strings.TrimPrefix(e.ToStatus.String(), "REQUEST_STATUS_"))
				}
			}
			timeline := strings.Join(statuses, ">")
			for _, want := range []string{"PENDING", "OFFERED", "ASSIGNED", "EN_ROUTE", "IN_PROGRESS", "COMPLETED"} {
				if !strings.Contains(timeline, want) {
					t.Fatalf("request history %s lacks %s", timeline, want)
				}
			}

			family := phone{t: t, url: srv.url, token: fam.AccessToken, hc: hc, api: api}
			var fv struct {
				Visits []struct {
					ID           string `json:"id"`
					RequestID    string `json:"request_id"`
					Status       string `json:"status"`
					ProviderName string `json:"provider_name"`
					Events       []struct {
						Status string `json:"status"`
					} `json:"events"`
				} `json:"visits"`
			}
			if code := family.do("GET", "/m/v1/family/visits", nil, &fv); code != http.StatusOK {
				t.Fatalf("family visits: HTTP %d", code)
			}
			if len(fv.Visits) != 1 || fv.Visits[0].RequestID != reqID || fv.Visits[0].ID != accepted.Visit.ID ||
				fv.Visits[0].ProviderName != "刘芳" || !strings.EqualFold(fv.Visits[0].Status, "completed") || len(fv.Visits[0].Events) < 4 {
				t.Fatalf("family sees %+v", fv.Visits)
			}

			stranger := phone{t: t, url: srv.url, token: otherFam.AccessToken, hc: hc, api: api}
			var sv struct {
				Visits []json.RawMessage `json:"visits"`
			}
			if code := stranger.do("GET", "/m/v1/family/visits", nil, &sv); code != http.StatusOK || len(sv.Visits) != 0 {
				t.Fatalf("another family's visits: HTTP %d, %d visits; want none", code, len(sv.Visits))
			}
			if code := stranger.do("GET", "/m/v1/family/requests/"+reqID, nil, nil); code != http.StatusNotFound {
				t.Fatalf("another family reading the request: HTTP %d, want 404", code)
			}
			if code := family.do("GET", "/m/v1/offers?wait=0", nil, nil); code != http.StatusForbidden {
				t.Fatalf("a family token on a provider route: HTTP %d, want 403", code)
			}
			fmt.Fprintf(testWriter{t}, "%s: request %s completed; history %s\n", via, reqID, timeline)
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
