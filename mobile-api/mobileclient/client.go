// Package mobileclient is the Go client of carehex's mobile API (/m/v1/,
// described by mobile-api/openapi.yaml): what a provider's or a family
// member's phone does, as one Client per token. The simulator, the load
// bench and the fault tests all talk to the phone API through it.
//
// It is written by hand, in the pattern of benbjohnson/wtf's http/dial.go
// (the client beside the server, speaking in plain types), rather than
// generated from the contract with oapi-codegen, because generation fits
// this API badly: two of its ten routes are Server-Sent Event streams,
// which a generated client hands back as a bare *http.Response for the
// caller to parse; the long poll's wait is a duration the caller thinks in,
// not a query integer; and every caller wants one error type carrying the
// HTTP status and the body's code and field, where a generated client
// returns a response struct with one field per status. The contract stays
// the single description: the client's tests run every method against the
// real handler through a transport that validates each exchange against
// openapi.yaml (internal/apicontract), so client, server and document
// cannot drift apart unnoticed.
package mobileclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Doer sends an HTTP request; *http.Client is one. A test may pass its own,
// e.g. one that spreads calls over replicas.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Client calls the mobile API with one bearer token: a provider's device
// token or a family member's access token. It holds no state between calls
// and is safe for concurrent use.
type Client struct {
	url   string
	token string
	http  Doer
}

// New returns a client of the server at baseURL (e.g.
// "http://127.0.0.1:8080") using token; hc nil means http.DefaultClient.
func New(baseURL, token string, hc Doer) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{url: strings.TrimRight(baseURL, "/"), token: token, http: hc}
}

// maxAnswer bounds a response body read; answers are a few kilobytes.
const maxAnswer = 1 << 20

// Error is an answer other than 2xx: the HTTP status and the error body's
// code, message and field (the field at fault of a 400).
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	// RetryAfter is the server's Retry-After on a 429 or 503; 0 otherwise.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := fmt.Sprintf("mobile API: HTTP %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

// ErrEmptyBody is a 2xx answer without a body: what a long poll gets when
// an overloaded server's own deadline ended the call first.
var ErrEmptyBody = errors.New("mobile API: 2xx answer with an empty body")

// ErrBadAnswer is a 2xx answer that is not the JSON the contract promises.
var ErrBadAnswer = errors.New("mobile API: 2xx answer is not the expected JSON")

// StatusOf is the HTTP status of err's *Error, 0 when err is not an answer
// of the server (a transport failure, a cancelled context).
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// do sends a call with body (nil for none) encoded as JSON and decodes a
// 2xx answer into out (nil to discard it).
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return ErrEmptyBody
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrBadAnswer, method, path, err)
	}
	return nil
}

// send sends a call and returns a 2xx response for the caller to read and
// close; any other answer is returned as *Error.
func (c *Client) send(ctx context.Context, method, path string, body any, accept string) (*http.Response, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	e := &Error{Status: resp.StatusCode}
	var eb errorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		e.Code, e.Message, e.Field = eb.Error.Code, eb.Error.Message, eb.Error.Field
	} else { // not from the API: a proxy's page, say
		e.Code, e.Message = "http_"+strconv.Itoa(resp.StatusCode), strings.TrimSpace(string(b))
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return nil, e
}

// LatLng is a position in WGS-84 degrees.
type LatLng struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Heartbeat is a phone's report of where it is and whether its carer takes
// offers; AccuracyM is the fix's accuracy radius in metres.
type Heartbeat struct {
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	AccuracyM float64 `json:"accuracy_m"`
	Available bool    `json:"available"`
}

// Heartbeat reports hb and returns the provider's live status after it:
// "offline", "available", "offered" or "busy".
func (c *Client) Heartbeat(ctx context.Context, hb Heartbeat) (string, error) {
	var out struct {
		Status string `json:"status"`
	}
	if err := c.do(ctx, http.MethodPost, "/m/v1/heartbeat", hb, &out); err != nil {
		return "", err
	}
	return out.Status, nil
}

// Offer is what a provider sees of an offer: never the resident's name or
// address, which come with the accepted Visit.
type Offer struct {
	ID          string    `json:"id"`
	RequestID   string    `json:"request_id"`
	ServiceCode string    `json:"service_code"`
	DistanceM   float64   `json:"distance_m"`
	ExpiresAt   time.Time `json:"expires_at"`
	Urgency     string    `json:"urgency"`
	// WindowStart and WindowEnd are set for a scheduled request.
	WindowStart *time.Time `json:"window_start"`
	WindowEnd   *time.Time `json:"window_end"`
}

// Offers returns the provider's open offers, waiting up to wait (whole
// seconds, at most 30) for one when there is none yet.
func (c *Client) Offers(ctx context.Context, wait time.Duration) ([]Offer, error) {
	var out struct {
		Offers []Offer `json:"offers"`
	}
	path := "/m/v1/offers?wait=" + strconv.Itoa(int(wait/time.Second))
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return out.Offers, nil
}

// StreamOffers reads the offer stream (Server-Sent Events) and calls fn
// with each new offer, until ctx ends (ctx's error), fn fails (its error),
// the server reports an error on the stream (*Error) or ends the stream
// (nil: reconnect for more).
func (c *Client) StreamOffers(ctx context.Context, fn func(Offer) error) error {
	return c.stream(ctx, "/m/v1/offers/stream", "offer", func(data []byte) error {
		var o Offer
		if err := json.Unmarshal(data, &o); err != nil {
			return fmt.Errorf("mobile API: offer event %.200q: %w", data, err)
		}
		return fn(o)
	})
}

// Resident is whom a visit is for, shown only to the provider holding it.
type Resident struct {
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	Address   string `json:"address"`
	Location  LatLng `json:"location"`
	CareNotes string `json:"care_notes"`
}

// Visit is a provider's visit; Resident is nil once it is no longer theirs
// to see.
type Visit struct {
	ID           string    `json:"id"`
	RequestID    string    `json:"request_id"`
	Status       string    `json:"status"`
	ServiceCode  string    `json:"service_code"`
	PlannedStart time.Time `json:"planned_start"`
	PlannedEnd   time.Time `json:"planned_end"`
	Resident     *Resident `json:"resident"`
	Urgency      string    `json:"urgency"`
	// Notes (the operator's) and Events come, like Resident, only to the
	// provider holding the visit.
	Notes  string          `json:"notes"`
	Events []RecordedEvent `json:"events"`
}

// Accept accepts an offer and returns the visit it became, with the
// resident; accepting it again returns the same visit.
func (c *Client) Accept(ctx context.Context, offerID string) (*Visit, error) {
	var out struct {
		Visit *Visit `json:"visit"`
	}
	if err := c.do(ctx, http.MethodPost, "/m/v1/offers/"+url.PathEscape(offerID)+"/accept", nil, &out); err != nil {
		return nil, err
	}
	if out.Visit == nil {
		return nil, fmt.Errorf("%w: accept answered without a visit", ErrBadAnswer)
	}
	return out.Visit, nil
}

// Decline refuses an offer with a reason code (carehex.DeclineReasonCodes)
// and, optionally, the carer's words; both empty are recorded as
// "declined".
func (c *Client) Decline(ctx context.Context, offerID, code, text string) error {
	body := map[string]string{}
	if code != "" {
		body["reason_code"] = code
	}
	if text != "" {
		body["reason"] = text
	}
	return c.do(ctx, http.MethodPost, "/m/v1/offers/"+url.PathEscape(offerID)+"/decline", body, nil)
}

// Visits returns the provider's visits today and any still live from before.
func (c *Client) Visits(ctx context.Context) ([]Visit, error) {
	var out struct {
		Visits []Visit `json:"visits"`
	}
	if err := c.do(ctx, http.MethodGet, "/m/v1/visits", nil, &out); err != nil {
		return nil, err
	}
	return out.Visits, nil
}

// Event types of a visit.
const (
	Depart   = "depart"
	Arrive   = "arrive"
	Complete = "complete"
	NoShow   = "no_show"
)

// VisitEvent is what the phone reports of a visit. EventID is the phone's
// choice and makes a resend harmless.
type VisitEvent struct {
	EventID    string
	Type       string // Depart, Arrive, Complete or NoShow
	Lat, Lng   float64
	AccuracyM  float64
	DeviceTime time.Time // when it happened by the phone's clock
	Note       string
}

// RecordedEvent is the event as the server recorded it: Verified when the
// position was inside the geofence around the home, Exceptions the flags
// raised for the supervisor, Applied when it moved the visit on.
type RecordedEvent struct {
	EventID     string    `json:"event_id"`
	Type        string    `json:"type"`
	Lat         float64   `json:"lat"`
	Lng         float64   `json:"lng"`
	AccuracyM   float64   `json:"accuracy_m"`
	DeviceTime  time.Time `json:"device_time"`
	ReceiveTime time.Time `json:"receive_time"`
	Verified    bool      `json:"verified"`
	Exceptions  []string  `json:"exceptions"`
	Applied     bool      `json:"applied"`
	Note        string    `json:"note"`
}

// EventResult is the answer to a visit event: the recorded event, whether
// it was a resend of one already recorded, and the visit's status after it.
type EventResult struct {
	Event    RecordedEvent `json:"event"`
	Replayed bool          `json:"replayed"`
	Visit    struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"visit"`
}

// RecordVisitEvent reports ev on the provider's visit visitID.
func (c *Client) RecordVisitEvent(ctx context.Context, visitID string, ev VisitEvent) (*EventResult, error) {
	body := map[string]any{"event_id": ev.EventID, "type": ev.Type, "lat": ev.Lat, "lng": ev.Lng,
		"accuracy_m": ev.AccuracyM, "device_time": ev.DeviceTime.Format(time.RFC3339Nano)}
	if ev.Note != "" {
		body["note"] = ev.Note
	}
	var out EventResult
	if err := c.do(ctx, http.MethodPost, "/m/v1/visits/"+url.PathEscape(visitID)+"/events", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TimelineStep is one step of a request's status timeline for the family.
type TimelineStep struct {
	Type   string    `json:"type"`
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
}

// FamilyVisit is one of the linked resident's requests as the family sees
// it. ID (the visit's) and ProviderName are empty while nobody is
// assigned; ETAS is the estimated seconds to arrival while en route.
type FamilyVisit struct {
	ID           string         `json:"id"`
	RequestID    string         `json:"request_id"`
	Status       string         `json:"status"`
	ServiceCode  string         `json:"service_code"`
	ProviderName string         `json:"provider_name"`
	CreateTime   time.Time      `json:"create_time"`
	ETAS         *int           `json:"eta_s"`
	Events       []TimelineStep `json:"events"`
}

// FamilyVisits returns the linked resident's latest requests.
func (c *Client) FamilyVisits(ctx context.Context) ([]FamilyVisit, error) {
	var out struct {
		Visits []FamilyVisit `json:"visits"`
	}
	if err := c.do(ctx, http.MethodGet, "/m/v1/family/visits", nil, &out); err != nil {
		return nil, err
	}
	return out.Visits, nil
}

// FamilyRequest returns one of the linked resident's requests; another
// resident's is a 404 *Error, like one that does not exist.
func (c *Client) FamilyRequest(ctx context.Context, requestID string) (*FamilyVisit, error) {
	var out struct {
		Visit *FamilyVisit `json:"visit"`
	}
	if err := c.do(ctx, http.MethodGet, "/m/v1/family/requests/"+url.PathEscape(requestID), nil, &out); err != nil {
		return nil, err
	}
	if out.Visit == nil {
		return nil, fmt.Errorf("%w: family request answered without a visit", ErrBadAnswer)
	}
	return out.Visit, nil
}

// StreamFamily reads the family stream (Server-Sent Events) and calls fn
// with each request at the start and again whenever it changes; it ends as
// StreamOffers does.
func (c *Client) StreamFamily(ctx context.Context, fn func(FamilyVisit) error) error {
	return c.stream(ctx, "/m/v1/family/stream", "visit", func(data []byte) error {
		var v FamilyVisit
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("mobile API: visit event %.200q: %w", data, err)
		}
		return fn(v)
	})
}

// stream reads Server-Sent Events from path and passes the data of each
// event named want to fn; an "error" event ends it with an *Error.
func (c *Client) stream(ctx context.Context, path, want string, fn func(data []byte) error) error {
	resp, err := c.send(ctx, http.MethodGet, path, nil, "text/event-stream")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxAnswer)
	var event string
	var data []byte
	has := false // a data line was seen (it may be empty)
	for sc.Scan() {
		line := sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "": // the blank line ends an event
			name := event
			if name == "" {
				name = "message"
			}
			d, had := data, has
			event, data, has = "", nil, false
			switch {
			case !had:
			case name == want:
				if err := fn(d); err != nil {
					return err
				}
			case name == "error":
				var e Error
				var body struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				}
				_ = json.Unmarshal(d, &body)
				e.Status, e.Code, e.Message = resp.StatusCode, body.Code, body.Message
				return &e
			}
		case field == "": // a comment (keep-alive)
		case field == "event":
			event = value
		case field == "data":
			if has {
				data = append(data, '\n')
			}
			data, has = append(data, value...), true
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return sc.Err() // nil: the server ended the stream
}
