// Package cti is the edge the hotline's telephone system (PBX) posts call
// events to: POST /cti/v1/calls, signed with a shared secret. It checks the
// signature on the raw body before anything else, then stores the event
// (carehex.CallStore); the console asks for the call ringing at its
// extension through IntakeService/GetActiveCall. Pushing the screen pop to
// the console instead of being asked comes with the push stream.
package cti

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/carehex/carehex"
)

// Path is where the PBX posts.
const Path = "/cti/v1/calls"

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the raw body
// keyed with the shared secret (CAREHEX_CTI_SECRET).
const SignatureHeader = "X-Carehex-Signature"

// maxBodyBytes bounds one event; real ones are a few hundred bytes.
const maxBodyBytes = 16 << 10

// Handler serves POST /cti/v1/calls. An empty secret turns the endpoint
// off: it answers 503 and says why in the log, since an unsigned endpoint
// would let anyone pop cards on operators' screens.
type Handler struct {
	Secret []byte
	Store  carehex.CallStore
	Log    *slog.Logger
}

// New returns the handler and logs whether the endpoint is on.
func New(secret string, store carehex.CallStore, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if secret == "" {
		log.Warn("cti.disabled", "path", Path, "why", "CAREHEX_CTI_SECRET is not set; call events are refused with 503")
	}
	return &Handler{Secret: []byte(secret), Store: store, Log: log}
}

// eventIn is the body a PBX posts. Pointers tell a missing field from an
// empty one, so the error can name it.
type eventIn struct {
	CallID       *string `json:"call_id"`
	Event        *string `json:"event"`
	Caller       string  `json:"caller"`
	Extension    string  `json:"extension"`
	RecordingRef string  `json:"recording_ref"`
}

// errorOut is every refusal's body: a code for machines, the field at
// fault, and a message for the person setting up the PBX.
type errorOut struct {
	Error   string `json:"error"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorOut{Error: "method_not_allowed", Message: "POST call events here"})
		return
	}
	if len(h.Secret) == 0 {
		h.Log.WarnContext(r.Context(), "cti.refused", "why", "CAREHEX_CTI_SECRET is not set")
		writeJSON(w, http.StatusServiceUnavailable, errorOut{Error: "cti_disabled",
			Message: "the CTI endpoint is off: the server has no CAREHEX_CTI_SECRET"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorOut{Error: "too_large", Message: "the body is larger than 16 KiB"})
		return
	}
	// The signature first: an unsigned body is not even parsed.
	if !h.signed(r.Header.Get(SignatureHeader), body) {
		h.Log.WarnContext(r.Context(), "cti.bad_signature", "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, errorOut{Error: "unauthenticated",
			Message: SignatureHeader + " must be sha256=<hex HMAC-SHA256 of the raw body> keyed with the shared secret"})
		return
	}
	var in eventIn
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || dec.More() {
		writeJSON(w, http.StatusBadRequest, errorOut{Error: "invalid", Message: "the body must be one JSON object with call_id, event, caller, extension, recording_ref"})
		return
	}
	e := &carehex.CallEvent{Caller: in.Caller, Extension: in.Extension, RecordingRef: in.RecordingRef}
	if in.CallID != nil {
		e.CallID = *in.CallID
	}
	if in.Event != nil {
		e.Event = strings.ToLower(strings.TrimSpace(*in.Event))
	}
	c, err := h.Store.RecordCallEvent(r.Context(), e)
	if err != nil {
		h.fail(r.Context(), w, err)
		return
	}
	h.Log.InfoContext(r.Context(), "cti.event", "call", c.CallID, "event", e.Event, "extension", c.Extension)
	writeJSON(w, http.StatusOK, map[string]any{"call_id": c.CallID, "status": c.Status})
}

// signed checks the header against the body in constant time.
func (h *Handler) signed(header string, body []byte) bool {
	hexSum, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	return hmac.Equal(got, Sign(h.Secret, body))
}

// Sign returns the HMAC-SHA256 of body keyed with secret: what a PBX puts,
// hex-encoded after "sha256=", in the signature header.
func Sign(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}

// statuses is the one table of this edge from error codes to HTTP statuses.
var statuses = map[string]int{
	carehex.EINVALID:     http.StatusBadRequest,
	carehex.ENOTFOUND:    http.StatusNotFound,
	carehex.ECONFLICT:    http.StatusConflict,
	carehex.EUNAVAILABLE: http.StatusServiceUnavailable,
}

func (h *Handler) fail(ctx context.Context, w http.ResponseWriter, err error) {
	code := carehex.ErrorCode(err)
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
		if !errors.Is(ctx.Err(), context.Canceled) {
			h.Log.ErrorContext(ctx, "cti.internal", "err", err)
		}
	}
	writeJSON(w, status, errorOut{Error: code, Field: carehex.ErrorField(err), Message: carehex.ErrorMessage(err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
