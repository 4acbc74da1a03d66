package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// importResidents loads n residents with distinct four-digit phone endings.
func importResidents(t *testing.T, ts *testServer, n int) {
	t.Helper()
	rs := make([]*carehex.Resident, n)
	for i := range rs {
		rs[i] = &carehex.Resident{Name: fmt.Sprintf("居民%d", i), Phone: fmt.Sprintf("1390000%04d", (i*7919)%10000),
			Address: "山东省淄博市张店区人民西路 1 号", Location: testenv.Zibo}
	}
	if err := ts.Store.ImportResidents(context.Background(), rs); err != nil {
		t.Fatalf("ImportResidents: %v", err)
	}
}

// TestBulkAccessSweep reproduces the sweep of issue 13: one operator
// searching every four-digit ending. The account is refused once it has read
// the policy's number of residents in the hour, supervisors get one alert,
// other accounts work on, and the hour passing lets the operator work again.
func TestBulkAccessSweep(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	ts := newServerWithClock(t, sqlite, clock.Now)
	const residents = 600
	importResidents(t, ts, residents)
	limit := carehex.DefaultReadPolicy().MaxResidents

	op := ts.ctx(t, carehex.RoleOperator)
	seen := map[string]bool{}
	refused, firstRefusal := 0, -1
	for q := range 10000 {
		resp, err := ts.residents().SearchResidents(op, &pb.SearchResidentsRequest{Query: fmt.Sprintf("%04d", q)})
		var te twirp.Error
		if errors.As(err, &te) && te.Code() == twirp.ResourceExhausted {
			if ms, _ := strconv.Atoi(te.Meta("retry_after_ms")); ms <= 0 {
				t.Fatalf("refusal without retry_after_ms: %v", te)
			}
			if firstRefusal < 0 {
				firstRefusal = q
			}
			refused++
			continue
		}
		if err != nil {
			t.Fatalf("search %04d: %v", q, err)
		}
		for _, r := range resp.Residents {
			seen[r.Id] = true
		}
	}
	if len(seen) != limit {
		t.Fatalf("the sweep saw %d residents, want the limit %d", len(seen), limit)
	}
	if refused == 0 || refused != 10000-firstRefusal {
		t.Fatalf("%d searches refused from search %d on; want every search after the limit refused", refused, firstRefusal)
	}
	t.Logf("sweep: %d residents seen, %d of 10000 searches refused from %04d on", len(seen), refused, firstRefusal)

	alerts, err := ts.audit().ListAccessAlerts(ts.ctx(t, carehex.RoleSupervisor), &pb.ListAccessAlertsRequest{OpenOnly: true})
	if err != nil {
		t.Fatalf("ListAccessAlerts: %v", err)
	}
	actor := "user:" + ts.Users[carehex.RoleOperator].ID
	if len(alerts.Alerts) != 1 || alerts.Alerts[0].Actor != actor || alerts.Alerts[0].Kind != carehex.AlertBulkAccess ||
		int(alerts.Alerts[0].Residents) != limit {
		t.Fatalf("alerts = %v, want one bulk_access alert about %s at %d residents", alerts.Alerts, actor, limit)
	}
	recs, err := ts.audit().ListAuditRecords(ts.ctx(t, carehex.RoleSupervisor), &pb.ListAuditRecordsRequest{ObjectId: actor})
	if err != nil || len(recs.Records) != 1 || recs.Records[0].Action != "privacy.bulk_access" {
		t.Fatalf("audit of %s = %v, %v; want the privacy.bulk_access record", actor, recs, err)
	}
	_, err = ts.audit().ListAccessAlerts(op, &pb.ListAccessAlertsRequest{})
	wantCode(t, err, twirp.PermissionDenied, "")

	// Another account is not slowed by this one.
	if _, err := ts.residents().SearchResidents(ts.ctx(t, carehex.RoleAdmin), &pb.SearchResidentsRequest{Query: "0000"}); err != nil {
		t.Fatalf("admin search during the operator's lockout: %v", err)
	}
	// Once the hour has passed, the operator works again (with a new
	// session: the old one has expired meanwhile).
	clock.Advance(time.Hour + time.Second)
	op = as(t, ts.issue(t, carehex.RoleOperator))
	if _, err := ts.residents().SearchResidents(op, &pb.SearchResidentsRequest{Query: "0000"}); err != nil {
		t.Fatalf("search an hour later: %v", err)
	}
}

// TestBulkAccessNormalWork: a busy operator's day, tens of residents an hour
// looked up, read and their family listed, never trips the limit.
func TestBulkAccessNormalWork(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC))
	ts := newServerWithClock(t, sqlite, clock.Now)
	importResidents(t, ts, 400)
	q := 0
	for hour := range 8 {
		// A session per hour (sessions expire), a call every minute and a half.
		op := as(t, ts.issue(t, carehex.RoleOperator))
		for call := range 40 {
			q = (q + 7919) % 10000
			resp, err := ts.residents().SearchResidents(op, &pb.SearchResidentsRequest{Query: fmt.Sprintf("%04d", q)})
			if err != nil {
				t.Fatalf("hour %d call %d: search: %v", hour, call, err)
			}
			for _, r := range resp.Residents {
				if _, err := ts.residents().GetResident(op, &pb.GetResidentRequest{Id: r.Id}); err != nil {
					t.Fatalf("hour %d call %d: get: %v", hour, call, err)
				}
				if _, err := ts.residents().ListFamilyMembers(op, &pb.ListFamilyMembersRequest{ResidentId: r.Id}); err != nil {
					t.Fatalf("hour %d call %d: family: %v", hour, call, err)
				}
			}
			clock.Advance(90 * time.Second)
		}
	}
	alerts, err := ts.audit().ListAccessAlerts(as(t, ts.issue(t, carehex.RoleSupervisor)), &pb.ListAccessAlertsRequest{})
	if err != nil || len(alerts.Alerts) != 0 {
		t.Fatalf("alerts after a normal day = %v, %v; want none", alerts, err)
	}
}

// TestMaskingPerRole: every console role sees phone and ID numbers masked in
// search results and the resident's record; operators and admins can reveal
// one field with a reason, which is audited; supervisors and the
// organisation roles cannot. On SQLite and PostgreSQL: search reads the
// numbers' keyed hashes and endings in SQL.
func TestMaskingPerRole(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { maskingPerRole(t, be) })
	}
}

// maskingPerRole is TestMaskingPerRole on one database.
func maskingPerRole(t *testing.T, be backend) {
	ts := newServer(t, be)
	const phone, idNumber, contact = "13912340001", "370302195001011234", "13800005678"
	created, err := ts.residents().CreateResident(ts.ctx(t, carehex.RoleOperator), &pb.CreateResidentRequest{
		Name: "王秀英", Phone: phone, IdNumber: idNumber, Address: "山东省淄博市张店区人民西路 1 号", Location: zibo,
		EmergencyContacts: []*pb.Contact{{Name: "王强", Phone: contact, Relation: "儿子"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := created.Resident.Id
	wantMasked := func(t *testing.T, r *pb.Resident) {
		t.Helper()
		if r.Phone != "139****0001" || r.IdNumber != "3703**********1234" || r.EmergencyContacts[0].Phone != "138****5678" {
			t.Fatalf("resident shows phone %q, ID %q, contact %q; want them masked", r.Phone, r.IdNumber, r.EmergencyContacts[0].Phone)
		}
	}
	for _, role := range roles {
		t.Run(string(role), func(t *testing.T) {
			ctx := ts.ctx(t, role)
			found, err := ts.residents().SearchResidents(ctx, &pb.SearchResidentsRequest{Query: "0001"})
			if err != nil || len(found.Residents) != 1 {
				t.Fatalf("search = %v, %v", found, err)
			}
			wantMasked(t, found.Residents[0])
			got, err := ts.residents().GetResident(ctx, &pb.GetResidentRequest{Id: id})
			if err != nil {
				t.Fatal(err)
			}
			wantMasked(t, got.Resident)

			reveal := func(field, reason string) (*pb.RevealResidentFieldResponse, error) {
				return ts.residents().RevealResidentField(ctx, &pb.RevealResidentFieldRequest{ResidentId: id, Field: field, Reason: reason})
			}
			if role == carehex.RoleSupervisor {
				_, err := reveal(carehex.FieldPhone, "checking")
				wantCode(t, err, twirp.PermissionDenied, "")
				return
			}
			_, err = reveal(carehex.FieldPhone, "  ")
			wantCode(t, err, twirp.InvalidArgument, "reason")
			_, err = reveal("address", "calling back")
			wantCode(t, err, twirp.InvalidArgument, "field")
			_, err = ts.residents().RevealResidentField(ctx, &pb.RevealResidentFieldRequest{ResidentId: "res_nobody", Field: "phone", Reason: "x"})
			wantCode(t, err, twirp.NotFound, "resident_id")
			for field, want := range map[string]string{carehex.FieldPhone: phone, carehex.FieldIDNumber: idNumber} {
				resp, err := reveal(field, "回拨确认地址")
				if err != nil || resp.Value != want {
					t.Fatalf("reveal %s = %v, %v; want %s", field, resp, err, want)
				}
			}
			recs, err := ts.audit().ListAuditRecords(ts.ctx(t, carehex.RoleSupervisor),
				&pb.ListAuditRecordsRequest{ObjectId: id, Actor: "user:" + ts.Users[role].ID})
			if err != nil {
				t.Fatal(err)
			}
			reveals := 0
			for _, r := range recs.Records {
				if r.Action == "resident.reveal" && r.Detail != "" {
					reveals++
					if want := "reason=回拨确认地址"; !strings.Contains(r.Detail, want) {
						t.Fatalf("reveal audited as %q, want the reason %q in it", r.Detail, want)
					}
				}
			}
			if reveals != 2 {
				t.Fatalf("%d reveals audited, want 2", reveals)
			}
		})
	}

	// An organisation's accounts see a resident only through a job they
	// hold, and never unmasked: revealing is the hotline's.
	for _, role := range orgRoles {
		_, err := ts.residents().RevealResidentField(ts.ctx(t, role),
			&pb.RevealResidentFieldRequest{ResidentId: id, Field: carehex.FieldPhone, Reason: "回拨确认地址"})
		wantCode(t, err, twirp.PermissionDenied, "")
	}

	// A client that reads the masked record and writes it back keeps the
	// stored numbers.
	op := ts.ctx(t, carehex.RoleOperator)
	got, err := ts.residents().GetResident(op, &pb.GetResidentRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	got.Resident.Address = "山东省淄博市张店区人民西路 2 号"
	if _, err := ts.residents().UpdateResident(op, &pb.UpdateResidentRequest{Resident: got.Resident}); err != nil {
		t.Fatalf("update with masked numbers: %v", err)
	}
	stored, err := ts.Store.Resident(context.Background(), id)
	if err != nil || stored.Phone != phone || stored.IDNumber != idNumber || stored.EmergencyContacts[0].Phone != contact {
		t.Fatalf("after the round trip: %+v, %v; want the numbers unchanged", stored, err)
	}
}
