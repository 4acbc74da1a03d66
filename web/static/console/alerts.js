// The alert queue: nobody accepted, no candidates, late or far check-in.
// The operator acknowledges each once handled.
import { canWrite, dispatch } from "./api.js";
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
};

let onOpen = () => {};

export function setupAlerts(openHandler) { onOpen = openHandler; }

export async function refreshAlerts() {
  const { alerts } = await dispatch.listAlerts({ open_only: true, limit: 100 });
  replace(byTestId("alerts"), alerts.length ? alerts.map(item) : h("li", { class: "muted", dataset: { testid: "alerts-empty" } }, say("暂无告警", "No open alerts")));
}

// alertKind names an alert kind in the current language.
export function alertKind(kind) {
  const k = KINDS[kind];
  return k ? say(k[0], k[1]) : kind;
}

function item(a) {
  return h("li", { dataset: { testid: "alert", alertId: a.id, kind: a.kind } },
    h("b", {}, alertKind(a.kind)), " ",
    h("span", { class: "muted" }, timeOf(a.create_time)),
    h("p", {}, a.message),
    a.request_id ? h("button", { type: "button", class: "plain", onclick: () => onOpen(a.request_id) }, say("查看需求", "Open request")) : null,
    // Supervisors oversee: acknowledging is the operator's (rpc/access.go).
    canWrite() ? h("button", {
      type: "button", dataset: { testid: "alert-ack" },
      onclick: async (e) => {
        const b = e.currentTarget;
        b.disabled = true;
        try {
          await dispatch.acknowledgeAlert({ id: a.id });
        } catch (err) {
          b.disabled = false;
          b.after(h("span", { class: "bad" }, " ", err.code === "permission_denied"
            ? say("没有确认告警的权限", "Not allowed to acknowledge") : say("确认失败，请重试", "Failed; try again")));
          return;
        }
        await refreshAlerts().catch(() => {});
      },
    }, say("确认", "Acknowledge")) : null);
}
