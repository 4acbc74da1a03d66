package rpc_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/rpc"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

const (
	jsonType  = "application/json"
	protoType = "application/protobuf"
)

// state is what a refused call must leave as it was.
type state struct {
	Audit     []string // "action object_id", newest first
	Requests  []string
	Providers []string
}

// snapshot reads the state through the API as a supervisor; none of the
// calls it makes writes anything.
func (ts *testServer) snapshot(tb testing.TB) state {
	tb.Helper()
	ctx := ts.ctx(tb, carehex.RoleSupervisor)
	var s state
	recs, err := ts.audit().ListAuditRecords(ctx, &pb.ListAuditRecordsRequest{Limit: 1000})
	if err != nil {
		tb.Fatalf("list audit records: %v", err)
	}
	for _, r := range recs.Records {
		s.Audit = append(s.Audit, r.Action+" "+r.ObjectId)
	}
	reqs, err := ts.intake().ListServiceRequests(ctx, &pb.ListServiceRequestsRequest{Limit: 500})
	if err != nil {
		tb.Fatalf("list service requests: %v", err)
	}
	for _, r := range reqs.Requests {
		s.Requests = append(s.Requests, r.Id+" "+r.Status.String())
	}
	provs, err := ts.providers().ListProviders(ctx, &pb.ListProvidersRequest{Limit: 1000})
	if err != nil {
		tb.Fatalf("list providers: %v", err)
	}
	for _, p := range provs.Providers {
		s.Providers = append(s.Providers, p.Id)
	}
	return s
}

func (s state) diff(after state) string {
	var b strings.Builder
	for _, f := range []struct {
		name          string
		before, after []string
	}{{"audit records", s.Audit, after.Audit}, {"requests", s.Requests, after.Requests}, {"providers", s.Providers, after.Providers}} {
		if !slices.Equal(f.before, f.after) {
			fmt.Fprintf(&b, "%s changed:\n  before %q\n  after  %q\n", f.name, f.before, f.after)
		}
	}
	return b.String()
}

// TestBadInput proves invariant 6 at the Twirp edge: bad input gets
// invalid_argument (or not_found) naming the field, and changes nothing.
func TestBadInput(t *testing.T) {
	const (
		resident = "$RESIDENT"
		service  = "$SERVICE"
	)
	validRequest := func(extra string) string {
		return `{"resident_id":"` + resident + `","service_code":"` + service + `","urgency":"URGENCY_SOON"` + extra + `}`
	}
	residentBody := func(fields string) string {
		return `{"name":"王秀英","phone":"13800138000","address":"淄博市张店区人民西路 1 号"` + fields + `}`
	}
	tests := []struct {
		name        string
		method      string
		contentType string // JSON when empty
		body        string
		code        twirp.ErrorCode
		argument    string // meta "argument"; not checked when empty
	}{
		// ResidentService/CreateResident
		{"resident lat 91", "ResidentService/CreateResident", "", residentBody(`,"location":{"lat":91,"lng":118}`), twirp.InvalidArgument, "location.lat"},
		{"resident lng 181", "ResidentService/CreateResident", "", residentBody(`,"location":{"lat":36,"lng":181}`), twirp.InvalidArgument, "location.lng"},
		{"resident lat NaN", "ResidentService/CreateResident", "", residentBody(`,"location":{"lat":"NaN","lng":118}`), twirp.InvalidArgument, "location"},
		{"resident empty name", "ResidentService/CreateResident", "",
			`{"name":"  ","phone":"13800138000","address":"淄博","location":{"lat":36.8,"lng":118}}`, twirp.InvalidArgument, "name"},
		{"resident missing location", "ResidentService/CreateResident", "", residentBody(``), twirp.InvalidArgument, "location"},
		{"resident bad phone", "ResidentService/CreateResident", "",
			`{"name":"王秀英","phone":"abc","address":"淄博","location":{"lat":36.8,"lng":118}}`, twirp.InvalidArgument, "phone"},
		{"resident bad gender number", "ResidentService/CreateResident", "", residentBody(`,"location":{"lat":36.8,"lng":118},"gender":7`), twirp.InvalidArgument, "gender"},

		// IntakeService/CreateServiceRequest
		{"unknown service code", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"` + resident + `","service_code":"NO-SUCH-SERVICE","urgency":"URGENCY_SOON"}`, twirp.InvalidArgument, "service_code"},
		{"unknown resident", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"res_nosuchresident","service_code":"` + service + `","urgency":"URGENCY_SOON"}`, twirp.NotFound, "resident_id"},
		{"missing resident", "IntakeService/CreateServiceRequest", "",
			`{"service_code":"` + service + `","urgency":"URGENCY_SOON"}`, twirp.InvalidArgument, "resident_id"},
		{"unknown urgency name", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"` + resident + `","service_code":"` + service + `","urgency":"URGENCY_BOGUS"}`, twirp.InvalidArgument, "urgency"},
		{"unknown urgency number", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"` + resident + `","service_code":"` + service + `","urgency":99}`, twirp.InvalidArgument, "urgency"},
		{"urgency unspecified", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"` + resident + `","service_code":"` + service + `","urgency":"URGENCY_UNSPECIFIED"}`, twirp.InvalidArgument, "urgency"},
		{"urgency missing", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"` + resident + `","service_code":"` + service + `"}`, twirp.InvalidArgument, "urgency"},
		{"scheduled without window", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"` + resident + `","service_code":"` + service + `","urgency":"URGENCY_SCHEDULED"}`, twirp.InvalidArgument, "window_start_time"},
		{"scheduled without window end", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"` + resident + `","service_code":"` + service + `","urgency":"URGENCY_SCHEDULED","window_start_time":"$IN2H"}`,
			twirp.InvalidArgument, "window_end_time"},
		{"window ends before it starts", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"` + resident + `","service_code":"` + service + `","urgency":"URGENCY_SCHEDULED",` +
				`"window_start_time":"$IN2H","window_end_time":"$IN1H"}`, twirp.InvalidArgument, "window_end_time"},
		{"window on a non-scheduled request", "IntakeService/CreateServiceRequest", "",
			validRequest(`,"window_start_time":"$IN1H","window_end_time":"$IN2H"`), twirp.InvalidArgument, "window_start_time"},
		{"malformed JSON", "IntakeService/CreateServiceRequest", "", `{"resident_id":`, twirp.Malformed, ""},
		{"JSON array", "IntakeService/CreateServiceRequest", "", `[]`, twirp.Malformed, ""},
		{"empty body", "IntakeService/CreateServiceRequest", "", ``, twirp.Malformed, ""},
		{"body over the limit", "IntakeService/CreateServiceRequest", "",
			validRequest(`,"notes":"` + strings.Repeat("a", rpc.MaxBodyBytes) + `"`), twirp.InvalidArgument, "body"},
		{"notes over 2000 characters", "IntakeService/CreateServiceRequest", "",
			validRequest(`,"notes":"` + strings.Repeat("老", carehex.MaxTextLen+1) + `"`), twirp.InvalidArgument, "notes"},
		{"notes with NUL", "IntakeService/CreateServiceRequest", "", validRequest(`,"notes":"a\u0000b"`), twirp.InvalidArgument, "notes"},
		{"idempotency key over 200 bytes", "IntakeService/CreateServiceRequest", "",
			validRequest(`,"idempotency_key":"` + strings.Repeat("k", 201) + `"`), twirp.InvalidArgument, "idempotency_key"},
		{"urgency of the wrong JSON type", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"` + resident + `","service_code":"` + service + `","urgency":{}}`, twirp.InvalidArgument, "urgency"},
		{"resident_id of the wrong JSON type", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":5,"service_code":"` + service + `","urgency":"URGENCY_SOON"}`, twirp.InvalidArgument, "resident_id"},
		{"window that is not a time", "IntakeService/CreateServiceRequest", "",
			`{"resident_id":"` + resident + `","service_code":"` + service + `","urgency":"URGENCY_SCHEDULED","window_start_time":"tomorrow"}`,
			twirp.InvalidArgument, ""},
		{"protobuf garbage", "IntakeService/CreateServiceRequest", protoType, "\xff\xff\xff\xff", twirp.Malformed, ""},
		{"protobuf string that is not UTF-8", "IntakeService/CreateServiceRequest", protoType, "\x0a\x02\xff\xfe", twirp.Malformed, ""},

		{"JSON that is not JSON", "IntakeService/CreateServiceRequest", "", `resident_id=1`, twirp.Malformed, ""},
		{"JSON with a trailing second object", "IntakeService/CreateServiceRequest", "", validRequest(``) + `{}`, twirp.Malformed, ""},

		// Unknown enum names are refused, never read as "unspecified".
		{"status filter typo", "IntakeService/ListServiceRequests", "", `{"statuses":["REQUEST_STATUS_COMPLETD"]}`, twirp.InvalidArgument, "statuses"},
		{"status filter typo after a good one", "IntakeService/ListServiceRequests", "",
			`{"statuses":["REQUEST_STATUS_PENDING","REQUEST_STATUS_COMPLETD"]}`, twirp.InvalidArgument, "statuses"},
		{"resident gender typo", "ResidentService/CreateResident", "", residentBody(`,"location":{"lat":36.8,"lng":118},"gender":"GENDER_FEMAL"`), twirp.InvalidArgument, "gender"},
		{"urgency typo beside an unknown field", "IntakeService/CreateServiceRequest", "",
			`{"no_such_field":1,"resident_id":"` + resident + `","service_code":"` + service + `","urgency":"URGENCY_SOONER"}`, twirp.InvalidArgument, "urgency"},

		// Names and addresses are one line of text that displays as stored.
		{"resident name with a bell", "ResidentService/CreateResident", "",
			`{"name":"王\u0007秀英","phone":"13800138000","address":"淄博","location":{"lat":36.8,"lng":118}}`, twirp.InvalidArgument, "name"},
		{"resident name with a newline", "ResidentService/CreateResident", "",
			`{"name":"王秀英\n李四","phone":"13800138000","address":"淄博","location":{"lat":36.8,"lng":118}}`, twirp.InvalidArgument, "name"},
		{"resident name with right-to-left override", "ResidentService/CreateResident", "",
			`{"name":"王\u202e英秀","phone":"13800138000","address":"淄博","location":{"lat":36.8,"lng":118}}`, twirp.InvalidArgument, "name"},
		{"resident address with a first-strong isolate", "ResidentService/CreateResident", "",
			`{"name":"王秀英","phone":"13800138000","address":"淄博\u2068张店","location":{"lat":36.8,"lng":118}}`, twirp.InvalidArgument, "address"},
		{"family member name with a newline", "ResidentService/LinkFamilyMember", "",
			`{"resident_id":"` + resident + `","name":"王\n强","phone":"13900139000","relation":"son"}`, twirp.InvalidArgument, "name"},
		{"provider name with a left-to-right override", "ProviderService/CreateProvider", "",
			`{"name":"\u202d李师傅","phone":"13700137000","skills":["$SKILL"],"location":{"lat":36.8,"lng":118}}`, twirp.InvalidArgument, "name"},

		// ID numbers: GB 11643-1999's check digit, and one resident per number.
		{"id number with a wrong check digit", "ResidentService/CreateResident", "",
			residentBody(`,"location":{"lat":36.8,"lng":118},"id_number":"370303194503120028"`), twirp.InvalidArgument, "id_number"},
		{"15-digit id number", "ResidentService/CreateResident", "",
			residentBody(`,"location":{"lat":36.8,"lng":118},"id_number":"370303450312002"`), twirp.InvalidArgument, "id_number"},
		{"id number another resident has", "ResidentService/CreateResident", "",
			residentBody(`,"location":{"lat":36.8,"lng":118},"id_number":"$IDNUMBER"`), twirp.AlreadyExists, "id_number"},

		// Paths that name no method answer Twirp's bad_route, in JSON.
		{"unknown service", "NoSuchService/CreateServiceRequest", "", validRequest(``), twirp.BadRoute, ""},
		{"unknown method", "IntakeService/NoSuchMethod", "", validRequest(``), twirp.BadRoute, ""},

		// ProviderService/CreateProvider
		{"provider unknown skill", "ProviderService/CreateProvider", "",
			`{"name":"李师傅","phone":"13700137000","skills":["juggling"],"location":{"lat":36.8,"lng":118}}`, twirp.InvalidArgument, "skills"},
		{"provider no skills", "ProviderService/CreateProvider", "",
			`{"name":"李师傅","phone":"13700137000","location":{"lat":36.8,"lng":118}}`, twirp.InvalidArgument, "skills"},

		// ResidentService/LinkFamilyMember
		{"family unknown resident", "ResidentService/LinkFamilyMember", "",
			`{"resident_id":"res_nosuchresident","name":"王强","phone":"13900139000","relation":"son"}`, twirp.NotFound, "resident_id"},
		{"family bad phone", "ResidentService/LinkFamilyMember", "",
			`{"resident_id":"` + resident + `","name":"王强","phone":"12","relation":"son"}`, twirp.InvalidArgument, "phone"},

		// IntakeService reads and cancellation
		{"get unknown request", "IntakeService/GetServiceRequest", "", `{"id":"req_nosuchrequest"}`, twirp.NotFound, ""},
		{"get without id", "IntakeService/GetServiceRequest", "", `{}`, twirp.InvalidArgument, "id"},
		{"cancel without reason", "IntakeService/CancelServiceRequest", "", `{"id":"$REQUEST"}`, twirp.InvalidArgument, "reason"},
		{"cancel with a blank reason", "IntakeService/CancelServiceRequest", "", `{"id":"$REQUEST","reason":"   "}`, twirp.InvalidArgument, "reason"},
		{"cancel unknown request", "IntakeService/CancelServiceRequest", "", `{"id":"req_nosuchrequest","reason":"x"}`, twirp.NotFound, ""},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ts := newServer(t, be)
			res := ts.createResident(t, "王秀英", "13800138000")
			req, err := ts.intake().CreateServiceRequest(ts.ctx(t, carehex.RoleOperator), &pb.CreateServiceRequestRequest{
				ResidentId: res.Id, ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_SOON,
			})
			if err != nil {
				t.Fatalf("create the request to cancel: %v", err)
			}
			const idNumber = "37030319450312007X"
			if _, err := ts.residents().CreateResident(ts.ctx(t, carehex.RoleOperator), &pb.CreateResidentRequest{
				Name: "张桂兰", Phone: "13905330001", Address: "张店区华光路56号", Location: zibo, IdNumber: idNumber,
			}); err != nil {
				t.Fatalf("create the resident holding the ID number: %v", err)
			}
			now := time.Now()
			vars := map[string]string{
				"$IDNUMBER": idNumber,
				"$SKILL":    ts.service().RequiredSkill,
				resident:    res.Id,
				service:     ts.service().Code,
				"$REQUEST":  req.Request.Id,
				"$IN1H":     rfc3339(now.Add(time.Hour)),
				"$IN2H":     rfc3339(now.Add(2 * time.Hour)),
			}
			token := ts.Tokens[carehex.RoleOperator]
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ct := tt.contentType
					if ct == "" {
						ct = jsonType
					}
					before := ts.snapshot(t)
					got := ts.post(t, tt.method, ct, []byte(expand(tt.body, vars)), token)
					if got.Err.Code != string(tt.code) {
						t.Errorf("code = %q, want %q; reply %s", got.Err.Code, tt.code, got)
					}
					if tt.argument != "" && got.Err.Meta["argument"] != tt.argument {
						t.Errorf("argument = %q, want %q; reply %s", got.Err.Meta["argument"], tt.argument, got)
					}
					if want := twirp.ServerHTTPStatusFromErrorCode(tt.code); got.Status != want {
						t.Errorf("HTTP status = %d, want %d", got.Status, want)
					}
					if got.Err.Msg == "" || got.Err.Msg == "internal error" {
						t.Errorf("message %q does not explain the error", got.Err.Msg)
					}
					if d := before.diff(ts.snapshot(t)); d != "" {
						t.Errorf("a refused call changed the state:\n%s", d)
					}
				})
			}
			// The request the cancel rows named is still pending.
			got, err := ts.intake().GetServiceRequest(ts.ctx(t, carehex.RoleSupervisor), &pb.GetServiceRequestRequest{Id: req.Request.Id})
			if err != nil {
				t.Fatal(err)
			}
			if got.Request.Status != pb.RequestStatus_REQUEST_STATUS_PENDING || len(got.Events) != 1 {
				t.Errorf("request = %s with %d events, want pending with 1", got.Request.Status, len(got.Events))
			}
		})
	}
}

// TestBadInputOverHTTP covers what only a raw HTTP client can send wrong.
func TestBadInputOverHTTP(t *testing.T) {
	ts := newServer(t, sqlite)
	token := ts.Tokens[carehex.RoleOperator]
	t.Run("GET is not a Twirp call", func(t *testing.T) {
		resp, err := ts.Client.Get(ts.URL + "/twirp/carehex.v1.IntakeService/GetServiceRequest")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusOK {
			t.Errorf("GET answered %d", resp.StatusCode)
		}
	})
	t.Run("unknown method", func(t *testing.T) {
		got := ts.post(t, "IntakeService/NoSuchMethod", jsonType, []byte(`{}`), token)
		if got.Err.Code != string(twirp.BadRoute) {
			t.Errorf("reply %s, want bad_route", got)
		}
	})
	t.Run("unknown content type", func(t *testing.T) {
		got := ts.post(t, "IntakeService/GetServiceRequest", "text/plain", []byte(`{}`), token)
		if got.Err.Code != string(twirp.BadRoute) {
			t.Errorf("reply %s, want bad_route", got)
		}
	})
	t.Run("unknown JSON fields are ignored", func(t *testing.T) {
		got := ts.post(t, "CatalogService/ListServiceTypes", jsonType, []byte(`{"no_such_field":1}`), token)
		if got.Status != http.StatusOK {
			t.Errorf("reply %s, want 200", got)
		}
	})
}
