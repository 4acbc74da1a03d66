// The district's finance view (issue 12): each organisation's statement of
// a month, its lines and the visits held back with their reasons; an admin
// approves (with a reason) or rejects a held visit and settles the month's
// open statements again; CSV and XLSX exports. Supervisors read; only
// admins act (the server refuses the others too, rpc/access.go). Also the
// caller card's parts of settlement: the subsidy left this month and the
// elder's printed service card.
import { errorText, t } from "/i18n.js";
import { canWrite, finance, organisations, session } from "./api.js";
import { services } from "./cache.js";
import { byTestId, h, replace } from "./dom.js";
import { say, serviceName, timeOf } from "./labels.js";
import { HOLDS, VERIFIED, words, yuan } from "./statements.js";

export const canSeeFinance = () => ["supervisor", "admin"].includes(session.get()?.role);
const isAdmin = () => session.get()?.role === "admin";

const state = { month: "", org: "", note: "" };
let seq = 0;

function thisMonth() {
  const d = new Date(Date.now() + 8 * 3600 * 1000); // the district's clock, CST
  return d.toISOString().slice(0, 7);
}

// refreshFinance draws the finance pane: the month's statements, and the
// one picked with its lines and held-back visits.
export async function refreshFinance() {
  const pane = byTestId("finance");
  if (!canSeeFinance()) { replace(pane); return; }
  state.month ||= thisMonth();
  const mine = ++seq;
  const [{ statements = [] }, { organisations: orgs = [] }] = await Promise.all([
    organisations.listStatements({ month: state.month }), organisations.listOrganisations({})]);
  const names = new Map(orgs.map((o) => [o.id, o.name]));
  const detail = state.org ? (await organisations.getStatement({ org_id: state.org, month: state.month }).catch(() => null))?.statement : null;
  if (mine !== seq) return;
  const month = h("input", { type: "month", value: state.month, dataset: { testid: "finance-month" },
    onchange: (e) => { state.month = e.target.value; state.org = ""; refreshFinance(); } });
  const settle = isAdmin() ? h("button", { type: "button", dataset: { testid: "finance-settle" }, onclick: () => act(() =>
    finance.settleMonth({ month: state.month }), say("已重新结算未结账的结算单", "open statements settled again")) },
  say("重新结算", "Settle again")) : null;
  replace(pane,
    h("div", { class: "finance-bar" }, h("label", {}, say("结算月份", "Month"), " ", month), " ", settle),
    state.note ? h("p", { class: "result", role: "status", dataset: { testid: "finance-note" } }, state.note) : null,
    h("table", { class: "finance-list", dataset: { testid: "finance-statements" } },
      h("thead", {}, h("tr", {}, ...[["服务机构", "Organisation"], ["状态", "Status"], ["金额", "Total"], ["补贴", "Subsidy"], ["自付", "Co-pay"], ["", ""]].map(([zh, en]) => h("th", {}, zh ? say(zh, en) : "")))),
      h("tbody", {}, statements.length ? statements.map((s) => h("tr", { dataset: { org: s.org_id, status: s.status },
        "aria-selected": String(s.org_id === state.org) },
      h("td", {}, names.get(s.org_id) || s.org_id),
      h("td", {}, s.status === "closed" ? say("已结账", "closed") : say("未结账", "open")),
      h("td", {}, yuan(s.total_fen)), h("td", {}, yuan(s.subsidy_fen)), h("td", {}, yuan(s.copay_fen)),
      h("td", {}, h("button", { type: "button", class: "plain small", dataset: { testid: "finance-open" },
        onclick: () => { state.org = s.org_id; refreshFinance(); } }, say("查看", "Open")), " ",
      exportButton(s, "csv"), " ", exportButton(s, "xlsx"))))
        : h("tr", {}, h("td", { colspan: 6, class: "muted" }, say("本月尚无结算单（管理员可重新结算）", "no statements this month yet"))))),
    detail ? statementDetail(detail, names.get(detail.org_id)) : null,
  );
}

function exportButton(s, format) {
  return h("button", { type: "button", class: "plain small", dataset: { testid: `finance-export-${format}` }, onclick: async () => {
    try {
      const r = await finance.exportStatement({ org_id: s.org_id, month: s.month, format });
      const bin = atob(r.content || "");
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      const a = h("a", { href: URL.createObjectURL(new Blob([bytes], { type: r.content_type })), download: r.filename });
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (err) {
      state.note = errorText(err);
      refreshFinance();
    }
  } }, format.toUpperCase());
}

function statementDetail(s, orgName) {
  const d = s;
  const closed = s.status === "closed";
  return h("section", { class: "finance-detail", dataset: { testid: "finance-detail", org: s.org_id } },
    h("h3", {}, `${orgName || s.org_id} · ${s.month} · `, closed ? say("已结账（不可更改）", "closed (fixed)") : say("未结账", "open")),
    closed ? h("p", { class: "muted small" }, say("摘要 ", "Digest "), h("code", { translate: "no" }, s.digest)) : null,
    h("table", { class: "finance-lines", dataset: { testid: "finance-lines" } },
      h("thead", {}, h("tr", {}, ...[["服务日期", "Date"], ["居民编号", "Resident"], ["服务项目", "Service"], ["金额", "Charge"],
        ["补贴", "Subsidy"], ["自付", "Co-pay"], ["核验方式", "Verified by"], ["调整所属月份", "Adjusts"]].map(([zh, en]) => h("th", {}, say(zh, en))))),
      h("tbody", {}, (d.lines || []).map((l) => h("tr", { dataset: { visit: l.visit_id } },
        h("td", {}, timeOf(l.service_time)), h("td", { translate: "no" }, l.resident_id),
        h("td", {}, serviceName(services.get(l.service_code)) || l.service_code),
        h("td", {}, yuan(l.charge_fen)), h("td", {}, yuan(l.subsidy_fen)), h("td", {}, yuan(l.copay_fen)),
        h("td", {}, words(VERIFIED, l.verification)), h("td", {}, l.adjusts_month || ""))))),
    h("h4", {}, say("暂扣待处理", "Held back")),
    h("ul", { class: "finance-held", dataset: { testid: "finance-held" } }, (d.held || []).length ? d.held.map((v) => heldItem(v, closed))
      : h("li", { class: "muted" }, "—")),
  );
}

function heldItem(v, closed) {
  const li = h("li", { dataset: { visit: v.visit_id, reason: v.reason } },
    timeOf(v.finish_time), " · ", h("span", { translate: "no" }, v.resident_id), " · ",
    serviceName(services.get(v.service_code)) || v.service_code, " · ", h("strong", {}, words(HOLDS, v.reason)));
  if (!isAdmin()) return li;
  const reason = h("input", { dataset: { testid: "held-reason" }, placeholder: say("审核理由（如：电话回访确认已上门）", "Reason (e.g. confirmed by a call back)") });
  const review = (decision) => act(async () => {
    const r = await finance.reviewVisit({ visit_id: v.visit_id, decision, reason: reason.value.trim() });
    if (r.closed_month) return say(`本月已结账：审核结果计入下月调整`, `the month is closed: the ruling goes on a later month as an adjustment`);
    await finance.settleMonth({ month: state.month });
    return say("已审核并重新结算", "reviewed and settled again");
  });
  li.append(" ", reason, " ",
    h("button", { type: "button", class: "small", dataset: { testid: "held-approve" }, onclick: () => review("approved") }, say("通过", "Approve")), " ",
    h("button", { type: "button", class: "plain small", dataset: { testid: "held-reject" }, onclick: () => review("rejected") }, say("驳回", "Reject")));
  if (closed) li.append(" ", h("span", { class: "muted small" }, say("（计入下月调整）", "(paid by a later adjustment)")));
  return li;
}

async function act(fn, done) {
  try {
    const note = await fn();
    state.note = typeof note === "string" ? note : done;
  } catch (err) {
    state.note = errorText(err);
  }
  await refreshFinance();
}

// allowanceLine is the caller card's "本月补贴余额 ¥…" for a subsidised
// resident, null for one with no funding (or when it cannot be read).
export async function allowanceLine(residentID) {
  const a = await finance.getAllowance({ resident_id: residentID }).catch(() => null);
  if (!a || !a.funded) return null;
  const left = Number(a.remaining_fen || 0);
  return [h("dt", {}, say("补贴", "Subsidy")), h("dd", { dataset: { testid: "resident-allowance", remaining: String(left) },
    class: left > 0 ? "" : "bad" },
  left > 0 ? say(`本月补贴余额 ${yuan(left)}（每月 ${yuan(a.allowance_fen)}）`, `${yuan(left)} of ${yuan(a.allowance_fen)} left this month`)
    : say(`本月补贴已用完（每月 ${yuan(a.allowance_fen)}），服务费由老人自付`, `this month's ${yuan(a.allowance_fen)} is used up: the elder pays`))];
}

// printCard opens the elder's service card in a dialog, ready to print:
// the server's card image (QR and short code) in a Chinese template.
export async function printCard(resident) {
  const dialog = byTestId("card-dialog");
  try {
    const c = await finance.printServiceCard({ resident_id: resident.id });
    replace(dialog.querySelector(".body"),
      h("div", { class: "service-card", dataset: { testid: "service-card" } },
        h("h3", {}, t("cardHeading", "养老服务卡")),
        h("p", { class: "name" }, resident.name),
        h("img", { src: "data:image/png;base64," + c.png, alt: say("服务卡二维码", "service card QR"), width: 240 }),
        h("p", {}, say("卡号 ", "Code "), h("strong", { translate: "no", dataset: { testid: "card-short-code" } }, c.short_code)),
        h("p", { class: "small" }, say("服务人员上门和结束时扫描此卡。请妥善保管，勿借给他人。",
          "The carer scans this card on arrival and before leaving. Keep it safe; do not lend it."))),
      h("p", { class: "actions" }, h("button", { type: "button", onclick: () => window.print() }, say("打印", "Print"))));
  } catch (err) {
    replace(dialog.querySelector(".body"), h("p", { class: "bad" }, errorText(err)));
  }
  dialog.showModal();
}

export const canPrintCard = canWrite;
