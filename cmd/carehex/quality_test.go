package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
)

func TestQualityConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	c := defaultConfig(env("CAREHEX_CALLBACK_SHARE", "0.25", "CAREHEX_CALLBACK_ATTEMPTS", "5", "CAREHEX_COMPLAINT_DUE_REFERRED", "120h"))
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	r := c.Quality.Rules()
	if r.CallbackShare != 0.25 || r.CallbackAttempts != 5 || r.StepDue[carehex.ComplaintReferred] != 120*time.Hour ||
		r.StepDue[carehex.ComplaintOpen] != carehex.DefaultQualityRules().StepDue[carehex.ComplaintOpen] {
		t.Errorf("rules = %+v", r)
	}
	for _, bad := range [][2]string{
		{"CAREHEX_CALLBACK_SHARE", "1.5"}, {"CAREHEX_CALLBACK_SHARE", "ten"}, {"CAREHEX_CALLBACK_ATTEMPTS", "0"},
		{"CAREHEX_COMPLAINT_DUE_OPEN", "3d"}, {"CAREHEX_COMPLAINT_DUE_VERIFIED", "10s"},
	} {
		c := defaultConfig(env(bad[0], bad[1]))
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%s=%s: %v, want an error naming it", bad[0], bad[1], err)
		}
	}
}

// TestQualityAuditVerify: after a visit's callback and a complaint's steps,
// `carehex audit verify` still passes on both databases, and a complaint
// step edited with plain SQL is named.
func TestQualityAuditVerify(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, ce cliEnv) {
		ctx, cli, getenv, data := context.Background(), ce.cli, ce.getenv, ce.data
		cfg := defaultConfig(getenv)
		cfg.DataDir = data
		store, err := openStore(ctx, &cfg, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		if err := store.SyncCatalog(ctx, testenv.Catalog()); err != nil {
			t.Fatal(err)
		}
		op := testenv.OpCtx()
		res := &carehex.Resident{Name: "王桂兰", Phone: "13905330011", Address: "张店区华光路56号", Location: testenv.Zibo}
		if err := store.CreateResident(op, res); err != nil {
			t.Fatal(err)
		}
		p := &carehex.Provider{Name: "刘芳", Phone: "13700000000", Skills: []string{"meals"}, Home: testenv.Zibo}
		if err := store.CreateProvider(op, p); err != nil {
			t.Fatal(err)
		}
		r, _, err := store.CreateServiceRequest(op, &carehex.ServiceRequest{ResidentID: res.ID, ServiceCode: "meal_delivery", Urgency: carehex.UrgencySoon}, "")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now().Add(time.Hour)
		_, v, err := store.AssignRequest(ctx, carehex.Assignment{RequestID: r.ID, ProviderID: p.ID, Fence: 1, Start: start, End: start.Add(time.Hour), Actor: "test", Reason: "test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range []carehex.Status{carehex.StatusInProgress, carehex.StatusCompleted} {
			if v, err = store.TransitionVisit(ctx, v.ID, to, "test", "", time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		c := &carehex.Complaint{ResidentID: res.ID, Complainant: carehex.ComplainantElder, VisitID: v.ID, Description: "来晚了"}
		if err := store.CreateComplaint(op, c); err != nil {
			t.Fatal(err)
		}
		for _, step := range []carehex.ComplaintStatus{carehex.ComplaintReferred, carehex.ComplaintResponded} {
			if _, err := store.MoveComplaint(op, c.ID, step, "已整改"); err != nil {
				t.Fatal(err)
			}
		}
		for _, cb := range []string{"", c.ID} {
			q, err := store.Callbacks(op, carehex.QualityFilter{Status: string(carehex.CallbackOpen)})
			if err != nil || len(q) == 0 {
				t.Fatalf("queue = %v, %v (after %q)", q, err, cb)
			}
			if _, err := store.RecordCallback(op, q[0].ID, carehex.CallbackResult{Satisfaction: 4, ServiceDone: carehex.DoneYes}); err != nil {
				t.Fatal(err)
			}
		}
		if out, err := cli("audit", "verify"); err != nil || !strings.Contains(out, `"intact":true`) {
			t.Fatalf("after callbacks and complaints: %v\n%s", err, out)
		}
		raw := rawDB(t, cfg.dsn())
		var id string
		if err := raw.QueryRow(`SELECT id FROM audit_records WHERE action = 'complaint.referred'`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`UPDATE audit_records SET detail = 'open→closed' WHERE action = 'complaint.referred'`); err != nil {
			t.Fatal(err)
		}
		if _, err := cli("audit", "verify"); err == nil || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "content changed") {
			t.Errorf("an edited complaint step: %v, want it named", err)
		}
	})
}
