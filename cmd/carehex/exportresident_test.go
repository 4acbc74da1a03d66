package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/testenv"
	"github.com/carehex/carehex/sqlstore"
)

// TestExportThenEraseResident exports a resident's data for her access
// request, then, once deactivated, erases it by command and by the
// retention pass: the export holds her data and is in the trail, the
// erasure leaves nothing of her, and `carehex audit verify` still passes.
func TestExportThenEraseResident(t *testing.T) {
	dir := t.TempDir()
	ctx := testenv.OpCtx()
	store, err := sqlstore.Open(context.Background(), filepath.Join(dir, "carehex.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SyncCatalog(ctx, testenv.Catalog()); err != nil {
		t.Fatal(err)
	}
	mk := func(name, phone, idNum string) *carehex.Resident {
		r := &carehex.Resident{Name: name, Phone: phone, IDNumber: idNum, Address: "张店区共青团路9号", Location: testenv.Zibo}
		if err := store.CreateResident(ctx, r); err != nil {
			t.Fatal(err)
		}
		req := &carehex.ServiceRequest{ResidentID: r.ID, ServiceCode: testenv.Catalog()[0].Code, Urgency: carehex.UrgencySoon, Notes: "腿疼"}
		if _, _, err := store.CreateServiceRequest(ctx, req, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := store.DeactivateResident(ctx, r.ID, carehex.DeactivateMovedAway); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := mk("张桂兰", "13905330001", "37030319450312007X")
	b := mk("王伟", "13905330002", "370303194503120029")
	store.Close()

	cli := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(args, "--data", dir), simEnv, strings.NewReader(""), &stdout, &stderr)
		return stdout.String() + stderr.String(), err
	}
	out := t.TempDir()
	if msg, err := cli("export", "resident", "--id", a.ID, "--out", out); err != nil {
		t.Fatalf("export: %v\n%s", err, msg)
	}
	j, err := os.ReadFile(filepath.Join(out, "resident-"+a.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		Resident struct{ Name, IDNumber string }
		Requests []json.RawMessage
	}
	if err := json.Unmarshal(j, &x); err != nil || x.Resident.Name != "张桂兰" || x.Resident.IDNumber != a.IDNumber || len(x.Requests) != 1 {
		t.Fatalf("export JSON: %v %+v", err, x)
	}
	c, err := os.ReadFile(filepath.Join(out, "resident-"+a.ID+"-requests.csv"))
	if err != nil || !bytes.HasPrefix(c, []byte("\uFEFF")) || !bytes.Contains(c, []byte("腿疼")) {
		t.Fatalf("export CSV: %v %q", err, c)
	}
	if msg, err := cli("resident", "erase", "--id", "res_nope"); err == nil {
		t.Fatalf("erasing nobody succeeded: %s", msg)
	}
	if msg, err := cli("resident", "erase", "--id", a.ID); err != nil {
		t.Fatalf("erase: %v\n%s", err, msg)
	}

	// The retention pass erases b once her deactivation is older than the period.
	store, err = sqlstore.Open(context.Background(), filepath.Join(dir, "carehex.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	retentionPass(context.Background(), store, time.Now(), defaultGPSRetention, defaultResidentRetention, log)
	if r, err := store.Resident(ctx, b.ID); err != nil || r.Name != "王伟" {
		t.Fatalf("erased inside the retention period: %+v, %v", r, err)
	}
	retentionPass(context.Background(), store, time.Now().Add(defaultResidentRetention+time.Hour), defaultGPSRetention, defaultResidentRetention, log)
	for _, r := range []*carehex.Resident{a, b} {
		got, err := store.Resident(ctx, r.ID)
		if err != nil || got.Name != sqlstore.ErasedName || got.IDNumber != "" || got.Phone != "" || got.Address != "" {
			t.Errorf("after erasure: %+v, %v", got, err)
		}
	}
	audits, err := store.AuditRecords(ctx, carehex.AuditFilter{ObjectID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range audits {
		actions = append(actions, r.Action)
	}
	if s := strings.Join(actions, " "); !strings.Contains(s, "resident.export") || !strings.Contains(s, "resident.erase") {
		t.Errorf("trail of %s: %s; want the export and the erasure", a.ID, s)
	}
	store.Close()
	if msg, err := cli("audit", "verify"); err != nil || !strings.Contains(msg, `"intact":true`) {
		t.Fatalf("audit verify after erasure: %v\n%s", err, msg)
	}
}

func TestParseRetention(t *testing.T) {
	for v, want := range map[string]time.Duration{"": defaultGPSRetention, "30d": 30 * 24 * time.Hour, "48h": 48 * time.Hour} {
		if got, err := parseRetention("X", v, defaultGPSRetention); err != nil || got != want {
			t.Errorf("%q = %v, %v; want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"1h", "ninety", "-3d", "0d"} {
		if _, err := parseRetention("CAREHEX_GPS_RETENTION", v, defaultGPSRetention); err == nil || !strings.Contains(err.Error(), "CAREHEX_GPS_RETENTION") {
			t.Errorf("%q: err %v, want one naming the variable", v, err)
		}
	}
}

// TestUserAddArea creates a supervisor limited to a district and refuses
// an area on any other role.
func TestUserAddArea(t *testing.T) {
	dir := t.TempDir()
	add := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"user", "add", "--data", dir, "--password-stdin"}, args...), simEnv,
			strings.NewReader("a-long-enough-password\n"), &stdout, &stderr)
		return stdout.String(), err
	}
	if _, err := add("--username", "op", "--role", "operator", "--area", "张店区"); err == nil || !strings.Contains(err.Error(), "--area") {
		t.Errorf("an operator with an area: %v, want refused naming --area", err)
	}
	if out, err := add("--username", "sup", "--role", "supervisor", "--area", "张店区"); err != nil || !strings.Contains(out, "limited to 张店区") {
		t.Errorf("a supervisor with an area: %q, %v", out, err)
	}
}

// TestUserAddOrg creates organisation accounts and refuses one without an
// organisation, with an unknown one, or an organisation on a platform role.
func TestUserAddOrg(t *testing.T) {
	dir := t.TempDir()
	add := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"user", "add", "--data", dir, "--password-stdin"}, args...), simEnv,
			strings.NewReader("a-long-enough-password\n"), &stdout, &stderr)
		return stdout.String(), err
	}
	for _, args := range [][]string{
		{"--username", "d1", "--role", "org_dispatcher"},
		{"--username", "d2", "--role", "org_admin", "--org", "org_nosuch"},
		{"--username", "op", "--role", "operator", "--org", carehex.DefaultOrganisationID},
	} {
		if _, err := add(args...); err == nil || !strings.Contains(err.Error(), "--org") {
			t.Errorf("%v: %v, want refused naming --org", args, err)
		}
	}
	for _, role := range []string{"org_dispatcher", "org_admin"} {
		out, err := add("--username", role, "--role", role, "--org", carehex.DefaultOrganisationID)
		if err != nil || !strings.Contains(out, "of organisation "+carehex.DefaultOrganisationID) {
			t.Errorf("%s: %q, %v", role, out, err)
		}
	}
}
