// The elder's service card on the carer's phone (issue 12), against the
// same `carehex serve` as the other files. scripts/test-browser.sh registers
// an organisation whose contract requires the card (CAREHEX_E2E_CARD_ORG);
// the test makes its own elder in Linzi (临淄), far from the other files'
// people, a carer of that organisation, prints the elder's card through
// the console's API and assigns the carer by hand. On arrival the phone
// asks for the card; headless chromium has no camera, so the phone says so
// and takes the short code printed on the card: another elder's code is
// refused in the server's words, the right one (typed in lower case) is
// accepted and the arrival goes through. The card image's QR decodes with
// the phone's decoder (jsQR) to the signed code. At the end the network is
// cut: the code is kept on the phone and sent, with the completion, when it
// returns. No other console errors.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { assertNoUntranslated, assertText, launch, screenshot, testid, watch } from "./browser.js";
import { AuthService, DispatchService, FinanceService, IntakeService, ProviderService, ResidentService } from "../static/gen/carehex.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const WAIT = { timeout: 60_000 };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });


test("phone: the service card's short code when the camera is unavailable", { timeout: 300_000 }, async () => {
  const org = process.env.CAREHEX_E2E_CARD_ORG;
  assert.ok(org, "scripts/test-browser.sh sets CAREHEX_E2E_CARD_ORG");
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: seed.username, password: seed.password }));
  const home = { lat: 36.8205, lng: 118.3098 }; // Linzi district, Zibo
  const tail = String(1000 + Math.floor(Math.random() * 9000));
  const residents = new ResidentService(opts);
  const { resident } = await residents.createResident({
    name: "孙桂芝", phone: "1390535" + tail, address: "临淄区桓公路18号1单元101", district: "临淄区", location: home,
  });
  const { resident: neighbour } = await residents.createResident({
    name: "周德福", phone: "1390536" + tail, address: "临淄区桓公路20号", district: "临淄区", location: home,
  });
  const providers = new ProviderService(opts);
  const { provider } = await providers.createProvider({
    name: "吴敏", phone: "1360535" + tail, skills: ["meal_service"], organisation: org,
    location: { lat: home.lat + 0.002, lng: home.lng },
  });
  const { token: device } = await providers.issueDeviceToken({ provider_id: provider.id });
  const finance = new FinanceService(opts);
  const card = await finance.printServiceCard({ resident_id: resident.id });
  const other = await finance.printServiceCard({ resident_id: neighbour.id });
  assert.match(card.short_code, /^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  assert.notEqual(card.short_code, other.short_code);

  const intake = new IntakeService(opts);
  const { request } = await intake.createServiceRequest({
    resident_id: resident.id, service_code: "DL-MEAL-DELIVERY", urgency: "URGENCY_SOON", idempotency_key: `card-e2e-${tail}`,
  });
  const dispatch = new DispatchService(opts);
  await dispatch.assignProvider({ request_id: request.id, provider_id: provider.id, phoned: true, reason: "服务卡试点" });
  // Nobody near her was online: tidy the request's alerts away so the
  // console scenario (same server) sees only its own.
  for (const a of (await dispatch.listAlerts({ open_only: true, limit: 500 })).alerts || []) {
    if (a.request_id === request.id) await dispatch.acknowledgeAlert({ id: a.id });
  }

  const context = await browser.newContext({
    locale: "zh-CN", timezoneId: "Asia/Shanghai", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    permissions: ["geolocation"], geolocation: { latitude: home.lat, longitude: home.lng, accuracy: 10 },
  });
  context.setDefaultTimeout(WAIT.timeout);
  const errors = watch(context, "card");
  const phone = await context.newPage();
  await phone.goto(seed.base_url + "/phone/");
  await testid(phone, "device-token").fill(device);
  await testid(phone, "sign-in").click();
  // The printed card's QR decodes, with the phone's own decoder, to the signed code.
  const decoded = await phone.evaluate(async (b64) => {
    const { default: jsQR } = await import("/vendor/jsqr/jsqr.mjs");
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height);
    return jsQR(d.data, d.width, d.height)?.data;
  }, card.png);
  assert.equal(decoded, card.payload, "the card image carries its payload");

  await testid(phone, "depart").click();
  await phone.locator('[data-testid="arrive"]:not([disabled])').waitFor(WAIT);
  await testid(phone, "arrive").click();

  // The card panel; the camera is unavailable, so the phone asks for the code.
  const panel = testid(phone, "card-panel");
  await panel.waitFor(WAIT);
  assert.equal(await panel.getAttribute("data-stage"), "arrive");
  await testid(phone, "card-camera").click();
  await phone.locator('[data-testid="card-note"][data-camera="unavailable"]').waitFor(WAIT);
  await assertText(testid(phone, "card-note"), "摄像头不可用");
  await assertNoUntranslated(phone, "the phone's card panel");

  // Another elder's code is refused, in words.
  await testid(phone, "card-code").fill(other.short_code);
  await testid(phone, "card-submit").click();
  await assertText(testid(phone, "card-error"), "卡号与本次服务老人的服务卡不符");
  assert.ok(!(await testid(phone, "card-error").textContent()).includes("令牌"), "the refusal is about the card, not the token");
  await screenshot(phone, "phone-card.png");

  // Hers, typed in lower case without the hyphen, is accepted; the arrival goes through.
  await testid(phone, "card-code").fill(card.short_code.replace("-", "").toLowerCase());
  await testid(phone, "card-submit").click();
  await panel.waitFor({ state: "detached", ...WAIT });
  await phone.locator('[data-testid="complete"]:not([disabled])').waitFor(WAIT);
  for (let i = 0; i < 100; i++) {
    const { request: r } = await intake.getServiceRequest({ id: request.id });
    if (r.status === "REQUEST_STATUS_IN_PROGRESS") break;
    assert.ok(i < 99, `the arrival reached the server (request is ${r.status})`);
    await new Promise((res) => setTimeout(res, 200));
  }

  // A dead zone at the end: the code is kept on the phone, the visit goes
  // on, and both reach the server when the network returns.
  await context.setOffline(true);
  await testid(phone, "complete").click();
  await panel.waitFor(WAIT);
  assert.equal(await panel.getAttribute("data-stage"), "complete");
  await testid(phone, "card-code").fill(card.short_code);
  await testid(phone, "card-submit").click();
  await assertText(testid(phone, "card-note"), "无网络");
  await panel.waitFor({ state: "detached", ...WAIT });
  assert.equal((await phone.evaluate(() => JSON.parse(localStorage.getItem("carehex.phone.cards")))).length, 1, "the reading is kept");
  await context.setOffline(false);
  await phone.waitForFunction(() => JSON.parse(localStorage.getItem("carehex.phone.cards") || "[]").length === 0, null, WAIT);
  for (let i = 0; i < 100; i++) {
    const { request: r } = await intake.getServiceRequest({ id: request.id });
    if (r.status === "REQUEST_STATUS_COMPLETED") break;
    assert.ok(i < 99, `the completion reached the server (request is ${r.status})`);
    await new Promise((res) => setTimeout(res, 200));
  }
  await context.close();

  // The one expected line: the browser's own note of the refused code's 403.
  const refused = (e) => /status of 403/.test(e) && e.includes("/card");
  assert.equal(errors.filter(refused).length, 1, "the other elder's code was refused once");
  assert.deepEqual(errors.filter((e) => !refused(e)), [], "no console or page errors");
});
