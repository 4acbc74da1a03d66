// The care-plan tab: the plans of the resident on the card, each with its
// items in words, pauses and the visits of the next two weeks; operators
// create a plan (items with a recurrence builder that writes the RFC 5545
// RRULE, time window, duration, preferred carers, notes; start and end
// dates; funding note), change an item "this and all later visits", change
// or cancel "this visit only", and pause the plan for a hospital stay.
// Supervisors see the same without a write control. A refusal is shown at
// the field the server names (meta "argument").
import { errorText, reasonText, statusWord } from "/i18n.js";
import { canWrite, plans, providers } from "./api.js";
import { services } from "./cache.js";
import { byTestId, h, replace } from "./dom.js";
import { current } from "./lookup.js";
import { say, serviceName } from "./labels.js";
import { DAYS, fromRRule, describeRRule as describeWith, toRRule } from "./recurrence.js";

const describeRRule = (rule) => describeWith(rule, say);

const PLANNED = { planned: ["待排班", "Not rostered"], assigned: ["已排班", "Rostered"], paused: ["暂停", "Paused"], cancelled: ["已取消", "Cancelled"] };
const VISIT_DAYS = 14;

const state = { resident: null, sig: "", formOpen: false, busy: false, carers: new Map() };

// cstDate is a calendar day in China Standard Time, "2026-03-02".
export function cstDate(d = new Date()) {
  return new Date(d.getTime() + 8 * 3600e3).toISOString().slice(0, 10);
}
const cstTime = (iso) => new Date(new Date(iso).getTime() + 8 * 3600e3).toISOString().slice(11, 16);
const addDays = (date, n) => cstDate(new Date(Date.parse(date + "T00:00:00+08:00") + n * 86400e3));

const minutes = (s) => Math.round(s / 60);

function describeItem(it) {
  const st = services.get(it.service_code);
  return [serviceName(st) || it.service_code, " · ", describeRRule(it.rrule), " · ", `${it.window_start}–${it.window_end}`,
    " · ", say(`${minutes(it.duration_s)} 分钟`, `${minutes(it.duration_s)} min`),
    (it.preferred_provider_ids || []).length ? [" · ", say("指定：", "preferred: "), it.preferred_provider_ids.map(carerName).join("、")] : null,
    it.notes ? [" · ", it.notes] : null,
    it.valid_from_date || it.valid_to_date ? h("span", { class: "muted" }, " ", say(`（${it.valid_from_date || "…"} 至 ${it.valid_to_date || "…"}）`,
      ` (${it.valid_from_date || "…"} to ${it.valid_to_date || "…"})`)) : null];
}

const carerName = (id) => state.carers.get(id)?.name || say("（服务人员）", "(carer)");

// loadCarers fetches the names of carers not yet known (for preferred carers and rostered visits).
async function loadCarers(ids) {
  const missing = [...new Set(ids)].filter((id) => id && !state.carers.has(id));
  await Promise.all(missing.map((id) => providers.getProvider({ id }).then((r) => state.carers.set(id, r.provider), () => {})));
}

// --- The tab -------------------------------------------------------------

export async function refreshPlans() {
  const pane = byTestId("plans");
  const r = current();
  if (!r) {
    state.resident = null;
    state.sig = "";
    replace(pane, h("p", { class: "muted", dataset: { testid: "plans-none" } }, say("请先在左侧查找并选中一位老人。", "Find and pick an elder on the left first.")));
    return;
  }
  if (state.resident?.id !== r.id) {
    state.resident = r;
    state.sig = "";
    state.formOpen = false;
    replace(pane,
      h("div", { class: "plan-head" }, h("h2", {}, say("护理计划：", "Care plans: "), h("span", { dataset: { testid: "plans-resident" } }, r.name)),
        canWrite() ? h("button", { type: "button", dataset: { testid: "plan-new" }, onclick: () => openPlanForm() }, say("新建护理计划", "New care plan")) : null),
      h("form", { class: "plan-form", dataset: { testid: "plan-form" }, hidden: true, novalidate: true }),
      h("div", { dataset: { testid: "plan-list" } }));
  }
  if (state.busy) return; // an inline edit is open: keep it as it is
  const { plans: list } = await plans.listCarePlans({ resident_id: r.id });
  const visits = await Promise.all(list.map((p) => plans.listPlannedVisits({ plan_id: p.id, days: VISIT_DAYS }).then((x) => x.visits)));
  await loadCarers([...list.flatMap((p) => p.items.flatMap((it) => it.preferred_provider_ids || [])), ...visits.flat().map((v) => v.provider_id)]);
  if (current()?.id !== r.id || state.busy) return;
  const sig = JSON.stringify([list, visits, document.documentElement.lang]);
  if (sig === state.sig) return;
  state.sig = sig;
  replace(byTestId("plan-list"), list.length ? list.map((p, i) => planCard(p, visits[i]))
    : h("p", { class: "muted", dataset: { testid: "plans-empty" } }, say("还没有护理计划。", "No care plan yet.")));
}

function planCard(p, visits) {
  const shown = visits.filter((v) => v.reason !== "plan_edited");
  return h("article", { class: "plan", dataset: { testid: "plan", planId: p.id } },
    h("h3", {}, say(`${p.start_date} 起`, `From ${p.start_date}`), p.end_date ? say(`，至 ${p.end_date}`, ` to ${p.end_date}`) : say("，长期", ", open-ended"),
      p.funding_note ? h("span", { class: "muted" }, " · ", say("资金来源：", "Funding: "), p.funding_note) : null),
    h("ul", { class: "plan-items" }, p.items.map((it) => h("li", { dataset: { testid: "plan-item", itemId: it.id } },
      h("span", { dataset: { testid: "plan-item-text" } }, describeItem(it)),
      canWrite() && !(it.valid_to_date && it.valid_to_date < cstDate()) ? [" ", h("button", {
        type: "button", class: "plain small", dataset: { testid: "plan-item-edit" },
        onclick: (e) => editItem(p, it, e.target.closest("li")),
      }, say("修改（此次及以后）", "Change (this and later)"))] : null))),
    (p.pauses || []).length ? h("p", { dataset: { testid: "plan-pauses" } }, say("暂停：", "Paused: "),
      p.pauses.map((ps) => `${ps.from_date} ~ ${ps.to_date}${ps.reason ? say("（", " (") + reasonText(ps.reason) + say("）", ")") : ""}`).join(say("；", "; "))) : null,
    canWrite() ? pauseControls(p) : null,
    h("h4", {}, say(`未来 ${VISIT_DAYS} 天的服务`, `Visits, next ${VISIT_DAYS} days`)),
    // A visit cancelled because its item was changed "this and all later"
    // is replaced by its successor's: only the successor is listed.
    h("ul", { class: "planned-visits", dataset: { testid: "planned-visits" } }, shown.length ? shown.map((v) => visitRow(v))
      : h("li", { class: "muted" }, "—")));
}

function visitRow(v) {
  const [zh, en] = PLANNED[v.status] || [v.status, v.status];
  const date = cstDate(new Date(v.window_start_time));
  const moved = v.occurrence_time && v.occurrence_time !== v.window_start_time;
  const editable = canWrite() && (v.status === "planned" || v.status === "assigned") &&
    !["en_route", "in_progress", "completed"].includes(v.request_status);
  return h("li", { dataset: { testid: "planned-visit", plannedVisitId: v.id, status: v.status } },
    `${date} ${cstTime(v.window_start_time)}–${cstTime(v.window_end_time)} `,
    h("span", { class: `pv-status pv-${v.status}`, dataset: { testid: "planned-visit-status" } }, say(zh, en)),
    v.provider_id && v.status === "assigned" ? [" · ", carerName(v.provider_id)] : null,
    v.request_status && v.status === "assigned" ? [" · ", statusWord(v.request_status)] : null,
    moved ? h("span", { class: "muted" }, say("（已调整时间）", " (moved)")) : null,
    v.reason && v.status !== "assigned" ? h("span", { class: "muted" }, " · ", reasonText(v.reason)) : null,
    editable ? [" ", h("button", { type: "button", class: "plain small", dataset: { testid: "planned-visit-edit" },
      onclick: (e) => editVisit(v, e.target.closest("li")) }, say("仅改这一次", "This visit only"))] : null);
}

// --- Field errors --------------------------------------------------------

// showFieldError puts the server's refusal beside the field it names (its
// data-field: the whole path first, then as the form spells it), else at
// the form's foot.
export function showFieldError(form, err, prefix = "") {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  const arg = err?.meta?.argument || "";
  const text = errorText(err);
  // The store validates an edited item inside its plan ("items[3].rrule")
  // and a new pause among the others ("pauses[2].to").
  const names = [arg, prefix ? arg.replace(/^items\[\d+\]\./, prefix) : "", arg.replace(/\[\d+\]/g, ""), arg.replace(/\.[a-z_]+$/, "")];
  const el = names.map((n) => n && form.querySelector(`[data-field="${CSS.escape(n)}"]`)).find(Boolean);
  const msg = h("span", { class: "field-error bad", role: "alert", dataset: { testid: "field-error", field: arg } }, text);
  if (el) {
    el.setAttribute("aria-invalid", "true");
    el.after(msg);
    el.focus?.();
  } else {
    form.querySelector(".result").replaceChildren(msg);
  }
}

// --- Item editor (the recurrence builder) --------------------------------

// itemFields builds the inputs of one item; field names the server's path
// prefix ("items[0]" or "item"). read() returns the PlanItem.
function itemFields(field, it = {}) {
  const rec = fromRRule(it.rrule || "FREQ=WEEKLY;BYDAY=MO") || { kind: "custom", days: [], interval: 2, monthDay: 1 };
  const f = (name) => `${field}.${name}`;
  const service = h("select", { dataset: { testid: "item-service", field: f("service_code") } },
    h("option", { value: "" }, say("选择服务项目", "Choose a service")),
    [...services.values()].sort((a, b) => a.code.localeCompare(b.code)).map((st) =>
      h("option", { value: st.code, selected: st.code === it.service_code }, serviceName(st))));
  const kind = h("select", { dataset: { testid: "item-repeat" } },
    [["daily", "每天", "Every day"], ["weekly", "每周", "Weekly"], ["weeks", "每隔几周", "Every few weeks"], ["monthly", "每月", "Monthly"],
      rec.kind === "custom" ? ["custom", "自定义（保持不变）", "Custom (kept)"] : null].filter(Boolean)
      .map(([v, zh, en]) => h("option", { value: v, selected: v === rec.kind }, say(zh, en))));
  const days = h("span", { class: "days", dataset: { testid: "item-days" } }, DAYS.map(([code, zh, en]) => h("label", {},
    h("input", { type: "checkbox", value: code, checked: rec.days.includes(code), dataset: { testid: "item-day", day: code } }), say("周" + zh, en))));
  const interval = h("label", { class: "interval" }, say("每 ", "every "), h("input", { type: "number", min: "2", max: "52", value: String(Math.max(2, rec.interval)), dataset: { testid: "item-interval" } }), say(" 周", " weeks"));
  const monthDay = h("label", { class: "monthday" }, say("每月 ", "day "), h("input", { type: "number", min: "1", max: "31", value: String(rec.monthDay), dataset: { testid: "item-monthday" } }), say(" 日", ""));
  const words = h("span", { class: "muted", dataset: { testid: "item-rrule-words" } });
  const builder = h("fieldset", { class: "recurrence", dataset: { field: f("rrule") }, tabindex: "-1" },
    h("legend", {}, say("重复", "Repeats")), kind, " ", interval, " ", days, " ", monthDay, " ", words);
  const rule = () => (kind.value === "custom" ? it.rrule : toRRule({ kind: kind.value, days: [...days.querySelectorAll("input:checked")].map((c) => c.value),
    interval: Number(interval.querySelector("input").value), monthDay: Number(monthDay.querySelector("input").value) }));
  const sync = () => {
    interval.hidden = kind.value !== "weeks";
    days.hidden = !["weekly", "weeks"].includes(kind.value);
    monthDay.hidden = kind.value !== "monthly";
    words.textContent = "＝" + describeRRule(rule());
  };
  builder.addEventListener("input", sync);
  builder.addEventListener("change", sync);
  sync();
  const time = (name, value, testid) => h("input", { type: "time", value: value || "", dataset: { testid, field: f(name) } });
  const ws = time("window_start", it.window_start || "09:00", "item-window-start");
  const we = time("window_end", it.window_end || "11:00", "item-window-end");
  const dur = h("input", { type: "number", min: "5", max: "480", step: "5", value: String(it.duration_s ? minutes(it.duration_s) : 60), dataset: { testid: "item-duration", field: f("duration") } });
  const preferred = h("select", { multiple: true, size: "3", dataset: { testid: "item-preferred", field: f("preferred_provider_ids") } });
  const fillPreferred = async () => {
    const st = services.get(service.value);
    const chosen = new Set([...preferred.selectedOptions].map((o) => o.value).concat(preferred.dataset.init ? [] : it.preferred_provider_ids || []));
    preferred.dataset.init = "1";
    if (!st) { preferred.replaceChildren(); return; }
    const { providers: list } = await providers.listProviders({ skill: st.required_skill, limit: 100 });
    for (const p of list) state.carers.set(p.id, p);
    replace(preferred, list.map((p) => h("option", { value: p.id, selected: chosen.has(p.id) }, p.name)));
  };
  service.addEventListener("change", fillPreferred);
  fillPreferred().catch(() => {});
  const notes = h("input", { value: it.notes || "", maxlength: "400", dataset: { testid: "item-notes", field: f("notes") }, placeholder: say("备注（如：少盐）", "Notes (e.g. low salt)") });
  const box = h("fieldset", { class: "plan-item-form", dataset: { testid: "item-form" } },
    h("label", {}, say("服务", "Service"), " ", service), builder,
    h("div", { class: "pair" }, h("label", {}, say("时段", "Window"), " ", ws, " – ", we),
      h("label", {}, say("时长", "Duration"), " ", dur, say(" 分钟", " min"))),
    h("label", {}, say("指定服务人员（可不选，按住 Ctrl 多选）", "Preferred carers (optional; Ctrl for several)"), " ", preferred),
    h("label", {}, say("备注", "Notes"), " ", notes));
  box.read = () => ({
    service_code: service.value, rrule: rule(), window_start: ws.value, window_end: we.value,
    duration_s: Math.round(Number(dur.value) * 60), preferred_provider_ids: [...preferred.selectedOptions].map((o) => o.value), notes: notes.value.trim(),
  });
  return box;
}

// --- New plan --------------------------------------------------------------

function openPlanForm() {
  const form = byTestId("plan-form");
  const items = h("div", { class: "items" });
  const renumber = () => [...items.children].forEach((box, i) => {
    for (const el of box.querySelectorAll("[data-field]")) el.dataset.field = el.dataset.field.replace(/^items\[\d+\]/, `items[${i}]`);
    const rm = box.querySelector("[data-testid=item-remove]");
    if (rm) rm.hidden = items.children.length < 2;
  });
  const addItem = () => {
    const box = itemFields(`items[${items.children.length}]`);
    box.append(h("button", { type: "button", class: "plain small", dataset: { testid: "item-remove" }, onclick: () => { box.remove(); renumber(); } }, say("删除此项", "Remove")));
    items.append(box);
    renumber();
  };
  replace(form,
    h("h3", {}, say("新建护理计划", "New care plan")),
    h("div", { class: "pair" },
      h("label", {}, say("开始日期", "Start date"), " ", h("input", { type: "date", name: "start", value: cstDate(), dataset: { testid: "plan-start", field: "start_date" } })),
      h("label", {}, say("结束日期（可不填）", "End date (optional)"), " ", h("input", { type: "date", name: "end", dataset: { testid: "plan-end", field: "end_date" } }))),
    h("label", {}, say("资金来源", "Funding"), " ", h("input", { name: "funding", maxlength: "400", dataset: { testid: "plan-funding", field: "funding_note" },
      placeholder: say("如：区级居家养老补贴 A 类", "e.g. district home-care subsidy, class A") })),
    items,
    h("button", { type: "button", class: "plain", dataset: { testid: "item-add" }, onclick: addItem }, say("添加服务项目", "Add a service")),
    h("div", { class: "actions" },
      h("button", { type: "submit", dataset: { testid: "plan-save" } }, say("保存计划", "Save plan")), " ",
      h("button", { type: "button", class: "plain", dataset: { testid: "plan-cancel" }, onclick: closePlanForm }, say("取消", "Cancel"))),
    h("p", { class: "result", dataset: { testid: "plan-result" }, role: "status" }));
  addItem();
  form.onsubmit = async (e) => {
    e.preventDefault();
    const f = form.elements;
    const req = { resident_id: state.resident.id, start_date: f.start.value, end_date: f.end.value, funding_note: f.funding.value.trim(),
      items: [...items.children].map((box) => box.read()) };
    try {
      const r = await plans.createCarePlan(req);
      closePlanForm();
      state.sig = "";
      await refreshPlans();
      byTestId("plan-list").prepend(h("p", { class: "ok", dataset: { testid: "plan-created" }, role: "status" },
        say(`计划已保存，已生成未来 ${r.projected} 次服务。`, `Plan saved; ${r.projected} visits written ahead.`)));
    } catch (err) {
      showFieldError(form, err);
    }
  };
  form.hidden = false;
  state.formOpen = true;
  form.querySelector("[data-testid=item-service]").focus();
}

function closePlanForm() {
  const form = byTestId("plan-form");
  form.hidden = true;
  form.replaceChildren();
  state.formOpen = false;
}

// --- This and all later ----------------------------------------------------

function editItem(p, it, li) {
  if (state.busy) return;
  state.busy = true;
  const box = itemFields("item", it);
  const from = h("input", { type: "date", value: cstDate() > p.start_date ? cstDate() : p.start_date, dataset: { testid: "item-from", field: "from_date" } });
  const form = h("form", { class: "inline-edit", dataset: { testid: "item-edit-form" }, novalidate: true },
    box, h("label", {}, say("从这天起生效（此次及以后的服务）", "From this day (this and all later visits)"), " ", from),
    h("div", { class: "actions" }, h("button", { type: "submit", dataset: { testid: "item-edit-save" } }, say("保存", "Save")), " ",
      h("button", { type: "button", class: "plain", onclick: () => { state.busy = false; state.sig = ""; refreshPlans(); } }, say("取消", "Cancel"))),
    h("p", { class: "result" }));
  form.onsubmit = async (e) => {
    e.preventDefault();
    try {
      await plans.updatePlanItem({ plan_id: p.id, item_id: it.id, from_date: from.value, item: box.read() });
    } catch (err) { showFieldError(form, err, "item."); return; }
    state.busy = false;
    state.sig = "";
    await refreshPlans();
  };
  li.append(form);
}

// --- This visit only ---------------------------------------------------------

function editVisit(v, li) {
  if (state.busy) return;
  state.busy = true;
  const date = cstDate(new Date(v.window_start_time));
  const ws = h("input", { type: "time", value: cstTime(v.window_start_time), dataset: { testid: "visit-window-start", field: "window_start_time" } });
  const we = h("input", { type: "time", value: cstTime(v.window_end_time), dataset: { testid: "visit-window-end", field: "window_end_time" } });
  const dur = h("input", { type: "number", min: "5", max: "480", step: "5", value: String(minutes(v.duration_s)), dataset: { testid: "visit-duration", field: "duration_s" } });
  const done = async () => { state.busy = false; state.sig = ""; await refreshPlans(); };
  const at = (hhmm) => new Date(`${date}T${hhmm}:00+08:00`).toISOString();
  const form = h("form", { class: "inline-edit", dataset: { testid: "visit-edit-form" }, novalidate: true },
    h("span", {}, say(`${date} 这一次：`, `${date}, this visit: `)), ws, " – ", we, " ", dur, say(" 分钟 ", " min "),
    h("button", { type: "submit", dataset: { testid: "visit-edit-save" } }, say("改时间", "Move")), " ",
    h("button", { type: "button", class: "danger", dataset: { testid: "visit-cancel" }, onclick: async () => {
      try { await plans.editPlannedVisit({ planned_visit_id: v.id, version: v.version, cancel: true, reason: "visit_cancelled" }); } catch (err) { showFieldError(form, err); return; }
      await done();
    } }, say("取消这一次", "Cancel this visit")), " ",
    h("button", { type: "button", class: "plain", onclick: done }, say("返回", "Back")),
    h("p", { class: "result" }));
  form.onsubmit = async (e) => {
    e.preventDefault();
    try {
      await plans.editPlannedVisit({ planned_visit_id: v.id, version: v.version, window_start_time: at(ws.value), window_end_time: at(we.value),
        duration_s: Math.round(Number(dur.value) * 60), reason: "visit_moved" });
    } catch (err) { showFieldError(form, err); return; }
    await done();
  };
  li.append(form);
}

// --- Pause and resume --------------------------------------------------------

function pauseControls(p) {
  const from = h("input", { type: "date", value: cstDate(), dataset: { testid: "pause-from", field: "pauses.from" } });
  const to = h("input", { type: "date", value: addDays(cstDate(), 7), dataset: { testid: "pause-to", field: "pauses.to" } });
  const reason = h("input", { value: say("住院", "In hospital"), maxlength: "200", dataset: { testid: "pause-reason", field: "pauses.reason" } });
  const form = h("form", { class: "inline-edit", hidden: true, novalidate: true, dataset: { testid: "pause-form" } },
    say("暂停从 ", "Pause from "), from, say(" 到 ", " to "), to, " ", reason, " ",
    h("button", { type: "submit", dataset: { testid: "pause-save" } }, say("确认暂停", "Pause")), " ",
    h("button", { type: "button", class: "plain", onclick: () => { form.hidden = true; state.busy = false; } }, say("取消", "Cancel")),
    h("p", { class: "result" }));
  form.onsubmit = async (e) => {
    e.preventDefault();
    try { await plans.pauseCarePlan({ plan_id: p.id, from_date: from.value, to_date: to.value, reason: reason.value.trim() }); } catch (err) { showFieldError(form, err); return; }
    state.busy = false;
    state.sig = "";
    await refreshPlans();
  };
  const resume = async () => {
    try { await plans.resumeCarePlan({ plan_id: p.id, resume_date: cstDate() }); } catch (err) { alert(errorText(err)); return; }
    state.sig = "";
    await refreshPlans();
  };
  return h("div", { class: "plan-actions" },
    h("button", { type: "button", class: "plain small", dataset: { testid: "plan-pause" }, onclick: () => { state.busy = true; form.hidden = false; } }, say("暂停（如住院）", "Pause (e.g. hospital)")), " ",
    (p.pauses || []).some((ps) => ps.to_date >= cstDate()) ? h("button", { type: "button", class: "plain small", dataset: { testid: "plan-resume" }, onclick: resume }, say("今天起恢复", "Resume today")) : null,
    form);
}
