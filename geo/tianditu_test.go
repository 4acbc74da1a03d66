package geo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// replay serves the file named by the test case for every request and
// records the query it was asked, as Tianditu's geocoder would be called.
// The files in testdata/tianditu/ follow the response shapes of the API's
// documentation (lon/lat as numbers and, in some versions, as strings;
// status 101 for no result); the tests never reach the real service.
func replay(t *testing.T, status int, file string, asked *http.Request) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile("testdata/tianditu/" + file)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*asked = *r.Clone(context.Background())
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTianditu(t *testing.T) {
	const key = "secret-district-key"
	cases := []struct {
		name    string
		status  int
		file    string
		address string
		want    []Place
		code    string // error code wanted, "" for none
	}{
		{"found", 200, "found.json", "张店区华光路56号",
			[]Place{{Address: "淄博市张店区华光路56号", Location: carehex.LatLng{Lat: 36.81321, Lng: 118.05389}, Level: "门址", Score: 100}}, ""},
		{"numbers as strings", 200, "found-strings.json", "淄博市博山区中心路",
			[]Place{{Address: "淄博市博山区中心路", Location: carehex.LatLng{Lat: 36.64912, Lng: 117.86104}, Level: "道路", Score: 85}}, ""},
		{"no result", 200, "no-result.json", "不存在的地址", nil, ""},
		{"key refused", 200, "bad-key.json", "张店区华光路", nil, carehex.EUNAVAILABLE},
		{"empty location", 200, "bad-location.json", "张店区", nil, carehex.EUNAVAILABLE},
		{"not JSON", 502, "not-json.html", "张店区", nil, carehex.EUNAVAILABLE},
		{"not JSON with 200", 200, "not-json.html", "张店区", nil, carehex.EUNAVAILABLE},
		{"server error", 500, "found.json", "张店区", nil, carehex.EUNAVAILABLE},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var asked http.Request
			srv := replay(t, c.status, c.file, &asked)
			g := &Tianditu{Key: key, BaseURL: srv.URL, Region: "淄博市"}
			got, err := g.Geocode(context.Background(), c.address)
			if carehex.ErrorCode(err) != c.code {
				t.Fatalf("error %v, want code %q", err, c.code)
			}
			if err != nil {
				if strings.Contains(carehex.ErrorMessage(err), key) || strings.Contains(err.Error(), key) {
					t.Errorf("the key leaked into the error: %v", err)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("place %d = %+v, want %+v", i, got[i], c.want[i])
				}
			}
			// What was asked: the path, the key, and the address with the region once.
			if asked.URL.Path != "/geocoder" || asked.URL.Query().Get("tk") != key {
				t.Errorf("asked %s", asked.URL.Redacted())
			}
			var ds map[string]string
			if err := json.Unmarshal([]byte(asked.URL.Query().Get("ds")), &ds); err != nil {
				t.Fatalf("ds is not JSON: %v", err)
			}
			want := c.address
			if !strings.Contains(want, "淄博市") {
				want = "淄博市" + want
			}
			if ds["keyWord"] != want {
				t.Errorf("keyWord = %q, want %q", ds["keyWord"], want)
			}
		})
	}
}

// Bad input is refused before anything is sent; an unreachable or slow
// service is unavailable, without the key in the error.
func TestTiandituRefusals(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		time.Sleep(200 * time.Millisecond)
	}))
	defer srv.Close()
	g := &Tianditu{Key: "k3y-in-url", BaseURL: srv.URL}
	for _, bad := range []string{"", strings.Repeat("路", MaxAddressLen+1), "张店区\n华光路", "bad\xffutf8"} {
		if _, err := g.Geocode(context.Background(), bad); carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != "address" {
			t.Errorf("Geocode(%q) = %v, want invalid address", bad, err)
		}
	}
	if calls != 0 {
		t.Errorf("bad input reached the service %d times", calls)
	}
	g.Client = &http.Client{Timeout: 20 * time.Millisecond}
	_, err := g.Geocode(context.Background(), "张店区")
	if carehex.ErrorCode(err) != carehex.EUNAVAILABLE || strings.Contains(err.Error(), "k3y-in-url") {
		t.Errorf("slow service: %v", err)
	}
	down := &Tianditu{Key: "k3y-in-url", BaseURL: "http://127.0.0.1:1"}
	if _, err := down.Geocode(context.Background(), "张店区"); carehex.ErrorCode(err) != carehex.EUNAVAILABLE || strings.Contains(err.Error(), "k3y-in-url") {
		t.Errorf("unreachable service: %v", err)
	}
}

func TestMapOnly(t *testing.T) {
	got, err := MapOnly{}.Geocode(context.Background(), "张店区华光路56号")
	if err != nil || len(got) != 0 {
		t.Errorf("MapOnly = %v, %v; want nothing found", got, err)
	}
	if _, err := (MapOnly{}).Geocode(context.Background(), ""); carehex.ErrorCode(err) != carehex.EINVALID {
		t.Errorf("empty address: %v", err)
	}
}

func FuzzParseTianditu(f *testing.F) {
	for _, name := range []string{"found.json", "found-strings.json", "no-result.json", "bad-key.json", "not-json.html"} {
		b, _ := os.ReadFile("testdata/tianditu/" + name)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		places, err := parseTianditu(b)
		if err != nil && carehex.ErrorCode(err) != carehex.EUNAVAILABLE {
			t.Fatalf("error code %q", carehex.ErrorCode(err))
		}
		for _, p := range places {
			if p.Location.Validate("location") != nil {
				t.Fatalf("invalid location %+v", p.Location)
			}
		}
	})
}
