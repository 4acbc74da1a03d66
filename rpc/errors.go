package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/internal/msg"
	"github.com/twitchtv/twirp"
)

// twirpCodes maps carehex error codes to Twirp codes: the one table of the
// Twirp edge.
var twirpCodes = map[string]twirp.ErrorCode{
	carehex.EINVALID:         twirp.InvalidArgument,
	carehex.ENOTFOUND:        twirp.NotFound,
	carehex.ECONFLICT:        twirp.FailedPrecondition,
	carehex.EEXISTS:          twirp.AlreadyExists,
	carehex.EUNAUTHENTICATED: twirp.Unauthenticated,
	carehex.EFORBIDDEN:       twirp.PermissionDenied,
	carehex.EUNAVAILABLE:     twirp.Unavailable,
	carehex.EINTERNAL:        twirp.Internal,
	carehex.ETOOMANY:         twirp.ResourceExhausted,
}

// retryAfterMS is the retry hint of an unavailable answer: dispatch resumes
// within a tick or two of Redis or the database coming back.
const retryAfterMS = 1000

// langKey carries the caller's language (msg.ZH, msg.EN or "") from the
// edge, which read Accept-Language, to toTwirp.
type langKey struct{}

func withLang(ctx context.Context, acceptLanguage string) context.Context {
	return context.WithValue(ctx, langKey{}, msg.Lang(acceptLanguage))
}

// toTwirp turns any error into a Twirp error safe to send: the message of a
// *carehex.Error, the field it names as meta "argument", and for internal
// errors only "internal error" (the cause is logged here). What a person is
// shown travels as meta "code" and meta "params" (a JSON object of
// strings) for the pages to render; a caller whose Accept-Language asks for
// Chinese also gets msg in Chinese. meta "argument" is the same in every
// language.
func toTwirp(ctx context.Context, log *slog.Logger, err error) twirp.Error {
	code := carehex.ErrorCode(err)
	if code == carehex.EINTERNAL && log != nil {
		method, _ := twirp.MethodName(ctx)
		if ctx.Err() != nil { // the caller hung up mid-call; nothing is wrong here
			log.DebugContext(ctx, "rpc.gone", "method", method, "err", err)
		} else {
			log.ErrorContext(ctx, "rpc.internal", "method", method, "err", err)
		}
	}
	tc, ok := twirpCodes[code]
	if !ok {
		tc = twirp.Internal
	}
	// An idempotency key reused for another body is a conflict with an existing object.
	if errors.Is(err, carehex.ErrIdempotencyMismatch) {
		tc = twirp.AlreadyExists
	}
	m := carehex.ErrorMsg(err)
	text := carehex.ErrorMessage(err)
	if lang, _ := ctx.Value(langKey{}).(string); lang == msg.ZH {
		text = msg.Default.Render(msg.ZH, m)
	}
	te := twirp.NewError(tc, text).WithMeta("code", m.Code)
	if len(m.Params) > 0 {
		if b, err := json.Marshal(m.Params); err == nil {
			te = te.WithMeta("params", string(b))
		}
	}
	if f := carehex.ErrorField(err); f != "" {
		te = te.WithMeta("argument", f)
	}
	if tc == twirp.Unavailable { // Redis or the database is away: try again shortly
		te = te.WithMeta("retry_after_ms", strconv.Itoa(retryAfterMS))
	}
	if d := carehex.ErrorRetryAfter(err); d > 0 { // e.g. a login lockout: when it ends, rounded up
		te = te.WithMeta("retry_after_ms", strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10))
	}
	return te
}

// mapErrors is the one place a service method's error becomes a Twirp
// error: the methods return plain errors (usually *carehex.Error), and this
// interceptor maps them by the table above and logs internal detail.
func (s *Server) mapErrors(next twirp.Method) twirp.Method {
	return func(ctx context.Context, req any) (any, error) {
		resp, err := next(ctx, req)
		if err != nil {
			return nil, toTwirp(ctx, s.Logger, err)
		}
		return resp, nil
	}
}
