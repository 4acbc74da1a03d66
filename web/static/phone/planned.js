// The carer's planned (recurring) visits: today's and the week's, from
// GET /m/v1/planned; "can't do" on one (POST /m/v1/planned/{id}/cant-do with
// a reason code) and "off sick today" (POST /m/v1/sick). The server repairs
// the roster and tells the family; this page only asks and shows. Each
// planned visit of today is also in today's visits (GET /m/v1/visits) and is
// worked there with depart/arrive/complete like any other.

import { lang, reasonText, t } from "/i18n.js";
import { call, clock, describe, h, serviceName } from "/phone/mobileapi.js";

export const PLANNED_EN = {
  planned: "Planned visits",
  plannedDay: "Today",
  plannedWeek: "This week",
  plannedNone: "No planned visits.",
  cantDo: "Can't do",
  cantDoWhy: "Why can't you do it?",
  cantDoDone: "Taken off your list: {r} to another carer, {d} to dispatch.",
  sickToday: "Off sick today",
  sickConfirm: "Mark yourself off sick for today? Today's planned visits go to others.",
  sickDone: "Marked off sick: {r} visits to other carers, {d} to dispatch.",
  back: "Back",
};

// carehex.CantDoReasonCodes, in the order the server lists them.
const CANT_DO_CODES = ["unwell", "family", "transport", "clash", "other"];

const en = () => lang() === "en";
const fmt = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : ""));

// mountPlanned fills #planned-box for the signed-in carer; onChange is
// called after a change so the page reloads today's visits.
export function mountPlanned(token, onChange) {
  const box = document.getElementById("planned-box");
  if (!box) return;
  let days = 1;
  const list = h("ol", { class: "today", "data-testid": "planned-list" });
  const note = h("p", { class: "hint", "data-testid": "planned-note", role: "status" });
  const dayB = h("button", { type: "button", class: "secondary", "data-testid": "planned-day" });
  const weekB = h("button", { type: "button", class: "secondary", "data-testid": "planned-week" });
  const sick = h("button", { type: "button", class: "secondary", "data-testid": "sick-today" });
  const title = h("h2", {});
  const words = () => {
    title.textContent = t("planned", "计划任务");
    dayB.textContent = t("plannedDay", "今天");
    weekB.textContent = t("plannedWeek", "本周");
    sick.textContent = t("sickToday", "今日病假");
    dayB.setAttribute("aria-pressed", days === 1 ? "true" : "false");
    weekB.setAttribute("aria-pressed", days === 7 ? "true" : "false");
  };
  box.replaceChildren(title, h("div", { class: "actions" }, dayB, weekB), list, note, sick);
  box.hidden = false;

  const load = async () => {
    words();
    try {
      const body = await call(token, "GET", `/m/v1/planned?days=${days}`);
      const vs = body.visits || [];
      if (vs.length === 0) {
        list.replaceChildren(h("li", { class: "hint", text: t("plannedNone", "暂无计划任务。") }));
        return;
      }
      list.replaceChildren(...vs.map((v) => item(v)));
    } catch (err) {
      note.textContent = describe(err);
    }
  };

  const item = (v) => {
    const li = h("li", { "data-testid": "planned-visit", "data-id": v.planned_visit_id },
      h("span", { text: clock(v.window_start_time, en(), days > 1) + " " + serviceName(v.service_code, en()) + " · " + v.resident_name }));
    if (v.request_status === "assigned") {
      const b = h("button", { type: "button", class: "link-button", "data-testid": "cant-do", text: t("cantDo", "无法服务") });
      b.addEventListener("click", () => b.replaceWith(reasons(v, b)));
      li.append(" ", b);
    }
    return li;
  };

  const reasons = (v, button) => {
    const group = h("div", { class: "decline-reasons", "data-testid": "cant-do-reasons", role: "group" },
      h("p", { class: "hint", text: t("cantDoWhy", "无法服务的原因") }));
    for (const code of CANT_DO_CODES) {
      const b = h("button", { type: "button", class: "secondary", "data-testid": "cant-do-reason", "data-reason": code, text: reasonText(code) });
      b.addEventListener("click", async () => {
        try {
          const body = await call(token, "POST", `/m/v1/planned/${encodeURIComponent(v.planned_visit_id)}/cant-do`, { reason_code: code });
          note.textContent = fmt(t("cantDoDone", "已从您的任务中移除：{r} 个改派他人，{d} 个转即时派单。"),
            { r: body.change.rostered, d: body.change.handed_off });
          onChange?.();
        } catch (err) {
          note.textContent = describe(err);
        }
        load();
      });
      group.append(b);
    }
    const back = h("button", { type: "button", class: "link-button", text: t("back", "返回") });
    back.addEventListener("click", () => group.replaceWith(button));
    group.append(back);
    return group;
  };

  dayB.addEventListener("click", () => { days = 1; load(); });
  weekB.addEventListener("click", () => { days = 7; load(); });
  sick.addEventListener("click", async () => {
    if (!confirm(t("sickConfirm", "确认今日病假？今天的计划任务将交给其他服务人员。"))) return;
    try {
      const body = await call(token, "POST", "/m/v1/sick", {});
      note.textContent = fmt(t("sickDone", "已登记病假：{r} 个任务改派他人，{d} 个转即时派单。"),
        { r: body.change.rostered, d: body.change.handed_off });
      onChange?.();
    } catch (err) {
      note.textContent = describe(err);
    }
    load();
  });
  document.addEventListener("langchange", load);
  load();
}
