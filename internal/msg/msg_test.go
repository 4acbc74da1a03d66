package msg

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/carehex/carehex"
)

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// TestCatalogueComplete: every code a person may be shown has Chinese and
// English words, the catalogue holds no code the server never sends, and
// the file the pages import is the one the server reads.
func TestCatalogueComplete(t *testing.T) {
	onDisk, err := os.ReadFile("../../web/static/messages.js")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(onDisk)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range carehex.MessageCodes {
		if !c.Has(code) {
			t.Errorf("code %q lacks zh or en words in web/static/messages.js", code)
		}
		if zh := placeholder.ReplaceAllString(c.Messages[code][0], ""); strings.ContainsAny(zh, "abcdefghijklmnopqrstuvwxyz") {
			t.Errorf("code %q: the Chinese words %q carry Latin letters", code, zh)
		}
	}
	for code := range c.Messages {
		if !slices.Contains(carehex.MessageCodes, code) {
			t.Errorf("messages.js has %q, which is not in carehex.MessageCodes", code)
		}
	}
	for _, m := range []map[string]pair{c.Reasons, c.Fields, c.Roles, c.Statuses} {
		for k, p := range m {
			if p[0] == "" || p[1] == "" {
				t.Errorf("%q lacks a name in one language", k)
			}
		}
	}
	for _, s := range carehex.Statuses {
		if _, ok := c.Statuses[string(s)]; !ok {
			t.Errorf("status %q has no name", s)
		}
	}
	for _, r := range carehex.CancelReasonCodes {
		if _, ok := c.Reasons[r]; !ok {
			t.Errorf("cancel reason %q has no name", r)
		}
	}
}

func TestRender(t *testing.T) {
	c := Default
	tests := []struct {
		m      carehex.Message
		zh, en string
	}{
		{carehex.Msg(carehex.MsgInvalidText, "field", "notes", "max", 2000), "备注须为文字，最多 2000 字", "notes must be text of at most 2000 characters"},
		{carehex.Msg(carehex.MsgForbiddenRole, "role", "supervisor", "method", "IntakeService/CreateServiceRequest"),
			"督导账号无权进行此操作", "role supervisor may not call IntakeService/CreateServiceRequest"},
		{carehex.Msg(carehex.MsgNoProviderNearby, "service_code", "DL-MEAL-DELIVERY", "skill", "meal_service", "radius_m", 5000),
			"送餐上门：5 公里内没有可用的“助餐”服务人员", "Meal delivery to the home: no available carer with skill Meal service within 5 km"},
		{carehex.Msg(carehex.MsgOfferExpired, "after_s", 45), "45 秒内未响应", "no answer within 45 s"},
		{carehex.Msg(carehex.MsgEmergencyUnaccepted, "service_code", "nope", "after_s", 180), "紧急求助“nope”3 分钟无人接单，请电话联系",
			"nobody accepted the emergency nope within 3 min; phone for help"},
		{carehex.Msg(carehex.EINVALID, "field", "emergency_contacts[1].phone"), "电话填写有误", "phone is not valid"},
		{carehex.Msg(carehex.EINVALID, "field", "no_such_field"), "该项填写有误", "this field is not valid"},
		{carehex.Msg(carehex.MsgCannotTransition, "from", "completed", "to", "cancelled"), "需求不能从“已完成”改为“已取消”",
			"a request cannot move from completed to cancelled"},
		{carehex.Msg(carehex.MsgOfferDeclined, "reason", "我在医院"), "拒绝：我在医院", "declined: 我在医院"},
		{carehex.Msg("never_heard_of"), "never_heard_of", "never_heard_of"},
	}
	for _, tc := range tests {
		if got := c.Render(ZH, tc.m); got != tc.zh {
			t.Errorf("zh %v = %q, want %q", tc.m, got, tc.zh)
		}
		if got := c.Render(EN, tc.m); got != tc.en {
			t.Errorf("en %v = %q, want %q", tc.m, got, tc.en)
		}
	}
}

func TestLang(t *testing.T) {
	for in, want := range map[string]string{
		"zh-CN":                         ZH,
		"zh":                            ZH,
		"zh-CN,zh;q=0.9,en;q=0.8":       ZH,
		"en-US,en;q=0.9,zh-CN;q=0.8":    EN,
		"fr-FR, zh-Hans;q=0.5":          ZH,
		"de":                            "",
		"":                              "",
		"en;q=0.1, zh-TW;q=0.9":         ZH,
		"zh;q=0, en":                    EN,
		";;;,,q=,zh-;q=abc":             ZH,
		strings.Repeat("x-y;q=0.1,", 9): "",
	} {
		if got := Lang(in); got != want {
			t.Errorf("Lang(%q) = %q, want %q", in, got, want)
		}
	}
}
