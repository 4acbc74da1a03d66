package carehex_test

import (
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// TestTransitionsExhaustive checks every (from, to) pair of statuses against
// the policy drawn as a grid: a row per "from", a column per "to", in the
// order of carehex.Statuses; X means allowed. Changing the state machine
// means changing both the table and this picture, on purpose.
func TestTransitionsExhaustive(t *testing.T) {
	//            pend offr asgn enrt prog done canc unfl
	grid := map[carehex.Status]string{
		carehex.StatusPending:    ".    X    X    .    .    .    X    X",
		carehex.StatusOffered:    "X    .    X    .    .    .    X    X",
		carehex.StatusAssigned:   "X    .    .    X    X    .    X    .",
		carehex.StatusEnRoute:    "X    .    .    .    X    .    X    .",
		carehex.StatusInProgress: ".    .    .    .    .    X    X    .",
		carehex.StatusCompleted:  ".    .    .    .    .    .    .    .",
		carehex.StatusCancelled:  ".    .    .    .    .    .    .    .",
		carehex.StatusUnfilled:   "X    .    .    .    .    .    X    .",
	}
	if len(grid) != len(carehex.Statuses) || len(carehex.Transitions) != len(carehex.Statuses) {
		t.Fatalf("grid has %d rows, Transitions %d, Statuses %d", len(grid), len(carehex.Transitions), len(carehex.Statuses))
	}
	for _, from := range carehex.Statuses {
		cells := strings.Fields(grid[from])
		if len(cells) != len(carehex.Statuses) {
			t.Fatalf("grid row %s has %d cells", from, len(cells))
		}
		for i, to := range carehex.Statuses {
			want := cells[i] == "X"
			if got := carehex.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
}

// TestTransitionsReachability: every status is reachable from pending, every
// non-terminal status can still be cancelled, and only completed and
// cancelled are terminal.
func TestTransitionsReachability(t *testing.T) {
	seen := map[carehex.Status]bool{carehex.StatusPending: true}
	queue := []carehex.Status{carehex.StatusPending}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, n := range carehex.Transitions[s] {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	for _, s := range carehex.Statuses {
		if !seen[s] {
			t.Errorf("%s is unreachable from pending", s)
		}
		terminal := s == carehex.StatusCompleted || s == carehex.StatusCancelled
		if s.Terminal() != terminal {
			t.Errorf("%s.Terminal() = %v", s, s.Terminal())
		}
		if !terminal && !carehex.CanTransition(s, carehex.StatusCancelled) {
			t.Errorf("%s cannot be cancelled", s)
		}
		if carehex.CanTransition(s, s) {
			t.Errorf("%s may transition to itself", s)
		}
	}
}

func TestServiceRequestValidate(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	ok := func() *carehex.ServiceRequest {
		return &carehex.ServiceRequest{ResidentID: "res_1", ServiceCode: "DL-MEAL", Urgency: carehex.UrgencySoon}
	}
	tests := []struct {
		name  string
		edit  func(r *carehex.ServiceRequest)
		field string // "" means valid
	}{
		{"valid soon", func(r *carehex.ServiceRequest) {}, ""},
		{"valid scheduled", func(r *carehex.ServiceRequest) {
			r.Urgency, r.WindowStart, r.WindowEnd = carehex.UrgencyScheduled, now.Add(time.Hour), now.Add(2*time.Hour)
		}, ""},
		{"no resident", func(r *carehex.ServiceRequest) { r.ResidentID = "" }, "resident_id"},
		{"no service", func(r *carehex.ServiceRequest) { r.ServiceCode = "" }, "service_code"},
		{"no urgency", func(r *carehex.ServiceRequest) { r.Urgency = "" }, "urgency"},
		{"bogus urgency", func(r *carehex.ServiceRequest) { r.Urgency = "now!" }, "urgency"},
		{"window on soon", func(r *carehex.ServiceRequest) { r.WindowStart = now }, "window_start_time"},
		{"scheduled without start", func(r *carehex.ServiceRequest) { r.Urgency = carehex.UrgencyScheduled }, "window_start_time"},
		{"scheduled without end", func(r *carehex.ServiceRequest) {
			r.Urgency, r.WindowStart = carehex.UrgencyScheduled, now.Add(time.Hour)
		}, "window_end_time"},
		{"end before start", func(r *carehex.ServiceRequest) {
			r.Urgency, r.WindowStart, r.WindowEnd = carehex.UrgencyScheduled, now.Add(2*time.Hour), now.Add(time.Hour)
		}, "window_end_time"},
		{"in the past", func(r *carehex.ServiceRequest) {
			r.Urgency, r.WindowStart, r.WindowEnd = carehex.UrgencyScheduled, now.Add(-3*time.Hour), now.Add(-2*time.Hour)
		}, "window_end_time"},
		{"too far ahead", func(r *carehex.ServiceRequest) {
			r.Urgency, r.WindowStart, r.WindowEnd = carehex.UrgencyScheduled, now.Add(100*24*time.Hour), now.Add(101*24*time.Hour)
		}, "window_start_time"},
		{"long notes", func(r *carehex.ServiceRequest) { r.Notes = strings.Repeat("字", carehex.MaxTextLen+1) }, "notes"},
		{"bad utf8 notes", func(r *carehex.ServiceRequest) { r.Notes = "\xff" }, "notes"},
		{"long key", func(r *carehex.ServiceRequest) { r.IdempotencyKey = strings.Repeat("k", 201) }, "idempotency_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok()
			tt.edit(r)
			err := r.Validate(now)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != tt.field {
				t.Fatalf("Validate() = %v, want invalid %s", err, tt.field)
			}
		})
	}
}

func TestResidentValidate(t *testing.T) {
	ok := func() *carehex.Resident {
		return &carehex.Resident{Name: "张桂兰", Phone: "13905330001", Address: "张店区华光路56号",
			Location: carehex.LatLng{Lat: 36.8, Lng: 118.05}}
	}
	tests := []struct {
		name  string
		edit  func(r *carehex.Resident)
		field string
	}{
		{"valid", func(r *carehex.Resident) {}, ""},
		{"valid id number", func(r *carehex.Resident) { r.IDNumber = "370303194503120029" }, ""},
		{"valid id number ending in X", func(r *carehex.Resident) { r.IDNumber = "37030319450312007X" }, ""},
		{"id number with a wrong check digit", func(r *carehex.Resident) { r.IDNumber = "370303194503120028" }, "id_number"},
		{"id number with X for a digit", func(r *carehex.Resident) { r.IDNumber = "37030319450312002X" }, "id_number"},
		{"15-digit first-generation id number", func(r *carehex.Resident) { r.IDNumber = "370303450312002" }, "id_number"},
		{"id number with a letter inside", func(r *carehex.Resident) { r.IDNumber = "3703031945031A0029" }, "id_number"},
		{"name with a bell", func(r *carehex.Resident) { r.Name = "张\a桂兰" }, "name"},
		{"name with a newline", func(r *carehex.Resident) { r.Name = "张桂兰\n王强" }, "name"},
		{"name with a C1 control", func(r *carehex.Resident) { r.Name = "张\u0085桂兰" }, "name"},
		{"name with right-to-left override", func(r *carehex.Resident) { r.Name = "张\u202e兰桂" }, "name"},
		{"name with a left-to-right isolate", func(r *carehex.Resident) { r.Name = "\u2066张桂兰\u2069" }, "name"},
		{"address with a newline", func(r *carehex.Resident) { r.Address = "张店区\n华光路56号" }, "address"},
		{"address with a tab", func(r *carehex.Resident) { r.Address = "张店区\t华光路56号" }, "address"},
		{"address with pop directional formatting", func(r *carehex.Resident) { r.Address = "张店区\u202c华光路" }, "address"},
		{"district with a line separator", func(r *carehex.Resident) { r.District = "张店\u2028区" }, "district"},
		{"contact name with an escape", func(r *carehex.Resident) {
			r.EmergencyContacts = []carehex.Contact{{Name: "儿子\x1b[31m", Phone: "13905330002"}}
		}, "emergency_contacts.name"},
		{"empty name", func(r *carehex.Resident) { r.Name = "  " }, "name"},
		{"long name", func(r *carehex.Resident) { r.Name = strings.Repeat("张", 101) }, "name"},
		{"phone letters", func(r *carehex.Resident) { r.Phone = "1390abc0001" }, "phone"},
		{"phone short", func(r *carehex.Resident) { r.Phone = "123" }, "phone"},
		{"no address", func(r *carehex.Resident) { r.Address = "" }, "address"},
		{"lat 91", func(r *carehex.Resident) { r.Location.Lat = 91 }, "location.lat"},
		{"lng 181", func(r *carehex.Resident) { r.Location.Lng = 181 }, "location.lng"},
		{"no location", func(r *carehex.Resident) { r.Location = carehex.LatLng{} }, "location"},
		{"bad id number", func(r *carehex.Resident) { r.IDNumber = "1234" }, "id_number"},
		{"bad gender", func(r *carehex.Resident) { r.Gender = "other?" }, "gender"},
		{"bad birth year", func(r *carehex.Resident) { r.BirthYear = 1800 }, "birth_year"},
		{"contact without phone", func(r *carehex.Resident) {
			r.EmergencyContacts = []carehex.Contact{{Name: "儿子"}}
		}, "emergency_contacts.phone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok()
			tt.edit(r)
			err := r.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != tt.field {
				t.Fatalf("Validate() = %v, want invalid %s", err, tt.field)
			}
		})
	}
}

func TestValidateText(t *testing.T) {
	tests := []struct {
		v    string
		kind carehex.TextKind
		ok   bool
	}{
		{"王秀英", carehex.SingleLine, true},
		{"Zhang Wei-Ling O'Brien", carehex.SingleLine, true},
		{"", carehex.SingleLine, true},
		{"张\u200d桂兰", carehex.SingleLine, true}, // zero-width joiner is not a control or override
		{"第一行\n第二行\r\n\t缩进", carehex.MultiLine, true},
		{"第一行\n第二行", carehex.SingleLine, false},
		{"bell\a", carehex.MultiLine, false},
		{"nul\x00", carehex.MultiLine, false},
		{"del\x7f", carehex.SingleLine, false},
		{"\u202a\u202b\u202c\u202d\u202e", carehex.MultiLine, false},
		{"\u2067x", carehex.MultiLine, false},
		{"bad \xff utf-8", carehex.SingleLine, false},
		{strings.Repeat("老", 31), carehex.SingleLine, false},
	}
	for _, tt := range tests {
		err := carehex.ValidateText("name", tt.v, 30, tt.kind)
		if tt.ok && err != nil {
			t.Errorf("ValidateText(%q) = %v, want ok", tt.v, err)
		}
		if !tt.ok && (carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != "name") {
			t.Errorf("ValidateText(%q) = %v, want invalid naming name", tt.v, err)
		}
	}
}

// TestIDCheckDigit checks the check digit against numbers worked by hand
// from GB 11643-1999's weights, and that every number it completes is valid
// and every other last character is not.
func TestIDCheckDigit(t *testing.T) {
	for first17, want := range map[string]byte{
		"11010519491231002": 'X', // the standard's own example
		"37030319450312002": '9',
		"37030319450312007": 'X',
	} {
		if got := carehex.IDCheckDigit(first17); got != want {
			t.Errorf("IDCheckDigit(%s) = %c, want %c", first17, got, want)
		}
		for _, last := range "0123456789X" {
			err := carehex.ValidateIDNumber("id_number", first17+string(last))
			if (byte(last) == want) != (err == nil) {
				t.Errorf("ValidateIDNumber(%s%c) = %v", first17, last, err)
			}
		}
	}
}
