package rpc_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/twitchtv/twirp"
)

// fuzzTarget is one server per fuzz process, built before f.Fuzz so that
// each input costs one in-process call.
type fuzzTarget struct {
	handler http.Handler
	token   string
	vars    [][2][]byte // placeholder → value, so the fuzzer can reach past the lookups
}

func newFuzzTarget(f *testing.F) *fuzzTarget {
	f.Helper()
	ts := newServer(f, sqlite)
	res := ts.createResident(f, "王秀英", "13800138000")
	now := time.Now()
	return &fuzzTarget{
		handler: ts.Handler,
		token:   ts.Tokens[carehex.RoleOperator],
		vars: [][2][]byte{
			{[]byte("$RES"), []byte(res.Id)},
			{[]byte("$SVC"), []byte(ts.service().Code)},
			{[]byte("$IN1H"), []byte(rfc3339(now.Add(time.Hour)))},
			{[]byte("$IN2H"), []byte(rfc3339(now.Add(2 * time.Hour)))},
		},
	}
}

// check posts body to method and fails on anything a client could not have
// caused: a panic, a 5xx or an internal error.
func (ft *fuzzTarget) check(t *testing.T, method string, body []byte) {
	for _, v := range ft.vars {
		body = bytes.ReplaceAll(body, v[0], v[1])
	}
	got := serve(t, ft.handler, method, jsonType, body, ft.token)
	if got.Status >= 500 || got.Err.Code == string(twirp.Internal) || got.Err.Code == string(twirp.Unknown) {
		t.Fatalf("body %q: %s", truncate(body, 500), got)
	}
	if got.Status != http.StatusOK && got.Err.Msg == "" {
		t.Fatalf("body %q: error without a message: %s", truncate(body, 500), got)
	}
}

func FuzzCreateServiceRequestJSON(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, seed := range []string{
		`{"resident_id":"$RES","service_code":"$SVC","urgency":"URGENCY_SOON"}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":"URGENCY_EMERGENCY","notes":"摔倒了","idempotency_key":"k1"}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":"URGENCY_EMERGENCY","notes":"other","idempotency_key":"k1"}`,
		`{"residentId":"$RES","serviceCode":"$SVC","urgency":2,"idempotencyKey":"k2"}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":"URGENCY_SCHEDULED","window_start_time":"$IN1H","window_end_time":"$IN2H"}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":"URGENCY_SCHEDULED","window_start_time":"$IN2H","window_end_time":"$IN1H"}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":"URGENCY_SCHEDULED","window_start_time":"0001-01-01T00:00:00Z","window_end_time":"9999-12-31T23:59:59Z"}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":"URGENCY_SOON","window_start_time":"1970-01-01T00:00:00.000000001Z"}`,
		`{"resident_id":"$RES","service_code":"NOPE","urgency":"URGENCY_SOON"}`,
		`{"resident_id":"res_x","service_code":"$SVC","urgency":"URGENCY_SOON"}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":"URGENCY_BOGUS"}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":99}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":-1}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":{}}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":"URGENCY_SOON","notes":"\u0000\ud83d\ude00"}`,
		`{"resident_id":"$RES","service_code":"$SVC","urgency":"URGENCY_SOON","notes":"` + strings.Repeat("x", 2001) + `"}`,
		`{"resident_id":` + `"$RES","resident_id":"$RES"}`,
		`{"resident_id":`,
		`[]`, `null`, `""`, `{}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "IntakeService/CreateServiceRequest", body)
	})
}

func FuzzCreateResidentJSON(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, seed := range []string{
		`{"name":"王秀英","phone":"13800138000","address":"淄博市张店区","location":{"lat":36.8,"lng":118.05}}`,
		`{"name":"Zhang Wei","phone":"+8613800138000","address":"x","location":{"lat":-90,"lng":180},"id_number":"37030219450101105x",` +
			`"gender":"GENDER_FEMALE","birth_year":1945,"district":"张店区","emergency_contacts":[{"name":"王强","phone":"13900139000","relation":"son"}],` +
			`"preferences":{"language":"zh-Hans","preferred_provider_gender":"GENDER_FEMALE","preferred_provider_ids":["prv_x"],"notes":"耳背"}}`,
		`{"name":"王秀英","phone":"13800138000","address":"x","location":{"lat":91,"lng":0}}`,
		`{"name":"王秀英","phone":"13800138000","address":"x","location":{"lat":"NaN","lng":"Infinity"}}`,
		`{"name":"王秀英","phone":"13800138000","address":"x","location":{"lat":0,"lng":0}}`,
		`{"name":"王秀英","phone":"13800138000","address":"x","location":{"lat":1e-320,"lng":-1e-320}}`,
		`{"name":"王秀英","phone":"13800138000","address":"x","location":{"lat":36,"lng":118},"gender":9,"birth_year":-5}`,
		`{"name":"王秀英","phone":"13800138000","address":"x","location":{"lat":36,"lng":118},"emergency_contacts":[{}]}`,
		`{"name":"王秀英","phone":"13800138000","address":"x","location":{"lat":36,"lng":118},"preferences":{"preferred_provider_gender":7}}`,
		`{"name":"\u0000","phone":"abc","address":"","location":{}}`,
		`{"name":"` + strings.Repeat("老", 101) + `","phone":"13800138000","address":"x","location":{"lat":36,"lng":118}}`,
		`{"name":"a","phone":"13800138000","address":"x","location":{"lat":36,"lng":118},"district":"\u0000"}`,
		`{"name":"王秀英","location":{"lat":"x"}}`,
		`{"name":`,
		`[]`, `null`, `{}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "ResidentService/CreateResident", body)
	})
}
