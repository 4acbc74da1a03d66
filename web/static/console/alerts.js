// The alert queue: nobody accepted, no candidates, late or far check-in.
// Open alerts by default; "show closed" lists the history too, each with
// who acknowledged it or why it closed by itself. Every alert names the
// elder and the service and says its message from its code (i18n.js).
// The operator acknowledges each once handled.
import { errorText, msg, serviceName as codeName } from "/i18n.js";
import { canDispatch, dispatch } from "./api.js";
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
