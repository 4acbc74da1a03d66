// The carer's phone app on its own, against the same `carehex serve` as
// scenario.test.js (scripts/test-browser.sh starts one server for every
// file). The test makes its own elder and carer through the generated Twirp
// client, in Zichuan (淄川), 20 km from the scenario's, so neither file's
// dispatch reaches the other's people. It walks: an offer with urgency and
// distance; declining asks a reason, and the server keeps its code; the
// next offer accepted shows the operator's and the elder's notes and map
// links in GCJ-02; the status line follows; the app reloaded with the
// network cut still shows the job and queues an event, sent when the
// network returns, with the phone's and the server's times; the family
// page shows dates with times, the hotline and says 查询码. No console
// errors.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { assertAttr, assertNoUntranslated, assertText, launch, screenshot, testid, watch } from "./browser.js";
import { AuthService, DispatchService, IntakeService, ProviderService, ResidentService } from "../static/gen/carehex.js";
import { wgs84ToGcj02 } from "../static/phone/navlinks.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const WAIT = { timeout: 120_000 };
const ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";

let browser;
before(async () => { browser = await launch(); });
after(async () => {
  for (const [i, context] of (browser?.contexts() || []).entries()) {
    for (const [j, page] of context.pages().entries()) await screenshot(page, `phone-last-${i}-${j}.png`).catch(() => {});
  }
  await browser?.close();
});


test("phone: reasons, notes, map links, status line, offline reload", { timeout: 900_000 }, async () => {
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: seed.username, password: seed.password }));
  const home = { lat: 36.6431, lng: 117.9668 }; // Zichuan district, Zibo
  const tail = String(1000 + Math.floor(Math.random() * 9000));
  const careNotes = "患糖尿病，午饭低糖";
  const { resident } = await new ResidentService(opts).createResident({
    name: "赵秀英", phone: "1390534" + tail, address: "淄川区般阳路8号2单元301", district: "淄川区", location: home,
    preferences: { notes: careNotes },
  });
  const providers = new ProviderService(opts);
  const { provider } = await providers.createProvider({
    name: "孙丽", phone: "1360534" + tail, skills: ["meal_service"], location: { lat: home.lat + 0.002, lng: home.lng },
  });
  const { token: device } = await providers.issueDeviceToken({ provider_id: provider.id });
  const intake = new IntakeService(opts);
  let n = 0;
  const logRequest = async (notes) => (await intake.createServiceRequest({
    resident_id: resident.id, service_code: "DL-MEAL-DELIVERY", urgency: "URGENCY_SOON", notes,
    idempotency_key: `phone-e2e-${tail}-${++n}`,
  })).request.id;

  const context = await browser.newContext({
    locale: "zh-CN", timezoneId: "Asia/Shanghai", viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
    isMobile: true, hasTouch: true, userAgent: ANDROID,
    permissions: ["geolocation"], geolocation: { latitude: home.lat + 0.001, longitude: home.lng, accuracy: 10 },
  });
  context.setDefaultTimeout(WAIT.timeout);
  const errors = watch(context, "phone");
  const phone = await context.newPage();
  await phone.goto(seed.base_url + "/phone/");
  await testid(phone, "device-token").fill(device);
  await testid(phone, "sign-in").click();
  await testid(phone, "go-available").click();
  await waitState(phone, "available");

  // An offer: urgency, distance, countdown; declining asks why.
  const first = await logRequest("第一单");
  await testid(phone, "offer").waitFor(WAIT);
  await waitState(phone, "offered");
  await assertText(testid(phone, "offer-urgency"), "尽快");
  await assertText(testid(phone, "offer-distance"), /距离 \d+ 米/);
  await assertNoUntranslated(phone, "the phone with an offer");
  await testid(phone, "decline").click();
  const reasons = testid(phone, "decline-reason");
  assert.ok(await reasons.count() >= 4, "a short list of reasons");
  await box44(reasons.first(), "a decline reason");
  await assertNoUntranslated(phone, "the phone's decline reasons");
  await phone.locator('[data-testid="decline-reason"][data-reason="too_far"]').click();
  await testid(phone, "offer").waitFor({ state: "detached", ...WAIT });
  const { offers } = await new DispatchService(opts).listRequestOffers({ request_id: first });
  const mine = offers.find((o) => o.provider_id === provider.id);
  assert.equal(mine?.status, "OFFER_STATUS_DECLINED");
  assert.equal(mine?.reason, "too_far", "the server keeps the reason code");
  // Nobody else is near: the request raised a no_candidates alert. Tidy it
  // away so the console scenario (same server) sees only its own alerts.
  await intake.cancelServiceRequest({ id: first, reason_code: "duplicate" });
  const dispatch = new DispatchService(opts);
  for (const a of (await dispatch.listAlerts({ open_only: true, limit: 500 })).alerts || []) {
    if (a.request_id === first) await dispatch.acknowledgeAlert({ id: a.id });
  }

  // The next offer, accepted: the job card shows the notes and the links.
  const opNotes = "老人要上厕所，家里没人";
  await logRequest(opNotes);
  await testid(phone, "offer").waitFor(WAIT);
  await testid(phone, "accept").click();
  await testid(phone, "job").waitFor(WAIT);
  await waitState(phone, "busy"); // not "有新订单" once the job is taken
  await assertText(testid(phone, "op-notes"), opNotes);
  await assertText(testid(phone, "care-notes"), careNotes);
  const links = await phone.locator('[data-testid="maps-link"]').evaluateAll((as) => as.map((a) => ({ app: a.dataset.app, href: a.href })));
  const g = wgs84ToGcj02(home.lat, home.lng);
  const amap = new URL(links.find((l) => l.app === "amap").href);
  assert.equal(amap.host, "uri.amap.com");
  assert.equal(amap.searchParams.get("position"), `${g.lng.toFixed(6)},${g.lat.toFixed(6)}`, "Amap gets GCJ-02 lng,lat");
  const baidu = new URL(links.find((l) => l.app === "baidu").href);
  assert.equal(baidu.host, "api.map.baidu.com");
  assert.equal(baidu.searchParams.get("location"), `${g.lat.toFixed(6)},${g.lng.toFixed(6)}`);
  assert.equal(baidu.searchParams.get("coord_type"), "gcj02");
  assert.match(links.find((l) => l.app === "geo").href, /^geo:36\.643100,117\.966800/, "geo: on Android, in WGS-84");
  for (const id of ["maps-link", "call-link", "depart"]) await box44(testid(phone, id).first(), id);
  await box44(phone.locator('[data-testid="checklist"] input'), "the task checkbox");
  await assertNoUntranslated(phone, "the phone's job card");
  await screenshot(phone, "phone-job.png");

  // The service worker controls the page, and the day list is kept.
  await phone.waitForFunction(async () => {
    if (!navigator.serviceWorker.controller) return false;
    const off = globalThis.carehexOffline;
    const c = await caches.open(off.DATA);
    return (await c.keys()).length > 0;
  }, null, { ...WAIT, polling: 250 });

  // A basement: the network is cut and the browser reopens the app.
  await context.setOffline(true);
  await phone.reload();
  await testid(phone, "job").waitFor(WAIT);
  await assertText(testid(phone, "op-notes"), opNotes);
  await waitState(phone, "nonet");
  // The day list is the service worker's copy, and says so.
  await assertText(testid(phone, "today-saved"), "无网络");
  await testid(phone, "depart").click();
  await assertAttr(testid(phone, "pending-events"), "data-count", "1");
  await assertAttr(testid(phone, "job-status"), "data-status", "en_route");
  await phone.locator('[data-testid="event-times"] li.queued').waitFor(WAIT);
  await screenshot(phone, "phone-offline.png");

  // Back up: the event goes, the line says so, the times are both shown.
  await context.setOffline(false);
  await assertAttr(testid(phone, "pending-events"), "data-count", "0");
  await waitState(phone, "busy");
  await testid(phone, "today-saved").waitFor({ state: "hidden", ...WAIT });
  const li = phone.locator('[data-testid="event-times"] li:not(.queued)').first();
  await li.waitFor(WAIT);
  assert.ok(await li.getAttribute("data-device-time") && await li.getAttribute("data-receive-time"), "phone and server times");
  await assertText(li, /手机时间 .*服务器收到/);

  // Finish the visit, so nothing of this file is left open on the server.
  await testid(phone, "arrive").click();
  await assertAttr(testid(phone, "job-status"), "data-status", "in_progress");
  await testid(phone, "complete").click();
  await assertAttr(testid(phone, "job-status"), "data-status", "completed");
  await assertAttr(testid(phone, "pending-events"), "data-count", "0");

  // The family of the same elder: dates with the times, the hotline, and
  // one word for their code.
  const { access_token: familyToken } = await new ResidentService(opts).linkFamilyMember({
    resident_id: resident.id, name: "赵明", phone: "1380534" + tail, relation: "儿子",
  });
  const family = await context.newPage();
  await family.goto(seed.base_url + "/family/");
  await assertText(testid(family, "hotline"), "12349");
  await testid(family, "family-token").fill("not-a-code");
  await testid(family, "sign-in").click();
  await assertText(testid(family, "error"), "查询码");
  assert.ok(!(await family.content()).includes("令牌"), "the family page says 查询码, never 令牌");
  await testid(family, "family-token").fill(familyToken);
  await testid(family, "sign-in").click();
  await family.locator('[data-testid="visit"][data-status="completed"]').first().waitFor(WAIT);
  await assertText(family.locator('[data-testid="timeline"] time').first(), /\d+月\d+日 \d{2}:\d{2}/);
  await assertAttr(testid(family, "live"), "data-state", "live");

  await context.close();
  // The one expected line: the browser's own note of the wrong code's 401.
  const refused = (e) => /status of 401/.test(e) && e.includes("/m/v1/family/visits");
  assert.equal(errors.filter(refused).length, 1, "the wrong code was refused once");
  assert.deepEqual(errors.filter((e) => !refused(e)), [], "no console or page errors");
});

// waitState waits for the status line's state.
async function waitState(page, want) {
  await page.waitForFunction((w) => document.querySelector('[data-testid="availability"]')?.dataset.state === w, want, WAIT);
}

// box44 checks a tap target is at least 44 × 44 CSS pixels.
async function box44(loc, what) {
  const b = await loc.boundingBox();
  assert.ok(b && b.width >= 44 && b.height >= 44, `${what} is ${b?.width}×${b?.height}, under 44 px`);
}
