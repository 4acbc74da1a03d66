package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

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

// SearchProviders is the console's roster: providers whose name or phone
// holds f.Query, with skill f.Skill, active only unless f.IncludeInactive,
// one page of them in the order they joined, and the count of all matches
// (the page says "21–40 of 303", never a silent cap).
func (s *DB) SearchProviders(ctx context.Context, f carehex.ProviderFilter) ([]*carehex.Provider, int, error) {
	f.Query = carehex.Trimmed(f.Query)
	f.Skill = carehex.Trimmed(f.Skill)
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	limit := clampLimit(f.Limit, defaultProviderLimit, maxProviderLimit)
	var (
		conds []string
		args  []any
	)
	if !f.IncludeInactive {
		conds = append(conds, `active = 1`)
	}
	if f.Query != "" {
		like := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		conds = append(conds, `(LOWER(name) LIKE ? ESCAPE '\' OR phone LIKE ? ESCAPE '\')`)
		args = append(args, like, like)
	}
	if f.Skill != "" {
		conds = append(conds, `id IN (SELECT provider_id FROM provider_skills WHERE skill = ?)`)
		args = append(args, f.Skill)
	}
	if f.OrgID != "" {
		conds, args = append(conds, `org_id = ?`), append(args, f.OrgID)
	}
	where := ""
	if len(conds) > 0 {
		where = ` WHERE ` + strings.Join(conds, ` AND `)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM providers`+where), args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count providers")
	}
	out, err := queryAll(ctx, s, "search providers", scanProvider,
		s.rebind(providerSelect+where+` ORDER BY create_time, id LIMIT ? OFFSET ?`), append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	if err := s.loadSkills(ctx, out); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// UpdateProvider replaces a provider's record and skills in one
// transaction, audited.
func (s *DB) UpdateProvider(ctx context.Context, p *carehex.Provider) error {
	if p == nil {
		return carehex.Errorf(carehex.EINVALID, "provider", "provider is required")
	}
	if strings.TrimSpace(p.ID) == "" {
		return carehex.Errorf(carehex.EINVALID, "id", "id is required")
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
	langs, _ := json.Marshal(nonNil(p.Languages))
	var out *carehex.Provider
	err = s.inTx(ctx, "update provider", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE providers SET name = ?, phone = ?, gender = ?, languages = ?,
			organisation = ?, lat = ?, lng = ?, cell = ? WHERE id = ?`),
			p.Name, p.Phone, string(p.Gender), string(langs), p.Organisation, p.Home.Lat, p.Home.Lng, int64(cell), p.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no provider %q", p.ID)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM provider_skills WHERE provider_id = ?`), p.ID); err != nil {
			return err
		}
		args := make([]any, 0, 2*len(p.Skills))
		for _, sk := range p.Skills {
			args = append(args, p.ID, sk)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO provider_skills (provider_id, skill) VALUES `+
			repeatRow("(?, ?)", len(p.Skills))), args...); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, &carehex.AuditRecord{Action: "provider.update", ObjectType: "provider", ObjectID: p.ID}); err != nil {
			return err
		}
		out, err = scanProvider(tx.QueryRowContext(ctx, s.rebind(providerSelect+` WHERE id = ?`), p.ID))
		return err
	})
	if err != nil {
		return err
	}
	out.Skills = p.Skills
	*p = *out
	return nil
}

// DeactivateProvider marks a provider inactive, audited with the reason.
func (s *DB) DeactivateProvider(ctx context.Context, id, reason string) (*carehex.Provider, error) {
	if strings.TrimSpace(id) == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "provider_id", "provider_id is required")
	}
	reason = carehex.Trimmed(reason)
	if reason == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "reason", "reason is required to take a provider off the roster")
	}
	if err := carehex.ValidateText("reason", reason, carehex.MaxDeactivateReasonLen, carehex.SingleLine); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, "deactivate provider", func(tx *sql.Tx) error {
		var active int64
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT active FROM providers WHERE id = ?`), id).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "provider_id", "no provider %q", id)
		}
		if err != nil || active == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE providers SET active = 0 WHERE id = ?`), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "provider.deactivate", ObjectType: "provider", ObjectID: id, Detail: reason})
	})
	if err != nil {
		return nil, err
	}
	return s.Provider(ctx, id)
}
