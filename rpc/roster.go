package rpc

import (
	"context"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// The console's roster: search with paging and a total, each provider's
// live availability, edit and deactivate.

var availabilityToPB = map[carehex.LiveStatus]pb.AvailabilityState{
	carehex.LiveAvailable: pb.AvailabilityState_AVAILABILITY_STATE_ONLINE,
	carehex.LiveOffered:   pb.AvailabilityState_AVAILABILITY_STATE_OFFERED,
	carehex.LiveBusy:      pb.AvailabilityState_AVAILABILITY_STATE_BUSY,
	carehex.LiveOffline:   pb.AvailabilityState_AVAILABILITY_STATE_OFFLINE,
}

func (s providerService) ListProviders(ctx context.Context, req *pb.ListProvidersRequest) (*pb.ListProvidersResponse, error) {
	if req.Offset < 0 {
		return nil, carehex.Errorf(carehex.EINVALID, "offset", "offset must not be negative, got %d", req.Offset)
	}
	f := carehex.ProviderFilter{Query: req.Query, Skill: req.Skill, Offset: int(req.Offset),
		Limit: limit(req.Limit, 100, 1000), IncludeInactive: req.IncludeInactive}
	f.OrgID, _ = orgScope(ctx) // an organisation account lists its own carers (rpc/org.go)
	ps, total, err := s.Store.SearchProviders(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &pb.ListProvidersResponse{TotalSize: int32(total)}
	ids := make([]string, len(ps))
	for i, p := range ps {
		out.Providers = append(out.Providers, providerToPB(p))
		ids[i] = p.ID
	}
	// The live state is a view, not the record: without a dispatcher (or
	// with Redis down) the roster still answers, without availability.
	if s.Dispatch != nil && len(ids) > 0 {
		as, err := s.Dispatch.Availability(ctx, ids)
		if err != nil {
			s.Logger.WarnContext(ctx, "rpc.availability", "err", err)
		}
		for _, a := range as {
			out.Availability = append(out.Availability, &pb.ProviderAvailability{ProviderId: a.ProviderID,
				State: availabilityToPB[a.Status], LastSeenTime: ts(a.LastSeen), Stale: a.Stale})
		}
	}
	return out, nil
}

func (s providerService) UpdateProvider(ctx context.Context, req *pb.UpdateProviderRequest) (*pb.UpdateProviderResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	g, err := genderFromPB("gender", req.Gender)
	if err != nil {
		return nil, err
	}
	if req.Location == nil {
		return nil, carehex.Errorf(carehex.EINVALID, "location", "location is required")
	}
	if err := s.knownSkills(ctx, req.Skills); err != nil {
		return nil, err
	}
	p := &carehex.Provider{
		ID: req.Id, Name: carehex.Trimmed(req.Name), Phone: carehex.Trimmed(req.Phone), Gender: g,
		Skills: req.Skills, Languages: req.Languages, Organisation: carehex.Trimmed(req.Organisation),
		Home: latLngFromPB(req.Location),
	}
	if err := s.Store.UpdateProvider(ctx, p); err != nil {
		return nil, err
	}
	// New skills count at once: the dispatcher's index learns them now.
	// Best effort: the record is saved, and the next rebuild applies them.
	if s.Dispatch != nil {
		if err := s.Dispatch.SyncProvider(ctx, p); err != nil {
			s.Logger.WarnContext(ctx, "rpc.sync_provider", "provider", p.ID, "err", err)
		}
	}
	return &pb.UpdateProviderResponse{Provider: providerToPB(p)}, nil
}

// DeactivateProvider takes the provider off the roster, then signs their
// phones out and takes them out of dispatch at once, as RevokeDeviceTokens
// does: an inactive provider must not keep receiving offers.
func (s providerService) DeactivateProvider(ctx context.Context, req *pb.DeactivateProviderRequest) (*pb.DeactivateProviderResponse, error) {
	if err := requireID("provider_id", req.ProviderId); err != nil {
		return nil, err
	}
	p, err := s.Store.DeactivateProvider(ctx, req.ProviderId, req.Reason)
	if err != nil {
		return nil, err
	}
	if err := s.Store.RevokeTokensOf(ctx, carehex.KindProvider, p.ID); err != nil {
		return nil, err
	}
	if err := s.offline(ctx, p.ID); err != nil {
		return nil, err
	}
	return &pb.DeactivateProviderResponse{Provider: providerToPB(p)}, nil
}

// RecordEscalationStep records one step the operator took about a request
// nobody accepted; the event is in the request's history at once.
func (s intakeService) RecordEscalationStep(ctx context.Context, req *pb.RecordEscalationStepRequest) (*pb.RecordEscalationStepResponse, error) {
	if err := requireID("request_id", req.RequestId); err != nil {
		return nil, err
	}
	reason, err := carehex.EscalationReason(req.Step, req.Contact, req.Note)
	if err != nil {
		return nil, err
	}
	p, _ := carehex.PrincipalFrom(ctx)
	e, err := s.Store.NoteRequest(ctx, req.RequestId, carehex.EventEscalation, p.Actor(), reason)
	if err != nil {
		return nil, err
	}
	return &pb.RecordEscalationStepResponse{Event: eventToPB(e)}, nil
}
