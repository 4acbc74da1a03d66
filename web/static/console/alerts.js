// The alert queue: nobody accepted, no candidates, late or far check-in.
// Open alerts by default; "show closed" lists the history too, each with
// who acknowledged it or why it closed by itself. Every alert names the
// elder and the service and says its message from its code (i18n.js).
// The operator acknowledges each once handled; an alert about a visit's
// check-in or check-out (EVV) is handled by ruling on the visit for
// payment: approved with a reason, or rejected.
import { errorText, msg, serviceName as codeName } from "/i18n.js";
import { canDispatch, canWrite, dispatch, finance } from "./api.js";
import { byTestId, h, replace } from "./dom.js";
import { say, timeOf } from "./labels.js";

const KINDS = {
  unaccepted: ["无人接单", "Nobody accepted"],
  no_candidates: ["附近无可用人员", "No candidates"],
  late_arrival: ["迟到", "Late arrival"],
  missed_visit: ["未上门", "Missed visit"],
  arrival_outside_geofence: ["签到位置偏远", "Check-in far from home"],
  checkout_far_from_home: ["签退位置偏远", "Check-out far from home"],
  short_visit: ["服务时间过短", "Visit too short"],
  complaint_overdue: ["投诉超期", "Complaint overdue"], // its subject is a complaint, not a request (quality.js)
};

// EVV are the alert kinds about how a visit was verified: a visit with one
// is held back from payment until ruled on (FinanceService/ReviewVisit).
const EVV = new Set(["arrival_outside_geofence", "checkout_far_from_home", "short_visit"]);

let onOpen = () => {};


export function setupAlerts(openHandler) {
  onOpen = openHandler;
  byTestId("alerts-history").addEventListener("change", () => refreshAlerts());
}

export async function refreshAlerts() {
  const history = byTestId("alerts-history").checked;
  const { alerts } = await dispatch.listAlerts({ open_only: !history, limit: 100 });
  replace(byTestId("alerts"), alerts.length ? alerts.map(item)
    : h("li", { class: "muted", dataset: { testid: "alerts-empty" } }, history ? say("暂无告警", "No alerts") : say("暂无未处理告警", "No open alerts")));
}

// alertKind names an alert kind in the current language.
export function alertKind(kind) {
  const k = KINDS[kind];
  return k ? say(k[0], k[1]) : msg(kind);
}

// alertText is an alert's message in the current language.
export const alertText = (a) => msg(a.code || a.kind, a.params);

function item(a) {
  const open = !a.ack_time;
  return h("li", { class: open ? "" : "closed", dataset: { testid: "alert", alertId: a.id, kind: a.kind, state: open ? "open" : "closed" } },
    h("b", {}, alertKind(a.kind)), " ",
    a.resident_name ? h("span", { dataset: { testid: "alert-resident" } }, a.resident_name) : null,
    a.service_code ? [" · ", h("span", { dataset: { testid: "alert-service" } }, codeName(a.service_code))] : null, " ",
    h("span", { class: "muted" }, timeOf(a.create_time)),
    h("p", { dataset: { testid: "alert-text" } }, alertText(a)),
    open ? null : h("p", { class: "muted", dataset: { testid: "alert-closed" } },
      a.close_reason ? msg(a.close_reason) : say("已确认 ", "Acknowledged ") + timeOf(a.ack_time)),
    a.request_id && a.kind !== "complaint_overdue" ? h("button", { type: "button", class: "plain", onclick: () => onOpen(a.request_id) }, say("查看需求", "Open request")) : null,
    open && a.visit_id && EVV.has(a.kind) && canWrite() ? review(a) : null,
    // Supervisors oversee: acknowledging is the operator's or the
    // organisation dispatcher's (rpc/access.go, rpc/org.go).
    open && canDispatch() ? h("button", {
      type: "button", dataset: { testid: "alert-ack" },
      onclick: async (e) => {
        const b = e.currentTarget;
        b.disabled = true;
        try {
          await dispatch.acknowledgeAlert({ id: a.id });
        } catch (err) {
          b.disabled = false;
          b.after(h("span", { class: "bad" }, " ", errorText(err)));
          return;
        }
        await refreshAlerts().catch(() => {});
      },
    }, say("确认", "Acknowledge")) : null);
}

// review is the operator's ruling on the alert's visit for payment (issue
// 12: a visit is payable once verified, or once its EVV exceptions are
// approved with a reason; rejected, it is held back for good). The ruling
// handles the alert, which is then acknowledged. Only a completed visit is
// ruled on; before that the server's refusal is shown. The list is redrawn
// whenever an alert comes or goes, so what the operator typed, and a
// refusal, are kept by alert (drafts) and survive the redraw.
const drafts = new Map(); // alert id → { reason, error }

function review(a) {
  const draft = drafts.get(a.id) || { reason: "", error: "" };
  const reason = h("input", {
    dataset: { testid: "alert-review-reason" }, value: draft.reason || null,
    placeholder: say("核实理由（如：电话回访确认已上门）", "Reason (e.g. confirmed by a call back)"),
    oninput: (e) => drafts.set(a.id, { ...(drafts.get(a.id) || {}), reason: e.target.value }),
  });
  const error = h("span", { class: "bad", dataset: { testid: "alert-review-error" } }, draft.error ? " " + draft.error : "");
  const rule = (decision) => async (e) => {
    const b = e.currentTarget;
    b.disabled = true;
    try {
      await finance.reviewVisit({ visit_id: a.visit_id, decision, reason: reason.value.trim() });
    } catch (err) {
      b.disabled = false;
      drafts.set(a.id, { reason: reason.value, error: errorText(err) });
      error.textContent = " " + errorText(err);
      return;
    }
    drafts.delete(a.id);
    // The ruling stands; an alert that closed meanwhile needs no ack.
    await dispatch.acknowledgeAlert({ id: a.id }).catch(() => {});
    await refreshAlerts().catch(() => {});
  };
  return h("p", { class: "alert-review", dataset: { testid: "alert-review" } }, reason, " ",
    h("button", { type: "button", class: "small", dataset: { testid: "alert-approve" }, onclick: rule("approved") }, say("核实通过", "Approve for payment")), " ",
    h("button", { type: "button", class: "plain small", dataset: { testid: "alert-reject" }, onclick: rule("rejected") }, say("驳回", "Reject")),
    error);
}
