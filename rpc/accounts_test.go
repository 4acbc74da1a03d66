package rpc_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/internal/testenv"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

func (ts *testServer) accounts() pb.AccountService {
	return pb.NewAccountServiceJSONClient(ts.URL, ts.Client)
}

// wantLocked checks err is resource_exhausted with a retry_after_ms no
// longer than max.
func wantLocked(tb testing.TB, err error, max time.Duration) {
	tb.Helper()
	te := wantCode(tb, err, twirp.ResourceExhausted, "")
	ms, perr := strconv.Atoi(te.Meta("retry_after_ms"))
	if perr != nil || ms <= 0 || time.Duration(ms)*time.Millisecond > max {
		tb.Fatalf("retry_after_ms = %q, want 1..%d", te.Meta("retry_after_ms"), max.Milliseconds())
	}
}

// The issue's acceptance test: the 11th wrong password for one username
// within 15 minutes is refused with resource_exhausted, and so is the right
// password until the lockout ends; every failure is in the audit trail with
// the username and the client address.
func TestLoginLockout(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			clock := testenv.NewClock(time.Now().UTC())
			ts := newServerWithClock(t, be, clock.Now)
			ctx := context.Background()
			user := ts.Users[carehex.RoleOperator].Username
			login := func(password string) error {
				_, err := ts.auth().Login(ctx, &pb.LoginRequest{Username: user, Password: password})
				return err
			}
			for i := 1; i <= 10; i++ {
				clock.Advance(time.Minute) // ten failures spread over ten minutes, inside the window
				wantCode(t, login("wrong password "+strconv.Itoa(i)), twirp.Unauthenticated, "")
			}
			clock.Advance(time.Minute)
			wantLocked(t, login("wrong password 11"), 15*time.Minute)
			wantLocked(t, login(testPassword), 15*time.Minute)
			// Another username from the same address is not locked by this one.
			if _, err := ts.auth().Login(ctx, &pb.LoginRequest{Username: ts.Users[carehex.RoleAdmin].Username, Password: testPassword}); err != nil {
				t.Fatalf("another user's login: %v", err)
			}

			recs, err := ts.audit().ListAuditRecords(ts.ctx(t, carehex.RoleSupervisor),
				&pb.ListAuditRecordsRequest{ObjectId: carehex.UserThrottleKey(user), Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, r := range recs.Records {
				count[r.Action]++
				if !strings.Contains(r.Detail, `username="`+user+`"`) || !strings.Contains(r.Detail, "addr=127.0.0.1") {
					t.Errorf("audit record %s %q lacks the username or the address", r.Action, r.Detail)
				}
			}
			if count["login.fail"] != 10 || count["login.lockout"] != 1 || count["login.locked"] != 2 {
				t.Errorf("audit counts %v, want 10 login.fail, 1 login.lockout, 2 login.locked", count)
			}
			if !strings.Contains(ts.logs.String(), "login.fail") || !strings.Contains(ts.logs.String(), "addr=127.0.0.1") {
				t.Errorf("no login.fail log line with the address:\n%s", ts.logs.String())
			}

			// The lockout ends by itself...
			clock.Advance(15 * time.Minute)
			if err := login(testPassword); err != nil {
				t.Fatalf("login after the lockout: %v", err)
			}
			// ...or when an admin lifts it.
			for i := 0; i < 10; i++ {
				wantCode(t, login("wrong again"), twirp.Unauthenticated, "")
			}
			wantLocked(t, login(testPassword), 30*time.Minute) // the second lockout is twice as long
			_, err = ts.accounts().UnlockLogin(ts.ctx(t, carehex.RoleOperator), &pb.UnlockLoginRequest{Username: user})
			wantCode(t, err, twirp.PermissionDenied, "")
			resp, err := ts.accounts().UnlockLogin(ts.ctx(t, carehex.RoleAdmin), &pb.UnlockLoginRequest{Username: user})
			if err != nil || !resp.Cleared {
				t.Fatalf("UnlockLogin = %v, %v", resp, err)
			}
			if err := login(testPassword); err != nil {
				t.Fatalf("login after unlock: %v", err)
			}
		})
	}
}

func TestLoginRefusesOverlongUsername(t *testing.T) {
	ts := newServer(t, sqlite)
	_, err := ts.auth().Login(context.Background(), &pb.LoginRequest{Username: strings.Repeat("a", carehex.MaxNameLen+1), Password: "x"})
	wantCode(t, err, twirp.InvalidArgument, "username")
	recs, err := ts.Store.AuditRecords(context.Background(), carehex.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if strings.HasPrefix(r.Action, "login.") {
			t.Errorf("overlong username reached the audit trail: %+v", r)
		}
	}
}

func TestLoginLockoutPerAddress(t *testing.T) {
	clock := testenv.NewClock(time.Now().UTC())
	ts := newServerWithClock(t, sqlite, clock.Now)
	ctx := context.Background()
	// Unknown usernames count against the address as much as known ones.
	for i := 0; i < carehex.DefaultLoginPolicy().MaxAddrFailures; i++ {
		if _, err := ts.Store.LoginFailed(ctx, carehex.LoginAttempt{Username: "guess" + strconv.Itoa(i), Addr: "127.0.0.1",
			Time: clock.Now()}, carehex.DefaultLoginPolicy()); err != nil {
			t.Fatal(err)
		}
	}
	_, err := ts.auth().Login(ctx, &pb.LoginRequest{Username: ts.Users[carehex.RoleAdmin].Username, Password: testPassword})
	wantLocked(t, err, 15*time.Minute)
	for _, req := range []*pb.UnlockLoginRequest{{}, {Username: "x", ClientAddress: "127.0.0.1"}, {ClientAddress: "not-an-ip"}} {
		_, err := ts.accounts().UnlockLogin(ts.ctx(t, carehex.RoleAdmin), req)
		wantCode(t, err, twirp.InvalidArgument, "")
	}
	if _, err := ts.accounts().UnlockLogin(ts.ctx(t, carehex.RoleAdmin), &pb.UnlockLoginRequest{ClientAddress: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.auth().Login(ctx, &pb.LoginRequest{Username: ts.Users[carehex.RoleAdmin].Username, Password: testPassword}); err != nil {
		t.Fatalf("login after unlocking the address: %v", err)
	}
}

func TestDisableUser(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ts := newServer(t, be)
			op := ts.Users[carehex.RoleOperator]
			admin := ts.ctx(t, carehex.RoleAdmin)
			_, err := ts.accounts().DisableUser(ts.ctx(t, carehex.RoleSupervisor), &pb.DisableUserRequest{Username: op.Username})
			wantCode(t, err, twirp.PermissionDenied, "")
			_, err = ts.accounts().DisableUser(admin, &pb.DisableUserRequest{Username: ts.Users[carehex.RoleAdmin].Username})
			wantCode(t, err, twirp.InvalidArgument, "username")
			_, err = ts.accounts().DisableUser(admin, &pb.DisableUserRequest{Username: "nobody"})
			wantCode(t, err, twirp.NotFound, "username")

			resp, err := ts.accounts().DisableUser(admin, &pb.DisableUserRequest{Username: op.Username})
			if err != nil || resp.UserId != op.ID {
				t.Fatalf("DisableUser = %v, %v", resp, err)
			}
			// Its session stops working at once, and login is refused.
			_, err = ts.residents().SearchResidents(ts.ctx(t, carehex.RoleOperator), &pb.SearchResidentsRequest{Query: "张"})
			wantCode(t, err, twirp.Unauthenticated, "")
			_, err = ts.auth().Login(context.Background(), &pb.LoginRequest{Username: op.Username, Password: testPassword})
			wantCode(t, err, twirp.PermissionDenied, "")

			if _, err := ts.accounts().EnableUser(admin, &pb.EnableUserRequest{Username: op.Username}); err != nil {
				t.Fatal(err)
			}
			login, err := ts.auth().Login(context.Background(), &pb.LoginRequest{Username: op.Username, Password: testPassword})
			if err != nil {
				t.Fatalf("login after enable: %v", err)
			}
			if _, err := ts.residents().SearchResidents(as(t, login.Token), &pb.SearchResidentsRequest{Query: "张"}); err != nil {
				t.Errorf("new session after enable: %v", err)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ts := newServer(t, be)
			op := ts.Users[carehex.RoleOperator]
			second := ts.issue(t, carehex.RoleOperator)
			mine := ts.ctx(t, carehex.RoleOperator)

			list, err := ts.accounts().ListSessions(mine, &pb.ListSessionsRequest{})
			if err != nil || len(list.Sessions) != 2 {
				t.Fatalf("ListSessions = %v, %v; want 2", list, err)
			}
			current := 0
			for _, s := range list.Sessions {
				if s.Current {
					current++
					if s.Id != carehex.SessionID(auth.HashToken(ts.Tokens[carehex.RoleOperator])) {
						t.Errorf("current session %s is not the caller's", s.Id)
					}
				}
			}
			if current != 1 {
				t.Errorf("%d sessions marked current, want 1", current)
			}
			// A non-admin may not look at someone else's sessions.
			_, err = ts.accounts().ListSessions(ts.ctx(t, carehex.RoleSupervisor), &pb.ListSessionsRequest{Username: op.Username})
			wantCode(t, err, twirp.PermissionDenied, "username")
			_, err = ts.accounts().EndAllSessions(ts.ctx(t, carehex.RoleSupervisor), &pb.EndAllSessionsRequest{Username: op.Username})
			wantCode(t, err, twirp.PermissionDenied, "username")
			_, err = ts.accounts().EndSession(mine, &pb.EndSessionRequest{SessionId: "ses_nope"})
			wantCode(t, err, twirp.InvalidArgument, "session_id")

			// An admin ends the second session: that token stops, the first goes on.
			secondID := carehex.SessionID(auth.HashToken(second))
			if _, err := ts.accounts().EndSession(ts.ctx(t, carehex.RoleAdmin), &pb.EndSessionRequest{Username: op.Username, SessionId: secondID}); err != nil {
				t.Fatal(err)
			}
			_, err = ts.accounts().ListSessions(as(t, second), &pb.ListSessionsRequest{})
			wantCode(t, err, twirp.Unauthenticated, "")
			if _, err := ts.accounts().ListSessions(mine, &pb.ListSessionsRequest{}); err != nil {
				t.Fatalf("the other session ended too: %v", err)
			}
			// Ending all of one's own ends this one too.
			if _, err := ts.accounts().EndAllSessions(mine, &pb.EndAllSessionsRequest{}); err != nil {
				t.Fatal(err)
			}
			_, err = ts.accounts().ListSessions(mine, &pb.ListSessionsRequest{})
			wantCode(t, err, twirp.Unauthenticated, "")
		})
	}
}

func TestUnlinkFamilyMember(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ts := newServer(t, be)
			r := ts.createResident(t, "张桂兰", "13905330001")
			link, err := ts.residents().LinkFamilyMember(ts.ctx(t, carehex.RoleOperator), &pb.LinkFamilyMemberRequest{
				ResidentId: r.Id, Name: "李明", Phone: "13800000000", Relation: "son"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			p, err := auth.Authenticate(ctx, ts.Store, ts.Clock(), link.AccessToken)
			if err != nil || p.Kind != carehex.KindFamily {
				t.Fatalf("family token before unlink: %+v, %v", p, err)
			}
			// The token lives the family lifetime (30 days by default), not a year.
			if _, err := auth.Authenticate(ctx, ts.Store, ts.Clock().Add(carehex.FamilyTTL-time.Minute), link.AccessToken); err != nil {
				t.Errorf("family token before its lifetime ends: %v", err)
			}
			if _, err := auth.Authenticate(ctx, ts.Store, ts.Clock().Add(carehex.FamilyTTL+time.Minute), link.AccessToken); carehex.ErrorCode(err) != carehex.EUNAUTHENTICATED {
				t.Errorf("family token after %v: %v", carehex.FamilyTTL, err)
			}
			_, err = ts.residents().UnlinkFamilyMember(ts.ctx(t, carehex.RoleSupervisor), &pb.UnlinkFamilyMemberRequest{FamilyMemberId: link.FamilyMemberId})
			wantCode(t, err, twirp.PermissionDenied, "")
			_, err = ts.residents().UnlinkFamilyMember(ts.ctx(t, carehex.RoleOperator), &pb.UnlinkFamilyMemberRequest{})
			wantCode(t, err, twirp.InvalidArgument, "family_member_id")
			if _, err := ts.residents().UnlinkFamilyMember(ts.ctx(t, carehex.RoleOperator), &pb.UnlinkFamilyMemberRequest{FamilyMemberId: link.FamilyMemberId}); err != nil {
				t.Fatal(err)
			}
			if _, err := auth.Authenticate(ctx, ts.Store, ts.Clock(), link.AccessToken); carehex.ErrorCode(err) != carehex.EUNAUTHENTICATED {
				t.Errorf("family token after unlink: %v", err)
			}
			_, err = ts.residents().UnlinkFamilyMember(ts.ctx(t, carehex.RoleOperator), &pb.UnlinkFamilyMemberRequest{FamilyMemberId: link.FamilyMemberId})
			wantCode(t, err, twirp.NotFound, "family_member_id")
		})
	}
}
