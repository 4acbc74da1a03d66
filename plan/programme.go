package plan

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/carehex/carehex"
)

// Visiting programmes (探访关爱): each resident holding a subsidy of a
// category with a programme gets a care plan of it, which projection and
// the roster then treat like any other; compliance counts the month.

// GenerateProgrammes gives every resident owed a programme (a subsidy of
// its category valid within the horizon) her plan of it, from today. It
// reports how many plans it created: a second run creates none.
func (p *Planner) GenerateProgrammes(ctx context.Context) (int, error) {
	progs, err := p.store.VisitProgrammes(ctx)
	if err != nil {
		return 0, err
	}
	from := carehex.Day(p.clock())
	to := carehex.Day(p.clock().Add(p.horizon)).AddDate(0, 0, 1)
	n := 0
	for _, prog := range progs {
		ids, err := p.store.ProgrammeResidents(ctx, prog.Category, from, to, true)
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			created, err := p.store.CreateProgrammePlan(ctx, prog.Plan(id, from), Parse)
			if err != nil {
				p.log.Warn("plan.programme_plan", "resident", id, "programme", prog.Category, "err", err)
				continue // one resident's trouble does not stop the others
			}
			if created {
				n++
			}
		}
	}
	if n > 0 {
		p.log.Info("plan.programmes", "created", n)
	}
	return n, nil
}

// MonthRange is the calendar month (CST) of t: [first day, first of next).
func MonthRange(t time.Time) (time.Time, time.Time) {
	y, m, _ := t.In(carehex.CST).Date()
	from := time.Date(y, m, 1, 0, 0, 0, 0, carehex.CST)
	return from, from.AddDate(0, 1, 0)
}

// Compliance counts the programmes' month of t at now: per category,
// street and organisation, and who is overdue. category "" counts all.
func (p *Planner) Compliance(ctx context.Context, month time.Time, category string) (*carehex.Compliance, error) {
	progs, err := p.store.VisitProgrammes(ctx)
	if err != nil {
		return nil, err
	}
	from, to := MonthRange(month)
	out := &carehex.Compliance{Month: from.Format("2006-01")}
	found := category == ""
	type key struct{ cat, street, org string }
	rows := map[key]*carehex.ComplianceRow{}
	for _, prog := range progs {
		if category != "" && prog.Category != category {
			continue
		}
		found = true
		ids, err := p.store.ProgrammeResidents(ctx, prog.Category, from, to, false)
		if err != nil {
			return nil, err
		}
		st, err := p.store.ProgrammeStandings(ctx, prog, ids, from, to, p.clock())
		if err != nil {
			return nil, err
		}
		for _, s := range st {
			k := key{s.Category, s.Street, s.OrganisationID}
			r := rows[k]
			if r == nil {
				r = &carehex.ComplianceRow{Category: k.cat, Street: k.street, OrganisationID: k.org}
				rows[k] = r
			}
			r.Residents++
			switch {
			case s.Done >= s.Required:
				r.Met++
			case s.Overdue():
				r.Overdue++
				out.Overdue = append(out.Overdue, s)
			}
			out.Standing = append(out.Standing, s)
		}
	}
	if !found {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "category", "no visiting programme for category %q", category)
	}
	for _, r := range rows {
		out.Rows = append(out.Rows, *r)
	}
	slices.SortFunc(out.Rows, func(a, b carehex.ComplianceRow) int {
		switch {
		case a.Category != b.Category:
			return cmp.Compare(a.Category, b.Category)
		case a.Street != b.Street:
			return cmp.Compare(a.Street, b.Street)
		}
		return cmp.Compare(a.OrganisationID, b.OrganisationID)
	})
	return out, nil
}

// SetProgramme saves a category's visiting programme; the next projection
// gives its residents their plans.
func (p *Planner) SetProgramme(ctx context.Context, prog *carehex.VisitProgramme) error {
	return p.store.PutVisitProgramme(ctx, prog)
}

// Programmes lists the visiting programmes.
func (p *Planner) Programmes(ctx context.Context) ([]*carehex.VisitProgramme, error) {
	return p.store.VisitProgrammes(ctx)
}
