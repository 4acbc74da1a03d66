package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/sqlstore"
)

// TestDemoOrgAccounts: the demo creates its organisations with contracts
// and an org_dispatcher and an org_admin of the first one, who can sign
// in; running it again adds nothing.
func TestDemoOrgAccounts(t *testing.T) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "carehex.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// A roster that exists already: the demo adds accounts, not people.
	if err := store.CreateProvider(ctx, &carehex.Provider{Name: "李师傅", Phone: "13700000000", Skills: []string{"meal_service"}, Home: carehex.LatLng{Lat: 36.8, Lng: 118.05}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var out bytes.Buffer
		if err := seedDemo(ctx, store, &out, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "orgdispatch / orgdispatch-demo-pw") {
			t.Errorf("the demo logins do not list the organisation dispatcher:\n%s", out.String())
		}
	}
	orgs, err := store.Organisations(ctx)
	if err != nil || len(orgs) < 4 {
		t.Fatalf("organisations = %d, %v; want a handful", len(orgs), err)
	}
	id, err := demoOrgID(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if cs, err := store.Contracts(ctx, id); err != nil || len(cs) == 0 {
		t.Errorf("the demo organisation has contracts %v, %v", cs, err)
	}
	logins := &auth.Logins{Store: store}
	for _, a := range demoAccounts {
		if !a.role.OrgRole() {
			continue
		}
		token, u, _, err := logins.Login(ctx, time.Now(), a.username, a.password, "127.0.0.1")
		if err != nil || u.OrgID != id {
			t.Fatalf("%s signs in: %v, %v", a.username, u, err)
		}
		p, err := auth.Authenticate(ctx, store, time.Now(), token)
		if err != nil || p.Role != a.role || p.OrgID != id {
			t.Errorf("%s's session = %+v, %v", a.username, p, err)
		}
	}
}
