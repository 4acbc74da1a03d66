// Names for places on the map, without a server round trip: which district
// and street (from the boundaries the server sends) hold a point, or, with
// no boundaries configured, how far and which way it lies from the nearest
// landmark (a county-level government's seat). Pure functions, so node
// tests them (web/unit/areas.test.js).

// inRing is the even-odd rule for one ring of [lng, lat] points.
function inRing(ring, x, y) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function polygons(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

// contains tells whether a GeoJSON feature holds the point (a hole does not).
export function contains(feature, lng, lat) {
  return polygons(feature.geometry).some((poly) => poly.reduce((inside, ring) => (inRing(ring, lng, lat) ? !inside : inside), false));
}

// locate returns the names of the district and street whose areas hold the
// point ("" for none), from features with properties name and level.
export function locate(features, lng, lat) {
  const out = { district: "", street: "" };
  for (const f of features || []) {
    const level = f.properties?.level === "street" ? "street" : "district";
    if (!out[level] && contains(f, lng, lat)) out[level] = f.properties.name;
  }
  return out;
}

const R = 6371008.8; // mean Earth radius, metres
const rad = (d) => (d * Math.PI) / 180;

// distanceM is the great-circle distance between two points, in metres.
export function distanceM(a, b) {
  const dLat = rad(b.lat - a.lat), dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

// bearing is the initial compass bearing from a to b, 0–360° (0 is north).
export function bearing(a, b) {
  const y = Math.sin(rad(b.lng - a.lng)) * Math.cos(rad(b.lat));
  const x = Math.cos(rad(a.lat)) * Math.sin(rad(b.lat)) - Math.sin(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.cos(rad(b.lng - a.lng));
  return ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
}

const COMPASS = [["北", "north"], ["东北", "north-east"], ["东", "east"], ["东南", "south-east"],
  ["南", "south"], ["西南", "south-west"], ["西", "west"], ["西北", "north-west"]];

// compass names a bearing as one of eight directions, [zh, en].
export function compass(deg) {
  return COMPASS[Math.round((((deg % 360) + 360) % 360) / 45) % 8];
}

// nearest is the landmark closest to p, with the distance and direction
// from it to p; null when there are none.
export function nearest(landmarks, p) {
  let best = null;
  for (const l of landmarks || []) {
    const d = distanceM(l.location, p);
    if (!best || d < best.distanceM) best = { name: l.name, nameEn: l.name_en || l.name, distanceM: d, direction: compass(bearing(l.location, p)) };
  }
  return best;
}

// describe names a point for a person: "张店区 车站街道" from the
// boundaries, else "张店区政府 东北 2.3 公里" from the nearest landmark;
// say(zh, en) picks the language.
export function describe({ features, landmarks }, p, say) {
  const { district, street } = locate(features, p.lng, p.lat);
  if (district || street) return [district, street].filter(Boolean).join(" ");
  const n = nearest(landmarks, p);
  if (!n) return "";
  const km = n.distanceM < 1000 ? say(`${Math.round(n.distanceM)} 米`, `${Math.round(n.distanceM)} m`)
    : say(`${(n.distanceM / 1000).toFixed(1)} 公里`, `${(n.distanceM / 1000).toFixed(1)} km`);
  return n.distanceM < 300 ? say(`${n.name}政府附近`, `near the ${n.nameEn} government`)
    : say(`${n.name}政府 ${n.direction[0]} ${km}`, `${km} ${n.direction[1]} of the ${n.nameEn} government`);
}

// centre is the mean of a cell's outline: close enough to its centre for a
// hexagon a kilometre across.
export function centre(boundary) {
  const n = boundary.length || 1;
  return { lat: boundary.reduce((s, p) => s + p.lat, 0) / n, lng: boundary.reduce((s, p) => s + p.lng, 0) / n };
}
