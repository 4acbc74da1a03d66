package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// Page sizes of the roster list.
const (
	defaultProviderLimit = 100
	maxProviderLimit     = 100_000 // the dispatcher reads the whole roster to rebuild Redis
)

// CreateProvider validates p, sets its ID, cell and time, and adds it to the
// roster, active.
func (s *DB) CreateProvider(ctx context.Context, p *carehex.Provider) error {
	if p == nil {
		return carehex.Errorf(carehex.EINVALID, "provider", "provider is required")
	}
	p.Name = carehex.Trimmed(p.Name)
	for i, sk := range p.Skills {
		p.Skills[i] = carehex.Trimmed(sk)
	}
	if err := p.Validate(); err != nil {
		return err
	}
	cell, err := geo.CellOf(p.Home, geo.ResidentRes)
	if err != nil {
		return err
	}
	p.Skills = dedupe(p.Skills)
	langs, _ := json.Marshal(nonNil(p.Languages)) // a list of strings cannot fail to encode
	now := s.stamp()
	id := carehex.NewID("prv")
	err = s.inTx(ctx, "create provider", func(tx *sql.Tx) error {
		org, err := s.providerOrg(ctx, tx, p)
		if err != nil {
			return err
		}
		p.OrgID = org
		// A new provider is active: a roster entry nobody can dispatch to is
		// not what anyone adding one means.
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO providers
			(id, name, phone, gender, languages, organisation, org_id, lat, lng, cell, active, create_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`),
			id, p.Name, p.Phone, string(p.Gender), string(langs), p.Organisation, p.OrgID, p.Home.Lat, p.Home.Lng,
			int64(cell), micros(now)); err != nil {
			return err
		}
		args := make([]any, 0, 2*len(p.Skills))
		for _, sk := range p.Skills {
			args = append(args, id, sk)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO provider_skills (provider_id, skill) VALUES `+
			repeatRow("(?, ?)", len(p.Skills))), args...); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "provider.create", ObjectType: "provider", ObjectID: id})
	})
	if err != nil {
		return err
	}
	p.ID, p.Cell, p.Active, p.CreateTime = id, cell, true, now
	return nil
}

const providerSelect = `SELECT id, name, phone, gender, languages, organisation, org_id, lat, lng, cell, active, create_time
	FROM providers`

func scanProvider(sc interface{ Scan(...any) error }) (*carehex.Provider, error) {
	var (
		p               carehex.Provider
		gender, langs   string
		cell, active, t int64
	)
	if err := sc.Scan(&p.ID, &p.Name, &p.Phone, &gender, &langs, &p.Organisation, &p.OrgID, &p.Home.Lat, &p.Home.Lng,
		&cell, &active, &t); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(langs), &p.Languages); err != nil {
		return nil, err
	}
	if len(p.Languages) == 0 {
		p.Languages = nil
	}
	p.Gender, p.Cell, p.Active, p.CreateTime = carehex.Gender(gender), carehex.Cell(cell), active != 0, fromMicros(t)
	return &p, nil
}

// Provider returns one provider of the roster with their skills.
func (s *DB) Provider(ctx context.Context, id string) (*carehex.Provider, error) {
	p, err := scanProvider(s.db.QueryRowContext(ctx, s.rebind(providerSelect+` WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "id", "no provider %q", id)
	}
	if err != nil {
		return nil, s.wrap(err, "read provider")
	}
	if err := s.loadSkills(ctx, []*carehex.Provider{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// Providers lists the roster in the order providers joined it.
func (s *DB) Providers(ctx context.Context, limit int) ([]*carehex.Provider, error) {
	limit = clampLimit(limit, defaultProviderLimit, maxProviderLimit)
	out, err := queryAll(ctx, s, "list providers", scanProvider, s.rebind(providerSelect+` ORDER BY create_time, id LIMIT ?`), limit)
	if err != nil {
		return nil, err
	}
	if err := s.loadSkills(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// maxProvidersByID keeps one read's placeholders well within both databases'
// limits; a dispatch ranks at most a few dozen.
const maxProvidersByID = 1000

// ProvidersByID reads the named providers with their skills, two queries
// however many; IDs not on the roster are left out.
func (s *DB) ProvidersByID(ctx context.Context, ids []string) ([]*carehex.Provider, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > maxProvidersByID {
		return nil, carehex.Errorf(carehex.EINVALID, "ids", "at most %d providers at a time", maxProvidersByID)
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	out, err := queryAll(ctx, s, "read providers", scanProvider, s.rebind(providerSelect+` WHERE id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return nil, err
	}
	if err := s.loadSkills(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// loadSkills fills in the skills of ps with one query.
func (s *DB) loadSkills(ctx context.Context, ps []*carehex.Provider) error {
	if len(ps) == 0 {
		return nil
	}
	byID := make(map[string]*carehex.Provider, len(ps))
	args := make([]any, len(ps))
	for i, p := range ps {
		byID[p.ID] = p
		args[i] = p.ID
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT provider_id, skill FROM provider_skills
		WHERE provider_id IN (`+placeholders(len(ps))+`) ORDER BY provider_id, skill`), args...)
	if err != nil {
		return s.wrap(err, "read provider skills")
	}
	defer rows.Close()
	for rows.Next() {
		var id, skill string
		if err := rows.Scan(&id, &skill); err != nil {
			return s.wrap(err, "read provider skills")
		}
		if p := byID[id]; p != nil {
			p.Skills = append(p.Skills, skill)
		}
	}
	return s.wrap(rows.Err(), "read provider skills")
}

// dedupe drops repeated strings, keeping the first of each in order.
func dedupe(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// repeatRow returns n copies of a VALUES row, comma separated.
func repeatRow(row string, n int) string {
	if n <= 0 {
		return ""
	}
	b := make([]byte, 0, n*(len(row)+2))
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, row...)
	}
	return string(b)
}
