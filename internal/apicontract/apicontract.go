// Package apicontract checks HTTP exchanges with the mobile API against its
// OpenAPI contract (mobileapi.OpenAPI), for tests: a Transport wraps the
// test's HTTP client and reports every request and response that does not
// validate, so the phone end-to-end test and the client's tests keep the
// server, the client and the document the app teams read in step.
package apicontract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Contract is a loaded, valid OpenAPI document and its router.
type Contract struct {
	doc    *openapi3.T
	router routers.Router
}

// Load parses spec and checks that it is a valid OpenAPI 3 document.
func Load(ctx context.Context, spec []byte) (*Contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("apicontract: parse: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("apicontract: invalid document: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apicontract: routes: %w", err)
	}
	return &Contract{doc: doc, router: router}, nil
}

// options are strict: an answer with a status the contract does not list
// fails, and so does a body sent to a route that takes none.
func options() *openapi3filter.Options {
	return &openapi3filter.Options{
		IncludeResponseStatus:             true,
		RejectWhenRequestBodyNotSpecified: true,
		MultiError:                        true,
		AuthenticationFunc:                bearer,
	}
}

// bearer checks only the form of the credentials: whether the token is good
// is the server's to say, and its 401 must then be in the contract.
func bearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); !ok || tok == "" {
		return in.NewError(errors.New("no bearer token in the Authorization header"))
	}
	return nil
}

// CheckRequest validates a request whose body (nil for none) is given
// apart, so r.Body is left alone.
func (c *Contract) CheckRequest(ctx context.Context, r *http.Request, body []byte) error {
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("%s %s: not in the contract: %w", r.Method, r.URL.Path, err)
	}
	r = r.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: options()}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return fmt.Errorf("%s %s: request does not match the contract: %w", r.Method, r.URL.Path, err)
	}
	return nil
}

// CheckResponse validates the answer to r; body is the whole response body,
// or nil for an event stream, whose events CheckEvent validates one by one.
func (c *Contract) CheckResponse(ctx context.Context, r *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("%s %s: not in the contract: %w", r.Method, r.URL.Path, err)
	}
	opts := options()
	opts.ExcludeResponseBody = isStream(header)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return fmt.Errorf("%s %s: HTTP %d answer does not match the contract: %w (body %.300s)", r.Method, r.URL.Path, status, err, body)
	}
	return nil
}

// CheckEvent validates one Server-Sent Event's data against the named
// schema of the contract's components (e.g. "Offer").
func (c *Contract) CheckEvent(schema string, data []byte) error {
	ref := c.doc.Components.Schemas[schema]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("apicontract: no schema %q in the contract", schema)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("event data %.300s is not JSON: %w", data, err)
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		return fmt.Errorf("event data %.300s does not match %s: %w", data, schema, err)
	}
	return nil
}

func isStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// Transport returns a RoundTripper (over next, or http.DefaultTransport)
// that validates every exchange and passes each failure to report; the
// caller's request and response are as they would be without it. A stream
// is checked up to its headers, so reading it is not delayed.
func (c *Contract) Transport(next http.RoundTripper, report func(error)) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{c: c, next: next, report: report}
}

type transport struct {
	c      *Contract
	next   http.RoundTripper
	report func(error)
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	ctx := r.Context()
	if err := t.c.CheckRequest(ctx, r, body); err != nil {
		t.report(err)
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	if isStream(resp.Header) {
		if err := t.c.CheckResponse(ctx, r, resp.StatusCode, resp.Header, nil); err != nil {
			t.report(err)
		}
		return resp, nil
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(got))
	if err != nil {
		return resp, nil // the caller meets the same failure reading the body it was given
	}
	if err := t.c.CheckResponse(ctx, r, resp.StatusCode, resp.Header, got); err != nil {
		t.report(err)
	}
	return resp, nil
}
