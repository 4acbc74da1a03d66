package sqlstore

import (
	"context"
	"strings"

	"github.com/carehex/carehex"
)

var _ carehex.NameStore = (*DB)(nil)

// ActorNames resolves "user:…" and "provider:…" actors to their names in
// two queries; "system:…" actors are named by their kind only.
func (s *DB) ActorNames(ctx context.Context, actors []string) (map[string]carehex.ActorName, error) {
	out := map[string]carehex.ActorName{}
	var users, provs []any
	seen := map[string]bool{}
	for _, a := range actors {
		if seen[a] {
			continue
		}
		seen[a] = true
		kind, id, ok := strings.Cut(a, ":")
		switch {
		case !ok:
		case kind == "user":
			users = append(users, id)
		case kind == string(carehex.KindProvider):
			provs = append(provs, id)
		case kind == "system":
			out[a] = carehex.ActorName{Kind: kind}
		}
	}
	type row struct{ id, name, role, phone string }
	scan := func(sc interface{ Scan(...any) error }) (row, error) {
		var r row
		return r, sc.Scan(&r.id, &r.name, &r.role, &r.phone)
	}
	if len(users) > 0 {
		rs, err := queryAll(ctx, s, "actor names", scan,
			s.rebind(`SELECT id, username, role, '' FROM users WHERE id IN (`+placeholders(len(users))+`)`), users...)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out["user:"+r.id] = carehex.ActorName{Kind: "user", Name: r.name, Role: carehex.Role(r.role)}
		}
	}
	if len(provs) > 0 {
		rs, err := queryAll(ctx, s, "actor names", scan,
			s.rebind(`SELECT id, name, '', phone FROM providers WHERE id IN (`+placeholders(len(provs))+`)`), provs...)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out["provider:"+r.id] = carehex.ActorName{Kind: "provider", Name: r.name, Phone: r.phone}
		}
	}
	return out, nil
}
