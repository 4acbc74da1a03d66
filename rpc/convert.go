package rpc

import (
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Enum tables: the one mapping between wire enums and domain values each.
var (
	urgencies = map[pb.Urgency]carehex.Urgency{
		pb.Urgency_URGENCY_EMERGENCY: carehex.UrgencyEmergency,
		pb.Urgency_URGENCY_SOON:      carehex.UrgencySoon,
		pb.Urgency_URGENCY_SCHEDULED: carehex.UrgencyScheduled,
	}
	statuses = map[pb.RequestStatus]carehex.Status{
		pb.RequestStatus_REQUEST_STATUS_PENDING:     carehex.StatusPending,
		pb.RequestStatus_REQUEST_STATUS_OFFERED:     carehex.StatusOffered,
		pb.RequestStatus_REQUEST_STATUS_ASSIGNED:    carehex.StatusAssigned,
		pb.RequestStatus_REQUEST_STATUS_EN_ROUTE:    carehex.StatusEnRoute,
		pb.RequestStatus_REQUEST_STATUS_IN_PROGRESS: carehex.StatusInProgress,
		pb.RequestStatus_REQUEST_STATUS_COMPLETED:   carehex.StatusCompleted,
		pb.RequestStatus_REQUEST_STATUS_CANCELLED:   carehex.StatusCancelled,
		pb.RequestStatus_REQUEST_STATUS_UNFILLED:    carehex.StatusUnfilled,
	}
	genders = map[pb.Gender]carehex.Gender{
		pb.Gender_GENDER_UNSPECIFIED: carehex.GenderUnspecified,
		pb.Gender_GENDER_FEMALE:      carehex.GenderFemale,
		pb.Gender_GENDER_MALE:        carehex.GenderMale,
	}
)

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var (
	urgencyToPB = invert(urgencies)
	statusToPB  = invert(statuses)
	genderToPB  = invert(genders)
)

func urgencyFromPB(u pb.Urgency) (carehex.Urgency, error) {
	if v, ok := urgencies[u]; ok {
		return v, nil
	}
	return "", carehex.Errorf(carehex.EINVALID, "urgency", "urgency must be URGENCY_EMERGENCY, URGENCY_SOON or URGENCY_SCHEDULED")
}

func statusFromPB(field string, s pb.RequestStatus) (carehex.Status, error) {
	if v, ok := statuses[s]; ok {
		return v, nil
	}
	return "", carehex.Errorf(carehex.EINVALID, field, "%s has an unknown request status %d", field, int32(s))
}

func genderFromPB(field string, g pb.Gender) (carehex.Gender, error) {
	if v, ok := genders[g]; ok {
		return v, nil
	}
	return "", carehex.Errorf(carehex.EINVALID, field, "%s must be GENDER_FEMALE, GENDER_MALE or unspecified", field)
}

func latLngFromPB(p *pb.LatLng) carehex.LatLng {
	if p == nil {
		return carehex.LatLng{}
	}
	return carehex.LatLng{Lat: p.Lat, Lng: p.Lng}
}

func latLngToPB(p carehex.LatLng) *pb.LatLng { return &pb.LatLng{Lat: p.Lat, Lng: p.Lng} }

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// timeFromPB reads an optional timestamp, refusing ones outside the years
// protobuf can represent.
func timeFromPB(field string, t *timestamppb.Timestamp) (time.Time, error) {
	if t == nil {
		return time.Time{}, nil
	}
	if err := t.CheckValid(); err != nil {
		return time.Time{}, carehex.Errorf(carehex.EINVALID, field, "%s is not a valid time", field)
	}
	return t.AsTime().UTC(), nil
}

func cellString(c carehex.Cell) string {
	if c == 0 {
		return ""
	}
	return geo.String(c)
}

func contactsFromPB(cs []*pb.Contact) []carehex.Contact {
	out := make([]carehex.Contact, 0, len(cs))
	for _, c := range cs {
		out = append(out, carehex.Contact{Name: c.GetName(), Phone: c.GetPhone(), Relation: c.GetRelation()})
	}
	return out
}

func preferencesFromPB(p *pb.Preferences) (carehex.Preferences, error) {
	g, err := genderFromPB("preferences.preferred_provider_gender", p.GetPreferredProviderGender())
	if err != nil {
		return carehex.Preferences{}, err
	}
	return carehex.Preferences{
		Language:                p.GetLanguage(),
		PreferredProviderGender: g,
		PreferredProviderIDs:    p.GetPreferredProviderIds(),
		BlockedProviderIDs:      p.GetBlockedProviderIds(),
		Notes:                   p.GetNotes(),
	}, nil
}

func residentToPB(r *carehex.Resident) *pb.Resident {
	out := &pb.Resident{
		Id: r.ID, Name: r.Name, Phone: r.Phone, IdNumber: r.IDNumber,
		Gender: genderToPB[r.Gender], BirthYear: int32(r.BirthYear),
		Address: r.Address, District: r.District, Location: latLngToPB(r.Location),
		Street: r.Street, Community: r.Community, DivisionCode: r.DivisionCode,
		H3Cell: cellString(r.Cell), DeactivateReason: r.DeactivateReason, DeactivateTime: ts(r.DeactivateTime),
		Preferences: &pb.Preferences{
			Language:                r.Preferences.Language,
			PreferredProviderGender: genderToPB[r.Preferences.PreferredProviderGender],
			PreferredProviderIds:    r.Preferences.PreferredProviderIDs,
			BlockedProviderIds:      r.Preferences.BlockedProviderIDs,
			Notes:                   r.Preferences.Notes,
		},
		CreateTime: ts(r.CreateTime), UpdateTime: ts(r.UpdateTime),
	}
	for _, c := range r.EmergencyContacts {
		out.EmergencyContacts = append(out.EmergencyContacts, &pb.Contact{Name: c.Name, Phone: c.Phone, Relation: c.Relation})
	}
	return out
}

func providerToPB(p *carehex.Provider) *pb.Provider {
	return &pb.Provider{
		Id: p.ID, Name: p.Name, Phone: p.Phone, Gender: genderToPB[p.Gender],
		Skills: p.Skills, Languages: p.Languages, Organisation: p.Organisation,
		Location: latLngToPB(p.Home), H3Cell: cellString(p.Cell), Active: p.Active,
		CreateTime: ts(p.CreateTime),
	}
}

func requestToPB(r *carehex.ServiceRequest) *pb.ServiceRequest {
	return &pb.ServiceRequest{
		Id: r.ID, ResidentId: r.ResidentID, ServiceCode: r.ServiceCode,
		Urgency: urgencyToPB[r.Urgency], Status: statusToPB[r.Status], Notes: r.Notes,
		WindowStartTime: ts(r.WindowStart), WindowEndTime: ts(r.WindowEnd),
		ProviderId: r.ProviderID, VisitId: r.VisitID, CancelReason: r.CancelReason,
		CreatedBy: r.CreatedBy, CreateTime: ts(r.CreateTime), UpdateTime: ts(r.UpdateTime), CallId: r.CallID,
	}
}

func eventToPB(e *carehex.Event) *pb.RequestEvent {
	return &pb.RequestEvent{
		Id: e.ID, RequestId: e.RequestID, Seq: int32(e.Seq), Type: e.Type,
		FromStatus: statusToPB[e.FromStatus], ToStatus: statusToPB[e.ToStatus],
		Actor: e.Actor, Reason: e.Reason, EventTime: ts(e.Time),
	}
}

func eventsToPB(es []*carehex.Event) []*pb.RequestEvent {
	out := make([]*pb.RequestEvent, 0, len(es))
	for _, e := range es {
		out = append(out, eventToPB(e))
	}
	return out
}

func serviceTypeToPB(t *carehex.ServiceType) *pb.ServiceType {
	return &pb.ServiceType{
		Code: t.Code, Category: string(t.Category), NameZh: t.NameZH, NameEn: t.NameEN,
		RequiredSkill: t.RequiredSkill, DefaultDurationS: int32(t.DefaultDuration / time.Second),
		UrgencyClass: string(t.UrgencyClass),
	}
}

func auditToPB(a *carehex.AuditRecord) *pb.AuditRecord {
	return &pb.AuditRecord{
		Id: a.ID, RecordTime: ts(a.Time), Actor: a.Actor, Action: a.Action,
		ObjectType: a.ObjectType, ObjectId: a.ObjectID, Detail: a.Detail,
	}
}
