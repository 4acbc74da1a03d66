package plan_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
)

// TestPlannedOnPhone: the carer's day and week of planned visits on the
// phone, one done end to end through depart/arrive/complete with
// verification; one never checked in raises late_arrival at start + grace
// and missed_visit after its end, as on-demand visits do; "can't do" and
// "off sick today" from the phone, refused for another carer's visit.
// SQLite and PostgreSQL.
func TestPlannedOnPhone(t *testing.T) {
	onEachDSN(t, func(t *testing.T, dsn string) {
		w := newChangeWorld(t, dsn)
		ctx := testenv.OpCtx()
		aTok := w.token(carehex.Principal{Kind: carehex.KindProvider, Subject: w.a.ID, Name: w.a.Name})
		bTok := w.token(carehex.Principal{Kind: carehex.KindProvider, Subject: w.b.ID, Name: w.b.Name})
		list := func(tok, query string) []map[string]any {
			t.Helper()
			code, body := w.do("GET", "/m/v1/planned"+query, tok, nil)
			if code != http.StatusOK {
				t.Fatalf("planned%s: %d %v", query, code, body)
			}
			var out []map[string]any
			for _, v := range body["visits"].([]any) {
				out = append(out, v.(map[string]any))
			}
			return out
		}
		if day := list(aTok, ""); len(day) != 1 || day[0]["planned_visit_id"] != w.days[0].ID || day[0]["visit_id"] != w.days[0].VisitID ||
			day[0]["resident_name"] != w.res.Name {
			t.Fatalf("A's day: %v", day)
		}
		if week := list(aTok, "?days=7"); len(week) != 4 {
			t.Fatalf("A's week: %d visits, want Monday…Thursday", len(week))
		}
		if week := list(bTok, "?days=7"); len(week) != 0 {
			t.Fatalf("B's week shows %v", week)
		}
		// Outside the contract, so past its checking client: bad input
		// is a 400 naming the field.
		for _, q := range []string{"?days=30", "?days=x", "?date=2026-13-01"} {
			req, _ := http.NewRequest("GET", w.srv.URL+"/m/v1/planned"+q, nil)
			req.Header.Set("Authorization", "Bearer "+aTok)
			resp, err := w.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("planned%s: %d, want 400", q, resp.StatusCode)
			}
		}

		// Monday done through the same events as on-demand work.
		mon := w.days[0]
		start := list(aTok, "")[0]["window_start_time"].(string)
		at, _ := time.Parse(time.RFC3339, start)
		for i, step := range []struct {
			typ   string
			at    time.Time
			north float64
		}{{"depart", at.Add(-10 * time.Minute), 300}, {"arrive", at, 5}, {"complete", at.Add(35 * time.Minute), 5}} {
			w.clock.Set(step.at)
			pos := testenv.At(testenv.Zibo, step.north, 0)
			code, body := w.do("POST", "/m/v1/visits/"+mon.VisitID+"/events", aTok, map[string]any{"event_id": fmt.Sprintf("m%d", i),
				"type": step.typ, "lat": pos.Lat, "lng": pos.Lng, "accuracy_m": 10, "device_time": step.at.Format(time.RFC3339)})
			if code != http.StatusCreated {
				t.Fatalf("%s: %d %v", step.typ, code, body)
			}
			if step.typ != "depart" && body["event"].(map[string]any)["verified"] != true {
				t.Fatalf("%s not verified: %v", step.typ, body)
			}
		}
		if v, _ := w.db.PlannedVisit(ctx, mon.ID); v.RequestStatus != carehex.StatusCompleted {
			t.Fatalf("Monday after complete: %+v", v)
		}
		// A done visit cannot be given away.
		if code, _ := w.do("POST", "/m/v1/planned/"+mon.ID+"/cant-do", aTok, map[string]any{"reason_code": "unwell"}); code != http.StatusNotFound && code != http.StatusConflict {
			t.Fatalf("cant-do on a completed visit: %d", code)
		}

		// Tuesday never checked in: late at start + grace, missed after
		// its end.
		tue := w.days[1]
		tv, _ := w.db.Visit(ctx, tue.VisitID)
		alerts := func() map[string]bool {
			t.Helper()
			if _, err := w.eng.CheckOverdue(ctx); err != nil {
				t.Fatal(err)
			}
			as, err := w.db.Alerts(ctx, true, 100)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, a := range as {
				if a.VisitID == tue.VisitID {
					got[a.Kind] = true
				}
			}
			return got
		}
		w.clock.Set(tv.PlannedStart.Add(5 * time.Minute))
		if got := alerts(); len(got) != 0 {
			t.Fatalf("alerts inside the grace: %v", got)
		}
		w.clock.Set(tv.PlannedStart.Add(w.eng.Config().LateGrace + time.Minute))
		if got := alerts(); !got[carehex.ExceptionLateArrival] || got[carehex.ExceptionMissedVisit] {
			t.Fatalf("alerts after start + grace: %v, want late_arrival", got)
		}
		w.clock.Set(tv.PlannedEnd.Add(time.Minute))
		if got := alerts(); !got[carehex.ExceptionMissedVisit] {
			t.Fatalf("alerts after the end: %v, want missed_visit", got)
		}

		// From the phone: B cannot mark A's Wednesday; A can.
		wed := w.days[2]
		w.clock.Set(carehex.Day(wed.Earliest).Add(-12 * time.Hour)) // Tuesday evening
		if code, body := w.do("POST", "/m/v1/planned/"+wed.ID+"/cant-do", bTok, map[string]any{"reason_code": "unwell"}); code != http.StatusNotFound {
			t.Fatalf("B's cant-do on A's visit: %d %v", code, body)
		}
		if v, _ := w.db.PlannedVisit(ctx, wed.ID); v.Version != wed.Version {
			t.Fatalf("a refused cant-do changed the visit: %+v", v)
		}
		code, body := w.do("POST", "/m/v1/planned/"+wed.ID+"/cant-do", aTok, map[string]any{"reason_code": "clash", "reason": "要去医院复查"})
		if code != http.StatusOK || body["change"].(map[string]any)["rostered"] != float64(1) {
			t.Fatalf("A's cant-do: %d %v", code, body)
		}
		if week := list(bTok, "?days=7"); len(week) != 1 || week[0]["planned_visit_id"] != wed.ID {
			t.Fatalf("B's week after taking Wednesday: %v", week)
		}

		// Thursday morning A is sick: Thursday goes to on-demand
		// dispatch (its 11:00 start is within two hours at 09:30).
		thu := w.days[3]
		w.clock.Set(thu.Earliest.Add(-90 * time.Minute))
		code, body = w.do("POST", "/m/v1/sick", aTok, map[string]any{})
		if code != http.StatusOK || body["change"].(map[string]any)["handed_off"] != float64(1) {
			t.Fatalf("A sick today: %d %v", code, body)
		}
		if v, _ := w.db.PlannedVisit(ctx, thu.ID); v.Status != carehex.PlannedDispatched {
			t.Fatalf("Thursday after A's sick day: %+v", v)
		}
		if day := list(aTok, ""); len(day) != 0 {
			t.Fatalf("A's day while sick: %v", day)
		}
		if pairs, err := w.db.OverlappingVisits(context.Background()); err != nil || len(pairs) != 0 {
			t.Fatalf("overlapping visits: %v, %v", pairs, err)
		}
	})
}
