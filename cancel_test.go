package carehex

import (
	"strings"
	"testing"
)

func TestCancelReason(t *testing.T) {
	long := strings.Repeat("字", MaxTextLen+1)
	tests := []struct {
		code, text string
		want       string
		field      string // of the refusal, "" when accepted
	}{
		{"caller_cancelled", "", "caller_cancelled", ""},
		{" duplicate ", "", "duplicate", ""},
		{"hospitalised", "住院三天", "hospitalised: 住院三天", ""},
		{"resolved_by_phone", "  ", "resolved_by_phone", ""},
		{"other", "家属已自行处理", "other: 家属已自行处理", ""},
		{"", "家属已自行处理", "家属已自行处理", ""}, // callers from before the codes
		{"other", "", "", "reason"},
		{"", " ", "", "reason"},
		{"moved_away", "", "", "reason_code"},
		{"duplicate", "\xff", "", "reason"},
		{"other", long, "", "reason"},
	}
	for _, tt := range tests {
		got, err := CancelReason(tt.code, tt.text)
		if tt.field != "" {
			if ErrorCode(err) != EINVALID || ErrorField(err) != tt.field {
				t.Errorf("CancelReason(%q, %q) = %q, %v; want invalid on %s", tt.code, tt.text, got, err, tt.field)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CancelReason(%q, %q) = %q, %v; want %q", tt.code, tt.text, got, err, tt.want)
		}
	}
}

func TestCancelReasonCode(t *testing.T) {
	for reason, want := range map[string]string{
		"hospitalised": "hospitalised", "duplicate: 同一天两次": "duplicate", "other: 搬走了": "other",
		"家属已自行处理": "other", "hospitalised:x": "other",
	} {
		if got := CancelReasonCode(reason); got != want {
			t.Errorf("CancelReasonCode(%q) = %q, want %q", reason, got, want)
		}
	}
}

func TestDeactivateReasonOf(t *testing.T) {
	for _, tt := range []struct{ code, text, want, field string }{
		{"moved_away", "", "moved_away", ""},
		{"deceased", "2026年11月", "deceased: 2026年11月", ""},
		{"other", "家属要求", "other: 家属要求", ""},
		{"other", " ", "", "reason"},
		{"", "搬走了", "", "reason_code"},
		{"holiday", "", "", "reason_code"},
		{"care_home", "\x00", "", "reason"},
	} {
		got, err := DeactivateReasonOf(tt.code, tt.text)
		if tt.field != "" {
			if ErrorField(err) != tt.field {
				t.Errorf("DeactivateReasonOf(%q, %q) = %q, %v; want invalid on %s", tt.code, tt.text, got, err, tt.field)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("DeactivateReasonOf(%q, %q) = %q, %v; want %q", tt.code, tt.text, got, err, tt.want)
		}
	}
}
