// Unit tests of the phone's map links (web/static/phone/navlinks.js):
// node --test web/unit/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { wgs84ToGcj02, mapLinks, outOfChina, supportsGeoURI } from "../static/phone/navlinks.js";

// Published reference pairs (WGS-84 → GCJ-02) of the eviltransform
// project's tests, which match the official conversion to about a metre.
const REF = [
  ["shanghai", 31.1774276, 121.5272106, 31.17530398364597, 121.531541859215],
  ["shenzhen", 22.543847, 113.912316, 22.540796131694766, 113.9171764808363],
  ["beijing", 39.911954, 116.377817, 39.91334545536069, 116.38404722455657],
];

test("WGS-84 to GCJ-02 matches the reference pairs within a metre", () => {
  for (const [name, lat, lng, glat, glng] of REF) {
    const g = wgs84ToGcj02(lat, lng);
    // 1e-5 degrees is about 1.1 m of latitude.
    assert.ok(Math.abs(g.lat - glat) < 1e-5 && Math.abs(g.lng - glng) < 1e-5, `${name}: got ${g.lat},${g.lng}; want ${glat},${glng}`);
  }
});

test("outside China GCJ-02 is WGS-84", () => {
  assert.equal(outOfChina(51.5, -0.12), true);
  assert.deepEqual(wgs84ToGcj02(51.5, -0.12), { lat: 51.5, lng: -0.12 });
  assert.equal(outOfChina(36.8, 118.05), false);
});

test("links: Amap lng,lat and Baidu lat,lng in GCJ-02, geo: in WGS-84 on Android only", () => {
  const lat = 36.8131, lng = 118.0549; // Zibo, 张店
  const g = wgs84ToGcj02(lat, lng);
  // In Zibo the offset is hundreds of metres: a link without the conversion
  // would put the carer at the wrong door.
  assert.ok(Math.hypot(g.lat - lat, g.lng - lng) > 0.002, "conversion moved Zibo by less than 200 m");
  const [amap, baidu, geo] = mapLinks(lat, lng, "王桂兰 华光路56号", true);
  const a = new URL(amap.href), b = new URL(baidu.href);
  assert.equal(a.origin + a.pathname, "https://uri.amap.com/marker");
  assert.equal(a.searchParams.get("position"), `${g.lng.toFixed(6)},${g.lat.toFixed(6)}`);
  assert.equal(a.searchParams.get("name"), "王桂兰 华光路56号");
  assert.equal(b.origin + b.pathname, "https://api.map.baidu.com/marker");
  assert.equal(b.searchParams.get("location"), `${g.lat.toFixed(6)},${g.lng.toFixed(6)}`);
  assert.equal(b.searchParams.get("coord_type"), "gcj02");
  assert.equal(b.searchParams.get("output"), "html");
  assert.match(geo.href, /^geo:36\.813100,118\.054900\?q=36\.813100,118\.054900\(/);
  assert.equal(mapLinks(lat, lng, "x", false).length, 2);
});

test("geo: only on Android", () => {
  assert.equal(supportsGeoURI("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126 Mobile Safari/537.36"), true);
  assert.equal(supportsGeoURI("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1"), false);
});
