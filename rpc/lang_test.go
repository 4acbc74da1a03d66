package rpc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// withLang adds an Accept-Language header to the Twirp calls of ctx.
func withLang(tb testing.TB, ctx context.Context, lang string) context.Context {
	tb.Helper()
	h, _ := twirp.HTTPRequestHeaders(ctx)
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Accept-Language", lang)
	ctx, err := twirp.WithHTTPRequestHeaders(ctx, h)
	if err != nil {
		tb.Fatal(err)
	}
	return ctx
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestErrorsSpeakTheCallersLanguage: a Twirp error answers a zh caller in
// Chinese and anyone else in English, with the same meta "argument" and the
// message code and parameters in meta for the pages, for errors of several
// kinds (validation, permission, missing object, state conflict, login).
func TestErrorsSpeakTheCallersLanguage(t *testing.T) {
	ts := newServer(t, sqlite)
	res := ts.createResident(t, "王桂兰", "13905330001")
	code := ts.service().Code
	cases := []struct {
		name     string
		call     func(ctx context.Context, role carehex.Role) error
		role     carehex.Role
		twirp    twirp.ErrorCode
		argument string
		msgCode  string
		zhHas    string // words the Chinese msg must contain
	}{
		{"notes too long", func(ctx context.Context, _ carehex.Role) error {
			_, err := ts.intake().CreateServiceRequest(ctx, &pb.CreateServiceRequestRequest{ResidentId: res.Id, ServiceCode: code,
				Urgency: pb.Urgency_URGENCY_SOON, Notes: strings.Repeat("饭", carehex.MaxTextLen+1)})
			return err
		}, carehex.RoleOperator, twirp.InvalidArgument, "notes", carehex.MsgInvalidText, "备注"},
		{"missing resident", func(ctx context.Context, _ carehex.Role) error {
			_, err := ts.intake().CreateServiceRequest(ctx, &pb.CreateServiceRequestRequest{ServiceCode: code, Urgency: pb.Urgency_URGENCY_SOON})
			return err
		}, carehex.RoleOperator, twirp.InvalidArgument, "resident_id", carehex.MsgRequired, "来电老人"},
		{"supervisor may not log requests", func(ctx context.Context, _ carehex.Role) error {
			_, err := ts.intake().CreateServiceRequest(ctx, &pb.CreateServiceRequestRequest{ResidentId: res.Id, ServiceCode: code,
				Urgency: pb.Urgency_URGENCY_SOON})
			return err
		}, carehex.RoleSupervisor, twirp.PermissionDenied, "", carehex.MsgForbiddenRole, "督导"},
		{"no such request", func(ctx context.Context, _ carehex.Role) error {
			_, err := ts.intake().GetServiceRequest(ctx, &pb.GetServiceRequestRequest{Id: "req_nosuch"})
			return err
		}, carehex.RoleOperator, twirp.NotFound, "id", carehex.ENOTFOUND, "编号"},
		{"wrong password", func(ctx context.Context, _ carehex.Role) error {
			_, err := ts.auth().Login(ctx, &pb.LoginRequest{Username: ts.Users[carehex.RoleOperator].Username, Password: "not the password"})
			return err
		}, "", twirp.Unauthenticated, "", carehex.MsgBadLogin, "密码"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := context.Background()
			if tc.role != "" {
				base = ts.ctx(t, tc.role)
			}
			var msgs [2]string
			for i, lang := range []string{"zh-CN,zh;q=0.9,en;q=0.8", "en-GB"} {
				te := wantCode(t, tc.call(withLang(t, base, lang), tc.role), tc.twirp, tc.argument)
				if got := te.Meta("argument"); got != tc.argument {
					t.Errorf("%s: meta argument %q, want %q", lang, got, tc.argument)
				}
				if got := te.Meta("code"); got != tc.msgCode {
					t.Errorf("%s: meta code %q, want %q", lang, got, tc.msgCode)
				}
				if p := te.Meta("params"); p != "" {
					var params map[string]string
					if err := json.Unmarshal([]byte(p), &params); err != nil {
						t.Errorf("%s: meta params %q is not a JSON object of strings: %v", lang, p, err)
					}
				}
				msgs[i] = te.Msg()
			}
			if !hasHan(msgs[0]) || !strings.Contains(msgs[0], tc.zhHas) {
				t.Errorf("zh msg %q is not Chinese naming %q", msgs[0], tc.zhHas)
			}
			for _, r := range msgs[0] {
				if r == '_' {
					t.Errorf("zh msg %q carries a code", msgs[0])
					break
				}
			}
			if hasHan(msgs[1]) {
				t.Errorf("en msg %q is not English", msgs[1])
			}
		})
	}

	t.Run("no Accept-Language keeps the English message", func(t *testing.T) {
		_, err := ts.intake().GetServiceRequest(ts.ctx(t, carehex.RoleOperator), &pb.GetServiceRequestRequest{Id: "req_nosuch"})
		te := wantCode(t, err, twirp.NotFound, "id")
		if hasHan(te.Msg()) || te.Meta("code") != carehex.ENOTFOUND {
			t.Errorf("got %q code %q, want English and not_found", te.Msg(), te.Meta("code"))
		}
	})
}
