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

	"github.com/carehex/carehex/cti"
	"github.com/carehex/carehex/sqlstore"
)

// FuzzCallEvent posts any body, correctly signed: the answer is 200 or a
// 4xx JSON error, never a 5xx or a panic, and a 200 means the call is stored.
func FuzzCallEvent(f *testing.F) {
	for _, seed := range []string{
		`{"call_id":"fs-1","event":"ringing","caller":"13905330001","extension":"8001"}`,
		`{"call_id":"fs-1","event":"hangup","recording_ref":"rec/1.wav"}`,
		`{"call_id":"","event":"RINGING","extension":"8001"}`,
		`{"call_id":"x\u0000","event":"ringing","extension":"8001"}`,
		`{"call_id":1}`, `null`, `[]`, ``, `{}{}`,
	} {
		f.Add([]byte(seed))
	}
	db, err := sqlstore.Open(context.Background(), filepath.Join(f.TempDir(), "carehex.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	h := cti.New(secret, db, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, cti.Path, bytes.NewReader(body))
		req.Header.Set(cti.SignatureHeader, "sha256="+hex.EncodeToString(cti.Sign([]byte(secret), body)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer %d is not a JSON object: %q", w.Code, w.Body.String())
		}
		switch {
		case w.Code == http.StatusOK:
			id, _ := out["call_id"].(string)
			if _, err := db.Call(context.Background(), id); err != nil {
				t.Fatalf("200 for %q but the call is not stored: %v", body, err)
			}
		case w.Code >= 400 && w.Code < 500:
			if out["error"] == nil || out["error"] == "" {
				t.Fatalf("%d without an error code: %v", w.Code, out)
			}
		default:
			t.Fatalf("body %q answered %d: %v", body, w.Code, out)
		}
	})
}
