// Links that open a map app at a home, on Android and iOS. Our positions
// are WGS-84 (what phones' GPS reports); maps in China draw in GCJ-02 (Amap
// 高德, Tencent) or BD-09 (Baidu), offset from WGS-84 by up to several
// hundred metres, so the position is converted to GCJ-02 here and Baidu is
// told the links are GCJ-02 (coord_type=gcj02). The `geo:` URI opens the
// chooser on Android; iOS Safari does not open it, so it is offered only
// where it works. No imports: node's unit tests load this file as it is.

const A = 6378245.0; // Krasovsky 1940 semi-major axis, as GCJ-02 uses
const EE = 0.00669342162296594323; // its eccentricity squared

// outOfChina: GCJ-02 is defined inside China only; elsewhere it equals WGS-84.
export function outOfChina(lat, lng) {
  return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function dLat(x, y) {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return r;
}

function dLng(x, y) {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return r;
}

// wgs84ToGcj02 converts a WGS-84 position to GCJ-02 (the published
// formula; about 1 m from the official conversion).
export function wgs84ToGcj02(lat, lng) {
  if (outOfChina(lat, lng)) return { lat, lng };
  const x = lng - 105, y = lat - 35;
  let la = dLat(x, y), lo = dLng(x, y);
  const rad = (lat / 180) * Math.PI;
  let magic = Math.sin(rad);
  magic = 1 - EE * magic * magic;
  const sq = Math.sqrt(magic);
  la = (la * 180) / (((A * (1 - EE)) / (magic * sq)) * Math.PI);
  lo = (lo * 180) / ((A / sq) * Math.cos(rad) * Math.PI);
  return { lat: lat + la, lng: lng + lo };
}

const fixed = (x) => x.toFixed(6);

// mapLinks returns the links for a home at WGS-84 (lat, lng) named name:
// [{app, href}], Amap first; geo: is included only when withGeo (Android).
export function mapLinks(lat, lng, name, withGeo) {
  const g = wgs84ToGcj02(lat, lng);
  const n = encodeURIComponent(name || "");
  const links = [
    { app: "amap", href: `https://uri.amap.com/marker?position=${fixed(g.lng)},${fixed(g.lat)}&name=${n}&coordinate=gaode&callnative=1` },
    { app: "baidu", href: `https://api.map.baidu.com/marker?location=${fixed(g.lat)},${fixed(g.lng)}&title=${n}&content=${n}&output=html&coord_type=gcj02&src=carehex.phone` },
  ];
  if (withGeo) links.push({ app: "geo", href: `geo:${fixed(lat)},${fixed(lng)}?q=${fixed(lat)},${fixed(lng)}(${n})` });
  return links;
}

// supportsGeoURI: Android's browsers hand geo: to a map app; iOS does not.
export function supportsGeoURI(userAgent) {
  return /Android/i.test(userAgent || "");
}
