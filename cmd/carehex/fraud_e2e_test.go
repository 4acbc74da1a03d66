package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// TestPhotoEndToEnd runs the binary with its defaults (SQLite, photos in
// DATA/evidence): the carer holding a visit uploads the scene at arrival,
// the file lands under its hash, and an operator sees it through
// FraudService.
func TestPhotoEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	env := []string{"CAREHEX_ZONE=e2e" + randomHex(4)}
	addUser(t, bin, env, data, "op1", "operator", "correct-horse-battery")
	srv := startServer(t, bin, env, "--data", data)
	hc, api := contractClient(t, srv.url)
	ctx := login(t, srv.url, "op1", "correct-horse-battery")
	home := &pb.LatLng{Lat: 36.8000, Lng: 118.0500}
	res, err := pb.NewResidentServiceJSONClient(srv.url, http.DefaultClient).CreateResident(ctx, &pb.CreateResidentRequest{
		Name: "王桂兰", Phone: "13905330001", Address: "张店区华光路56号3单元201", Location: home})
	if err != nil {
		t.Fatal(err)
	}
	code := firstServiceCode(t, ctx, srv.url)
	types, err := pb.NewCatalogServiceJSONClient(srv.url, http.DefaultClient).ListServiceTypes(ctx, &pb.ListServiceTypesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	skill := ""
	for _, st := range types.ServiceTypes {
		if st.Code == code {
			skill = st.RequiredSkill
		}
	}
	providers := pb.NewProviderServiceJSONClient(srv.url, http.DefaultClient)
	p, err := providers.CreateProvider(ctx, &pb.CreateProviderRequest{Name: "刘芳", Phone: "13600000001", Skills: []string{skill},
		Location: home})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := providers.IssueDeviceToken(ctx, &pb.IssueDeviceTokenRequest{ProviderId: p.Provider.Id})
	if err != nil {
		t.Fatal(err)
	}
	ph := phone{t: t, url: srv.url, token: tok.Token, hc: hc, api: api}
	if c := ph.do("POST", "/m/v1/heartbeat", map[string]any{"lat": home.Lat, "lng": home.Lng, "accuracy_m": 10, "available": true}, nil); c != http.StatusOK {
		t.Fatalf("heartbeat: HTTP %d", c)
	}
	created, err := pb.NewIntakeServiceJSONClient(srv.url, http.DefaultClient).CreateServiceRequest(ctx, &pb.CreateServiceRequestRequest{
		ResidentId: res.Resident.Id, ServiceCode: code, Urgency: pb.Urgency_URGENCY_SOON})
	if err != nil {
		t.Fatal(err)
	}
	offer, _ := ph.waitOfferPoll(created.Request.Id)
	var accepted struct{ Visit struct{ ID string } }
	if c := ph.do("POST", "/m/v1/offers/"+offer.ID+"/accept", nil, &accepted); c != http.StatusOK {
		t.Fatalf("accept: HTTP %d", c)
	}
	visit := accepted.Visit.ID
	if c := ph.do("POST", "/m/v1/visits/"+visit+"/events", map[string]any{"event_id": "arr-1", "type": "arrive",
		"lat": home.Lat, "lng": home.Lng, "accuracy_m": 10, "device_time": time.Now().UTC().Format(time.RFC3339Nano)}, nil); c != http.StatusCreated {
		t.Fatalf("arrive: HTTP %d", c)
	}

	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 64, 48))); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.url+"/m/v1/visits/"+visit+"/photos?stage=arrive", bytes.NewReader(img.Bytes()))
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "image/png")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct{ Photo struct{ ID, SHA256 string } }
	_ = json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	sum := sha256.Sum256(img.Bytes())
	sha := hex.EncodeToString(sum[:])
	if resp.StatusCode != http.StatusCreated || up.Photo.SHA256 != sha {
		t.Fatalf("upload: HTTP %d, %+v", resp.StatusCode, up)
	}
	if stored, err := os.ReadFile(filepath.Join(data, "evidence", sha[:2], sha)); err != nil || !bytes.Equal(stored, img.Bytes()) {
		t.Fatalf("the photo is not under DATA/evidence by its hash: %v", err)
	}
	fraud := pb.NewFraudServiceJSONClient(srv.url, http.DefaultClient)
	got, err := fraud.GetVisitPhoto(ctx, &pb.GetVisitPhotoRequest{VisitId: visit, PhotoId: up.Photo.ID})
	if err != nil || !bytes.Equal(got.Data, img.Bytes()) {
		t.Fatalf("GetVisitPhoto: %v", err)
	}
}
