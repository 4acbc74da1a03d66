package mobileapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
)

// Codes of this edge only, beside the carehex codes.
const (
	codeTooLarge    = "too_large"    // body over Config.MaxBodyBytes
	codeRateLimited = "rate_limited" // token bucket empty
)

// httpStatus maps error codes to HTTP statuses: the one table of the mobile
// edge. A code missing here is a 500.
var httpStatus = map[string]int{
	carehex.EINVALID:         http.StatusBadRequest,
	carehex.ENOTFOUND:        http.StatusNotFound,
	carehex.ECONFLICT:        http.StatusConflict,
	carehex.EEXISTS:          http.StatusConflict,
	carehex.EUNAUTHENTICATED: http.StatusUnauthorized,
	carehex.EFORBIDDEN:       http.StatusForbidden,
	carehex.EUNAVAILABLE:     http.StatusServiceUnavailable,
	carehex.EINTERNAL:        http.StatusInternalServerError,
	codeTooLarge:             http.StatusRequestEntityTooLarge,
	codeRateLimited:          http.StatusTooManyRequests,
}

// retryAfterSeconds is what a 503 or 429 tells the phone to wait.
const retryAfterSeconds = 2

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// MsgCode and Params are what a person is shown (carehex.Message);
	// pages render them with web/static/i18n.js's errorText.
	MsgCode string            `json:"msg_code,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
}

// fail answers err as {"error":{"code","message"}}; internal detail is
// logged here and never sent.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := carehex.ErrorCode(err)
	status, ok := httpStatus[code]
	if !ok {
		code, status = carehex.EINTERNAL, http.StatusInternalServerError
	}
	if code == carehex.EINTERNAL {
		if r.Context().Err() != nil {
			// The phone hung up (or timed out) mid-call: nobody reads
			// the answer and nothing is wrong with the server.
			s.log.DebugContext(r.Context(), "mobile.gone", "method", r.Method, "path", r.URL.Path, "err", err)
			return
		}
		s.log.ErrorContext(r.Context(), "mobile.internal", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	m := carehex.ErrorMsg(err)
	s.writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: carehex.ErrorMessage(err),
		Field: carehex.ErrorField(err), MsgCode: m.Code, Params: m.Params}})
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("mobile.encode", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// authed is the one authentication middleware: a bearer token of kind want
// (a provider's device or a family member's link), the principal in the
// context, then the token's rate limit.
func (s *Server) authed(want carehex.PrincipalKind, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := auth.BearerToken(r.Header)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p, err := s.authenticate(r.Context(), token) // tokencache.go
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if p.Kind != want {
			s.fail(w, r, carehex.Errorf(carehex.EFORBIDDEN, "", "%s tokens cannot call %s; it needs a %s token", p.Kind, r.URL.Path, want))
			return
		}
		if key := auth.HashToken(token); !s.limits.allow(key, s.now()) {
			s.noteRateLimited(r, key, p)
			s.fail(w, r, carehex.Errorf(codeRateLimited, "", "too many requests for this token; slow down"))
			return
		}
		next.ServeHTTP(w, r.WithContext(carehex.WithPrincipal(r.Context(), p)))
	})
}

// subject is the authenticated provider or family member ID.
func subject(r *http.Request) string {
	p, _ := carehex.PrincipalFrom(r.Context())
	return p.Subject
}

// recoverer turns a panic into a 500, so no input takes the process down.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.fail(w, r, carehex.Internal(fmt.Errorf("panic: %v", v), "handler"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status for the request log. Unwrap lets
// http.ResponseController reach Flush and SetWriteDeadline underneath.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// Every answer (JSON, SSE, errors) carries personal data or says
		// something about it: no cache, shared or private, may keep it.
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasSuffix(r.URL.Path, "/stream") {
			defer s.noteStream(r)()
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s.log.DebugContext(r.Context(), "mobile.request", "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "duration", time.Since(start))
	})
}

// limiter is a token bucket per bearer token (by hash).
type limiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// maxBuckets bounds the limiter's memory; full buckets are forgotten first.
const maxBuckets = 100_000

func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *limiter) prune(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets { // all busy: start over rather than grow
		clear(l.buckets)
	}
}

// decode reads the body as exactly one JSON object into v: bounded in size,
// keys spelt exactly as documented and each given once (strictKeys), no
// unknown fields, field types checked, each failure a 400 (413 when too
// large) naming the field.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return carehex.Errorf(codeTooLarge, "body", "request body is larger than %d bytes", s.cfg.MaxBodyBytes)
	case err != nil:
		return carehex.Errorf(carehex.EINVALID, "body", "request body could not be read")
	case len(bytes.TrimSpace(body)) == 0:
		return carehex.Errorf(carehex.EINVALID, "body", "request body must be a JSON object")
	}
	if err := strictKeys(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return carehex.Errorf(carehex.EINVALID, "body", "request body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var (
		typeErr *json.UnmarshalTypeError
		synErr  *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return carehex.Errorf(carehex.EINVALID, "body", "request body must be a JSON object")
		}
		return carehex.Errorf(carehex.EINVALID, field, "%s must be a JSON %s, not %s", field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &synErr), errors.Is(err, io.ErrUnexpectedEOF):
		return carehex.Errorf(carehex.EINVALID, "body", "request body is not valid JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return carehex.Errorf(carehex.EINVALID, name, "unknown field %q", name)
	}
	var ce *carehex.Error
	if errors.As(err, &ce) {
		return ce
	}
	return carehex.Errorf(carehex.EINVALID, "body", "request body is not valid: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "float"), strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "number"
	case goKind == "bool":
		return "boolean"
	case goKind == "string":
		return "string"
	case goKind == "slice":
		return "array"
	}
	return "object"
}

// maxIDLen bounds an ID in a path or body; every carehex ID is far shorter.
const maxIDLen = 100

func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > maxIDLen || !utf8.ValidString(id) {
		return "", carehex.Errorf(carehex.EINVALID, "id", "id must be 1 to %d characters", maxIDLen)
	}
	return id, nil
}

// strictKeys refuses what encoding/json lets through silently: a key whose
// case differs from the field's ("Lat" filled lat) and a key given twice
// (the last one won). Either means the phone's code is not what it thinks,
// and with duplicates two readers of one body can disagree. Other problems
// (syntax, types, unknown keys) are left to the decoder, which names them.
func strictKeys(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	err := walkKeys(dec, t, 0)
	var ce *carehex.Error
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

// maxJSONDepth bounds the walk; no mobile body nests more than twice.
const maxJSONDepth = 32

func walkKeys(dec *json.Decoder, t reflect.Type, depth int) error {
	if depth > maxJSONDepth {
		return carehex.Errorf(carehex.EINVALID, "body", "request body is nested too deeply")
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		fields := jsonFields(t)
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			if seen[key] {
				return carehex.Errorf(carehex.EINVALID, key, "key %q is given twice", key)
			}
			seen[key] = true
			ft, known := fields[key]
			if !known {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return carehex.Errorf(carehex.EINVALID, key, "key %q must be spelt %q (keys are case-sensitive)", key, name)
					}
				}
			}
			if err := walkKeys(dec, ft, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkKeys(dec, elem, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields to their types; nil
// for anything that is not a struct (maps take any key).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// edgeLog keeps the mobile edge's own log lines to a rate a person can read
// during a flood: rate-limit hits at most once a minute per token, the
// count of open streams at most once a minute.
type edgeLog struct {
	streams atomic.Int64 // streams open now

	mu      sync.Mutex
	last    map[string]time.Time // key → when it was last logged
	dropped map[string]int       // key → lines not logged since
}

// logEvery is how often one key may log.
const logEvery = time.Minute

// maxLogKeys bounds edgeLog's memory; keys not logged for logEvery go first.
const maxLogKeys = 10_000

// due reports whether key may log at now and how many lines it dropped
// since it last did.
func (l *edgeLog) due(key string, now time.Time) (ok bool, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.dropped = map[string]time.Time{}, map[string]int{}
	}
	if t, seen := l.last[key]; seen && now.Sub(t) < logEvery {
		l.dropped[key]++
		return false, 0
	}
	if len(l.last) >= maxLogKeys {
		for k, t := range l.last {
			if now.Sub(t) >= logEvery {
				delete(l.last, k)
				delete(l.dropped, k)
			}
		}
	}
	dropped = l.dropped[key]
	l.last[key], l.dropped[key] = now, 0
	return true, dropped
}

// noteRateLimited logs a 429, throttled per token. The token appears only as
// the first characters of its hash, enough to match lines to one phone.
func (s *Server) noteRateLimited(r *http.Request, tokenHash string, p carehex.Principal) {
	short := tokenHash[:min(12, len(tokenHash))]
	if ok, dropped := s.edge.due("rate:"+short, s.now()); ok {
		s.log.InfoContext(r.Context(), "mobile.rate_limited", "token", short, "kind", string(p.Kind),
			"subject", p.Subject, "path", r.URL.Path, "more_since_last_line", dropped)
	}
}

// noteStream counts an open stream until the returned func runs, and logs
// the count at most once a minute.
func (s *Server) noteStream(r *http.Request) (done func()) {
	n := s.edge.streams.Add(1)
	if ok, dropped := s.edge.due("streams", s.now()); ok {
		s.log.InfoContext(r.Context(), "mobile.streams", "open", n, "opened_since_last_line", dropped+1)
	}
	return func() { s.edge.streams.Add(-1) }
}
