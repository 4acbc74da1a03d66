package rpc

import (
	"context"

	"github.com/carehex/carehex"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// The hotline's day beyond the first call: calls the PBX reported to the
// CTI edge (package cti), as the console sees them, and residents the
// hotline stops serving.

func (s intakeService) GetActiveCall(ctx context.Context, req *pb.GetActiveCallRequest) (*pb.GetActiveCallResponse, error) {
	ext := carehex.Trimmed(req.Extension)
	if ext == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "extension", "extension is required")
	}
	if len(ext) > carehex.MaxExtensionLen {
		return nil, carehex.Errorf(carehex.EINVALID, "extension", "extension is longer than %d characters", carehex.MaxExtensionLen)
	}
	c, err := s.Store.ActiveCall(ctx, ext)
	if err != nil {
		return nil, err
	}
	return &pb.GetActiveCallResponse{Call: callToPB(c)}, nil
}

func callToPB(c *carehex.Call) *pb.Call {
	return &pb.Call{CallId: c.CallID, Caller: c.Caller, Extension: c.Extension, RecordingRef: c.RecordingRef,
		Status: c.Status, StartTime: ts(c.StartTime), UpdateTime: ts(c.UpdateTime)}
}

// attachRecording fills in the recording of the call a request was logged
// during; the PBX often names it only at hangup, after the request, so it
// is read from the call each time rather than copied onto the request.
func (s *Server) attachRecording(ctx context.Context, r *pb.ServiceRequest) error {
	if r.CallId == "" {
		return nil
	}
	c, err := s.Store.Call(ctx, r.CallId)
	if carehex.ErrorCode(err) == carehex.ENOTFOUND {
		return nil // calls are never deleted; nothing to show if one were
	}
	if err != nil {
		return err
	}
	r.RecordingRef = c.RecordingRef
	return nil
}

func (s residentService) DeactivateResident(ctx context.Context, req *pb.DeactivateResidentRequest) (*pb.DeactivateResidentResponse, error) {
	if err := requireID("id", req.Id); err != nil {
		return nil, err
	}
	reason, err := carehex.DeactivateReasonOf(req.ReasonCode, req.Reason)
	if err != nil {
		return nil, err
	}
	r, err := s.Store.DeactivateResident(ctx, req.Id, reason)
	if err != nil {
		return nil, err
	}
	return &pb.DeactivateResidentResponse{Resident: residentToPB(r)}, nil
}
