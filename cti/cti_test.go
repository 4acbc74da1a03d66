package cti_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/cti"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/sqlstore"
)

const secret = "s3cret-shared-with-the-pbx"

// pbx is a fake telephone system: it posts call events as FreeSWITCH or
// Asterisk would, signed (or not) as each test says.
type pbx struct {
	t   *testing.T
	url string
}

type answer struct {
	status int
	body   map[string]any
}

func (p pbx) post(body string, sign func([]byte) string) answer {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.url+cti.Path, bytes.NewReader([]byte(body)))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sign != nil {
		req.Header.Set(cti.SignatureHeader, sign([]byte(body)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		p.t.Fatalf("answer is not JSON (status %d): %v", resp.StatusCode, err)
	}
	return answer{resp.StatusCode, out}
}

func signedWith(key string) func([]byte) string {
	return func(b []byte) string { return "sha256=" + hex.EncodeToString(cti.Sign([]byte(key), b)) }
}

var signed = signedWith(secret)

func stores(t *testing.T) map[string]*sqlstore.DB {
	t.Helper()
	out := map[string]*sqlstore.DB{}
	for name, dsn := range map[string]string{
		"sqlite":   filepath.Join(t.TempDir(), "carehex.db"),
		"postgres": testenv.PostgresURL(t),
	} {
		db, err := sqlstore.Open(context.Background(), dsn, nil)
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		t.Cleanup(func() { db.Close() })
		out[name] = db
	}
	return out
}

func serve(t *testing.T, secret string, store carehex.CallStore) pbx {
	t.Helper()
	srv := httptest.NewServer(cti.New(secret, store, nil))
	t.Cleanup(srv.Close)
	return pbx{t, srv.URL}
}

func TestCallEvents(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			p := serve(t, secret, db)

			ring := `{"call_id":"fs-1","event":"ringing","caller":"13905330001","extension":"8001","recording_ref":""}`
			if a := p.post(ring, signed); a.status != http.StatusOK || a.body["status"] != "ringing" {
				t.Fatalf("ringing: %d %v", a.status, a.body)
			}
			c, err := db.ActiveCall(ctx, "8001")
			if err != nil || c.CallID != "fs-1" || c.Caller != "13905330001" || c.Status != carehex.CallRinging {
				t.Fatalf("active call at 8001 = %+v, %v", c, err)
			}
			if _, err := db.ActiveCall(ctx, "8002"); carehex.ErrorCode(err) != carehex.ENOTFOUND {
				t.Errorf("another extension has an active call: %v", err)
			}

			// Refused without changing anything: no signature, a wrong key,
			// a signature of another body, a malformed header.
			other := `{"call_id":"fs-2","event":"ringing","caller":"13800000000","extension":"8001"}`
			for what, sign := range map[string]func([]byte) string{
				"no signature":       nil,
				"wrong key":          signedWith("guess"),
				"another body":       func([]byte) string { return signed([]byte(ring)) },
				"no sha256= prefix":  func(b []byte) string { return hex.EncodeToString(cti.Sign([]byte(secret), b)) },
				"not hex":            func([]byte) string { return "sha256=zz" },
				"empty after prefix": func([]byte) string { return "sha256=" },
			} {
				a := p.post(other, sign)
				if a.status != http.StatusUnauthorized || a.body["error"] != "unauthenticated" {
					t.Errorf("%s: %d %v, want 401", what, a.status, a.body)
				}
			}
			if _, err := db.Call(ctx, "fs-2"); carehex.ErrorCode(err) != carehex.ENOTFOUND {
				t.Errorf("a refused event was stored: %v", err)
			}
			if c, _ := db.ActiveCall(ctx, "8001"); c == nil || c.CallID != "fs-1" {
				t.Errorf("a refused event changed the active call: %+v", c)
			}

			// Signed but wrong: 400 naming the field.
			for body, field := range map[string]string{
				`{"call_id":"fs-3","event":"dialling","extension":"8001"}`:             "event",
				`{"event":"ringing","extension":"8001"}`:                               "call_id",
				`{"call_id":"fs-3","event":"ringing"}`:                                 "extension",
				`{"call_id":"fs-3","event":"ringing","extension":"8001","caller":"x"}`: "caller",
				`{"call_id":"fs-3","event":"ringing","extension":"8001","colour":1}`:   "",
				`[1,2]`:      "",
				`{"call_id"`: "",
			} {
				a := p.post(body, signed)
				if a.status != http.StatusBadRequest || (field != "" && a.body["field"] != field) {
					t.Errorf("%s: %d %v, want 400 on %q", body, a.status, a.body, field)
				}
			}
			if _, err := db.Call(ctx, "fs-3"); carehex.ErrorCode(err) != carehex.ENOTFOUND {
				t.Errorf("a bad event was stored: %v", err)
			}

			// Answered, then the hangup names the recording; the line is quiet again.
			if a := p.post(`{"call_id":"fs-1","event":"answered"}`, signed); a.status != http.StatusOK {
				t.Fatalf("answered: %d %v", a.status, a.body)
			}
			if a := p.post(`{"call_id":"fs-1","event":"hangup","recording_ref":"https://pbx.example/rec/fs-1.wav"}`, signed); a.status != http.StatusOK {
				t.Fatalf("hangup: %d %v", a.status, a.body)
			}
			c, err = db.Call(ctx, "fs-1")
			if err != nil || c.Status != carehex.CallHangup || c.Extension != "8001" || c.Caller != "13905330001" ||
				c.RecordingRef != "https://pbx.example/rec/fs-1.wav" {
				t.Fatalf("call after hangup = %+v, %v", c, err)
			}
			if _, err := db.ActiveCall(ctx, "8001"); carehex.ErrorCode(err) != carehex.ENOTFOUND {
				t.Errorf("a hung-up call is still active: %v", err)
			}
			// A late event cannot reopen a call that hung up.
			p.post(`{"call_id":"fs-1","event":"bridged"}`, signed)
			if c, _ := db.Call(ctx, "fs-1"); c.Status != carehex.CallHangup {
				t.Errorf("late bridged reopened the call: %s", c.Status)
			}
		})
	}
}

// TestDisabled: without a secret the endpoint is off, and says so.
func TestDisabled(t *testing.T) {
	db := stores(t)["sqlite"]
	p := serve(t, "", db)
	a := p.post(`{"call_id":"fs-1","event":"ringing","extension":"8001"}`, signedWith(""))
	if a.status != http.StatusServiceUnavailable || a.body["error"] != "cti_disabled" {
		t.Fatalf("with no secret: %d %v, want 503 cti_disabled", a.status, a.body)
	}
	if _, err := db.Call(context.Background(), "fs-1"); carehex.ErrorCode(err) != carehex.ENOTFOUND {
		t.Errorf("an event was stored with the endpoint off: %v", err)
	}
}
