// Evidence on the phone and in the console (issue 12), against the same
// `carehex serve` as the other files. The test makes its own elder and
// carer in Boshan (博山), far from the other files' people. It walks: the
// carer accepts, departs and arrives, and takes the scene's photo (the file
// input the camera fills); the supervisor opens the request on the board and
// asks for its photos, which show, each look audited by the server. A
// second carer sends the same photo for another visit: the scan
// (CAREHEX_FRAUD_EVERY=2s in test-browser.sh) flags both; the supervisor
// sees them without ruling buttons, the operator clears one with a reason.
// No console errors.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { launch, screenshot, testid, watch } from "./browser.js";
import { AuthService, DispatchService, IntakeService, ProviderService, ResidentService } from "../static/gen/carehex.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const WAIT = { timeout: 120_000 };
// A 2×2 PNG, as a camera's file would arrive.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGM4YWQERAwQCgAjNgSxRnwWMwAAAABJRU5ErkJggg==", "base64");

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });


test("evidence: the carer's photo reaches the supervisor's request detail", { timeout: 600_000 }, async () => {
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: seed.username, password: seed.password }));
  const home = { lat: 36.4950, lng: 117.8600 }; // Boshan district, Zibo
  const tail = String(1000 + Math.floor(Math.random() * 9000));
  const { resident } = await new ResidentService(opts).createResident({
    name: "钱玉兰", phone: "1390535" + tail, address: "博山区中心路6号1单元101", district: "博山区", location: home,
  });
  const providers = new ProviderService(opts);
  const { provider } = await providers.createProvider({
    name: "周萍", phone: "1360535" + tail, skills: ["meal_service"], location: { lat: home.lat + 0.002, lng: home.lng },
  });
  const { token: device } = await providers.issueDeviceToken({ provider_id: provider.id });

  const context = await browser.newContext({
    locale: "zh-CN", timezoneId: "Asia/Shanghai", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    permissions: ["geolocation"], geolocation: { latitude: home.lat + 0.0003, longitude: home.lng, accuracy: 10 },
  });
  context.setDefaultTimeout(WAIT.timeout);
  const errors = watch(context, "evidence");
  const phone = await context.newPage();
  await phone.goto(seed.base_url + "/phone/");
  await testid(phone, "device-token").fill(device);
  await testid(phone, "sign-in").click();
  await testid(phone, "go-available").click();
  await phone.waitForFunction(() => document.querySelector('[data-testid="availability"]')?.dataset.state === "available", null, WAIT);

  const { request } = await new IntakeService(opts).createServiceRequest({
    resident_id: resident.id, service_code: "DL-MEAL-DELIVERY", urgency: "URGENCY_SOON", idempotency_key: `evidence-e2e-${tail}`,
  });
  await testid(phone, "offer").waitFor(WAIT);
  await testid(phone, "accept").click();
  await testid(phone, "job").waitFor(WAIT);
  await testid(phone, "depart").click();
  await phone.locator('[data-testid="arrive"]:not([disabled])').waitFor(WAIT);
  await testid(phone, "arrive").click();
  const input = phone.locator('[data-testid="photo-input"][data-stage="arrive"]');
  await input.waitFor({ state: "attached", ...WAIT });
  assert.equal(await input.getAttribute("capture"), "environment", "the camera opens, not the gallery");
  await input.setInputFiles({ name: "scene.png", mimeType: "image/png", buffer: PNG });
  await phone.waitForFunction(() => document.querySelector('[data-testid="photo-status"]')?.dataset.sha256, null, WAIT);
  const sha = await testid(phone, "photo-status").getAttribute("data-sha256");
  assert.match(sha, /^[0-9a-f]{64}$/);
  await testid(phone, "photo-box").scrollIntoViewIfNeeded();
  await screenshot(phone, "phone-photo.png");
  // The supervisor reads it on the board's request.
  const console_ = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai", viewport: { width: 1400, height: 900 } });
  console_.setDefaultTimeout(WAIT.timeout);
  const consoleErrors = watch(console_, "console");
  const sup = await console_.newPage();
  await sup.goto(seed.base_url + "/console/");
  await testid(sup, "login-username").fill(process.env.E2E_SUPERVISOR);
  await testid(sup, "login-password").fill(process.env.E2E_SUPERVISOR_PASSWORD);
  await testid(sup, "login-password").press("Enter");
  await sup.locator(`[data-testid="board-card"][data-request-id="${request.id}"]`).click();
  await testid(sup, "detail-show-photos").click();
  const fig = sup.locator(`[data-testid="visit-photo"][data-sha256="${sha}"]`);
  await fig.waitFor(WAIT);
  assert.ok(await fig.locator("img").evaluate((img) => img.complete && img.naturalWidth === 2), "the photo decodes");
  await sup.keyboard.press("Escape");
  await testid(phone, "complete").click();
  await phone.locator('[data-testid="photo-input"][data-stage="complete"]').waitFor({ state: "attached", ...WAIT });

  // A second carer sends the very same photo as evidence of another visit
  // (through the phone API, as a script would): the scan flags both.
  // Far from the first carer (Linzi, 临淄), so dispatch offers it to the second only.
  const home2 = { lat: 36.8200, lng: 118.3100 };
  const { resident: resident2 } = await new ResidentService(opts).createResident({
    name: "孙桂芝", phone: "1390536" + tail, address: "临淄区桓公路9号3单元202", district: "临淄区", location: home2,
  });
  const { provider: other } = await providers.createProvider({
    name: "吴静", phone: "1360536" + tail, skills: ["meal_service"], location: { lat: home2.lat - 0.002, lng: home2.lng },
  });
  const { token: otherDevice } = await providers.issueDeviceToken({ provider_id: other.id });
  const mobile = async (method, path, body, type = "application/json") => {
    const res = await fetch(seed.base_url + path, { method, headers: { Authorization: "Bearer " + otherDevice, "Content-Type": type },
      body: body === undefined ? undefined : type === "application/json" ? JSON.stringify(body) : body });
    assert.ok(res.ok, `${method} ${path}: HTTP ${res.status} ${await res.clone().text()}`);
    return res.json();
  };
  await mobile("POST", "/m/v1/heartbeat", { lat: home2.lat - 0.002, lng: home2.lng, accuracy_m: 10, available: true });
  const { request: second } = await new IntakeService(opts).createServiceRequest({
    resident_id: resident2.id, service_code: "DL-MEAL-DELIVERY", urgency: "URGENCY_SOON", idempotency_key: `evidence-e2e-${tail}-2`,
  });
  let offer;
  for (let i = 0; i < 12 && !offer; i++) offer = (await mobile("GET", "/m/v1/offers?wait=5")).offers.find((o) => o.request_id === second.id);
  assert.ok(offer, "the second carer is offered the second request");
  const { visit } = await mobile("POST", `/m/v1/offers/${offer.id}/accept`);
  for (const type of ["arrive", "complete"]) {
    await mobile("POST", `/m/v1/visits/${visit.id}/events`, { event_id: `${visit.id}-${type}`, type, lat: home2.lat, lng: home2.lng,
      accuracy_m: 10, device_time: new Date().toISOString() });
  }
  await mobile("POST", `/m/v1/visits/${visit.id}/photos?stage=arrive`, PNG, "image/png");

  await testid(sup, "tab-fraud").click();
  await sup.locator('[data-testid="fraud-flag"][data-signal="shared_photo"]').first().waitFor(WAIT);
  assert.equal(await sup.locator('[data-testid="fraud-clear"]').count(), 0, "a supervisor sees no ruling buttons");
  await screenshot(sup, "console-fraud.png");

  // The operator clears the second carer's flag with a reason.
  const op = await console_.newPage();
  await op.goto(seed.base_url + "/console/");
  await sup.close();
  await testid(op, "login-username").fill(seed.username);
  await testid(op, "login-password").fill(seed.password);
  await testid(op, "login-password").press("Enter");
  await testid(op, "tab-fraud").click();
  const flag = op.locator(`[data-testid="fraud-flag"][data-visit-id="${visit.id}"][data-signal="shared_photo"]`);
  await flag.waitFor(WAIT);
  op.once("dialog", (d) => d.accept("已电话回访老人，照片为误传"));
  await flag.locator('[data-testid="fraud-clear"]').click();
  await flag.waitFor({ state: "detached", ...WAIT }); // the open list no longer has it
  await testid(op, "fraud-filter").selectOption("cleared");
  await op.locator(`[data-testid="fraud-flag"][data-visit-id="${visit.id}"][data-status="cleared"]`).waitFor(WAIT);
  await screenshot(op, "console-fraud-cleared.png");
  assert.deepEqual([...errors, ...consoleErrors], []);
  // Tidy this file's alerts (short visits) away, so the console scenario
  // (same server) sees only its own.
  const dispatch = new DispatchService(opts);
  for (const a of (await dispatch.listAlerts({ open_only: true, limit: 500 })).alerts || []) {
    if (a.request_id === request.id || a.request_id === second.id) await dispatch.acknowledgeAlert({ id: a.id });
  }
});
