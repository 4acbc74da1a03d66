// The supervisor's dashboard as an organisation's administrator sees it
// (/supervise/; scripts/test-browser.sh makes e2e-org-admin, of the
// default organisation, with the operator's password): her organisation
// is named as the scope; only its slice is drawn (its EVV figure, its
// carers), and the figures equal what the server gives her; the city's
// panels and the area picker are hidden, and the page calls nothing else
// of the city's and no write method.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { AuthService, OrganisationService, SuperviseService } from "../static/gen/carehex.js";
import { assertNoUntranslated, launch, screenshot, testid, watch } from "./browser.js";

const seed = JSON.parse(readFileSync(process.env.CAREHEX_E2E_SEED || new URL("./seed.json", import.meta.url), "utf8"));
const ORG_ADMIN = process.env.E2E_ORG_ADMIN || "e2e-org-admin";
const WAIT = { timeout: 60_000 };
const READS = new Set(["AuthService/Login", "OrganisationService/ListOrganisations", "MapService/GetMapConfig",
  "SuperviseService/GetDashboard", "SuperviseService/ListDashboardRecords"]);

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Yesterday and today in Beijing, fixed when the file loads, so the page
// and the API are asked about the same period even across midnight in China.
const chinaDay = (t) => new Date(t + 8 * 3600e3).toISOString().slice(0, 10);
const PERIOD = { from: chinaDay(Date.now() - 24 * 3600e3), to: chinaDay(Date.now()) };

test("an organisation's administrator sees only her organisation's slice of the dashboard", { timeout: 180_000 }, async () => {
  let token = "";
  const opts = { baseURL: seed.base_url, token: () => token };
  ({ token } = await new AuthService(opts).login({ username: ORG_ADMIN, password: seed.password }));
  const { organisations = [] } = await new OrganisationService(opts).listOrganisations({});
  assert.equal(organisations.length, 1, "an organisation's account lists only its own organisation");
  const own = organisations[0];

  const context = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai", viewport: { width: 1440, height: 1000 } });
  context.setDefaultTimeout(WAIT.timeout);
  const errors = watch(context, "orgdash");
  const calls = [];
  context.on("request", (r) => {
    const m = new URL(r.url()).pathname.match(/^\/twirp\/carehex\.v1\.(.+)$/);
    if (m) calls.push(m[1]);
  });
  const page = await context.newPage();
  await page.goto(seed.base_url + "/supervise/");
  await testid(page, "login-username").fill(ORG_ADMIN);
  await testid(page, "login-password").fill(seed.password);
  await testid(page, "login-password").press("Enter");
  await testid(page, "dashboard").waitFor(WAIT);
  await testid(page, "scope-org-name").waitFor(WAIT);
  assert.equal(await testid(page, "scope-org-name").textContent(), own.name);
  for (const hidden of ["totals", "scope-district", "scope-street", "heatmap", "chart-category", "callback-summary"]) {
    assert.equal(await testid(page, hidden).isVisible(), false, `${hidden} is the city's: hidden from an organisation`);
  }

  // The organisation panel: at most its own row, as the server gives it to her.
  await testid(page, "orgs-table").waitFor(WAIT);
  const d = await new SuperviseService(opts).getDashboard({ scope: { from_date: PERIOD.from, to_date: PERIOD.to } });
  for (const o of d.organisations || []) assert.equal(o.org_id, own.id, "the server gave her another organisation's figure");
  const f = testid(page, "scope-form");
  await f.locator('[name="from"]').fill(PERIOD.from);
  await f.locator('[name="to"]').fill(PERIOD.to);
  await testid(page, "scope-show").click();
  await page.waitForLoadState("networkidle");
  const rows = await testid(page, "orgs-table").locator("tbody tr").allTextContents();
  assert.ok(rows.length <= 1, `the organisation panel lists ${rows.length} organisations`);
  const carerRows = await testid(page, "carers-table").locator("tbody tr").count();
  const again = await new SuperviseService(opts).getDashboard({ scope: { from_date: PERIOD.from, to_date: PERIOD.to } });
  assert.ok([(d.carers || []).length, (again.carers || []).length].includes(carerRows), "the carers panel lists the server's carers");

  for (const c of calls) assert.ok(READS.has(c), `the organisation's dashboard called ${c}`);
  await assertNoUntranslated(page, "the organisation's dashboard");
  await screenshot(page, "orgdash.png");
  assert.deepEqual(errors, []);
  await context.close();
});
