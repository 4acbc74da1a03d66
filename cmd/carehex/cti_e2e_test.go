package main

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/carehex/carehex/cti"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// TestCTIScreenPop runs the real binary with CAREHEX_CTI_SECRET set: a fake
// PBX posts a signed ringing event, an unsigned one is refused, and the
// operator's console finds the call at its extension.
func TestCTIScreenPop(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	env := []string{"CAREHEX_CTI_SECRET=pbx-shared-secret"}
	addUser(t, bin, env, data, "op1", "operator", "correct-horse-battery")
	srv := startServer(t, bin, env, "--data", data)

	post := func(body string, signature string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.url+cti.Path, bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		if signature != "" {
			req.Header.Set(cti.SignatureHeader, signature)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ring := `{"call_id":"fs-77","event":"ringing","caller":"13905330001","extension":"8001"}`
	if s := post(`{"call_id":"fs-66","event":"ringing","caller":"13800000000","extension":"8001"}`, ""); s != http.StatusUnauthorized {
		t.Fatalf("unsigned event: %d, want 401", s)
	}
	if s := post(ring, "sha256="+hex.EncodeToString(cti.Sign([]byte("pbx-shared-secret"), []byte(ring)))); s != http.StatusOK {
		t.Fatalf("signed ringing: %d, want 200", s)
	}
	ctx := login(t, srv.url, "op1", "correct-horse-battery")
	got, err := pb.NewIntakeServiceJSONClient(srv.url, http.DefaultClient).GetActiveCall(ctx, &pb.GetActiveCallRequest{Extension: "8001"})
	if err != nil || got.Call.CallId != "fs-77" || got.Call.Caller != "13905330001" {
		t.Fatalf("GetActiveCall = %v, %v; want the signed call only", got, err)
	}
}
