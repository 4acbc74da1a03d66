package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/sqlstore"
)

// residentExport is everything carehex holds about one resident, as her
// own access request (PIPL art. 45) receives it.
type residentExport struct {
	ExportTime time.Time               `json:"export_time"`
	Resident   *carehex.Resident       `json:"resident"`
	Family     []*carehex.FamilyMember `json:"family_members"`
	Requests   []residentExportRequest `json:"requests"`
}

type residentExportRequest struct {
	Request     *carehex.ServiceRequest `json:"request"`
	Events      []*carehex.Event        `json:"events"`
	VisitEvents []*carehex.VisitEvent   `json:"visit_events,omitempty"`
}

// buildResidentExport reads the export and appends resident.export to the
// audit trail.
func buildResidentExport(ctx context.Context, store *sqlstore.DB, id string, now time.Time) (*residentExport, error) {
	r, err := store.Resident(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &residentExport{ExportTime: now.UTC(), Resident: r}
	if out.Family, err = store.FamilyMembers(ctx, id); err != nil {
		return nil, err
	}
	reqs, err := store.ServiceRequests(ctx, carehex.RequestFilter{ResidentID: id, Limit: 1 << 30})
	if err != nil {
		return nil, err
	}
	for _, q := range reqs {
		x := residentExportRequest{Request: q}
		if x.Events, err = store.RequestEvents(ctx, q.ID); err != nil {
			return nil, err
		}
		if q.VisitID != "" {
			if x.VisitEvents, err = store.VisitEvents(ctx, q.VisitID); err != nil {
				return nil, err
			}
		}
		out.Requests = append(out.Requests, x)
	}
	err = store.Audit(ctx, &carehex.AuditRecord{Action: "resident.export", ObjectType: "resident", ObjectID: id, Detail: "access request"})
	return out, err
}

// writeResidentExport writes resident-<id>.json and resident-<id>-requests.csv
// (UTF-8 with BOM) into dir, private to the account (the files hold her
// personal data).
func writeResidentExport(dir string, x *residentExport) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, "resident-"+x.Resident.ID)
	j, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".json", j, 0o600); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(base+"-requests.csv", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := io.WriteString(f, "\uFEFF"); err != nil {
		return nil, err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"请求编号 request_id", "服务 service_code", "紧急程度 urgency", "状态 status", "创建时间 create_time", "备注 notes"})
	for _, q := range x.Requests {
		w.Write([]string{q.Request.ID, q.Request.ServiceCode, string(q.Request.Urgency), string(q.Request.Status),
			q.Request.CreateTime.In(settleZone).Format(time.DateTime), q.Request.Notes})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	return []string{base + ".json", base + "-requests.csv"}, f.Close()
}

// exportResident is `carehex export resident --id RES --out DIR [--data DIR]`.
func exportResident(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("export resident", flag.ContinueOnError)
	cfg.storeFlags(fs)
	id := fs.String("id", "", "the resident's ID, res_… (required)")
	out := fs.String("out", "", "directory for the JSON and CSV files (required; created 0700)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *id == "" || *out == "" {
		return fmt.Errorf("--id and --out are required: whose data, and where to write it")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	x, err := buildResidentExport(ctx, store, *id, time.Now())
	if err != nil {
		return err
	}
	paths, err := writeResidentExport(*out, x)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]any{"resident": *id, "requests": len(x.Requests), "files": paths})
	fmt.Fprintln(stdout, string(line))
	return nil
}

// eraseResident is `carehex resident erase --id RES [--data DIR]`: erase a
// deactivated resident's personal data now, before the retention pass would.
func eraseResident(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("resident erase", flag.ContinueOnError)
	cfg.storeFlags(fs)
	id := fs.String("id", "", "the resident's ID, res_… (required; she must be deactivated)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *id == "" {
		return fmt.Errorf("--id is required: whose personal data to erase")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.EraseResident(ctx, *id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "erased the personal data of %s; her requests and visits remain as anonymised statistics\n", *id)
	return nil
}
