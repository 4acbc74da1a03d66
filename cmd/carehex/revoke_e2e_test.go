package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// TestRevocationEndToEnd withdraws each kind of access through the public
// API of the real binary and checks it is gone at once: a phone's device
// tokens (its open offer stream ends within 1 s and it is no longer a
// candidate), a family link (the next family call is 401), and a console
// account (its session is refused, its login too).
func TestRevocationEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	addUser(t, bin, nil, data, "op1", "operator", "correct-horse-battery")
	addUser(t, bin, nil, data, "admin1", "admin", "correct-horse-battery")
	srv := startServer(t, bin, nil, "--data", data)
	op := login(t, srv.url, "op1", "correct-horse-battery")
	admin := login(t, srv.url, "admin1", "correct-horse-battery")
	residents := pb.NewResidentServiceJSONClient(srv.url, http.DefaultClient)
	providersAPI := pb.NewProviderServiceJSONClient(srv.url, http.DefaultClient)

	home := &pb.LatLng{Lat: 36.8000, Lng: 118.0500}
	res, err := residents.CreateResident(op, &pb.CreateResidentRequest{Name: "王桂兰", Phone: "13905330001",
		Address: "张店区华光路56号3单元201", Location: home})
	if err != nil {
		t.Fatal(err)
	}
	svc := soonService(t, op, srv.url)

	t.Run("device", func(t *testing.T) {
		p, err := providersAPI.CreateProvider(op, &pb.CreateProviderRequest{Name: "刘芳", Phone: "13600000001",
			Skills: []string{svc.RequiredSkill}, Location: home})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := providersAPI.IssueDeviceToken(op, &pb.IssueDeviceTokenRequest{ProviderId: p.Provider.Id})
		if err != nil {
			t.Fatal(err)
		}
		hc, api := contractClient(t, srv.url)
		ph := phone{t: t, url: srv.url, token: tok.Token, hc: hc, api: api}
		if code := ph.do("POST", "/m/v1/heartbeat", map[string]any{"lat": home.Lat, "lng": home.Lng, "accuracy_m": 10, "available": true}, nil); code != http.StatusOK {
			t.Fatalf("heartbeat: HTTP %d", code)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.url+"/m/v1/offers/stream", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("offer stream: %v %v", resp, err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		if !sc.Scan() {
			t.Fatalf("stream ended at once: %v", sc.Err())
		}
		ended := make(chan string, 1)
		go func() {
			var got strings.Builder
			for sc.Scan() {
				got.WriteString(sc.Text() + "\n")
			}
			ended <- got.String()
		}()

		if _, err := providersAPI.RevokeDeviceTokens(op, &pb.RevokeDeviceTokensRequest{ProviderId: p.Provider.Id}); err != nil {
			t.Fatal(err)
		}
		revoked := time.Now()
		select {
		case rest := <-ended:
			t.Logf("offer stream ended %v after RevokeDeviceTokens answered", time.Since(revoked).Round(time.Millisecond))
			if strings.Contains(rest, "event: offer") {
				t.Errorf("offer delivered after revocation:\n%s", rest)
			}
		case <-time.After(time.Second):
			t.Fatal("offer stream still open 1 s after revocation")
		}
		if code := ph.do("POST", "/m/v1/heartbeat", map[string]any{"lat": home.Lat, "lng": home.Lng, "accuracy_m": 10, "available": true}, nil); code != http.StatusUnauthorized {
			t.Errorf("heartbeat after revocation: HTTP %d, want 401", code)
		}
		// Out of the live index at once: a new request does not find it.
		created, err := pb.NewIntakeServiceJSONClient(srv.url, http.DefaultClient).CreateServiceRequest(op, &pb.CreateServiceRequestRequest{
			ResidentId: res.Resident.Id, ServiceCode: svc.Code, Urgency: pb.Urgency_URGENCY_SOON, IdempotencyKey: "revoke-1"})
		if err != nil {
			t.Fatal(err)
		}
		cands, err := pb.NewDispatchServiceJSONClient(srv.url, http.DefaultClient).ListCandidates(op, &pb.ListCandidatesRequest{RequestId: created.Request.Id})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cands.Candidates {
			if c.ProviderId == p.Provider.Id {
				t.Errorf("revoked provider is still a candidate: %+v", c)
			}
		}
	})

	t.Run("family", func(t *testing.T) {
		link, err := residents.LinkFamilyMember(op, &pb.LinkFamilyMemberRequest{ResidentId: res.Resident.Id, Name: "王刚", Phone: "13800000001", Relation: "儿子"})
		if err != nil {
			t.Fatal(err)
		}
		famHC, famAPI := contractClient(t, srv.url)
		fam := phone{t: t, url: srv.url, token: link.AccessToken, hc: famHC, api: famAPI}
		if code := fam.do("GET", "/m/v1/family/visits", nil, nil); code != http.StatusOK {
			t.Fatalf("family visits: HTTP %d", code)
		}
		if _, err := residents.UnlinkFamilyMember(op, &pb.UnlinkFamilyMemberRequest{FamilyMemberId: link.FamilyMemberId}); err != nil {
			t.Fatal(err)
		}
		if code := fam.do("GET", "/m/v1/family/visits", nil, nil); code != http.StatusUnauthorized {
			t.Errorf("family visits after unlink: HTTP %d, want 401", code)
		}
	})

	t.Run("account", func(t *testing.T) {
		accounts := pb.NewAccountServiceJSONClient(srv.url, http.DefaultClient)
		if _, err := accounts.DisableUser(admin, &pb.DisableUserRequest{Username: "op1"}); err != nil {
			t.Fatal(err)
		}
		_, err := residents.SearchResidents(op, &pb.SearchResidentsRequest{Query: "王"})
		if te, ok := err.(twirp.Error); !ok || te.Code() != twirp.Unauthenticated {
			t.Errorf("disabled operator's session: %v, want unauthenticated", err)
		}
		_, err = pb.NewAuthServiceJSONClient(srv.url, http.DefaultClient).Login(context.Background(), &pb.LoginRequest{Username: "op1", Password: "correct-horse-battery"})
		if te, ok := err.(twirp.Error); !ok || te.Code() != twirp.PermissionDenied {
			t.Errorf("disabled operator's login: %v, want permission_denied", err)
		}
	})
}
