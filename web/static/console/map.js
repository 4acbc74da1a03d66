// The map: Leaflet (vendored, web/static/vendor/leaflet/) with the
// district's tiles when it runs a tile server (CAREHEX_TILE_URL), its
// district and street boundaries when configured (CAREHEX_BOUNDARIES_FILE),
// the county-level governments' seats as landmarks, and over them the H3
// cells of providers' bases and open requests' homes
// (DispatchService/GetDispatchMap). A cell's tooltip names the place (the
// street and district holding its centre, else the direction and distance
// from the nearest landmark) and its counts, never the cell's ID. The same
// map places a new resident's home: a click while the register form waits.
// Nothing here loads anything from outside this server unless the district
// configured its own tile server.
import * as L from "/vendor/leaflet/leaflet-src.esm.js";
import { dispatch, maps } from "./api.js";
import { centre, describe, locate } from "./areas.js";
import { byTestId, h } from "./dom.js";
import { say } from "./labels.js";

const RES = 7; // edges of about 1.4 km: a district fits the screen
const ZIBO = [36.8, 118.05];
const COLOURS = { prov: "#5b9bd5", req: "#e8873a", both: "#9b6cc4" };

let map = null; // the Leaflet map, made on first show
let places = { features: [], landmarks: [] }; // what names a point
let cells = null; // the layer of H3 cells
let pin = null; // the position last placed
let picking = null; // the register form's callback while it waits for a click
let fitted = false; // the view was fitted to the cells once; later refreshes keep the operator's view

let config = null; // the server's map settings (MapService/GetMapConfig), asked once

// mapConfig is the server's map settings: tiles, boundaries, landmarks and
// which geocoder answers ("tianditu", or "map" for none).
export function mapConfig() {
  config ??= maps.getMapConfig({}).catch((e) => { config = null; throw e; });
  return config;
}

async function ensureMap() {
  if (map) return map;
  const el = byTestId("map");
  const cfg = await mapConfig();
  if (map) return map; // another call made it meanwhile
  map = L.map(el, { center: ZIBO, zoom: 11, minZoom: 7, maxZoom: 18, zoomControl: true, attributionControl: true });
  map.attributionControl.setPrefix(false); // no flag, no link out: the tiles' own attribution only
  if (cfg.tile_url) {
    L.tileLayer(cfg.tile_url, {
      subdomains: cfg.tile_subdomains || "abc", attribution: cfg.tile_attribution || "", maxZoom: 18,
    }).addTo(map);
  } else {
    el.classList.add("offline-basemap");
  }
  let features = [];
  if (cfg.boundaries_geojson) {
    const gj = JSON.parse(cfg.boundaries_geojson);
    features = gj.features || [];
    L.geoJSON(gj, {
      interactive: false,
      style: (f) => (f.properties.level === "street"
        ? { color: "#6b7785", weight: 1, dashArray: "4 3", fill: false }
        : { color: "#37424f", weight: 2.5, fill: false }),
      onEachFeature: (f, layer) => {
        if (f.properties.level !== "street") {
          layer.bindTooltip(f.properties.name, { permanent: true, direction: "center", className: "area-label" });
        }
      },
    }).addTo(map);
  }
  places = { features, landmarks: cfg.landmarks || [] };
  const labels = places.landmarks.map((l) => [l, L.circleMarker([l.location.lat, l.location.lng],
    { radius: 3, color: "#37424f", weight: 1, fillOpacity: 1, interactive: false })
    .bindTooltip(say(l.name, l.name_en || l.name), { permanent: true, direction: "top", className: "landmark-label", offset: [0, -3] })
    .addTo(map)]);
  // The cells' tooltips are redrawn by the poll a language change starts; the landmarks' here.
  document.addEventListener("langchange", () => { for (const [l, m] of labels) m.setTooltipContent(say(l.name, l.name_en || l.name)); });
  cells = L.layerGroup().addTo(map);
  map.on("click", (e) => {
    if (!picking) return;
    const fn = picking;
    picking = null;
    el.classList.remove("picking");
    const p = { lat: e.latlng.lat, lng: e.latlng.lng };
    showPin(p);
    fn(p);
  });
  return map;
}

// areaOf is the district and street whose boundaries hold p ("" without
// boundaries): facts from the map, unlike the landmark's direction.
export function areaOf(p) {
  return locate(places.features, p.lng, p.lat);
}

// placeName names a position for the operator: street and district, or
// the way from the nearest landmark.
export function placeName(p) {
  return describe(places, p, say);
}

export async function refreshMap() {
  const m = await ensureMap();
  m.invalidateSize(); // the pane may have been hidden when the map was made
  const { cells: list } = await dispatch.getDispatchMap({ resolution: RES });
  draw(list || []);
}

let drawn = ""; // what the cells on screen show, so an unchanged poll leaves them (and an open tooltip) alone

function draw(list) {
  const sig = say("zh", "en") + JSON.stringify(list.map((c) => [c.cell, c.provider_count, c.request_count]));
  if (sig === drawn) return;
  drawn = sig;
  cells.clearLayers();
  byTestId("map-empty").hidden = list.length > 0;
  const bounds = L.latLngBounds([]);
  for (const c of list) {
    const kind = c.request_count && c.provider_count ? "both" : c.request_count ? "req" : "prov";
    const outline = c.boundary.map((p) => [p.lat, p.lng]);
    const name = placeName(centre(c.boundary)) || say("此处", "here");
    const poly = L.polygon(outline, { color: "#ffffff", weight: 1, fillColor: COLOURS[kind], fillOpacity: 0.6 })
      .bindTooltip(`${name} · ${say("服务人员", "providers")} ${c.provider_count || 0} · ${say("待完成需求", "open requests")} ${c.request_count || 0}`,
        { sticky: true, className: "cell-tip" });
    poly.addTo(cells);
    const path = poly.getElement();
    if (path) {
      Object.assign(path.dataset, { testid: "map-cell", providers: c.provider_count || 0, requests: c.request_count || 0, place: name });
    }
    if (c.request_count) {
      const ctr = centre(c.boundary);
      L.marker([ctr.lat, ctr.lng], {
        interactive: false, keyboard: false,
        icon: L.divIcon({ className: "cell-count", html: h("span", {}, String(c.request_count)), iconSize: [20, 14] }),
      }).addTo(cells);
    }
    for (const v of outline) bounds.extend(v);
  }
  if (!fitted && bounds.isValid()) {
    map.fitBounds(bounds, { padding: [20, 20], maxZoom: 12, animate: false }); // close enough for cells, far enough for the landmarks
    fitted = true;
  }
}

function showPin(p) {
  if (!map) return;
  if (!pin) {
    pin = L.circleMarker([p.lat, p.lng], { radius: 8, color: "#ffffff", weight: 2, fillColor: "#d33", fillOpacity: 1, interactive: false }).addTo(map);
    pin.getElement()?.setAttribute("data-testid", "map-pin");
  } else {
    pin.setLatLng([p.lat, p.lng]);
  }
}

// clearPick forgets a pending pick and the placed pin (the form closed).
export function clearPick() {
  picking = null;
  byTestId("map").classList.remove("picking");
  pin?.remove();
  pin = null;
}

// pickOnMap calls fn with the position of the next click on the map.
export async function pickOnMap(fn) {
  await ensureMap();
  map.invalidateSize();
  picking = fn;
  byTestId("map").classList.add("picking");
}

// placeOnMap shows p as the placed position (a geocoder's answer) and
// brings it into view.
export async function placeOnMap(p) {
  await ensureMap();
  map.invalidateSize();
  showPin(p);
  map.setView([p.lat, p.lng], Math.max(map.getZoom(), 15));
}
