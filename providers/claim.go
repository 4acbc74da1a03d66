package providers

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/carehex/carehex"
)

// ClaimRequest asks to reserve one provider for one request's offer.
type ClaimRequest = carehex.ClaimRequest

// Claim is a reservation of a provider for an offer, with its fencing token
// (see carehex.Claim).
type Claim = carehex.Claim

// Claim reserves a provider that is available and fresh and holds no live
// offer. Of any number of concurrent claims exactly one succeeds; the others
// get ErrClaimed. A repeated claim for the same request returns the live
// claim. An offer more than the sweep grace past its deadline is dead and may
// be taken over. Failures: ErrUnknownProvider, ErrNotAvailable, ErrStale,
// ErrClaimed.
func (s *Store) Claim(ctx context.Context, r ClaimRequest) (Claim, error) {
	if err := validID("provider_id", r.ProviderID); err != nil {
		return Claim{}, err
	}
	if err := validID("request_id", r.RequestID); err != nil {
		return Claim{}, err
	}
	if r.TTL <= 0 {
		return Claim{}, carehex.Errorf(carehex.EINVALID, "ttl", "offer lifetime must be positive")
	}
	if r.MaxAge <= 0 {
		return Claim{}, carehex.Errorf(carehex.EINVALID, "max_age", "max heartbeat age must be positive")
	}
	v, err := claimScript.Run(ctx, s.rdb, []string{providerKey(s.zone, r.ProviderID), s.offers},
		r.ProviderID, r.RequestID, s.ms(s.now()), r.TTL.Milliseconds(), r.MaxAge.Milliseconds(),
		s.grace.Milliseconds(), s.aPrefix, flag(r.ByPhone)).Int64Slice()
	if err != nil {
		return Claim{}, s.fail(err, "claim")
	}
	if len(v) != 3 {
		return Claim{}, carehex.Internal(fmt.Errorf("reply %v", v), "providers: claim")
	}
	switch v[0] {
	case 1, 2:
		return Claim{ProviderID: r.ProviderID, RequestID: r.RequestID, Token: uint64(v[1]), Deadline: time.UnixMilli(v[2])}, nil
	case -1:
		return Claim{}, ErrUnknownProvider
	case -2:
		return Claim{}, ErrNotAvailable
	case -3:
		return Claim{}, ErrStale
	case -4:
		return Claim{}, ErrClaimed
	}
	return Claim{}, carehex.Internal(fmt.Errorf("code %d", v[0]), "providers: claim")
}

// Fence returns a new fencing token for work booked ahead without an offer
// (a rostered planned visit), above floor, the highest token SQL holds for
// the provider. It changes nothing else (see fence.lua). ErrClaimed while
// the provider holds a live offer.
func (s *Store) Fence(ctx context.Context, providerID string, floor uint64) (uint64, error) {
	if err := validID("provider_id", providerID); err != nil {
		return 0, err
	}
	v, err := fenceScript.Run(ctx, s.rdb, []string{providerKey(s.zone, providerID)},
		floor, s.ms(s.now()), s.grace.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, s.fail(err, "fence")
	}
	if len(v) != 2 {
		return 0, carehex.Internal(fmt.Errorf("reply %v", v), "providers: fence")
	}
	if v[0] == -4 {
		return 0, ErrClaimed
	}
	return uint64(v[1]), nil
}

// Release ends an offer that did not become a visit (declined, expired,
// withdrawn): the provider is available again, or offline if its last
// heartbeat said so. It reports false, changing nothing, when token is not
// the current claim's: a late release cannot free a provider claimed since.
func (s *Store) Release(ctx context.Context, providerID string, token uint64) (bool, error) {
	return s.tokenOp(ctx, "release", providerID, token, func(key string, tok string) (int, error) {
		return releaseScript.Run(ctx, s.rdb, []string{key, s.offers}, providerID, tok, s.aPrefix).Int()
	})
}

// Commit marks the provider busy with the visit the claim became, after SQL
// committed the assignment. It reports false when token is not the current
// claim's. Committing twice with the same token is harmless.
func (s *Store) Commit(ctx context.Context, providerID string, token uint64) (bool, error) {
	return s.tokenOp(ctx, "commit", providerID, token, func(key string, tok string) (int, error) {
		return commitScript.Run(ctx, s.rdb, []string{key, s.offers}, providerID, tok).Int()
	})
}

// Finish ends the visit of the claim with token: the provider is available
// again (or offline if its last heartbeat said so). It reports false when the
// provider is not busy with that claim.
func (s *Store) Finish(ctx context.Context, providerID string, token uint64) (bool, error) {
	return s.tokenOp(ctx, "finish", providerID, token, func(key string, tok string) (int, error) {
		return finishScript.Run(ctx, s.rdb, []string{key}, providerID, tok, s.aPrefix).Int()
	})
}

func (s *Store) tokenOp(ctx context.Context, what, providerID string, token uint64, run func(key, tok string) (int, error)) (bool, error) {
	if err := validID("provider_id", providerID); err != nil {
		return false, err
	}
	n, err := run(providerKey(s.zone, providerID), strconv.FormatUint(token, 10))
	if err != nil {
		return false, s.fail(err, what)
	}
	if n == -1 {
		return false, ErrUnknownProvider
	}
	return n == 1, nil
}

// Expired is an offer Sweep released because its claimer let it lapse.
type Expired = carehex.ExpiredClaim

// sweepBatch bounds the work of one sweep script call, so a backlog after an
// outage does not block Redis for long.
const sweepBatch = 200

// Sweep releases the offers whose deadline passed more than the sweep grace
// ago, which their claimers would have released had they not died. The
// dispatcher calls it every few seconds (SweepEvery) and puts the returned
// requests back to pending.
func (s *Store) Sweep(ctx context.Context) ([]Expired, error) {
	var out []Expired
	for {
		v, err := sweepScript.Run(ctx, s.rdb, []string{s.offers},
			s.ms(s.now()), s.grace.Milliseconds(), sweepBatch, s.pPrefix, s.aPrefix).StringSlice()
		if err != nil {
			return out, s.fail(err, "sweep")
		}
		if len(v) == 0 {
			return out, carehex.Internal(fmt.Errorf("empty reply"), "providers: sweep")
		}
		for i := 1; i+2 < len(v); i += 3 {
			tok, _ := strconv.ParseUint(v[i+2], 10, 64)
			out = append(out, Expired{ProviderID: v[i], RequestID: v[i+1], Token: tok})
		}
		if looked, _ := strconv.Atoi(v[0]); looked < sweepBatch {
			return out, nil
		}
	}
}

// SweepEvery runs Sweep every interval until ctx is done, handing each
// non-empty result to expired, and returns ctx's error. The caller owns the
// goroutine it runs in. A failed sweep is reported to onErr (if not nil) and
// retried at the next tick: offers simply stay reserved a little longer.
func (s *Store) SweepEvery(ctx context.Context, interval time.Duration, expired func([]Expired), onErr func(error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		out, err := s.Sweep(ctx)
		if len(out) > 0 && expired != nil {
			expired(out)
		}
		if err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
	}
}
