package demo

import (
	"math"
	"math/rand/v2"

	"github.com/carehex/carehex"
)

// District is one of Zibo's eight county-level divisions, as the demo uses it.
type District struct {
	Name   string         // as written in addresses and Resident.District, e.g. "张店区"
	NameEN string         // pinyin, for logs and English pages
	Code   string         // administrative division code, the first six digits of a local ID number
	Centre carehex.LatLng // the government seat (WGS-84), where the built-up area is densest
	Weight int            // relative share of demo people; sums to 100 over Districts
	// SpreadKM is the standard deviation of homes around Centre: a city
	// district sprawls, a county seat is compact.
	SpreadKM float64
	roads    []string // real road names of the built-up area, for addresses
}

// Districts lists Zibo's districts and counties. Centres are the government
// seats, to about 1 km. Weights lean on Zhangdian, the city centre and the
// demo's focus, then roughly follow the districts' populations.
var Districts = []District{
	{"张店区", "Zhangdian", "370303", carehex.LatLng{Lat: 36.807, Lng: 118.017}, 45, 3.5,
		[]string{"华光路", "柳泉路", "共青团西路", "共青团东路", "人民西路", "人民东路", "新村西路", "联通路",
			"中润大道", "西六路", "金晶大道", "北京路", "南京路", "世纪路", "昌国路", "鲁泰大道"}},
	{"淄川区", "Zichuan", "370302", carehex.LatLng{Lat: 36.643, Lng: 117.967}, 12, 2.5,
		[]string{"般阳路", "松龄路", "淄城路", "将军路", "张博路", "西环路", "北外环路"}},
	{"临淄区", "Linzi", "370305", carehex.LatLng{Lat: 36.826, Lng: 118.309}, 11, 2.5,
		[]string{"桓公路", "晏婴路", "闻韶路", "临淄大道", "齐兴路", "雪宫路", "稷下路"}},
	{"周村区", "Zhoucun", "370306", carehex.LatLng{Lat: 36.803, Lng: 117.870}, 8, 2.0,
		[]string{"正阳路", "丝绸路", "青年路", "新建路", "东门路", "太和路"}},
	{"桓台县", "Huantai", "370321", carehex.LatLng{Lat: 36.960, Lng: 118.098}, 8, 2.0,
		[]string{"少海路", "张北路", "中心大街", "建设街", "兴桓路", "府前街"}},
	{"博山区", "Boshan", "370304", carehex.LatLng{Lat: 36.494, Lng: 117.861}, 7, 1.8,
		[]string{"西冶街", "峨眉山路", "白虎山路", "沿河东路", "新博路", "中心路"}},
	{"沂源县", "Yiyuan", "370323", carehex.LatLng{Lat: 36.185, Lng: 118.171}, 5, 1.8,
		[]string{"历山路", "鲁山路", "胜利路", "荆山路", "瑞阳路", "振兴路"}},
	{"高青县", "Gaoqing", "370322", carehex.LatLng{Lat: 37.170, Lng: 117.826}, 4, 1.8,
		[]string{"高苑路", "黄河路", "芦湖路", "青城路", "文化路", "千乘湖路"}},
}

// ZiboCentre is the middle of the city, in eastern Zhangdian, where the
// demo focuses (the city's usual reference point is 36.78 N, 118.05 E).
var ZiboCentre = carehex.LatLng{Lat: 36.80, Lng: 118.05}

// MaxSpreadSigmas bounds how far a home may lie from its district centre, in
// units of SpreadKM. Truncating the normal keeps a few stray draws from
// landing in the Lu Mountains or the next county.
const MaxSpreadSigmas = 2.5

// kmPerDegreeLat is the length of one degree of latitude (WGS-84 mean).
const kmPerDegreeLat = 111.32

// pickDistrict draws the index of a district in Districts, by Weight.
func pickDistrict(rng *rand.Rand) int {
	total := 0
	for i := range Districts {
		total += Districts[i].Weight
	}
	n := rng.IntN(total)
	for i := range Districts {
		if n < Districts[i].Weight {
			return i
		}
		n -= Districts[i].Weight
	}
	return 0 // unreachable while weights are positive
}

// near draws a position around d's centre: normal with SpreadKM in each
// direction, redrawn beyond MaxSpreadSigmas.
func (d *District) near(rng *rand.Rand) carehex.LatLng {
	for {
		dx, dy := rng.NormFloat64(), rng.NormFloat64()
		if dx*dx+dy*dy > MaxSpreadSigmas*MaxSpreadSigmas {
			continue
		}
		return offset(d.Centre, dx*d.SpreadKM, dy*d.SpreadKM)
	}
}

// offset moves p east by eastKM and north by northKM. At Zibo's scale (tens
// of kilometres) the flat-earth approximation is off by metres, which a
// synthetic home does not mind.
func offset(p carehex.LatLng, eastKM, northKM float64) carehex.LatLng {
	lat := p.Lat + northKM/kmPerDegreeLat
	lng := p.Lng + eastKM/(kmPerDegreeLat*math.Cos(p.Lat*math.Pi/180))
	// Six decimals is about 0.1 m: what a geocoder returns, and it keeps the
	// numbers short in the database and on screen.
	return carehex.LatLng{Lat: round6(lat), Lng: round6(lng)}
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// distanceKM is the great-circle distance between two positions, for tests
// and sanity checks; package geo owns the production one.
func distanceKM(a, b carehex.LatLng) float64 {
	const earthRadiusKM = 6371.0088
	rad := math.Pi / 180
	dLat, dLng := (b.Lat-a.Lat)*rad, (b.Lng-a.Lng)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusKM * math.Asin(math.Min(1, math.Sqrt(h)))
}

// districtByName finds a district by its Chinese name.
func districtByName(name string) *District {
	for i := range Districts {
		if Districts[i].Name == name {
			return &Districts[i]
		}
	}
	return nil
}
