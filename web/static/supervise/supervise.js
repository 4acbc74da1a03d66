// The supervisor's dashboard (/supervise/): figures for a period and an
// area from SuperviseService (read from rollups on the server), charts
// drawn with Apache ECharts (vendored, web/static/vendor/echarts/), the
// demand-vs-supply heatmap on the console's Leaflet map and basemap, every
// table exportable as CSV (UTF-8 with a BOM, so Excel reads the Chinese),
// and each figure's records listed on a click. Supervisors and admins; an
// organisation's administrator sees her organisation's slice only (its
// EVV figure and carers: the server refuses her the city's panels and
// holds her drill-downs to its visits). Nothing on this page changes a record.
import * as echarts from "/vendor/echarts/echarts.esm.min.js";
import * as L from "/vendor/leaflet/leaflet-src.esm.js";
import { SuperviseService } from "/gen/carehex.js";
import { auth, catalog, isAuthError, organisations, session } from "/console/api.js";
import { mapConfig } from "/console/map.js";
import { byTestId, h, replace } from "/console/dom.js";
import { categoryName, duration, errorText, lang, metres, registerNames, roleName, setup, statusWord, t } from "/i18n.js";
import { renderQuality } from "./quality.js";

const supervise = new SuperviseService({ token: () => session.get()?.token });
const num = (v) => Number(v || 0);
const pct = (x) => `${(100 * Number(x || 0)).toFixed(1)}%`;
const URGENCY = { emergency: ["紧急", "emergency"], soon: ["尽快", "soon"], scheduled: ["预约", "scheduled"] };
const urgencyWord = (u) => (URGENCY[u] || [u, u])[lang() === "en" ? 1 : 0];
const KIND = { accept: ["接单", "accept"], arrive: ["到达", "arrive"] };
const kindWord = (k) => (KIND[k] || [k, k])[lang() === "en" ? 1 : 0];
// id shows a record's ID as it is: not words to translate.
const id = (x) => h("span", { translate: "no" }, String(x || ""));
const secs = (s) => (Number(s) < 0 ? "—" : duration(s));

let scope = null; // the scope last shown
let last = null; // the last dashboard answer
let charts = {}; // ECharts instances by test id
let heat = null; // { map, layer }
let orgView = false; // an organisation's administrator: her organisation's slice only

const en = {
  title: "carehex supervision dashboard", logout: "Sign out", loginTitle: "Supervisor sign-in", username: "Username",
  password: "Password", signIn: "Sign in", from: "From", to: "To", district: "District", street: "Street/town", show: "Show",
  byCategory: "Requests by category and urgency", latency: "Time to accept and to arrive, against targets", trend: "Trend",
  by: "By", byDay: "day", byWeek: "week", orgs: "EVV exception rate by organisation", csv: "Export CSV", carers: "Carer workload and its spread",
  heat: "Demand and supply heatmap (H3 cells)", heatNote: "Colour: demand (requests) over the carers based in the cell; click a cell for its requests.",
  more: "Next page", satisfactionTitle: "Callback satisfaction", complaintsTitle: "Complaints: open and overdue",
  orgScope: "Organisation", orgSlice: "Your organisation's figures only", refusedOrgText: "This page is for supervisors, admins and organisation admins.",
};
setup({ en });

// --- CSV -------------------------------------------------------------------

function csvCell(v) {
  const s = String(v ?? "");
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// download saves rows (the first is the header) as UTF-8 CSV with a BOM.
function download(name, rows) {
  const text = "\uFEFF" + rows.map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
  const a = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

// table renders rows under a header with a CSV button; cells may be
// elements (links); the CSV takes their text.
function table(id, head, rows) {
  const el = byTestId(`table-${id}`);
  const plain = (c) => (c instanceof Node ? c.textContent : c);
  replace(el,
    h("table", { dataset: { testid: `${id}-table` } },
      h("thead", {}, h("tr", {}, head.map((x) => h("th", {}, x)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))))),
    h("div", { class: "table-tools" },
      h("button", { type: "button", class: "plain", dataset: { testid: `${id}-csv` },
        onclick: () => download(`${id}-${scope.from_date}-${scope.to_date}.csv`, [head, ...rows.map((r) => r.map(plain))]) },
      t("csv", "导出表格（逗号分隔）"))));
}

const drillLink = (text, req) => h("a", { dataset: { testid: `drill-${req.figure}` }, onclick: () => drill(req) }, String(text));

// --- Charts ----------------------------------------------------------------

function chart(id, option) {
  const el = byTestId(id);
  charts[id] ??= echarts.init(el, null, { renderer: "canvas" });
  charts[id].setOption(option, true);
}

// --- The dashboard ---------------------------------------------------------

function render(d) {
  last = d;
  scope = d.scope;
  byTestId("refresh-time").textContent = d.refresh_time
    ? `${t("fresh", "数据更新于")} ${new Date(d.refresh_time).toLocaleString(lang() === "en" ? "en-GB" : "zh-CN")}` : "";
  if (!orgView) renderCity(d);
  renderOrgs(d);
}

// renderCity draws the panels with no per-organisation figures: the city's
// (or the area's) totals, demand, response times, trend, heatmap, callbacks
// and complaints.
function renderCity(d) {
  const tot = d.totals || {};
  const card = (key, zh, value, figure) => h("button", { type: "button", dataset: { testid: `total-${key}`, value: String(value) },
    onclick: figure ? () => drill({ figure }) : undefined }, h("span", {}, t(key, zh)), h("b", {}, String(value)));
  replace(byTestId("totals"),
    card("requests", "服务请求", num(tot.requests), "requests"),
    card("filled", "已接单", num(tot.filled), "filled"),
    card("fill_rate", "接单率", pct(tot.fill_rate)),
    card("unfilled", "未接单", num(tot.unfilled), "unfilled"),
    card("late", "到达超时", num(tot.late), "late"),
    card("accept_late", "接单超时", num(tot.accept_late), "accept_late"),
    card("missed", "未上门", num(tot.missed), "missed"),
    card("cancelled", "已取消", num(tot.cancelled)),
    card("completed", "已完成", num(tot.completed)));

  const cats = d.by_category || [];
  const catNames = [...new Set(cats.map((c) => c.category))];
  chart("chart-category", {
    tooltip: { trigger: "axis" }, legend: {},
    xAxis: { type: "category", data: catNames.map(categoryName) }, yAxis: { type: "value" },
    series: Object.keys(URGENCY).map((u) => ({ name: urgencyWord(u), type: "bar", stack: "all",
      data: catNames.map((c) => num(cats.find((x) => x.category === c && x.urgency === u)?.requests)) })),
  });
  table("category", [t("category", "类别"), t("urgency", "紧急程度"), t("requests", "服务请求"), t("filled", "已接单"), t("fill_rate", "接单率"),
    t("unfilled", "未接单"), t("late", "到达超时"), t("missed", "未上门")],
  cats.map((c) => [categoryName(c.category), urgencyWord(c.urgency),
    drillLink(num(c.requests), { figure: "requests", category: c.category, urgency: c.urgency }),
    drillLink(num(c.filled), { figure: "filled", category: c.category, urgency: c.urgency }),
    pct(num(c.filled) / Math.max(1, num(c.requests))),
    drillLink(num(c.unfilled), { figure: "unfilled", category: c.category, urgency: c.urgency }),
    drillLink(num(c.late), { figure: "late", category: c.category, urgency: c.urgency }),
    drillLink(num(c.missed), { figure: "missed", category: c.category, urgency: c.urgency })]));

  table("latency", [t("urgency", "紧急程度"), t("kind", "环节"), t("count", "次数"), "P50", "P90", t("mean", "平均"), t("target", "目标"), t("over", "超过目标")],
    (d.latency || []).map((l) => {
      const over = Number(l.p90_s) > num(l.target_s);
      return [urgencyWord(l.urgency), kindWord(l.kind), num(l.count), secs(l.p50_s),
        h("span", { class: over ? "over" : "" }, secs(l.p90_s)), secs(l.mean_s), secs(num(l.target_s)),
        drillLink(num(l.over_target), { figure: l.kind === "accept" ? "accept_late" : "late", urgency: l.urgency })];
    }));

  renderTrend();
  renderHeat(d.cells || []);
  renderQuality(d.scope, qualityUI).catch((e) => { byTestId("board-error").textContent = errorText(e); });
}

// renderOrgs draws the panels per organisation and per carer.
function renderOrgs(d) {
  const orgs = d.organisations || [];
  chart("chart-orgs", {
    tooltip: { trigger: "axis" }, xAxis: { type: "category", data: orgs.map((o) => o.name || o.org_id), axisLabel: { rotate: 30 } },
    yAxis: { type: "value", axisLabel: { formatter: (v) => `${(v * 100).toFixed(0)}%` } },
    series: [{ type: "bar", name: t("excRate", "异常率"), data: orgs.map((o) => Number(o.exception_rate || 0)) }],
  });
  table("orgs", [t("org", "机构"), t("visits", "完成上门"), t("exceptions", "核验异常"), t("excRate", "异常率")],
    orgs.map((o) => [o.name || id(o.org_id), num(o.visits), drillLink(num(o.exceptions), { figure: "exception", org_id: o.org_id }), pct(o.exception_rate)]));

  const sp = d.carer_spread || {};
  byTestId("carer-spread").textContent = `${t("carerCount", "护理员")} ${sp.carers || 0} · ${t("meanVisits", "人均上门")} ${Number(sp.mean_visits || 0).toFixed(1)}`
    + ` · ${t("sdVisits", "标准差")} ${Number(sp.stddev_visits || 0).toFixed(1)} (CV ${Number(sp.cv_visits || 0).toFixed(2)})`
    + ` · ${t("range", "最少/最多")} ${num(sp.min_visits)}/${num(sp.max_visits)}`
    + ` · ${t("meanHours", "人均工时")} ${duration(sp.mean_work_s || 0)} · ${t("meanKm", "人均路程")} ${metres(sp.mean_travel_m || 0)}`;
  const carers = [...(d.carers || [])].sort((a, b) => num(b.visits) - num(a.visits));
  table("carers", [t("carer", "护理员"), t("visits", "完成上门"), t("hours", "工时（小时）"), t("km", "路程（公里）")],
    carers.map((c) => [c.name || id(c.provider_id), drillLink(num(c.visits), { figure: "carer", provider_id: c.provider_id }),
      (num(c.work_s) / 3600).toFixed(1), (num(c.travel_m) / 1000).toFixed(1)]));
}

// What the callback and complaint panels (quality.js) draw with: the same
// tables, charts (a click on a bar passes its index) and drill section.
const qualityUI = {
  table,
  summary: (testid, ...children) => replace(byTestId(testid), ...children),
  chart: (testid, option, click) => {
    chart(testid, option);
    charts[testid].off("click");
    if (click) charts[testid].on("click", (e) => click(e.dataIndex));
  },
  showDrill: (title, head, rows) => {
    drilling = null;
    byTestId("drill").hidden = false;
    byTestId("drill-title").textContent = `${t("records", "明细")}：${title}（${rows.length}）`;
    table("drill", head, rows);
    byTestId("drill-more").hidden = true;
    byTestId("drill").scrollIntoView({ block: "nearest" });
  },
};

function renderTrend() {
  const by = byTestId("trend-by").value;
  const pts = (last && last[by]) || [];
  chart("chart-trend", {
    tooltip: { trigger: "axis" }, legend: {},
    xAxis: { type: "category", data: pts.map((p) => p.date) },
    yAxis: [{ type: "value" }, { type: "value", max: 1, axisLabel: { formatter: (v) => `${v * 100}%` } }],
    series: [
      { name: t("requests", "服务请求"), type: "line", data: pts.map((p) => num(p.requests)) },
      { name: t("unfilled", "未接单"), type: "line", data: pts.map((p) => num(p.unfilled)) },
      { name: t("fill_rate", "接单率"), type: "line", yAxisIndex: 1, data: pts.map((p) => Number(p.fill_rate || 0)) },
    ],
  });
  table("trend", [t("date", "日期"), t("requests", "服务请求"), t("filled", "已接单"), t("fill_rate", "接单率"), t("unfilled", "未接单"),
    t("late", "到达超时"), t("missed", "未上门")],
  pts.map((p) => [p.date, num(p.requests), num(p.filled), pct(p.fill_rate), num(p.unfilled), num(p.late), num(p.missed)]));
}

async function renderHeat(cells) {
  if (!heat) {
    const el = byTestId("heatmap");
    // an account limited to an area may not read the city's map settings: then no basemap
    const cfg = await mapConfig().catch(() => ({}));
    const map = L.map(el, { center: [36.8, 118.05], zoom: 10, minZoom: 7, maxZoom: 16 });
    map.attributionControl.setPrefix(false);
    if (cfg.tile_url) {
      L.tileLayer(cfg.tile_url, { subdomains: cfg.tile_subdomains || "abc", attribution: cfg.tile_attribution || "", maxZoom: 18 }).addTo(map);
    } else {
      el.classList.add("offline-basemap");
    }
    if (cfg.boundaries_geojson) {
      L.geoJSON(JSON.parse(cfg.boundaries_geojson), { interactive: false, style: { color: "#37424f", weight: 1.5, fill: false } }).addTo(map);
    }
    heat = { map, layer: L.layerGroup().addTo(map) };
  }
  heat.layer.clearLayers();
  const ratio = (c) => num(c.requests) / Math.max(1, num(c.providers));
  const top = Math.max(1, ...cells.map(ratio));
  const bounds = [];
  for (const c of cells) {
    const ring = (c.boundary || []).map((p) => [p.lat, p.lng]);
    if (!ring.length) continue;
    bounds.push(...ring);
    const x = ratio(c) / top;
    L.polygon(ring, { color: "#8a3b12", weight: 0.5, fillColor: `hsl(${Math.round(50 - 50 * x)}, 90%, ${Math.round(75 - 35 * x)}%)`, fillOpacity: 0.65 })
      .bindTooltip(`${t("requests", "服务请求")} ${num(c.requests)} · ${t("filled", "已接单")} ${num(c.filled)} · ${t("carerCount", "护理员")} ${num(c.providers)}`)
      .on("click", () => drill({ figure: "cell", cell: c.cell }))
      .addTo(heat.layer);
  }
  if (bounds.length) heat.map.fitBounds(bounds, { padding: [10, 10] });
  const rows = [...cells].sort((a, b) => ratio(b) - ratio(a));
  table("cells", [t("cell", "网格"), t("requests", "服务请求"), t("filled", "已接单"), t("carerCount", "护理员"), t("ratio", "需求/供给")],
    rows.map((c) => [id(c.cell), drillLink(num(c.requests), { figure: "cell", cell: c.cell }), num(c.filled), num(c.providers), ratio(c).toFixed(1)]));
}

// --- Drill-down ------------------------------------------------------------

let drilling = null; // { req, rows, next }

async function drill(req, more = false) {
  const section = byTestId("drill");
  try {
    const r = await supervise.listDashboardRecords({ scope, page_size: 50, page_token: more ? drilling.next : "", ...req });
    if (!more) drilling = { req, rows: [] };
    drilling.next = r.next_page_token || "";
    drilling.rows.push(...(r.records || []));
  } catch (e) {
    byTestId("board-error").textContent = errorText(e);
    return;
  }
  section.hidden = false;
  byTestId("drill-title").textContent = `${t("records", "明细")}：${t(req.figure, FIGURE[req.figure] || req.figure)}（${drilling.rows.length}）`;
  const head = [t("request", "请求编号"), t("created", "登记时间"), t("category", "类别"), t("urgency", "紧急程度"), t("status", "状态"),
    t("district", "区县"), t("street", "街道/镇"), t("acceptS", "接单用时"), t("arriveS", "到达用时"), t("carer", "护理员"), t("exception", "核验异常")];
  table("drill", head, drilling.rows.map((x) => [id(x.request_id), new Date(x.create_time).toLocaleString(lang() === "en" ? "en-GB" : "zh-CN"),
    categoryName(x.category), urgencyWord(x.urgency), statusWord(x.status), x.district, x.street, secs(x.accept_s), secs(x.arrive_s),
    id(x.provider_id), x.evv_exception ? t("yes", "是") : ""]));
  byTestId("drill-more").hidden = !drilling.next;
  section.scrollIntoView({ block: "nearest" });
}
const FIGURE = { requests: "服务请求", filled: "已接单", unfilled: "未接单", late: "到达超时", accept_late: "接单超时", missed: "未上门",
  exception: "核验异常", carer: "护理员上门", cell: "网格内请求" };
byTestId("drill-more").addEventListener("click", () => drill(drilling.req, true));

// --- Scope, sign-in --------------------------------------------------------

let areas = [];

function fillStreets() {
  const d = byTestId("scope-district").value;
  const a = areas.find((x) => x.district === d);
  replace(byTestId("scope-street"), a && areas.limited && a.streets.length === 1 ? [] : h("option", { value: "" }, t("all", "全部")),
    ((a && a.streets) || []).map((s) => h("option", { value: s }, s || t("noStreet", "（未填街道）"))));
}

async function show() {
  const f = byTestId("scope-form");
  byTestId("board-error").textContent = "";
  try {
    render(await supervise.getDashboard({ scope: { from_date: f.from.value, to_date: f.to.value, district: f.district.value, street: f.street.value } }));
  } catch (e) {
    if (isAuthError(e) && e.code === "unauthenticated") { session.clear(); showLogin(); return; }
    byTestId("board-error").textContent = errorText(e);
  }
}

async function showBoard() {
  const s = session.get();
  byTestId("login").hidden = true;
  byTestId("logout").hidden = false;
  replace(byTestId("current-user"), h("span", { translate: "no" }, s.username), `（${roleName(s.role)}）`);
  orgView = s.role === "org_admin";
  if (s.role !== "supervisor" && s.role !== "admin" && !orgView) {
    const r = byTestId("refused");
    r.hidden = false;
    r.textContent = t("refusedOrgText", "此页面仅供主管、管理员和机构管理员使用。");
    return;
  }
  const f = byTestId("scope-form");
  if (orgView) await showOrgScope();
  else await showAreas();
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10); // China day
  f.to.value = today;
  f.from.value = new Date(Date.parse(today) - 29 * 86400e3).toISOString().slice(0, 10);
  byTestId("dashboard").hidden = false;
  await show();
}

// showOrgScope names the organisation as the scope and hides what is the
// city's: the area picker and the panels without per-organisation figures.
async function showOrgScope() {
  const r = await organisations.listOrganisations({});
  const org = (r.organisations || [])[0] || {};
  for (const el of document.querySelectorAll("[data-city]")) el.hidden = true;
  const scopeOrg = byTestId("scope-org");
  replace(scopeOrg, h("span", {}, `${t("orgScope", "机构")}：`), h("b", { translate: "no", dataset: { testid: "scope-org-name" } }, org.name || org.id || ""),
    h("span", { class: "muted" }, ` · ${t("orgSlice", "仅本机构数据")}`));
  scopeOrg.hidden = false;
}

async function showAreas() {
  const types = await catalog.listServiceTypes({}).catch(() => ({}));
  registerNames("category", types.categories);
  const a = await supervise.listDashboardAreas({});
  areas = a.areas || [];
  areas.limited = a.limited;
  replace(byTestId("scope-district"), a.limited ? [] : h("option", { value: "" }, t("city", "全市")),
    areas.map((x) => h("option", { value: x.district }, x.district)));
  fillStreets();
}

function showLogin(msg = "") {
  byTestId("dashboard").hidden = true;
  byTestId("logout").hidden = true;
  byTestId("login").hidden = false;
  byTestId("login-error").textContent = msg;
}

byTestId("scope-district").addEventListener("change", fillStreets);
byTestId("trend-by").addEventListener("change", renderTrend);
byTestId("scope-form").addEventListener("submit", (e) => { e.preventDefault(); show(); });
byTestId("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  try {
    const r = await auth.login({ username: f.username.value.trim(), password: f.password.value });
    session.set({ token: r.token, username: r.username || f.username.value.trim(), role: r.role });
    await showBoard();
  } catch (err) {
    byTestId("login-error").textContent = errorText(err);
  }
});
byTestId("logout").addEventListener("click", async () => {
  await auth.logout({}).catch(() => {});
  session.clear();
  location.reload();
});
document.addEventListener("langchange", () => { if (last) render(last); });
addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));

if (session.get()) showBoard().catch((e) => (isAuthError(e) ? (session.clear(), showLogin()) : (byTestId("board-error").textContent = errorText(e))));
else showLogin();
