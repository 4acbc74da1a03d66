package sqlstore

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/carehex/carehex"
)

func TestPinyinKeys(t *testing.T) {
	tests := []struct {
		name string
		want []string // must all be among the keys
		not  []string
	}{
		{"王桂兰", []string{"w", "g", "l", "wg", "gl", "wgl", "wangguilan", "guilan", "lan", "wang", "gui"}, []string{"wl", "wanggui", "wa"}},
		{"单明", []string{"dm", "sm", "danming", "shanming"}, nil}, // 多音字: both readings of the surname
		{"Ann Lee", nil, []string{"ann", "a"}},                   // no Han characters, no pinyin keys
		{"欧阳·明", []string{"oym", "ouyangming"}, nil},             // the separator is skipped
	}
	for _, tt := range tests {
		got := pinyinKeys(tt.name)
		for _, k := range tt.want {
			if !slices.Contains(got, k) {
				t.Errorf("pinyinKeys(%q) = %q, missing %q", tt.name, got, k)
			}
		}
		for _, k := range tt.not {
			if slices.Contains(got, k) {
				t.Errorf("pinyinKeys(%q) = %q, should not hold %q", tt.name, got, k)
			}
		}
	}
	// A name of many characters with several readings stays bounded.
	if n := len(pinyinKeys("长长长长长长长长长长")); n > maxPinyinReadings*(55+10) {
		t.Errorf("pinyinKeys of a long heteronym name = %d keys", n)
	}
}

func TestPhoneGrams(t *testing.T) {
	if got, want := phoneGrams("+8613800000000"), []string{"8613", "6138", "1380", "3800", "8000", "0000"}; !slices.Equal(got, want) {
		t.Errorf("phoneGrams = %q, want %q (distinct, + dropped)", got, want)
	}
	if got, want := queryPhoneGrams("13905330001"), []string{"1390", "5330", "0001"}; !slices.Equal(got, want) {
		t.Errorf("queryPhoneGrams = %q, want %q (covering, few)", got, want)
	}
}

// TestSearchKeysBackfill: residents saved before the phone windows and
// pinyin keys existed get them when the store next opens.
func TestSearchKeysBackfill(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			dsn := d.dsn(t)
			if d.name == DialectSQLite {
				dsn = filepath.Join(t.TempDir(), "carehex.db")
			}
			e := openEnv(t, dsn)
			ctx := opCtx()
			var rs []*carehex.Resident
			for i := range 1203 { // more than one batch
				rs = append(rs, resident("王桂兰", "1390533"+string(rune('0'+i%10))+"000"))
			}
			if err := e.ImportResidents(ctx, rs); err != nil {
				t.Fatalf("ImportResidents: %v", err)
			}
			// Make them look like rows of a database from before migration 00010.
			for _, q := range []string{"DELETE FROM resident_phone_grams", "DELETE FROM resident_pinyin", "UPDATE residents SET search_keys = 0"} {
				if _, err := e.db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if got, err := e.SearchResidents(ctx, carehex.ResidentFilter{Query: "wgl"}); err != nil || len(got) != 0 {
				t.Fatalf("before the backfill wgl found %d, %v", len(got), err)
			}
			e.Close()

			// Two replicas start at once on the upgraded database: both open.
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					db, err := Open(context.Background(), dsn, e.clock.Now)
					if err == nil {
						err = db.Close()
					}
					errs[i] = err
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("replica %d failed to open during the backfill: %v", i, err)
				}
			}

			e = openEnv(t, dsn)
			got, err := e.SearchResidents(ctx, carehex.ResidentFilter{Query: "wgl", Limit: 100})
			if err != nil || len(got) != 100 {
				t.Errorf("after the backfill wgl found %d, %v", len(got), err)
			}
			got, err = e.SearchResidents(ctx, carehex.ResidentFilter{Query: "05337000", Limit: 100})
			if err != nil || len(got) != 100 {
				t.Errorf("after the backfill a middle run found %d, %v", len(got), err)
			}
			var left int
			if err := e.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM residents WHERE search_keys < 1").Scan(&left); err != nil || left != 0 {
				t.Errorf("residents without keys after the backfill = %d, %v", left, err)
			}
		})
	}
}
