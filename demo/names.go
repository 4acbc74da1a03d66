package demo

import (
	"math/rand/v2"

	"github.com/carehex/carehex"
)

// weighted is a string with a relative frequency.
type weighted struct {
	s string
	w int
}

// pick draws one entry by weight.
func pick(rng *rand.Rand, list []weighted) string {
	total := 0
	for _, e := range list {
		total += e.w
	}
	n := rng.IntN(total)
	for _, e := range list {
		if n < e.w {
			return e.s
		}
		n -= e.w
	}
	return list[len(list)-1].s
}

// surnames, weighted roughly by their frequency in Shandong, where 王, 张,
// 李 and 刘 between them cover about a third of people. 蒲 and 毕 are for
// local colour (Zichuan is Pu Songling's home town).
var surnames = []weighted{
	{"王", 90}, {"张", 80}, {"李", 80}, {"刘", 60}, {"陈", 25}, {"杨", 25}, {"赵", 30}, {"孙", 35},
	{"黄", 12}, {"周", 15}, {"吴", 12}, {"徐", 20}, {"马", 18}, {"朱", 15}, {"胡", 10}, {"郭", 15},
	{"高", 20}, {"林", 8}, {"何", 8}, {"韩", 15}, {"于", 18}, {"宋", 15}, {"田", 12}, {"崔", 10},
	{"邢", 6}, {"翟", 6}, {"毕", 6}, {"房", 5}, {"蒲", 3}, {"袁", 6}, {"董", 10}, {"曹", 10},
	{"魏", 8}, {"石", 8}, {"冯", 8}, {"姜", 10}, {"路", 4}, {"边", 3}, {"司", 3}, {"岳", 5},
}

// Given names of people born 1930–1960. Women of that generation were named
// for virtue, flowers and jade (秀英, 桂兰, 玉珍), so a few names recur very
// often, as they do on any real list of residents.
var elderFemale = []weighted{
	{"秀英", 14}, {"桂兰", 13}, {"玉兰", 12}, {"淑珍", 11}, {"凤英", 10}, {"桂英", 10}, {"秀兰", 10},
	{"玉珍", 14}, {"淑英", 12}, {"桂芝", 12}, {"秀珍", 12}, {"凤兰", 10}, {"玉梅", 10}, {"桂荣", 8},
	{"秀芳", 8}, {"兰英", 8}, {"翠兰", 8}, {"玉英", 8}, {"素珍", 6}, {"淑兰", 6}, {"春花", 5},
	{"金花", 4}, {"秀云", 6}, {"玉芝", 5}, {"桂香", 6}, {"凤琴", 5}, {"秀荣", 5}, {"素英", 4},
	{"英", 6}, {"兰", 5}, {"芳", 4}, {"霞", 3}, {"珍", 3},
}

var elderMale = []weighted{
	{"德胜", 10}, {"国华", 10}, {"建华", 10}, {"志强", 8}, {"德明", 8}, {"文华", 8}, {"振华", 8},
	{"永和", 6}, {"长海", 6}, {"宝山", 6}, {"福贵", 5}, {"德福", 6}, {"金生", 5}, {"志刚", 6},
	{"学文", 5}, {"玉山", 5}, {"树林", 6}, {"洪亮", 4}, {"广田", 4}, {"春生", 5}, {"明山", 4},
	{"庆祥", 4}, {"立本", 3}, {"守信", 3}, {"传福", 4}, {"克俭", 3}, {"秀峰", 3}, {"茂林", 3},
	{"强", 4}, {"军", 3}, {"明", 4}, {"刚", 3}, {"忠", 3}, {"诚", 2},
}

// eraNames were given to boys born in a particular year or two, after the
// events of the day: 胜利 the victory of 1945, 建国 and 解放 the founding of
// 1949, 援朝 the Korean War, 跃进 the Great Leap Forward.
var eraNames = []struct {
	name     string
	from, to int
}{
	{"胜利", 1945, 1946}, {"建国", 1949, 1950}, {"解放", 1948, 1950}, {"国庆", 1949, 1952},
	{"援朝", 1950, 1953}, {"跃进", 1958, 1959}, {"建设", 1953, 1957},
}

// Names of people born 1965–1995: the children who are emergency contacts
// and the care workers themselves.
var youngerFemale = []weighted{
	{"丽", 10}, {"红", 8}, {"艳", 8}, {"静", 8}, {"敏", 6}, {"娟", 6}, {"燕", 6}, {"霞", 5},
	{"秀梅", 6}, {"丽娟", 6}, {"海燕", 6}, {"红霞", 6}, {"晓燕", 5}, {"丽华", 4}, {"春燕", 5},
	{"玉红", 4}, {"桂芳", 3}, {"慧", 4}, {"婷", 3}, {"晓丽", 4}, {"丽萍", 4}, {"文静", 3}, {"雪梅", 3},
}

var youngerMale = []weighted{
	{"伟", 10}, {"磊", 8}, {"军", 8}, {"勇", 8}, {"强", 8}, {"涛", 6}, {"斌", 5}, {"鹏", 5},
	{"海涛", 5}, {"建伟", 4}, {"志勇", 5}, {"卫国", 3}, {"洪波", 3}, {"晓东", 4}, {"建军", 5},
	{"文斌", 3}, {"海军", 3}, {"永强", 4}, {"立新", 3}, {"东升", 3}, {"国栋", 3}, {"刚", 5},
}

// Characters from which the rest of that generation's two-character given
// names were made (玉香, 翠英, 秋菊; 殿臣, 兆祥, 汝明). The lists above hold
// the names that recur; these give the long tail a city of 90,000 needs so a
// search by name does not return hundreds of namesakes.
var (
	elderFemaleFirst  = []rune("秀桂玉淑凤素翠金美兰春秋月云惠爱瑞彩")
	elderFemaleSecond = []rune("英兰珍芝荣梅芳云香琴华花娥凤霞莲菊贞萍")
	elderMaleFirst    = []rune("德国建志文振永长宝福金学玉树洪广春明庆立守传克茂兆殿兴家汝继")
	elderMaleSecond   = []rune("胜华强明海山贵福生刚文林亮田祥本信俭峰成和军臣昌发元仁义禄")
)

// composed returns a two-character given name from first and second, never
// one character twice.
func composed(rng *rand.Rand, first, second []rune) string {
	for {
		a, b := first[rng.IntN(len(first))], second[rng.IntN(len(second))]
		if a != b {
			return string([]rune{a, b})
		}
	}
}

// elderName returns a name for a person of gender g born in year.
func elderName(rng *rand.Rand, g carehex.Gender, year int) string {
	surname := pick(rng, surnames)
	if g == carehex.GenderMale {
		// Perhaps one boy in ten of those years got the era's name.
		if rng.IntN(10) == 0 {
			var fits []string
			for _, e := range eraNames {
				if year >= e.from && year <= e.to {
					fits = append(fits, e.name)
				}
			}
			if len(fits) > 0 {
				return surname + fits[rng.IntN(len(fits))]
			}
		}
		if rng.IntN(2) == 0 {
			return surname + composed(rng, elderMaleFirst, elderMaleSecond)
		}
		return surname + pick(rng, elderMale)
	}
	if rng.IntN(2) == 0 {
		return surname + composed(rng, elderFemaleFirst, elderFemaleSecond)
	}
	return surname + pick(rng, elderFemale)
}

// youngerName returns a name for a person of gender g born 1965–1995, with
// the given surname, or a drawn one if surname is empty.
func youngerName(rng *rand.Rand, g carehex.Gender, surname string) string {
	if surname == "" {
		surname = pick(rng, surnames)
	}
	if g == carehex.GenderMale {
		return surname + pick(rng, youngerMale)
	}
	return surname + pick(rng, youngerFemale)
}
