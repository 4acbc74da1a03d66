// Package matching measures how well requests are matched to providers: it
// replays a recorded day (requests with time, place and service; providers
// with their start positions, skills, speeds and online hours) through
// three policies side by side — the live dispatcher's greedy ranking, a
// batched optimal assignment every few seconds, and a hindsight bound that
// knows the whole day in advance — and owns the assignment solver they
// share (Hungarian method, Assign).
//
// The replay is a model, not the server: providers always accept at once,
// travel in straight lines times a detour factor at their own speed, and
// serve for the recorded duration. What it isolates is the policy: who is
// sent where, and what that costs in travel and in waiting.
package matching

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// DetourFactor turns a straight line into a road distance: streets are not
// straight. 1.3 is the usual urban circuity factor.
const DetourFactor = 1.3

// Day is one recorded simulated day. Times are seconds after the day's
// local midnight.
type Day struct {
	Meta      Meta
	Providers []Provider
	Requests  []Request
	Outcomes  []Outcome // what the live server did, when recorded
}

// Meta describes the recording.
type Meta struct {
	Kind      string  `json:"kind"` // "meta"
	Seed      uint64  `json:"seed"`
	Date      string  `json:"date"` // YYYY-MM-DD, China Standard Time
	Residents int     `json:"residents"`
	StartS    float64 `json:"start_s"`
	EndS      float64 `json:"end_s"`
}

// Window is an interval [StartS, EndS) in seconds after midnight.
type Window struct {
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
}

// Provider is a care worker as the replay needs them.
type Provider struct {
	Kind     string   `json:"kind"` // "provider"
	ID       string   `json:"id"`
	Lat      float64  `json:"lat"`
	Lng      float64  `json:"lng"`
	Skills   []string `json:"skills"`
	SpeedKmh float64  `json:"speed_kmh"`
	Online   []Window `json:"online"` // when the phone said available
}

// Request is one call to the hotline.
type Request struct {
	Kind      string  `json:"kind"` // "request"
	ID        string  `json:"id"`
	TS        float64 `json:"t_s"`
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	Service   string  `json:"service"`
	Skill     string  `json:"skill"`
	DurationS float64 `json:"duration_s"`
	Emergency bool    `json:"emergency"`
	District  string  `json:"district"`
}

// Outcome is what happened to a request on the live server.
type Outcome struct {
	Kind     string  `json:"kind"` // "outcome"
	ID       string  `json:"id"`
	Matched  bool    `json:"matched"`
	AcceptS  float64 `json:"accept_s,omitempty"` // seconds from request to acceptance
	ArriveS  float64 `json:"arrive_s,omitempty"` // seconds from request to arrival
	TravelKM float64 `json:"travel_km,omitempty"`
	Offers   int     `json:"offers"`
	Provider string  `json:"provider,omitempty"`
}

func (p *Provider) pos() carehex.LatLng { return carehex.LatLng{Lat: p.Lat, Lng: p.Lng} }
func (r *Request) pos() carehex.LatLng  { return carehex.LatLng{Lat: r.Lat, Lng: r.Lng} }

// RoadKM is the road distance estimate between two points.
func RoadKM(a, b carehex.LatLng) float64 { return geo.DistanceM(a, b) * DetourFactor / 1000 }

// online reports whether the provider is online at t.
func (p *Provider) online(t float64) bool {
	for _, w := range p.Online {
		if t >= w.StartS && t < w.EndS {
			return true
		}
	}
	return false
}

// onlineDuring reports whether the provider is online at some time in [from, to].
func (p *Provider) onlineDuring(from, to float64) bool {
	for _, w := range p.Online {
		if w.StartS <= to && w.EndS > from {
			return true
		}
	}
	return false
}

func (p *Provider) has(skill string) bool {
	for _, s := range p.Skills {
		if s == skill {
			return true
		}
	}
	return false
}

// Write writes d as JSON lines: the meta line, then providers, requests and
// outcomes, one object each.
func (d *Day) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	d.Meta.Kind = "meta"
	if err := enc.Encode(d.Meta); err != nil {
		return err
	}
	for i := range d.Providers {
		d.Providers[i].Kind = "provider"
		if err := enc.Encode(&d.Providers[i]); err != nil {
			return err
		}
	}
	for i := range d.Requests {
		d.Requests[i].Kind = "request"
		if err := enc.Encode(&d.Requests[i]); err != nil {
			return err
		}
	}
	for i := range d.Outcomes {
		d.Outcomes[i].Kind = "outcome"
		if err := enc.Encode(&d.Outcomes[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Read parses a day written by Write, naming the line of the first error.
func Read(r io.Reader) (*Day, error) {
	d := &Day{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	line := 0
	sawMeta := false
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var k struct{ Kind string }
		if err := json.Unmarshal(b, &k); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		var err error
		switch k.Kind {
		case "meta":
			err = json.Unmarshal(b, &d.Meta)
			sawMeta = true
		case "provider":
			var p Provider
			if err = json.Unmarshal(b, &p); err == nil {
				if p.SpeedKmh <= 0 || math.IsNaN(p.SpeedKmh) {
					err = fmt.Errorf("provider %s: speed_kmh must be positive", p.ID)
				}
				d.Providers = append(d.Providers, p)
			}
		case "request":
			var q Request
			if err = json.Unmarshal(b, &q); err == nil {
				d.Requests = append(d.Requests, q)
			}
		case "outcome":
			var o Outcome
			if err = json.Unmarshal(b, &o); err == nil {
				d.Outcomes = append(d.Outcomes, o)
			}
		default:
			err = fmt.Errorf("unknown kind %q (want meta, provider, request or outcome)", k.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !sawMeta {
		return nil, fmt.Errorf("no meta line: not a day recorded by carehex simulate --record")
	}
	return d, nil
}
