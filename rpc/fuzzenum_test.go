package rpc_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// FuzzListServiceRequestsEnums: a status filter is answered only when every
// status it names is a real one. Twirp's JSON decoding drops unknown enum
// names, and an empty filter means "every status", so a typo used to list
// everything; any other outcome than a 200 over known names is fine here as
// long as the client caused it (check).
//
//	go test -fuzz FuzzListServiceRequestsEnums -fuzztime 30s ./rpc
func FuzzListServiceRequestsEnums(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, seed := range []string{
		`{"statuses":["REQUEST_STATUS_PENDING"]}`,
		`{"statuses":["REQUEST_STATUS_COMPLETD"]}`,
		`{"statuses":["REQUEST_STATUS_PENDING","request_status_pending"]}`,
		`{"statuses":[2,"REQUEST_STATUS_OFFERED"],"limit":5}`,
		`{"statuses":[""],"resident_id":"$RES"}`,
		`{"statuses":"REQUEST_STATUS_PENDING"}`,
		`{"statuses":null}`,
		`{"no_such":["X"],"statuses":[]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range ft.vars {
			body = bytes.ReplaceAll(body, v[0], v[1])
		}
		ft.check(t, "IntakeService/ListServiceRequests", body)
		got := serve(t, ft.handler, "IntakeService/ListServiceRequests", jsonType, body, ft.token)
		if got.Status != http.StatusOK {
			return
		}
		// Keys are read exactly as protojson reads them: encoding/json's
		// case-insensitive match would take "stAtuses" for the filter, which
		// the server rightly ignores as an unknown field.
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) != nil {
			return // not a JSON object protojson and encoding/json agree on; not this test's concern
		}
		var statuses []any
		if json.Unmarshal(fields["statuses"], &statuses) != nil {
			return
		}
		for _, s := range statuses {
			if name, ok := s.(string); ok {
				if _, known := pb.RequestStatus_value[name]; !known {
					t.Fatalf("body %q answered 200 with the unknown status %q", body, name)
				}
			}
		}
	})
}
