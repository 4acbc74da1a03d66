package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/geo"
)

// Search limits for the incoming-call lookup.
const (
	defaultSearchLimit = 20
	maxSearchLimit     = 100
	// maxQueryGrams bounds the index probes of one name search; the LIKE
	// that follows checks the whole query anyway.
	maxQueryGrams = 8
)

// contactJSON and prefsJSON fix the stored JSON shape, so renaming a Go field
// cannot silently orphan what is already on disk.
type contactJSON struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Relation string `json:"relation,omitempty"`
}

type prefsJSON struct {
	Language                string   `json:"language,omitempty"`
	PreferredProviderGender string   `json:"preferred_provider_gender,omitempty"`
	PreferredProviderIDs    []string `json:"preferred_provider_ids,omitempty"`
	BlockedProviderIDs      []string `json:"blocked_provider_ids,omitempty"`
	Notes                   string   `json:"notes,omitempty"`
}

func encodeContacts(cs []carehex.Contact) string {
	out := make([]contactJSON, len(cs))
	for i, c := range cs {
		out[i] = contactJSON(c)
	}
	b, _ := json.Marshal(out) // plain strings cannot fail to encode
	return string(b)
}

func decodeContacts(s string) ([]carehex.Contact, error) {
	var in []contactJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]carehex.Contact, len(in))
	for i, c := range in {
		out[i] = carehex.Contact(c)
	}
	return out, nil
}

func encodePrefs(p carehex.Preferences) string {
	b, _ := json.Marshal(prefsJSON{
		Language: p.Language, PreferredProviderGender: string(p.PreferredProviderGender),
		PreferredProviderIDs: p.PreferredProviderIDs, BlockedProviderIDs: p.BlockedProviderIDs, Notes: p.Notes,
	})
	return string(b)
}

func decodePrefs(s string) (carehex.Preferences, error) {
	var in prefsJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return carehex.Preferences{}, err
	}
	return carehex.Preferences{
		Language: in.Language, PreferredProviderGender: carehex.Gender(in.PreferredProviderGender),
		PreferredProviderIDs: in.PreferredProviderIDs, BlockedProviderIDs: in.BlockedProviderIDs, Notes: in.Notes,
	}, nil
}

// phoneDigits drops the leading + so "+8613…" and "13…" share their tail.
func phoneDigits(p string) string { return strings.TrimPrefix(p, "+") }

func reverse(s string) string {
	b := []byte(s) // phone numbers are ASCII digits
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// nameGrams returns the distinct 1- and 2-character pieces of a lower-cased
// name, the keys of resident_name_grams.
func nameGrams(nameLC string) []string {
	rs := []rune(nameLC)
	seen := make(map[string]bool, 2*len(rs))
	var out []string
	add := func(g string) {
		if strings.TrimSpace(g) != "" && !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	for i := range rs {
		add(string(rs[i]))
		if i+1 < len(rs) {
			add(string(rs[i : i+2]))
		}
	}
	return out
}

// idNumberFree refuses an ID number another resident already has: one
// person has one record, or visits, family links and subsidies split
// between two. The error names the other record so the operator can open it.
// (Residents are never deleted, so every resident counts as active.) On
// PostgreSQL a transaction-scoped advisory lock on the number makes two
// concurrent saves of it queue, since the check and the write are not one
// statement; SQLite's immediate transactions already run one at a time.
// A unique index would be simpler, but databases that already hold
// duplicates could then not migrate.
func (s *DB) idNumberFree(ctx context.Context, tx *sql.Tx, idNumber, self string) error {
	if idNumber == "" {
		return nil
	}
	if s.dialect == DialectPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('resident_id_number:' || $1))`, idNumber); err != nil {
			return err
		}
	}
	var other string
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT id FROM residents WHERE id_number = ? AND id <> ? ORDER BY create_time LIMIT 1`),
		idNumber, self).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return carehex.Errorf(carehex.EEXISTS, "id_number", "id_number already belongs to resident %s; open that record instead of creating another", other)
}

// idNumbersFree refuses an import whose ID numbers other residents already
// have, naming the first record and the resident holding its number.
func (s *DB) idNumbersFree(ctx context.Context, rs []*carehex.Resident) error {
	const perQuery = 500
	var ids []any
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		var num, other string
		err := s.db.QueryRowContext(ctx, s.rebind(`SELECT id_number, id FROM residents WHERE id_number IN (`+
			placeholders(len(ids))+`) ORDER BY id_number LIMIT 1`), ids...).Scan(&num, &other)
		ids = ids[:0]
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return s.wrap(err, "check id numbers")
		}
		for i, r := range rs {
			if r.IDNumber == num {
				return carehex.Errorf(carehex.EEXISTS, "id_number", "record %d: id_number already belongs to resident %s", i+1, other)
			}
		}
		return carehex.Errorf(carehex.EEXISTS, "id_number", "an id_number already belongs to resident %s", other)
	}
	for _, r := range rs {
		if r.IDNumber == "" {
			continue
		}
		if ids = append(ids, r.IDNumber); len(ids) == perQuery {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// prepareResident validates r and fills in what the store derives.
func prepareResident(r *carehex.Resident) error {
	if r == nil {
		return carehex.Errorf(carehex.EINVALID, "resident", "resident is required")
	}
	r.Name = carehex.Trimmed(r.Name)
	r.IDNumber = strings.ToUpper(carehex.Trimmed(r.IDNumber))
	if err := r.Validate(); err != nil {
		return err
	}
	cell, err := geo.CellOf(r.Location, geo.ResidentRes)
	if err != nil {
		return err
	}
	r.Cell = cell
	return nil
}

const residentCols = `id, name, name_lc, phone, phone_rev, id_number, gender, birth_year, address, district,
	lat, lng, cell, emergency_contacts, preferences, create_time, update_time`

func residentArgs(r *carehex.Resident) []any {
	return []any{r.ID, r.Name, strings.ToLower(r.Name), r.Phone, reverse(phoneDigits(r.Phone)), r.IDNumber,
		string(r.Gender), r.BirthYear, r.Address, r.District, r.Location.Lat, r.Location.Lng, int64(r.Cell),
		encodeContacts(r.EmergencyContacts), encodePrefs(r.Preferences), micros(r.CreateTime), micros(r.UpdateTime)}
}

func (s *DB) insertNameGrams(ctx context.Context, q querier, id, name string) error {
	grams := nameGrams(strings.ToLower(name))
	if len(grams) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(grams))
	for _, g := range grams {
		args = append(args, g, name, id)
	}
	_, err := q.ExecContext(ctx, s.rebind(`INSERT INTO resident_name_grams (gram, name, resident_id) VALUES `+
		repeatRow("(?, ?, ?)", len(grams))), args...)
	return err
}

// CreateResident validates r, sets its ID, cell and times, and saves it.
func (s *DB) CreateResident(ctx context.Context, r *carehex.Resident) error {
	if err := prepareResident(r); err != nil {
		return err
	}
	now := s.stamp()
	r.ID, r.CreateTime, r.UpdateTime = carehex.NewID("res"), now, now
	err := s.inTx(ctx, "create resident", func(tx *sql.Tx) error {
		if err := s.idNumberFree(ctx, tx, r.IDNumber, r.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO residents (`+residentCols+`)
			VALUES (`+placeholders(17)+`)`), residentArgs(r)...); err != nil {
			return err
		}
		if err := s.insertSearchKeys(ctx, tx, r.ID, r.Name, r.Phone); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "resident.create", ObjectType: "resident", ObjectID: r.ID})
	})
	if err != nil {
		// Nothing was saved, so r must not look saved.
		r.ID, r.CreateTime, r.UpdateTime = "", time.Time{}, time.Time{}
	}
	return err
}

// ImportResidents saves many new residents at once, as CreateResident would
// one by one, in a few large transactions; for seeding a city and for
// migrating records from another hotline system. Each gets an audit record.
// Nothing is saved unless every record is valid; a database failure midway
// leaves the transactions before it committed.
func (s *DB) ImportResidents(ctx context.Context, rs []*carehex.Resident) error {
	if len(rs) == 0 {
		return nil
	}
	seen := make(map[string]int)
	for i, r := range rs {
		if err := prepareResident(r); err != nil {
			return err
		}
		if r.IDNumber == "" {
			continue
		}
		if j, dup := seen[r.IDNumber]; dup {
			return carehex.Errorf(carehex.EEXISTS, "id_number", "records %d and %d have the same id_number", j+1, i+1)
		}
		seen[r.IDNumber] = i
	}
	if err := s.idNumbersFree(ctx, rs); err != nil {
		return err
	}
	now := s.stamp()
	for _, r := range rs {
		r.ID, r.CreateTime, r.UpdateTime = carehex.NewID("res"), now, now
	}
	actor := actorOf(ctx)
	// Multi-row INSERTs: one round trip per few hundred rows, well under both
	// databases' limits on bound parameters (SQLite 32766, PostgreSQL 65535).
	const rowsPerStmt, rowsPerTx = 500, 20000
	for start := 0; start < len(rs); start += rowsPerTx {
		chunk := rs[start:min(start+rowsPerTx, len(rs))]
		err := s.inTx(ctx, "import residents", func(tx *sql.Tx) error {
			for i := 0; i < len(chunk); i += rowsPerStmt {
				part := chunk[i:min(i+rowsPerStmt, len(chunk))]
				var res, aud, ids []any
				var keys keyBatch
				for _, r := range part {
					res = append(res, residentArgs(r)...)
					aud = append(aud, carehex.NewID("aud"), micros(now), actor, "resident.create", "resident", r.ID, "import")
					ids = append(ids, r.ID)
					keys.add(r)
				}
				if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO residents (`+residentCols+`) VALUES `+
					repeatRow("("+placeholders(17)+")", len(part))), res...); err != nil {
					return err
				}
				if err := s.insertKeyBatch(ctx, tx, &keys, 2*rowsPerStmt); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE residents SET search_keys = ? WHERE id IN (`+
					placeholders(len(ids))+`)`), append([]any{searchKeysVersion}, ids...)...); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO audit_records
					(id, time, actor, action, object_type, object_id, detail) VALUES `+
					repeatRow("(?, ?, ?, ?, ?, ?, ?)", len(part))), aud...); err != nil {
					return err
				}
				s.trail.mark(tx, carehex.ChainAudit)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// A bulk load changes the shape of the data at once; fresh statistics
	// keep the planner on the search indexes.
	if _, err := s.w.ExecContext(ctx, "ANALYZE"); err != nil {
		return s.wrap(err, "analyze")
	}
	return nil
}

// UpdateResident replaces a resident's record, keeping its ID and CreateTime.
func (s *DB) UpdateResident(ctx context.Context, r *carehex.Resident) error {
	if r == nil {
		return carehex.Errorf(carehex.EINVALID, "resident", "resident is required")
	}
	if r.ID == "" {
		return carehex.Errorf(carehex.EINVALID, "id", "id is required")
	}
	if err := prepareResident(r); err != nil {
		return err
	}
	now := s.stamp()
	return s.inTx(ctx, "update resident", func(tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT create_time FROM residents WHERE id = ?`), r.ID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return carehex.Errorf(carehex.ENOTFOUND, "id", "no resident %q", r.ID)
		}
		if err != nil {
			return err
		}
		r.CreateTime, r.UpdateTime = fromMicros(created), now
		if err := s.idNumberFree(ctx, tx, r.IDNumber, r.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.rebind(`UPDATE residents SET name = ?, name_lc = ?, phone = ?, phone_rev = ?,
			id_number = ?, gender = ?, birth_year = ?, address = ?, district = ?, lat = ?, lng = ?, cell = ?,
			emergency_contacts = ?, preferences = ?, update_time = ? WHERE id = ?`),
			append(residentArgs(r)[1:15], micros(now), r.ID)...)
		if err != nil {
			return err
		}
		if err := s.deleteSearchKeys(ctx, tx, r.ID); err != nil {
			return err
		}
		if err := s.insertSearchKeys(ctx, tx, r.ID, r.Name, r.Phone); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "resident.update", ObjectType: "resident", ObjectID: r.ID})
	})
}

const residentSelect = `SELECT id, name, phone, id_number, gender, birth_year, address, district, lat, lng, cell,
	emergency_contacts, preferences, create_time, update_time, deactivate_reason, deactivate_time FROM residents`

func scanResident(sc interface{ Scan(...any) error }) (*carehex.Resident, error) {
	var (
		r                carehex.Resident
		gender, contacts string
		prefs            string
		cell             int64
		created, updated int64
		deactivated      int64
	)
	err := sc.Scan(&r.ID, &r.Name, &r.Phone, &r.IDNumber, &gender, &r.BirthYear, &r.Address, &r.District,
		&r.Location.Lat, &r.Location.Lng, &cell, &contacts, &prefs, &created, &updated, &r.DeactivateReason, &deactivated)
	if err != nil {
		return nil, err
	}
	r.DeactivateTime = fromMicros(deactivated)
	r.Gender, r.Cell = carehex.Gender(gender), carehex.Cell(cell)
	r.CreateTime, r.UpdateTime = fromMicros(created), fromMicros(updated)
	if r.EmergencyContacts, err = decodeContacts(contacts); err != nil {
		return nil, err
	}
	if r.Preferences, err = decodePrefs(prefs); err != nil {
		return nil, err
	}
	return &r, nil
}

// Resident returns one resident.
func (s *DB) Resident(ctx context.Context, id string) (*carehex.Resident, error) {
	r, err := scanResident(s.db.QueryRowContext(ctx, s.rebind(residentSelect+` WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "id", "no resident %q", id)
	}
	if err != nil {
		return nil, s.wrap(err, "read resident")
	}
	return r, nil
}

// isDigitQuery reports whether an operator typed (part of) a phone number.
func isDigitQuery(q string) bool {
	d := strings.TrimPrefix(q, "+")
	if d == "" {
		return false
	}
	for _, c := range []byte(d) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isIDNumberQuery reports whether q has the shape of a national ID number.
func isIDNumberQuery(q string) bool {
	if len(q) != 15 && len(q) != 18 {
		return false
	}
	for i, c := range []byte(q) {
		if c >= '0' && c <= '9' || i == len(q)-1 && (c == 'X' || c == 'x') {
			continue
		}
		return false
	}
	return true
}

// escapeLike makes the operator's text match itself only: % and _ typed into
// the search box are not wildcards.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SearchResidents is the incoming-call lookup. Digits match phone numbers
// by any run of 4 or more of their digits (prefix, middle or last digits)
// and ID numbers exactly; fewer digits are refused with a hint on "query".
// Anything else matches names by substring, and plain letters also match
// the pinyin of names: initials ("wgl" finds 王桂兰) or full pinyin from any
// syllable on ("wanggui", "guilan"). Every branch is an index lookup, so it
// stays fast at city scale.
func (s *DB) SearchResidents(ctx context.Context, f carehex.ResidentFilter) ([]*carehex.Resident, error) {
	q := carehex.Trimmed(f.Query)
	if q == "" {
		return nil, carehex.Errorf(carehex.EINVALID, "query", "query is required: a phone number, ID number or name")
	}
	if !utf8.ValidString(q) {
		return nil, carehex.Errorf(carehex.EINVALID, "query", "query is not valid UTF-8")
	}
	limit := clampLimit(f.Limit, defaultSearchLimit, maxSearchLimit)

	var (
		query string
		args  []any
	)
	switch {
	case isDigitQuery(q) && len(phoneDigits(q)) < phoneGramLen:
		// The console shows its own hint for this refusal: keep typing.
		return nil, carehex.Errorf(carehex.EINVALID, "query", "query needs at least %d digits of the phone number", phoneGramLen)
	case isDigitQuery(q) || isIDNumberQuery(q):
		query, args = s.digitSearch(q, limit)
	default:
		if utf8.RuneCountInString(q) > carehex.MaxNameLen {
			return []*carehex.Resident{}, nil // longer than any stored name
		}
		query, args = s.nameSearch(q, limit)
	}
	return queryAll(ctx, s, "search residents", scanResident, s.rebind(query), args...)
}

func (s *DB) digitSearch(q string, limit int) (string, []any) {
	var (
		subs []string
		args []any
	)
	d := phoneDigits(q)
	if isDigitQuery(q) {
		if len(d) == phoneGramLen && d == q {
			// The query is itself a stored window: the index hands the
			// first page over in name order.
			subs = append(subs, `SELECT resident_id FROM (SELECT resident_id, name FROM resident_phone_grams
				WHERE gram = ? ORDER BY name, resident_id LIMIT ?) p`)
			args = append(args, d, limit)
		} else {
			// Residents holding every window of the query are few; the LIKE
			// then checks the windows sit together, in order (and after a
			// + when the operator typed one).
			grams := queryPhoneGrams(d)
			subs = append(subs, `SELECT id FROM residents WHERE id IN (SELECT resident_id FROM resident_phone_grams
				WHERE gram IN (`+placeholders(len(grams))+`) GROUP BY resident_id HAVING COUNT(*) = ?) AND phone LIKE ?`)
			for _, g := range grams {
				args = append(args, g)
			}
			args = append(args, len(grams), "%"+q+"%") // digits and a leading + only: nothing to escape
		}
	}
	if isIDNumberQuery(q) {
		subs, args = append(subs, `SELECT id FROM residents WHERE id_number = ?`), append(args, strings.ToUpper(q))
	}
	// One indexed subquery per kind of match, joined by UNION, so neither
	// database is tempted into a scan by an OR.
	args = append(args, reverse(d), limit)
	return residentSelect + ` WHERE id IN (` + strings.Join(subs, ` UNION `) + `)
		ORDER BY CASE WHEN phone_rev = ? THEN 0 ELSE 1 END, name, id LIMIT ?`, args
}

func (s *DB) nameSearch(q string, limit int) (string, []any) {
	lc := strings.ToLower(q)
	rs := []rune(lc)
	key, isPinyin := pinyinQuery(q)
	if len(rs) <= 2 && !isPinyin {
		// The query is itself a stored piece: holding it is being a match,
		// and the index hands the first page over in name order.
		return residentSelect + ` JOIN (SELECT resident_id FROM resident_name_grams WHERE gram = ?
				ORDER BY name, resident_id LIMIT ?) g ON g.resident_id = residents.id
			ORDER BY name, id`, []any{lc, limit}
	}
	var (
		subs []string
		args []any
	)
	if len(rs) <= 2 {
		subs = append(subs, `SELECT resident_id, name FROM (SELECT resident_id, name FROM resident_name_grams
			WHERE gram = ? ORDER BY name, resident_id LIMIT ?) n`)
		args = append(args, lc, limit)
	} else {
		// Longer queries: residents holding every 2-character piece of the
		// query are few; the LIKE then checks the pieces are in the right order.
		var grams []string
		seen := map[string]bool{}
		for i := 0; i+1 < len(rs) && len(grams) < maxQueryGrams; i++ {
			// Same rule as nameGrams, which stores no all-blank pieces.
			if g := string(rs[i : i+2]); strings.TrimSpace(g) != "" && !seen[g] {
				seen[g] = true
				grams = append(grams, g)
			}
		}
		subs = append(subs, `SELECT id AS resident_id, name FROM residents WHERE id IN (SELECT resident_id FROM resident_name_grams
			WHERE gram IN (`+placeholders(len(grams))+`) GROUP BY resident_id HAVING COUNT(*) = ?)
			AND name_lc LIKE ? ESCAPE '\'`)
		for _, g := range grams {
			args = append(args, g)
		}
		args = append(args, len(grams), "%"+escapeLike(lc)+"%")
	}
	if isPinyin {
		// Initials and whole pinyin keys: one key, first page in name order.
		subs = append(subs, `SELECT resident_id, name FROM (SELECT resident_id, name FROM resident_pinyin
			WHERE pinyin = ? ORDER BY name, resident_id LIMIT ?) e`)
		args = append(args, key, limit)
		// Full pinyin typed partway ("wanggui"): a range of keys, read in
		// key order and cut at pinyinCompletions pages, so the shortest
		// completions come first and a common start ("wang", thousands of
		// keys) is never sorted whole. One or two letters are read as
		// initials and whole syllables only: as a prefix they would match a
		// fifth of the city ("li": li, lin, liu, liang…).
		if len(key) >= minPinyinPrefix {
			cond, cargs := `pinyin > ?`, []any{key}
			if upper, ok := letterUpper(key); ok {
				cond, cargs = cond+` AND pinyin < ?`, append(cargs, upper)
			}
			subs = append(subs, `SELECT resident_id, name FROM (SELECT resident_id, name FROM resident_pinyin
				WHERE `+cond+` ORDER BY pinyin, name, resident_id LIMIT ?) c`)
			args = append(append(args, cargs...), pinyinCompletions*limit)
		}
	}
	// The key tables carry the name, so the page is picked from the keys
	// alone and only its residents are read: a prefix like "wang" matches
	// thousands of keys, and reading every one of their residents to sort
	// them took over 100 ms.
	args = append(args, limit)
	return residentSelect + ` JOIN (SELECT resident_id AS page_id FROM (` + strings.Join(subs, ` UNION `) + `) u
			ORDER BY name, resident_id LIMIT ?) k ON k.page_id = residents.id
		ORDER BY name, id`, args
}

// LinkFamilyMember saves a relative of an existing resident.
func (s *DB) LinkFamilyMember(ctx context.Context, m *carehex.FamilyMember) error {
	if m == nil {
		return carehex.Errorf(carehex.EINVALID, "family_member", "family member is required")
	}
	m.Name, m.Relation = carehex.Trimmed(m.Name), carehex.Trimmed(m.Relation)
	if err := m.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	id := carehex.NewID("fam")
	err := s.inTx(ctx, "link family member", func(tx *sql.Tx) error {
		if err := s.residentExists(ctx, tx, m.ResidentID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO family_members
			(id, resident_id, name, phone, relation, create_time) VALUES (?, ?, ?, ?, ?, ?)`),
			id, m.ResidentID, m.Name, m.Phone, m.Relation, micros(now)); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "family.link", ObjectType: "resident",
			ObjectID: m.ResidentID, Detail: id})
	})
	if err != nil {
		return err
	}
	m.ID, m.CreateTime = id, now
	return nil
}

// residentExists answers ENOTFOUND naming resident_id, the field the caller
// filled in.
func (s *DB) residentExists(ctx context.Context, q querier, id string) error {
	var one int
	err := q.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM residents WHERE id = ?`), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return carehex.Errorf(carehex.ENOTFOUND, "resident_id", "no resident %q", id)
	}
	return err
}

// FamilyMembers lists the relatives linked to a resident, oldest link first.
func (s *DB) FamilyMembers(ctx context.Context, residentID string) ([]*carehex.FamilyMember, error) {
	return queryAll(ctx, s, "list family members", func(sc interface{ Scan(...any) error }) (*carehex.FamilyMember, error) {
		var m carehex.FamilyMember
		var created int64
		err := sc.Scan(&m.ID, &m.ResidentID, &m.Name, &m.Phone, &m.Relation, &created)
		m.CreateTime = fromMicros(created)
		return &m, err
	}, s.rebind(`SELECT id, resident_id, name, phone, relation, create_time
		FROM family_members WHERE resident_id = ? ORDER BY create_time, id`), residentID)
}
