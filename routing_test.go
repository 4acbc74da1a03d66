package carehex

import "testing"

// TestOrganisationServes: an empty area is the whole district; otherwise
// the resident's district or street must be named.
func TestOrganisationServes(t *testing.T) {
	r := &Resident{District: "张店区", Street: "马尚街道"}
	for _, tc := range []struct {
		area []string
		want bool
	}{
		{nil, true},
		{[]string{"张店区"}, true},
		{[]string{"淄川区", " 马尚街道 "}, true},
		{[]string{"淄川区"}, false},
		{[]string{""}, false},
	} {
		o := &Organisation{Area: tc.area}
		if got := o.Serves(r); got != tc.want {
			t.Errorf("area %q serves %v, want %v", tc.area, got, tc.want)
		}
	}
	if (&Organisation{Area: []string{""}}).Serves(&Resident{}) {
		t.Errorf("an empty name matched a resident with no district")
	}
}

// TestRoutedEventWords: a "routed" event reads as routed_to with the
// organisation's name; an organisation's assignment as assigned_org.
func TestRoutedEventWords(t *testing.T) {
	_, m := EventWords(&Event{Type: EventRouted, Reason: "马尚护理站"}, nil)
	if m.Code != MsgRoutedTo || m.Params["org"] != "马尚护理站" {
		t.Errorf("routed event words = %+v", m)
	}
	_, m = EventWords(&Event{Type: EventStatusChange, Reason: MsgAssignedByOrg}, nil)
	if m.Code != MsgAssignedByOrg {
		t.Errorf("organisation's assignment words = %+v", m)
	}
}
