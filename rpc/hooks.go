package rpc

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twitchtv/twirp"
)

type ctxKey int

const (
	startKey ctxKey = iota
	tokenKey
)

func withToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, tokenKey, token)
}

func tokenFrom(ctx context.Context) string {
	t, _ := ctx.Value(tokenKey).(string)
	return t
}

// telemetry logs and counts every call, those Twirp served and those the edge
// refused before Twirp ran: request logging and metrics live here, not in
// the handlers.
type telemetry struct {
	log     *slog.Logger
	calls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newTelemetry(log *slog.Logger, reg prometheus.Registerer) *telemetry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &telemetry{log: log}
	if reg != nil {
		t.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carehex_rpc_requests_total",
			Help: "Twirp calls by method and Twirp status code (refusals by the edge included).",
		}, []string{"method", "code"})
		t.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "carehex_rpc_duration_seconds",
			Help:    "Twirp call latency by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"method"})
		reg.MustRegister(t.calls, t.latency)
	}
	return t
}

func (t *telemetry) observe(ctx context.Context, method, code string, took time.Duration) {
	if t.calls != nil {
		t.calls.WithLabelValues(method, code).Inc()
		t.latency.WithLabelValues(method).Observe(took.Seconds())
	}
	t.log.InfoContext(ctx, "rpc", "method", method, "code", code, "ms", float64(took.Microseconds())/1000)
}

// hooks feed Twirp's served calls to the telemetry.
func (t *telemetry) hooks() *twirp.ServerHooks {
	return &twirp.ServerHooks{
		RequestReceived: func(ctx context.Context) (context.Context, error) {
			return context.WithValue(ctx, startKey, time.Now()), nil
		},
		ResponseSent: func(ctx context.Context) {
			service, _ := twirp.ServiceName(ctx)
			method, _ := twirp.MethodName(ctx)
			status, _ := twirp.StatusCode(ctx)
			var took time.Duration
			if start, ok := ctx.Value(startKey).(time.Time); ok {
				took = time.Since(start)
			}
			t.observe(ctx, service+"/"+method, status, took)
		},
	}
}
