package rpc_test

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/rpc"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// allMethods lists every RPC of package carehex.v1 as "Service/Method", read
// from the registered descriptors so that a new RPC cannot be missed.
func allMethods(tb testing.TB) []string {
	tb.Helper()
	var out []string
	protoregistry.GlobalFiles.RangeFilesByPackage("carehex.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				out = append(out, string(sd.Name())+"/"+string(sd.Methods().Get(j).Name()))
			}
		}
		return true
	})
	sort.Strings(out)
	if !slices.Contains(out, "IntakeService/CreateServiceRequest") || !slices.Contains(out, "AuthService/Login") {
		tb.Fatalf("descriptors list %d methods, missing known ones: %v", len(out), out)
	}
	return out
}

// TestAccessTableCoversEveryMethod checks the role table fails closed on
// purpose: every method is either public or listed, and nothing is listed
// that does not exist.
func TestAccessTableCoversEveryMethod(t *testing.T) {
	methods := allMethods(t)
	for _, m := range methods {
		_, listed := rpc.Access[m]
		switch {
		case rpc.Public[m] && listed:
			t.Errorf("%s is both public and in the role table", m)
		case !rpc.Public[m] && !listed:
			t.Errorf("%s is neither public nor in the role table: nobody can call it", m)
		case listed && len(rpc.Access[m]) == 0:
			t.Errorf("%s has an empty role list", m)
		}
		for _, r := range rpc.Access[m] {
			if _, err := carehex.ParseRole(string(r)); err != nil {
				t.Errorf("%s allows unknown role %q", m, r)
			}
		}
	}
	for m := range rpc.Access {
		if !slices.Contains(methods, m) {
			t.Errorf("role table lists %s, which is no method of carehex.v1", m)
		}
	}
	for m, public := range rpc.Public {
		if !slices.Contains(methods, m) {
			t.Errorf("Public lists %s, which is no method of carehex.v1", m)
		}
		// auth.proto: "Login is the only call that needs no token."
		if public && m != "AuthService/Login" {
			t.Errorf("%s is public; only AuthService/Login may be", m)
		}
	}
	if !rpc.Public["AuthService/Login"] {
		t.Error("AuthService/Login is not public: nobody could sign in")
	}
}

// TestAccessMatrix calls every method with every kind of credential and
// checks the edge answers exactly as rpc.Public and rpc.Access say, on
// SQLite and PostgreSQL: the organisation roles' filters are SQL.
func TestAccessMatrix(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { accessMatrix(t, be) })
	}
}

// accessMatrix is TestAccessMatrix on one database.
func accessMatrix(t *testing.T, be backend) {
	ts := newServer(t, be)
	ctx := context.Background()
	admin := ts.ctx(t, carehex.RoleAdmin)

	prov, err := ts.providers().CreateProvider(admin, &pb.CreateProviderRequest{
		Name: "李师傅", Phone: "13700137000", Skills: []string{ts.service().RequiredSkill}, Location: zibo,
	})
	if err != nil {
		t.Fatalf("create provider: %v", err)
	}
	dev, err := ts.providers().IssueDeviceToken(admin, &pb.IssueDeviceTokenRequest{ProviderId: prov.Provider.Id})
	if err != nil {
		t.Fatalf("issue device token: %v", err)
	}
	res := ts.createResident(t, "王秀英", "13800138000")
	fam, err := ts.residents().LinkFamilyMember(admin, &pb.LinkFamilyMemberRequest{
		ResidentId: res.Id, Name: "王强", Phone: "13900139000", Relation: "son",
	})
	if err != nil {
		t.Fatalf("link family member: %v", err)
	}
	// An admin token that expired an hour ago.
	expired := "chs_expired-token-for-the-access-matrix-test"
	u := ts.Users[carehex.RoleAdmin]
	if err := ts.Store.CreateToken(ctx, auth.HashToken(expired),
		carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: u.Role, Name: u.Username},
		time.Now().Add(-time.Hour)); err != nil {
		t.Fatalf("create expired token: %v", err)
	}

	type caller struct {
		name  string
		token func(t *testing.T) string // "" sends no Authorization header
		role  carehex.Role              // console role, or "" for a non-user
		user  bool                      // a valid console session
	}
	callers := []caller{
		{name: "no token", token: func(*testing.T) string { return "" }},
		{name: "garbage token", token: func(*testing.T) string { return "chs_not-a-token-anybody-issued" }},
		{name: "expired token", token: func(*testing.T) string { return expired }},
		{name: "provider device", token: func(*testing.T) string { return dev.Token }},
		{name: "family member", token: func(*testing.T) string { return fam.AccessToken }},
	}
	for _, role := range append(slices.Clone(roles), orgRoles...) {
		// A fresh session per call: Logout, when allowed, ends the one it is given.
		callers = append(callers, caller{name: string(role), role: role, user: true,
			token: func(t *testing.T) string { return ts.issue(t, role) }})
	}

	for _, method := range allMethods(t) {
		t.Run(method, func(t *testing.T) {
			for _, c := range callers {
				t.Run(c.name, func(t *testing.T) {
					got := ts.post(t, method, jsonType, []byte(`{}`), c.token(t))
					code := twirp.ErrorCode(got.Err.Code)
					if got.Status >= 500 || code == twirp.Internal {
						t.Fatalf("server error: %s", got)
					}
					var want twirp.ErrorCode // "" means: anything but unauthenticated or permission_denied
					switch {
					case rpc.Public[method]:
					case c.name == "no token" || c.name == "garbage token" || c.name == "expired token":
						want = twirp.Unauthenticated
					case !c.user:
						want = twirp.PermissionDenied
					case !rpc.RoleMay(method, c.role):
						want = twirp.PermissionDenied
					}
					if want != "" {
						if code != want {
							t.Errorf("got %s, want %s", got, want)
						}
						return
					}
					if code == twirp.Unauthenticated || code == twirp.PermissionDenied {
						t.Errorf("got %s, want the call let through", got)
					}
				})
			}
		})
	}

	// The device and family tokens are still good: they were refused for
	// what they are, not because they had stopped working.
	for name, tok := range map[string]string{"provider": dev.Token, "family": fam.AccessToken} {
		if _, err := auth.Authenticate(ctx, ts.Store, time.Now(), tok); err != nil {
			t.Errorf("%s token no longer authenticates: %v", name, err)
		}
	}
}
