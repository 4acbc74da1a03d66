// The dashboard's callback and complaint panels (issue 13): satisfaction of
// the callbacks done in the period (mean, the 1–5 distribution, by
// organisation) and complaints logged, open and overdue by organisation,
// from QualityService for the same period and area as the other panels.
// Every figure drills down to its callbacks or complaints. supervise.js
// hands in its table, chart and drill-section helpers, so the panels look
// and export like the others.
import { QualityService } from "/gen/carehex.js";
import { session } from "/console/api.js";
import { h } from "/console/dom.js";
import { lang, t } from "/i18n.js";

const quality = new QualityService({ token: () => session.get()?.token });
const num = (v) => Number(v || 0);
const say = (zh, en) => (lang() === "en" ? en : zh);
const when = (ts) => (ts ? new Date(ts).toLocaleString(lang() === "en" ? "en-GB" : "zh-CN") : "");
const REASON = { complaint: ["投诉核实", "complaint check"], exception: ["服务异常", "exception"], first_visit: ["首次服务", "first visit"], sampled: ["随机抽查", "random sample"] };
const DONE = { yes: ["属实", "yes"], partly: ["部分属实", "partly"], no: ["不属实", "no"] };
const STATUS = {
  open: ["待处理", "open"], referred: ["已转服务商", "referred"], responded: ["服务商已答复", "responded"], verified: ["已回访核实", "verified"],
  closed: ["已办结", "closed"], rejected: ["不予受理", "rejected"], withdrawn: ["已撤回", "withdrawn"],
};
const word = (table, k) => (table[k] ? say(...table[k]) : k || "");
// id shows a record's ID as it is: not words to translate (as supervise.js
// does; the dashboard names no resident).
const id = (x) => h("span", { translate: "no" }, String(x || ""));

// period turns the dashboard's China days (inclusive) into the service's
// [start, end) times.
function period(scope) {
  const day = (d) => Date.parse(`${d}T00:00:00+08:00`);
  return { start_time: new Date(day(scope.from_date)).toISOString(), end_time: new Date(day(scope.to_date) + 86400e3).toISOString() };
}

// renderQuality draws both panels for scope; ui is supervise.js's
// { table, chart, summary, showDrill }: chart's third argument is called
// with the index of a clicked bar.
export async function renderQuality(scope, ui) {
  const area = { district: scope.district || "", street: scope.street || "" };
  const p = period(scope);
  const s = await quality.getQualitySummary({ ...p, ...area });
  const names = new Map((s.by_org || []).map((o) => [o.org_id, o.org_name]));
  // An organisation's ID is shown as it is, not as words to translate.
  const orgName = (oid) => names.get(oid) || id(oid);
  const link = (text, testid, open) => h("a", { dataset: { testid }, onclick: open }, String(text));
  const callbacks = (title, req) => async () => {
    const { callbacks: cs } = await quality.listCallbacks({ ...area, ...p, limit: 500, ...req });
    ui.showDrill(title, [say("请求编号", "Request"), say("原因", "Reason"), say("满意度", "Satisfaction"), say("服务属实", "Done as logged"),
      say("机构", "Organisation"), say("回访时间", "Called")],
    cs.map((c) => [id(c.request_id), word(REASON, c.reason), c.status === "done" ? num(c.satisfaction) : say("联系不上", "unreachable"),
      word(DONE, c.service_done), orgName(c.org_id), when(c.done_time)]));
  };
  const complaints = (title, req) => async () => {
    const { complaints: cs } = await quality.listComplaints({ ...area, limit: 500, ...req });
    ui.showDrill(title, [say("投诉编号", "Complaint"), say("状态", "Status"), say("超期", "Overdue"), say("机构", "Organisation"),
      say("登记时间", "Logged"), say("本环节期限", "Step due"), say("投诉内容", "Description")],
    cs.map((c) => [id(c.id), word(STATUS, c.status), c.overdue ? say("是", "yes") : "", orgName(c.org_id),
      when(c.create_time), when(c.due_time), c.description]));
  };

  ui.summary("callback-summary",
    h("span", { dataset: { testid: "callback-count", value: String(num(s.callbacks)) } },
      `${say("回访", "Callbacks")} `, link(num(s.callbacks), "drill-callbacks", callbacks(say("已回访", "Callbacks done"), { status: "done" }))),
    ` · ${say("平均满意度", "mean satisfaction")} `,
    h("b", { dataset: { testid: "satisfaction-mean" } }, num(s.callbacks) ? num(s.satisfaction_mean).toFixed(2) : "—"),
    ` · ${say("服务与记录不符", "not as logged")} ${num(s.not_as_logged)} · ${say("联系不上", "unreachable")} `,
    link(num(s.unreachable), "drill-unreachable", callbacks(say("联系不上", "Unreachable"), { status: "unreachable" })),
    ` · ${say("待回访", "waiting")} ${num(s.open_callbacks)}`);
  const dist = (s.satisfaction_counts || []).map(num);
  ui.chart("chart-satisfaction", {
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: [1, 2, 3, 4, 5].map((n) => say(`${n} 分`, `${n}`)) }, yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", name: say("回访次数", "callbacks"), data: dist }],
  }, (i) => callbacks(say(`满意度 ${i + 1} 分`, `Satisfaction ${i + 1}`), { satisfaction: i + 1 })());

  const orgs = s.by_org || [];
  ui.table("satisfaction", [say("机构", "Organisation"), say("回访", "Callbacks"), say("平均满意度", "Mean satisfaction"), say("服务与记录不符", "Not as logged")],
    orgs.filter((o) => num(o.callbacks) > 0).map((o) => [orgName(o.org_id),
      link(num(o.callbacks), "drill-org-callbacks", callbacks(`${o.org_name || o.org_id}：${say("已回访", "callbacks")}`, { status: "done", org_id: o.org_id })),
      num(o.satisfaction_mean).toFixed(2), num(o.not_as_logged)]));

  ui.summary("complaint-summary",
    `${say("期间登记投诉", "Logged in the period")} `,
    link(num(s.complaints), "drill-complaints", complaints(say("期间登记的投诉", "Complaints logged"), { start_time: p.start_time, end_time: p.end_time })),
    ` · ${say("未办结", "open")} `,
    h("b", { dataset: { testid: "complaints-open", value: String(num(s.open_complaints)) } },
      link(num(s.open_complaints), "drill-complaints-open", complaints(say("未办结的投诉", "Open complaints"), { status: "active" }))),
    ` · ${say("超期", "overdue")} `,
    h("b", { class: num(s.overdue_complaints) ? "over" : "", dataset: { testid: "complaints-overdue", value: String(num(s.overdue_complaints)) } },
      link(num(s.overdue_complaints), "drill-complaints-overdue", complaints(say("超期的投诉", "Overdue complaints"), { status: "overdue" }))));
  const withComplaints = orgs.filter((o) => num(o.complaints) || num(o.open_complaints));
  ui.chart("chart-complaints", {
    tooltip: { trigger: "axis" }, legend: {},
    xAxis: { type: "category", data: withComplaints.map((o) => o.org_name || o.org_id), axisLabel: { rotate: 30 } }, yAxis: { type: "value", minInterval: 1 },
    series: [
      { type: "bar", stack: "open", name: say("未超期", "on time"), data: withComplaints.map((o) => num(o.open_complaints) - num(o.overdue_complaints)) },
      { type: "bar", stack: "open", name: say("超期", "overdue"), itemStyle: { color: "#c0392b" }, data: withComplaints.map((o) => num(o.overdue_complaints)) },
    ],
  });
  ui.table("complaints", [say("机构", "Organisation"), say("期间登记", "Logged"), say("未办结", "Open"), say("超期", "Overdue")],
    withComplaints.map((o) => [orgName(o.org_id),
      link(num(o.complaints), "drill-org-complaints", complaints(`${o.org_name || o.org_id}：${say("投诉", "complaints")}`, { org_id: o.org_id, start_time: p.start_time, end_time: p.end_time })),
      link(num(o.open_complaints), "drill-org-open", complaints(`${o.org_name || o.org_id}：${say("未办结", "open")}`, { org_id: o.org_id, status: "active" })),
      link(num(o.overdue_complaints), "drill-org-overdue", complaints(`${o.org_name || o.org_id}：${say("超期", "overdue")}`, { org_id: o.org_id, status: "overdue" }))]));
  return s;
}
