package mobileapi

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the contract of /m/v1/ in OpenAPI 3 (openapi.yaml beside this
// file): the phone apps of other teams are written against it, and the
// phone end-to-end test checks every exchange against it, so a change to a
// handler's JSON that is not made here too fails that test.
//
//go:embed openapi.yaml
var OpenAPI []byte

// contract: GET /m/v1/openapi.yaml, without a token, since app teams and
// their code generators fetch it before they hold one.
func contract(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(OpenAPI)
}
