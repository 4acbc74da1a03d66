// Package plan runs planned care: it projects care plans into planned visits
// ahead for a horizon, rosters the open ones with the roster engine, and
// turns each rostered visit into a real one (a scheduled service request
// assigned through dispatch's fenced claim), so the phone does it with the
// same depart/arrive/complete and verification as on-demand work.
//
// Every step is safe on several replicas at once: projection inserts each
// (item, occurrence) once (the store's unique key), the roster's
// assignments commit only through the fence and SQL's overlap check, and
// a planned visit records its assignment at the version it was read.
package plan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/plan/rrule"
	"github.com/carehex/carehex/roster"
)

// Actor names the planner in events and audit records.
const Actor = "system:plan"

// DefaultHorizon is how far ahead plans are projected.
const DefaultHorizon = 14 * 24 * time.Hour

// Store is what the planner needs of the system of record. One
// *sqlstore.DB implements it.
type Store interface {
	carehex.PlanStore
	carehex.PlanChangeStore
	carehex.ProgrammeStore
	carehex.ResidentStore
	carehex.ProviderStore
	carehex.RequestStore
	carehex.Catalog
	// ProviderDayVisits lists a carer's visits in a range: the time the
	// roster must leave free for work already committed.
	ProviderDayVisits(ctx context.Context, providerID string, from, to time.Time) ([]*carehex.Visit, error)
}

// Assigner commits a rostered visit through the fenced claim
// (*dispatch.Engine).
type Assigner interface {
	AssignPlanned(ctx context.Context, requestID, providerID string, start, end time.Time, actor, reason string) (*carehex.ServiceRequest, *carehex.Visit, error)
}

// Planner projects and rosters.
type Planner struct {
	store   Store
	assign  Assigner
	clock   carehex.Clock
	log     *slog.Logger
	horizon time.Duration
	// RosterOptions tune the roster engine (its time limit above all).
	RosterOptions roster.Options
	// HandOffBefore: a changed visit starting sooner than this goes to
	// on-demand dispatch instead of the roster (change.go).
	HandOffBefore time.Duration
}

// New returns a planner; horizon 0 is DefaultHorizon, clock nil time.Now.
// Without assign (nil) it projects but cannot commit a roster.
func New(store Store, assign Assigner, clock carehex.Clock, log *slog.Logger, horizon time.Duration) *Planner {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if horizon <= 0 {
		horizon = DefaultHorizon
	}
	return &Planner{store: store, assign: assign, clock: clock, log: log, horizon: horizon,
		RosterOptions: roster.Options{TimeLimit: 5 * time.Second}, HandOffBefore: carehex.DefaultHandOffBefore}
}

// Parse is the recurrence parser plans are validated and expanded with.
var Parse carehex.ParseRecurrence = rrule.Parse

// Horizon is how far ahead Project writes.
func (p *Planner) Horizon() time.Duration { return p.horizon }

// Project writes every plan's visits from today (CST) to the horizon that
// are not yet written (first giving each resident owed a visiting
// programme her plan of it, programme.go), and cancels the requests of visits edited or paused
// away. It reports how many planned visits it wrote: a second run writes 0.
func (p *Planner) Project(ctx context.Context) (int, error) {
	from := carehex.Day(p.clock())
	to := carehex.Day(p.clock().Add(p.horizon)).AddDate(0, 0, 1)
	if _, err := p.GenerateProgrammes(ctx); err != nil {
		p.log.Warn("plan.programmes", "err", err) // the plans written by hand still project
	}
	plans, err := p.store.CarePlans(ctx, from, to)
	if err != nil {
		return 0, err
	}
	var vs []carehex.PlannedVisit
	for _, pl := range plans {
		occ, err := pl.Occurrences(Parse, from, to)
		if err != nil {
			p.log.Warn("plan.project", "plan", pl.ID, "err", err) // one bad plan does not stop the others
			continue
		}
		vs = append(vs, occ...)
	}
	n, err := p.store.ProjectPlannedVisits(ctx, vs)
	if err != nil {
		return n, err
	}
	if _, err := p.ReleaseStranded(ctx); err != nil {
		return n, err
	}
	if n > 0 {
		p.log.Info("plan.projected", "plans", len(plans), "written", n)
	}
	return n, nil
}

// ReleaseStranded cancels the requests of planned visits edited, paused or
// released after they were rostered, and forgets them. Safe to repeat.
func (p *Planner) ReleaseStranded(ctx context.Context) (int, error) {
	vs, err := p.store.StrandedPlannedVisits(ctx, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range vs {
		reason := carehex.CancelOther + ": " + carehex.Trimmed(v.Reason)
		if v.Status == carehex.PlannedPaused {
			reason = carehex.CancelHospitalised
		}
		_, err := p.store.TransitionRequest(ctx, v.RequestID, carehex.StatusCancelled, Actor, reason)
		if err != nil && carehex.ErrorCode(err) != carehex.ECONFLICT {
			return n, err
		}
		if err == nil {
			n++
		}
		if err := p.store.ClearPlannedRequest(ctx, v.ID, v.RequestID); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Run projects every interval until ctx ends, returning ctx's error. Each
// replica may run it: projection is idempotent.
func (p *Planner) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := p.Project(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("plan.project", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Unplaced is an open planned visit the roster left, with why: a
// roster.Reason* code, or "conflict" when SQL refused the assignment (the
// carer was booked meanwhile).
type Unplaced struct {
	PlannedVisitID string
	Reason         string
}

// Result is what a roster run did.
type Result struct {
	Assigned   []*carehex.PlannedVisit
	Explained  map[string][]carehex.Factor // planned visit ID → why its carer
	Unassigned []Unplaced
	Released   int // assigned visits given up because their carer can no longer do them
}

// rosterBatch is the most planned visits one roster run reads: a city's
// month (the city week is 20,000).
const rosterBatch = 500_000

// ReasonConflict: the roster chose a carer but the fenced commit refused it.
const ReasonConflict = "conflict"

// Roster assigns the open planned visits whose windows start in [from, to)
// to carers with working hours, as the roster engine chooses, and commits
// each through the fenced claim. Before that it repairs: visits assigned to
// a carer who is now off at that time are released and placed anew. Time
// already committed (on-demand or planned visits) is kept free.
func (p *Planner) Roster(ctx context.Context, from, to time.Time) (*Result, error) {
	if !to.After(from) {
		return nil, carehex.Errorf(carehex.EINVALID, "end_date", "the roster's range is empty")
	}
	if to.Sub(from) > 31*24*time.Hour {
		return nil, carehex.Errorf(carehex.EINVALID, "end_date", "the roster covers at most 31 days at once")
	}
	res := &Result{Explained: map[string][]carehex.Factor{}}
	hours, err := p.store.AllWorkingHours(ctx)
	if err != nil {
		return nil, err
	}
	byCarer := map[string]*carehex.WorkingHours{}
	for _, w := range hours {
		byCarer[w.ProviderID] = w
	}
	// Repair: an assigned visit whose carer is now off, or off shift.
	assigned, err := p.store.PlannedVisits(ctx, carehex.PlannedFilter{From: from, To: to,
		Statuses: []carehex.PlannedStatus{carehex.PlannedAssigned}, Limit: rosterBatch})
	if err != nil {
		return nil, err
	}
	for _, v := range assigned {
		w := byCarer[v.ProviderID]
		if v.Locked() || w == nil {
			continue
		}
		start, end := p.slotOf(ctx, v)
		if _, _, ok := w.ShiftAt(start, end); ok && !w.Off(start, end) {
			continue
		}
		if _, err := p.store.ReleasePlannedVisit(ctx, v.ID, v.Version, "carer_unavailable"); err != nil {
			if carehex.ErrorCode(err) == carehex.ECONFLICT {
				continue
			}
			return nil, err
		}
		res.Released++
	}
	if res.Released > 0 {
		if _, err := p.ReleaseStranded(ctx); err != nil {
			return nil, err
		}
	}

	open, err := p.store.PlannedVisits(ctx, carehex.PlannedFilter{From: from, To: to,
		Statuses: []carehex.PlannedStatus{carehex.PlannedOpen}, Limit: rosterBatch})
	if err != nil {
		return nil, err
	}
	now := p.clock()
	prob := &roster.Problem{}
	byID := map[string]*carehex.PlannedVisit{}
	residents := map[string]*carehex.Resident{}
	services := map[string]*carehex.ServiceType{}
	for _, v := range open {
		if v.RequestID != "" || !v.LatestStart().After(now) {
			continue // its old request is not cancelled yet, or it is too late to plan
		}
		r := residents[v.ResidentID]
		if r == nil {
			if r, err = p.store.Resident(ctx, v.ResidentID); err != nil {
				return nil, err
			}
			residents[v.ResidentID] = r
		}
		st := services[v.ServiceCode]
		if st == nil {
			if st, err = p.store.ServiceType(ctx, v.ServiceCode); err != nil {
				return nil, err
			}
			services[v.ServiceCode] = st
		}
		if v.Earliest.Before(now) {
			v.Earliest = now.Truncate(time.Minute).Add(time.Minute)
		}
		byID[v.ID] = v
		prob.Visits = append(prob.Visits, roster.Visit{PlannedVisit: *v, Location: r.Location, RequiredSkill: st.RequiredSkill,
			Gender: r.Preferences.PreferredProviderGender, Language: r.Preferences.Language, Blocked: blockedFor(v, r)})
	}
	if len(prob.Visits) == 0 {
		return res, nil
	}
	for _, w := range hours {
		pr, err := p.store.Provider(ctx, w.ProviderID)
		if err != nil {
			return nil, err
		}
		if !pr.Active {
			continue
		}
		c := roster.Carer{ID: pr.ID, Gender: pr.Gender, Skills: pr.Skills, Languages: pr.Languages, Hours: *w}
		// Committed work is time off for the roster.
		busy, err := p.store.ProviderDayVisits(ctx, pr.ID, carehex.Day(from), to)
		if err != nil {
			return nil, err
		}
		c.Hours.TimeOff = slices.Clone(c.Hours.TimeOff)
		for _, b := range busy {
			if s, e := b.Held(); e.After(s) {
				if e.After(s.Add(12 * time.Hour)) { // en route or in progress: held until it ends
					e = s.Add(12 * time.Hour)
				}
				c.Hours.TimeOff = append(c.Hours.TimeOff, carehex.TimeOff{From: s, To: e, Reason: "visit " + b.ID})
			}
		}
		prob.Carers = append(prob.Carers, c)
	}
	if p.assign == nil {
		return nil, carehex.Errorf(carehex.EUNAVAILABLE, "", "dispatch is not running here: rostered visits cannot be committed")
	}
	r, err := roster.Solve(ctx, prob, p.RosterOptions)
	if err != nil {
		return nil, err
	}
	for _, u := range r.Unassigned {
		res.Unassigned = append(res.Unassigned, Unplaced{PlannedVisitID: u.VisitID, Reason: u.Reason})
		p.noteReason(ctx, byID[u.VisitID], u.Reason)
	}
	for _, a := range r.Assignments {
		v := byID[a.VisitID]
		pv, err := p.commit(ctx, v, a.ProviderID, a.Start)
		switch {
		case carehex.ErrorCode(err) == carehex.ECONFLICT:
			p.log.Info("plan.roster_conflict", "planned_visit", v.ID, "provider", a.ProviderID, "err", err)
			res.Unassigned = append(res.Unassigned, Unplaced{PlannedVisitID: v.ID, Reason: ReasonConflict})
			p.noteReason(ctx, v, ReasonConflict)
			continue
		case err != nil:
			return res, err
		}
		res.Assigned = append(res.Assigned, pv)
		res.Explained[v.ID] = a.Factors
	}
	p.log.Info("plan.rostered", "from", from, "to", to, "assigned", len(res.Assigned), "unassigned", len(res.Unassigned), "released", res.Released)
	return res, nil
}

// slotOf is the time a rostered visit holds: its real visit's slot.
func (p *Planner) slotOf(ctx context.Context, v *carehex.PlannedVisit) (time.Time, time.Time) {
	if v.RequestID != "" {
		if r, err := p.store.ServiceRequest(ctx, v.RequestID); err == nil && !r.WindowStart.IsZero() {
			return r.WindowStart, r.WindowStart.Add(v.Duration)
		}
	}
	return v.Earliest, v.Earliest.Add(v.Duration)
}

// commit turns planned visit v into a real one for provider at start: a
// scheduled request for exactly that slot (idempotent per planned visit and
// version, so a retry after a lost reply finds it), assigned through the
// fenced claim, then recorded on the planned visit at the version read. A
// request left unassigned by a refused claim is cancelled.
func (p *Planner) commit(ctx context.Context, v *carehex.PlannedVisit, providerID string, start time.Time) (*carehex.PlannedVisit, error) {
	end := start.Add(v.Duration)
	req, _, err := p.store.CreateServiceRequest(ctx, &carehex.ServiceRequest{ResidentID: v.ResidentID, ServiceCode: v.ServiceCode,
		Urgency: carehex.UrgencyScheduled, WindowStart: start, WindowEnd: end,
		IdempotencyKey: fmt.Sprintf("plan:%s:%d", v.ID, v.Version)}, "")
	if err != nil {
		return nil, err
	}
	reqID := req.ID // AssignPlanned answers nil on a refusal
	req, visit, err := p.assign.AssignPlanned(ctx, reqID, providerID, start, end, Actor, "rostered")
	if err != nil {
		p.cancelWaiting(ctx, reqID, "roster_conflict")
		return nil, err
	}
	pv, err := p.store.RosterPlannedVisit(ctx, v.ID, v.Version, providerID, req.ID, visit.ID)
	if err != nil {
		// The planned visit changed meanwhile: give the slot back.
		if _, cerr := p.store.TransitionRequest(ctx, req.ID, carehex.StatusCancelled, Actor, carehex.CancelOther+": plan_changed"); cerr != nil && !errors.Is(cerr, context.Canceled) {
			p.log.Warn("plan.cancel_unrecorded", "request", req.ID, "err", cerr)
		}
		return nil, err
	}
	return pv, nil
}

// cancelWaiting cancels a request the roster made but could not assign, if
// it is still waiting: should dispatch have given it to someone meanwhile
// (its window was near), that visit stands.
func (p *Planner) cancelWaiting(ctx context.Context, requestID, why string) {
	r, err := p.store.ServiceRequest(ctx, requestID)
	if err == nil && (r.Status == carehex.StatusPending || r.Status == carehex.StatusOffered) {
		_, err = p.store.TransitionRequest(ctx, requestID, carehex.StatusCancelled, Actor, carehex.CancelOther+": "+why)
	}
	if err != nil {
		p.log.Warn("plan.cancel_unassigned", "request", requestID, "err", err)
	}
}

// noteReason keeps why the roster left v open, for the roster view. A
// visit changed meanwhile keeps its own reason; a failure to note is only
// logged, since the roster's result stands without it.
func (p *Planner) noteReason(ctx context.Context, v *carehex.PlannedVisit, reason string) {
	if v == nil {
		return
	}
	if err := p.store.NotePlannedReason(ctx, v.ID, v.Version, reason); err != nil && carehex.ErrorCode(err) != carehex.ECONFLICT {
		p.log.Warn("plan.note_reason", "planned_visit", v.ID, "err", err)
	}
}
