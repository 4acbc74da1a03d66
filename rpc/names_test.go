package rpc_test

import (
	"context"
	"testing"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// TestHistoriesNamePeople: a request's history names the console user and
// the carers by name with reasons as codes, offer events say which carer
// they are about, the offers list names each carer with its outcome, and
// the request names its assigned carer and work phone (on the board too).
func TestHistoriesNamePeople(t *testing.T) {
	ds := newDispatchServer(t, sqlite)
	ctx := context.Background()
	op := ds.ctx(t, carehex.RoleOperator)
	res := ds.createResident(t, "张桂兰", "13905330021")
	first := ds.provider(t, true)
	req := ds.request(t, res.Id)
	o := ds.openOffer(t, req.Id)
	if o.ProviderID != first.ID {
		t.Fatalf("offered to %s, want %s", o.ProviderID, first.ID)
	}
	if err := ds.eng.Decline(ctx, first.ID, o.ID, "too_far"); err != nil {
		t.Fatalf("Decline: %v", err)
	}
	ds.beat(t, first, false)
	second := ds.provider(t, true)
	second.Name = "李师傅" // ds.provider names every carer so; tell them apart by ID
	if _, err := ds.eng.Dispatch(ctx, req.Id); err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	o2 := ds.openOffer(t, req.Id)
	if _, err := ds.eng.Accept(ctx, second.ID, o2.ID); err != nil {
		t.Fatalf("Accept: %v", err)
	}

	got, err := ds.intake().GetServiceRequest(op, &pb.GetServiceRequestRequest{Id: req.Id})
	if err != nil {
		t.Fatal(err)
	}
	if got.Request.ProviderName != second.Name || got.Request.ProviderPhone != second.Phone {
		t.Errorf("request names carer %q %q, want %q %q", got.Request.ProviderName, got.Request.ProviderPhone, second.Name, second.Phone)
	}
	seen := map[string]*pb.RequestEvent{}
	for _, e := range got.Events {
		seen[e.Type] = e
		switch e.ActorKind {
		case "user":
			if e.ActorName != ds.Users[carehex.RoleOperator].Username || e.ActorRole != string(carehex.RoleOperator) {
				t.Errorf("%s by %q (%s), want the operator's name", e.Type, e.ActorName, e.ActorRole)
			}
		case "provider":
			if e.ActorName != "李师傅" {
				t.Errorf("%s by carer %q, want 李师傅", e.Type, e.ActorName)
			}
		case "system":
			if e.ActorName != "" {
				t.Errorf("%s by system named %q", e.Type, e.ActorName)
			}
		default:
			t.Errorf("%s: actor kind %q of %q", e.Type, e.ActorKind, e.Actor)
		}
	}
	if e := seen["offer_declined"]; e == nil || e.ProviderId != first.ID || e.ProviderName != "李师傅" ||
		e.ReasonCode != carehex.MsgOfferDeclined || e.ReasonParams["reason"] != "too_far" {
		t.Errorf("decline event = %v, want the first carer with declined {reason: too_far}", e)
	}
	if e := seen["offered"]; e == nil || e.ReasonCode != carehex.MsgOfferedTo || e.ReasonParams["count"] != "1" || e.ProviderName == "" {
		t.Errorf("offered event = %v", e)
	}
	if e := seen["created"]; e == nil || e.ReasonCode != "" {
		t.Errorf("created event = %v, want no reason", e)
	}

	offers, err := pb.NewDispatchServiceJSONClient(ds.url, ds.Client).ListRequestOffers(op, &pb.ListRequestOffersRequest{RequestId: req.Id})
	if err != nil {
		t.Fatal(err)
	}
	if len(offers.Offers) != 2 {
		t.Fatalf("%d offers, want 2", len(offers.Offers))
	}
	for _, of := range offers.Offers {
		want := map[string]string{first.ID: carehex.MsgOfferDeclined, second.ID: carehex.MsgOfferAccepted}[of.ProviderId]
		if of.ProviderName != "李师傅" || of.ReasonCode != want {
			t.Errorf("offer to %s: %q %q, want 李师傅 %q", of.ProviderId, of.ProviderName, of.ReasonCode, want)
		}
	}

	board, err := ds.intake().ListServiceRequests(op, &pb.ListServiceRequestsRequest{ResidentId: res.Id})
	if err != nil || len(board.Requests) != 1 || board.Requests[0].ProviderName != second.Name {
		t.Errorf("board = %v, %v; want the carer named", board, err)
	}
}
