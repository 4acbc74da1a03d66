package loadbench

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/encoding/protojson"
)

// PlainPath is where PlainCreate is mounted beside the product's handler.
const PlainPath = "/bench/v1/create"

// PlainCreate is IntakeService.CreateServiceRequest behind plain net/http
// and protojson, without Twirp: it exists only inside `carehex bench load`,
// to show what Twirp (routing, hooks, the edge's checks, its error and
// response writers) costs on top of the same work. It authenticates the
// bearer token (auth.Authenticate), checks the role, decodes the same
// message and calls the Twirp handler's own implementation
// (rpc.(*Server).Intake), which commits the request and offers it at once.
type PlainCreate struct {
	Auth   carehex.AuthStore
	Intake pb.IntakeService
	Clock  carehex.Clock
	Log    *slog.Logger
}

func (h *PlainCreate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := h.serve(w, r)
	if err == nil {
		b, merr := protojson.Marshal(out)
		if merr == nil {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
			return
		}
		err = carehex.Internal(merr, "encode")
	}
	status := http.StatusInternalServerError
	var te twirp.Error
	switch {
	case errors.As(err, &te):
		status = twirp.ServerHTTPStatusFromErrorCode(te.Code())
	case carehex.ErrorCode(err) == carehex.EUNAUTHENTICATED:
		status = http.StatusUnauthorized
	case carehex.ErrorCode(err) == carehex.EFORBIDDEN:
		status = http.StatusForbidden
	case carehex.ErrorCode(err) == carehex.EINVALID:
		status = http.StatusBadRequest
	}
	if status == http.StatusInternalServerError {
		h.Log.Error("bench.plain_create", "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("{}"))
}

func (h *PlainCreate) serve(w http.ResponseWriter, r *http.Request) (*pb.CreateServiceRequestResponse, error) {
	if r.Method != http.MethodPost {
		return nil, carehex.Errorf(carehex.EINVALID, "", "POST only")
	}
	ctx := r.Context()
	token, err := auth.BearerToken(r.Header)
	if err != nil {
		return nil, err
	}
	p, err := auth.Authenticate(ctx, h.Auth, h.Clock().UTC(), token)
	if err != nil {
		return nil, err
	}
	if p.Kind != carehex.KindUser || (p.Role != carehex.RoleOperator && p.Role != carehex.RoleAdmin) {
		return nil, carehex.Errorf(carehex.EFORBIDDEN, "", "role %s may not create requests", p.Role)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return nil, carehex.Errorf(carehex.EINVALID, "body", "request body could not be read")
	}
	var in pb.CreateServiceRequestRequest
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &in); err != nil {
		return nil, carehex.Errorf(carehex.EINVALID, "body", "request body is not a valid CreateServiceRequestRequest")
	}
	return h.Intake.CreateServiceRequest(carehex.WithPrincipal(ctx, p), &in)
}
