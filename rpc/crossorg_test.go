package rpc_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/rpc"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestOrgTable: the organisation roles' table names real methods only,
// and the platform table never lists an organisation role, so the two
// cannot disagree about who may call what.
func TestOrgTable(t *testing.T) {
	methods := allMethods(t)
	for _, m := range rpc.OrgMethods() {
		if !slices.Contains(methods, m) {
			t.Errorf("orgMethods lists %s, which is no method of carehex.v1", m)
		}
		if !slices.ContainsFunc(orgRoles, func(r carehex.Role) bool { return rpc.RoleMay(m, r) }) {
			t.Errorf("orgMethods lists %s for no organisation role", m)
		}
	}
	for m, rs := range rpc.Access {
		for _, r := range rs {
			if r.OrgRole() {
				t.Errorf("Access lists organisation role %s for %s; organisation roles belong in orgMethods", r, m)
			}
		}
	}
}

// platformOnly are the methods refused to both organisation roles on
// purpose, each with why. With orgMethods (what they may call, and how each
// is held to their organisation) it classifies every method: an RPC added
// anywhere must be put in one of the two before the tests pass, so nobody
// opens or closes a method to an organisation by forgetting it.
var platformOnly = map[string]string{
	"AccountService/UnlockLogin":             "the platform's accounts",
	"AccountService/DisableUser":             "the platform's accounts",
	"AccountService/EnableUser":              "the platform's accounts",
	"AuditService/ListAuditRecords":          "the whole trail",
	"AuditService/ListAccessAlerts":          "the whole trail",
	"DispatchService/MarkUnfilled":           "giving up on a request is the hotline's",
	"DispatchService/RetryDispatch":          "dispatching city-wide is the platform's",
	"DispatchService/GetDispatchMap":         "the city map",
	"FinanceService/ExportStatement":         "the district's finance office exports (an organisation reads its own through OrganisationService)",
	"FinanceService/GetAllowance":            "residents' subsidies are the hotline's",
	"FinanceService/PrintServiceCard":        "cards are issued by the district",
	"FinanceService/ReviewVisit":             "payment review is the district's",
	"FinanceService/SettleMonth":             "settlement is the district's",
	"FraudService/GetVisitPhoto":             "payment review is the district's",
	"FraudService/ListFraudFlags":            "payment review is the district's",
	"FraudService/ListVisitPhotos":           "payment review is the district's",
	"FraudService/ReviewFraudFlag":           "payment review is the district's",
	"FraudService/SetContractPhotos":         "contracts are the district's",
	"IntakeService/CreateServiceRequest":     "intake is the hotline's",
	"IntakeService/CancelServiceRequest":     "the hotline ends requests",
	"IntakeService/GetActiveCall":            "the hotline's calls",
	"IntakeService/RecordEscalationStep":     "the hotline's emergencies",
	"MapService/GeocodeAddress":              "registering residents is the hotline's",
	"OrganisationService/CreateOrganisation": "organisations are the district's",
	"OrganisationService/UpdateOrganisation": "organisations are the district's",
	"OrganisationService/CreateContract":     "contracts are the district's",
	"PlanService/CreateCarePlan":             "planned care is the platform's",
	"PlanService/GetCarePlan":                "planned care is the platform's",
	"PlanService/ListCarePlans":              "planned care is the platform's",
	"PlanService/UpdatePlanItem":             "planned care is the platform's",
	"PlanService/EditPlannedVisit":           "planned care is the platform's",
	"PlanService/PauseCarePlan":              "planned care is the platform's",
	"PlanService/ResumeCarePlan":             "planned care is the platform's",
	"PlanService/ListPlannedVisits":          "planned care is the platform's",
	"PlanService/SetWorkingHours":            "planned care is the platform's",
	"PlanService/GetWorkingHours":            "planned care is the platform's",
	"PlanService/RunRoster":                  "planned care is the platform's",
	"PlanCareService/MarkCarerSick":          "planned care is the platform's",
	"PlanCareService/MarkCantDo":             "planned care is the platform's",
	"PlanCareService/SetVisitProgramme":      "planned care is the platform's",
	"PlanCareService/ListVisitProgrammes":    "planned care is the platform's",
	"PlanCareService/GetProgrammeCompliance": "planned care is the platform's",
	"RosterViewService/GetRosterDay":         "planned care is the platform's",
	"QualityService/ClaimCallback":           "callbacks are the hotline's",
	"QualityService/CreateComplaint":         "complaints are logged by the hotline",
	"QualityService/GetComplaint":            "callbacks and complaints are the hotline's (an organisation's view of complaints against it is not built)",
	"QualityService/GetQualitySummary":       "the district's figures",
	"QualityService/ListCallbacks":           "callbacks are the hotline's",
	"QualityService/ListComplaints":          "callbacks and complaints are the hotline's",
	"QualityService/MoveComplaint":           "the hotline moves a complaint; an organisation's response is recorded by the operator",
	"QualityService/RecordCallback":          "callbacks are the hotline's",
	"SuperviseService/ListDashboardAreas":    "the city's areas (an organisation's slice has no area picker)",
	"ResidentService/CreateResident":         "residents are the hotline's",
	"ResidentService/UpdateResident":         "residents are the hotline's",
	"ResidentService/SearchResidents":        "residents at large",
	"ResidentService/LinkFamilyMember":       "residents' families",
	"ResidentService/ListFamilyMembers":      "residents' families",
	"ResidentService/UnlinkFamilyMember":     "residents' families",
	"ResidentService/DeactivateResident":     "residents are the hotline's",
	"ResidentService/RevealResidentField":    "unmasked numbers are the hotline's",
	"OrgDispatchService/RerouteRequest":      "sending a request to another organisation is the platform's",
}

// TestEveryMethodClassifiedForOrganisations: every authenticated method is
// either open to an organisation role (orgMethods) or refused to both on
// purpose (platformOnly), never both, never neither.
func TestEveryMethodClassifiedForOrganisations(t *testing.T) {
	open := rpc.OrgMethods()
	for _, m := range allMethods(t) {
		if rpc.Public[m] {
			continue
		}
		_, refused := platformOnly[m]
		switch opened := slices.Contains(open, m); {
		case opened && refused:
			t.Errorf("%s is both open to organisation roles (orgMethods) and in platformOnly", m)
		case !opened && !refused:
			t.Errorf("%s is not classified for organisation roles: add it to orgMethods (rpc/org.go, with how it is scoped) or to platformOnly here", m)
		}
		if refused {
			for _, r := range orgRoles {
				if rpc.RoleMay(m, r) {
					t.Errorf("%s is in platformOnly but %s may call it", m, r)
				}
			}
		}
	}
	for m := range platformOnly {
		if !slices.Contains(allMethods(t), m) {
			t.Errorf("platformOnly lists %s, which is no method of carehex.v1", m)
		}
	}
}

// orgCase is one call an organisation account makes with another
// organisation's IDs. A refused call (the default) must answer
// permission_denied and change nothing; a list (list true) must answer
// and carry none of the other organisation's IDs.
type orgCase struct {
	body string
	list bool
}

// TestCrossOrganisation tries every method open to an organisation role
// with another organisation's requests, carers, visits, alerts,
// statements and residents, for both roles, on SQLite and PostgreSQL.
// A method added to orgMethods without a case here fails the test.
func TestCrossOrganisation(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			testCrossOrganisation(t, be)
		})
	}
}

func testCrossOrganisation(t *testing.T, be backend) {
	ds := newDispatchServer(t, be)
	ctx := context.Background()
	admin := ds.ctx(t, carehex.RoleAdmin)
	orgs := pb.NewOrganisationServiceJSONClient(ds.url, ds.Client)
	dispatch := pb.NewDispatchServiceJSONClient(ds.url, ds.Client)

	// Organisation B, its two carers, a job one of them holds, an offer to
	// the other, an alert, a statement, a phone and an account.
	created, err := orgs.CreateOrganisation(admin, &pb.CreateOrganisationRequest{Name: "乙养老服务社", Kind: "contractor", Area: []string{"张店区"}})
	if err != nil {
		t.Fatalf("CreateOrganisation: %v", err)
	}
	orgB := created.Organisation.Id
	if _, err := orgs.CreateContract(admin, &pb.CreateContractRequest{Contract: &pb.Contract{OrgId: orgB,
		Services: []string{ds.service().Code}, Unit: "visit", PriceFen: 4000, ValidFromTime: timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}}); err != nil {
		t.Fatalf("CreateContract: %v", err)
	}
	moveTo := func(p *carehex.Provider, org string) {
		t.Helper()
		if err := ds.Store.SetProviderOrganisation(ctx, p.ID, org); err != nil {
			t.Fatal(err)
		}
	}
	pB := ds.provider(t, true)
	moveTo(pB, orgB)
	resB := ds.createResident(t, "赵淑珍", "13800138101")
	heldB := ds.request(t, resB.Id)
	if _, err := dispatch.AssignProvider(admin, &pb.AssignProviderRequest{RequestId: heldB.Id, ProviderId: pB.ID, Reason: "test"}); err != nil {
		t.Fatalf("assign B's job: %v", err)
	}
	pB2 := ds.provider(t, true)
	moveTo(pB2, orgB)
	offeredB := ds.request(t, ds.createResident(t, "钱桂英", "13800138102").Id)
	if o := ds.openOffer(t, offeredB.Id); o.ProviderID != pB2.ID {
		t.Fatalf("B's second request was offered to %s, want %s", o.ProviderID, pB2.ID)
	}
	if _, err := ds.Store.RaiseAlert(ctx, &carehex.Alert{RequestID: heldB.Id, Kind: carehex.ExceptionLateArrival, Message: "late"}); err != nil {
		t.Fatal(err)
	}
	alerts, err := ds.Store.OrgAlerts(ctx, orgB, true, 10)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("B's alerts = %v, %v", alerts, err)
	}
	alertB := alerts[0].ID
	if err := ds.Store.SaveStatement(ctx, &carehex.Statement{OrgID: orgB, Month: "2026-03"}); err != nil {
		t.Fatal(err)
	}
	phoneB, err := ds.providers().IssueDeviceToken(admin, &pb.IssueDeviceTokenRequest{ProviderId: pB.ID})
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := passwordHash()
	userB := &carehex.User{Username: "b-dispatcher", Role: carehex.RoleOrgDispatcher, PasswordHash: hash, OrgID: orgB}
	if err := ds.Store.CreateUser(ctx, userB); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Issue(ctx, ds.Store, carehex.Principal{Kind: carehex.KindUser, Subject: userB.ID, Role: userB.Role}, ds.Clock().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	// The callers' own organisation (the default one): a carer and a
	// request offered to her.
	pA := ds.provider(t, true)
	resA := ds.createResident(t, "孙秀兰", "13800138103")
	ownA := ds.request(t, resA.Id)
	if o := ds.openOffer(t, ownA.Id); o.ProviderID != pA.ID {
		t.Fatalf("own request was offered to %s, want %s", o.ProviderID, pA.ID)
	}

	vars := map[string]string{"$HELD_B": heldB.Id, "$OFFERED_B": offeredB.Id, "$P_B": pB.ID, "$P_A": pA.ID,
		"$OWN_A": ownA.Id, "$ALERT_B": alertB, "$RES_B": resB.Id, "$ORG_B": orgB, "$USER_B": userB.Username,
		"$SKILL": ds.service().RequiredSkill, "$DAY": ds.Clock().In(carehex.CST).Format("2006-01-02")}
	cases := map[string][]orgCase{
		"AuthService/Logout":              nil, // ends the caller's own session only
		"CatalogService/ListServiceTypes": nil, // the district's catalogue, no organisation's data
		"MapService/GetMapConfig":         nil, // the basemap's settings, no organisation's data
		"AccountService/ListSessions":     {{body: `{"username":"$USER_B"}`}},
		"AccountService/EndSession":       {{body: `{"username":"$USER_B","session_id":"x"}`}},
		"AccountService/EndAllSessions":   {{body: `{"username":"$USER_B"}`}},

		"IntakeService/ListServiceRequests": {{body: `{}`, list: true}, {body: `{"resident_id":"$RES_B"}`, list: true}},
		"IntakeService/GetServiceRequest":   {{body: `{"id":"$HELD_B"}`}, {body: `{"id":"$OFFERED_B"}`}},
		"IntakeService/ListRequestEvents":   {{body: `{"request_id":"$HELD_B"}`}},
		"DispatchService/ListRequestOffers": {{body: `{"request_id":"$OFFERED_B"}`}},
		"DispatchService/ListCandidates":    {{body: `{"request_id":"$OFFERED_B"}`}},
		"DispatchService/AssignProvider": {
			{body: `{"request_id":"$OFFERED_B","provider_id":"$P_A","reason":"x"}`},
			{body: `{"request_id":"$OWN_A","provider_id":"$P_B","reason":"x"}`},
		},
		"DispatchService/ListAlerts":       {{body: `{}`, list: true}},
		"DispatchService/AcknowledgeAlert": {{body: `{"id":"$ALERT_B"}`}},

		"ProviderService/ListProviders": {{body: `{"include_inactive":true}`, list: true}, {body: `{"query":"李"}`, list: true}},
		"ProviderService/GetProvider":   {{body: `{"id":"$P_B"}`}},
		"ProviderService/UpdateProvider": {{body: `{"id":"$P_B","name":"改名","phone":"13700000009","skills":["$SKILL"],
			"location":{"lat":36.81,"lng":118.06}}`}},
		"ProviderService/DeactivateProvider": {{body: `{"provider_id":"$P_B","reason":"x"}`}},
		"ProviderService/IssueDeviceToken":   {{body: `{"provider_id":"$P_B"}`}},
		"ProviderService/RevokeDeviceTokens": {{body: `{"provider_id":"$P_B"}`}},
		// A carer created by an organisation joins it, whatever it names.
		"ProviderService/CreateProvider": {{body: `{"name":"周师傅","phone":"13700000010","skills":["$SKILL"],
			"organisation":"乙养老服务社","location":{"lat":36.81,"lng":118.06}}`, list: true}},

		"ResidentService/GetResident": {{body: `{"id":"$RES_B"}`}},

		"OrganisationService/ListOrganisations": {{body: `{}`, list: true}},
		"OrganisationService/GetOrganisation":   {{body: `{"id":"$ORG_B"}`}},
		"OrganisationService/ListContracts":     {{body: `{"org_id":"$ORG_B"}`}},
		"OrganisationService/ListStatements":    {{body: `{"org_id":"$ORG_B"}`}, {body: `{"month":"2026-03"}`, list: true}},
		"OrganisationService/GetStatement":      {{body: `{"org_id":"$ORG_B","month":"2026-03"}`}},

		// The dashboard's organisation slice (the administrator's; the
		// dispatcher is refused all): the city's panels, another's
		// organisation or carer refused; the drill-down of all requests
		// keeps to its own.
		"SuperviseService/GetDashboard": {{body: `{"scope":{"from_date":"$DAY","to_date":"$DAY"},"panels":["counts"]}`},
			{body: `{"scope":{"from_date":"$DAY","to_date":"$DAY"}}`, list: true}},
		"SuperviseService/ListDashboardRecords": {{body: `{"scope":{"from_date":"$DAY","to_date":"$DAY"},"figure":"exception","org_id":"$ORG_B"}`},
			{body: `{"scope":{"from_date":"$DAY","to_date":"$DAY"},"figure":"carer","provider_id":"$P_B"}`},
			{body: `{"scope":{"from_date":"$DAY","to_date":"$DAY"},"figure":"requests"}`, list: true}},

		// Two-tier dispatch (route.go).
		"OrgDispatchService/ListOrgQueue":       {{body: `{"org_id":"$ORG_B"}`}, {body: `{}`, list: true}},
		"OrgDispatchService/SetOrgAutoDispatch": {{body: `{"org_id":"$ORG_B","enabled":true}`}},
		"OrgDispatchService/ListRequestRoutes":  {{body: `{"request_id":"$OFFERED_B"}`}},
		"OrgDispatchService/AssignOrgCarer": {
			{body: `{"request_id":"$OFFERED_B","provider_id":"$P_A"}`},
			{body: `{"request_id":"$OWN_A","provider_id":"$P_B"}`},
		},
	}
	for _, m := range rpc.OrgMethods() {
		if _, ok := cases[m]; !ok {
			t.Errorf("%s is open to organisation roles but has no cross-organisation case here", m)
		}
	}
	// B's IDs that no answer to A may carry.
	secrets := []string{heldB.Id, offeredB.Id, pB.ID, pB2.ID, alertB, resB.Id, orgB}

	call := func(t *testing.T, method, body, token string) reply {
		t.Helper()
		resp, err := ds.Client.Do(newRawRequest(t, ds.url, method, jsonType, []byte(expand(body, vars)), token))
		if err != nil {
			t.Fatalf("POST %s: %v", method, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return parseReply(t, resp.StatusCode, b)
	}
	type bState struct {
		snap      state
		name      string
		active    bool
		alertOpen bool
		offered   carehex.Status
		phoneOK   bool
	}
	stateOfB := func(t *testing.T) bState {
		t.Helper()
		p, err := ds.Store.Provider(ctx, pB.ID)
		if err != nil {
			t.Fatal(err)
		}
		as, err := ds.Store.OrgAlerts(ctx, orgB, true, 10)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ds.Store.ServiceRequest(ctx, offeredB.Id)
		if err != nil {
			t.Fatal(err)
		}
		_, perr := auth.Authenticate(ctx, ds.Store, ds.Clock(), phoneB.Token)
		snap := ds.snapshot(t)
		slices.Sort(snap.Audit) // records of the same microsecond come in either order
		return bState{snap: snap, name: p.Name, active: p.Active, alertOpen: len(as) == 1, offered: q.Status, phoneOK: perr == nil}
	}

	for _, m := range rpc.OrgMethods() {
		for _, c := range cases[m] {
			for _, role := range orgRoles {
				t.Run(m+"/"+string(role), func(t *testing.T) {
					token := ds.issue(t, role)
					before := stateOfB(t)
					got := call(t, m, c.body, token)
					if !c.list || !rpc.RoleMay(m, role) {
						if twirp.ErrorCode(got.Err.Code) != twirp.PermissionDenied {
							t.Errorf("%s: got %s, want permission_denied", c.body, got)
						}
						after := stateOfB(t)
						d := before.snap.diff(after.snap)
						before.snap, after.snap = state{}, state{}
						if d != "" || fmt.Sprint(before) != fmt.Sprint(after) {
							t.Errorf("a refused call changed something: %s\nbefore %+v\nafter  %+v", d, before, after)
						}
						return
					}
					if got.Status != http.StatusOK {
						t.Fatalf("%s: got %s, want an answer", c.body, got)
					}
					for _, id := range secrets {
						if strings.Contains(string(got.Body), id) {
							t.Errorf("%s: the answer carries B's %s: %s", c.body, id, got)
						}
					}
				})
			}
		}
	}

	// Within its own organisation the same calls work: the dispatcher sees
	// only its carer among the candidates and assigns her; the resident is
	// its business while the job lasts and not after.
	disp, adm := ds.ctx(t, carehex.RoleOrgDispatcher), ds.ctx(t, carehex.RoleOrgAdmin)
	cands, err := dispatch.ListCandidates(disp, &pb.ListCandidatesRequest{RequestId: ownA.Id})
	if err != nil {
		t.Fatalf("ListCandidates: %v", err)
	}
	if !slices.ContainsFunc(cands.Candidates, func(c *pb.Candidate) bool { return c.ProviderId == pA.ID }) {
		t.Errorf("candidates %v leave out the organisation's carer", cands.Candidates)
	}
	for _, c := range cands.Candidates {
		if p, err := ds.Store.Provider(ctx, c.ProviderId); err != nil || p.OrgID != carehex.DefaultOrganisationID {
			t.Errorf("candidate %s (%s) is not the organisation's: %v", c.ProviderId, c.ProviderName, err)
		}
	}
	residents := pb.NewResidentServiceJSONClient(ds.url, ds.Client)
	_, err = residents.GetResident(disp, &pb.GetResidentRequest{Id: resA.Id})
	wantCode(t, err, twirp.PermissionDenied, "id") // offered, not yet held
	// An alert about a request merely offered to its carer is the
	// platform's to acknowledge, not the organisation's.
	raise := func(kind string) string {
		t.Helper()
		a := &carehex.Alert{RequestID: ownA.Id, Kind: kind, Message: kind}
		if created, err := ds.Store.RaiseAlert(ctx, a); err != nil || !created {
			t.Fatalf("RaiseAlert(%s) = %v, %v", kind, created, err)
		}
		return a.ID
	}
	_, err = dispatch.AcknowledgeAlert(disp, &pb.AcknowledgeAlertRequest{Id: raise(carehex.AlertUnaccepted)})
	wantCode(t, err, twirp.PermissionDenied, "id")
	if _, err := dispatch.AssignProvider(disp, &pb.AssignProviderRequest{RequestId: ownA.Id, ProviderId: pA.ID, Reason: "派单"}); err != nil {
		t.Fatalf("org dispatcher assigns its own carer: %v", err)
	}
	if _, err := dispatch.AcknowledgeAlert(disp, &pb.AcknowledgeAlertRequest{Id: raise(carehex.ExceptionLateArrival)}); err != nil {
		t.Errorf("the organisation acknowledges its own carer's late arrival: %v", err)
	}
	got, err := residents.GetResident(disp, &pb.GetResidentRequest{Id: resA.Id})
	if err != nil || got.Resident.Address == "" || got.Resident.IdNumber != "" {
		t.Fatalf("GetResident while held = %v, %v; want the address and no ID number", got, err)
	}
	reqs, err := pb.NewIntakeServiceJSONClient(ds.url, ds.Client).ListServiceRequests(disp, &pb.ListServiceRequestsRequest{})
	if err != nil || len(reqs.Requests) != 1 || reqs.Requests[0].Id != ownA.Id || reqs.Requests[0].ProviderId != pA.ID {
		t.Fatalf("own queue = %v, %v; want only its request, with its carer", reqs, err)
	}
	if _, err := ds.intake().CancelServiceRequest(ds.ctx(t, carehex.RoleOperator), &pb.CancelServiceRequestRequest{Id: ownA.Id, Reason: "家属取消"}); err != nil {
		t.Fatal(err)
	}
	_, err = residents.GetResident(disp, &pb.GetResidentRequest{Id: resA.Id})
	wantCode(t, err, twirp.PermissionDenied, "id")

	// The organisation's administrator adds a carer: she joins it.
	np, err := pb.NewProviderServiceJSONClient(ds.url, ds.Client).CreateProvider(adm, &pb.CreateProviderRequest{Name: "吴师傅",
		Phone: "13700000011", Skills: []string{ds.service().RequiredSkill}, Location: zibo})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ds.Store.Provider(ctx, np.Provider.Id); err != nil || p.OrgID != carehex.DefaultOrganisationID {
		t.Errorf("a carer added by the organisation belongs to %v (%v)", p, err)
	}
	if _, err := pb.NewProviderServiceJSONClient(ds.url, ds.Client).IssueDeviceToken(adm, &pb.IssueDeviceTokenRequest{ProviderId: np.Provider.Id}); err != nil {
		t.Errorf("org admin issues its own carer's phone: %v", err)
	}
}
