package rpc

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// Privacy at the edge (root privacy.go): every read of residents' personal
// data passes guardReads before and noteReads after, so an account sweeping
// the register is slowed and reported; phone and ID numbers leave masked, and
// the full value comes only from RevealResidentField, with a reason, audited.

const maxRevealReason = 200

// guardReads refuses a console account that has read more distinct residents
// in the window than the policy allows, raising (once) an access alert for
// supervisors. It answers ETOOMANY with when the oldest read leaves the
// window, so a client backs off instead of hammering.
func (s *Server) guardReads(ctx context.Context) error {
	p, ok := carehex.PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	pol, now := s.ReadPolicy.OrDefault(), s.now()
	n, oldest, err := s.Store.PersonalReads(ctx, p.Actor(), now.Add(-pol.Window))
	if err != nil || n < pol.MaxResidents {
		return err
	}
	a := &carehex.AccessAlert{Actor: p.Actor(), Kind: carehex.AlertBulkAccess, Residents: n, WindowStart: oldest}
	created, err := s.Store.RaiseAccessAlert(ctx, a)
	if err != nil {
		return err
	}
	if created && s.Logger != nil {
		s.Logger.WarnContext(ctx, "privacy.bulk_access", "actor", p.Actor(), "residents", n, "alert", a.ID)
	}
	retry := max(oldest.Add(pol.Window).Sub(now), time.Second)
	return &carehex.Error{Code: carehex.ETOOMANY, RetryAfter: retry,
		Message: "this account has read the records of too many residents in a short time; supervisors have been told, try again later"}
}

// noteReads records whose personal data the caller just read.
func (s *Server) noteReads(ctx context.Context, residentIDs ...string) error {
	p, ok := carehex.PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	return s.Store.NotePersonalReads(ctx, p.Actor(), residentIDs, s.now())
}

// maskResident hides phone and ID numbers, the resident's and the emergency
// contacts', in what is sent.
func maskResident(r *pb.Resident) *pb.Resident {
	r.Phone, r.IdNumber = carehex.MaskPhone(r.Phone), carehex.MaskIDNumber(r.IdNumber)
	for _, c := range r.EmergencyContacts {
		c.Phone = carehex.MaskPhone(c.Phone)
	}
	return r
}

// keepMasked turns a masked value sent back unchanged (a client that read
// the resident and writes it back) into the stored value, so a round trip
// never overwrites a number with its stars.
func keepMasked(in *carehex.Resident, stored *carehex.Resident) {
	if in.Phone != "" && in.Phone == carehex.MaskPhone(stored.Phone) {
		in.Phone = stored.Phone
	}
	if in.IDNumber != "" && in.IDNumber == carehex.MaskIDNumber(stored.IDNumber) {
		in.IDNumber = stored.IDNumber
	}
	for i := range in.EmergencyContacts {
		if i < len(stored.EmergencyContacts) && in.EmergencyContacts[i].Phone == carehex.MaskPhone(stored.EmergencyContacts[i].Phone) {
			in.EmergencyContacts[i].Phone = stored.EmergencyContacts[i].Phone
		}
	}
}

func (s residentService) RevealResidentField(ctx context.Context, req *pb.RevealResidentFieldRequest) (*pb.RevealResidentFieldResponse, error) {
	if err := requireID("resident_id", req.ResidentId); err != nil {
		return nil, err
	}
	if req.Field != carehex.FieldPhone && req.Field != carehex.FieldIDNumber {
		return nil, carehex.Errorf(carehex.EINVALID, "field", "field must be %q or %q", carehex.FieldPhone, carehex.FieldIDNumber)
	}
	reason := carehex.Trimmed(req.Reason)
	if reason == "" || !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > maxRevealReason {
		return nil, carehex.Errorf(carehex.EINVALID, "reason", "reason is required: say why the full value is needed, in at most %d characters", maxRevealReason)
	}
	if err := s.guardReads(ctx); err != nil {
		return nil, err
	}
	r, err := s.Store.Resident(ctx, req.ResidentId)
	if err != nil {
		if carehex.ErrorCode(err) == carehex.ENOTFOUND {
			err = carehex.Errorf(carehex.ENOTFOUND, "resident_id", "no resident %q", req.ResidentId)
		}
		return nil, err
	}
	value := r.Phone
	if req.Field == carehex.FieldIDNumber {
		value = r.IDNumber
	}
	if err := s.noteReads(ctx, r.ID); err != nil {
		return nil, err
	}
	// The value is not returned unless the reveal and its reason are in the trail.
	if err := s.audit(ctx, "resident.reveal", "resident", r.ID, "field="+req.Field+" reason="+reason); err != nil {
		return nil, err
	}
	return &pb.RevealResidentFieldResponse{Value: value}, nil
}

func (s auditService) ListAccessAlerts(ctx context.Context, req *pb.ListAccessAlertsRequest) (*pb.ListAccessAlertsResponse, error) {
	as, err := s.Store.AccessAlerts(ctx, req.OpenOnly, limit(req.Limit, 100, 500))
	if err != nil {
		return nil, err
	}
	out := &pb.ListAccessAlertsResponse{}
	for _, a := range as {
		out.Alerts = append(out.Alerts, &pb.AccessAlert{Id: a.ID, Actor: a.Actor, Kind: a.Kind, Residents: int32(a.Residents),
			WindowStartTime: ts(a.WindowStart), CreateTime: ts(a.CreateTime), AckTime: ts(a.AckTime)})
	}
	return out, nil
}

// residentIDs lists the IDs of rs.
func residentIDs(rs []*carehex.Resident) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}
