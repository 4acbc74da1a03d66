package rpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Public lists the methods callable without a token.
var Public = map[string]bool{
	"AuthService/Login": true,
}

var (
	staff     = []carehex.Role{carehex.RoleOperator, carehex.RoleSupervisor, carehex.RoleAdmin}
	writers   = []carehex.Role{carehex.RoleOperator, carehex.RoleAdmin}
	overseers = []carehex.Role{carehex.RoleSupervisor, carehex.RoleAdmin}
	admins    = []carehex.Role{carehex.RoleAdmin}
)

// Access is the role table: for every authenticated method, the console roles
// that may call it. A method missing here is refused to everyone (fail
// closed), and provider or family tokens call no Twirp method at all: their
// API is the mobile API.
var Access = map[string][]carehex.Role{
	"AuthService/Logout": staff,

	"ResidentService/CreateResident":     writers,
	"ResidentService/UpdateResident":     writers,
	"ResidentService/GetResident":        staff,
	"ResidentService/SearchResidents":    staff,
	"ResidentService/LinkFamilyMember":   writers,
	"ResidentService/ListFamilyMembers":  staff,
	"ResidentService/UnlinkFamilyMember": writers,
	// Issue 10: the hotline stops serving a resident (moved away, deceased).
	"ResidentService/DeactivateResident": writers,
	// Supervisors oversee; they do not call residents, so they see numbers
	// masked only.
	"ResidentService/RevealResidentField": writers,

	"CatalogService/ListServiceTypes": staff,

	"ProviderService/CreateProvider":     writers,
	"ProviderService/GetProvider":        staff,
	"ProviderService/ListProviders":      staff,
	"ProviderService/IssueDeviceToken":   writers,
	"ProviderService/RevokeDeviceTokens": writers,
	"ProviderService/UpdateProvider":     writers,
	"ProviderService/DeactivateProvider": writers,

	"IntakeService/CreateServiceRequest": writers,
	"IntakeService/GetServiceRequest":    staff,
	"IntakeService/ListServiceRequests":  staff,
	"IntakeService/CancelServiceRequest": writers,
	"IntakeService/ListRequestEvents":    staff,
	"IntakeService/GetActiveCall":        writers, // the screen pop of the operator taking calls
	// Issue 10: what the operator did about an emergency nobody accepted.
	"IntakeService/RecordEscalationStep": writers,

	"AuditService/ListAuditRecords": overseers,
	"AuditService/ListAccessAlerts": overseers,

	"DispatchService/ListCandidates":    staff,
	"DispatchService/AssignProvider":    writers,
	"DispatchService/ListRequestOffers": staff,
	"DispatchService/ListAlerts":        staff,
	"DispatchService/AcknowledgeAlert":  writers,
	"DispatchService/MarkUnfilled":      writers,
	"DispatchService/RetryDispatch":     writers,
	"DispatchService/GetDispatchMap":    staff,

	"MapService/GetMapConfig":   staff,
	"MapService/GeocodeAddress": writers, // registering a resident is an operator's task
	// Planned care (issue 11): operators and admins plan and roster;
	// supervisors read. Families see their relative's upcoming visits
	// through the mobile API, providers their own through their day list.
	"PlanService/CreateCarePlan":    writers,
	"PlanService/GetCarePlan":       staff,
	"PlanService/ListCarePlans":     staff,
	"PlanService/UpdatePlanItem":    writers,
	"PlanService/EditPlannedVisit":  writers,
	"PlanService/PauseCarePlan":     writers,
	"PlanService/ResumeCarePlan":    writers,
	"PlanService/ListPlannedVisits": staff,
	"PlanService/SetWorkingHours":   writers,
	"PlanService/GetWorkingHours":   staff,
	"PlanService/RunRoster":         writers,
	// The roster view (issue 11's console): a day of every carer, read only.
	"RosterViewService/GetRosterDay": staff,

	// Organisations, contracts and statements (issue 12): platform admins
	// keep them; supervisors read; the organisation roles are held to
	// their own in orgMethods (org.go).
	"OrganisationService/ListOrganisations":  staff,
	"OrganisationService/GetOrganisation":    staff,
	"OrganisationService/CreateOrganisation": admins,
	"OrganisationService/UpdateOrganisation": admins,
	"OrganisationService/CreateContract":     admins,
	"OrganisationService/ListContracts":      staff,
	"OrganisationService/ListStatements":     overseers,
	"OrganisationService/GetStatement":       overseers,

	// Two-tier dispatch (issue 12, route.go): the platform's staff read
	// every organisation's queue and routings, operators re-route, admins
	// may switch an organisation's auto-dispatch; an organisation's own
	// accounts are in orgMethods (org.go). AssignOrgCarer is the
	// organisation dispatcher's alone: listed here for admins only so the
	// table names it, and refused by the handler to any platform account.
	"OrgDispatchService/ListOrgQueue":       staff,
	"OrgDispatchService/AssignOrgCarer":     admins,
	"OrgDispatchService/SetOrgAutoDispatch": admins,
	"OrgDispatchService/ListRequestRoutes":  staff,
	"OrgDispatchService/RerouteRequest":     writers,
	// Planned-care changes and visiting programmes (issue 11): operators
	// and admins take a carer's sick day or "can't do" and set the
	// programmes; supervisors read the compliance too.
	"PlanCareService/MarkCarerSick":          writers,
	"PlanCareService/MarkCantDo":             writers,
	"PlanCareService/SetVisitProgramme":      writers,
	"PlanCareService/ListVisitProgrammes":    staff,
	"PlanCareService/GetProgrammeCompliance": staff,

	// Callbacks and complaints (issue 13, quality.go): operators and
	// admins call back and log complaints; supervisors read.
	"QualityService/ListCallbacks":     staff,
	"QualityService/ClaimCallback":     writers,
	"QualityService/RecordCallback":    writers,
	"QualityService/CreateComplaint":   writers,
	"QualityService/GetComplaint":      staff,
	"QualityService/ListComplaints":    staff,
	"QualityService/MoveComplaint":     writers,
	"QualityService/GetQualitySummary": staff,
	// The supervisor's dashboard (issue 13, supervise.go): read-only, not for operators.
	"SuperviseService/GetDashboard":         overseers,
	"SuperviseService/ListDashboardRecords": overseers,
	"SuperviseService/ListDashboardAreas":   overseers,

	// Sessions: each method checks that a non-admin names only themselves.
	"AccountService/UnlockLogin":    admins,
	"AccountService/DisableUser":    admins,
	"AccountService/EnableUser":     admins,
	"AccountService/ListSessions":   staff,
	"AccountService/EndSession":     staff,
	"AccountService/EndAllSessions": staff,

	// Evidence and fraud signals (issue 12): supervisors read flags and
	// photos, operators and admins rule on flags, admins set contracts.
	"FraudService/ListFraudFlags":    staff,
	"FraudService/ReviewFraudFlag":   writers,
	"FraudService/ListVisitPhotos":   staff,
	"FraudService/GetVisitPhoto":     staff,
	"FraudService/SetContractPhotos": admins,
	// Settlement's finance view (issue 12, wt/cardscan): the district's
	// supervisors and admins read statements (OrganisationService) and
	// export them, admins settle them; the operator rules on a visit's EVV
	// exceptions (approve with a reason, or reject) from its alert, as an
	// admin may from the finance view; the operator sees a resident's
	// allowance at intake and prints the resident's service card (every
	// ruling and print is in the trail).
	"FinanceService/ExportStatement":  overseers,
	"FinanceService/SettleMonth":      admins,
	"FinanceService/ReviewVisit":      writers,
	"FinanceService/GetAllowance":     staff,
	"FinanceService/PrintServiceCard": writers,
}

// MaxBodyBytes bounds a Twirp request body.
const MaxBodyBytes = 64 << 10

const protoPackage = "carehex.v1."

// edge authenticates every call, checks the role table, bounds the body and
// decodes it once so that bad input gets invalid_argument naming the field
// before any service code runs. Then the Twirp handler runs with the
// principal in the context.
func (s *Server) edge(next http.Handler, tel *telemetry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answers carry residents' personal data; errors too say what exists.
		// No cache, shared or private, may keep any of them.
		w.Header().Set("Cache-Control", "no-store")
		service, method, ok := splitPath(r.URL.Path)
		if !ok || r.Method != http.MethodPost {
			next.ServeHTTP(w, r) // Twirp answers bad_route
			return
		}
		name := service + "/" + method
		md := methodDescriptor(service, method)
		if md == nil {
			next.ServeHTTP(w, r)
			return
		}
		ctx := withLang(withClientAddr(r.Context(), clientAddr(r, s.TrustForwardedFor)), r.Header.Get("Accept-Language"))
		start := time.Now()
		refuse := func(err error) {
			var te twirp.Error
			if m := (*errMalformed)(nil); errors.As(err, &m) {
				te = twirp.NewError(twirp.Malformed, m.msg)
			} else {
				te = toTwirp(ctx, s.Logger, err)
			}
			if werr := twirp.WriteError(w, te); werr != nil {
				tel.log.Warn("rpc.write_error", "err", werr)
			}
			tel.observe(ctx, name, strconv.Itoa(twirp.ServerHTTPStatusFromErrorCode(te.Code())), time.Since(start))
		}
		if !Public[name] {
			token, err := auth.BearerToken(r.Header)
			if err != nil {
				refuse(err)
				return
			}
			p, err := auth.Authenticate(ctx, s.Store, s.now(), token)
			if err != nil {
				refuse(err)
				return
			}
			if err := allowed(name, p); err != nil {
				refuse(err)
				return
			}
			ctx = carehex.WithPrincipal(ctx, p)
			ctx = withToken(ctx, token)
		}
		body, err := readBody(w, r)
		if err == nil {
			err = decodeCheck(r.Header.Get("Content-Type"), body, md.Input())
		}
		if err != nil {
			refuse(err)
			return
		}
		r = r.WithContext(ctx)
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// allowed applies the role table to p for method name.
func allowed(name string, p carehex.Principal) error {
	if p.Kind != carehex.KindUser {
		return carehex.Errorf(carehex.EFORBIDDEN, "", "%s tokens cannot call %s; use the mobile API", p.Kind, name).
			With(carehex.MsgForbiddenToken, "kind", p.Kind, "method", name)
	}
	if RoleMay(name, p.Role) {
		return nil
	}
	return carehex.Errorf(carehex.EFORBIDDEN, "", "role %s may not call %s", p.Role, name).
		With(carehex.MsgForbiddenRole, "role", p.Role, "method", name)
}

func splitPath(path string) (service, method string, ok bool) {
	rest, found := strings.CutPrefix(path, "/twirp/"+protoPackage)
	if !found {
		return "", "", false
	}
	service, method, ok = strings.Cut(rest, "/")
	return service, method, ok && service != "" && method != "" && !strings.Contains(method, "/")
}

func methodDescriptor(service, method string) protoreflect.MethodDescriptor {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(protoPackage + service))
	if err != nil {
		return nil
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil
	}
	return sd.Methods().ByName(protoreflect.Name(method))
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, carehex.Errorf(carehex.EINVALID, "body", "request body is larger than %d bytes", MaxBodyBytes)
	case err != nil:
		return nil, carehex.Errorf(carehex.EINVALID, "body", "request body could not be read")
	}
	return body, nil
}

// protojson names the field at fault in messages such as
// `invalid value for enum field urgency: "URGENCY_X"` or `unknown field "x"`.
var fieldInError = regexp.MustCompile(`\bfield "?([A-Za-z_][A-Za-z0-9_]*)"?`)

// decodeCheck decodes body as the method's input, the way Twirp will, and
// turns a failure into invalid_argument naming the field where it can.
func decodeCheck(contentType string, body []byte, input protoreflect.MessageDescriptor) error {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(input.FullName())
	if err != nil {
		return carehex.Internal(err, "find input type")
	}
	msg := mt.New().Interface()
	ct, _, _ := strings.Cut(contentType, ";")
	switch strings.TrimSpace(strings.ToLower(ct)) {
	case "application/json":
		if !jsonObject(body) {
			return &errMalformed{fmt.Sprintf("request body is not a JSON object (a %s)", input.Name())}
		}
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, msg)
		if err == nil {
			return checkEnums(body, input)
		}
	case "application/protobuf":
		if err = proto.Unmarshal(body, msg); err != nil {
			return &errMalformed{fmt.Sprintf("request body is not a protobuf %s", input.Name())}
		}
		return nil
	default:
		return nil // Twirp answers bad_route for other content types
	}
	field := "body"
	if m := fieldInError.FindStringSubmatch(err.Error()); m != nil {
		// protojson may name the field in its JSON (camelCase) spelling; answer
		// with the proto name, as everywhere else.
		fields := input.Fields()
		fd := fields.ByJSONName(m[1])
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(m[1]))
		}
		if fd != nil {
			field = string(fd.Name())
		}
	}
	// protojson's messages start with "proto: (line 1:12): ..."; keep the part after the position.
	msgText := err.Error()
	if i := strings.LastIndex(msgText, "): "); i >= 0 {
		msgText = msgText[i+3:]
	}
	msgText = strings.TrimPrefix(msgText, "proto: ")
	return carehex.Errorf(carehex.EINVALID, field, "request body is not a valid %s: %s", input.Name(), msgText)
}
