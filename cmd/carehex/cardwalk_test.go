package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/cardprint"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/internal/testenv"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/carehex/carehex/settle"
	"github.com/skip2/go-qrcode"
	"github.com/twitchtv/twirp"
)

// TestCardWalk is issue 12's walk with the service card, on SQLite and
// PostgreSQL: an operator logs a request for a subsidised elder and sees
// her allowance; the service's category is dispatched via organisations
// (CAREHEX_DISPATCH_VIA_ORG), so the platform routes the request to the
// contracted organisation, it waits in that organisation's queue, another
// organisation's dispatcher cannot assign it, and the organisation's own
// dispatcher assigns one of its carers; the carer's phone
// is refused another elder's card and a forged one, then scans hers at
// arrival (the QR of her printed card) and types its short code at
// completion; `carehex settle --close` puts the visit on the statement with
// the right subsidy and co-pay and holds back a second visit whose card was
// never scanned; an admin's approval of that one after the close is an
// adjustment line in April; and nothing changes the closed statement.
func TestCardWalk(t *testing.T) {
	// The walk's service: the catalogue's first "soon" one, whose
	// category the district dispatches via organisations.
	types, err := catalog.Load()
	must(t, err)
	var svc *carehex.ServiceType
	for _, ty := range types {
		if ty.UrgencyClass == carehex.ClassSoon && svc == nil {
			svc = ty
		}
	}
	for _, be := range []struct {
		name string
		set  func(t *testing.T, env map[string]string)
	}{
		{"sqlite", func(t *testing.T, env map[string]string) { env["CAREHEX_DATA"] = t.TempDir() }},
		{"postgres", func(t *testing.T, env map[string]string) { env["CAREHEX_DATABASE_URL"] = testenv.PostgresURL(t) }},
	} {
		t.Run(be.name, func(t *testing.T) {
			env := map[string]string{"CAREHEX_DISPATCH_VIA_ORG": string(svc.Category)}
			be.set(t, env)
			cfg := defaultConfig(func(k string) string { return env[k] })
			must(t, cfg.validate())
			cfg.Zone = "z" + randomHex(4)
			walkCard(t, &cfg, env, svc.Code)
		})
	}
}

// cst's 09:00 on March 10, 2026: the walk's morning.
var walkMorning = time.Date(2026, 3, 10, 9, 0, 0, 0, carehex.CST)

func walkCard(t *testing.T, cfg *Config, env map[string]string, service string) {
	ctx := context.Background()
	clock := testenv.NewClock(walkMorning)
	st, err := newStack(ctx, cfg, clock.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	stop := st.Start(ctx)
	t.Cleanup(func() { stop(); st.Close() })
	srv := httptest.NewServer(st.Handler)
	t.Cleanup(srv.Close)
	store := st.Store
	getenv := func(k string) string { return env[k] }

	// The district's side, set up beforehand: an organisation whose
	// contract pays 40 元 a visit and requires the card, its carer, and an
	// elder on 低保 whose fund pays 90% up to 30 元 a month.
	sys := carehex.WithPrincipal(ctx, carehex.Principal{Kind: carehex.KindUser, Subject: "usr_setup", Role: carehex.RoleAdmin})
	types, err := store.ServiceTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var svc *carehex.ServiceType
	for _, ty := range types {
		if ty.Code == service {
			svc = ty
		}
	}
	if svc == nil {
		t.Fatalf("no service %s in the store", service)
	}
	org := &carehex.Organisation{Name: "张店区颐康居家养老服务中心", Kind: carehex.OrgContractor}
	must(t, store.CreateOrganisation(sys, org))
	must(t, store.CreateContract(sys, &carehex.Contract{OrgID: org.ID, Services: []string{svc.Code}, Unit: carehex.UnitVisit,
		PriceFen: 4000, ValidFrom: walkMorning.AddDate(0, -1, 0), RequiresCardScan: true}))
	home := carehex.LatLng{Lat: 36.80, Lng: 118.05}
	carer := &carehex.Provider{Name: "李师傅", Phone: "13700000001", Skills: []string{svc.RequiredSkill}, OrgID: org.ID, Home: home}
	must(t, store.CreateProvider(sys, carer))
	wang := &carehex.Resident{Name: "王秀英", Phone: "13905330001", Address: "张店区华光路56号", Location: home}
	zhao := &carehex.Resident{Name: "赵建国", Phone: "13905330002", Address: "张店区华光路58号", Location: home}
	must(t, store.CreateResident(sys, wang))
	must(t, store.CreateResident(sys, zhao))
	must(t, store.CreateFunding(sys, &carehex.Funding{ResidentID: wang.ID, Kind: carehex.FundingSubsidy, Category: "dibao",
		ShareBP: 9000, AllowanceFen: 3000, ValidFrom: walkMorning.AddDate(-1, 0, 0)}))

	// Another organisation, a volunteer station with a carer of the same
	// skill but no contract for the service: it is never routed the walk's
	// requests, and its dispatcher cannot take them.
	station := &carehex.Organisation{Name: "华光路志愿服务站", Kind: carehex.OrgVolunteerStation}
	must(t, store.CreateOrganisation(sys, station))
	volunteer := &carehex.Provider{Name: "张阿姨", Phone: "13700000003", Skills: []string{svc.RequiredSkill}, OrgID: station.ID, Home: home}
	must(t, store.CreateProvider(sys, volunteer))

	// account issues a session of a new console account.
	account := func(name string, role carehex.Role, orgID string) context.Context {
		u := &carehex.User{Username: name, Role: role, PasswordHash: "x", OrgID: orgID}
		must(t, store.CreateUser(ctx, u))
		tok, err := auth.Issue(ctx, store, carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: role, Name: u.Username, OrgID: orgID},
			walkMorning.AddDate(1, 0, 0))
		must(t, err)
		c, err := twirp.WithHTTPRequestHeaders(ctx, http.Header{"Authorization": {"Bearer " + tok}})
		must(t, err)
		return c
	}
	op, admin, super := account("operator-walk", carehex.RoleOperator, ""), account("admin-walk", carehex.RoleAdmin, ""),
		account("supervisor-walk", carehex.RoleSupervisor, "")
	orgDisp := account("yikang-dispatcher", carehex.RoleOrgDispatcher, org.ID)
	stationDisp := account("station-dispatcher", carehex.RoleOrgDispatcher, station.ID)
	intake := pb.NewIntakeServiceJSONClient(srv.URL, srv.Client())
	providers := pb.NewProviderServiceJSONClient(srv.URL, srv.Client())
	finance := pb.NewFinanceServiceJSONClient(srv.URL, srv.Client())
	orgs := pb.NewOrganisationServiceJSONClient(srv.URL, srv.Client())
	routing := pb.NewOrgDispatchServiceJSONClient(srv.URL, srv.Client())

	// Her card, printed from the console, and by the command for the post.
	card, err := finance.PrintServiceCard(op, &pb.PrintServiceCardRequest{ResidentId: wang.ID})
	must(t, err)
	checkCardImage(t, card.Png, card.Payload)
	cards := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"card", "print", "--resident", wang.ID, "--out", cards}, getenv, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("card print: %v\n%s", err, errOut.String())
	}
	printed, err := os.ReadFile(filepath.Join(cards, "card-"+card.ResidentNumber+".png"))
	must(t, err)
	checkCardImage(t, printed, card.Payload)
	if !bytes.Equal(printed, card.Png) {
		t.Fatal("the command and the console print different cards")
	}
	other, err := finance.PrintServiceCard(op, &pb.PrintServiceCardRequest{ResidentId: zhao.ID})
	must(t, err)
	if _, err := finance.PrintServiceCard(super, &pb.PrintServiceCardRequest{ResidentId: wang.ID}); twirpCode(err) != twirp.PermissionDenied {
		t.Fatalf("a supervisor printed a card: %v", err)
	}

	// The operator takes the call and sees her allowance.
	allowance := func() *pb.GetAllowanceResponse {
		a, err := finance.GetAllowance(op, &pb.GetAllowanceRequest{ResidentId: wang.ID})
		must(t, err)
		return a
	}
	if a := allowance(); !a.Funded || a.Category != "dibao" || a.AllowanceFen != 3000 || a.RemainingFen != 3000 || a.Month != "2026-03" {
		t.Fatalf("allowance before = %+v", a)
	}
	phoneToken, err := providers.IssueDeviceToken(op, &pb.IssueDeviceTokenRequest{ProviderId: carer.ID})
	must(t, err)
	ph := cardPhone{t: t, url: srv.URL, token: phoneToken.Token, clock: clock, home: home}

	// visit logs a request, which the platform routes to the organisation;
	// its dispatcher assigns the carer, who walks to the door.
	visit := func(key string) string {
		created, err := intake.CreateServiceRequest(op, &pb.CreateServiceRequestRequest{ResidentId: wang.ID, ServiceCode: svc.Code,
			Urgency: pb.Urgency_URGENCY_SOON, IdempotencyKey: key})
		must(t, err)
		id := created.Request.Id
		if created.Request.Status != pb.RequestStatus_REQUEST_STATUS_PENDING {
			t.Fatalf("a request routed to an organisation is %s, want pending", created.Request.Status)
		}
		routes, err := routing.ListRequestRoutes(op, &pb.ListRequestRoutesRequest{RequestId: id})
		must(t, err)
		if r := routes.Routes; len(r) != 1 || r[0].OrgId != org.ID || r[0].Attempt != 1 || r[0].EndTime != nil ||
			len(r[0].Ranking) == 0 || r[0].Ranking[0].OrgId != org.ID || !r[0].Ranking[0].Eligible {
			t.Fatalf("routes of %s = %+v, want one open route to %s", id, r, org.ID)
		}
		inQueue := func(who context.Context) bool {
			q, err := routing.ListOrgQueue(who, &pb.ListOrgQueueRequest{})
			must(t, err)
			for _, r := range q.Routes {
				if r.RequestId == id {
					return r.ServiceCode == svc.Code
				}
			}
			return false
		}
		if !inQueue(orgDisp) || inQueue(stationDisp) {
			t.Fatalf("request %s: in its organisation's queue %v, in the station's %v; want only its organisation's",
				id, inQueue(orgDisp), inQueue(stationDisp))
		}
		// Another organisation's dispatcher cannot assign it, neither its
		// own carer nor the organisation's; the operator cannot either.
		for _, try := range []struct {
			who      context.Context
			provider string
		}{{stationDisp, volunteer.ID}, {stationDisp, carer.ID}, {op, carer.ID}} {
			if _, err := routing.AssignOrgCarer(try.who, &pb.AssignOrgCarerRequest{RequestId: id, ProviderId: try.provider}); twirpCode(err) != twirp.PermissionDenied {
				t.Fatalf("assigning %s to %s from outside the organisation: %v, want permission_denied", try.provider, id, err)
			}
		}
		if r, err := store.ServiceRequest(ctx, id); err != nil || r.Status != carehex.StatusPending {
			t.Fatalf("refused assignments left %s at %+v (%v), want pending", id, r, err)
		}
		assigned, err := routing.AssignOrgCarer(orgDisp, &pb.AssignOrgCarerRequest{RequestId: id, ProviderId: carer.ID, Reason: "颐康服务中心派单"})
		must(t, err)
		if assigned.Request.Status != pb.RequestStatus_REQUEST_STATUS_ASSIGNED || assigned.Request.ProviderId != carer.ID || assigned.VisitId == "" {
			t.Fatalf("the organisation's assignment = %+v", assigned)
		}
		if inQueue(orgDisp) {
			t.Fatalf("assigned request %s is still in the organisation's queue", id)
		}
		clock.Advance(5 * time.Minute)
		ph.event(assigned.VisitId, "depart")
		return assigned.VisitId
	}
	first := visit("walk-1")
	var day struct {
		Visits []struct {
			ID           string `json:"id"`
			CardRequired bool   `json:"card_required"`
		} `json:"visits"`
	}
	ph.call("GET", "/m/v1/visits", nil, http.StatusOK, &day)
	if len(day.Visits) != 1 || day.Visits[0].ID != first || !day.Visits[0].CardRequired {
		t.Fatalf("the phone's day = %+v, want the visit with card_required", day)
	}
	// At the door: another elder's card, a forged one, a web address; then hers.
	clock.Advance(10 * time.Minute)
	forged := card.Payload[:len(card.Payload)-4] + "AAAA"
	if forged == card.Payload {
		forged = card.Payload[:len(card.Payload)-4] + "BBBB"
	}
	for _, bad := range []struct {
		body   map[string]string
		status int
		code   string
	}{
		{map[string]string{"stage": "arrive", "qr": other.Payload}, http.StatusForbidden, carehex.CardOtherResident},
		{map[string]string{"stage": "arrive", "qr": forged}, http.StatusForbidden, carehex.CardForged},
		{map[string]string{"stage": "arrive", "qr": "https://example.com/"}, http.StatusBadRequest, carehex.CardUnreadable},
		{map[string]string{"stage": "arrive", "code": other.ShortCode}, http.StatusForbidden, carehex.CardWrongCode},
	} {
		var e cardError
		ph.call("POST", "/m/v1/visits/"+first+"/card", bad.body, bad.status, &e)
		if e.Error.MsgCode != bad.code || e.Error.Field != "card" {
			t.Fatalf("%v: answered %+v, want %s", bad.body, e.Error, bad.code)
		}
	}
	// Bad requests change nothing; another carer's phone does not see the visit.
	for _, bad := range []map[string]string{{"stage": "depart", "qr": card.Payload}, {"stage": "arrive"},
		{"stage": "arrive", "qr": card.Payload, "code": card.ShortCode}} {
		var e cardError
		ph.raw = true // outside the contract on purpose
		ph.call("POST", "/m/v1/visits/"+first+"/card", bad, http.StatusBadRequest, &e)
		ph.raw = false
		if e.Error.Field == "" {
			t.Fatalf("%v: answered %+v, want the field named", bad, e.Error)
		}
	}
	stranger := &carehex.Provider{Name: "王师傅", Phone: "13700000002", Skills: []string{svc.RequiredSkill}, OrgID: org.ID, Home: home}
	must(t, store.CreateProvider(sys, stranger))
	strangerToken, err := providers.IssueDeviceToken(op, &pb.IssueDeviceTokenRequest{ProviderId: stranger.ID})
	must(t, err)
	other2 := cardPhone{t: t, url: srv.URL, token: strangerToken.Token, clock: clock, home: home}
	other2.call("POST", "/m/v1/visits/"+first+"/card", map[string]string{"stage": "arrive", "qr": card.Payload}, http.StatusNotFound, nil)
	if scans, err := store.CardScans(ctx, first); err != nil || len(scans) != 4 {
		t.Fatalf("scans of the visit = %d (%v), want the 4 refusals only", len(scans), err)
	}
	ph.call("POST", "/m/v1/visits/"+first+"/card", map[string]string{"stage": "arrive", "qr": card.Payload}, http.StatusCreated, nil)
	ph.event(first, "arrive")
	clock.Advance(svc.DefaultDuration)
	// The camera fails at the end: the short code, typed in lower case.
	ph.call("POST", "/m/v1/visits/"+first+"/card", map[string]string{"stage": "complete",
		"code": strings.ToLower(card.ShortCode)}, http.StatusCreated, nil)
	ph.event(first, "complete")

	// Every refusal is in the trail, on the visit.
	recs, err := store.AuditRecords(ctx, carehex.AuditFilter{ObjectID: first, Limit: 100})
	must(t, err)
	refused, scanned := 0, 0
	for _, r := range recs {
		switch r.Action {
		case "visit.card_refused":
			refused++
		case "visit.card_scan":
			scanned++
		}
	}
	if refused != 4 || scanned != 2 {
		t.Fatalf("trail of the visit: %d refused, %d accepted scans; want 4 and 2", refused, scanned)
	}
	if a := allowance(); a.UsedFen != 3000 || a.RemainingFen != 0 {
		t.Fatalf("allowance after the visit = %+v, want 30 元 used and nothing left", a)
	}

	// A second visit: the card is scanned at the door but not at the end.
	clock.Advance(2 * time.Hour)
	second := visit("walk-2")
	clock.Advance(10 * time.Minute)
	ph.call("POST", "/m/v1/visits/"+second+"/card", map[string]string{"stage": "arrive", "qr": card.Payload}, http.StatusCreated, nil)
	ph.event(second, "arrive")
	clock.Advance(svc.DefaultDuration)
	ph.event(second, "complete")

	// April 2: the month is settled and closed by the command.
	clock.Set(time.Date(2026, 4, 2, 9, 0, 0, 0, carehex.CST))
	march := settleCmd(t, getenv, "2026-03", "--close")
	if march.Lines != 1 || march.HeldBack != 1 || march.TotalFen != 4000 || march.SubsidyFen != 3000 || march.CopayFen != 1000 ||
		march.Mismatches != 0 || march.VisitsCompleted != 2 {
		t.Fatalf("March = %+v, want one line of 40 元 (30 subsidy, 10 co-pay) and one held back", march)
	}
	stmt, err := orgs.GetStatement(super, &pb.GetStatementRequest{OrgId: org.ID, Month: "2026-03"})
	must(t, err)
	if l := stmt.Statement.Lines; len(l) != 1 || l[0].VisitId != first || l[0].Verification != "geofence_card" || l[0].SubsidyFen != 3000 ||
		l[0].CopayFen != 1000 || stmt.Statement.Status != "closed" {
		t.Fatalf("March's statement = %+v", stmt)
	}
	if h := stmt.Statement.Held; len(h) != 1 || h[0].VisitId != second || h[0].Reason != carehex.HoldNoCardScan {
		t.Fatalf("March's held back = %+v", h)
	}
	digest := stmt.Statement.Digest
	exportBefore, err := finance.ExportStatement(super, &pb.ExportStatementRequest{OrgId: org.ID, Month: "2026-03", Format: "csv"})
	must(t, err)

	// The admin resolves the held visit after the close: an approval, in
	// the trail, answered with the closed month.
	if _, err := finance.ReviewVisit(super, &pb.ReviewVisitRequest{VisitId: second, Decision: "approved", Reason: "回访确认"}); twirpCode(err) != twirp.PermissionDenied {
		t.Fatalf("a supervisor reviewed: %v", err)
	}
	if _, err := finance.ReviewVisit(admin, &pb.ReviewVisitRequest{VisitId: second, Decision: "approved"}); twirpCode(err) != twirp.InvalidArgument {
		t.Fatalf("an approval without a reason: %v", err)
	}
	rv, err := finance.ReviewVisit(admin, &pb.ReviewVisitRequest{VisitId: second, Decision: "approved", Reason: "电话回访老人，确认已上门服务"})
	must(t, err)
	if rv.ClosedMonth != "2026-03" {
		t.Fatalf("review answered %+v, want the closed month", rv)
	}

	// Nothing reaches the closed statement: not settling it again by RPC
	// or command, not a review of its paid visit, not a cancellation of
	// its request, not a save through the store.
	_, err = finance.SettleMonth(admin, &pb.SettleMonthRequest{Month: "2026-03"})
	must(t, err)
	_, err = finance.ReviewVisit(admin, &pb.ReviewVisitRequest{VisitId: first, Decision: "rejected", Reason: "复核"})
	must(t, err)
	v1, err := store.Visit(ctx, first)
	must(t, err)
	if _, err := intake.CancelServiceRequest(op, &pb.CancelServiceRequestRequest{Id: v1.RequestID, ReasonCode: "duplicate"}); err == nil {
		t.Fatal("a completed, settled request was cancelled")
	}
	// The elder leaves the district: March stays as it was paid.
	residents := pb.NewResidentServiceJSONClient(srv.URL, srv.Client())
	_, err = residents.DeactivateResident(op, &pb.DeactivateResidentRequest{Id: wang.ID, ReasonCode: "moved_away"})
	must(t, err)
	if err := store.SaveStatement(ctx, &carehex.Statement{OrgID: org.ID, Month: "2026-03"}); carehex.ErrorCode(err) != carehex.ECONFLICT {
		t.Fatalf("saving over the closed statement: %v", err)
	}
	settleCmd(t, getenv, "2026-03", "--close")
	after, err := orgs.GetStatement(super, &pb.GetStatementRequest{OrgId: org.ID, Month: "2026-03"})
	must(t, err)
	exportAfter, err := finance.ExportStatement(super, &pb.ExportStatementRequest{OrgId: org.ID, Month: "2026-03", Format: "csv"})
	must(t, err)
	if after.Statement.Digest != digest || len(after.Statement.Lines) != 1 || len(after.Statement.Held) != 1 || !bytes.Equal(exportBefore.Content, exportAfter.Content) {
		t.Fatalf("the closed statement changed: %+v", after)
	}
	if !bytes.HasPrefix(exportAfter.Content, []byte("\uFEFF结算单")) || !strings.Contains(string(exportAfter.Content), "定位+服务卡核验") {
		t.Fatalf("export:\n%s", exportAfter.Content)
	}

	// April pays the approval as an adjustment: March's allowance is
	// spent, so all of it is co-pay.
	clock.Set(time.Date(2026, 5, 2, 9, 0, 0, 0, carehex.CST))
	april := settleCmd(t, getenv, "2026-04", "--close")
	if april.Lines != 1 || april.TotalFen != 4000 || april.SubsidyFen != 0 || april.CopayFen != 4000 || april.Mismatches != 0 {
		t.Fatalf("April = %+v, want one adjustment of 40 元, all co-pay", april)
	}
	apr, err := orgs.GetStatement(super, &pb.GetStatementRequest{OrgId: org.ID, Month: "2026-04"})
	must(t, err)
	if l := apr.Statement.Lines[0]; l.VisitId != second || l.AdjustsMonth != "2026-03" || l.Verification != "approved" {
		t.Fatalf("April's line = %+v", l)
	}
	list, err := orgs.ListStatements(super, &pb.ListStatementsRequest{Month: "2026-03"})
	must(t, err)
	found := false
	for _, s := range list.Statements {
		if s.OrgId == org.ID {
			found = s.Digest == digest && s.Status == "closed" && s.TotalFen == 4000
		}
	}
	if !found {
		t.Fatalf("March's list = %+v", list.Statements)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func twirpCode(err error) twirp.ErrorCode {
	if te, ok := err.(twirp.Error); ok {
		return te.Code()
	}
	return ""
}

// settleCmd runs `carehex settle --month m` with args and returns its
// last line's figures.
func settleCmd(t *testing.T, getenv func(string) string, m string, args ...string) settle.Figures {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"settle", "--month", m}, args...), getenv, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("settle %s %v: %v\n%s%s", m, args, err, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var f settle.Figures
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &f); err != nil {
		t.Fatalf("settle's last line %q: %v", lines[len(lines)-1], err)
	}
	return f
}

// checkCardImage reads the card's PNG back: every module of payload's QR
// is where the image says, dark or light, and the short code's text is
// drawn below it.
func checkCardImage(t *testing.T, b []byte, payload string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("card image: %v", err)
	}
	q, err := qrcode.New(payload, qrcode.Medium)
	must(t, err)
	bits := q.Bitmap() // with its quiet zone, as Image draws it
	n := len(bits)
	// Image maps pixel p to module p·n/QRSize: module m's centre is at
	// (m+½)·QRSize/n.
	centre := func(m int) int { return (2*m + 1) * cardprint.QRSize / (2 * n) }
	dark := func(x, y int) bool {
		r, _, _, _ := img.At(x, y).RGBA()
		return r < 0x8000
	}
	for y := range n {
		for x := range n {
			if got := dark(centre(x), centre(y)); got != bits[y][x] {
				t.Fatalf("module (%d,%d) of the card's QR is %v, the payload's is %v", x, y, got, bits[y][x])
			}
		}
	}
	inked := 0
	for y := cardprint.QRSize; y < img.Bounds().Dy(); y++ {
		for x := range img.Bounds().Dx() {
			if dark(x, y) {
				inked++
			}
		}
	}
	if inked == 0 || img.Bounds() == (image.Rectangle{}) {
		t.Fatal("no short code under the card's QR")
	}
}

// cardPhone is the carer's phone on the mobile API, answers checked
// against the served contract.
type cardPhone struct {
	t     *testing.T
	url   string
	token string
	clock *testenv.Clock
	home  carehex.LatLng
	hc    *http.Client
	raw   bool // send without checking the request against the contract
}

type cardError struct {
	Error struct {
		Code    string `json:"code"`
		Field   string `json:"field"`
		MsgCode string `json:"msg_code"`
	} `json:"error"`
}

func (p *cardPhone) call(method, path string, body any, want int, out any) {
	p.t.Helper()
	if p.hc == nil {
		p.hc, _ = contractClient(p.t, p.url)
	}
	var rd bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd.Reset(b)
	}
	req, _ := http.NewRequest(method, p.url+path, &rd)
	req.Header.Set("Authorization", "Bearer "+p.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := p.hc
	if p.raw {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	if resp.StatusCode != want {
		p.t.Fatalf("%s %s: HTTP %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	if out != nil {
		must(p.t, json.Unmarshal(raw, out))
	}
}

func (p *cardPhone) event(visitID, typ string) {
	p.t.Helper()
	p.call("POST", "/m/v1/visits/"+visitID+"/events", map[string]any{"event_id": fmt.Sprintf("%s-%s", visitID, typ),
		"type": typ, "lat": p.home.Lat, "lng": p.home.Lng, "accuracy_m": 10,
		"device_time": p.clock.Now().Format(time.RFC3339Nano)}, http.StatusCreated, nil)
}
