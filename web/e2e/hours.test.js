// A carer's working hours in the providers tab (hours.js), against the
// suite's one `carehex serve` (scripts/test-browser.sh). Its own carer,
// made through the API:
//   (a) an operator opens the carer's working hours (none yet), adds shifts,
//       a shift that ends before it starts is refused at that field, then
//       corrected; sets time off, the most visits a day and walking; saves;
//       re-opening shows what was saved, and the API agrees;
//   (b) a supervisor sees the same hours with no write control.
// Every page is checked for untranslated text; any console error but the
// one deliberate refusal fails.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { AuthService, CatalogService, PlanService, ProviderService } from "../static/gen/carehex.js";
import { assertNoUntranslated, assertText, launch, screenshot, signInConsole, testid, watch } from "./browser.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const WAIT = { timeout: 120_000 };

let browser;
const errors = [];
const world = {};

before(async () => {
  browser = await launch();
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: seed.username, password: seed.password }));
  const { service_types: types } = await new CatalogService(opts).listServiceTypes({});
  const last4 = String(1000 + Math.floor(Math.random() * 9000));
  const name = `孙丽${last4}`;
  const { provider } = await new ProviderService(opts).createProvider({
    name, phone: "1360006" + last4, skills: [types[0].required_skill], location: { lat: 36.79, lng: 118.05 }, gender: "GENDER_FEMALE",
  });
  Object.assign(world, { provider, name, plans: new PlanService(opts) });
});

after(async () => {
  for (const [i, context] of (browser?.contexts() || []).entries()) {
    for (const [j, page] of context.pages().entries()) await screenshot(page, `hours-last-${i}-${j}.png`).catch(() => {});
  }
  await browser?.close();
  const refused = (e) => /status of 400 .*PlanService\/SetWorkingHours/.test(e);
  assert.equal(errors.flat().filter(refused).length, 1, "the deliberate refusal");
  // A carer without hours is a 404 the page expects.
  const none = (e) => /status of 404 .*PlanService\/GetWorkingHours/.test(e);
  assert.deepEqual(errors.flat().filter((e) => !refused(e) && !none(e)), [], "no other console or page errors");
});


const signIn = (name, username, password) => signInConsole(browser, errors, seed.base_url, name, username, password, WAIT);

// openHours finds the carer in the providers tab and opens their hours.
async function openHours(page) {
  await testid(page, "tab-providers").click();
  await testid(page, "providers-search").fill(world.name);
  const row = page.locator(`[data-testid="provider"][data-provider-id="${world.provider.id}"]`);
  await row.locator('[data-testid="provider-hours"]').click();
  const form = testid(page, "hours-form");
  await assertText(form.locator("h3"), world.name);
  return form;
}

const day = (form, code) => form.locator(`[data-testid="hours-day"][data-day="${code}"]`);

test("an operator sets a carer's working hours; a refusal shows at the field; re-opening shows them", { timeout: 300_000 }, async () => {
  const op = await signIn("hours-operator", seed.username, seed.password);
  let form = await openHours(op);
  await assertText(form.locator('[data-testid="hours-none"]'), "尚未设置工作时间");

  // Monday 08:00–17:00 and Saturday mornings; Wednesday's shift ends before it starts.
  for (const code of ["MO", "WE", "SA"]) await day(form, code).locator('[data-testid="hours-add-shift"]').click();
  await day(form, "SA").locator('[data-testid="hours-shift-end"]').fill("12:00");
  await day(form, "WE").locator('[data-testid="hours-shift-start"]').fill("15:00");
  await day(form, "WE").locator('[data-testid="hours-shift-end"]').fill("09:00");
  await testid(op, "hours-add-off").click();
  await form.locator('[data-testid="hours-off-from"]').fill("2026-12-24");
  await form.locator('[data-testid="hours-off-to"]').fill("2026-12-26");
  await form.locator('[data-testid="hours-off-reason"]').fill("年假");
  await form.locator('[data-testid="hours-max-visits"]').fill("5");
  await form.locator('[data-testid="hours-mode"]').selectOption("walk");
  await testid(op, "hours-save").click();
  // Shifts are sent Monday first: Wednesday's is weekly[1].
  const fieldError = form.locator('[data-testid="field-error"][data-field="weekly[1].end"]');
  await fieldError.waitFor(WAIT);
  assert.equal(await day(form, "WE").locator('[data-testid="hours-shift-end"]').getAttribute("aria-invalid"), "true");
  await assertNoUntranslated(op, "working hours with a refusal");
  await day(form, "WE").locator('[data-testid="hours-shift-end"]').fill("18:00");
  await testid(op, "hours-save").click();
  await assertText(form.locator('[data-testid="hours-result"]'), "已保存");
  await screenshot(op, "hours.png");

  // Closed and opened again: what was saved.
  await testid(op, "hours-close").click();
  form = await openHours(op);
  assert.equal(await form.locator('[data-testid="hours-none"]').count(), 0);
  const shifts = async (code) => Promise.all((await day(form, code).locator('[data-testid="hours-shift"]').all()).map(async (s) =>
    `${await s.locator('[data-testid="hours-shift-start"]').inputValue()}–${await s.locator('[data-testid="hours-shift-end"]').inputValue()}`));
  assert.deepEqual(await shifts("MO"), ["08:00–17:00"]);
  assert.deepEqual(await shifts("WE"), ["15:00–18:00"]);
  assert.deepEqual(await shifts("SA"), ["08:00–12:00"]);
  assert.deepEqual(await shifts("TU"), []);
  assert.equal(await form.locator('[data-testid="hours-off-from"]').inputValue(), "2026-12-24");
  assert.equal(await form.locator('[data-testid="hours-off-to"]').inputValue(), "2026-12-26");
  assert.equal(await form.locator('[data-testid="hours-off-reason"]').inputValue(), "年假");
  assert.equal(await form.locator('[data-testid="hours-max-visits"]').inputValue(), "5");
  assert.equal(await form.locator('[data-testid="hours-mode"]').inputValue(), "walk");
  await assertNoUntranslated(op, "working hours saved");

  const { hours } = await world.plans.getWorkingHours({ provider_id: world.provider.id });
  assert.equal(hours.travel_mode, "walk");
  assert.equal(hours.max_visits_per_day, 5);
  assert.deepEqual(hours.weekly.map((s) => [s.weekday, s.start, s.end]).sort(), [[1, "08:00", "17:00"], [3, "15:00", "18:00"], [6, "08:00", "12:00"]]);
  assert.equal(hours.time_off.length, 1);
  assert.equal(new Date(hours.time_off[0].to_time).getTime() - new Date(hours.time_off[0].from_time).getTime(), 3 * 86400e3);
});

test("a supervisor sees a carer's working hours with no write control", { timeout: 300_000 }, async () => {
  const user = process.env.E2E_SUPERVISOR;
  const password = process.env.E2E_SUPERVISOR_PASSWORD;
  assert.ok(user && password, "E2E_SUPERVISOR and E2E_SUPERVISOR_PASSWORD (scripts/test-browser.sh)");
  const sup = await signIn("hours-supervisor", user, password);
  const form = await openHours(sup);
  assert.equal(await day(form, "MO").locator('[data-testid="hours-shift-start"]').inputValue(), "08:00");
  assert.equal(await day(form, "MO").locator('[data-testid="hours-shift-start"]').isDisabled(), true);
  for (const id of ["hours-save", "hours-add-shift", "hours-add-off"]) {
    assert.equal(await testid(sup, id).count(), 0, `supervisor sees ${id}`);
  }
  await assertNoUntranslated(sup, "working hours (supervisor)");
});
