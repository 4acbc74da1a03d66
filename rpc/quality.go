package rpc

import (
	"context"
	"time"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// qualityService is QualityService: callbacks and complaints (root
// quality.go). Its store is the same *sqlstore.DB, asked for by interface
// so that the Store interface every other service names stays as it is.
type qualityService struct{ *Server }

func (s qualityService) store() (carehex.QualityStore, error) {
	q, ok := s.Store.(carehex.QualityStore)
	if !ok {
		return nil, carehex.Errorf(carehex.EUNAVAILABLE, "", "callbacks and complaints are not kept by this store")
	}
	return q, nil
}

// Area-scoped supervisors: the lists and the summary are filtered to the
// account's district by the handlers themselves (qualityArea); a complaint
// asked for by ID is refused outside it. The writing methods are not here:
// such an account is a supervisor, and supervisors do not write.
func init() {
	for _, m := range []string{"QualityService/ListCallbacks", "QualityService/ListComplaints", "QualityService/GetQualitySummary"} {
		areaMethods[m] = passArea
	}
	areaMethods["QualityService/GetComplaint"] = func(s *Server, ctx context.Context, area string, _, resp any) (any, error) {
		r := resp.(*pb.GetComplaintResponse)
		return r, s.residentInArea(ctx, area, "id", r.GetComplaint().GetResidentId())
	}
}

// qualityArea is the district and street a list or summary covers: the
// ones asked for, held to the caller's own area (a district, or
// "district/street": carehex.SplitArea) when she has one, as the
// dashboard's scope is.
func qualityArea(ctx context.Context, district, street string) (string, string, error) {
	if street != "" && district == "" {
		return "", "", carehex.Errorf(carehex.EINVALID, "street", "a street needs its district")
	}
	p, _ := carehex.PrincipalFrom(ctx)
	if p.Area == "" {
		return district, street, nil
	}
	d, st := carehex.SplitArea(p.Area)
	if district == "" {
		district = d
	}
	if street == "" {
		street = st
	}
	if district != d || st != "" && street != st {
		return "", "", outsideArea("district", p.Area)
	}
	return district, street, nil
}

func callbackToPB(c *carehex.Callback) *pb.Callback {
	return &pb.Callback{Id: c.ID, VisitId: c.VisitID, RequestId: c.RequestID, ResidentId: c.ResidentID, ResidentName: c.ResidentName,
		ProviderId: c.ProviderID, OrgId: c.OrgID, ComplaintId: c.ComplaintID, Reason: string(c.Reason), Status: string(c.Status),
		ClaimedBy: c.ClaimedBy, ClaimExpireTime: ts(c.ClaimExpireTime), Attempts: int32(c.Attempts), Satisfaction: int32(c.Satisfaction),
		ServiceDone: string(c.ServiceDone), Notes: c.Notes, CreateTime: ts(c.CreateTime), DoneTime: ts(c.DoneTime), DoneBy: c.DoneBy,
		ServiceCode: c.ServiceCode}
}

func complaintToPB(c *carehex.Complaint, now time.Time) *pb.Complaint {
	out := &pb.Complaint{Id: c.ID, ResidentId: c.ResidentID, ResidentName: c.ResidentName, Complainant: string(c.Complainant),
		ComplainantName: c.ComplainantName, VisitId: c.VisitID, RequestId: c.RequestID, ProviderId: c.ProviderID, OrgId: c.OrgID,
		Description: c.Description, Status: string(c.Status), Response: c.Response, Resolution: c.Resolution, CallbackId: c.CallbackID,
		DueTime: ts(c.DueTime), Overdue: !c.DueTime.IsZero() && c.DueTime.Before(now), CreateTime: ts(c.CreateTime),
		UpdateTime: ts(c.UpdateTime), CreatedBy: c.CreatedBy}
	for _, next := range carehex.ComplaintTransitions[c.Status] {
		if next != carehex.ComplaintVerified { // the callback's to take
			out.NextStatuses = append(out.NextStatuses, string(next))
		}
	}
	return out
}

func (s qualityService) ListCallbacks(ctx context.Context, req *pb.ListCallbacksRequest) (*pb.ListCallbacksResponse, error) {
	q, err := s.store()
	if err != nil {
		return nil, err
	}
	f, err := qualityFilter(ctx, req.District, req.Street, req.OrgId, req.StartTime, req.EndTime)
	if err != nil {
		return nil, err
	}
	f.Status, f.Satisfaction, f.Limit = req.Status, int(req.Satisfaction), limit(req.Limit, 100, 1000)
	cs, err := q.Callbacks(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &pb.ListCallbacksResponse{}
	for _, c := range cs {
		out.Callbacks = append(out.Callbacks, callbackToPB(c))
	}
	return out, nil
}

func (s qualityService) ClaimCallback(ctx context.Context, req *pb.ClaimCallbackRequest) (*pb.ClaimCallbackResponse, error) {
	q, err := s.store()
	if err != nil {
		return nil, err
	}
	var c *carehex.Callback
	if req.Id == "" {
		c, err = q.NextCallback(ctx, "")
	} else {
		c, err = q.ClaimCallback(ctx, req.Id)
	}
	if err != nil {
		return nil, err
	}
	return &pb.ClaimCallbackResponse{Callback: callbackToPB(c)}, nil
}

func (s qualityService) RecordCallback(ctx context.Context, req *pb.RecordCallbackRequest) (*pb.RecordCallbackResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	q, err := s.store()
	if err != nil {
		return nil, err
	}
	c, err := q.RecordCallback(ctx, req.Id, carehex.CallbackResult{Unreachable: req.Unreachable, Satisfaction: int(req.Satisfaction),
		ServiceDone: carehex.ServiceDone(req.ServiceDone), Notes: req.Notes})
	if err != nil {
		return nil, err
	}
	return &pb.RecordCallbackResponse{Callback: callbackToPB(c)}, nil
}

func (s qualityService) CreateComplaint(ctx context.Context, req *pb.CreateComplaintRequest) (*pb.CreateComplaintResponse, error) {
	q, err := s.store()
	if err != nil {
		return nil, err
	}
	c := &carehex.Complaint{ResidentID: req.ResidentId, Complainant: carehex.Complainant(req.Complainant), ComplainantName: req.ComplainantName,
		VisitID: req.VisitId, ProviderID: req.ProviderId, OrgID: req.OrgId, Description: req.Description}
	if err := q.CreateComplaint(ctx, c); err != nil {
		return nil, err
	}
	return &pb.CreateComplaintResponse{Complaint: complaintToPB(c, s.now())}, nil
}

func (s qualityService) GetComplaint(ctx context.Context, req *pb.GetComplaintRequest) (*pb.GetComplaintResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	q, err := s.store()
	if err != nil {
		return nil, err
	}
	c, err := q.Complaint(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return &pb.GetComplaintResponse{Complaint: complaintToPB(c, s.now())}, nil
}

func (s qualityService) ListComplaints(ctx context.Context, req *pb.ListComplaintsRequest) (*pb.ListComplaintsResponse, error) {
	q, err := s.store()
	if err != nil {
		return nil, err
	}
	f, err := qualityFilter(ctx, req.District, req.Street, req.OrgId, req.StartTime, req.EndTime)
	if err != nil {
		return nil, err
	}
	f.Status, f.Limit = req.Status, limit(req.Limit, 100, 1000)
	cs, err := q.Complaints(ctx, f)
	if err != nil {
		return nil, err
	}
	out, now := &pb.ListComplaintsResponse{}, s.now()
	for _, c := range cs {
		out.Complaints = append(out.Complaints, complaintToPB(c, now))
	}
	return out, nil
}

func (s qualityService) MoveComplaint(ctx context.Context, req *pb.MoveComplaintRequest) (*pb.MoveComplaintResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	if err := requireID("status", req.Status); err != nil {
		return nil, err
	}
	q, err := s.store()
	if err != nil {
		return nil, err
	}
	c, err := q.MoveComplaint(ctx, req.Id, carehex.ComplaintStatus(req.Status), req.Note)
	if err != nil {
		return nil, err
	}
	return &pb.MoveComplaintResponse{Complaint: complaintToPB(c, s.now())}, nil
}

// qualityFilter reads a list's or summary's district, organisation and
// period.
func qualityFilter(ctx context.Context, district, street, orgID string, start, end *timestamppb.Timestamp) (carehex.QualityFilter, error) {
	var f carehex.QualityFilter
	var err error
	if f.Area, f.Street, err = qualityArea(ctx, district, street); err != nil {
		return f, err
	}
	f.OrgID = orgID
	if f.From, err = timeFromPB("start_time", start); err != nil {
		return f, err
	}
	if f.To, err = timeFromPB("end_time", end); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, carehex.Errorf(carehex.EINVALID, "end_time", "end_time must be after start_time")
	}
	return f, nil
}

func (s qualityService) GetQualitySummary(ctx context.Context, req *pb.GetQualitySummaryRequest) (*pb.GetQualitySummaryResponse, error) {
	q, err := s.store()
	if err != nil {
		return nil, err
	}
	f, err := qualityFilter(ctx, req.District, req.Street, req.OrgId, req.StartTime, req.EndTime)
	if err != nil {
		return nil, err
	}
	sum, err := q.QualitySummary(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &pb.GetQualitySummaryResponse{Callbacks: int32(sum.Callbacks), Unreachable: int32(sum.Unreachable), OpenCallbacks: int32(sum.Open),
		SatisfactionMean: sum.Satisfaction, NotAsLogged: int32(sum.NotAsLogged), Complaints: int32(sum.Complaints),
		OpenComplaints: int32(sum.OpenComplaint), OverdueComplaints: int32(sum.Overdue)}
	for _, n := range sum.Distribution {
		out.SatisfactionCounts = append(out.SatisfactionCounts, int32(n))
	}
	for _, o := range sum.ByOrg {
		out.ByOrg = append(out.ByOrg, &pb.OrgQuality{OrgId: o.OrgID, OrgName: o.OrgName, Callbacks: int32(o.Callbacks),
			SatisfactionMean: o.Satisfaction, NotAsLogged: int32(o.NotAsLogged), Complaints: int32(o.Complaints),
			OpenComplaints: int32(o.Open), OverdueComplaints: int32(o.Overdue)})
	}
	return out, nil
}
