// The supervisor's dashboard (/supervise/), against the same seeded server
// as the other scenarios (scripts/test-browser.sh), after their morning of
// requests: the supervisor signs in, the dashboard shows yesterday's and today's city-wide
// figures, and its fill rate and request count equal what the requests
// themselves say, computed here independently through the API (each
// request's own events: was it ever assigned?); a figure drills down to
// its records; a table exports as CSV with a BOM; the page has no write
// control and calls no write method; an operator is refused.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { AuthService, IntakeService } from "../static/gen/carehex.js";
import { assertNoUntranslated, launch, screenshot, testid, watch } from "./browser.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const supervisor = process.env.E2E_SUPERVISOR;
const supervisorPassword = process.env.E2E_SUPERVISOR_PASSWORD;
const WAIT = { timeout: 60_000 };
// What the dashboard page may call: reading only.
const READS = new Set(["AuthService/Login", "CatalogService/ListServiceTypes", "MapService/GetMapConfig",
  "SuperviseService/GetDashboard", "SuperviseService/ListDashboardRecords", "SuperviseService/ListDashboardAreas",
  "QualityService/GetQualitySummary", "QualityService/ListCallbacks", "QualityService/ListComplaints"]);

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// The period checked: yesterday and today in Beijing, fixed when the file
// loads, so a run that crosses midnight in China still counts the requests
// the other scenarios logged before it (CI failed once at 00:00 CST).
const chinaDay = (t) => new Date(t + 8 * 3600e3).toISOString().slice(0, 10);
const PERIOD = { from: chinaDay(Date.now() - 24 * 3600e3), to: chinaDay(Date.now()) };
const inPeriod = (t) => { const d = chinaDay(Date.parse(t)); return d >= PERIOD.from && d <= PERIOD.to; };

// fromRecords counts the period's requests and those a carer accepted, from the
// requests and their events, as the supervisor reads them through the API.
async function fromRecords() {
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: supervisor, password: supervisorPassword }));
  const intake = new IntakeService(opts);
  const { requests = [] } = await intake.listServiceRequests({ limit: 500 });
  assert.ok(requests.length < 500, "more requests than one page: count them another way");
  const today = requests.filter((r) => inPeriod(r.create_time));
  let filled = 0;
  for (const r of today) {
    const { events = [] } = await intake.listRequestEvents({ request_id: r.id });
    if (events.some((e) => String(e.to_status).endsWith("ASSIGNED"))) filled++;
  }
  return { requests: today.length, filled };
}

test("a supervisor's dashboard agrees with the records and has no write control", { timeout: 300_000 }, async () => {
  assert.ok(supervisor && supervisorPassword, "E2E_SUPERVISOR and E2E_SUPERVISOR_PASSWORD are set by scripts/test-browser.sh");
  // The other scenarios log the morning's requests; wait for the first.
  let want = await fromRecords();
  for (let i = 0; i < 60 && want.requests === 0; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    want = await fromRecords();
  }
  assert.ok(want.requests > 0, "no request was logged yesterday or today: nothing to check the dashboard against");

  const context = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai", viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  context.setDefaultTimeout(WAIT.timeout);
  const errors = watch(context, "supervise");
  const calls = [];
  context.on("request", (r) => {
    const m = new URL(r.url()).pathname.match(/^\/twirp\/carehex\.v1\.(.+)$/);
    if (m) calls.push(m[1]);
  });
  const page = await context.newPage();
  await page.goto(seed.base_url + "/supervise/");
  await testid(page, "login-username").fill(supervisor);
  await testid(page, "login-password").fill(supervisorPassword);
  await testid(page, "login-password").press("Enter");
  await testid(page, "dashboard").waitFor(WAIT);

  // Today, city-wide; other scenarios may still be logging requests, so the
  // page and the records are read until two readings of the records agree
  // around one of the page (the rollups are at most 5 s behind).
  const f = testid(page, "scope-form");
  await f.locator('[name="from"]').fill(PERIOD.from);
  await f.locator('[name="to"]').fill(PERIOD.to);
  let shown;
  for (let i = 0; ; i++) {
    const before = await fromRecords();
    await new Promise((r) => setTimeout(r, 5500)); // past the rollups' freshness window
    await testid(page, "scope-show").click();
    await page.waitForFunction((n) => document.querySelector('[data-testid="total-requests"]')?.dataset.value !== undefined && n >= 0, 0);
    await page.waitForLoadState("networkidle");
    shown = {
      requests: Number(await testid(page, "total-requests").getAttribute("data-value")),
      filled: Number(await testid(page, "total-filled").getAttribute("data-value")),
      rate: await testid(page, "total-fill_rate").getAttribute("data-value"),
    };
    const after = await fromRecords();
    if (JSON.stringify(before) === JSON.stringify(after) && shown.requests === after.requests) { want = after; break; }
    assert.ok(i < 10, `the records kept changing: ${JSON.stringify({ before, after, shown })}`);
  }
  assert.equal(shown.requests, want.requests, "requests in the period: dashboard vs records");
  assert.equal(shown.filled, want.filled, "accepted requests in the period: dashboard vs records");
  assert.equal(shown.rate, `${(100 * want.filled / want.requests).toFixed(1)}%`, "fill rate: dashboard vs records");

  // A figure drills down to its records: as many as it says.
  await testid(page, "total-requests").click();
  await testid(page, "drill-table").waitFor(WAIT);
  assert.equal(await page.locator('[data-testid="drill-table"] tbody tr').count(), Math.min(50, want.requests));

  // A table exports as CSV, UTF-8 with a BOM.
  const [download] = await Promise.all([page.waitForEvent("download"), testid(page, "category-csv").click()]);
  const csv = readFileSync(await download.path());
  assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf], "the CSV starts with a UTF-8 BOM");
  assert.match(csv.toString("utf8"), /类别/);

  // No write control: no input outside the scope form and sign-in, no
  // button but reading ones, and no call but reading ones.
  const controls = await page.locator("main button:visible, main input:visible, main select:visible, main textarea:visible").evaluateAll(
    (els) => els.map((e) => e.dataset.testid || e.name || e.tagName));
  for (const c of controls) {
    assert.match(c, /^(scope-|total-|trend-by|.*-csv$|drill-more)/, `unexpected control ${c}`);
  }
  for (const c of calls) assert.ok(READS.has(c), `the dashboard called ${c}`);
  await assertNoUntranslated(page, "the supervisor's dashboard");
  await screenshot(page, "supervise.png");
  assert.deepEqual(errors, []);

  // An operator is refused, by the page and by the server.
  const fresh = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const op = await fresh.newPage();
  await op.goto(seed.base_url + "/supervise/");
  await testid(op, "login-username").fill(seed.username);
  await testid(op, "login-password").fill(seed.password);
  await testid(op, "login-password").press("Enter");
  await testid(op, "refused").waitFor(WAIT);
  assert.equal(await testid(op, "dashboard").isVisible(), false);
  await fresh.close();
  await context.close();
});
