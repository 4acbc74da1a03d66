package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"unicode"

	"github.com/carehex/carehex"
	"github.com/mozillazg/go-pinyin"
)

// The incoming-call lookup's keys beside the name pieces of
// resident_name_grams: every 4-digit window of the phone number (so any run
// of 4 or more digits finds the number, wherever it sits) and the pinyin keys
// of the name (so "wgl" and "wangguilan" find 王桂兰). All are written with
// the resident and rewritten when it changes; residents saved before these
// keys existed get them when the store opens (backfillSearchKeys).

const (
	// phoneGramLen is the window of resident_phone_grams and the fewest
	// digits a phone search takes: fewer would list half the city.
	phoneGramLen = 4
	// maxPinyinReadings bounds the readings of one name whose characters
	// have several (多音字: 单 dan/shan, 曾 ceng/zeng), so a name of many
	// such characters cannot write hundreds of keys.
	maxPinyinReadings = 8
	// minPinyinPrefix is the fewest letters also read as the start of full
	// pinyin; shorter queries match initials and whole keys only.
	minPinyinPrefix = 3
	// pinyinCompletions is how many pages of keys a partial pinyin query
	// reads, shortest completions first; typing on narrows the rest.
	pinyinCompletions = 10
	// searchKeysVersion is stored in residents.search_keys once a resident's
	// keys are written; raise it when the keys change shape and the next
	// start rewrites them.
	searchKeysVersion = 1
	// backfillLockKey names the PostgreSQL advisory lock of the backfill.
	backfillLockKey = 0x6361726568657831 // "carehex1"
)

// phoneGrams returns the distinct 4-digit windows of a phone number's digits.
func phoneGrams(phone string) []string {
	d := phoneDigits(phone)
	seen := map[string]bool{}
	var out []string
	for i := 0; i+phoneGramLen <= len(d); i++ {
		if g := d[i : i+phoneGramLen]; !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// queryPhoneGrams picks windows of the digits d (at least phoneGramLen
// long) that together cover all of it: every 4th window and the last one.
// Fewer probes than all windows, and any resident holding them all is
// checked by a LIKE on the whole number anyway.
func queryPhoneGrams(d string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(g string) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	for i := 0; i+phoneGramLen <= len(d) && len(out) < maxQueryGrams; i += phoneGramLen {
		add(d[i : i+phoneGramLen])
	}
	add(d[len(d)-phoneGramLen:])
	return out
}

var pinyinArgs = func() pinyin.Args {
	a := pinyin.NewArgs() // Normal style: lower case, no tones
	a.Heteronym = true
	return a
}()

// nameReadings returns the pinyin readings of the Han characters of a name,
// one syllable list per reading, the most common reading first. Other
// characters (Latin letters, digits, ·) have no pinyin and are left out; the
// name pieces find those.
func nameReadings(name string) [][]string {
	readings := [][]string{nil}
	for _, r := range name {
		if !unicode.Is(unicode.Han, r) {
			continue
		}
		syl := pinyin.SinglePinyin(r, pinyinArgs)
		if len(syl) == 0 {
			continue
		}
		var next [][]string
		// This character's other readings come after every reading so far,
		// so the surname's (the first character's) survive the bound.
		for _, s := range syl {
			for _, rd := range readings {
				if len(next) == maxPinyinReadings {
					break
				}
				next = append(next, append(append([]string(nil), rd...), s))
			}
		}
		readings = next
	}
	if len(readings[0]) == 0 {
		return nil
	}
	return readings
}

// pinyinKeys returns the distinct keys of resident_pinyin for a name: every
// run of the syllables' initials (王桂兰: w, g, l, wg, gl, wgl), so an
// operator may type the whole name's initials or the given name's; each
// syllable (wang, gui, lan); and the full pinyin from each syllable on
// (wangguilan, guilan, lan), which a prefix range finds as the operator
// types "wanggui".
func pinyinKeys(name string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, syl := range nameReadings(name) {
		var initials strings.Builder
		for _, s := range syl {
			initials.WriteByte(s[0])
		}
		in := initials.String()
		for i := range len(in) {
			for j := i + 1; j <= len(in); j++ {
				add(in[i:j])
			}
		}
		for i := range syl {
			add(strings.Join(syl[i:], ""))
			// Each syllable alone too: "ma" finds 马 by an exact key, in
			// name order, where a two-letter prefix range is not tried.
			add(syl[i])
		}
	}
	return out
}

// pinyinQuery returns what the operator typed as a pinyin key: lower-case
// letters a–z with spaces dropped ("Wang Gui" → "wanggui"); ok is false for
// anything else, which is no pinyin.
func pinyinQuery(q string) (key string, ok bool) {
	var b strings.Builder
	for _, c := range strings.ToLower(q) {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c)
		case c == ' ':
		default:
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}

// letterUpper returns the smallest string of letters a–z greater than every
// string that starts with p: "wan" → "wao", "waz" → "wb". ok is false for
// all z's. Like prefixUpper, carrying keeps the bound valid under any
// collation, since every key is plain lower-case letters.
func letterUpper(p string) (upper string, ok bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 'z' {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// insertSearchKeys writes the name pieces, phone windows and pinyin keys of
// one resident and marks its keys current.
func (s *DB) insertSearchKeys(ctx context.Context, q querier, id, name, phone string) error {
	if err := s.insertNameGrams(ctx, q, id, name); err != nil {
		return err
	}
	if err := s.insertKeyRows(ctx, q, "resident_phone_grams", "gram", phoneGrams(phone), name, id); err != nil {
		return err
	}
	if err := s.insertKeyRows(ctx, q, "resident_pinyin", "pinyin", pinyinKeys(name), name, id); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, s.rebind(`UPDATE residents SET search_keys = ? WHERE id = ?`), searchKeysVersion, id)
	return err
}

// deleteSearchKeys removes every search key of one resident.
func (s *DB) deleteSearchKeys(ctx context.Context, q querier, id string) error {
	for _, t := range keyTables {
		if _, err := q.ExecContext(ctx, s.rebind(`DELETE FROM `+t.table+` WHERE resident_id = ?`), id); err != nil {
			return err
		}
	}
	return nil
}

// insertKeyRows writes (key, name, resident_id) rows into one of the key
// tables; table and column are constants of this file.
func (s *DB) insertKeyRows(ctx context.Context, q querier, table, col string, keys []string, name, id string) error {
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(keys))
	for _, k := range keys {
		args = append(args, k, name, id)
	}
	_, err := q.ExecContext(ctx, s.rebind(`INSERT INTO `+table+` (`+col+`, name, resident_id) VALUES `+
		repeatRow("(?, ?, ?)", len(keys))), args...)
	return err
}

// backfillSearchKeys writes the phone windows and pinyin keys of residents
// saved before they existed (or under an older searchKeysVersion), a batch
// per transaction, so an upgraded database finds its old residents the new
// ways. Once done it costs one indexed query per start.
func (s *DB) backfillSearchKeys(ctx context.Context) error {
	const batch = 500
	for {
		type row struct{ id, name, phone string }
		var todo []row
		err := s.inTx(ctx, "backfill search keys", func(tx *sql.Tx) error {
			if s.dialect == DialectPostgres {
				// Replicas starting together take turns, so two never
				// rewrite the same resident's keys at once (SQLite's
				// immediate transactions already run one at a time).
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, backfillLockKey); err != nil {
					return err
				}
			}
			rs, err := tx.QueryContext(ctx, s.rebind(`SELECT id, name, phone FROM residents
				WHERE search_keys < ? ORDER BY search_keys, id LIMIT ?`), searchKeysVersion, batch)
			if err != nil {
				return err
			}
			todo = todo[:0]
			for rs.Next() {
				var r row
				if err := rs.Scan(&r.id, &r.name, &r.phone); err != nil {
					rs.Close()
					return err
				}
				todo = append(todo, r)
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return err
			}
			for _, r := range todo {
				if err := s.deleteSearchKeys(ctx, tx, r.id); err != nil {
					return err
				}
				if err := s.insertSearchKeys(ctx, tx, r.id, r.name, r.phone); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(todo) < batch {
			return nil
		}
	}
}

// keyTables are the search-key tables and their key columns, in the order
// a keyBatch holds them.
var keyTables = [3]struct{ table, col string }{
	{"resident_name_grams", "gram"}, {"resident_phone_grams", "gram"}, {"resident_pinyin", "pinyin"},
}

// keyBatch gathers the search-key rows of many residents for a bulk import:
// per key table, flattened (key, name, resident_id) rows.
type keyBatch [3][]any

func (b *keyBatch) add(r *carehex.Resident) {
	for i, keys := range [3][]string{nameGrams(strings.ToLower(r.Name)), phoneGrams(r.Phone), pinyinKeys(r.Name)} {
		for _, k := range keys {
			b[i] = append(b[i], k, r.Name, r.ID)
		}
	}
}

// insertKeyBatch writes a batch, at most rowsPerStmt rows per statement.
func (s *DB) insertKeyBatch(ctx context.Context, q querier, b *keyBatch, rowsPerStmt int) error {
	for i, args := range b {
		rows := len(args) / 3
		for g := 0; g < rows; g += rowsPerStmt {
			n := min(rowsPerStmt, rows-g)
			if _, err := q.ExecContext(ctx, s.rebind(`INSERT INTO `+keyTables[i].table+` (`+keyTables[i].col+
				`, name, resident_id) VALUES `+repeatRow("(?, ?, ?)", n)), args[3*g:3*(g+n)]...); err != nil {
				return err
			}
		}
	}
	return nil
}
