package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// TestBackupWhileServing takes `carehex backup` of a running server's SQLite
// file while an operator keeps creating requests through Twirp, restores the
// copy into a fresh directory with `carehex restore`, starts a server on it
// and finds every request acknowledged before the backup began, with its
// audit record. Restore refuses the live directory and, without --force, any
// directory that already holds a database.
func TestBackupWhileServing(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	const password = "correct-horse-battery"
	addUser(t, bin, nil, data, "op1", "operator", password)
	addUser(t, bin, nil, data, "sup1", "supervisor", password)
	srv := startServer(t, bin, nil, "--data", data)
	ctx := login(t, srv.url, "op1", password)
	res, err := pb.NewResidentServiceJSONClient(srv.url, http.DefaultClient).CreateResident(ctx, &pb.CreateResidentRequest{
		Name: "王桂兰", Phone: "13905330001", Address: "张店区华光路56号3单元201",
		Location: &pb.LatLng{Lat: 36.80, Lng: 118.05},
	})
	if err != nil {
		t.Fatalf("CreateResident: %v", err)
	}
	code := firstServiceCode(t, ctx, srv.url)

	// The operator creates requests one after another until told to stop;
	// acked holds those whose creation was acknowledged, in order.
	var (
		mu       sync.Mutex
		acked    []string
		writeErr error
	)
	enough := make(chan struct{}) // closed once 20 requests are acknowledged
	stop, stopWriting := context.WithCancel(ctx)
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		intake := pb.NewIntakeServiceProtobufClient(srv.url, http.DefaultClient)
		for i := 0; stop.Err() == nil; i++ {
			r, err := intake.CreateServiceRequest(stop, &pb.CreateServiceRequestRequest{
				ResidentId: res.Resident.Id, ServiceCode: code, Urgency: pb.Urgency_URGENCY_SOON,
				IdempotencyKey: fmt.Sprintf("backup-test-%d", i),
			})
			if err != nil {
				if stop.Err() == nil {
					mu.Lock()
					writeErr = err
					mu.Unlock()
				}
				return
			}
			mu.Lock()
			acked = append(acked, r.Request.Id)
			if len(acked) == 20 {
				close(enough)
			}
			mu.Unlock()
		}
	}()
	select {
	case <-enough:
	case <-t.Context().Done():
	}
	mu.Lock()
	before := append([]string(nil), acked...) // acknowledged before the backup began
	mu.Unlock()

	out := filepath.Join(t.TempDir(), "copy.db")
	backupOut, err := exec.Command(bin, "backup", "--data", data, "--out", out).CombinedOutput()
	stopWriting()
	writer.Wait()
	if err != nil {
		t.Fatalf("carehex backup: %v\n%s", err, backupOut)
	}
	if writeErr != nil {
		t.Fatalf("creating requests during the backup: %v", writeErr)
	}
	t.Logf("backup: %s; %d requests acknowledged before it began, %d by the end", strings.TrimSpace(string(backupOut)), len(before), len(acked))

	t.Run("restore refuses the live directory", func(t *testing.T) {
		got, err := exec.Command(bin, "restore", "--from", out, "--data", data, "--force").CombinedOutput()
		if err == nil || !strings.Contains(string(got), "stop it before restoring") {
			t.Fatalf("restore over the running server: %v\n%s", err, got)
		}
	})

	fresh := filepath.Join(t.TempDir(), "restored")
	restoreOut, err := exec.Command(bin, "restore", "--from", out, "--data", fresh).CombinedOutput()
	if err != nil {
		t.Fatalf("carehex restore: %v\n%s", err, restoreOut)
	}
	for _, want := range []string{"integrity_check: ok", "migrations version:", "service_requests", "audit_records"} {
		if !strings.Contains(string(restoreOut), want) {
			t.Errorf("restore output lacks %q:\n%s", want, restoreOut)
		}
	}
	t.Run("restore refuses an existing database without --force", func(t *testing.T) {
		got, err := exec.Command(bin, "restore", "--from", out, "--data", fresh).CombinedOutput()
		if err == nil || !strings.Contains(string(got), "--force") {
			t.Fatalf("second restore: %v\n%s", err, got)
		}
	})
	if fi, err := os.Stat(filepath.Join(fresh, "carehex.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("restored database: %v, mode %v; want 0600", err, fi.Mode())
	}

	srv2 := startServer(t, bin, nil, "--data", fresh)
	ctx2 := login(t, srv2.url, "op1", password)
	sup := login(t, srv2.url, "sup1", password)
	intake := pb.NewIntakeServiceJSONClient(srv2.url, http.DefaultClient)
	audit := pb.NewAuditServiceJSONClient(srv2.url, http.DefaultClient)
	for _, id := range before {
		if _, err := intake.GetServiceRequest(ctx2, &pb.GetServiceRequestRequest{Id: id}); err != nil {
			t.Errorf("request %s, acknowledged before the backup, is not in the restored database: %v", id, err)
			continue
		}
		recs, err := audit.ListAuditRecords(sup, &pb.ListAuditRecordsRequest{ObjectId: id})
		if err != nil {
			t.Fatalf("ListAuditRecords: %v", err)
		}
		found := false
		for _, r := range recs.Records {
			found = found || r.Action == "request.create"
		}
		if !found {
			t.Errorf("request %s has no request.create audit record after restore (%d records)", id, len(recs.Records))
		}
	}
}
