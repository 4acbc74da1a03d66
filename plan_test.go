package carehex_test

import (
	"errors"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/plan/rrule"
)

func day(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02", s, carehex.CST)
	if err != nil {
		panic(err)
	}
	return t
}

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, carehex.CST)
	if err != nil {
		panic(err)
	}
	return t
}

func validPlan() *carehex.CarePlan {
	return &carehex.CarePlan{
		ID: "pl1", ResidentID: "res1", StartDate: day("2026-12-07"), // a Monday
		FundingNote: "区级居家养老补贴",
		Items: []carehex.PlanItem{
			{ID: "meal", ServiceCode: "DL-MEAL-DELIVERY", RRule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
				WindowStart: 11 * 60, WindowEnd: 12*60 + 30, Duration: 30 * time.Minute},
			{ID: "bath", ServiceCode: "DL-BATH-HOME", RRule: "FREQ=WEEKLY;BYDAY=TU",
				WindowStart: 9 * 60, WindowEnd: 11 * 60, Duration: time.Hour, PreferredProviderIDs: []string{"prv1"}},
			{ID: "clean", ServiceCode: "DL-CLEAN-ROUTINE", RRule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
				WindowStart: 14 * 60, WindowEnd: 17 * 60, Duration: 2 * time.Hour},
		},
	}
}

func TestCarePlanValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *carehex.CarePlan)
		field string
	}{
		{"valid", func(*carehex.CarePlan) {}, ""},
		{"no resident", func(p *carehex.CarePlan) { p.ResidentID = " " }, "resident_id"},
		{"no start", func(p *carehex.CarePlan) { p.StartDate = time.Time{} }, "start_date"},
		{"end before start", func(p *carehex.CarePlan) { p.EndDate = day("2026-12-06") }, "end_date"},
		{"end on start day", func(p *carehex.CarePlan) { p.EndDate = day("2026-12-07") }, ""},
		{"no items", func(p *carehex.CarePlan) { p.Items = nil }, "items"},
		{"no service", func(p *carehex.CarePlan) { p.Items[1].ServiceCode = "" }, "items[1].service_code"},
		{"no rrule", func(p *carehex.CarePlan) { p.Items[0].RRule = "" }, "items[0].rrule"},
		{"bad rrule", func(p *carehex.CarePlan) { p.Items[2].RRule = "FREQ=SOMETIMES" }, "items[2].rrule"},
		{"never occurs", func(p *carehex.CarePlan) { p.Items[1].RRule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30" }, "items[1].rrule"},
		{"leap day", func(p *carehex.CarePlan) { p.Items[1].RRule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29" }, ""},
		{"bad byday", func(p *carehex.CarePlan) { p.Items[2].RRule = "FREQ=WEEKLY;BYDAY=XX" }, "items[2].rrule"},
		{"hourly", func(p *carehex.CarePlan) { p.Items[0].RRule = "FREQ=HOURLY" }, "items[0].rrule"},
		{"byhour", func(p *carehex.CarePlan) { p.Items[0].RRule = "FREQ=DAILY;BYHOUR=9" }, "items[0].rrule"},
		{"own dtstart", func(p *carehex.CarePlan) { p.Items[0].RRule = "DTSTART:20261207T090000Z\nFREQ=DAILY" }, "items[0].rrule"},
		{"window start", func(p *carehex.CarePlan) { p.Items[0].WindowStart = -1 }, "items[0].window_start"},
		{"window end before start", func(p *carehex.CarePlan) { p.Items[0].WindowEnd = 10 * 60 }, "items[0].window_end"},
		{"window past midnight", func(p *carehex.CarePlan) { p.Items[0].WindowEnd = 24*60 + 1 }, "items[0].window_end"},
		{"zero duration", func(p *carehex.CarePlan) { p.Items[0].Duration = 0 }, "items[0].duration"},
		{"odd duration", func(p *carehex.CarePlan) { p.Items[0].Duration = 90 * time.Second }, "items[0].duration"},
		{"duration beyond window", func(p *carehex.CarePlan) { p.Items[0].Duration = 2 * time.Hour }, "items[0].duration"},
		{"pause without to", func(p *carehex.CarePlan) {
			p.Pauses = []carehex.PlanPause{{From: day("2026-12-08")}}
		}, "pauses[0].to"},
		{"pause backwards", func(p *carehex.CarePlan) {
			p.Pauses = []carehex.PlanPause{{From: day("2026-12-08"), To: day("2026-12-07")}}
		}, "pauses[0].to"},
		{"funding note not text", func(p *carehex.CarePlan) { p.FundingNote = "a\x00b" }, "funding_note"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPlan()
			tc.edit(p)
			err := p.Validate(rrule.Parse)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var e *carehex.Error
			if !errors.As(err, &e) || e.Code != carehex.EINVALID || e.Field != tc.field {
				t.Fatalf("Validate = %v, want invalid %s", err, tc.field)
			}
		})
	}
}

func TestCarePlanOccurrences(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(p *carehex.CarePlan)
		from, to string
		want     []string // "item@2006-01-02 15:04" in order
	}{
		{"first week", func(*carehex.CarePlan) {}, "2026-12-07", "2026-12-14", []string{
			"meal@2026-12-07 11:00", "bath@2026-12-08 09:00", "meal@2026-12-08 11:00", "meal@2026-12-09 11:00",
			"meal@2026-12-10 11:00", "meal@2026-12-11 11:00", "clean@2026-12-11 14:00"}},
		{"every other friday skips the second", func(p *carehex.CarePlan) { p.Items = p.Items[2:] },
			"2026-12-07", "2026-12-28", []string{"clean@2026-12-11 14:00", "clean@2026-12-25 14:00"}},
		{"window before the plan starts", func(p *carehex.CarePlan) { p.Items = p.Items[1:2] },
			"2026-11-01", "2026-12-09", []string{"bath@2026-12-08 09:00"}},
		{"end date inclusive", func(p *carehex.CarePlan) { p.Items = p.Items[:1]; p.EndDate = day("2026-12-08") },
			"2026-12-01", "2026-12-31", []string{"meal@2026-12-07 11:00", "meal@2026-12-08 11:00"}},
		{"hospital stay", func(p *carehex.CarePlan) {
			p.Items = p.Items[:1]
			p.Pauses = []carehex.PlanPause{{From: day("2026-12-08"), To: day("2026-12-10"), Reason: "住院"}}
		}, "2026-12-07", "2026-12-12", []string{"meal@2026-12-07 11:00", "meal@2026-12-11 11:00"}},
		{"monthly on the first", func(p *carehex.CarePlan) {
			p.Items = []carehex.PlanItem{{ID: "check", ServiceCode: "HC-BP", RRule: "FREQ=MONTHLY;BYMONTHDAY=1",
				WindowStart: 8 * 60, WindowEnd: 10 * 60, Duration: 20 * time.Minute}}
		}, "2026-12-07", "2027-03-01", []string{"check@2027-01-01 08:00", "check@2027-02-01 08:00"}},
		{"from mid-day still holds that day's visit", func(p *carehex.CarePlan) { p.Items = p.Items[:1] },
			"2026-12-09", "2026-12-10", []string{"meal@2026-12-09 11:00"}},
		{"empty range", func(*carehex.CarePlan) {}, "2026-12-09", "2026-12-09", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPlan()
			tc.edit(p)
			if err := p.Validate(rrule.Parse); err != nil {
				t.Fatal(err)
			}
			vs, err := p.Occurrences(rrule.Parse, day(tc.from), day(tc.to))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vs {
				got = append(got, v.ItemID+"@"+v.Earliest.In(carehex.CST).Format("2006-01-02 15:04"))
				if v.ID != carehex.PlannedVisitID(p.ID, v.ItemID, v.Earliest) || v.ResidentID != p.ResidentID {
					t.Errorf("visit %+v: wrong ID or resident", v)
				}
				if v.LatestStart().Before(v.Earliest) {
					t.Errorf("visit %s cannot fit its window", v.ID)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestTravelTime(t *testing.T) {
	tests := []struct {
		mode carehex.TravelMode
		m    float64
		want time.Duration
	}{
		{carehex.TravelWalk, 1000, 18 * time.Minute}, // 1.3 km at 4.5 km/h = 17.3 min
		{carehex.TravelEBike, 1000, 6 * time.Minute}, // 1.3 km at 15 km/h = 5.2 min
		{carehex.TravelCar, 10000, 32 * time.Minute}, // 13 km at 25 km/h = 31.2 min
		{carehex.TravelCar, 0, 0},
		{carehex.TravelMode("horse"), 1000, 0},
	}
	for _, tc := range tests {
		if got := tc.mode.TravelTime(tc.m); got != tc.want {
			t.Errorf("%s %v m: %v, want %v", tc.mode, tc.m, got, tc.want)
		}
	}
}

func validHours() *carehex.WorkingHours {
	return &carehex.WorkingHours{
		ProviderID: "prv1",
		Weekly: []carehex.Shift{
			{Weekday: time.Monday, Start: 8 * 60, End: 12 * 60},
			{Weekday: time.Monday, Start: 13 * 60, End: 17 * 60},
			{Weekday: time.Tuesday, Start: 8 * 60, End: 17 * 60},
		},
		TimeOff:         []carehex.TimeOff{{From: at("2026-12-08 00:00"), To: at("2026-12-09 00:00"), Reason: "病假"}},
		MaxVisitsPerDay: 8, MaxWorkPerDay: 6 * time.Hour, Mode: carehex.TravelEBike,
		Home: carehex.LatLng{Lat: 36.80, Lng: 118.05},
	}
}

func TestWorkingHoursValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(w *carehex.WorkingHours)
		field string
	}{
		{"valid", func(*carehex.WorkingHours) {}, ""},
		{"no provider", func(w *carehex.WorkingHours) { w.ProviderID = "" }, "provider_id"},
		{"bad weekday", func(w *carehex.WorkingHours) { w.Weekly[0].Weekday = 7 }, "weekly[0].weekday"},
		{"end before start", func(w *carehex.WorkingHours) { w.Weekly[2].End = 7 * 60 }, "weekly[2].end"},
		{"overlapping shifts", func(w *carehex.WorkingHours) { w.Weekly[1].Start = 11 * 60 }, "weekly[1]"},
		{"time off backwards", func(w *carehex.WorkingHours) { w.TimeOff[0].To = w.TimeOff[0].From }, "time_off[0].to"},
		{"max visits", func(w *carehex.WorkingHours) { w.MaxVisitsPerDay = 0 }, "max_visits_per_day"},
		{"max work", func(w *carehex.WorkingHours) { w.MaxWorkPerDay = 20 * time.Hour }, "max_work_per_day"},
		{"mode", func(w *carehex.WorkingHours) { w.Mode = "scooter" }, "travel_mode"},
		{"home", func(w *carehex.WorkingHours) { w.Home.Lat = 91 }, "home.lat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := validHours()
			tc.edit(w)
			err := w.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var e *carehex.Error
			if !errors.As(err, &e) || e.Code != carehex.EINVALID || e.Field != tc.field {
				t.Fatalf("Validate = %v, want invalid %s", err, tc.field)
			}
		})
	}
}

func TestWorkingHoursShifts(t *testing.T) {
	w := validHours()
	tests := []struct {
		name       string
		start, end string
		inShift    bool
		off        bool
		on         bool // at start
	}{
		{"morning", "2026-12-07 09:00", "2026-12-07 10:00", true, false, true},
		{"to the end of the shift", "2026-12-07 11:00", "2026-12-07 12:00", true, false, true},
		{"across lunch", "2026-12-07 11:30", "2026-12-07 13:30", false, false, true},
		{"before work", "2026-12-07 07:30", "2026-12-07 08:30", false, false, false},
		{"sick on tuesday", "2026-12-08 09:00", "2026-12-08 10:00", true, true, false},
		{"wednesday off", "2026-12-09 09:00", "2026-12-09 10:00", false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, ok := w.ShiftAt(at(tc.start), at(tc.end))
			if ok != tc.inShift {
				t.Errorf("ShiftAt = %v, want %v", ok, tc.inShift)
			}
			if off := w.Off(at(tc.start), at(tc.end)); off != tc.off {
				t.Errorf("Off = %v, want %v", off, tc.off)
			}
			if on := w.OnShift(at(tc.start)); on != tc.on {
				t.Errorf("OnShift = %v", on)
			}
		})
	}
}
