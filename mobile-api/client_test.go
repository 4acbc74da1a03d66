package mobileapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/apicontract"
	mobileapi "github.com/carehex/carehex/mobile-api"
	"github.com/carehex/carehex/mobile-api/mobileclient"
	"github.com/getkin/kin-openapi/openapi3"
)

// contractClient is the test server's HTTP client with every exchange
// validated against openapi.yaml; a mismatch fails t.
func (e *env) contractClient(t *testing.T) *http.Client {
	t.Helper()
	c, err := apicontract.Load(context.Background(), mobileapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 20 * time.Second, Transport: c.Transport(e.srv.Client().Transport, func(err error) {
		t.Errorf("contract: %v", err)
	})}
}

// TestContractServed: the contract is served without a token, as YAML,
// and is the valid OpenAPI document embedded in the binary.
func TestContractServed(t *testing.T) {
	e := newEnv(t, "")
	resp, err := e.srv.Client().Get(e.srv.URL + "/m/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /m/v1/openapi.yaml: HTTP %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if string(body) != string(mobileapi.OpenAPI) {
		t.Fatal("the served contract differs from the embedded one")
	}
	if _, err := apicontract.Load(context.Background(), body); err != nil {
		t.Fatalf("served contract: %v", err)
	}

	// Every operation of the contract is a route of the server: without a
	// token it is refused 401 (or served, for the contract itself), never
	// the catch-all's 404.
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			want := http.StatusUnauthorized
			if op.Security != nil && len(*op.Security) == 0 {
				want = http.StatusOK
			}
			if r := e.do(method, strings.ReplaceAll(path, "{id}", "x1"), "", nil); r.status != want {
				t.Errorf("%s %s without a token: HTTP %d %s, want %d", method, path, r.status, r.raw, want)
			}
		}
	}
	if n < 11 {
		t.Errorf("the contract has %d operations; the API has 10 routes and the contract", n)
	}
}

// errStop ends a stream once the test has what it waited for.
var errStop = errors.New("stop")

// TestClient runs every method of mobileclient against the real handler,
// through a transport that validates each request and answer against the
// contract: a provider's day (heartbeat, offers by long poll and stream,
// decline, accept, day list, events, a resend) and a family's view.
func TestClient(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	hc := e.contractClient(t)
	p, tok := e.provider("王芳")
	phone := mobileclient.New(e.srv.URL, tok, hc)
	home := at(zibo, 800)

	st, err := phone.Heartbeat(ctx, mobileclient.Heartbeat{Lat: home.Lat, Lng: home.Lng, AccuracyM: 10, Available: true})
	if err != nil || st != "available" {
		t.Fatalf("Heartbeat = %q, %v; want available", st, err)
	}
	if os, err := phone.Offers(ctx, 0); err != nil || len(os) != 0 {
		t.Fatalf("Offers before any request = %v, %v; want none", os, err)
	}

	// An offer, seen on the stream, declined.
	first := e.request("meal_delivery")
	if _, err := e.eng.Dispatch(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	var streamed mobileclient.Offer
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = phone.StreamOffers(sctx, func(o mobileclient.Offer) error {
		streamed = o
		return errStop
	})
	cancel()
	if !errors.Is(err, errStop) || streamed.RequestID != first.ID || streamed.ServiceCode != "meal_delivery" || streamed.ExpiresAt.IsZero() {
		t.Fatalf("StreamOffers = %+v, %v; want the offer of %s", streamed, err, first.ID)
	}
	if streamed.Urgency != string(first.Urgency) {
		t.Fatalf("streamed offer's urgency %q, want the request's %q", streamed.Urgency, first.Urgency)
	}
	if err := phone.Decline(ctx, streamed.ID, carehex.DeclineTooFar, ""); err != nil {
		t.Fatalf("Decline: %v", err)
	}
	if o, err := e.db.Offer(ctx, streamed.ID); err != nil || o.Status != carehex.OfferDeclined || o.Reason != carehex.DeclineTooFar {
		t.Fatalf("declined offer = %+v, %v; want declined with reason %q", o, err, carehex.DeclineTooFar)
	}
	if err := phone.Decline(ctx, streamed.ID, "", ""); mobileclient.StatusOf(err) < 400 {
		t.Fatalf("declining a closed offer again: %v; want a 4xx", err)
	}

	// The next offer, by long poll, accepted.
	second := e.request("meal_delivery")
	if _, err := e.eng.Dispatch(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	offers, err := phone.Offers(ctx, time.Second)
	if err != nil || len(offers) != 1 || offers[0].RequestID != second.ID {
		t.Fatalf("Offers = %+v, %v; want the offer of %s", offers, err, second.ID)
	}
	if d := offers[0].DistanceM; d < 700 || d > 900 {
		t.Fatalf("DistanceM %v, want ~800", d)
	}
	_, otherTok := e.provider("赵强")
	other := mobileclient.New(e.srv.URL, otherTok, hc)
	_, err = other.Accept(ctx, offers[0].ID)
	var apiErr *mobileclient.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Code != "not_found" {
		t.Fatalf("another provider's Accept: %v; want a 404 not_found", err)
	}
	v, err := phone.Accept(ctx, offers[0].ID)
	if err != nil || v.RequestID != second.ID || v.Resident == nil || v.Resident.Address != e.res.Address {
		t.Fatalf("Accept = %+v, %v; want the visit with the home", v, err)
	}
	again, err := phone.Accept(ctx, offers[0].ID)
	if err != nil || again.ID != v.ID {
		t.Fatalf("Accept again = %+v, %v; want visit %s", again, err, v.ID)
	}
	day, err := phone.Visits(ctx)
	if err != nil || !slices.ContainsFunc(day, func(x mobileclient.Visit) bool { return x.ID == v.ID }) {
		t.Fatalf("Visits = %+v, %v; want %s", day, err, v.ID)
	}

	loc := v.Resident.Location
	steps := []struct {
		typ, status string
		advance     time.Duration
	}{{mobileclient.Depart, "en_route", 0}, {mobileclient.Arrive, "in_progress", 10 * time.Minute}, {mobileclient.Complete, "completed", 25 * time.Minute}}
	for _, s := range steps {
		e.clock.Advance(s.advance)
		ev := mobileclient.VisitEvent{EventID: "c-" + s.typ, Type: s.typ, Lat: loc.Lat, Lng: loc.Lng, AccuracyM: 10,
			DeviceTime: e.clock.Now(), Note: "client test"}
		got, err := phone.RecordVisitEvent(ctx, v.ID, ev)
		if err != nil || got.Replayed || got.Visit.Status != s.status || got.Event.Type != s.typ || !got.Event.Verified {
			t.Fatalf("RecordVisitEvent %s = %+v, %v; want status %s, verified", s.typ, got, err, s.status)
		}
	}
	resend, err := phone.RecordVisitEvent(ctx, v.ID, mobileclient.VisitEvent{EventID: "c-" + mobileclient.Complete,
		Type: mobileclient.Complete, Lat: loc.Lat, Lng: loc.Lng, DeviceTime: e.clock.Now()})
	if err != nil || !resend.Replayed {
		t.Fatalf("resent event = %+v, %v; want it replayed", resend, err)
	}
	// Bad input breaks the contract, so it goes around the validating transport.
	unchecked := mobileclient.New(e.srv.URL, tok, e.srv.Client())
	_, err = unchecked.RecordVisitEvent(ctx, v.ID, mobileclient.VisitEvent{EventID: "bad", Type: "teleport", Lat: loc.Lat, Lng: loc.Lng, DeviceTime: e.clock.Now()})
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Field != "type" {
		t.Fatalf("event of an unknown type: %v; want a 400 naming type", err)
	}

	// The family sees it, by list, by ID and on the stream; not with a provider token.
	family := mobileclient.New(e.srv.URL, e.family, hc)
	list, err := family.FamilyVisits(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("FamilyVisits = %+v, %v; want both requests", list, err)
	}
	one, err := family.FamilyRequest(ctx, second.ID)
	if err != nil || one.ID != v.ID || one.Status != "completed" || one.ProviderName != p.Name || len(one.Events) == 0 {
		t.Fatalf("FamilyRequest = %+v, %v", one, err)
	}
	var seen []string
	sctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = family.StreamFamily(sctx, func(fv mobileclient.FamilyVisit) error {
		seen = append(seen, fv.RequestID)
		if len(seen) == len(list) {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) || !slices.Contains(seen, first.ID) || !slices.Contains(seen, second.ID) {
		t.Fatalf("StreamFamily saw %v, %v; want both requests", seen, err)
	}
	if _, err := phone.FamilyVisits(ctx); mobileclient.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("a device token on a family route: %v; want 403", err)
	}
	if _, err := mobileclient.New(e.srv.URL, "nope", hc).Heartbeat(ctx, mobileclient.Heartbeat{Lat: home.Lat, Lng: home.Lng}); mobileclient.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("an unknown token: %v; want 401", err)
	}
}
