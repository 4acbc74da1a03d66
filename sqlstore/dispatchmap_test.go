package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// TestDispatchMap checks the map's counts against the same count done point
// by point in Go, on a roster and a queue larger than the old caps (1,000
// providers, 500 requests), with inactive providers and finished requests
// left out.
func TestDispatchMap(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// Homes kilometres apart, two of them 450 m apart, so that cells
		// merge at coarse resolutions and split at fine ones.
		points := []carehex.LatLng{{Lat: 36.8000, Lng: 118.0500}, {Lat: 36.8130, Lng: 118.0710},
			{Lat: 36.7710, Lng: 118.1020}, {Lat: 36.8001, Lng: 118.0550}}
		var residents []*carehex.Resident
		for i, p := range points {
			r := resident(fmt.Sprintf("居民%d", i), fmt.Sprintf("1390533%04d", i))
			r.Location = p
			residents = append(residents, mustCreateResident(t, e, r))
		}
		inactive := mustCreateProvider(t, e, "赵强")
		if _, err := e.db.Exec(e.rebind(`UPDATE providers SET active = 0 WHERE id = ?`), inactive.ID); err != nil {
			t.Fatal(err)
		}

		const nProviders, nOpen = 1200, 600
		open := []carehex.Status{carehex.StatusPending, carehex.StatusOffered, carehex.StatusAssigned,
			carehex.StatusEnRoute, carehex.StatusInProgress}
		closed := []carehex.Status{carehex.StatusCompleted, carehex.StatusCancelled, carehex.StatusUnfilled}
		wantProviders := map[carehex.LatLng]int{inactive.Home: 0}
		wantRequests := map[carehex.LatLng]int{}
		err := e.inTx(ctx, "seed map", func(tx *sql.Tx) error {
			for i := range nProviders {
				p := points[i%len(points)]
				cell, err := geo.CellOf(p, geo.ResidentRes)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, e.rebind(`INSERT INTO providers (id, name, phone, lat, lng, cell, active, create_time)
					VALUES (?, ?, '13700000000', ?, ?, ?, 1, 1)`), fmt.Sprintf("prv_map_%05d", i), "护理员", p.Lat, p.Lng, int64(cell)); err != nil {
					return err
				}
				wantProviders[p]++
			}
			for i := range nOpen + len(closed) {
				who := residents[i%len(residents)]
				status := open[i%len(open)]
				if i >= nOpen {
					status = closed[i-nOpen]
				} else {
					wantRequests[who.Location]++
				}
				if _, err := tx.ExecContext(ctx, e.rebind(`INSERT INTO service_requests (id, resident_id, service_code, urgency, status, created_by, create_time, update_time)
					VALUES (?, ?, 'meal_delivery', ?, ?, 'user:test', 1, 1)`), fmt.Sprintf("req_map_%05d", i), who.ID,
					string(carehex.UrgencySoon), string(status)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("seed: %v", err)
		}

		for _, res := range []int{5, geo.IndexRes, geo.ResidentRes} {
			want := map[carehex.Cell]carehex.CellCount{}
			add := func(p carehex.LatLng, providers, requests int) {
				c, err := geo.CellOf(p, res)
				if err != nil {
					t.Fatal(err)
				}
				cc := want[c]
				cc.Cell, cc.Providers, cc.Requests = c, cc.Providers+providers, cc.Requests+requests
				want[c] = cc
			}
			for p, n := range wantProviders {
				if n > 0 {
					add(p, n, 0)
				}
			}
			for p, n := range wantRequests {
				add(p, 0, n)
			}
			got, err := e.DispatchMap(ctx, res)
			if err != nil {
				t.Fatalf("DispatchMap(%d): %v", res, err)
			}
			if !slices.IsSortedFunc(got, func(a, b carehex.CellCount) int { return cmp.Compare(a.Cell, b.Cell) }) {
				t.Errorf("res %d: cells not in order: %v", res, got)
			}
			total := carehex.CellCount{}
			for _, cc := range got {
				if w, ok := want[cc.Cell]; !ok || w != cc {
					t.Errorf("res %d: cell %s = %+v, want %+v", res, geo.String(cc.Cell), cc, w)
				}
				total.Providers += cc.Providers
				total.Requests += cc.Requests
			}
			if len(got) != len(want) || total.Providers != nProviders || total.Requests != nOpen {
				t.Errorf("res %d: %d cells with %d providers and %d requests, want %d cells, %d and %d",
					res, len(got), total.Providers, total.Requests, len(want), nProviders, nOpen)
			}
		}
		if _, err := e.DispatchMap(ctx, 16); carehex.ErrorCode(err) != carehex.EINVALID || carehex.ErrorField(err) != "resolution" {
			t.Errorf("resolution 16: err = %v, want invalid naming resolution", err)
		}
	})
}
