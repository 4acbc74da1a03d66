package carehex

import (
	"strings"
	"testing"
	"time"
)

func TestCardCheck(t *testing.T) {
	key, err := NewCardKey([]byte("district key of zhangdian, 32 by"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCardKey([]byte("another district's key, 32 bytes"))
	const wang, zhao = "res_wang", "res_zhao"
	payload, code := key.Payload(wang), key.ShortCode(wang)
	if !strings.HasPrefix(payload, CardPrefix+":"+wang+":") || len(code) != 9 || code[4] != '-' {
		t.Fatalf("payload %q, short code %q", payload, code)
	}
	if key.ShortCode(zhao) == code || key.Payload(zhao) == payload {
		t.Fatal("two residents share a card")
	}
	sig := payload[len(payload)-cardSigLen:]
	flipped := payload[:len(payload)-1] + "A"
	if strings.HasSuffix(payload, "A") {
		flipped = payload[:len(payload)-1] + "B"
	}
	tests := []struct {
		name   string
		method CardMethod
		text   string
		want   string
	}{
		{"the resident's card", CardByQR, payload, CardOK},
		{"with spaces around", CardByQR, " " + payload + "\n", CardOK},
		{"another resident's genuine card", CardByQR, key.Payload(zhao), CardOtherResident},
		{"a signature changed", CardByQR, flipped, CardForged},
		{"another resident's ID with this signature", CardByQR, CardPrefix + ":" + zhao + ":" + sig, CardForged},
		{"another district's card", CardByQR, other.Payload(wang), CardForged},
		{"a web address", CardByQR, "https://example.com/", CardUnreadable},
		{"empty", CardByQR, "", CardUnreadable},
		{"the short code", CardByCode, code, CardOK},
		{"typed in lower case without the hyphen, O for 0", CardByCode,
			strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(code, "-", ""), "0", "O")), CardOK},
		{"another resident's code", CardByCode, key.ShortCode(zhao), CardWrongCode},
		{"too short", CardByCode, code[:4], CardUnreadable},
	}
	for _, tt := range tests {
		if got := key.Check(wang, tt.method, tt.text); got != tt.want {
			t.Errorf("%s: Check = %q, want %q", tt.name, got, tt.want)
		}
		if err := CardRefusal(tt.want); (err == nil) != (tt.want == CardOK) || (err != nil && ErrorField(err) != "card") {
			t.Errorf("%s: refusal %v", tt.name, err)
		}
	}
	if _, err := ParseCardKey("c2hvcnQ="); ErrorField(err) != "CAREHEX_CARD_KEY" {
		t.Fatalf("a short CAREHEX_CARD_KEY: %v", err)
	}
}

// TestCardScanHold: on a contract that requires the card, a visit is
// payable only with both scans, or with an operator's approval.
func TestCardScanHold(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, cst)
	con := &Contract{ID: "con_1", OrgID: "org_1", Services: []string{"meal"}, Unit: UnitVisit, PriceFen: 4000,
		ValidFrom: start, RequiresCardScan: true}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, cst)
	visit := func(id string, arrive, complete bool, review EVVDecision) *SettleVisit {
		return &SettleVisit{VisitID: id, ResidentID: "res_1", OrgID: "org_1", ServiceCode: "meal", FinishTime: at,
			Arrive: at.Add(-time.Hour), Complete: at, ArriveVerified: true, CardArrive: arrive, CardComplete: complete, Review: review}
	}
	in := SettleInput{Month: Month{2026, time.March}, Zone: cst, Orgs: []*Organisation{{ID: "org_1"}}, Contracts: []*Contract{con},
		Funding: map[string][]*Funding{"res_1": {{ID: "f", ResidentID: "res_1", ShareBP: 9000, AllowanceFen: 100000, ValidFrom: start}}},
		Visits: []*SettleVisit{visit("both", true, true, ""), visit("arrive_only", true, false, ""),
			visit("none", false, false, ""), visit("approved", false, false, EVVApproved)}}
	st := BuildStatements(in)["org_1"]
	got := map[string]string{}
	for _, l := range st.Lines {
		got[l.VisitID] = l.Verification
	}
	for _, h := range st.Held {
		got[h.VisitID] = "held:" + h.Reason
	}
	want := map[string]string{"both": "geofence_card", "arrive_only": "held:" + HoldNoCardScan, "none": "held:" + HoldNoCardScan,
		"approved": "approved"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
}
