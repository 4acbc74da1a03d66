package rpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestOrganisationService: a platform admin keeps organisations and
// contracts; bad input is refused naming the field and changes nothing; a
// supervisor reads statements.
func TestOrganisationService(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ts := newServer(t, be)
			orgs := pb.NewOrganisationServiceJSONClient(ts.URL, ts.Client)
			admin := ts.ctx(t, carehex.RoleAdmin)

			_, err := orgs.CreateOrganisation(admin, &pb.CreateOrganisationRequest{Name: "甲社区服务中心", Kind: "hospital"})
			wantCode(t, err, twirp.InvalidArgument, "kind")
			_, err = orgs.CreateOrganisation(admin, &pb.CreateOrganisationRequest{Name: "  ", Kind: "community_centre"})
			wantCode(t, err, twirp.InvalidArgument, "name")
			created, err := orgs.CreateOrganisation(admin, &pb.CreateOrganisationRequest{Name: " 甲社区服务中心 ", Kind: "community_centre",
				Area: []string{"张店区", " "}, Contact: "刘主任 0533-0000000"})
			if err != nil {
				t.Fatal(err)
			}
			o := created.Organisation
			if o.Name != "甲社区服务中心" || !o.Active || len(o.Area) != 1 {
				t.Errorf("created %+v", o)
			}
			_, err = orgs.CreateOrganisation(admin, &pb.CreateOrganisationRequest{Name: "甲社区服务中心", Kind: "contractor"})
			wantCode(t, err, twirp.FailedPrecondition, "name")

			upd, err := orgs.UpdateOrganisation(admin, &pb.UpdateOrganisationRequest{Id: o.Id, Name: "甲社区养老服务中心",
				Kind: "community_centre", Contact: o.Contact, Active: false})
			if err != nil || upd.Organisation.Name != "甲社区养老服务中心" || upd.Organisation.Active {
				t.Fatalf("UpdateOrganisation = %v, %v", upd, err)
			}
			_, err = orgs.UpdateOrganisation(admin, &pb.UpdateOrganisationRequest{Id: "org_nosuch", Name: "x", Kind: "contractor"})
			wantCode(t, err, twirp.NotFound, "id")

			from := timestamppb.New(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
			bad := []struct {
				c     *pb.Contract
				field string
			}{
				{&pb.Contract{OrgId: o.Id, Services: []string{"meal_delivery"}, Unit: "day", PriceFen: 4000, ValidFromTime: from}, "unit"},
				{&pb.Contract{OrgId: o.Id, Services: []string{"meal_delivery"}, Unit: "visit", PriceFen: -1, ValidFromTime: from}, "price_fen"},
				{&pb.Contract{OrgId: o.Id, Services: []string{"meal_delivery"}, Unit: "visit", PriceFen: 4000}, "valid_from_time"},
				{&pb.Contract{OrgId: o.Id, Unit: "visit", PriceFen: 4000, ValidFromTime: from}, "services"},
				{&pb.Contract{OrgId: o.Id, Services: []string{"bathing"}, Unit: "hour", PriceFen: 6500, ValidFromTime: from, RoundStepS: 30}, "round_step"},
			}
			for _, b := range bad {
				_, err := orgs.CreateContract(admin, &pb.CreateContractRequest{Contract: b.c})
				wantCode(t, err, twirp.InvalidArgument, b.field)
			}
			hourly, err := orgs.CreateContract(admin, &pb.CreateContractRequest{Contract: &pb.Contract{OrgId: o.Id,
				Services: []string{"bathing"}, Unit: "hour", PriceFen: 6500, RoundStepS: 1800, Rounding: "up", DayCapFen: 4500,
				ValidFromTime: from}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := orgs.GetOrganisation(ts.ctx(t, carehex.RoleOperator), &pb.GetOrganisationRequest{Id: o.Id})
			if err != nil || len(got.Contracts) != 1 || got.Contracts[0].Id != hourly.Contract.Id || got.Contracts[0].RoundStepS != 1800 {
				t.Fatalf("GetOrganisation = %v, %v; want the one good contract", got, err)
			}

			if err := ts.Store.SaveStatement(context.Background(), &carehex.Statement{OrgID: o.Id, Month: "2026-03"}); err != nil {
				t.Fatal(err)
			}
			sup := ts.ctx(t, carehex.RoleSupervisor)
			list, err := orgs.ListStatements(sup, &pb.ListStatementsRequest{Month: "2026-03"})
			if err != nil || len(list.Statements) != 1 || list.Statements[0].OrgId != o.Id || list.Statements[0].Status != "open" {
				t.Fatalf("ListStatements(month) = %v, %v", list, err)
			}
			_, err = orgs.ListStatements(sup, &pb.ListStatementsRequest{Month: "2026-13"})
			wantCode(t, err, twirp.InvalidArgument, "month")
			_, err = orgs.ListStatements(sup, &pb.ListStatementsRequest{})
			wantCode(t, err, twirp.InvalidArgument, "org_id")
			st, err := orgs.GetStatement(sup, &pb.GetStatementRequest{OrgId: o.Id, Month: "2026-03"})
			if err != nil || st.Statement.Month != "2026-03" {
				t.Fatalf("GetStatement = %v, %v", st, err)
			}
			_, err = orgs.GetStatement(sup, &pb.GetStatementRequest{OrgId: o.Id, Month: "2026-04"})
			wantCode(t, err, twirp.NotFound, "month")
		})
	}
}
