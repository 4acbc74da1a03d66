// Emergency escalation: an emergency nobody accepted within its class
// deadline (the server's "unaccepted" alert) opens a panel at the top of
// the operator's desk until the request is assigned, cancelled or done:
// the elder's address and emergency contacts, what to say to 120, and a
// button for each step taken (called 120, called a contact, phoned a carer
// and assigned by hand). Each step becomes an event of the request
// (IntakeService/RecordEscalationStep), so the timeline shows what was done
// and when. Supervisors see the panel without the buttons.
import { errorText } from "/i18n.js";
import { canWrite, dispatch, intake } from "./api.js";
import { resident, services } from "./cache.js";
import { byTestId, h, replace } from "./dom.js";
import { ago, escalationText, say, serviceName, statusName, timeOf } from "./labels.js";

const OPEN = new Set(["REQUEST_STATUS_PENDING", "REQUEST_STATUS_OFFERED", "REQUEST_STATUS_UNFILLED"]);

let onOpen = () => {};
let sig = "";

export function setupEscalations(openHandler) { onOpen = openHandler; }

// isEmergency: dispatched as an emergency (the call said so, or the service
// is one and was not booked ahead).
export function isEmergency(r) {
  const st = services.get(r.service_code);
  return r.urgency === "URGENCY_EMERGENCY" || (st?.urgency_class === "emergency" && r.urgency !== "URGENCY_SCHEDULED");
}

export async function refreshEscalations() {
  const box = byTestId("escalations");
  const { alerts } = await dispatch.listAlerts({ open_only: false, limit: 200 });
  const ids = [...new Set(alerts.filter((a) => a.kind === "unaccepted" && a.request_id).map((a) => a.request_id))];
  const found = await Promise.all(ids.map((id) => intake.getServiceRequest({ id }).catch(() => null)));
  const open = found.filter((x) => x && OPEN.has(x.request.status) && isEmergency(x.request));
  const people = await Promise.all(open.map((x) => resident(x.request.resident_id).catch(() => null)));
  const next = JSON.stringify([open, people, document.documentElement.lang, Math.floor(Date.now() / 60000)]);
  if (next === sig) return; // unchanged: keep the DOM (and what the operator typed)
  // Keep what the operator is typing in a note.
  if (box.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
  sig = next;
  box.hidden = open.length === 0;
  replace(box, open.map((x, i) => panel(x.request, x.events, people[i])));
}

function panel(r, events, who) {
  const writer = canWrite();
  const waited = (Date.now() - new Date(r.create_time)) / 1000;
  const note = h("input", { dataset: { testid: "escalation-note" }, maxlength: "2000", placeholder: say("备注（可选），如：救护车约10分钟到", "Note (optional), e.g. ambulance in 10 min") });
  const out = h("span", { class: "bad", dataset: { testid: "escalation-error" }, role: "status" });
  const step = (label, testid, code, contact = "") => h("button", {
    type: "button", class: "danger", dataset: { testid, step: code },
    onclick: async (e) => {
      const b = e.currentTarget;
      b.disabled = true;
      out.textContent = "";
      try {
        await intake.recordEscalationStep({ request_id: r.id, step: code, contact, note: note.value.trim() });
        note.value = "";
      } catch (err) {
        out.textContent = errorText(err);
      }
      b.disabled = false;
      sig = "";
      await refreshEscalations().catch(() => {});
    },
  }, label);
  const contacts = who?.emergency_contacts || [];
  const done = events.filter((e) => e.type === "escalation");
  return h("article", { class: "escalation", dataset: { testid: "escalation-panel", requestId: r.id }, role: "alert" },
    h("h3", {}, say("紧急求助无人接单", "Emergency not accepted"), " · ", who?.name || "", " · ",
      serviceName(services.get(r.service_code)) || "", " · ", statusName(r.status), " · ",
      h("span", {}, say(`已等待 ${ago(waited)}`, `waiting ${ago(waited)}`))),
    h("p", { class: "guide", dataset: { testid: "escalation-guide" } },
      h("b", {}, say("请立即拨打 120 急救电话。", "Call 120 (ambulance) now.")), " ",
      say("说明：老人姓名、年龄、详细地址、发生了什么、是否清醒和呼吸；留下回拨电话，不要挂断，按急救员指导操作。",
        "Say: the elder's name, age, full address, what happened, whether conscious and breathing; give a call-back number, stay on the line and follow the dispatcher.")),
    h("dl", {},
      h("dt", {}, say("地址", "Address")), h("dd", { dataset: { testid: "escalation-address" } }, who ? `${who.address}${who.district ? `（${who.district}）` : ""}` : "—"),
      h("dt", {}, say("紧急联系人", "Emergency contacts")),
      h("dd", {}, contacts.length ? h("ul", { class: "contacts" }, contacts.map((c) => h("li", { dataset: { testid: "escalation-contact" } },
        h("b", {}, c.name), c.relation ? `（${c.relation}）` : "", " ", c.phone, " ",
        writer ? step(say(`已联系 ${c.name}${c.relation ? `（${c.relation}）` : ""}`, `Called ${c.name}${c.relation ? ` (${c.relation})` : ""}`),
          "escalation-called-contact", "called_contact", `${c.name}${c.relation ? `（${c.relation}）` : ""}`) : null)))
        : h("span", { class: "muted" }, say("未登记紧急联系人", "No emergency contact on record")))),
    writer ? h("div", { class: "actions" },
      step(say("已拨打120", "Called 120"), "escalation-called-120", "called_120"), " ",
      h("button", {
        type: "button", class: "plain", dataset: { testid: "escalation-assign" }, onclick: () => onOpen(r.id),
      }, say("电话联系服务人员，人工派单…", "Phone a carer and assign by hand…")), " ",
      note, " ", out) : null,
    h("ol", { class: "steps", dataset: { testid: "escalation-steps" } }, done.map((e) => h("li", { dataset: { testid: "escalation-step" } },
      h("span", { class: "muted" }, timeOf(e.event_time)), " ", escalationText(e.reason)))));
}
