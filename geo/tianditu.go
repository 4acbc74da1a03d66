package geo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// Tianditu geocodes with 天地图's geocoding API, the national platform's
// (GET /geocoder?ds={"keyWord":"…"}&tk=KEY, answering
// {"status":"0","msg":"ok","location":{"lon":…,"lat":…,"level":"门址","score":100,"keyWord":"…"}}).
// Its coordinates are CGCS2000, the national datum, which agrees with
// WGS-84 to a few centimetres: carehex uses them as they are (no GCJ-02
// shift, unlike Amap's or Baidu's). The key is the district's own
// (CAREHEX_TIANDITU_KEY); it never leaves the server.
type Tianditu struct {
	Key     string
	BaseURL string       // default https://api.tianditu.gov.cn
	Region  string       // prefixed to an address that does not name it, e.g. "淄博市"
	Client  *http.Client // default: 5 s timeout
}

// Geocode asks Tianditu where address is: one place, or none.
func (t *Tianditu) Geocode(ctx context.Context, address string) ([]Place, error) {
	if err := checkAddress(address); err != nil {
		return nil, err
	}
	if t.Region != "" && !strings.Contains(address, t.Region) {
		address = t.Region + address
	}
	base := t.BaseURL
	if base == "" {
		base = "https://api.tianditu.gov.cn"
	}
	ds, _ := json.Marshal(map[string]string{"keyWord": address}) // a string map always encodes
	u := strings.TrimRight(base, "/") + "/geocoder?" + url.Values{"ds": {string(ds)}, "tk": {t.Key}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, unavailable(fmt.Errorf("tianditu request: %w", err))
	}
	client := t.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		// The error's text carries the URL and with it the key: name the host only.
		return nil, unavailable(fmt.Errorf("tianditu %s: %w", req.URL.Host, unwrapURL(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, unavailable(fmt.Errorf("tianditu read: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, unavailable(fmt.Errorf("tianditu answered HTTP %d", resp.StatusCode))
	}
	return parseTianditu(body)
}

// tiandituResponse is the geocoder's answer. Numbers come as JSON numbers
// or as strings depending on the service version, so both are accepted.
type tiandituResponse struct {
	Status   flexString `json:"status"`
	Msg      string     `json:"msg"`
	Location *struct {
		Lon     flexString `json:"lon"`
		Lat     flexString `json:"lat"`
		Level   string     `json:"level"`
		Score   flexString `json:"score"`
		KeyWord string     `json:"keyWord"`
	} `json:"location"`
}

// Tianditu's status codes: 0 found; 101 nothing found (结果为空); others are
// errors (1 a failure, 404 a bad request, and the key's refusals).
const (
	tdOK       = "0"
	tdNoResult = "101"
)

func parseTianditu(body []byte) ([]Place, error) {
	var r tiandituResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, unavailable(fmt.Errorf("tianditu: not the geocoder's JSON: %w", err))
	}
	switch {
	case string(r.Status) == tdNoResult:
		return nil, nil
	case string(r.Status) != tdOK:
		return nil, unavailable(fmt.Errorf("tianditu status %q: %s", string(r.Status), r.Msg))
	case r.Location == nil:
		return nil, nil
	}
	lon, err1 := strconv.ParseFloat(string(r.Location.Lon), 64)
	lat, err2 := strconv.ParseFloat(string(r.Location.Lat), 64)
	p := carehex.LatLng{Lat: lat, Lng: lon}
	if err1 != nil || err2 != nil || p.Validate("location") != nil || (lat == 0 && lon == 0) {
		return nil, unavailable(fmt.Errorf("tianditu: bad location lon %q lat %q", string(r.Location.Lon), string(r.Location.Lat)))
	}
	score, _ := strconv.Atoi(strings.SplitN(string(r.Location.Score), ".", 2)[0])
	return []Place{{Address: r.Location.KeyWord, Location: p, Level: r.Location.Level, Score: score}}, nil
}

func unavailable(err error) error {
	return &carehex.Error{Code: carehex.EUNAVAILABLE, Message: "the geocoder is unavailable; place the point on the map", Err: err}
}

// unwrapURL drops *url.Error's wrapping, which repeats the URL (and the key in it).
func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// flexString decodes a JSON string or number as its text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n)
	return nil
}
