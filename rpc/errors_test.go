package rpc

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/carehex/carehex"
	"github.com/twitchtv/twirp"
)

// TestMapErrors checks the one place service errors become Twirp errors: the
// code from the table, the field as meta "argument", a retry hint when
// unavailable, and internal detail logged but never sent.
func TestMapErrors(t *testing.T) {
	secret := errors.New("pq: relation \"visits\" is locked by pid 4242")
	tests := []struct {
		name     string
		err      error
		code     twirp.ErrorCode
		msg      string
		argument string
		retry    bool
		logged   bool
	}{
		{"invalid names the field", carehex.Errorf(carehex.EINVALID, "resident_id", "resident_id is required"),
			twirp.InvalidArgument, "resident_id is required", "resident_id", false, false},
		{"not found", carehex.Errorf(carehex.ENOTFOUND, "", "no provider %q", "p1"), twirp.NotFound, `no provider "p1"`, "", false, false},
		{"conflict", carehex.Errorf(carehex.ECONFLICT, "", "the offer is closed"), twirp.FailedPrecondition, "the offer is closed", "", false, false},
		{"idempotency mismatch", carehex.ErrIdempotencyMismatch, twirp.AlreadyExists, carehex.ErrorMessage(carehex.ErrIdempotencyMismatch), "idempotency_key", false, false},
		{"unavailable hints a retry", carehex.Errorf(carehex.EUNAVAILABLE, "", "dispatch is not running"), twirp.Unavailable, "dispatch is not running", "", true, false},
		{"internal hides the cause", carehex.Internal(secret, "assign"), twirp.Internal, "internal error", "", false, true},
		{"plain error is internal", secret, twirp.Internal, "internal error", "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			method := s.mapErrors(func(context.Context, any) (any, error) { return "ignored", tc.err })
			resp, err := method(context.Background(), nil)
			if resp != nil {
				t.Errorf("response %v beside an error, want nil", resp)
			}
			var te twirp.Error
			if !errors.As(err, &te) {
				t.Fatalf("error %T %v is not a twirp.Error", err, err)
			}
			if te.Code() != tc.code || te.Msg() != tc.msg {
				t.Errorf("got %s %q, want %s %q", te.Code(), te.Msg(), tc.code, tc.msg)
			}
			if got := te.Meta("argument"); got != tc.argument {
				t.Errorf("meta argument %q, want %q", got, tc.argument)
			}
			if got := te.Meta("retry_after_ms") != ""; got != tc.retry {
				t.Errorf("retry_after_ms set = %v, want %v", got, tc.retry)
			}
			if strings.Contains(te.Msg(), "4242") {
				t.Errorf("internal detail sent to the caller: %q", te.Msg())
			}
			if got := strings.Contains(logs.String(), "4242"); got != tc.logged {
				t.Errorf("cause logged = %v, want %v; log:\n%s", got, tc.logged, logs.String())
			}
		})
	}

	t.Run("success passes through", func(t *testing.T) {
		s := &Server{}
		resp, err := s.mapErrors(func(context.Context, any) (any, error) { return "answer", nil })(context.Background(), nil)
		if err != nil || resp != "answer" {
			t.Fatalf("got %v, %v; want answer, nil", resp, err)
		}
	})
}
