package carehex_test

import (
	"testing"

	"github.com/carehex/carehex"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, phone, id string }{
		{"13900000001", "139****0001", "*******0001"},
		{"370302195001011234", "370***********1234", "3703**********1234"},
		{"05332345678", "053****5678", "*******5678"},
		{"2345678", "***5678", "***5678"},
		{"1234", "****", "****"},
		{"", "", ""},
		{"电话一二三四五六七八", "******五六七八", "******五六七八"},
	} {
		if got := carehex.MaskPhone(tc.in); got != tc.phone {
			t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.phone)
		}
		if got := carehex.MaskIDNumber(tc.in); got != tc.id {
			t.Errorf("MaskIDNumber(%q) = %q, want %q", tc.in, got, tc.id)
		}
	}
}

func TestReadPolicyDefaults(t *testing.T) {
	p := carehex.ReadPolicy{MaxResidents: 5}.OrDefault()
	if p.MaxResidents != 5 || p.Window != carehex.DefaultReadPolicy().Window {
		t.Fatalf("OrDefault = %+v", p)
	}
}
