// Unit tests of the map's place names (web/static/console/areas.js) under
// node's own test runner: node --test web/unit/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bearing, centre, compass, contains, describe, distanceM, locate, nearest } from "../static/console/areas.js";

const fixture = JSON.parse(readFileSync(new URL("../e2e/testdata/boundaries.geojson", import.meta.url), "utf8"));
const zh = (z) => z;
const en = (_, e) => e;
const landmarks = [
  { name: "张店区", name_en: "Zhangdian", location: { lat: 36.807, lng: 118.017 } },
  { name: "淄川区", location: { lat: 36.643, lng: 117.967 } },
];

test("locate finds the district and street holding a point, holes excluded", () => {
  assert.deepEqual(locate(fixture.features, 118.0, 36.8), { district: "测试西区", street: "测试街道" });
  assert.deepEqual(locate(fixture.features, 117.95, 36.72), { district: "测试西区", street: "" });
  assert.deepEqual(locate(fixture.features, 118.15, 36.8), { district: "测试东区", street: "" });
  assert.deepEqual(locate(fixture.features, 118.11, 36.76), { district: "", street: "" }); // the east district's hole
  assert.deepEqual(locate(fixture.features, 118.0, 37.5), { district: "", street: "" });
  assert.deepEqual(locate(undefined, 118.0, 36.8), { district: "", street: "" });
  assert.equal(contains({ geometry: { type: "Point", coordinates: [118, 36.8] } }, 118, 36.8), false);
});

test("distance and bearing agree with known figures", () => {
  // One degree of latitude is about 111.2 km; due north, then due east.
  assert.ok(Math.abs(distanceM({ lat: 36, lng: 118 }, { lat: 37, lng: 118 }) - 111195) < 50);
  assert.ok(Math.abs(bearing({ lat: 36, lng: 118 }, { lat: 37, lng: 118 })) < 0.01);
  assert.ok(Math.abs(bearing({ lat: 36, lng: 118 }, { lat: 36, lng: 119 }) - 90) < 0.5);
  assert.deepEqual(compass(44), ["东北", "north-east"]);
  assert.deepEqual(compass(350), ["北", "north"]);
  assert.deepEqual(compass(-90), ["西", "west"]);
});

test("describe names a point by its areas, else by the nearest landmark; never empty with either", () => {
  assert.equal(describe({ features: fixture.features, landmarks }, { lat: 36.8, lng: 118.0 }, zh), "测试西区 测试街道");
  // 36.83 N 118.05 E is about 4 km north-east of Zhangdian's seat.
  const p = { lat: 36.83, lng: 118.05 };
  const n = nearest(landmarks, p);
  assert.equal(n.name, "张店区");
  assert.match(describe({ features: [], landmarks }, p, zh), /^张店区政府 东北 \d\.\d 公里$/);
  assert.match(describe({ features: [], landmarks }, p, en), /^\d\.\d km north-east of the Zhangdian government$/);
  assert.equal(describe({ features: [], landmarks }, { lat: 36.8071, lng: 118.0171 }, zh), "张店区政府附近");
  assert.equal(describe({ features: [], landmarks: [] }, p, zh), "");
});

test("centre of a hexagon's outline", () => {
  const c = centre([{ lat: 1, lng: 2 }, { lat: 3, lng: 4 }]);
  assert.deepEqual(c, { lat: 2, lng: 3 });
});
