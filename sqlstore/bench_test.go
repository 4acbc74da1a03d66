package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// benchResidents is the size of the city the incoming-call lookup must
// answer for in well under 50 ms.
const benchResidents = 100_000

// Common surnames, most frequent first, and characters common in the given
// names of people now in their seventies and eighties.
var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍申尤毕聂柴焦向柳邢岳齐沿梅莫庄辛管祝左涂谷祁时舒耿牟卜路詹关苗凌费纪靳盛童欧甄项曲成游阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮桂闵欧阳解强丛华车冉房边")
	givenChars = []rune("桂兰英秀华珍芳玉凤淑琴美荣云霞红梅丽娟明国建军伟强志文德成福贵海平长春金林宝山树庆永生友忠民学")
)

// cityResidents makes n plausible residents around Zibo, the same for every run.
func cityResidents(n int) []*carehex.Resident {
	rng := rand.New(rand.NewPCG(12349, 1))
	out := make([]*carehex.Resident, n)
	for i := range out {
		// Zipf-like surnames: a few are very common, as in life.
		sn := surnames[min(int(rng.ExpFloat64()*12), len(surnames)-1)]
		name := []rune{sn, givenChars[rng.IntN(len(givenChars))]}
		if rng.IntN(3) > 0 {
			name = append(name, givenChars[rng.IntN(len(givenChars))])
		}
		r := &carehex.Resident{
			Name:     string(name),
			Phone:    fmt.Sprintf("1%d%09d", 3+rng.IntN(7), rng.IntN(1_000_000_000)),
			Address:  fmt.Sprintf("张店区华光路%d号%d单元", 1+rng.IntN(300), 1+rng.IntN(6)),
			District: "张店区",
			Location: carehex.LatLng{Lat: 36.75 + rng.Float64()*0.15, Lng: 117.95 + rng.Float64()*0.2},
		}
		if rng.IntN(2) == 0 {
			// Birth date and serial come from the resident's index, so no
			// two share a number (ID numbers are unique among residents).
			born := time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000)
			first17 := fmt.Sprintf("370303%s%03d", born.Format("20060102"), i%1000)
			r.IDNumber = first17 + string(carehex.IDCheckDigit(first17))
		}
		out[i] = r
	}
	return out
}

// BenchmarkSearchResidents measures the incoming-call lookup over 100,000
// residents on each database:
//
//	eval "$(scripts/test-servers.sh start)"
//	go test -run '^$' -bench SearchResidents -benchtime 2s ./sqlstore/
func BenchmarkSearchResidents(b *testing.B) {
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			e := openEnv(b, d.dsn(b))
			rs := cityResidents(benchResidents)
			start := time.Now()
			if err := e.ImportResidents(context.Background(), rs); err != nil {
				b.Fatalf("ImportResidents: %v", err)
			}
			b.Logf("%s: loaded %d residents in %v", d.name, len(rs), time.Since(start).Round(time.Millisecond))

			// Look up residents who are in the city, as a real caller would be.
			targets := rs[:0:0]
			for i := 0; i < len(rs) && len(targets) < 200; i += 97 {
				if rs[i].IDNumber != "" && len([]rune(rs[i].Name)) == 3 {
					targets = append(targets, rs[i])
				}
			}
			queries := map[string]func(r *carehex.Resident) string{
				"phone_suffix4": func(r *carehex.Resident) string { return r.Phone[len(r.Phone)-4:] },
				"phone_full":    func(r *carehex.Resident) string { return r.Phone },
				// Any run of 4+ digits: the middle of the number, and its start.
				"phone_middle4": func(r *carehex.Resident) string { return r.Phone[4:8] },
				"phone_middle6": func(r *carehex.Resident) string { return r.Phone[3:9] },
				"phone_prefix7": func(r *carehex.Resident) string { return r.Phone[:7] },
				// Pinyin: the initials operators type ("wgl" for 王桂兰), and
				// full pinyin typed partway (a prefix range over the keys).
				"pinyin_initials": func(r *carehex.Resident) string { return pinyinInitials(r.Name) },
				"pinyin_full":     func(r *carehex.Resident) string { return pinyinFull(r.Name) },
				"pinyin_surname":  func(r *carehex.Resident) string { return pinyinFull(string([]rune(r.Name)[:1])) },
				"name_substring":  func(r *carehex.Resident) string { return string([]rune(r.Name)[1:]) },
				"id_number":       func(r *carehex.Resident) string { return r.IDNumber },
				// Three characters and more take the other path: intersect the pieces, then LIKE.
				"name_full": func(r *carehex.Resident) string { return r.Name },
				// The worst case: one common character, thousands of candidates.
				"name_one_char": func(r *carehex.Resident) string { return string([]rune(r.Name)[:1]) },
			}
			for _, name := range []string{"phone_suffix4", "phone_full", "phone_middle4", "phone_middle6", "phone_prefix7",
				"name_substring", "id_number", "name_full", "name_one_char", "pinyin_initials", "pinyin_full", "pinyin_surname"} {
				query := queries[name]
				b.Run(name, func(b *testing.B) {
					ctx := context.Background()
					found := 0
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						got, err := e.SearchResidents(ctx, carehex.ResidentFilter{Query: query(targets[i%len(targets)])})
						if err != nil {
							b.Fatal(err)
						}
						if len(got) == 0 {
							b.Fatalf("%s: nothing found for %q", name, query(targets[i%len(targets)]))
						}
						found += len(got)
					}
					b.ReportMetric(float64(found)/float64(b.N), "results/op")
				})
			}
		})
	}
}

// pinyinInitials and pinyinFull spell a name as an operator would type it,
// from its most common reading.
func pinyinInitials(name string) string {
	var b []byte
	for _, s := range nameReadings(name)[0] {
		b = append(b, s[0])
	}
	return string(b)
}

func pinyinFull(name string) string { return strings.Join(nameReadings(name)[0], "") }
