package sqlstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/carehex/carehex"
)

// ID numbers are kept encrypted at rest (docs/PRIVACY.md): residents.id_number
// holds "enc:v1:<key id>:<base64 of nonce ‖ AES-256-GCM ciphertext>" and
// residents.id_number_hash an HMAC-SHA256 of the number, so an exact lookup
// (the hotline's search, the one-record-per-person check) is an indexed
// equality without decrypting anything. The key id is the first 8 hex
// digits of SHA-256 of the key, so a ciphertext says which key opens it and
// keys can be rotated: CAREHEX_DATA_KEY lists keys, the first encrypts,
// all decrypt, and opening the store re-encrypts rows under the others.

const encPrefix = "enc:v1:"

// DataKeys is the keyring for personal data at rest. The zero value is not
// usable; build it with ParseDataKeys.
type DataKeys struct {
	keys   []*dataKey // keys[0] encrypts
	byID   map[string]*dataKey
	source string // where the keys came from, for the operator
}

type dataKey struct {
	id   string
	aead cipher.AEAD
	mac  []byte // HMAC key for lookups, derived so it differs from the cipher key
}

// ParseDataKeys reads CAREHEX_DATA_KEY: one or more base64-encoded 32-byte
// keys separated by commas, the first being the one that encrypts.
func ParseDataKeys(spec string) (*DataKeys, error) {
	k := &DataKeys{byID: map[string]*dataKey{}, source: "CAREHEX_DATA_KEY"}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		raw, err := base64.StdEncoding.DecodeString(part)
		if err != nil || len(raw) != 32 {
			return nil, carehex.Errorf(carehex.EINVALID, "CAREHEX_DATA_KEY",
				"CAREHEX_DATA_KEY key %d is not 32 bytes in base64 (make one with: head -c32 /dev/urandom | base64)", i+1)
		}
		dk, err := newDataKey(raw)
		if err != nil {
			return nil, err
		}
		if k.byID[dk.id] == nil {
			k.keys = append(k.keys, dk)
			k.byID[dk.id] = dk
		}
	}
	return k, nil
}

func newDataKey(raw []byte) (*dataKey, error) {
	sum := sha256.Sum256(raw)
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, raw)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("carehex data key: encrypt"))
	if err != nil {
		return nil, carehex.Internal(err, "data key")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, carehex.Internal(err, "data key")
	}
	return &dataKey{id: hex.EncodeToString(sum[:4]), aead: aead, mac: derive("carehex data key: lookup")}, nil
}

// NewDataKey returns a fresh random key as CAREHEX_DATA_KEY spells it.
func NewDataKey() string {
	raw := make([]byte, 32)
	rand.Read(raw) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(raw)
}

// Source says where the keys came from: CAREHEX_DATA_KEY, a key file, or
// the database itself.
func (k *DataKeys) Source() string { return k.source }

// CurrentID is the id of the key that encrypts.
func (k *DataKeys) CurrentID() string { return k.keys[0].id }

// seal encrypts v under the current key; "" stays "".
func (k *DataKeys) seal(v string) string {
	if v == "" {
		return ""
	}
	dk := k.keys[0]
	nonce := make([]byte, dk.aead.NonceSize())
	rand.Read(nonce)
	ct := dk.aead.Seal(nonce, nonce, []byte(v), []byte(dk.id))
	return encPrefix + dk.id + ":" + base64.RawStdEncoding.EncodeToString(ct)
}

// open decrypts what seal wrote. A value without the prefix was written
// before encryption and is returned as it is (opening the store encrypts
// such rows).
func (k *DataKeys) open(v string) (string, error) {
	if !strings.HasPrefix(v, encPrefix) {
		return v, nil
	}
	id, body, ok := strings.Cut(v[len(encPrefix):], ":")
	dk := k.byID[id]
	if !ok || dk == nil {
		return "", carehex.Errorf(carehex.EINTERNAL, "CAREHEX_DATA_KEY",
			"an ID number is encrypted with data key %s, which CAREHEX_DATA_KEY (%s) does not hold: wrong or missing key", id, k.source)
	}
	ct, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(ct) < dk.aead.NonceSize() {
		return "", carehex.Errorf(carehex.EINTERNAL, "id_number", "an encrypted ID number is damaged")
	}
	plain, err := dk.aead.Open(nil, ct[:dk.aead.NonceSize()], ct[dk.aead.NonceSize():], []byte(id))
	if err != nil {
		return "", carehex.Errorf(carehex.EINTERNAL, "CAREHEX_DATA_KEY", "an ID number under data key %s does not decrypt: wrong key or damaged row", id)
	}
	return string(plain), nil
}

// hash is the lookup hash of v under the current key; "" stays "".
func (k *DataKeys) hash(v string) string {
	if v == "" {
		return ""
	}
	return k.keys[0].hashOf(v)
}

func (dk *dataKey) hashOf(v string) string {
	m := hmac.New(sha256.New, dk.mac)
	m.Write([]byte(v))
	return dk.id + ":" + hex.EncodeToString(m.Sum(nil))
}

// lookups are v's hashes under every key: rows not yet re-encrypted after a
// rotation still carry an older key's hash.
func (k *DataKeys) lookups(v string) []any {
	out := make([]any, len(k.keys))
	for i, dk := range k.keys {
		out[i] = dk.hashOf(v)
	}
	return out
}

// DataKeyFile is the key file carehex writes beside a SQLite database when
// CAREHEX_DATA_KEY is not set.
const DataKeyFile = "data.key"

// loadDataKeys finds the keyring when the caller gave none: the key file
// beside a SQLite database (created 0600 with a fresh key if missing), or on
// PostgreSQL a key kept in the database itself, which protects only copies
// of the residents table taken without it, so the log says to set
// CAREHEX_DATA_KEY.
func (s *DB) loadDataKeys(ctx context.Context, dsn string) (*DataKeys, error) {
	if s.dialect == DialectSQLite {
		path := filepath.Join(filepath.Dir(dsn), DataKeyFile)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			b = []byte(NewDataKey() + "\n")
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, carehex.Internal(err, "create data key file")
			}
			_, err = f.Write(b)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, carehex.Internal(err, "write data key file")
			}
			s.keyCreated = true
		} else if err != nil {
			return nil, carehex.Internal(err, "read data key file")
		}
		k, err := ParseDataKeys(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("data key file %s: %w", path, err)
		}
		k.source = "key file " + path
		return k, nil
	}
	key := NewDataKey()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO data_key_fallback (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, key); err != nil {
		return nil, s.wrap(err, "store fallback data key")
	}
	if err := s.db.QueryRowContext(ctx, `SELECT key FROM data_key_fallback WHERE id = 1`).Scan(&key); err != nil {
		return nil, s.wrap(err, "read fallback data key")
	}
	k, err := ParseDataKeys(key)
	if err != nil {
		return nil, err
	}
	k.source = "a key kept in the database (set CAREHEX_DATA_KEY)"
	return k, nil
}

// encryptIDNumbers brings every stored ID number under the current key:
// rows written before encryption, and rows under an older key after a
// rotation. It refuses to start if any row is under a key the keyring
// lacks, so a wrong CAREHEX_DATA_KEY stops the server at once instead of
// failing lookups later. Replicas may run it at once: each row's update is
// conditional on the value it read.
func (s *DB) encryptIDNumbers(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT DISTINCT substr(id_number, 1, ?) FROM residents
		WHERE id_number LIKE 'enc:%'`), len(encPrefix)+8)
	if err != nil {
		return 0, s.wrap(err, "read data key ids")
	}
	var unknown []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return 0, s.wrap(err, "read data key ids")
		}
		if id := strings.TrimPrefix(p, encPrefix); s.keys.byID[id] == nil {
			unknown = append(unknown, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.wrap(err, "read data key ids")
	}
	if len(unknown) > 0 {
		return 0, carehex.Errorf(carehex.EINVALID, "CAREHEX_DATA_KEY",
			"ID numbers in the database are encrypted with data key %s, which %s does not hold: wrong key (keep the old key after the new one in CAREHEX_DATA_KEY until rotation is done)",
			strings.Join(unknown, ", "), s.keys.source)
	}
	current := encPrefix + s.keys.CurrentID() + ":%"
	n := 0
	for {
		type row struct{ id, num string }
		var batch []row
		rs, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, id_number FROM residents
			WHERE id_number <> '' AND id_number NOT LIKE ? ORDER BY id LIMIT 1000`), current)
		if err != nil {
			return n, s.wrap(err, "read ID numbers to encrypt")
		}
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.id, &r.num); err != nil {
				rs.Close()
				return n, s.wrap(err, "read ID numbers to encrypt")
			}
			batch = append(batch, r)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return n, s.wrap(err, "read ID numbers to encrypt")
		}
		if len(batch) == 0 {
			return n, nil
		}
		err = s.inTx(ctx, "encrypt ID numbers", func(tx *sql.Tx) error {
			for _, r := range batch {
				plain, err := s.keys.open(r.num)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE residents SET id_number = ?, id_number_hash = ?
					WHERE id = ? AND id_number = ?`), s.keys.seal(plain), s.keys.hash(plain), r.id, r.num); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += len(batch)
	}
}

// DataKeySource says where the store's data keys came from, and whether
// the key was generated just now (a new key file).
func (s *DB) DataKeySource() (string, bool) { return s.keys.source, s.keyCreated }
