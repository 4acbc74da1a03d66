// Callbacks (回访) and complaints (投诉) in the console, against the same
// `carehex serve` as scenario.test.js (scripts/test-browser.sh), with
// people of its own in 周村区, far from the other files' people:
//   - a resident's first visit, completed by the carer's phone, queues a
//     callback; the operator takes it and records satisfaction 4 and "yes";
//   - the operator logs the family's complaint against that visit and
//     refers it to the organisation;
//   - a supervisor sees both tabs without a single write control, and the
//     dashboard's callback and complaint panels count them and drill down
//     to them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { AuthService, CatalogService, DispatchService, IntakeService, ProviderService, ResidentService } from "../static/gen/carehex.js";
import { launch, screenshot, signInConsole, testid, watch } from "./browser.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const WAIT = { timeout: 60_000 };
const home = { lat: 36.7980, lng: 117.8700 }; // Zhoucun district

let browser;
const errors = [];
let tidy = async () => {}; // acknowledges this file's alerts (the short visit's), as hotline.test.js does
before(async () => { browser = await launch(); });
after(async () => {
  await tidy().catch(() => {});
  for (const [i, context] of (browser?.contexts() || []).entries()) {
    for (const [j, page] of context.pages().entries()) await screenshot(page, `quality-last-${i}-${j}.png`).catch(() => {});
  }
  await browser?.close();
});


const signIn = (name, username, password) => signInConsole(browser, errors, seed.base_url, name, username, password, WAIT);

async function phoneEvent(token, visitId, type, at) {
  const res = await fetch(`${seed.base_url}/m/v1/visits/${visitId}/events`, {
    method: "POST", headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
    body: JSON.stringify({ event_id: `${visitId}-${type}`, type, lat: home.lat, lng: home.lng, accuracy_m: 10, device_time: at.toISOString() }),
  });
  assert.ok(res.ok, `${type}: ${res.status} ${await res.text()}`);
}

test("a first visit is called back, a complaint is logged and referred; the supervisor only reads", { timeout: 300_000 }, async () => {
  // A visit of this test's own, done through the API and the carer's phone.
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: seed.username, password: seed.password }));
  const last4 = String(1000 + Math.floor(Math.random() * 9000));
  const phone = "1390535" + last4;
  const { resident } = await new ResidentService(opts).createResident({
    name: "孙玉珍", phone, address: "周村区丝绸路9号", district: "周村区", location: home,
  });
  const { service_types: types } = await new CatalogService(opts).listServiceTypes({});
  const st = types.find((x) => x.urgency_class === "soon" && x.category === "daily_life") || types.find((x) => x.urgency_class === "soon");
  const providers = new ProviderService(opts);
  const { provider } = await providers.createProvider({ name: "周敏", phone: "1360005" + last4, skills: [st.required_skill], location: home });
  const { token: device } = await providers.issueDeviceToken({ provider_id: provider.id });
  const { request } = await new IntakeService(opts).createServiceRequest({
    resident_id: resident.id, service_code: st.code, urgency: "URGENCY_SOON", idempotency_key: "quality-" + last4,
  });
  const dispatch = new DispatchService(opts);
  tidy = async () => {
    const { alerts } = await dispatch.listAlerts({ open_only: true, limit: 500 });
    for (const a of alerts.filter((x) => x.request_id === request.id)) await dispatch.acknowledgeAlert({ id: a.id });
  };
  const { visit_id: visitId } = await dispatch.assignProvider({ request_id: request.id, provider_id: provider.id, reason: "e2e", phoned: true });
  // A visit of seconds: a short-visit exception, which a callback checks
  // first (and it is her first visit anyway).
  await phoneEvent(device, visitId, "arrive", new Date());
  await new Promise((r) => setTimeout(r, 1000));
  await phoneEvent(device, visitId, "complete", new Date());

  // The operator takes the callback and records it.
  const op = await signIn("operator", seed.username, seed.password);
  await testid(op, "tab-callbacks").click();
  const row = op.locator(`[data-testid="callback-row"]`, { hasText: "孙玉珍" });
  await row.waitFor();
  assert.equal(await row.getAttribute("data-status"), "open");
  await row.locator('[data-testid="callback-claim"]').click();
  const form = testid(op, "callback-form");
  await form.waitFor();
  await testid(op, "callback-save").click();
  await testid(op, "callback-form-error").filter({ hasText: "满意度" }).waitFor(); // nothing chosen: said in Chinese
  await testid(op, "callback-sat-4").check();
  await testid(op, "callback-done").selectOption("yes");
  await testid(op, "callback-notes").fill("老人说打扫得很干净");
  await testid(op, "callback-save").click();
  await form.waitFor({ state: "detached" });
  await testid(op, "callbacks-status").selectOption("done");
  const done = op.locator(`[data-testid="callback-row"][data-status="done"]`, { hasText: "孙玉珍" });
  await done.waitFor();
  assert.equal(await done.locator('[data-testid="callback-satisfaction"]').textContent(), "★★★★");

  // The family complains about the visit; the operator refers it.
  await testid(op, "caller-search").fill(phone);
  await op.locator(`[data-testid="search-result"][data-resident-id="${resident.id}"]`).click();
  await testid(op, "tab-complaints").click();
  await testid(op, "complaint-form").waitFor();
  await testid(op, "complaint-complainant").selectOption("family");
  await testid(op, "complaint-complainant-name").fill("孙强");
  assert.equal(await testid(op, "complaint-target").inputValue(), visitId);
  await testid(op, "complaint-description").fill("护理员提前半小时离开");
  await testid(op, "complaint-submit").click();
  const item = op.locator(`[data-testid="complaint"]`, { hasText: "护理员提前半小时离开" });
  await item.waitFor();
  assert.equal(await item.getAttribute("data-status"), "open");
  await item.locator('[data-testid="complaint-responded"]').waitFor({ state: "detached" }); // not a step from open
  await item.locator('[data-testid="complaint-referred"]').click();
  await op.locator(`[data-testid="complaint"][data-status="referred"]`, { hasText: "护理员提前半小时离开" }).waitFor();
  await screenshot(op, "quality-complaints.png");

  // The supervisor reads both tabs and can change nothing.
  const sup = await signIn("supervisor", process.env.E2E_SUPERVISOR, process.env.E2E_SUPERVISOR_PASSWORD);
  await testid(sup, "tab-callbacks").click();
  await testid(sup, "callbacks-count").waitFor();
  await testid(sup, "callbacks-status").selectOption("done");
  await sup.locator(`[data-testid="callback-row"]`, { hasText: "孙玉珍" }).waitFor();
  for (const id of ["callback-next", "callback-claim", "callback-form"]) assert.equal(await testid(sup, id).count(), 0, id);
  await testid(sup, "tab-complaints").click();
  await sup.locator(`[data-testid="complaint"]`, { hasText: "护理员提前半小时离开" }).waitFor();
  for (const id of ["complaint-form", "complaint-note", "complaint-responded", "complaint-withdrawn"]) assert.equal(await testid(sup, id).count(), 0, id);

  // The supervisor's dashboard shows the callback and the complaint, and
  // drills down to them.
  await sup.goto(seed.base_url + "/supervise/");
  await testid(sup, "dashboard").waitFor();
  const count = testid(sup, "callback-count");
  await count.waitFor();
  assert.ok(Number(await count.getAttribute("data-value")) >= 1, "at least this file's callback is counted");
  assert.ok(Number(await testid(sup, "complaints-open").getAttribute("data-value")) >= 1, "this file's complaint is open");
  await testid(sup, "drill-complaints-open").click();
  await testid(sup, "drill-table").locator("tr", { hasText: "护理员提前半小时离开" }).waitFor();
  await testid(sup, "drill-callbacks").click();
  await testid(sup, "drill-title").filter({ hasText: "已回访" }).waitFor();
  assert.ok(await testid(sup, "drill-table").locator("tbody tr").count() >= 1, "the callbacks behind the count are listed");
  await screenshot(sup, "quality-dashboard.png");

  assert.deepEqual(errors.flat(), [], "no console or page errors");
});
