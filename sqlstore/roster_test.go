package sqlstore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
)

// TestRosterSearchUpdateDeactivate covers the console's roster on both
// dialects: search by name, phone and skill with paging and a total, an
// update that replaces the skills, and a deactivation with its reason;
// refused input changes nothing.
func TestRosterSearchUpdateDeactivate(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		skill := testCatalog()[0].RequiredSkill
		other := ""
		for _, st := range testCatalog() {
			if st.RequiredSkill != skill {
				other = st.RequiredSkill
				break
			}
		}
		var ids []string
		for i := range 12 {
			p := &carehex.Provider{Name: fmt.Sprintf("王芳%02d", i), Phone: fmt.Sprintf("1380000%04d", i),
				Skills: []string{skill}, Home: testenv.Zibo}
			if i == 11 {
				p.Name, p.Skills = "Li_Na 100%", []string{skill, other}
			}
			if err := e.CreateProvider(ctx, p); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
			e.clock.Advance(time.Microsecond)
		}
		search := func(f carehex.ProviderFilter) ([]*carehex.Provider, int) {
			t.Helper()
			ps, n, err := e.SearchProviders(ctx, f)
			if err != nil {
				t.Fatalf("SearchProviders(%+v): %v", f, err)
			}
			return ps, n
		}
		if ps, n := search(carehex.ProviderFilter{Limit: 5, Offset: 10}); n != 12 || len(ps) != 2 || ps[1].ID != ids[11] || len(ps[1].Skills) != 2 {
			t.Errorf("last page: total %d, %d providers", n, len(ps))
		}
		for _, c := range []struct {
			f    carehex.ProviderFilter
			want int
		}{
			{carehex.ProviderFilter{Query: "王芳0"}, 10},
			{carehex.ProviderFilter{Query: "00007"}, 1},
			{carehex.ProviderFilter{Query: "li_na"}, 1}, // case-insensitive, _ is no wildcard
			{carehex.ProviderFilter{Query: "li%na"}, 0},
			{carehex.ProviderFilter{Query: "100%"}, 1},
			{carehex.ProviderFilter{Skill: other}, 1},
			{carehex.ProviderFilter{Skill: other, Query: "王"}, 0},
		} {
			if _, n := search(c.f); n != c.want {
				t.Errorf("%+v: %d matches, want %d", c.f, n, c.want)
			}
		}
		_, _, err := e.SearchProviders(ctx, carehex.ProviderFilter{Offset: -1})
		wantErr(t, err, carehex.EINVALID, "offset")

		skillRows := rows(t, e, "provider_skills")
		bad := &carehex.Provider{ID: ids[0], Name: "", Phone: "13800000000", Skills: []string{skill}, Home: testenv.Zibo}
		wantErr(t, e.UpdateProvider(ctx, bad), carehex.EINVALID, "name")
		wantErr(t, e.UpdateProvider(ctx, &carehex.Provider{ID: "prv_nope", Name: "x", Phone: "13800000000",
			Skills: []string{skill}, Home: testenv.Zibo}), carehex.ENOTFOUND, "id")
		if n := rows(t, e, "provider_skills"); n != skillRows {
			t.Fatalf("refused updates changed skills: %d rows, want %d", n, skillRows)
		}
		up := &carehex.Provider{ID: ids[0], Name: " 赵敏 ", Phone: "13811112222", Skills: []string{other, other},
			Home: carehex.LatLng{Lat: testenv.Zibo.Lat + 0.01, Lng: testenv.Zibo.Lng}, Gender: carehex.GenderFemale}
		if err := e.UpdateProvider(ctx, up); err != nil {
			t.Fatal(err)
		}
		got, err := e.Provider(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "赵敏" || got.Phone != "13811112222" || strings.Join(got.Skills, ",") != other || !got.Active ||
			got.Home != up.Home || got.Cell == 0 || got.Gender != carehex.GenderFemale {
			t.Errorf("after update: %+v", got)
		}

		_, err = e.DeactivateProvider(ctx, ids[1], " ")
		wantErr(t, err, carehex.EINVALID, "reason")
		_, err = e.DeactivateProvider(ctx, "prv_nope", "left")
		wantErr(t, err, carehex.ENOTFOUND, "provider_id")
		p, err := e.DeactivateProvider(ctx, ids[1], "left: 已离职")
		if err != nil || p.Active {
			t.Fatalf("deactivate: %+v, %v", p, err)
		}
		if _, err := e.DeactivateProvider(ctx, ids[1], "left"); err != nil {
			t.Errorf("deactivating again: %v", err)
		}
		if _, n := search(carehex.ProviderFilter{}); n != 11 {
			t.Errorf("%d active, want 11", n)
		}
		if _, n := search(carehex.ProviderFilter{IncludeInactive: true}); n != 12 {
			t.Errorf("%d in all, want 12", n)
		}
		recs, err := e.AuditRecords(ctx, carehex.AuditFilter{ObjectID: ids[1], Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if r.Action == "provider.deactivate" && r.Detail == "left: 已离职" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d provider.deactivate records with the reason, want 1 (deactivating again records nothing)", n)
		}
	})
}

// TestNoteRequest appends an escalation step to a request's history at
// its status, and refuses an unknown request or bad text, writing nothing.
func TestNoteRequest(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		r := mustCreateRequest(t, e, mustCreateResident(t, e, resident("王桂兰", "13905330001")).ID)
		before := rows(t, e, "request_events")
		_, err := e.NoteRequest(ctx, "req_nope", carehex.EventEscalation, "", "called_120")
		wantErr(t, err, carehex.ENOTFOUND, "request_id")
		_, err = e.NoteRequest(ctx, r.ID, carehex.EventEscalation, "", "bad\x00text")
		wantErr(t, err, carehex.EINVALID, "reason")
		if n := rows(t, e, "request_events"); n != before {
			t.Fatalf("refused notes wrote %d events", n-before)
		}
		ev, err := e.NoteRequest(ctx, r.ID, carehex.EventEscalation, "", "called_120")
		if err != nil {
			t.Fatal(err)
		}
		es, err := e.RequestEvents(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := es[len(es)-1]
		if last.ID != ev.ID || last.Type != carehex.EventEscalation || last.FromStatus != r.Status || last.ToStatus != r.Status ||
			last.Actor != operator.Actor() || last.Seq != len(es) {
			t.Errorf("event = %+v", last)
		}
	})
}
