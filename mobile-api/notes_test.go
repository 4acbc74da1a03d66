package mobileapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	mobileapi "github.com/carehex/carehex/mobile-api"
)

// TestJobNotesOnlyToHolder: the operator's notes and the elder's care notes
// reach the carer who accepted the job, on the accept answer and the day
// list, and nobody else: not the carer who was only offered it (and
// declined), not a carer who never saw it, not on any offer.
func TestJobNotesOnlyToHolder(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	const opNotes, careNotes = "老人要上厕所，家里没人", "患糖尿病，午饭低糖"
	res := &carehex.Resident{Name: "王桂兰", Phone: "13905330002", Address: "张店区华光路56号3单元201", Location: zibo,
		Preferences: carehex.Preferences{Notes: careNotes}}
	if err := e.db.CreateResident(opCtx(), res); err != nil {
		t.Fatal(err)
	}
	_, near := e.provider("王芳")
	_, far := e.provider("赵强")
	_, stranger := e.provider("孙丽")
	e.heartbeat(near, at(zibo, 200))
	e.heartbeat(far, at(zibo, 900))
	req, _, err := e.db.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery",
		Urgency: carehex.UrgencySoon, Notes: opNotes}, "")
	if err != nil {
		t.Fatal(err)
	}
	secret := func(who, raw string) {
		t.Helper()
		for _, s := range []string{opNotes, careNotes, res.Address} {
			if strings.Contains(raw, s) {
				t.Fatalf("%s sees %q: %s", who, s, raw)
			}
		}
	}
	offers, err := e.eng.Dispatch(ctx, req.ID)
	if err != nil || len(offers) != 1 {
		t.Fatalf("Dispatch: %v, %d offers", err, len(offers))
	}
	first := e.do("GET", "/m/v1/offers?wait=0", near, nil).want(t, http.StatusOK)
	secret("the offered carer's offer", first.raw)
	if get(first.body, "offers", 0, "urgency") != "soon" {
		t.Fatalf("offer without its urgency: %s", first.raw)
	}
	// The nearer carer declines with a reason code; the offer goes on.
	e.do("POST", "/m/v1/offers/"+get(first.body, "offers", 0, "id").(string)+"/decline", near,
		map[string]string{"reason_code": "busy"}).want(t, http.StatusOK)
	r := e.do("GET", "/m/v1/offers?wait=5", far, nil).want(t, http.StatusOK)
	secret("the next carer's offer", r.raw)
	id, _ := get(r.body, "offers", 0, "id").(string)
	if id == "" {
		t.Fatalf("no offer reached the next carer: %s", r.raw)
	}
	// A carer who was not offered it cannot accept it, nor read it.
	r = e.do("POST", "/m/v1/offers/"+id+"/accept", stranger, nil).want(t, http.StatusNotFound)
	secret("a stranger accepting", r.raw)

	r = e.do("POST", "/m/v1/offers/"+id+"/accept", far, nil).want(t, http.StatusOK)
	if get(r.body, "visit", "notes") != opNotes || get(r.body, "visit", "resident", "care_notes") != careNotes {
		t.Fatalf("the holder's accepted job lacks the notes: %s", r.raw)
	}
	r = e.do("GET", "/m/v1/visits", far, nil).want(t, http.StatusOK)
	if get(r.body, "visits", 0, "notes") != opNotes || get(r.body, "visits", 0, "resident", "care_notes") != careNotes {
		t.Fatalf("the holder's day list lacks the notes: %s", r.raw)
	}
	for who, tok := range map[string]string{"the carer who declined": near, "a carer never offered it": stranger} {
		for _, path := range []string{"/m/v1/visits", "/m/v1/offers?wait=0"} {
			r := e.do("GET", path, tok, nil).want(t, http.StatusOK)
			secret(who+" on "+path, r.raw)
		}
	}
}

// TestDeclineReason: the code is stored with the offer; a code off the
// list is refused naming reason_code and leaves the offer open.
func TestDeclineReason(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	_, tok := e.provider("王芳")
	e.heartbeat(tok, at(zibo, 300))
	req := e.request("meal_delivery")
	offers, err := e.eng.Dispatch(ctx, req.ID)
	if err != nil || len(offers) != 1 {
		t.Fatalf("Dispatch: %v, %d offers", err, len(offers))
	}
	path := "/m/v1/offers/" + offers[0].ID + "/decline"
	for _, bad := range []map[string]string{{"reason_code": "lazy"}, {"reason_code": "other", "reason": strings.Repeat("远", 501)}} {
		r := e.do("POST", path, tok, bad).want(t, http.StatusBadRequest)
		if f := r.errField(); f != "reason_code" && f != "reason" {
			t.Fatalf("decline %v: field %q", bad, f)
		}
	}
	if o, err := e.db.Offer(ctx, offers[0].ID); err != nil || o.Status != carehex.OfferOpen {
		t.Fatalf("after bad declines the offer is %+v, %v; want open", o, err)
	}
	e.do("POST", path, tok, map[string]string{"reason_code": "other", "reason": "电动车没电了"}).want(t, http.StatusOK)
	if o, err := e.db.Offer(ctx, offers[0].ID); err != nil || o.Status != carehex.OfferDeclined || o.Reason != "other: 电动车没电了" {
		t.Fatalf("declined offer %+v, %v", o, err)
	}
}

// TestFamilyHotline: the family list names the hotline to call, 12349 unless
// configured; a number that is not one is refused at start.
func TestFamilyHotline(t *testing.T) {
	e := newEnv(t, "")
	r := e.do("GET", "/m/v1/family/visits", e.family, nil).want(t, http.StatusOK)
	if r.body["hotline"] != "12349" {
		t.Fatalf("default hotline: %s", r.raw)
	}
	e = newEnv(t, "", func(c *mobileapi.Config) { c.Hotline = "0533-12349" })
	r = e.do("GET", "/m/v1/family/visits", e.family, nil).want(t, http.StatusOK)
	if r.body["hotline"] != "0533-12349" {
		t.Fatalf("configured hotline: %s", r.raw)
	}
	for _, bad := range []string{"", "12", "call 12349", "-12349", strings.Repeat("1", 21)} {
		c := mobileapi.DefaultConfig()
		c.Hotline = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "Hotline") {
			t.Errorf("hotline %q: %v; want an error naming Hotline", bad, err)
		}
	}
}

// TestOfferWindow: a booked request's offer and job carry its time window,
// so the carer knows when before accepting.
func TestOfferWindow(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	_, tok := e.provider("王芳")
	e.heartbeat(tok, at(zibo, 300))
	start := e.clock.Now().Add(2 * time.Hour).Truncate(time.Minute)
	req, _, err := e.db.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: e.res.ID, ServiceCode: "meal_delivery",
		Urgency: carehex.UrgencyScheduled, WindowStart: start, WindowEnd: start.Add(2 * time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if offers, err := e.eng.Dispatch(ctx, req.ID); err != nil || len(offers) != 1 {
		t.Fatalf("Dispatch: %v, %d offers", err, len(offers))
	}
	r := e.do("GET", "/m/v1/offers?wait=0", tok, nil).want(t, http.StatusOK)
	o := get(r.body, "offers", 0).(map[string]any)
	if o["urgency"] != "scheduled" || o["window_start"] != start.UTC().Format(time.RFC3339) || o["window_end"] != start.Add(2*time.Hour).UTC().Format(time.RFC3339) {
		t.Fatalf("offer of a booked request: %s", r.raw)
	}
	r = e.do("POST", "/m/v1/offers/"+o["id"].(string)+"/accept", tok, nil).want(t, http.StatusOK)
	if get(r.body, "visit", "window_start") != o["window_start"] || get(r.body, "visit", "urgency") != "scheduled" {
		t.Fatalf("accepted booked job: %s", r.raw)
	}
}
