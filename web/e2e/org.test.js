// The organisation's view of the console (issue 12), against the same
// `carehex serve` and seed as the other scenarios: a service organisation's
// dispatcher (scripts/test-browser.sh makes e2e-org, of the default
// organisation every carer without one belongs to) signs in and sees its
// organisation's name, its queue of orders, its carers, its alerts and its
// statements, and no caller lookup, intake or city map. A request offered
// to one of its carers is in its queue with the elder not shown; the
// dispatcher assigns the carer from the request's candidates (the manual
// assignment RPC, scoped to its organisation), and the elder's name shows
// while its carer holds the job. Any console error, page error or
// untranslated text fails the test.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { AuthService, IntakeService, ProviderService, ResidentService } from "../static/gen/carehex.js";
import { assertAttr, assertNoUntranslated, assertText, launch, screenshot, testid, watch } from "./browser.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const WAIT = { timeout: 120_000 };
const ORG_USER = process.env.E2E_ORG_USER || "e2e-org";
// Linzi, some 25 km east of the other scenarios' people: no carer of theirs
// is near this elder, and this carer is near none of theirs.
const home = { lat: 36.8266, lng: 118.309 };

let browser;
let requestId = "";
let operator; // the API as the seed's operator
const errors = [];

before(async () => {
  browser = await launch();
  let token = "";
  operator = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(operator).login({ username: seed.username, password: seed.password }));
});
after(async () => {
  // Free the carer: the request ends as the hotline would end it.
  if (requestId) await new IntakeService(operator).cancelServiceRequest({ id: requestId, reason_code: "resolved_by_phone" }).catch(() => {});
  await browser?.close();
});


test("an organisation's dispatcher sees its own queue, carers, alerts and statements, and assigns its carer", { timeout: 600_000 }, async () => {
  // An elder, a carer of the organisation with her phone on, and a meal
  // the dispatcher offers that carer.
  const last4 = String(1000 + Math.floor(Math.random() * 9000));
  const { resident } = await new ResidentService(operator).createResident({
    name: "周玉兰", phone: "1390535" + last4, address: "临淄区桓公路12号1单元301", district: "临淄区", location: home,
  });
  const providers = new ProviderService(operator);
  const carerHome = { lat: home.lat + 0.002, lng: home.lng };
  const { provider } = await providers.createProvider({ name: "郑丽", phone: "1360535" + last4, skills: ["meal_service"], location: carerHome });
  const { token: device } = await providers.issueDeviceToken({ provider_id: provider.id });
  const beat = await fetch(seed.base_url + "/m/v1/heartbeat", {
    method: "POST", headers: { Authorization: "Bearer " + device, "Content-Type": "application/json" },
    body: JSON.stringify({ ...carerHome, accuracy_m: 10, available: true }),
  });
  assert.equal(beat.status, 200, "heartbeat: " + (await beat.text()));
  const intake = new IntakeService(operator);
  ({ request: { id: requestId } } = await intake.createServiceRequest({ resident_id: resident.id, service_code: "DL-MEAL-DELIVERY", urgency: "URGENCY_SOON" }));
  for (let i = 0; i < 100; i++) {
    const { request } = await intake.getServiceRequest({ id: requestId });
    if (request.status === "REQUEST_STATUS_OFFERED") break;
    await new Promise((r) => setTimeout(r, 200));
  }

  const context = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai", viewport: { width: 1440, height: 900 } });
  context.setDefaultTimeout(WAIT.timeout);
  errors.push(watch(context, "org"));
  const page = await context.newPage();
  await page.goto(seed.base_url + "/console/");
  await testid(page, "login-username").fill(ORG_USER);
  await testid(page, "login-password").fill(seed.password);
  await testid(page, "login-password").press("Enter");
  await testid(page, "console").waitFor(WAIT);

  // Its own view: its name, its tabs, none of the platform's.
  await assertText(testid(page, "org-name"), "未分配机构");
  await assertText(testid(page, "current-user"), "服务机构调度员");
  assert.equal(await testid(page, "desk-left").isHidden(), true, "no caller lookup or intake");
  assert.equal(await testid(page, "tab-map").isHidden(), true, "no city map");
  assert.equal(await testid(page, "tab-board").isHidden(), true, "the board is its queue");
  await testid(page, "tab-queue").waitFor(WAIT);
  await testid(page, "tab-statements").waitFor(WAIT);

  // The offered request is in its queue; the elder is not shown yet.
  const card = page.locator(`[data-testid="board-card"][data-request-id="${requestId}"]`);
  await card.waitFor(WAIT);
  await assertAttr(card, "data-status", "offered");
  await assertText(card.locator(".who"), "接单后显示");
  await assertNoUntranslated(page, "the organisation's queue");
  await screenshot(page, "org-queue.png");

  // Assign its carer from the request's candidates.
  await card.click();
  await assertAttr(testid(page, "detail-title"), "data-request-id", requestId);
  const cand = page.locator(`[data-testid="candidate"][data-provider-id="${provider.id}"]`);
  await cand.waitFor(WAIT);
  await cand.locator('[data-testid="assign"]').click();
  await assertAttr(testid(page, "detail-title"), "data-status", "assigned");
  await assertText(testid(page, "detail-title"), resident.name);
  await assertNoUntranslated(page, "the request's detail in the organisation's view");
  await page.keyboard.press("Escape");

  // Held by its carer: the elder's name is on the card.
  await assertAttr(card, "data-status", "assigned");
  await assertText(card.locator(".who"), resident.name);

  // Its carers, with the new one; its statements.
  await testid(page, "tab-providers").click();
  // By name: console.test.js adds 55 carers to the same organisation, so she may be past the first page.
  await testid(page, "providers-search").fill(provider.name);
  await page.locator(`[data-testid="providers"] >> text=${provider.name}`).first().waitFor(WAIT);
  await testid(page, "tab-statements").click();
  await page.locator('[data-testid="statements"] table, [data-testid="statements-empty"]').first().waitFor(WAIT);
  await assertNoUntranslated(page, "the organisation's carers and statements");
  await screenshot(page, "org-statements.png");
  assert.deepEqual(errors.flat(), [], "no console or page errors");
});
