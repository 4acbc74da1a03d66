package sqlstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carehex/carehex"
)

// TestIDNumberEncrypted checks, on both databases, that an ID number is
// stored neither in the rows nor (SQLite) anywhere in the files in clear,
// that lookups by it still work, that rows written in clear before
// encryption are encrypted on open, that a rotation re-encrypts under the
// new key, and that a wrong key stops Open with an error saying so.
func TestIDNumberEncrypted(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			ctx := opCtx()
			dsn := d.dsn(t)
			oldKey, newKey := NewDataKey(), NewDataKey()
			keys := func(spec string) Option {
				t.Helper()
				k, err := ParseDataKeys(spec)
				if err != nil {
					t.Fatal(err)
				}
				return WithDataKeys(k)
			}
			s, err := Open(context.Background(), dsn, nil, keys(oldKey))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SyncCatalog(ctx, testCatalog()); err != nil {
				t.Fatal(err)
			}
			const num, other = "37030319450312007X", "370303194503120029"
			r := resident("张桂兰", "13905330001")
			r.IDNumber = num
			if err := s.CreateResident(ctx, r); err != nil {
				t.Fatal(err)
			}
			r2 := resident("王伟", "13905330002")
			if err := s.CreateResident(ctx, r2); err != nil {
				t.Fatal(err)
			}
			rawRow := func(s *DB, id string) (string, string) {
				t.Helper()
				var enc, hash string
				if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT id_number, id_number_hash FROM residents WHERE id = ?`), id).Scan(&enc, &hash); err != nil {
					t.Fatal(err)
				}
				return enc, hash
			}
			enc, hash := rawRow(s, r.ID)
			if strings.Contains(enc, "194503") || strings.Contains(hash, "194503") || !strings.HasPrefix(enc, "enc:v1:") || hash == "" {
				t.Fatalf("stored id_number %q, hash %q: want ciphertext and a keyed hash", enc, hash)
			}
			found := func(s *DB, q, want string) {
				t.Helper()
				got, err := s.SearchResidents(ctx, carehex.ResidentFilter{Query: q})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].ID != want || got[0].IDNumber == "" {
					t.Fatalf("search %s = %v, want resident %s with its number", q, got, want)
				}
			}
			found(s, num, r.ID)
			found(s, strings.ToLower(num), r.ID)
			if got, err := s.Resident(ctx, r.ID); err != nil || got.IDNumber != num {
				t.Fatalf("Resident = %v, %v: want the number decrypted", got, err)
			}
			// The one-record-per-person check reads the hash.
			dup := resident("张贵兰", "13905330003")
			dup.IDNumber = num
			if err := s.CreateResident(ctx, dup); carehex.ErrorCode(err) != carehex.EEXISTS {
				t.Fatalf("duplicate ID number: err %v, want already_exists", err)
			}
			// A row as an older carehex left it: in clear, no hash.
			if _, err := s.db.ExecContext(ctx, s.rebind(`UPDATE residents SET id_number = ?, id_number_hash = '' WHERE id = ?`), other, r2.ID); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if d.name == DialectSQLite {
				for _, p := range []string{dsn, dsn + "-wal"} {
					b, _ := os.ReadFile(p)
					if bytes.Contains(b, []byte(num)) {
						t.Errorf("%s holds the ID number in clear", filepath.Base(p))
					}
				}
			}

			// Rotation: the new key first, the old one after it.
			s, err = Open(context.Background(), dsn, nil, keys(newKey+","+oldKey))
			if err != nil {
				t.Fatal(err)
			}
			newID := s.keys.CurrentID()
			for _, id := range []string{r.ID, r2.ID} {
				enc, hash := rawRow(s, id)
				if !strings.HasPrefix(enc, "enc:v1:"+newID+":") || !strings.HasPrefix(hash, newID+":") {
					t.Errorf("resident %s after rotation: %q / %q, want both under key %s", id, enc, hash, newID)
				}
			}
			found(s, other, r2.ID)
			s.Close()

			// The old key dropped: still opens. A wrong key: refused.
			s, err = Open(context.Background(), dsn, nil, keys(newKey))
			if err != nil {
				t.Fatalf("open with the new key only: %v", err)
			}
			found(s, num, r.ID)
			s.Close()
			_, err = Open(context.Background(), dsn, nil, keys(oldKey))
			if err == nil || !strings.Contains(err.Error(), "wrong key") || !strings.Contains(err.Error(), newID) {
				t.Fatalf("open with a wrong key: err %v, want one saying wrong key and naming key %s", err, newID)
			}
		})
	}
}

func TestParseDataKeys(t *testing.T) {
	for _, spec := range []string{"", "not base64!", "c2hvcnQ=", NewDataKey() + ",short"} {
		if _, err := ParseDataKeys(spec); carehex.ErrorField(err) != "CAREHEX_DATA_KEY" {
			t.Errorf("%q: err %v, want one naming CAREHEX_DATA_KEY", spec, err)
		}
	}
}

// TestDataKeyFile checks that a SQLite store opened without a key writes
// one beside the database, private to the account, and uses it again.
func TestDataKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	dsn := filepath.Join(dir, "carehex.db")
	s, err := Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, created := s.DataKeySource()
	s.Close()
	fi, err := os.Stat(filepath.Join(dir, DataKeyFile))
	if err != nil || !created || !strings.Contains(src, DataKeyFile) {
		t.Fatalf("key file: %v, created %v, source %q", err, created, src)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %#o, want 0600", fi.Mode().Perm())
	}
	s, err = Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, created := s.DataKeySource(); created {
		t.Error("a second open made a new key")
	}
}
