package rpc_test

import (
	"errors"
	"testing"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

func TestGetDispatchMap(t *testing.T) {
	ts := newServer(t, sqlite)
	op := ts.ctx(t, carehex.RoleOperator)
	res := ts.createResident(t, "王桂兰", "13905330001")
	if _, err := ts.providers().CreateProvider(op, &pb.CreateProviderRequest{
		Name: "刘芳", Phone: "13600000001", Skills: []string{ts.service().RequiredSkill}, Location: zibo,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.intake().CreateServiceRequest(op, &pb.CreateServiceRequestRequest{
		ResidentId: res.Id, ServiceCode: ts.service().Code, Urgency: pb.Urgency_URGENCY_SOON,
	}); err != nil {
		t.Fatal(err)
	}

	dispatch := pb.NewDispatchServiceJSONClient(ts.URL, ts.Client)
	m, err := dispatch.GetDispatchMap(ts.ctx(t, carehex.RoleSupervisor), &pb.GetDispatchMapRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// The provider is based at the resident's home: one cell holds both.
	if m.Resolution != 8 || len(m.Cells) != 1 {
		t.Fatalf("map = resolution %d, %d cells; want 8, 1", m.Resolution, len(m.Cells))
	}
	c := m.Cells[0]
	if c.ProviderCount != 1 || c.RequestCount != 1 || len(c.Boundary) != 6 || c.Cell == "" {
		t.Errorf("cell = %v", c)
	}

	for _, bad := range []int32{4, 10, -1} {
		_, err := dispatch.GetDispatchMap(op, &pb.GetDispatchMapRequest{Resolution: bad})
		var te twirp.Error
		if !errors.As(err, &te) || te.Code() != twirp.InvalidArgument || te.Meta("argument") != "resolution" {
			t.Errorf("resolution %d: err = %v, want invalid_argument naming resolution", bad, err)
		}
	}
}
