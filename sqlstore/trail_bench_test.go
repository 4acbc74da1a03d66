package sqlstore

import (
	"testing"

	"github.com/carehex/carehex"
)

// BenchmarkCreateRequestParallel measures intake's write path (request,
// event, audit record in one transaction) from many goroutines; the trail's
// sealer chains their rows after commit, outside the writers' transactions.
//
//	go test -run '^$' -bench CreateRequestParallel -benchtime 1000x ./sqlstore/
func BenchmarkCreateRequestParallel(b *testing.B) {
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			e := openEnv(b, d.dsn(b))
			r := &carehex.Resident{Name: "王秀英", Phone: "13900000001", Address: "张店区华光路56号", Location: carehex.LatLng{Lat: 36.8, Lng: 118.05}}
			if err := e.CreateResident(opCtx(), r); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := e.CreateServiceRequest(opCtx(), &carehex.ServiceRequest{ResidentID: r.ID,
						ServiceCode: "meal_delivery", Urgency: carehex.UrgencySoon}, ""); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
