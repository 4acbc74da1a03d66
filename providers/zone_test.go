package providers_test

import (
	"context"
	"testing"

	"github.com/carehex/carehex/providers"
)

// TestFootprintAndDeleteZone: Footprint counts a zone's own keys, and
// DeleteZone removes them and nothing of another zone. Real servers only:
// miniredis has no MEMORY USAGE.
func TestFootprintAndDeleteZone(t *testing.T) {
	for _, b := range backends {
		if !b.shared { // miniredis
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			e, other := newEnv(t, b), newEnv(t, b)
			for i, id := range []string{"p1", "p2", "p3"} {
				hb := providers.Heartbeat{ProviderID: id, Position: at(zibo, float64(i)*3000, 0), AccuracyM: 10,
					Available: true, Skills: []string{"meal"}}
				if _, err := e.store.Heartbeat(ctx, hb); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := other.store.Heartbeat(ctx, providers.Heartbeat{ProviderID: "q1", Position: zibo, AccuracyM: 10,
				Available: true, Skills: []string{"meal"}}); err != nil {
				t.Fatal(err)
			}
			before, err := other.store.Footprint(ctx)
			if err != nil {
				t.Fatal(err)
			}

			fp, err := e.store.Footprint(ctx)
			if err != nil {
				t.Fatalf("Footprint: %v", err)
			}
			// Each available provider is in one index set per resolution;
			// 3 km apart, no two share a cell.
			if fp.IndexSets != 6 || fp.IndexMembers != 6 || fp.GeoBytes <= 0 || fp.Bytes <= fp.GeoBytes {
				t.Errorf("Footprint = %+v; want 6 sets of 1 member, a geo set and more bytes than it", fp)
			}

			if err := providers.DeleteZone(ctx, e.rdb, e.zone); err != nil {
				t.Fatalf("DeleteZone: %v", err)
			}
			if fp, err := e.store.Footprint(ctx); err != nil || fp != (providers.Footprint{}) {
				t.Errorf("after DeleteZone: %+v, %v; want nothing left", fp, err)
			}
			if lost, err := e.store.Lost(ctx); err != nil || !lost {
				t.Errorf("Lost after DeleteZone = %v, %v; want true", lost, err)
			}
			if after, err := other.store.Footprint(ctx); err != nil || after != before {
				t.Errorf("the other zone went from %+v to %+v (%v)", before, after, err)
			}
			if err := providers.DeleteZone(ctx, e.rdb, "bad zone"); err == nil {
				t.Error("DeleteZone of an invalid zone name succeeded")
			}
		})
	}
}
