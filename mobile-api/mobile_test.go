package mobileapi_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	mobileapi "github.com/carehex/carehex/mobile-api"
)

// TestProviderJourney is what a phone does: heartbeat near the resident,
// receive the offer by long poll (it shows nothing of the resident), accept
// (now the address), depart, arrive inside the geofence, complete; the family
// sees the timeline and nobody else sees anything.
func TestProviderJourney(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	p, tok := e.provider("王芳")
	e.heartbeat(tok, at(zibo, 800))

	// Nothing offered yet: the long poll waits and answers an empty list.
	r := e.do("GET", "/m/v1/offers?wait=0", tok, nil).want(t, http.StatusOK)
	if n := len(get(r.body, "offers").([]any)); n != 0 {
		t.Fatalf("offers before any request: %d", n)
	}

	// The long poll waits: its first look finds nothing, it has not answered
	// when the offer is made, and then it answers with that offer.
	req := e.request("meal_delivery")
	looked := e.watch.offerLooks()
	done := make(chan response, 1)
	go func() { done <- e.do("GET", "/m/v1/offers?wait=10", tok, nil) }()
	if n := <-looked; n != 0 {
		t.Fatalf("the poll's first look found %d offers before any dispatch", n)
	}
	select {
	case r := <-done:
		t.Fatalf("the long poll answered before any offer: %d %s", r.status, r.raw)
	default:
	}
	if _, err := e.eng.Dispatch(ctx, req.ID); err != nil {
		t.Fatal(err)
	}
	r = (<-done).want(t, http.StatusOK)
	offer := get(r.body, "offers", 0).(map[string]any)
	if offer["request_id"] != req.ID || offer["service_code"] != "meal_delivery" || offer["expires_at"] == nil {
		t.Fatalf("offer %v", offer)
	}
	for _, secret := range []string{e.res.Name, e.res.Address, e.res.Phone, "resident"} {
		if strings.Contains(r.raw, secret) {
			t.Fatalf("offer reveals %q: %s", secret, r.raw)
		}
	}
	if d := offer["distance_m"].(float64); d < 700 || d > 900 {
		t.Fatalf("distance_m %v, want ~800", d)
	}

	// Another provider cannot accept it.
	_, other := e.provider("赵强")
	e.do("POST", "/m/v1/offers/"+offer["id"].(string)+"/accept", other, nil).want(t, http.StatusNotFound)

	r = e.do("POST", "/m/v1/offers/"+offer["id"].(string)+"/accept", tok, nil).want(t, http.StatusOK)
	if get(r.body, "visit", "resident", "address") != e.res.Address || get(r.body, "visit", "resident", "name") != e.res.Name {
		t.Fatalf("accepted visit does not show the home: %s", r.raw)
	}
	visitID := get(r.body, "visit", "id").(string)

	r = e.do("GET", "/m/v1/visits", tok, nil).want(t, http.StatusOK)
	if get(r.body, "visits", 0, "id") != visitID {
		t.Fatalf("day list %s", r.raw)
	}

	// Another provider cannot post events to the visit: 404, as if absent.
	now := e.clock.Now()
	e.postEvent(other, visitID, ev{"x1", "depart", 800, now}).want(t, http.StatusNotFound)

	e.postEvent(tok, visitID, ev{"d1", "depart", 800, now}).want(t, http.StatusCreated)
	e.clock.Advance(10 * time.Minute)
	r = e.postEvent(tok, visitID, ev{"a1", "arrive", 40, e.clock.Now()}).want(t, http.StatusCreated)
	if get(r.body, "event", "verified") != true || get(r.body, "visit", "status") != "in_progress" {
		t.Fatalf("arrival inside the fence: %s", r.raw)
	}
	e.clock.Advance(25 * time.Minute)
	r = e.postEvent(tok, visitID, ev{"c1", "complete", 20, e.clock.Now()}).want(t, http.StatusCreated)
	if get(r.body, "visit", "status") != "completed" || len(get(r.body, "event", "exceptions").([]any)) != 0 {
		t.Fatalf("completion: %s", r.raw)
	}
	got, err := e.db.ServiceRequest(ctx, req.ID)
	if err != nil || got.Status != carehex.StatusCompleted {
		t.Fatalf("request after completion: %v, %v", got, err)
	}

	// The family sees the timeline of their own resident.
	r = e.do("GET", "/m/v1/family/visits", e.family, nil).want(t, http.StatusOK)
	item := get(r.body, "visits", 0).(map[string]any)
	if item["id"] != visitID || item["status"] != "completed" || item["provider_name"] != p.Name {
		t.Fatalf("family view %s", r.raw)
	}
	var statuses []string
	for _, x := range item["events"].([]any) {
		statuses = append(statuses, x.(map[string]any)["status"].(string))
	}
	if want := "pending offered assigned en_route in_progress completed"; strings.Join(statuses, " ") != want {
		t.Fatalf("family timeline %v, want %s", statuses, want)
	}
	e.do("GET", "/m/v1/family/requests/"+req.ID, e.family, nil).want(t, http.StatusOK)

	// Another family's token sees nothing of it.
	stranger := e.link(e.resident("刘建国", "张店区共青团路1号"))
	r = e.do("GET", "/m/v1/family/visits", stranger, nil).want(t, http.StatusOK)
	if len(get(r.body, "visits").([]any)) != 0 || strings.Contains(r.raw, req.ID) {
		t.Fatalf("stranger sees %s", r.raw)
	}
	e.do("GET", "/m/v1/family/requests/"+req.ID, stranger, nil).want(t, http.StatusNotFound)

	// The check-out freed the provider: the next request is theirs to take.
	e.heartbeat(tok, at(zibo, 20))
	next := e.request("meal_delivery")
	if offers, err := e.eng.Dispatch(ctx, next.ID); err != nil || len(offers) != 1 || offers[0].ProviderID != p.ID {
		t.Fatalf("after the visit the next request's offers = %v, %v; want one to %s, free again", offers, err, p.ID)
	}
}

// TestOfferStream receives an offer by Server-Sent Events, then its close.
func TestOfferStream(t *testing.T) {
	e := newEnv(t, "")
	p, tok := e.provider("王芳")
	e.heartbeat(tok, at(zibo, 300))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hreq, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/m/v1/offers/stream", nil)
	hreq.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.srv.Client().Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, ct)
	}
	req := e.request("meal_delivery")
	if _, err := e.eng.Dispatch(context.Background(), req.ID); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	var event string
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok && event == "offer" {
			if !strings.Contains(v, req.ID) || strings.Contains(v, e.res.Address) {
				t.Fatalf("offer event %s", v)
			}
			break
		}
	}
	if event != "offer" {
		t.Fatalf("stream ended without an offer: %v", sc.Err())
	}
	// Declined elsewhere (here: by the API): the stream says it closed,
	// woken by the notice (the reconcile is 20 s, the context 10 s).
	offers, err := e.eng.Offers(ctx, p.ID)
	if err != nil || len(offers) != 1 {
		t.Fatalf("Offers: %v, %v", offers, err)
	}
	e.do("POST", "/m/v1/offers/"+offers[0].ID+"/decline", tok, map[string]any{"reason": "busy"}).want(t, http.StatusOK)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok && event == "closed" {
			if !strings.Contains(v, offers[0].ID) {
				t.Fatalf("closed event %s, want %s", v, offers[0].ID)
			}
			return
		}
	}
	t.Fatalf("stream ended without a closed event: %v", sc.Err())
}

// TestEventsOnceInOrder sends a visit's events late, out of order and more
// than once: each is applied once, in device-time order, on SQLite and on
// PostgreSQL.
func TestEventsOnceInOrder(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dsn := ""
			if db == "postgres" {
				dsn = testenv.PostgresURL(t)
			}
			e := newEnv(t, dsn)
			_, tok := e.provider("王芳")
			_, visitID := e.assigned(tok)
			t0 := e.clock.Now()
			// A second depart under another id, sent once the visit has moved on.
			lateDepart := ev{"evt-d", "depart", 900, t0.Add(time.Minute)}
			arrive := ev{"evt-a", "arrive", 30, t0.Add(12 * time.Minute)}
			complete := ev{"evt-c", "complete", 30, t0.Add(50 * time.Minute)}
			e.clock.Advance(time.Hour) // the phone comes out of the dead zone

			// The same event from a phone retrying in parallel: applied once.
			early := ev{"evt-x", "depart", 900, t0.Add(30 * time.Second)}
			codes := make(chan int, 4)
			for range 4 {
				go func() { codes <- e.postEvent(tok, visitID, early).status }()
			}
			created := 0
			for range 4 {
				switch c := <-codes; c {
				case http.StatusCreated:
					created++
				case http.StatusOK:
				default:
					t.Fatalf("parallel repeat answered %d", c)
				}
			}
			if created != 1 {
				t.Fatalf("%d of 4 parallel repeats created the event", created)
			}
			depart := early

			// complete first: recorded, waiting for its arrive.
			r := e.postEvent(tok, visitID, complete).want(t, http.StatusCreated)
			if get(r.body, "event", "applied") != false || get(r.body, "visit", "status") != "en_route" {
				t.Fatalf("early complete: %s", r.raw)
			}
			r = e.postEvent(tok, visitID, arrive).want(t, http.StatusCreated)
			if get(r.body, "visit", "status") != "completed" {
				t.Fatalf("arrive after complete should complete the visit: %s", r.raw)
			}
			e.postEvent(tok, visitID, lateDepart).want(t, http.StatusConflict)
			first := map[string]string{}
			for _, x := range []ev{arrive, complete, depart, complete, arrive} {
				r := e.postEvent(tok, visitID, x).want(t, http.StatusOK)
				if get(r.body, "replayed") != true {
					t.Fatalf("repeat of %s not replayed: %s", x.id, r.raw)
				}
				rt := get(r.body, "event", "receive_time").(string)
				if f, ok := first[x.id]; ok && f != rt {
					t.Fatalf("repeat of %s answered differently", x.id)
				}
				first[x.id] = rt
			}
			evs, err := e.db.VisitEvents(context.Background(), visitID)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, x := range evs {
				types = append(types, string(x.Type))
				if !x.Applied {
					t.Fatalf("event %s not applied", x.EventID)
				}
			}
			if strings.Join(types, " ") != "depart arrive complete" {
				t.Fatalf("events %v, want one each in device-time order", types)
			}
			v, err := e.db.Visit(context.Background(), visitID)
			if err != nil || v.Status != carehex.StatusCompleted || !v.FinishTime.Equal(complete.at) {
				t.Fatalf("visit %+v, %v", v, err)
			}

			// A second arrive with a new id, or a reused id for another type, is a conflict.
			e.postEvent(tok, visitID, ev{"evt-a2", "arrive", 30, t0.Add(13 * time.Minute)}).want(t, http.StatusConflict)
			e.postEvent(tok, visitID, ev{"evt-a", "no_show", 30, t0.Add(13 * time.Minute)}).want(t, http.StatusConflict)
		})
	}
}

// TestImpossibleSequences are refused with a clear error and change nothing.
func TestImpossibleSequences(t *testing.T) {
	e := newEnv(t, "")
	_, tok := e.provider("王芳")
	_, visitID := e.assigned(tok)
	t0 := e.clock.Now()
	e.clock.Advance(time.Hour)
	e.postEvent(tok, visitID, ev{"a", "arrive", 10, t0.Add(20 * time.Minute)}).want(t, http.StatusCreated)
	r := e.postEvent(tok, visitID, ev{"c", "complete", 10, t0.Add(10 * time.Minute)}).want(t, http.StatusConflict)
	if !strings.Contains(r.raw, "impossible sequence") {
		t.Fatalf("message %s", r.raw)
	}
	r = e.postEvent(tok, visitID, ev{"d", "depart", 10, t0.Add(30 * time.Minute)}).want(t, http.StatusConflict)
	r = e.postEvent(tok, visitID, ev{"f", "complete", 10, e.clock.Now().Add(time.Hour)}).want(t, http.StatusBadRequest)
	if r.errField() != "device_time" {
		t.Fatalf("future time names %q", r.errField())
	}
	e.postEvent(tok, visitID, ev{"old", "complete", 10, t0.Add(-24 * time.Hour)}).want(t, http.StatusBadRequest)
	evs, _ := e.db.VisitEvents(context.Background(), visitID)
	if len(evs) != 1 {
		t.Fatalf("refused events were stored: %d events", len(evs))
	}
}

// TestVerification: an arrival outside the geofence is accepted but flagged
// and becomes an operator alert; so do a short visit and a far check-out.
func TestVerification(t *testing.T) {
	e := newEnv(t, "")
	_, tok := e.provider("王芳")
	req, visitID := e.assigned(tok)
	t0 := e.clock.Now()
	e.clock.Advance(time.Hour)
	r := e.postEvent(tok, visitID, ev{"a", "arrive", 1200, t0.Add(10 * time.Minute)}).want(t, http.StatusCreated)
	if get(r.body, "event", "verified") != false || get(r.body, "event", "exceptions", 0) != carehex.ExceptionOutsideGeofence ||
		get(r.body, "visit", "status") != "in_progress" {
		t.Fatalf("arrival outside the fence: %s", r.raw)
	}
	// 5 minutes of a 30-minute service, checked out 2 km away.
	r = e.postEvent(tok, visitID, ev{"c", "complete", 2000, t0.Add(15 * time.Minute)}).want(t, http.StatusCreated)
	exc := get(r.body, "event", "exceptions").([]any)
	if len(exc) != 2 {
		t.Fatalf("completion exceptions %v", exc)
	}
	alerts, err := e.db.Alerts(context.Background(), true, 100)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, a := range alerts {
		if a.RequestID == req.ID {
			kinds[a.Kind] = true
		}
	}
	for _, k := range []string{carehex.ExceptionOutsideGeofence, carehex.ExceptionShortVisit, carehex.ExceptionCheckoutFar} {
		if !kinds[k] {
			t.Errorf("no %s alert; have %v", k, kinds)
		}
	}
	// An operator can acknowledge it.
	for _, a := range alerts {
		if a.Kind == carehex.ExceptionOutsideGeofence {
			if _, err := e.db.AcknowledgeAlert(opCtx(), a.ID, operator.Actor()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestEdge: every refusal is JSON with the status of the one table.
func TestEdge(t *testing.T) {
	e := newEnv(t, "", func(c *mobileapi.Config) { c.RatePerSecond, c.Burst = 0.001, 40 })
	_, tok := e.provider("王芳")
	user := e.issue(operator)
	hb := map[string]any{"lat": zibo.Lat, "lng": zibo.Lng, "accuracy_m": 5, "available": true}
	cases := []struct {
		name         string
		method, path string
		token        string
		body         any
		status       int
		field        string
	}{
		{"no token", "POST", "/m/v1/heartbeat", "", hb, 401, ""},
		{"bad token", "POST", "/m/v1/heartbeat", "chd_nope", hb, 401, ""},
		{"user token", "POST", "/m/v1/heartbeat", user, hb, 403, ""},
		{"user token family", "GET", "/m/v1/family/visits", user, nil, 403, ""},
		{"family on provider route", "GET", "/m/v1/offers", e.family, nil, 403, ""},
		{"provider on family route", "GET", "/m/v1/family/visits", tok, nil, 403, ""},
		{"not json", "POST", "/m/v1/heartbeat", tok, "{lat:", 400, "body"},
		{"empty", "POST", "/m/v1/heartbeat", tok, "", 400, "body"},
		{"unknown field", "POST", "/m/v1/heartbeat", tok, `{"lat":36.8,"lng":118,"available":true,"x":1}`, 400, "x"},
		{"wrong type", "POST", "/m/v1/heartbeat", tok, `{"lat":"north","lng":118,"available":true}`, 400, "lat"},
		{"two objects", "POST", "/m/v1/heartbeat", tok, `{"lat":36.8,"lng":118,"available":true}{}`, 400, "body"},
		{"missing", "POST", "/m/v1/heartbeat", tok, `{"lat":36.8,"lng":118}`, 400, "available"},
		{"bad lat", "POST", "/m/v1/heartbeat", tok, `{"lat":99,"lng":118,"available":true}`, 400, "lat"},
		{"array", "POST", "/m/v1/heartbeat", tok, `[1]`, 400, "body"},
		{"too large", "POST", "/m/v1/heartbeat", tok, `{"x":"` + strings.Repeat("a", 20<<10) + `"}`, 413, "body"},
		{"bad wait", "GET", "/m/v1/offers?wait=56", tok, nil, 400, "wait"},
		{"no offer", "POST", "/m/v1/offers/off_nope/accept", tok, nil, 404, ""},
		{"no visit", "POST", "/m/v1/visits/vis_nope/events", tok, `{"event_id":"e","type":"arrive","lat":36.8,"lng":118.05,"device_time":"2026-03-02T01:00:00Z"}`, 404, ""},
		{"bad type", "POST", "/m/v1/visits/vis_nope/events", tok, `{"event_id":"e","type":"teleport","lat":36.8,"lng":118.05,"device_time":"2026-03-02T01:00:00Z"}`, 400, "type"},
		{"bad time", "POST", "/m/v1/visits/vis_nope/events", tok, `{"event_id":"e","type":"arrive","lat":36.8,"lng":118.05,"device_time":"yesterday"}`, 400, "device_time"},
		{"no route", "GET", "/m/v1/nothing", tok, nil, 404, ""},
		{"ok", "POST", "/m/v1/heartbeat", tok, hb, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, c.token, c.body).want(t, c.status)
			if c.field != "" && r.errField() != c.field {
				t.Fatalf("field %q, want %q: %s", r.errField(), c.field, r.raw)
			}
		})
	}
	t.Run("rate limit", func(t *testing.T) {
		var last response
		for i := 0; i < 60 && last.status != http.StatusTooManyRequests; i++ {
			last = e.do("GET", "/m/v1/visits", tok, nil)
		}
		last.want(t, http.StatusTooManyRequests)
		if last.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	})
}

// TestFamilyStream: the family's phone sees the visit move by SSE, and a
// stranger's stream shows nothing of it.
func TestFamilyStream(t *testing.T) {
	// A short keep-alive so the stranger's stream shows one within the test,
	// and a stream lifetime that ends the streams by themselves, so reading a
	// stream to its end sees everything the server sent it.
	e := newEnv(t, "", func(c *mobileapi.Config) {
		c.KeepAlive = 50 * time.Millisecond
		c.StreamLifetime = 3 * time.Second
	})
	_, tok := e.provider("王芳")
	req, visitID := e.assigned(tok)
	stranger := e.link(e.resident("刘建国", "张店区共青团路1号"))

	open := func(token string) (*bufio.Scanner, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		hreq, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/m/v1/family/stream", nil)
		hreq.Header.Set("Authorization", "Bearer "+token)
		resp, err := e.srv.Client().Do(hreq)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("family stream: %v %v", resp, err)
		}
		return bufio.NewScanner(resp.Body), func() { cancel(); resp.Body.Close() }
	}
	next := func(sc *bufio.Scanner) string {
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				return v
			}
		}
		return ""
	}
	sc, stop := open(e.family)
	defer stop()
	if d := next(sc); !strings.Contains(d, req.ID) || !strings.Contains(d, `"status":"assigned"`) {
		t.Fatalf("first family event %s", d)
	}

	// quiet reads a stream up to its first keep-alive (or to its end when
	// toEnd) and fails on any event; it returns the keep-alives seen.
	quiet := func(sc *bufio.Scanner, toEnd bool) int {
		n := 0
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == ": keepalive":
				n++
				if !toEnd {
					return n
				}
			case strings.HasPrefix(line, "data:"), strings.HasPrefix(line, "event:"):
				t.Fatalf("stranger's stream got %q", line)
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("stranger's stream ended with %v, want the end of its lifetime", err)
		}
		return n
	}

	// The stranger's stream opens with nothing: the server writes the
	// initial items before its first keep-alive.
	sc2, stop2 := open(stranger)
	defer stop2()
	if quiet(sc2, false) != 1 {
		t.Fatal("stranger's stream ended before its first keep-alive")
	}

	e.postEvent(tok, visitID, ev{"d", "depart", 500, e.clock.Now()}).want(t, http.StatusCreated)
	if d := next(sc); !strings.Contains(d, `"status":"en_route"`) || !strings.Contains(d, `"eta_s":`) {
		t.Fatalf("update %s", d)
	}

	// The visit moved while the stranger's stream was open; read that stream
	// to its end (its lifetime): keep-alives are all it gets.
	if n := quiet(sc2, true); n == 0 {
		t.Fatal("stranger's stream got no keep-alive after the visit moved")
	}
}

// TestWithdrawnVisit: the hotline cancels a request the carer holds; the
// phone's day list marks the visit withdrawn with the reason's code only,
// never the operator's words.
func TestWithdrawnVisit(t *testing.T) {
	e := newEnv(t, "")
	_, tok := e.provider("王芳")
	req, visitID := e.assigned(tok)
	op := carehex.WithPrincipal(context.Background(), carehex.Principal{Kind: carehex.KindUser, Subject: "usr_op",
		Role: carehex.RoleOperator})
	reason, err := carehex.CancelReason(carehex.CancelHospitalised, "张阿姨今早住进了市医院")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.TransitionRequest(op, req.ID, carehex.StatusCancelled, "user:usr_op", reason); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	r := e.do("GET", "/m/v1/visits", tok, nil).want(t, http.StatusOK)
	v := get(r.body, "visits", 0).(map[string]any)
	if v["id"] != visitID || v["status"] != "cancelled" || v["withdrawn"] != true || v["cancel_reason"] != "hospitalised" {
		t.Fatalf("day list after the cancel: %s", r.raw)
	}
	if strings.Contains(r.raw, "市医院") {
		t.Fatalf("the operator's words reached the phone: %s", r.raw)
	}
	if _, ok := v["resident"]; ok {
		t.Fatalf("the withdrawn job still carries the elder's details: %s", r.raw)
	}
}
