// Words reach people in their language (DESIGN.md invariant 9), checked in
// Chromium against the same `carehex serve` as scenario.test.js, with people
// of its own far from the scenario's (Boshan, ~40 km off) so that the two
// files, run side by side, never offer each other's jobs:
//   - a request nobody near can do raises a no_provider_nearby alert that
//     names the elder and the service, in Chinese;
//   - a carer declines an offer with a reason code: the timeline names the
//     carer and says the reason in words; the offers list names the carer;
//   - an invalid submit (notes too long) says what is wrong in Chinese;
//   - the console (with the alert history), the phone and the family page
//     show no ID, code or English word (assertNoUntranslated).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { AuthService, IntakeService, ProviderService, ResidentService } from "../static/gen/carehex.js";
import { assertNoUntranslated, launch, testid, watch } from "./browser.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const WAIT = { timeout: 120_000 };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const home = { lat: 36.4990, lng: 117.8620 }; // Boshan district, far from the scenario's people

let browser;
const errors = [];
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });


async function open(name, options, path) {
  const context = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai", ...options });
  context.setDefaultTimeout(WAIT.timeout);
  errors.push(watch(context, name));
  const page = await context.newPage();
  await page.goto(seed.base_url + path);
  return page;
}

// mobile calls the phone API as a phone would.
async function mobile(token, method, path, body) {
  const res = await fetch(seed.base_url + path, {
    method, headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

test("alerts, reasons and errors read in Chinese; no ID, code or English word on the zh pages", { timeout: 900_000 }, async () => {
  // People of this test's own, through the API the console uses.
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: seed.username, password: seed.password }));
  const last4 = String(1000 + Math.floor(Math.random() * 9000));
  const residents = new ResidentService(opts);
  const { resident } = await residents.createResident({
    name: "赵秀兰", phone: "1390534" + last4, address: "博山区山头街道颜山路8号", district: "博山区", location: home,
  });
  const { access_token: familyToken } = await residents.linkFamilyMember({ resident_id: resident.id, name: "赵强", phone: "1380534" + last4, relation: "儿子" });
  const providers = new ProviderService(opts);
  const { provider } = await providers.createProvider({
    name: "孙丽", phone: "1360534" + last4, skills: ["meal_service"], location: { lat: home.lat + 0.002, lng: home.lng + 0.002 },
  });
  const { token: device } = await providers.issueDeviceToken({ provider_id: provider.id });
  await mobile(device, "POST", "/m/v1/heartbeat", { lat: home.lat + 0.002, lng: home.lng + 0.002, accuracy_m: 10, available: true });

  // A bath nobody near can give: the dispatcher raises no_provider_nearby.
  const intake = new IntakeService(opts);
  const { request: bath } = await intake.createServiceRequest({ resident_id: resident.id, service_code: "DL-BATH-HOME", urgency: "URGENCY_SOON" });
  // A meal the carer is offered and declines as too far.
  const { request: meal } = await intake.createServiceRequest({ resident_id: resident.id, service_code: "DL-MEAL-DELIVERY", urgency: "URGENCY_SOON" });
  let offer;
  for (let i = 0; i < 10 && !offer; i++) {
    const { offers } = await mobile(device, "GET", "/m/v1/offers?wait=20");
    offer = offers.find((o) => o.request_id === meal.id);
  }
  assert.ok(offer, "the carer is offered the meal");
  await mobile(device, "POST", `/m/v1/offers/${offer.id}/decline`, { reason: "too_far" });

  // The console: sign in; the alert names the elder and the service.
  const op = await open("console", { viewport: { width: 1440, height: 900 } }, "/console/");
  await testid(op, "login-username").fill(seed.username);
  await testid(op, "login-password").fill(seed.password);
  await testid(op, "login-password").press("Enter");
  await testid(op, "console").waitFor(WAIT);
  const alert = op.locator(`[data-testid="alert"][data-kind="no_candidates"]`, { has: op.locator(`[data-testid="alert-resident"]`, { hasText: "赵秀兰" }) }).first();
  await alert.waitFor(WAIT);
  await op.locator(`[data-testid="alert"]`, { hasText: "上门助浴" }).first().waitFor(WAIT);
  assert.match(await alert.locator(`[data-testid="alert-text"]`).first().textContent(), /公里内没有可用的/);

  // The declined meal: its timeline names the carer and the reason in words.
  await op.evaluate(() => {}); // keep the page settled before opening the detail
  const card = op.locator(`[data-testid="board-card"][data-request-id="${meal.id}"]`);
  await card.waitFor(WAIT);
  await card.click();
  const declined = op.locator(`[data-testid="timeline-event"][data-type="offer_declined"]`);
  await declined.waitFor(WAIT);
  const row = await declined.textContent();
  assert.match(row, /孙丽/, "the decline names the carer");
  assert.match(row, /距离太远/, "the decline says the reason in words");
  await op.locator(`[data-testid="offer"][data-provider-id="${provider.id}"]`, { hasText: "孙丽" }).waitFor(WAIT);
  await assertNoUntranslated(op, "console with a request's detail");
  await testid(op, "detail-close").click();

  // An invalid submit: notes longer than the server takes.
  await testid(op, "caller-search").fill(last4);
  await op.locator(`[data-testid="search-result"][data-resident-id="${resident.id}"]`).click();
  await testid(op, "service-input").fill("");
  await testid(op, "service-input").focus();
  await op.keyboard.type("DL-MEAL-DELIVERY");
  await op.locator(`[data-testid="service-option"][data-code="DL-MEAL-DELIVERY"]`).first().waitFor(WAIT);
  await op.keyboard.press("Enter");
  await testid(op, "request-notes").fill("饭".repeat(2001));
  await testid(op, "request-submit").click();
  await op.getByText("备注须为文字，最多 2000 字").first().waitFor(WAIT);
  await assertNoUntranslated(op, "console after a refused submit");

  // The alert history: closed ones say why they closed, in words.
  await intake.cancelServiceRequest({ id: bath.id, reason_code: "duplicate" });
  await testid(op, "alerts-history").check();
  await op.locator(`[data-testid="alert"][data-state="closed"]`, { hasText: "需求已取消，自动关闭" }).first().waitFor(WAIT);
  await assertNoUntranslated(op, "console alert history");

  // The phone of the carer and the family page, in Chinese.
  const phone = await open("phone", { ...PHONE, permissions: ["geolocation"], geolocation: { latitude: home.lat, longitude: home.lng, accuracy: 10 } }, "/phone/");
  await testid(phone, "device-token").fill(device);
  await testid(phone, "sign-in").click();
  await testid(phone, "go-available").waitFor(WAIT);
  await assertNoUntranslated(phone, "phone");
  const family = await open("family", PHONE, "/family/");
  await testid(family, "family-token").fill(familyToken);
  await testid(family, "sign-in").click();
  await testid(family, "visit-status").first().waitFor(WAIT);
  await assertNoUntranslated(family, "family page");

  // Leave nothing open for the other browser tests sharing the server.
  await intake.cancelServiceRequest({ id: meal.id, reason_code: "duplicate" });

  // The refused submit is this test's own doing: Chromium logs its 400.
  const refused = /status of 400 .*IntakeService\/CreateServiceRequest/;
  assert.deepEqual(errors.flat().filter((e) => !refused.test(e)), [], "no console or page errors");
});
