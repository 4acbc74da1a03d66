// The request form: the catalogue searchable by Chinese name, English name or
// code, driven entirely from the keyboard (arrows and Enter in the list,
// arrows on the urgency radios, Enter or Ctrl+Enter to submit).
import { errorText } from "/i18n.js";
import { activeCallId } from "./call.js";
import { intake } from "./api.js";
import { services } from "./cache.js";
import { byTestId, h, replace } from "./dom.js";
import { say, serviceName, statusName } from "./labels.js";
import { current } from "./lookup.js";
import { openRequest } from "./detail.js";

let chosen = null; // the picked ServiceType
let matches = [];
let active = -1;
let onCreated = () => {};
let key = newKey(); // one idempotency key per filled form, so a retry cannot log twice

// newKey works outside secure contexts too (crypto.randomUUID does not).
function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return "console-" + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

// match lists catalogue entries whose code, Chinese or English name contains
// q: exact codes first, then names or codes that start with q, then the rest.
export function match(q, limit = 8) {
  q = q.trim().toLowerCase();
  if (!q) return [];
  const scored = [];
  for (const st of services.values()) {
    const fields = [st.code.toLowerCase(), st.name_zh, st.name_en.toLowerCase()];
    if (fields[0] === q) scored.push([0, st]);
    else if (fields.some((f) => f.startsWith(q))) scored.push([1, st]);
    else if (fields.some((f) => f.includes(q))) scored.push([2, st]);
  }
  return scored.sort((a, b) => a[0] - b[0]).slice(0, limit).map(([, st]) => st);
}

export function setupIntake(createdHandler) {
  onCreated = createdHandler;
  const form = byTestId("request-form");
  const input = byTestId("service-input");
  input.addEventListener("input", () => { chosen = null; showChosen(); suggest(input.value); });
  input.addEventListener("keydown", (e) => {
    const open = !byTestId("service-suggestions").hidden;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!open) { suggest(input.value); return; }
      move(e.key === "ArrowDown" ? 1 : -1);
    } else if (e.key === "Enter" && !e.ctrlKey && open && matches.length) {
      e.preventDefault();
      pick(matches[Math.max(0, active)]);
    } else if (e.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  form.addEventListener("keydown", (e) => {
    const inRadio = e.target.name === "urgency";
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey || inRadio)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  for (const r of form.elements.urgency) r.addEventListener("change", showWindow);
  form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
}

// reset readies the form for a new caller.
export function resetForm() {
  const form = byTestId("request-form");
  form.reset();
  key = newKey();
  chosen = null;
  showChosen();
  showWindow();
  byTestId("request-result").textContent = "";
}

function suggest(q) {
  matches = match(q);
  active = matches.length ? 0 : -1;
  const list = byTestId("service-suggestions");
  replace(list, matches.map((st, i) => h("li", {
    id: "svc-" + st.code, role: "option", "aria-selected": String(i === active),
    dataset: { testid: "service-option", code: st.code },
    onmousedown: (e) => { e.preventDefault(); pick(st); },
  }, h("b", {}, serviceName(st)), " ", h("code", { translate: "no" }, st.code))));
  list.hidden = !matches.length;
  const input = byTestId("service-input");
  input.setAttribute("aria-expanded", String(!list.hidden));
  input.setAttribute("aria-activedescendant", active >= 0 ? "svc-" + matches[active].code : "");
}

function move(d) {
  if (!matches.length) return;
  active = (active + d + matches.length) % matches.length;
  const items = [...byTestId("service-suggestions").children];
  items.forEach((li, i) => li.setAttribute("aria-selected", String(i === active)));
  items[active].scrollIntoView({ block: "nearest" });
  byTestId("service-input").setAttribute("aria-activedescendant", items[active].id);
}

function close() {
  byTestId("service-suggestions").hidden = true;
  byTestId("service-input").setAttribute("aria-expanded", "false");
}

// pick takes a catalogue entry, defaults the urgency from its class and
// moves the focus to the urgency radios.
function pick(st) {
  chosen = st;
  const input = byTestId("service-input");
  input.value = `${serviceName(st)} ${st.code}`;
  close();
  showChosen();
  const form = byTestId("request-form");
  const u = { emergency: "URGENCY_EMERGENCY", scheduled: "URGENCY_SCHEDULED" }[st.urgency_class] || "URGENCY_SOON";
  form.elements.urgency.value = u;
  showWindow();
  [...form.elements.urgency].find((r) => r.checked).focus();
}

function showChosen() {
  const el = byTestId("service-chosen");
  el.dataset.code = chosen ? chosen.code : "";
  // The code is the catalogue's identifier (operators may type it), not words.
  replace(el, ...(chosen ? [serviceName(chosen), " · ", h("code", { translate: "no" }, chosen.code)] : []));
}

// showWindow shows the time window for a scheduled visit, proposing the
// next full hour for two hours when it is empty.
function showWindow() {
  const on = byTestId("request-form").elements.urgency.value === "URGENCY_SCHEDULED";
  byTestId("window").hidden = !on;
  const start = byTestId("window-start"), end = byTestId("window-end");
  if (on && !start.value) {
    const d = new Date(Date.now() + 3600e3);
    d.setMinutes(0, 0, 0);
    start.value = local(d);
    end.value = local(new Date(d.getTime() + 2 * 3600e3));
  }
}

// local formats a date for a datetime-local input.
const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);

const iso = (v) => (v ? new Date(v).toISOString() : undefined);

async function submit() {
  const out = byTestId("request-result");
  const r = current();
  if (!r) { out.textContent = say("请先选择来电老人", "Pick the caller first"); return; }
  if (!chosen) { out.textContent = say("请选择服务", "Choose a service"); byTestId("service-input").focus(); return; }
  const form = byTestId("request-form");
  const body = {
    resident_id: r.id,
    service_code: chosen.code,
    urgency: form.elements.urgency.value,
    notes: byTestId("request-notes").value.trim(),
    idempotency_key: key,
    call_id: activeCallId() || undefined, // the call it is logged during, for the recording
  };
  if (body.urgency === "URGENCY_SCHEDULED") {
    body.window_start_time = iso(byTestId("window-start").value);
    body.window_end_time = iso(byTestId("window-end").value);
  }
  byTestId("request-submit").disabled = true;
  try {
    const { request } = await intake.createServiceRequest(body);
    resetForm();
    out.dataset.requestId = request.id;
    // The request's ID is for machines (data-request-id), not for the operator.
    replace(out, say("已登记 ", "Logged "), h("b", { dataset: { testid: "created-request", requestId: request.id } },
      serviceName(services.get(request.service_code)) || ""), " · ", statusName(request.status), " ",
      h("button", { type: "button", class: "plain", onclick: () => openRequest(request.id) }, say("查看", "Open")));
    onCreated(request);
  } catch (e) {
    out.textContent = say("提交失败：", "Failed: ") + errorText(e);
  } finally {
    byTestId("request-submit").disabled = false;
  }
}
