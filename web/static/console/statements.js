// An organisation's monthly statements (issue 12), for its own accounts:
// the months newest first with their totals, and one month's lines (one per
// payable visit, adjustments for earlier months marked) and the visits held
// back with their reasons. Money arrives as integer fen and is shown in 元.
import { serviceName } from "/i18n.js";
import { organisations } from "./api.js";
import { byTestId, h, replace } from "./dom.js";
import { say, timeOf } from "./labels.js";

export const HOLDS = {
  not_verified: ["未核验到上门签到", "No check-in at the home"],
  evv_exception_unresolved: ["核验异常待处理", "EVV exception not yet ruled on"],
  evv_rejected: ["核验被驳回", "Rejected on review"],
  no_contract: ["无该服务的有效合同", "No contract for the service"],
  no_funding: ["老人当时无补贴资格", "No funding at the time"],
  card_scan_missing: ["缺少服务卡刷卡", "Service card not scanned"],
};
export const VERIFIED = { geofence: ["定位核验", "Geofence"], geofence_card: ["定位+服务卡核验", "Geofence and service card"],
  approved: ["人工核准", "Approved on review"] };
const STATUS = { open: ["未关账", "Open"], closed: ["已关账", "Closed"] };

// yuan shows integer fen as 元 with two decimals, without floating point.
export function yuan(fen) {
  const n = BigInt(fen || 0);
  const neg = n < 0n;
  const a = neg ? -n : n;
  return `${neg ? "-" : ""}¥${a / 100n}.${String(a % 100n).padStart(2, "0")}`;
}

export const words = (table, k) => (table[k] ? say(...table[k]) : k);
let shown = ""; // the month whose lines are open

export async function refreshStatements() {
  const pane = byTestId("statements");
  const { statements } = await organisations.listStatements({});
  const rows = statements.map((s) => h("tr", { dataset: { testid: "statement", month: s.month, status: s.status } },
    h("td", {}, h("button", { type: "button", class: "plain", dataset: { testid: "statement-open" },
      onclick: () => { shown = s.month; refreshStatements(); } }, s.month)),
    h("td", {}, words(STATUS, s.status)),
    h("td", { class: "num", dataset: { testid: "statement-total" } }, yuan(s.total_fen)),
    h("td", { class: "num" }, yuan(s.subsidy_fen)),
    h("td", { class: "num" }, yuan(s.copay_fen))));
  const list = statements.length ? h("table", { class: "statements" },
    h("tr", {}, [say("月份", "Month"), say("状态", "Status"), say("合计", "Total"), say("补贴", "Subsidy"), say("自付", "Co-pay")]
      .map((x) => h("th", {}, x))), rows)
    : h("p", { class: "muted", dataset: { testid: "statements-empty" } }, say("暂无结算单", "No statements yet"));
  const s = statements.find((x) => x.month === shown);
  const detail = s ? await lines(s) : null;
  replace(pane, list, detail);
}

async function lines(head) {
  const { statement: s } = await organisations.getStatement({ org_id: head.org_id, month: head.month });
  return h("section", { dataset: { testid: "statement-detail", month: s.month } },
    h("h3", {}, say(`${s.month} 结算明细`, `${s.month} lines`)),
    s.lines.length ? h("table", { class: "statements" },
      h("tr", {}, [say("服务时间", "Date"), say("老人编号", "Resident no."), say("服务", "Service"), say("数量", "Units"),
        say("单价", "Price"), say("金额", "Charge"), say("补贴", "Subsidy"), say("自付", "Co-pay"), say("核验", "Verification")]
        .map((x) => h("th", {}, x))),
      s.lines.map((l) => h("tr", { dataset: { testid: "statement-line" } },
        h("td", {}, timeOf(l.service_time), l.adjusts_month ? h("span", { class: "muted" }, say(`（调整 ${l.adjusts_month}）`, ` (adjusts ${l.adjusts_month})`)) : null),
        h("td", { translate: "no" }, l.resident_id), h("td", {}, serviceName(l.service_code)),
        h("td", { class: "num" }, l.unit === "hour" ? say(`${l.units} 分钟`, `${l.units} min`) : say(`${l.units} 次`, `${l.units} visit`)),
        h("td", { class: "num" }, yuan(l.price_fen)), h("td", { class: "num" }, yuan(l.charge_fen)),
        h("td", { class: "num" }, yuan(l.subsidy_fen)), h("td", { class: "num" }, yuan(l.copay_fen)),
        h("td", {}, words(VERIFIED, l.verification)))))
      : h("p", { class: "muted" }, say("本月没有可结算的服务", "No payable visits this month")),
    s.held.length ? [h("h3", {}, say("暂缓结算", "Held back")),
      h("ul", {}, s.held.map((x) => h("li", { dataset: { testid: "statement-held" } },
        timeOf(x.finish_time), " · ", serviceName(x.service_code), " · ", words(HOLDS, x.reason))))] : null);
}
