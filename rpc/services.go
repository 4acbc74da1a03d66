package rpc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/catalog"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"google.golang.org/protobuf/proto"
)

type (
	authService     struct{ *Server }
	residentService struct{ *Server }
	catalogService  struct{ *Server }
	providerService struct{ *Server }
	intakeService   struct{ *Server }
	auditService    struct{ *Server }
)

// audit records a read of personal data; the data is not returned unless the
// read was recorded.
func (s *Server) audit(ctx context.Context, action, objectType, objectID, detail string) error {
	p, _ := carehex.PrincipalFrom(ctx)
	return s.Store.Audit(ctx, &carehex.AuditRecord{
		Actor: p.Actor(), Action: action, ObjectType: objectType, ObjectID: objectID, Detail: detail,
	})
}

// limit applies a default and a cap to a page size.
func limit(n int32, def, max int) int {
	switch {
	case n <= 0:
		return def
	case int(n) > max:
		return max
	}
	return int(n)
}

func requireID(field, id string) error {
	if strings.TrimSpace(id) == "" {
		return carehex.Required(field)
	}
	return nil
}

// --- AuthService

func (s authService) Login(ctx context.Context, req *pb.LoginRequest) (*pb.LoginResponse, error) {
	if req.Username == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "username", "username is required")
	}
	if req.Password == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "password", "password is required")
	}
	logins := auth.Logins{Store: s.Store, Policy: s.LoginPolicy, Hasher: s.Hasher, Log: s.Logger}
	token, u, exp, err := logins.Login(ctx, s.now(), req.Username, req.Password, clientAddrFrom(ctx))
	if err != nil {
		return nil, err
	}
	return &pb.LoginResponse{Token: token, ExpireTime: ts(exp), Role: string(u.Role), UserId: u.ID}, nil
}

func (s authService) Logout(ctx context.Context, _ *pb.LogoutRequest) (*pb.LogoutResponse, error) {
	if err := auth.Revoke(ctx, s.Store, tokenFrom(ctx)); err != nil {
		return nil, err
	}
	return &pb.LogoutResponse{}, nil
}

// --- ResidentService

func residentFromCreate(req *pb.CreateResidentRequest) (*carehex.Resident, error) {
	g, err := genderFromPB("gender", req.Gender)
	if err != nil {
		return nil, err
	}
	prefs, err := preferencesFromPB(req.Preferences)
	if err != nil {
		return nil, err
	}
	if req.Location == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "location", "location is required")
	}
	return &carehex.Resident{
		Name: carehex.Trimmed(req.Name), Phone: carehex.Trimmed(req.Phone), IDNumber: strings.ToUpper(carehex.Trimmed(req.IdNumber)),
		Gender: g, BirthYear: int(req.BirthYear), Address: carehex.Trimmed(req.Address), District: carehex.Trimmed(req.District),
		Street: carehex.Trimmed(req.Street), Community: carehex.Trimmed(req.Community), DivisionCode: carehex.Trimmed(req.DivisionCode),
		Location: latLngFromPB(req.Location), EmergencyContacts: contactsFromPB(req.EmergencyContacts), Preferences: prefs,
	}, nil
}

func (s residentService) CreateResident(ctx context.Context, req *pb.CreateResidentRequest) (*pb.CreateResidentResponse, error) {
	r, err := residentFromCreate(req)
	if err == nil {
		err = s.Store.CreateResident(ctx, r)
	}
	if err != nil {
		return nil, err
	}
	return &pb.CreateResidentResponse{Resident: residentToPB(r)}, nil
}

func (s residentService) UpdateResident(ctx context.Context, req *pb.UpdateResidentRequest) (*pb.UpdateResidentResponse, error) {
	in := req.GetResident()
	if in == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "resident", "resident is required")
	}
	if err := requireID("resident.id", in.Id); err != nil {
		return nil, err
	}
	r, err := residentFromCreate(&pb.CreateResidentRequest{
		Name: in.Name, Phone: in.Phone, Address: in.Address, Location: in.Location, IdNumber: in.IdNumber,
		Gender: in.Gender, BirthYear: in.BirthYear, District: in.District,
		Street: in.Street, Community: in.Community, DivisionCode: in.DivisionCode,
		EmergencyContacts: in.EmergencyContacts, Preferences: in.Preferences,
	})
	if err == nil {
		var stored *carehex.Resident
		if stored, err = s.Store.Resident(ctx, in.Id); err == nil {
			keepMasked(r, stored)
		} else if carehex.ErrorCode(err) == carehex.ENOTFOUND {
			err = carehex.Errorf(carehex.ENOTFOUND, "resident.id", "no resident %q", in.Id)
		}
	}
	if err == nil {
		r.ID = in.Id
		err = s.Store.UpdateResident(ctx, r)
	}
	if err != nil {
		return nil, err
	}
	return &pb.UpdateResidentResponse{Resident: residentToPB(r)}, nil
}

func (s residentService) GetResident(ctx context.Context, req *pb.GetResidentRequest) (*pb.GetResidentResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	if err := s.guardReads(ctx); err != nil {
		return nil, err
	}
	r, err := s.Store.Resident(ctx, req.Id)
	if err == nil {
		err = s.noteReads(ctx, r.ID)
	}
	if err == nil {
		err = s.audit(ctx, "resident.read", "resident", r.ID, "")
	}
	if err != nil {
		return nil, err
	}
	return &pb.GetResidentResponse{Resident: maskResident(residentToPB(r))}, nil
}

func (s residentService) SearchResidents(ctx context.Context, req *pb.SearchResidentsRequest) (*pb.SearchResidentsResponse, error) {
	if err := s.guardReads(ctx); err != nil {
		return nil, err
	}
	rs, err := s.Store.SearchResidents(ctx, carehex.ResidentFilter{Query: req.Query, Limit: limit(req.Limit, 20, 100)})
	if err != nil {
		return nil, err
	}
	out := &pb.SearchResidentsResponse{}
	ids := residentIDs(rs)
	for _, r := range rs {
		out.Residents = append(out.Residents, maskResident(residentToPB(r)))
	}
	if err := s.noteReads(ctx, ids...); err != nil {
		return nil, err
	}
	// One record per search: what was asked and whose records it showed.
	if err := s.audit(ctx, "resident.search", "resident", strings.Join(ids, ","), "query="+req.Query); err != nil {
		return nil, err
	}
	return out, nil
}

func (s residentService) LinkFamilyMember(ctx context.Context, req *pb.LinkFamilyMemberRequest) (*pb.LinkFamilyMemberResponse, error) {
	m := &carehex.FamilyMember{
		ResidentID: carehex.Trimmed(req.ResidentId), Name: carehex.Trimmed(req.Name),
		Phone: carehex.Trimmed(req.Phone), Relation: carehex.Trimmed(req.Relation),
	}
	if err := s.Store.LinkFamilyMember(ctx, m); err != nil {
		return nil, err
	}
	token, err := auth.Issue(ctx, s.Store, carehex.Principal{Kind: carehex.KindFamily, Subject: m.ID, Name: m.Name},
		s.now().Add(s.familyTTL()))
	if err != nil {
		return nil, err
	}
	return &pb.LinkFamilyMemberResponse{FamilyMemberId: m.ID, AccessToken: token}, nil
}

func (s residentService) ListFamilyMembers(ctx context.Context, req *pb.ListFamilyMembersRequest) (*pb.ListFamilyMembersResponse, error) {
	if err := requireID("resident_id", req.ResidentId); err != nil {
		return nil, err
	}
	if err := s.guardReads(ctx); err != nil {
		return nil, err
	}
	if _, err := s.Store.Resident(ctx, req.ResidentId); err != nil {
		if carehex.ErrorCode(err) == carehex.ENOTFOUND {
			err = carehex.Errorf(carehex.ENOTFOUND, "resident_id", "no resident %q", req.ResidentId)
		}
		return nil, err
	}
	ms, err := s.Store.FamilyMembers(ctx, req.ResidentId)
	if err == nil {
		err = s.noteReads(ctx, req.ResidentId)
	}
	if err == nil {
		err = s.audit(ctx, "family.read", "resident", req.ResidentId, "")
	}
	if err != nil {
		return nil, err
	}
	out := &pb.ListFamilyMembersResponse{}
	for _, m := range ms {
		out.FamilyMembers = append(out.FamilyMembers, &pb.FamilyMember{
			Id: m.ID, ResidentId: m.ResidentID, Name: m.Name, Phone: carehex.MaskPhone(m.Phone), Relation: m.Relation, CreateTime: ts(m.CreateTime),
		})
	}
	return out, nil
}

// --- CatalogService

func (s catalogService) ListServiceTypes(ctx context.Context, req *pb.ListServiceTypesRequest) (*pb.ListServiceTypesResponse, error) {
	types, err := s.Store.ServiceTypes(ctx)
	if err != nil {
		return nil, err
	}
	if req.Category != "" && !knownCategory(req.Category) {
		return nil, carehex.Errorf(carehex.EINVALID, "category", "unknown category %q", req.Category)
	}
	out := &pb.ListServiceTypesResponse{}
	for _, t := range types {
		if req.Category == "" || string(t.Category) == req.Category {
			out.ServiceTypes = append(out.ServiceTypes, serviceTypeToPB(t))
		}
	}
	for _, n := range catalog.SkillNames() {
		out.Skills = append(out.Skills, &pb.CatalogName{Code: n.Code, NameZh: n.NameZH, NameEn: n.NameEN})
	}
	for _, n := range catalog.CategoryNames() {
		out.Categories = append(out.Categories, &pb.CatalogName{Code: n.Code, NameZh: n.NameZH, NameEn: n.NameEN})
	}
	return out, nil
}

func knownCategory(c string) bool {
	for _, k := range carehex.Categories {
		if string(k) == c {
			return true
		}
	}
	return false
}

// --- ProviderService

func (s providerService) CreateProvider(ctx context.Context, req *pb.CreateProviderRequest) (*pb.CreateProviderResponse, error) {
	g, err := genderFromPB("gender", req.Gender)
	if err != nil {
		return nil, err
	}
	if req.Location == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "location", "location is required")
	}
	if err := s.knownSkills(ctx, req.Skills); err != nil {
		return nil, err
	}
	p := &carehex.Provider{
		Name: carehex.Trimmed(req.Name), Phone: carehex.Trimmed(req.Phone), Gender: g,
		Skills: req.Skills, Languages: req.Languages, Organisation: carehex.Trimmed(req.Organisation),
		Home: latLngFromPB(req.Location),
	}
	p.OrgID, _ = orgScope(ctx) // an organisation's administrator adds to its own roster (rpc/org.go)
	if err := s.Store.CreateProvider(ctx, p); err != nil {
		return nil, err
	}
	return &pb.CreateProviderResponse{Provider: providerToPB(p)}, nil
}

// knownSkills refuses skills no service type needs: a typo there would make
// a provider silently unmatchable.
func (s providerService) knownSkills(ctx context.Context, skills []string) error {
	types, err := s.Store.ServiceTypes(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, t := range types {
		known[t.RequiredSkill] = true
	}
	for _, sk := range skills {
		if !known[sk] {
			return carehex.Errorf(carehex.EINVALID, "skills", "unknown skill %q: skills are the required_skill values of ListServiceTypes", sk)
		}
	}
	return nil
}

func (s providerService) GetProvider(ctx context.Context, req *pb.GetProviderRequest) (*pb.GetProviderResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	p, err := s.Store.Provider(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return &pb.GetProviderResponse{Provider: providerToPB(p)}, nil
}

func (s providerService) IssueDeviceToken(ctx context.Context, req *pb.IssueDeviceTokenRequest) (*pb.IssueDeviceTokenResponse, error) {
	if err := requireID("provider_id", req.ProviderId); err != nil {
		return nil, err
	}
	p, err := s.Store.Provider(ctx, req.ProviderId)
	if err != nil {
		if carehex.ErrorCode(err) == carehex.ENOTFOUND {
			err = carehex.Errorf(carehex.ENOTFOUND, "provider_id", "no provider %q", req.ProviderId)
		}
		return nil, err
	}
	exp := s.now().Add(carehex.DeviceTTL)
	token, err := auth.Issue(ctx, s.Store, carehex.Principal{Kind: carehex.KindProvider, Subject: p.ID, Name: p.Name}, exp)
	if err != nil {
		return nil, err
	}
	return &pb.IssueDeviceTokenResponse{Token: token, ExpireTime: ts(exp)}, nil
}

func (s providerService) RevokeDeviceTokens(ctx context.Context, req *pb.RevokeDeviceTokensRequest) (*pb.RevokeDeviceTokensResponse, error) {
	if err := requireID("provider_id", req.ProviderId); err != nil {
		return nil, err
	}
	if err := s.Store.RevokeTokensOf(ctx, carehex.KindProvider, req.ProviderId); err != nil {
		return nil, err
	}
	if err := s.offline(ctx, req.ProviderId); err != nil {
		return nil, err
	}
	return &pb.RevokeDeviceTokensResponse{}, nil
}

// --- IntakeService

// fingerprint identifies a request body for idempotency: the same key with
// another body is refused.
func fingerprint(m proto.Message) (string, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return "", carehex.Internal(err, "fingerprint")
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Intake is the IntakeService implementation without its Twirp transport
// (and without the edge's authentication and role check, which the caller
// must do): `carehex bench load` serves it behind plain net/http to show
// what Twirp costs. Its errors are mapped as the Twirp handler maps them.
func (s *Server) Intake() pb.IntakeService { return mappedIntake{intakeService{s}} }

// mappedIntake maps IntakeService's errors as the interceptor does, for
// calls that bypass the Twirp handler that would apply it.
type mappedIntake struct{ in intakeService }

// mappedResult is the interceptor's mapping for a direct call's result.
func mappedResult[R any](ctx context.Context, s *Server, out *R, err error) (*R, error) {
	if err != nil {
		return nil, toTwirp(ctx, s.Logger, err)
	}
	return out, nil
}

func (m mappedIntake) CreateServiceRequest(ctx context.Context, req *pb.CreateServiceRequestRequest) (*pb.CreateServiceRequestResponse, error) {
	out, err := m.in.CreateServiceRequest(ctx, req)
	return mappedResult(ctx, m.in.Server, out, err)
}

func (m mappedIntake) GetServiceRequest(ctx context.Context, req *pb.GetServiceRequestRequest) (*pb.GetServiceRequestResponse, error) {
	out, err := m.in.GetServiceRequest(ctx, req)
	return mappedResult(ctx, m.in.Server, out, err)
}

func (m mappedIntake) ListServiceRequests(ctx context.Context, req *pb.ListServiceRequestsRequest) (*pb.ListServiceRequestsResponse, error) {
	out, err := m.in.ListServiceRequests(ctx, req)
	return mappedResult(ctx, m.in.Server, out, err)
}

func (m mappedIntake) CancelServiceRequest(ctx context.Context, req *pb.CancelServiceRequestRequest) (*pb.CancelServiceRequestResponse, error) {
	out, err := m.in.CancelServiceRequest(ctx, req)
	return mappedResult(ctx, m.in.Server, out, err)
}

func (m mappedIntake) ListRequestEvents(ctx context.Context, req *pb.ListRequestEventsRequest) (*pb.ListRequestEventsResponse, error) {
	out, err := m.in.ListRequestEvents(ctx, req)
	return mappedResult(ctx, m.in.Server, out, err)
}

func (m mappedIntake) RecordEscalationStep(ctx context.Context, req *pb.RecordEscalationStepRequest) (*pb.RecordEscalationStepResponse, error) {
	out, err := m.in.RecordEscalationStep(ctx, req)
	return mappedResult(ctx, m.in.Server, out, err)
}

func (m mappedIntake) GetActiveCall(ctx context.Context, req *pb.GetActiveCallRequest) (*pb.GetActiveCallResponse, error) {
	out, err := m.in.GetActiveCall(ctx, req)
	return mappedResult(ctx, m.in.Server, out, err)
}

func (s intakeService) CreateServiceRequest(ctx context.Context, req *pb.CreateServiceRequestRequest) (*pb.CreateServiceRequestResponse, error) {
	r, err := s.requestFromPB(req)
	if err != nil {
		return nil, err
	}
	fp, err := fingerprint(req)
	if err != nil {
		return nil, err
	}
	out, replayed, err := s.Store.CreateServiceRequestWith(ctx, r, fp)
	if err != nil {
		return nil, err
	}
	if !replayed {
		// Offer it at once (an emergency must not wait for the next tick),
		// with what the create read; the answer still shows the status the
		// operator's call committed.
		s.dispatchNew(ctx, out)
	}
	return &pb.CreateServiceRequestResponse{Request: requestToPB(out.Request), Replayed: replayed}, nil
}

func (s intakeService) requestFromPB(req *pb.CreateServiceRequestRequest) (*carehex.ServiceRequest, error) {
	if err := requireID("resident_id", req.ResidentId); err != nil {
		return nil, err
	}
	u, err := urgencyFromPB(req.Urgency)
	if err != nil {
		return nil, err
	}
	start, err := timeFromPB("window_start_time", req.WindowStartTime)
	if err != nil {
		return nil, err
	}
	end, err := timeFromPB("window_end_time", req.WindowEndTime)
	if err != nil {
		return nil, err
	}
	r := &carehex.ServiceRequest{
		ResidentID: carehex.Trimmed(req.ResidentId), ServiceCode: carehex.Trimmed(req.ServiceCode), Urgency: u,
		Notes: req.Notes, WindowStart: start, WindowEnd: end, IdempotencyKey: req.IdempotencyKey,
		CallID: carehex.Trimmed(req.CallId),
	}
	// The store validates r after looking up its idempotency key, so a retry
	// of a request whose window has since passed still gets its first answer.
	return r, nil
}

func (s intakeService) GetServiceRequest(ctx context.Context, req *pb.GetServiceRequestRequest) (*pb.GetServiceRequestResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	r, err := s.Store.ServiceRequest(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	es, err := s.Store.RequestEvents(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	out := requestToPB(r)
	if err := s.attachRecording(ctx, out); err != nil {
		return nil, err
	}
	if err := s.nameCarers(ctx, []*pb.ServiceRequest{out}); err != nil {
		return nil, err
	}
	events, err := s.describeEvents(ctx, r.ID, es)
	if err != nil {
		return nil, err
	}
	return &pb.GetServiceRequestResponse{Request: out, Events: events}, nil
}

func (s intakeService) ListServiceRequests(ctx context.Context, req *pb.ListServiceRequestsRequest) (*pb.ListServiceRequestsResponse, error) {
	f := carehex.RequestFilter{ResidentID: req.ResidentId, Limit: limit(req.Limit, 50, 500)}
	f.OrgID, _ = orgScope(ctx) // an organisation account lists its own (rpc/org.go)
	for _, status := range req.Statuses {
		v, err := statusFromPB("statuses", status)
		if err != nil {
			return nil, err
		}
		f.Statuses = append(f.Statuses, v)
	}
	rs, err := s.Store.ServiceRequests(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &pb.ListServiceRequestsResponse{}
	for _, r := range rs {
		out.Requests = append(out.Requests, requestToPB(r))
	}
	if err := s.nameCarers(ctx, out.Requests); err != nil {
		return nil, err
	}
	return out, nil
}

func (s intakeService) CancelServiceRequest(ctx context.Context, req *pb.CancelServiceRequestRequest) (*pb.CancelServiceRequestResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	reason, err := carehex.CancelReason(req.ReasonCode, req.Reason)
	if err != nil {
		return nil, err
	}
	r, err := s.transition(ctx, req.Id, carehex.StatusCancelled, reason)
	if err != nil {
		return nil, err
	}
	return &pb.CancelServiceRequestResponse{Request: requestToPB(r)}, nil
}

func (s intakeService) ListRequestEvents(ctx context.Context, req *pb.ListRequestEventsRequest) (*pb.ListRequestEventsResponse, error) {
	if err := requireID("request_id", req.RequestId); err != nil {
		return nil, err
	}
	if _, err := s.Store.ServiceRequest(ctx, req.RequestId); err != nil {
		if carehex.ErrorCode(err) == carehex.ENOTFOUND {
			err = carehex.Errorf(carehex.ENOTFOUND, "request_id", "no service request %q", req.RequestId)
		}
		return nil, err
	}
	es, err := s.Store.RequestEvents(ctx, req.RequestId)
	if err != nil {
		return nil, err
	}
	events, err := s.describeEvents(ctx, req.RequestId, es)
	if err != nil {
		return nil, err
	}
	return &pb.ListRequestEventsResponse{Events: events}, nil
}

// --- AuditService

func (s auditService) ListAuditRecords(ctx context.Context, req *pb.ListAuditRecordsRequest) (*pb.ListAuditRecordsResponse, error) {
	recs, err := s.Store.AuditRecords(ctx, carehex.AuditFilter{ObjectID: req.ObjectId, Actor: req.Actor, Limit: limit(req.Limit, 100, 1000)})
	if err != nil {
		return nil, err
	}
	out := &pb.ListAuditRecordsResponse{}
	for _, a := range recs {
		out.Records = append(out.Records, auditToPB(a))
	}
	return out, nil
}
