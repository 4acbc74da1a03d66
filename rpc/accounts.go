package rpc

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

type accountService struct{ *Server }

type addrKey struct{}

func withClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addrKey{}, addr)
}

func clientAddrFrom(ctx context.Context) string {
	a, _ := ctx.Value(addrKey{}).(string)
	return a
}

// clientAddr is the address the login throttle counts against: the
// connection's IP. X-Forwarded-For is anyone's to write, so it is read only
// when the server is told it sits behind one trusted proxy, and then only
// its last entry (the one that proxy appended).
func clientAddr(r *http.Request, trustForwardedFor bool) string {
	if trustForwardedFor {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				return a.Unmap().String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return host
}

func (s *Server) familyTTL() time.Duration {
	if s.FamilyTTL > 0 {
		return s.FamilyTTL
	}
	return carehex.FamilyTTL
}

// offline takes a provider whose device tokens were revoked out of dispatch
// at once; without a dispatcher there is no live state to remove.
func (s *Server) offline(ctx context.Context, providerID string) error {
	if s.Dispatch == nil {
		return nil
	}
	return s.Dispatch.GoOffline(ctx, providerID)
}

func (s residentService) UnlinkFamilyMember(ctx context.Context, req *pb.UnlinkFamilyMemberRequest) (*pb.UnlinkFamilyMemberResponse, error) {
	if err := requireID("family_member_id", req.FamilyMemberId); err != nil {
		return nil, err
	}
	if _, err := s.Store.UnlinkFamilyMember(ctx, strings.TrimSpace(req.FamilyMemberId)); err != nil {
		return nil, err
	}
	return &pb.UnlinkFamilyMemberResponse{}, nil
}

// --- AccountService

func (s accountService) UnlockLogin(ctx context.Context, req *pb.UnlockLoginRequest) (*pb.UnlockLoginResponse, error) {
	user, addr := carehex.Trimmed(req.Username), strings.TrimSpace(req.ClientAddress)
	var key string
	switch {
	case user != "" && addr != "":
		return nil, carehex.Errorf(carehex.EINVALID, "client_address", "give username or client_address, not both")
	case user != "":
		key = carehex.UserThrottleKey(user)
	case addr != "":
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return nil, carehex.Errorf(carehex.EINVALID, "client_address", "client_address must be an IP address")
		}
		key = carehex.AddrThrottleKey(a.Unmap().String())
	default:
		return nil, carehex.Errorf(carehex.EINVALID, "username", "username or client_address is required")
	}
	ok, err := s.Store.UnlockLogin(ctx, key)
	if err != nil {
		return nil, err
	}
	return &pb.UnlockLoginResponse{Cleared: ok}, nil
}

func (s accountService) setDisabled(ctx context.Context, username string, disabled bool) (string, error) {
	if err := requireID("username", username); err != nil {
		return "", err
	}
	if p, _ := carehex.PrincipalFrom(ctx); disabled && p.Name == carehex.Trimmed(username) {
		// An admin locking themselves out could leave nobody to undo it.
		return "", carehex.Errorf(carehex.EINVALID, "username", "you cannot disable your own account")
	}
	u, err := s.Store.SetUserDisabled(ctx, username, disabled)
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

func (s accountService) DisableUser(ctx context.Context, req *pb.DisableUserRequest) (*pb.DisableUserResponse, error) {
	id, err := s.setDisabled(ctx, req.Username, true)
	if err != nil {
		return nil, err
	}
	return &pb.DisableUserResponse{UserId: id}, nil
}

func (s accountService) EnableUser(ctx context.Context, req *pb.EnableUserRequest) (*pb.EnableUserResponse, error) {
	id, err := s.setDisabled(ctx, req.Username, false)
	if err != nil {
		return nil, err
	}
	return &pb.EnableUserResponse{UserId: id}, nil
}

// sessionOwner is the user whose sessions a call is about: the caller for an
// empty username; anyone else only for an admin. A non-admin naming someone
// else learns nothing about whether that account exists.
func (s accountService) sessionOwner(ctx context.Context, username string) (string, error) {
	p, _ := carehex.PrincipalFrom(ctx)
	username = carehex.Trimmed(username)
	if username == "" || username == p.Name {
		return p.Subject, nil
	}
	if p.Role != carehex.RoleAdmin {
		return "", carehex.Errorf(carehex.EFORBIDDEN, "username", "only an admin may see or end another user's sessions")
	}
	u, err := s.Store.UserByUsername(ctx, username)
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

func (s accountService) ListSessions(ctx context.Context, req *pb.ListSessionsRequest) (*pb.ListSessionsResponse, error) {
	owner, err := s.sessionOwner(ctx, req.Username)
	if err != nil {
		return nil, err
	}
	ss, err := s.Store.UserSessions(ctx, owner, s.now())
	if err != nil {
		return nil, err
	}
	current := carehex.SessionID(auth.HashToken(tokenFrom(ctx)))
	out := &pb.ListSessionsResponse{}
	for _, x := range ss {
		out.Sessions = append(out.Sessions, &pb.Session{Id: x.ID, CreateTime: ts(x.CreateTime),
			ExpireTime: ts(x.ExpireTime), Current: x.ID == current})
	}
	return out, nil
}

func (s accountService) EndSession(ctx context.Context, req *pb.EndSessionRequest) (*pb.EndSessionResponse, error) {
	owner, err := s.sessionOwner(ctx, req.Username)
	if err == nil {
		err = requireID("session_id", req.SessionId)
	}
	if err == nil {
		err = s.Store.EndSession(ctx, owner, strings.TrimSpace(req.SessionId))
	}
	if err != nil {
		return nil, err
	}
	return &pb.EndSessionResponse{}, nil
}

func (s accountService) EndAllSessions(ctx context.Context, req *pb.EndAllSessionsRequest) (*pb.EndAllSessionsResponse, error) {
	owner, err := s.sessionOwner(ctx, req.Username)
	if err == nil {
		err = s.Store.RevokeTokensOf(ctx, carehex.KindUser, owner)
	}
	if err != nil {
		return nil, err
	}
	return &pb.EndAllSessionsResponse{}, nil
}
