package geo

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/carehex/carehex"
)

// Areas are a district's administrative areas (区县 and 街道/镇) as drawn on
// the console's map: each a name, a level and an outline. They come from a
// GeoJSON file the district is licensed to use (CAREHEX_BOUNDARIES_FILE);
// carehex ships none (README: no boundary dataset with a clear licence is
// reachable from its build), so without one the map describes places by
// the Landmarks instead.
type Areas struct {
	Source   string // the dataset and its licence, as the file's "source" member says
	Features []Area
}

// Area is one administrative area.
type Area struct {
	Name  string
	Level string // "district" or "street"
	Code  string // division code when the file gives one
	// Polygons are outer rings followed by their holes, as in GeoJSON, in
	// [lng, lat] order.
	Polygons [][][][2]float64
}

// Landmark is a named point to describe a position by ("2.3 km north-east
// of the 张店区 government") when no boundaries are loaded.
type Landmark struct {
	Name         string
	NameEN       string // pinyin, for the English page
	DivisionCode string
	Location     carehex.LatLng
}

// ParseAreas reads a GeoJSON FeatureCollection whose features are Polygons
// or MultiPolygons with a "name" property (also "NAME" or "name_zh") and an
// optional "level" ("district"/"street"; else guessed from the name's
// ending: 区/县/市 a district, 街道/镇/乡 a street) and "code"/"adcode".
// A file that is not that is refused naming the first bad feature.
func ParseAreas(b []byte) (*Areas, error) {
	var fc struct {
		Type     string `json:"type"`
		Source   string `json:"source"`
		Features []struct {
			Type       string         `json:"type"`
			Properties map[string]any `json:"properties"`
			Geometry   *struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	bad := func(format string, args ...any) error {
		return carehex.Errorf(carehex.EINVALID, "boundaries", "boundaries: "+format, args...)
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		return nil, bad("not GeoJSON: %v", err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, bad("want a FeatureCollection, got %q", fc.Type)
	}
	out := &Areas{Source: fc.Source}
	for i, f := range fc.Features {
		name := firstString(f.Properties, "name", "NAME", "name_zh")
		if name == "" {
			return nil, bad("feature %d has no name property", i)
		}
		if f.Geometry == nil {
			return nil, bad("feature %d (%s) has no geometry", i, name)
		}
		a := Area{Name: name, Level: firstString(f.Properties, "level"), Code: firstString(f.Properties, "code", "adcode")}
		switch a.Level {
		case "district", "street":
		case "":
			a.Level = guessLevel(name)
		default:
			return nil, bad("feature %d (%s) has level %q; want district or street", i, name, a.Level)
		}
		var err error
		switch f.Geometry.Type {
		case "Polygon":
			var p [][][2]float64
			if err = json.Unmarshal(f.Geometry.Coordinates, &p); err == nil {
				a.Polygons = [][][][2]float64{p}
			}
		case "MultiPolygon":
			err = json.Unmarshal(f.Geometry.Coordinates, &a.Polygons)
		default:
			return nil, bad("feature %d (%s) is a %s; want Polygon or MultiPolygon", i, name, f.Geometry.Type)
		}
		if err != nil {
			return nil, bad("feature %d (%s): %v", i, name, err)
		}
		for _, poly := range a.Polygons {
			for _, ring := range poly {
				if len(ring) < 4 {
					return nil, bad("feature %d (%s) has a ring of %d points", i, name, len(ring))
				}
				for _, pt := range ring {
					if (carehex.LatLng{Lat: pt[1], Lng: pt[0]}).Validate("boundaries") != nil {
						return nil, bad("feature %d (%s) has the point %v outside [-180,180]×[-90,90]", i, name, pt)
					}
				}
			}
		}
		out.Features = append(out.Features, a)
	}
	if len(out.Features) == 0 {
		return nil, bad("no features")
	}
	return out, nil
}

// Locate returns the names of the district and the street containing p,
// each "" when no area of that level does.
func (a *Areas) Locate(p carehex.LatLng) (district, street string) {
	for _, f := range a.Features {
		if (f.Level == "district" && district != "") || (f.Level == "street" && street != "") || !f.contains(p) {
			continue
		}
		if f.Level == "district" {
			district = f.Name
		} else {
			street = f.Name
		}
	}
	return district, street
}

// GeoJSON is the areas as the console's map reads them: names, levels and
// codes only, whatever else the source file carried.
func (a *Areas) GeoJSON() ([]byte, error) {
	type feature struct {
		Type       string            `json:"type"`
		Properties map[string]string `json:"properties"`
		Geometry   struct {
			Type        string           `json:"type"`
			Coordinates [][][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	}
	fc := struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}{Type: "FeatureCollection"}
	for _, f := range a.Features {
		out := feature{Type: "Feature", Properties: map[string]string{"name": f.Name, "level": f.Level}}
		if f.Code != "" {
			out.Properties["code"] = f.Code
		}
		out.Geometry.Type, out.Geometry.Coordinates = "MultiPolygon", f.Polygons
		fc.Features = append(fc.Features, out)
	}
	return json.Marshal(fc)
}

// contains is the even-odd rule over every ring: a point in a hole is out.
func (f *Area) contains(p carehex.LatLng) bool {
	for _, poly := range f.Polygons {
		in := false
		for _, ring := range poly {
			if inRing(ring, p.Lng, p.Lat) {
				in = !in
			}
		}
		if in {
			return true
		}
	}
	return false
}

func inRing(ring [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		xi, yi, xj, yj := ring[i][0], ring[i][1], ring[j][0], ring[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

func guessLevel(name string) string {
	for _, s := range []string{"街道", "镇", "乡"} {
		if strings.HasSuffix(name, s) {
			return "street"
		}
	}
	return "district"
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		case float64:
			return fmt.Sprintf("%.0f", v)
		}
	}
	return ""
}
