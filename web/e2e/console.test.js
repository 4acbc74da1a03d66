// The operator console through a hotline shift's harder moments, against the
// same `carehex serve` and seed as scenario.test.js (scripts/test-browser.sh
// starts it with CAREHEX_EMERGENCY_DEADLINE=45s):
//   (a) an emergency nobody accepts (the only carer near the elder has his
//       phone off) opens the escalation panel; "called 120" and "called 李勇"
//       are recorded and show in the request's timeline; the carer, phoned,
//       is assigned by hand after the "已电话联系" confirmation;
//   (b) that request, assigned, is cancelled with a reason: 已取消 and why;
//   (c) the providers tab finds, by name, a carer added through the API
//       after 55 others, shows the total and each one's state, and edits
//       and deactivates a carer;
//   (d) a supervisor sees all this without a single write control.
// Any console error or uncaught page error fails the test.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { AuthService, DispatchService, ProviderService } from "../static/gen/carehex.js";
import { assertAttr, assertNoUntranslated, assertText, launch, screenshot, signInConsole, testid, watch } from "./browser.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const WAIT = { timeout: 120_000 };

let browser;
const errors = [];
let op; // the operator's page, shared by the tests in order
let requestId = ""; // the escalated emergency

before(async () => { browser = await launch(); });
after(async () => {
  // Leave the alert queue as scenario.test.js expects it: acknowledge the
  // escalated request's alerts (no_candidates, unaccepted), as the operator
  // would once it was handled.
  if (requestId) {
    const api = new DispatchService(await operatorAPI());
    const { alerts } = await api.listAlerts({ open_only: true, limit: 500 });
    for (const a of alerts.filter((x) => x.request_id === requestId)) await api.acknowledgeAlert({ id: a.id });
  }
  for (const [i, context] of (browser?.contexts() || []).entries()) {
    for (const [j, page] of context.pages().entries()) await screenshot(page, `console-last-${i}-${j}.png`).catch(() => {});
  }
  await browser?.close();
});


const signIn = (name, username, password) => signInConsole(browser, errors, seed.base_url, name, username, password, WAIT);

test("an emergency nobody accepts escalates; the steps taken are in the timeline; a carer is phoned and assigned by hand", { timeout: 600_000 }, async () => {
  op = await signIn("console-escalation", seed.username, seed.password);
  const far = seed.far_resident;
  await testid(op, "caller-search").fill(far.last4);
  await op.locator(`[data-testid="search-result"][data-resident-id="${far.id}"]`).click();
  await assertText(testid(op, "resident-name"), far.name);
  await testid(op, "service-input").fill("跌倒");
  await op.locator(`[data-testid="service-option"][data-code="EM-FALL-RESPONSE"]`).first().click();
  await testid(op, "urgency-emergency").check();
  await testid(op, "request-notes").fill("老人在卧室跌倒，叫不醒");
  await testid(op, "request-submit").click();
  await testid(op, "created-request").waitFor(WAIT);
  requestId = await testid(op, "created-request").getAttribute("data-request-id");
  assert.match(requestId, /^req_/);

  // Nobody accepts: past the class deadline the panel opens by itself.
  const panel = op.locator(`[data-testid="escalation-panel"][data-request-id="${requestId}"]`);
  await panel.waitFor(WAIT);
  await assertText(panel.locator('[data-testid="escalation-address"]'), far.address);
  await assertText(panel.locator('[data-testid="escalation-guide"]'), "120");
  const contact = panel.locator('[data-testid="escalation-contact"]');
  await assertText(contact, far.contact.name);
  await assertText(contact, far.contact.relation);

  await panel.locator('[data-testid="escalation-note"]').fill("救护车约10分钟到");
  await panel.locator('[data-testid="escalation-called-120"]').click();
  await assertText(panel.locator('[data-testid="escalation-step"]').first(), "已拨打120：救护车约10分钟到");
  await contact.locator('[data-testid="escalation-called-contact"]').click();
  await assertText(panel.locator('[data-testid="escalation-step"]').nth(1), `已联系紧急联系人：${far.contact.name}（${far.contact.relation}）`);
  await screenshot(op, "console-escalation.png");

  // The request's timeline shows both, with their times.
  await panel.locator('[data-testid="escalation-assign"]').click();
  await assertAttr(testid(op, "detail-title"), "data-request-id", requestId);
  const steps = op.locator('[data-testid="timeline-event"][data-type="escalation"]');
  await assertText(steps.first(), "已拨打120");
  await assertText(steps.nth(1), far.contact.name);
  await assertNoUntranslated(op, "console with the escalation panel and the request's detail");

  // Manual assignment lists the carer whose phone is off, says so, and
  // asks for the phone call before assigning him.
  const carer = op.locator(`[data-testid="candidate"][data-provider-id="${seed.far_provider.id}"]`);
  await carer.waitFor(WAIT);
  await assertAttr(carer, "data-state", "offline");
  await assertText(carer.locator('[data-testid="candidate-state"]'), "离线");
  await carer.locator('[data-testid="assign"]').click();
  await carer.locator('[data-testid="assign-phoned"]').click();
  await assertAttr(testid(op, "detail-title"), "data-status", "assigned");
  await assertText(op.locator('[data-testid="timeline-event"]').last(), /已电话联系|已电话联系服务人员/);
  await assertNoUntranslated(op, "the detail after assignment by phone");
  // Assigned: the escalation is over and its panel closes.
  await panel.waitFor({ state: "detached", ...WAIT });
  assert.deepEqual(errors.flat(), [], "no console or page errors");
});

test("a request cancelled after assignment shows 已取消 with the reason", { timeout: 300_000 }, async () => {
  assert.ok(op && requestId, "the first test left an assigned request");
  await assertAttr(testid(op, "detail-title"), "data-request-id", requestId);
  await testid(op, "cancel-request").click();
  await testid(op, "cancel-reason").selectOption("hospitalised");
  await testid(op, "cancel-text").fill("已由120送医");
  await testid(op, "cancel-confirm").click();
  await assertText(testid(op, "detail-status"), "已取消");
  await assertText(testid(op, "detail-cancel-reason"), "老人住院：已由120送医");
  await assertText(op.locator('[data-testid="timeline-event"][data-type="cancelled"]'), "老人住院");
  await op.keyboard.press("Escape");

  assert.deepEqual(errors.flat(), [], "no console or page errors");
});

test("the providers tab finds a carer added through the API by name, with the total and states; edit and deactivate", { timeout: 300_000 }, async () => {
  // 55 carers, then one more: the list's first page cannot hold her.
  const api = new ProviderService(await operatorAPI());
  const tag = String(Date.now()).slice(-5);
  for (let i = 0; i < 55; i++) {
    await api.createProvider({ name: `批量护工${tag}${i}`, phone: `1371${tag}${String(i).padStart(2, "0")}`.slice(0, 11),
      skills: ["cleaning"], location: { lat: 36.80 + i / 1000, lng: 118.05 } });
  }
  const name = `周慧敏${tag}`;
  const { provider } = await api.createProvider({ name, phone: `1372${tag}00`.slice(0, 11), skills: ["meal_service", "bathing"],
    location: { lat: 36.805, lng: 118.055 }, gender: "GENDER_FEMALE" });

  await testid(op, "tab-providers").click();
  const total = testid(op, "providers-total");
  await assertText(total, /共 \d+ 人/);
  const count = Number((await total.getAttribute("data-total")) || 0);
  assert.ok(count >= 58, `the total counts every carer, got ${count}`);
  assert.equal(await op.locator(`[data-testid="provider"][data-provider-id="${provider.id}"]`).count(), 0, "she is not on the first page");
  await testid(op, "providers-search").fill(name);
  const row = op.locator(`[data-testid="provider"][data-provider-id="${provider.id}"]`);
  await row.waitFor(WAIT);
  await assertText(row.locator('[data-testid="provider-name"]'), name);
  await assertText(row.locator('[data-testid="provider-state"]'), "离线");
  await assertText(total, "共 1 人");
  await assertNoUntranslated(op, "the providers tab");
  await screenshot(op, "console-providers.png");

  // Edit her name; the list follows.
  await row.locator('[data-testid="provider-edit"]').click();
  await testid(op, "provider-form-name").fill(`${name}改`);
  await testid(op, "provider-form-save").click();
  await assertText(row.locator('[data-testid="provider-name"]'), `${name}改`);
  // Deactivate with a reason: she leaves the active roster.
  await row.locator('[data-testid="provider-deactivate"]').click();
  await row.locator('[data-testid="provider-deactivate-reason"]').selectOption("left");
  await row.locator('[data-testid="provider-deactivate-confirm"]').click();
  await row.waitFor({ state: "detached", ...WAIT });
  await testid(op, "providers-inactive").check();
  await assertAttr(row, "data-state", "inactive");
  await testid(op, "providers-inactive").uncheck();
  await testid(op, "providers-search").fill("");
  await testid(op, "tab-board").click();
  assert.deepEqual(errors.flat(), [], "no console or page errors");
});

test("a supervisor sees everything and no write control", { timeout: 300_000 }, async () => {
  const user = process.env.E2E_SUPERVISOR;
  const password = process.env.E2E_SUPERVISOR_PASSWORD;
  assert.ok(user && password, "scripts/test-browser.sh passes E2E_SUPERVISOR and E2E_SUPERVISOR_PASSWORD");
  const sup = await signIn("console-supervisor", user, password);
  await testid(sup, "read-only-note").waitFor(WAIT);
  assert.equal(await testid(sup, "request-form").isVisible(), false, "no intake form");
  assert.equal(await testid(sup, "call-desk").isVisible(), false, "no telephone desk");

  // The caller's card: no edit, deactivate or reveal.
  await testid(sup, "caller-search").fill(seed.resident.last4);
  await sup.locator(`[data-testid="search-result"][data-resident-id="${seed.resident.id}"]`).click();
  await assertText(testid(sup, "resident-name"), seed.resident.name);
  await testid(sup, "resident-phone").waitFor(WAIT);
  await noWrites(sup, "the caller's card");
  // An unknown number offers no registration.
  await testid(sup, "caller-search").fill("13800000000");
  await testid(sup, "search-none").waitFor(WAIT);

  // Alerts are listed without 确认. The escalated emergency's closed by
  // themselves once it was assigned: the history shows them.
  await testid(sup, "alerts-history").check();
  await testid(sup, "alert").first().waitFor(WAIT);
  await noWrites(sup, "the alert list");
  await assertNoUntranslated(sup, "the alert history (supervisor)");
  await testid(sup, "alerts-history").uncheck();
  // The cancelled request's detail: its history, no action.
  await sup.evaluate(async (id) => {
    const { openRequest } = await import("/console/detail.js");
    await openRequest(id);
  }, requestId);
  await assertAttr(testid(sup, "detail-title"), "data-request-id", requestId);
  await assertText(testid(sup, "detail-status"), "已取消");
  await testid(sup, "timeline-event").first().waitFor(WAIT);
  await noWrites(sup, "a cancelled request's detail");
  await assertNoUntranslated(sup, "a cancelled request's detail (supervisor)");
  await sup.keyboard.press("Escape");

  // An open request's detail: candidates shown, nothing to press.
  const card = testid(sup, "board-card").first();
  if (await card.count()) {
    await card.click();
    await testid(sup, "detail-title").waitFor(WAIT);
    await testid(sup, "timeline-event").first().waitFor(WAIT);
    await noWrites(sup, "an open request's detail");
    await sup.keyboard.press("Escape");
  }

  await testid(sup, "tab-providers").click();
  await testid(sup, "provider").first().waitFor(WAIT);
  await testid(sup, "provider-state").first().waitFor(WAIT);

  await noWrites(sup, "the providers tab");
  await assertNoUntranslated(sup, "the providers tab (supervisor)");
  await screenshot(sup, "console-supervisor.png");
  assert.deepEqual(errors.flat(), [], "no console or page errors");
});

// operatorAPI signs the seed's operator in for the generated Twirp client.
async function operatorAPI() {
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: seed.username, password: seed.password }));
  return opts;
}

// WRITES are the console's controls that change something.
const WRITES = ["request-submit", "register-new", "register-submit", "resident-edit", "resident-deactivate", "reveal-phone",
  "alert-ack", "alert-approve", "alert-reject", "cancel-request", "mark-unfilled", "retry", "assign", "assign-phoned", "escalation-called-120",
  "escalation-called-contact", "escalation-assign", "provider-add", "provider-edit", "provider-deactivate",
  "device-token-button", "call-pickup"];

// noWrites fails when the page shows any write control.
async function noWrites(page, where) {
  for (const id of WRITES) {
    assert.equal(await page.locator(`[data-testid="${id}"]:visible`).count(), 0, `supervisor sees ${id} on ${where}`);
  }
}
