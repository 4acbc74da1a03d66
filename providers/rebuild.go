package providers

import (
	"context"
	"strconv"

	"github.com/carehex/carehex"
)

// Snapshot is what the system of record knows of one provider, for
// re-creating its live state: the roster's skills, the last position it
// reported (or its home base), whether a visit holds it, and the highest
// fencing token SQL has accepted for it.
type Snapshot = carehex.LiveSnapshot

// rebuildBatch is how many providers one pipeline restores.
const rebuildBatch = 500

// Lost reports whether Redis has lost the zone's state (no Rebuild has run
// against this Redis since it was last emptied), so the caller must Rebuild
// from SQL. Heartbeats answering ErrUnknownProvider are the per-provider sign
// of the same thing.
func (s *Store) Lost(ctx context.Context) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.ready).Result()
	if err != nil {
		return false, s.fail(err, "lost")
	}
	return n == 0, nil
}

// Rebuild re-creates the live state of the given providers (the whole roster,
// from SQL) and then marks the zone ready. State already present was written
// by heartbeats or claims after the loss and is kept, but its skills are the
// roster's and its fencing token is raised to the snapshot's, so no claim from
// now on can carry a token SQL has already seen. Rebuilding twice, or from
// two replicas at once, is harmless. It returns how many providers it
// created.
func (s *Store) Rebuild(ctx context.Context, snaps []Snapshot) (int, error) {
	calls := make([]scriptCall, 0, min(len(snaps), rebuildBatch))
	created := 0
	flush := func() error {
		if len(calls) == 0 {
			return nil
		}
		cmds, err := runBatch(ctx, s.rdb, restoreScript, calls)
		if err != nil {
			return s.fail(err, "rebuild")
		}
		for _, c := range cmds {
			if n, _ := c.Int(); n == 1 {
				created++
			}
		}
		calls = calls[:0]
		return nil
	}
	for i := range snaps {
		c, err := s.restoreCall(&snaps[i])
		if err != nil {
			return created, err
		}
		calls = append(calls, c)
		if len(calls) == rebuildBatch {
			if err := flush(); err != nil {
				return created, err
			}
		}
	}
	if err := flush(); err != nil {
		return created, err
	}
	if err := s.rdb.Set(ctx, s.ready, s.ms(s.now()), 0).Err(); err != nil {
		return created, s.fail(err, "rebuild")
	}
	return created, nil
}

// Register creates one provider's live state from the roster if Redis has
// none (a new provider, or the answer to ErrUnknownProvider), otherwise
// applies the roster's skills and the token floor. It reports whether it
// created the state.
func (s *Store) Register(ctx context.Context, snap Snapshot) (bool, error) {
	c, err := s.restoreCall(&snap)
	if err != nil {
		return false, err
	}
	n, err := restoreScript.Run(ctx, s.rdb, c.keys, c.args...).Int()
	if err != nil {
		return false, s.fail(err, "register")
	}
	return n == 1, nil
}

func (s *Store) restoreCall(p *Snapshot) (scriptCall, error) {
	if err := validID("provider_id", p.ProviderID); err != nil {
		return scriptCall{}, err
	}
	skills, err := joinSkills(p.Skills)
	if err != nil {
		return scriptCall{}, err
	}
	code := statusCode(p.Status)
	if code == "" || code == "f" {
		return scriptCall{}, carehex.Errorf(carehex.EINVALID, "status", "a restored provider is offline, available or busy, got %q", p.Status)
	}
	var la, ln, cell string
	if p.Position != (carehex.LatLng{}) {
		if la, ln, cell, err = s.place(p.Position); err != nil {
			return scriptCall{}, err
		}
	}
	acc, err := accuracy(p.AccuracyM)
	if err != nil {
		return scriptCall{}, err
	}
	seen := "0"
	if !p.LastSeen.IsZero() {
		seen = s.ms(p.LastSeen)
	}
	if p.RequestID != "" {
		if err := validID("request_id", p.RequestID); err != nil {
			return scriptCall{}, err
		}
	}
	return scriptCall{
		keys: []string{providerKey(s.zone, p.ProviderID), s.geoSet},
		args: []any{p.ProviderID, la, ln, acc, cell, seen, code, skills, flag(p.WantsOffers),
			strconv.FormatUint(p.Token, 10), p.RequestID, s.aPrefix, flag(s.geo)},
	}, nil
}
