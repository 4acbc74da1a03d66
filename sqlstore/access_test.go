package sqlstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

func TestLoginThrottle(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		p := carehex.LoginPolicy{MaxFailures: 3, MaxAddrFailures: 5, Window: 15 * time.Minute,
			Lockout: time.Minute, MaxLockout: 3 * time.Minute}
		now := testNow.UTC().Truncate(time.Microsecond)
		attempt := func(user, addr string, at time.Time) carehex.LoginAttempt {
			return carehex.LoginAttempt{Username: user, Addr: addr, Time: at}
		}
		keys := []string{carehex.UserThrottleKey("ann"), carehex.AddrThrottleKey("10.0.0.1")}

		for i := 1; i <= 2; i++ {
			until, err := e.LoginFailed(ctx, attempt("ann", "10.0.0.1", now), p)
			if err != nil || !until.IsZero() {
				t.Fatalf("failure %d: lockout %v, %v; want none", i, until, err)
			}
		}
		if until, err := e.LoginLockedUntil(ctx, keys, now); err != nil || !until.IsZero() {
			t.Fatalf("locked after 2 of 3: %v, %v", until, err)
		}
		until, err := e.LoginFailed(ctx, attempt("ann", "10.0.0.1", now), p)
		if err != nil || !until.Equal(now.Add(time.Minute)) {
			t.Fatalf("third failure: lockout %v, %v; want %v", until, err, now.Add(time.Minute))
		}
		if got, err := e.LoginLockedUntil(ctx, keys, now.Add(30*time.Second)); err != nil || !got.Equal(until) {
			t.Errorf("LoginLockedUntil = %v, %v; want %v", got, err, until)
		}
		if got, _ := e.LoginLockedUntil(ctx, keys, until); !got.IsZero() {
			t.Errorf("still locked when the lockout ends: %v", got)
		}
		// The second lockout doubles, and the cap holds the third.
		later := until
		for i := 0; i < 3; i++ {
			until, err = e.LoginFailed(ctx, attempt("ann", "", later), p)
			if err != nil {
				t.Fatal(err)
			}
		}
		if !until.Equal(later.Add(2 * time.Minute)) {
			t.Errorf("second lockout ends %v, want %v", until, later.Add(2*time.Minute))
		}
		for i := 0; i < 3; i++ {
			if until, err = e.LoginFailed(ctx, attempt("ann", "", later), p); err != nil {
				t.Fatal(err)
			}
		}
		if !until.Equal(later.Add(3 * time.Minute)) {
			t.Errorf("third lockout ends %v, want the cap %v", until, later.Add(3*time.Minute))
		}
		recs, err := e.AuditRecords(ctx, carehex.AuditFilter{ObjectID: carehex.UserThrottleKey("ann"), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		fails, lockouts := 0, 0
		for _, r := range recs {
			switch r.Action {
			case "login.fail":
				fails++
				if !strings.Contains(r.Detail, `username="ann"`) || r.Actor != anonymous {
					t.Errorf("failure record %+v", r)
				}
			case "login.lockout":
				lockouts++
			}
		}
		if fails != 9 || lockouts != 3 {
			t.Errorf("audit has %d failures and %d lockouts of ann, want 9 and 3", fails, lockouts)
		}
		if err := e.LoginRefused(ctx, attempt("ann", "10.0.0.1", later), until); err != nil {
			t.Fatal(err)
		}

		// Unlock clears the username; success clears it too.
		if ok, err := e.UnlockLogin(ctx, carehex.UserThrottleKey("ann")); err != nil || !ok {
			t.Fatalf("UnlockLogin = %v, %v", ok, err)
		}
		if got, _ := e.LoginLockedUntil(ctx, keys[:1], later); !got.IsZero() {
			t.Errorf("locked after unlock until %v", got)
		}
		if ok, err := e.UnlockLogin(ctx, carehex.UserThrottleKey("ann")); err != nil || ok {
			t.Errorf("second UnlockLogin = %v, %v; want nothing to clear", ok, err)
		}
		if _, err := e.LoginFailed(ctx, attempt("ann", "", later), p); err != nil {
			t.Fatal(err)
		}
		if err := e.LoginSucceeded(ctx, "ann"); err != nil {
			t.Fatal(err)
		}
		if n := rows(t, e, "login_throttle WHERE key = 'user:ann'"); n != 0 {
			t.Errorf("success left %d throttle rows of ann", n)
		}

		// The address limit counts over usernames.
		for i, u := range []string{"a", "b", "c", "d", "e"} {
			until, err := e.LoginFailed(ctx, attempt(u, "10.0.0.9", later), p)
			if err != nil || (i < 4) != until.IsZero() {
				t.Fatalf("address failure %d: lockout %v, %v", i+1, until, err)
			}
		}
		if got, _ := e.LoginLockedUntil(ctx, []string{carehex.AddrThrottleKey("10.0.0.9")}, later); got.IsZero() {
			t.Error("address not locked after 5 failures")
		}

		_, err = e.LoginFailed(ctx, attempt("", "10.0.0.1", now), p)
		wantErr(t, err, carehex.EINVALID, "username")
		_, err = e.LoginFailed(ctx, attempt("ann", "", now), carehex.LoginPolicy{})
		wantErr(t, err, carehex.EINVALID, "MaxFailures")
		_, err = e.UnlockLogin(ctx, "")
		wantErr(t, err, carehex.EINVALID, "key")
	})
}

// Concurrent failures on one key count one after the other.
func TestLoginThrottleConcurrent(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		p := carehex.DefaultLoginPolicy()
		p.MaxFailures = 1000
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.LoginFailed(ctx, carehex.LoginAttempt{Username: "bob", Time: testNow}, p)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := e.db.QueryRow(e.rebind(`SELECT failures FROM login_throttle WHERE key = ?`), "user:bob").Scan(&n); err != nil || n != 20 {
			t.Errorf("failures = %d, %v; want 20", n, err)
		}
	})
}

func TestUserDisabledAndSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := &carehex.User{Username: "op1", Role: carehex.RoleOperator, PasswordHash: "$2a$10$hash"}
		if err := e.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		now := testNow
		p := carehex.Principal{Kind: carehex.KindUser, Subject: u.ID, Role: u.Role, Name: u.Username}
		hashes := []string{"aaaa0000000000000000000000000001", "bbbb0000000000000000000000000002", "cccc0000000000000000000000000003"}
		for i, h := range hashes {
			e.clock.Set(now.Add(time.Duration(i) * time.Minute))
			if err := e.CreateToken(ctx, h, p, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.CreateToken(ctx, "dddd0000000000000000000000000004", p, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		ss, err := e.UserSessions(ctx, u.ID, now.Add(time.Minute))
		if err != nil || len(ss) != 3 {
			t.Fatalf("UserSessions = %d, %v; want the 3 unexpired", len(ss), err)
		}
		if ss[0].ID != carehex.SessionID(hashes[2]) || ss[2].ID != carehex.SessionID(hashes[0]) || !ss[0].ExpireTime.Equal(now.Add(time.Hour).UTC().Truncate(time.Microsecond)) {
			t.Errorf("sessions %+v %+v %+v, want newest first", ss[0], ss[1], ss[2])
		}

		// Ending one session revokes that token only.
		if err := e.EndSession(ctx, u.ID, carehex.SessionID(hashes[1])); err != nil {
			t.Fatal(err)
		}
		if _, err := e.TokenPrincipal(ctx, hashes[1], now); carehex.ErrorCode(err) != carehex.EUNAUTHENTICATED {
			t.Errorf("ended session's token: %v", err)
		}
		if _, err := e.TokenPrincipal(ctx, hashes[0], now); err != nil {
			t.Errorf("other session ended too: %v", err)
		}
		wantErr(t, e.EndSession(ctx, u.ID, carehex.SessionID(hashes[1])), carehex.ENOTFOUND, "session_id")
		wantErr(t, e.EndSession(ctx, "usr_other", carehex.SessionID(hashes[0])), carehex.ENOTFOUND, "session_id")
		wantErr(t, e.EndSession(ctx, u.ID, "aaaa"), carehex.EINVALID, "session_id")

		// Disabling revokes every token; enabling restores none.
		got, err := e.SetUserDisabled(ctx, " op1 ", true)
		if err != nil || !got.Disabled || got.ID != u.ID {
			t.Fatalf("SetUserDisabled = %+v, %v", got, err)
		}
		if got, _ := e.UserByUsername(ctx, "op1"); !got.Disabled {
			t.Error("UserByUsername does not say disabled")
		}
		for _, h := range hashes {
			if _, err := e.TokenPrincipal(ctx, h, now); carehex.ErrorCode(err) != carehex.EUNAUTHENTICATED {
				t.Errorf("token %s of a disabled user: %v", h[:4], err)
			}
		}
		if got, err := e.SetUserDisabled(ctx, "op1", false); err != nil || got.Disabled {
			t.Fatalf("enable = %+v, %v", got, err)
		}
		if _, err := e.TokenPrincipal(ctx, hashes[0], now); carehex.ErrorCode(err) != carehex.EUNAUTHENTICATED {
			t.Errorf("enabling brought back a token: %v", err)
		}
		_, err = e.SetUserDisabled(ctx, "nobody", true)
		wantErr(t, err, carehex.ENOTFOUND, "username")
		_, err = e.SetUserDisabled(ctx, " ", true)
		wantErr(t, err, carehex.EINVALID, "username")
		_, err = e.UserSessions(ctx, "", now)
		wantErr(t, err, carehex.EINVALID, "user_id")
		recs, err := e.AuditRecords(ctx, carehex.AuditFilter{ObjectID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.Action] = true
		}
		for _, a := range []string{"session.end", "user.disable", "user.enable"} {
			if !seen[a] {
				t.Errorf("no %s audit record", a)
			}
		}
	})
}

func TestUnlinkFamilyMember(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := opCtx()
		r := mustCreateResident(t, e, resident("张桂兰", "13905330001"))
		m := &carehex.FamilyMember{ResidentID: r.ID, Name: "李明", Phone: "13800000000", Relation: "son"}
		keep := &carehex.FamilyMember{ResidentID: r.ID, Name: "李华", Phone: "13800000001", Relation: "daughter"}
		for _, fm := range []*carehex.FamilyMember{m, keep} {
			if err := e.LinkFamilyMember(ctx, fm); err != nil {
				t.Fatal(err)
			}
			if err := e.CreateToken(ctx, "h-"+fm.ID, carehex.Principal{Kind: carehex.KindFamily, Subject: fm.ID}, testNow.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := e.UnlinkFamilyMember(ctx, m.ID)
		if err != nil || got.ID != m.ID || got.ResidentID != r.ID {
			t.Fatalf("UnlinkFamilyMember = %+v, %v", got, err)
		}
		if _, err := e.TokenPrincipal(ctx, "h-"+m.ID, testNow); carehex.ErrorCode(err) != carehex.EUNAUTHENTICATED {
			t.Errorf("unlinked member's token: %v", err)
		}
		if _, err := e.TokenPrincipal(ctx, "h-"+keep.ID, testNow); err != nil {
			t.Errorf("the other member's token: %v", err)
		}
		if ms, _ := e.FamilyMembers(ctx, r.ID); len(ms) != 1 || ms[0].ID != keep.ID {
			t.Errorf("FamilyMembers after unlink = %+v", ms)
		}
		_, err = e.UnlinkFamilyMember(ctx, m.ID)
		wantErr(t, err, carehex.ENOTFOUND, "family_member_id")
		_, err = e.UnlinkFamilyMember(ctx, "")
		wantErr(t, err, carehex.EINVALID, "family_member_id")
		recs, err := e.AuditRecords(ctx, carehex.AuditFilter{ObjectID: r.ID})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, rec := range recs {
			found = found || (rec.Action == "family.unlink" && rec.Detail == "family_member="+m.ID && rec.Actor == operator.Actor())
		}
		if !found {
			t.Error("no family.unlink audit record naming the operator")
		}
	})
}
