package rpc

import (
	"context"
	"strings"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// Names in answers: histories, offers and requests name the people in them
// (the carer, the console user) instead of their IDs, and say reasons as
// message codes, so that the console shows words (DESIGN.md invariant 9).

// names resolves actors (and bare provider IDs, as "provider:<id>").
func (s *Server) names(ctx context.Context, actors []string) (map[string]carehex.ActorName, error) {
	if len(actors) == 0 {
		return nil, nil
	}
	return s.Store.ActorNames(ctx, actors)
}

// describeEvents converts a request's events with their actors' names,
// their reasons as codes and, for offer events, the carer they are about.
func (s *Server) describeEvents(ctx context.Context, requestID string, es []*carehex.Event) ([]*pb.RequestEvent, error) {
	offers, err := s.Store.RequestOffers(ctx, requestID)
	if err != nil {
		return nil, err
	}
	out := eventsToPB(es)
	provs := make([]string, len(es))
	var actors []string
	for i, e := range es {
		var m carehex.Message
		provs[i], m = carehex.EventWords(e, offers)
		out[i].ReasonCode, out[i].ReasonParams = m.Code, m.Params
		out[i].ProviderId = provs[i]
		actors = append(actors, e.Actor)
		if provs[i] != "" {
			actors = append(actors, "provider:"+provs[i])
		}
	}
	names, err := s.names(ctx, actors)
	if err != nil {
		return nil, err
	}
	for i, e := range es {
		n, ok := names[e.Actor]
		if !ok {
			n.Kind, _, _ = strings.Cut(e.Actor, ":")
		}
		out[i].ActorKind, out[i].ActorName, out[i].ActorRole = n.Kind, n.Name, string(n.Role)
		if provs[i] != "" {
			out[i].ProviderName = names["provider:"+provs[i]].Name
		}
	}
	return out, nil
}

// describeOffers converts offers with their carers' names and reasons as codes.
func (s *Server) describeOffers(ctx context.Context, os []*carehex.Offer) ([]*pb.Offer, error) {
	actors := make([]string, len(os))
	for i, o := range os {
		actors[i] = "provider:" + o.ProviderID
	}
	names, err := s.names(ctx, actors)
	if err != nil {
		return nil, err
	}
	out := make([]*pb.Offer, len(os))
	for i, o := range os {
		m := carehex.OfferWords(o)
		out[i] = offerToPB(o)
		out[i].ProviderName, out[i].ReasonCode, out[i].ReasonParams = names[actors[i]].Name, m.Code, m.Params
	}
	return out, nil
}

// nameCarers fills the assigned carer's name and work phone of requests.
func (s *Server) nameCarers(ctx context.Context, rs []*pb.ServiceRequest) error {
	var actors []string
	for _, r := range rs {
		if r.ProviderId != "" {
			actors = append(actors, "provider:"+r.ProviderId)
		}
	}
	names, err := s.names(ctx, actors)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if n, ok := names["provider:"+r.ProviderId]; ok && r.ProviderId != "" {
			r.ProviderName, r.ProviderPhone = n.Name, n.Phone
		}
	}
	return nil
}
