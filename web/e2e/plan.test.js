// Planned care in the pages, against the suite's one `carehex serve`
// (scripts/test-browser.sh). Its own elder, carer (with working hours) and
// family link, made through the API, so no other scenario sees its visits
// in their lists:
//   (a) an operator creates a weekly plan in the editor (a refusal shown at
//       the field the server names, then corrected), moves one visit "this
//       visit only", and sees the visits projected;
//   (b) the roster view rosters them: the carer's timeline shows the planned
//       visits with the travel before each, and nothing is left unassigned;
//   (c) the family page shows the week ahead with the carer and the moved
//       visit's change of time;
//   (d) a supervisor sees plans and roster without a single write control;
//   (e) the operator changes the item "this and all later visits" and
//       pauses the plan for a hospital stay; editor and family page follow.
// Every page is checked for untranslated text; any console error fails.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { AuthService, CatalogService, PlanService, ProviderService, ResidentService } from "../static/gen/carehex.js";
import { assertNoUntranslated, assertText, launch, screenshot, signInConsole, testid, watch } from "./browser.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const WAIT = { timeout: 120_000 };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

let browser;
const errors = [];
const world = {};

// CST calendar arithmetic, as the pages do it.
const cstDate = (d) => new Date(d.getTime() + 8 * 3600e3).toISOString().slice(0, 10);
const RRULE_DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
const dayAfter = (n) => {
  const d = new Date(Date.now() + n * 86400e3);
  return { date: cstDate(d), weekday: RRULE_DAYS[new Date(cstDate(d) + "T12:00:00Z").getUTCDay()] };
};

before(async () => {
  browser = await launch();
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: seed.username, password: seed.password }));
  const { service_types: types } = await new CatalogService(opts).listServiceTypes({});
  const meal = types.find((t) => t.code === "DL-MEAL-DELIVERY");
  assert.ok(meal, "the catalogue has DL-MEAL-DELIVERY");
  // Out in Zhoucun, away from the other scenarios' people.
  const home = { lat: 36.8031, lng: 117.8692 };
  const last4 = String(1000 + Math.floor(Math.random() * 9000));
  const { resident } = await new ResidentService(opts).createResident({
    name: "周玉兰", phone: "1390535" + last4, address: "周村区丝绸路18号1单元302", district: "周村区", location: home,
    gender: "GENDER_FEMALE", birth_year: 1940,
  });
  const { provider } = await new ProviderService(opts).createProvider({
    name: "陈静", phone: "1360005" + last4, skills: [meal.required_skill], location: { lat: home.lat + 0.012, lng: home.lng },
    gender: "GENDER_FEMALE",
  });
  // Every day 07:00–20:00: the roster may use her; her phone never reports,
  // so on-demand dispatch never offers her anything.
  await new PlanService(opts).setWorkingHours({ hours: {
    provider_id: provider.id, weekly: [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: "07:00", end: "20:00" })),
    max_visits_per_day: 8, max_work_per_day_s: 6 * 3600, travel_mode: "ebike", home: { lat: home.lat + 0.012, lng: home.lng },
  } });
  const { access_token: family } = await new ResidentService(opts).linkFamilyMember({
    resident_id: resident.id, name: "周强", phone: "1380535" + last4, relation: "儿子",
  });
  Object.assign(world, { resident, last4, provider, family });
});

after(async () => {
  for (const [i, context] of (browser?.contexts() || []).entries()) {
    for (const [j, page] of context.pages().entries()) await screenshot(page, `plan-last-${i}-${j}.png`).catch(() => {});
  }
  await browser?.close();
  // The one refusal the editor provokes on purpose is logged by the browser
  // as a failed load; anything else fails the test.
  const refused = (e) => /status of 400 .*PlanService\/CreateCarePlan/.test(e);
  assert.equal(errors.flat().filter(refused).length, 1, "the deliberate refusal");
  assert.deepEqual(errors.flat().filter((e) => !refused(e)), [], "no other console or page errors");
});


const signIn = (name, username, password) => signInConsole(browser, errors, seed.base_url, name, username, password, WAIT);

async function pickResident(page) {
  await testid(page, "caller-search").fill(world.last4);
  await page.locator(`[data-testid="search-result"][data-resident-id="${world.resident.id}"]`).click();
  await assertText(testid(page, "resident-name"), world.resident.name);
}

const first = dayAfter(1);
const second = dayAfter(2);

let op; // the operator's page, shared by the tests in order
let family; // the family's page

test("an operator plans weekly visits, moves one, rosters them; the family sees the week", { timeout: 600_000 }, async () => {
  op = await signIn("plan-operator", seed.username, seed.password);
  await pickResident(op);
  await testid(op, "tab-plans").click();
  await assertText(testid(op, "plans-resident"), world.resident.name);
  await assertText(testid(op, "plans-empty"), "还没有护理计划");

  // (a) The editor: a meal on the two coming weekdays, weekly.
  await testid(op, "plan-new").click();
  const item = testid(op, "item-form");
  await item.locator('[data-testid="item-service"]').selectOption("DL-MEAL-DELIVERY");
  await item.locator('[data-testid="item-repeat"]').selectOption("weekly");
  for (const box of await item.locator('[data-testid="item-day"]').all()) {
    const day = await box.getAttribute("data-day");
    if ((day === first.weekday || day === second.weekday) !== (await box.isChecked())) await box.click();
  }
  await assertText(item.locator('[data-testid="item-rrule-words"]'), "每周");
  await item.locator(`[data-testid="item-preferred"] option[value="${world.provider.id}"]`).waitFor({ state: "attached", ...WAIT });
  await item.locator('[data-testid="item-preferred"]').selectOption(world.provider.id);
  await item.locator('[data-testid="item-duration"]').fill("30");
  await testid(op, "plan-funding").fill("区级居家养老补贴 A 类");
  // A window that ends before it starts: the server names the field and the
  // page shows its words there.
  await item.locator('[data-testid="item-window-start"]').fill("09:00");
  await item.locator('[data-testid="item-window-end"]').fill("08:00");
  await testid(op, "plan-save").click();
  const fieldError = op.locator('[data-testid="field-error"][data-field="items[0].window_end"]');
  await assertText(fieldError, "时段结束");
  assert.equal(await item.locator('[data-testid="item-window-end"]').getAttribute("aria-invalid"), "true");
  await assertNoUntranslated(op, "plan editor with a refusal");
  await screenshot(op, "plan.png");
  await item.locator('[data-testid="item-window-end"]').fill("11:00");
  await testid(op, "plan-save").click();
  await assertText(testid(op, "plan-created"), "计划已保存");
  await assertText(testid(op, "plan-item-text"), "陈静");

  // Projected: the two coming visits, not yet rostered.
  const visitOn = (date) => op.locator('[data-testid="planned-visit"]', { hasText: date });
  await assertText(visitOn(first.date).locator('[data-testid="planned-visit-status"]'), "待排班");
  // "This visit only": the second one moves to the afternoon.
  await visitOn(second.date).locator('[data-testid="planned-visit-edit"]').click();
  const edit = testid(op, "visit-edit-form");
  await edit.locator('[data-testid="visit-window-start"]').fill("14:00");
  await edit.locator('[data-testid="visit-window-end"]').fill("16:00");
  await edit.locator('[data-testid="visit-edit-save"]').click();
  await assertText(visitOn(second.date), "14:00–16:00");
  await assertText(visitOn(second.date), "已调整时间");
  await assertNoUntranslated(op, "plan tab");

  // (b) The roster view, from tomorrow: both rostered to 陈静, each with the
  // journey before it drawn.
  await testid(op, "tab-roster").click();
  await testid(op, "roster-date").fill(first.date);
  await testid(op, "roster-run").click();
  await assertText(testid(op, "roster-run-result"), /已排 [1-9]\d* 次/);
  const row = op.locator(`[data-testid="roster-carer"][data-provider-id="${world.provider.id}"]`);
  await assertText(row.locator('[data-testid="roster-carer-name"]'), "陈静");
  await row.locator('[data-testid="roster-stop"][data-kind="planned"]').first().waitFor(WAIT);
  assert.equal(await row.locator('[data-testid="roster-stop"][data-kind="planned"]').count(), 1, "one planned visit of hers tomorrow");
  assert.equal(await row.locator('[data-testid="roster-travel"]').count(), 1, "the journey from her home base is drawn");
  assert.match(await row.locator('[data-testid="roster-travel"]').getAttribute("title"), /路上约 \d+ 分钟/);
  assert.equal(await op.locator(`[data-testid="roster-unassigned-visit"]`).filter({ hasText: world.resident.name }).count(), 0,
    "none of her visits is left unassigned");
  await assertText(testid(op, "roster-ontime"), "准时率");
  await assertNoUntranslated(op, "roster view");
  await screenshot(op, "roster.png");
  await testid(op, "roster-date").fill(second.date);
  await op.locator(`[data-testid="roster-carer"][data-provider-id="${world.provider.id}"] [data-testid="roster-stop"][data-kind="planned"]`).waitFor(WAIT);

  // (c) The family's week: both visits with their carer, the moved one flagged.
  const context = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai", ...PHONE });
  context.setDefaultTimeout(WAIT.timeout);
  errors.push(watch(context, "plan-family"));
  family = await context.newPage();
  await family.goto(seed.base_url + "/family/#token=" + encodeURIComponent(world.family));
  await testid(family, "upcoming").waitFor(WAIT);
  const upcoming = testid(family, "upcoming-visit");
  await assertText(upcoming.first().locator('[data-testid="upcoming-carer"]'), "陈静");
  assert.equal(await upcoming.count(), 2, "the two visits of the coming week");
  const moved = family.locator('[data-testid="upcoming-visit"][data-changed="true"]');
  await assertText(moved.locator('[data-testid="upcoming-time-changed"]'), "时间有调整");
  await assertText(moved.locator("h3"), "14:00");
  await assertNoUntranslated(family, "family week");
  await screenshot(family, "family-upcoming.png");
});

test("a supervisor sees plans and the roster with no write control", { timeout: 300_000 }, async () => {
  const user = process.env.E2E_SUPERVISOR;
  const password = process.env.E2E_SUPERVISOR_PASSWORD;
  assert.ok(user && password, "E2E_SUPERVISOR and E2E_SUPERVISOR_PASSWORD (scripts/test-browser.sh)");
  const sup = await signIn("plan-supervisor", user, password);
  await pickResident(sup);
  await testid(sup, "tab-plans").click();
  await assertText(testid(sup, "plan-item-text"), "陈静");
  await testid(sup, "planned-visit").first().waitFor(WAIT);
  for (const id of ["plan-new", "plan-item-edit", "planned-visit-edit", "plan-pause", "plan-resume"]) {
    assert.equal(await testid(sup, id).count(), 0, `supervisor sees ${id}`);
  }
  await assertNoUntranslated(sup, "plan tab (supervisor)");
  await testid(sup, "tab-roster").click();
  await testid(sup, "roster-date").fill(first.date);
  await sup.locator(`[data-testid="roster-carer"][data-provider-id="${world.provider.id}"] [data-testid="roster-stop"]`).first().waitFor(WAIT);
  assert.equal(await testid(sup, "roster-run").count(), 0, "supervisor sees the roster button");
  await assertNoUntranslated(sup, "roster view (supervisor)");
});

test("the item changed from the day after tomorrow on, and a hospital stay tomorrow: the editor and the family page follow", { timeout: 300_000 }, async () => {
  await testid(op, "tab-plans").click();
  // "This and all later visits" from the second day: the afternoon instead.
  await testid(op, "plan-item-edit").first().click();
  const form = testid(op, "item-edit-form");
  await form.locator('[data-testid="item-window-start"]').fill("15:00");
  await form.locator('[data-testid="item-window-end"]').fill("17:00");
  await form.locator('[data-testid="item-from"]').fill(second.date);
  await form.locator('[data-testid="item-edit-save"]').click();
  await assertText(testid(op, "plan-item-text").nth(1), "15:00–17:00");
  await assertText(testid(op, "plan-item-text").first(), `至 ${first.date}`);
  // A hospital stay tomorrow.
  await testid(op, "plan-pause").click();
  const pause = testid(op, "pause-form");
  await pause.locator('[data-testid="pause-from"]').fill(first.date);
  await pause.locator('[data-testid="pause-to"]').fill(first.date);
  await pause.locator('[data-testid="pause-save"]').click();
  await assertText(testid(op, "plan-pauses"), `${first.date} ~ ${first.date}（住院）`);
  await assertText(op.locator('[data-testid="planned-visit"]', { hasText: first.date }).first().locator('[data-testid="planned-visit-status"]'), "暂停");
  await assertNoUntranslated(op, "plan tab after the changes");

  // The family's week: tomorrow paused, the day after at 15:00.
  await family.reload();
  await assertText(family.locator('[data-testid="upcoming-paused"]'), "暂停");
  await assertText(family.locator('[data-testid="upcoming-visit"]', { hasText: "15:00" }).locator("h3"), "15:00–17:00");
  await assertNoUntranslated(family, "family week after the changes");
});
