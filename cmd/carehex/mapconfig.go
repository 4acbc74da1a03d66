package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/geo"
	"github.com/carehex/carehex/rpc"
)

// mapConfig is the console map's settings: the basemap tiles, the
// boundaries drawn over them and the geocoder. All optional: with none the
// map works offline (cells, landmarks, click to place).
type mapConfig struct {
	TileURL         string // CAREHEX_TILE_URL: a Leaflet template, e.g. the district's own Tianditu or OSM tile server
	TileAttribution string // CAREHEX_TILE_ATTRIBUTION
	TileSubdomains  string // CAREHEX_TILE_SUBDOMAINS: what {s} takes
	BoundariesFile  string // CAREHEX_BOUNDARIES_FILE: GeoJSON of districts and streets
	TiandituKey     string // CAREHEX_TIANDITU_KEY: turns on geocoding with Tianditu
	TiandituURL     string // CAREHEX_TIANDITU_URL: the geocoder's base URL (default the public one)
	GeocodeRegion   string // CAREHEX_GEOCODE_REGION: prefixed to addresses that do not name it

	areas *geo.Areas // BoundariesFile, read and checked by validate
}

func defaultMapConfig(getenv func(string) string) mapConfig {
	m := mapConfig{
		TileURL: getenv("CAREHEX_TILE_URL"), TileAttribution: getenv("CAREHEX_TILE_ATTRIBUTION"),
		TileSubdomains: getenv("CAREHEX_TILE_SUBDOMAINS"), BoundariesFile: getenv("CAREHEX_BOUNDARIES_FILE"),
		TiandituKey: getenv("CAREHEX_TIANDITU_KEY"), TiandituURL: getenv("CAREHEX_TIANDITU_URL"),
		GeocodeRegion: getenv("CAREHEX_GEOCODE_REGION"),
	}
	if m.GeocodeRegion == "" {
		m.GeocodeRegion = "淄博市"
	}
	return m
}

// validate checks the tile template and reads the boundaries file, so a
// mistake stops the start with its name rather than showing a blank map.
func (m *mapConfig) validate() error {
	if m.TileURL != "" {
		if _, err := tileOrigin(m.TileURL); err != nil {
			return err
		}
		if strings.Contains(m.TileURL, "{s}") && m.TileSubdomains == "" {
			m.TileSubdomains = "abc"
			if strings.Contains(m.TileURL, "tianditu") {
				m.TileSubdomains = "01234567"
			}
		}
		if m.TileAttribution == "" {
			switch {
			case strings.Contains(m.TileURL, "tianditu"):
				m.TileAttribution = "© 天地图 Tianditu"
			case strings.Contains(m.TileURL, "openstreetmap") || strings.Contains(m.TileURL, "osm"):
				m.TileAttribution = "© OpenStreetMap contributors (ODbL)"
			}
		}
	}
	if m.TiandituURL != "" {
		if u, err := url.Parse(m.TiandituURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("CAREHEX_TIANDITU_URL %q must be an http(s) URL, e.g. https://api.tianditu.gov.cn", m.TiandituURL)
		}
	}
	if m.BoundariesFile != "" {
		b, err := os.ReadFile(m.BoundariesFile)
		if err != nil {
			return fmt.Errorf("CAREHEX_BOUNDARIES_FILE: %v", err)
		}
		if m.areas, err = geo.ParseAreas(b); err != nil {
			return fmt.Errorf("CAREHEX_BOUNDARIES_FILE %s: %v", m.BoundariesFile, err)
		}
	}
	return nil
}

// tileOrigin is the tiles' origin for the pages' Content-Security-Policy
// (img-src): the scheme and host, with a host label holding {s} as "*".
func tileOrigin(tmpl string) (string, error) {
	bad := fmt.Errorf("CAREHEX_TILE_URL %q must be an http(s) URL template with {z}, {x} and {y}, e.g. https://tile.example.org/{z}/{x}/{y}.png", tmpl)
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if !strings.Contains(tmpl, p) {
			return "", bad
		}
	}
	scheme, rest, ok := strings.Cut(tmpl, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return "", bad
	}
	host, _, _ := strings.Cut(rest, "/")
	labels := strings.Split(host, ".")
	for i, l := range labels {
		if strings.Contains(l, "{") {
			if i != 0 { // CSP allows a wildcard only as the leftmost label
				return "", bad
			}
			labels[i] = "*"
		}
	}
	host = strings.Join(labels, ".")
	if _, err := url.Parse(scheme + "://" + host); err != nil || strings.ContainsAny(host, "{}; '\"") || host == "" {
		return "", bad
	}
	return scheme + "://" + host, nil
}

// settings are what the API serves and does.
func (m *mapConfig) settings() (rpc.MapSettings, error) {
	s := rpc.MapSettings{TileURL: m.TileURL, TileAttribution: m.TileAttribution, TileSubdomains: m.TileSubdomains}
	if m.areas != nil {
		b, err := m.areas.GeoJSON()
		if err != nil {
			return s, fmt.Errorf("CAREHEX_BOUNDARIES_FILE: %v", err)
		}
		s.Boundaries, s.BoundariesSource = string(b), m.areas.Source
	}
	// The county-level governments' seats (to about 1 km): without
	// boundaries, a place on the map is described by the nearest of them.
	for _, d := range demo.Districts {
		s.Landmarks = append(s.Landmarks, geo.Landmark{Name: d.Name, NameEN: d.NameEN, DivisionCode: d.Code, Location: d.Centre})
	}
	if m.TiandituKey != "" {
		s.Geocoder = &geo.Tianditu{Key: m.TiandituKey, BaseURL: m.TiandituURL, Region: m.GeocodeRegion}
		s.GeocoderName = "tianditu"
	}
	return s, nil
}
