package main

import (
	"context"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/sqlstore"
)

// TestSimulatedDayRaisesNoFraud: the small preset's simulated day is
// normal work (carers moving between homes at their speed, jittered fixes),
// so the fraud signals raise nothing on it at the default settings.
func TestSimulatedDayRaisesNoFraud(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a simulated morning: a minute or more")
	}
	dir, _ := simulatedDay(t)
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, dir+"/carehex.db", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := carehex.Month{Year: 2026, Month: time.March}
	from, to := m.Bounds(settleZone)
	vs, err := store.FraudVisits(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	judged := 0
	for _, v := range vs {
		if v.InPeriod && v.HasArrivePos {
			judged++
		}
	}
	if judged < 20 {
		t.Fatalf("only %d checked-in visits to judge in the simulated day", judged)
	}
	flags := carehex.DetectFraud(vs, carehex.DefaultFraudSettings(), settleZone)
	for _, f := range flags {
		t.Errorf("visit %s flagged %s: %s", f.VisitID, f.Signal, f.Evidence)
	}
	t.Logf("%d visits judged, %d flags", judged, len(flags))
}
