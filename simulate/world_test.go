package simulate

import (
	"testing"
	"time"

	"github.com/carehex/carehex/catalog"
)

func TestGenerateShape(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, cst)
	w := Generate(3, day, "", 5000, 300, 4000, 0, 24*time.Hour, types)
	again := Generate(3, day, "", 5000, 300, 4000, 0, 24*time.Hour, types)
	if len(w.Calls) != 4000 || len(w.Providers) != 300 || len(w.Residents) != 5000 {
		t.Fatalf("got %d calls, %d providers, %d residents", len(w.Calls), len(w.Providers), len(w.Residents))
	}
	meals, night, nightEmergency, bathAfternoon, bath := 0, 0, 0, 0, 0
	byHour := map[int]map[string]int{}
	for i, c := range w.Calls {
		a := again.Calls[i]
		if c.At != a.At || c.Resident != a.Resident || c.Service.Code != a.Service.Code {
			t.Fatalf("call %d differs between two draws of the same seed", i)
		}
		if i > 0 && c.At < w.Calls[i-1].At {
			t.Fatalf("calls out of order at %d", i)
		}
		h := int(c.At.Hours())
		if byHour[h] == nil {
			byHour[h] = map[string]int{}
		}
		byHour[h][c.Service.RequiredSkill]++
		switch {
		case c.Service.RequiredSkill == "meal_service":
			meals++
		case c.Service.RequiredSkill == "bathing":
			bath++
			if h >= 14 {
				bathAfternoon++
			}
		}
		if h < 5 {
			night++
			if c.Emergency {
				nightEmergency++
			}
		}
		if c.Emergency != (string(c.Service.Category) == "emergency") {
			t.Fatalf("call %d: emergency %v but service %s", i, c.Emergency, c.Service.Code)
		}
	}
	if meals < 1000 || meals > 1400 {
		t.Errorf("meals = %d of 4000, want about 30%%", meals)
	}
	if byHour[11]["meal_service"] < 4*byHour[14]["meal_service"] {
		t.Errorf("meals at 11h %d, at 14h %d: the lunch round should dominate", byHour[11]["meal_service"], byHour[14]["meal_service"])
	}
	if night == 0 || nightEmergency != night {
		t.Errorf("calls before 05:00: %d, emergencies among them %d: want only emergencies at night, and some", night, nightEmergency)
	}
	if bath == 0 || bathAfternoon*4 > bath {
		t.Errorf("bathing: %d, of which %d after 14h: want mostly mornings", bath, bathAfternoon)
	}
	for _, sp := range w.Providers {
		if len(sp.Online) == 0 || sp.SpeedKmh <= 0 {
			t.Fatalf("provider %s: online %v, speed %v", sp.P.Phone, sp.Online, sp.SpeedKmh)
		}
		for _, win := range sp.Online {
			if win.StartS < 0 || win.EndS > 24*3600 || win.EndS <= win.StartS {
				t.Fatalf("provider %s: bad window %+v", sp.P.Phone, win)
			}
		}
	}
}

func TestGenerateDistrictAndWindow(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	w := Generate(1, time.Date(2026, 3, 2, 0, 0, 0, 0, cst), "淄川区", 300, 40, 200, 9*time.Hour, 10*time.Hour, types)
	if len(w.Residents) != 300 || len(w.Providers) != 40 {
		t.Fatalf("got %d residents, %d providers", len(w.Residents), len(w.Providers))
	}
	for _, r := range w.Residents {
		if r.District != "淄川区" {
			t.Fatalf("resident in %s", r.District)
		}
	}
	for _, c := range w.Calls {
		if c.At < 9*time.Hour || c.At >= 10*time.Hour {
			t.Fatalf("call at %s, outside 09:00-10:00", c.At)
		}
	}
}
