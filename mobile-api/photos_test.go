package mobileapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/evidence"
	mobileapi "github.com/carehex/carehex/mobile-api"
)

// pngPhoto is a real PNG of w×h pixels of noise, different for each seed.
func pngPhoto(t testing.TB, w, h int, seed uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(uint64(seed), 7)) // noise: a photo does not compress much either
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Uint32())
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestVisitPhotos: the carer holding a visit uploads the scene before and
// after (stored under their hash, recorded in order, a retake added
// beside); another carer, a family token, no token, a wrong type, a body
// that is not the image it claims, an oversize photo and a bad stage are
// each refused with their code, and store nothing.
func TestVisitPhotos(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := newEnv(t, be.dsn(t))
			blobs, err := evidence.NewFS(filepath.Join(t.TempDir(), "evidence"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := mobileapi.DefaultConfig()
			cfg.MaxPhotoBytes = 64 << 10
			api, err := mobileapi.New(cfg, mobileapi.Deps{Store: e.db, Engine: e.watch, Live: e.live, Notices: e.hub,
				Clock: e.clock.Now, Evidence: &mobileapi.Evidence{Records: e.db, Blobs: blobs}})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(api.Handler())
			t.Cleanup(srv.Close)
			upload := func(token, visitID, stage, ct string, body []byte) (int, map[string]any) {
				t.Helper()
				req, _ := http.NewRequest("POST", srv.URL+"/m/v1/visits/"+visitID+"/photos?stage="+stage, bytes.NewReader(body))
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				var out map[string]any
				_ = json.Unmarshal(raw, &out)
				return resp.StatusCode, out
			}
			code := func(out map[string]any) string {
				eb, _ := out["error"].(map[string]any)
				s, _ := eb["code"].(string)
				return s
			}

			_, tok := e.provider("刘芳")
			_, visitID := e.assigned(tok)
			_, otherTok := e.provider("王强")
			before, after, retake := pngPhoto(t, 40, 30, 1), pngPhoto(t, 40, 30, 2), pngPhoto(t, 40, 30, 3)

			refusals := []struct {
				name, token, stage, ct string
				body                   []byte
				status                 int
				code                   string
			}{
				{"another carer", otherTok, "arrive", "image/png", before, http.StatusNotFound, carehex.ENOTFOUND},
				{"a family token", e.family, "arrive", "image/png", before, http.StatusForbidden, carehex.EFORBIDDEN},
				{"no token", "", "arrive", "image/png", before, http.StatusUnauthorized, carehex.EUNAUTHENTICATED},
				{"a bad stage", tok, "during", "image/png", before, http.StatusBadRequest, carehex.EINVALID},
				{"a GIF", tok, "arrive", "image/gif", []byte("GIF89a\x01\x00\x01\x00"), http.StatusBadRequest, carehex.EINVALID},
				{"JSON", tok, "arrive", "application/json", []byte(`{"photo":"x"}`), http.StatusBadRequest, carehex.EINVALID},
				{"a PNG sent as JPEG", tok, "arrive", "image/jpeg", before, http.StatusBadRequest, carehex.EINVALID},
				{"text sent as PNG", tok, "arrive", "image/png", []byte("not an image at all"), http.StatusBadRequest, carehex.EINVALID},
				{"a truncated PNG", tok, "arrive", "image/png", before[:20], http.StatusBadRequest, carehex.EINVALID},
				{"oversize", tok, "arrive", "image/png", pngPhoto(t, 400, 400, 9), http.StatusRequestEntityTooLarge, "too_large"},
			}
			for _, c := range refusals {
				status, out := upload(c.token, visitID, c.stage, c.ct, c.body)
				if status != c.status || code(out) != c.code {
					t.Errorf("%s: %d %v, want %d %s", c.name, status, out, c.status, c.code)
				}
			}
			if ps, err := e.db.VisitPhotos(context.Background(), visitID); err != nil || len(ps) != 0 {
				t.Fatalf("after the refusals the visit has %d photos, %v", len(ps), err)
			}

			for _, p := range []struct {
				stage string
				body  []byte
			}{{"arrive", before}, {"complete", after}, {"complete", retake}} {
				status, out := upload(tok, visitID, p.stage, "image/png", p.body)
				sum := sha256.Sum256(p.body)
				ph, _ := out["photo"].(map[string]any)
				if status != http.StatusCreated || ph["sha256"] != hex.EncodeToString(sum[:]) || ph["stage"] != p.stage {
					t.Fatalf("upload %s: %d %v", p.stage, status, out)
				}
				rd, err := blobs.Get(context.Background(), hex.EncodeToString(sum[:]))
				if err != nil {
					t.Fatal(err)
				}
				stored, _ := io.ReadAll(rd)
				rd.Close()
				if !bytes.Equal(stored, p.body) {
					t.Fatalf("stored blob differs from the upload")
				}
			}
			ps, err := e.db.VisitPhotos(context.Background(), visitID)
			if err != nil || len(ps) != 3 || ps[2].Stage != carehex.PhotoComplete || ps[1].Stage != carehex.PhotoComplete {
				t.Fatalf("VisitPhotos = %v, %v; want before, after and the retake", ps, err)
			}
			// Once the visit is done and its carer may no longer see it,
			// they add nothing to it.
			now := e.clock.Now()
			e.postEvent(tok, visitID, ev{id: "a1", typ: "arrive", at: now}).want(t, http.StatusCreated)
			e.postEvent(tok, visitID, ev{id: "c1", typ: "complete", at: now.Add(time.Second)}).want(t, http.StatusCreated)
			e.clock.Advance(3 * time.Hour)
			if status, out := upload(tok, visitID, "complete", "image/png", pngPhoto(t, 8, 8, 4)); status != http.StatusConflict {
				t.Fatalf("a photo of a visit finished 3 h ago: %d %v, want 409", status, out)
			}
		})
	}
}
