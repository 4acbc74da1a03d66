// Two-tier dispatch in the request detail (issue 12): where the request was
// routed, each time with the ranking of the organisations that explains
// why (service area, contract, capacity, rotation), and the operator's
// re-route to the next organisation when the one asked is slow.
import { errorText } from "/i18n.js";
import { canWrite, orgDispatch } from "./api.js";
import { h } from "./dom.js";
import { say, timeOf } from "./labels.js";

// The organisation's factors, as the server names them (carehex.Factor*).
const ORG_FACTORS = {
  service_area: ["服务区域覆盖", "serves the area"],
  contract: ["有效合同", "contract for the service"],
  tried_before: ["本单已转派过", "asked before"],
  free_carers: ["空闲服务人员", "free carers"],
  open_orders: ["待派订单", "orders waiting"],
  capacity: ["余量", "capacity"],
  last_routed_mn: ["距上次转派（分钟）", "minutes since last routed"],
};

// passedOver says how many organisations did not qualify, and why: a
// district has dozens, and the table lists only those that did.
function passedOver(ranking) {
  const n = {};
  for (const c of ranking) if (!c.eligible) n[c.why] = (n[c.why] || 0) + 1;
  const parts = Object.entries(n).map(([k, v]) => say(`${ORG_FACTORS[k]?.[0] || k}不符 ${v} 家`, `${v} without ${ORG_FACTORS[k]?.[1] || k}`));
  if (!parts.length) return null;
  return h("p", { class: "muted small", dataset: { testid: "route-passed-over" } }, say("未入选：", "Passed over: "), parts.join(say("，", ", ")));
}

const ENDED = { assigned: ["已派单", "assigned"], rerouted: ["已改派", "re-routed"] };

// loadRoutes returns the request's routes; none when the server does not
// route via organisations.
export async function loadRoutes(requestId) {
  return (await orgDispatch.listRequestRoutes({ request_id: requestId }).catch(() => ({ routes: [] }))).routes || [];
}

// routingSection renders the routes (nothing when there are none);
// refresh is called after a re-route.
export function routingSection(r, routes, refresh) {
  if (!routes.length) return null;
  const open = routes.find((t) => !t.end_time);
  const err = h("span", { class: "bad", dataset: { testid: "reroute-error" } });
  const reroute = async (e) => {
    e.currentTarget.disabled = true;
    try {
      await orgDispatch.rerouteRequest({ request_id: r.id, reason: "" });
    } catch (x) {
      err.textContent = " " + errorText(x);
      return;
    }
    refresh();
  };
  return h("section", { dataset: { testid: "routing" } },
    h("h3", {}, say("服务商转派", "Routed to organisations")),
    h("ol", { class: "routes" }, routes.map((t) => h("li", { dataset: { testid: "route", orgId: t.org_id, open: String(!t.end_time) } },
      h("b", {}, t.org_name), " · ", say("第 ", "attempt "), t.attempt, say(" 次", ""), " · ", timeOf(t.route_time),
      t.end_time ? h("span", {}, " · ", say(...(ENDED[t.end_reason] || [t.end_reason, t.end_reason])))
        : h("span", {}, " · ", say("派单期限 ", "assign by "), timeOf(t.due_time),
          t.late_time ? h("b", { class: "bad", dataset: { testid: "route-late" } }, say(" 已超时", " overdue")) : null),
      h("table", { class: "factors", dataset: { testid: "route-explanation" } },
        h("tr", {}, h("th", {}, say("服务商", "Organisation")), ...Object.values(ORG_FACTORS).map((n) => h("th", {}, say(n[0], n[1])))),
        (t.ranking || []).filter((c) => c.eligible).map((c) => h("tr", { class: c.eligible ? "" : "muted", dataset: { testid: "route-candidate", eligible: String(!!c.eligible) } },
          h("td", {}, c.name),
          ...Object.keys(ORG_FACTORS).map((k) => {
            const f = (c.factors || []).find((x) => x.name === k);
            return h("td", { class: c.why === k ? "bad" : "" }, f ? String(f.value ?? 0) : "");
          })))),
      passedOver(t.ranking || [])))),
    open && canWrite() ? h("p", {},
      h("button", { type: "button", dataset: { testid: "reroute" }, onclick: reroute }, say("改派下一家服务商", "Re-route to the next organisation")), err) : null);
}

// mountAutoDispatch puts an organisation account's auto-dispatch switch
// after el (the organisation's name): on, the requests routed to it are
// offered to its own carers by the dispatcher; off, its dispatcher assigns
// them from the queue.
export function mountAutoDispatch(el) {
  el.parentNode.querySelector('[data-testid="org-auto"]')?.remove();
  const box = h("input", { type: "checkbox", dataset: { testid: "org-auto-dispatch" } });
  const err = h("span", { class: "bad" });
  const label = h("label", { class: "org-auto", dataset: { testid: "org-auto" } }, box, " ",
    say("自动派单给本机构人员", "Auto-dispatch to our carers"), err);
  orgDispatch.listOrgQueue({ limit: 1 }).then((q) => { box.checked = !!q.auto_dispatch; }).catch(() => { label.hidden = true; });
  box.addEventListener("change", async () => {
    err.textContent = "";
    try {
      await orgDispatch.setOrgAutoDispatch({ enabled: box.checked });
    } catch (e) {
      box.checked = !box.checked;
      err.textContent = " " + errorText(e);
    }
  });
  el.after(label);
}
