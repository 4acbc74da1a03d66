// The 回访 (callbacks) and 投诉 (complaints) tabs (issue 13; root quality.go
// has the rules). Callbacks: the queue in the order to call, "take the
// next" (a claim, so two operators never call the same person), and the
// result form: satisfaction 1–5, was the service done as logged, notes, or
// "nobody answered". Complaints: the list with a status filter, the form
// for a new one (for the caller on the card, against one of their visits,
// a carer or an organisation), and the workflow's next steps with a note.
// Supervisors see both lists and no write control.
import { errorText, msg } from "/i18n.js";
import { canWrite, intake, quality } from "./api.js";
import { services } from "./cache.js";
import { byTestId, h, replace } from "./dom.js";
import { current } from "./lookup.js";
import { say, serviceName, timeOf } from "./labels.js";

const REASONS = {
  complaint: ["投诉核实", "Complaint check"],
  exception: ["服务异常", "Exception"],
  first_visit: ["首次服务", "First visit"],
  sampled: ["随机抽查", "Random sample"],
};
const CB_STATUS = { open: ["待回访", "To call"], done: ["已回访", "Done"], unreachable: ["联系不上", "Unreachable"], cancelled: ["已取消", "Cancelled"] };
const DONE = { yes: ["属实", "Yes"], partly: ["部分属实", "Partly"], no: ["不属实", "No"] };
const CM_STATUS = {
  open: ["待处理", "Open"], referred: ["已转服务商", "Referred"], responded: ["服务商已答复", "Responded"],
  verified: ["已回访核实", "Verified"], closed: ["已办结", "Closed"], rejected: ["不予受理", "Rejected"],
  withdrawn: ["已撤回", "Withdrawn"], overdue: ["已超期", "Overdue"],
};
// The button of each step.
const STEP = {
  referred: ["转服务商", "Refer to organisation"], responded: ["登记答复", "Record response"], closed: ["办结", "Close"],
  rejected: ["不予受理", "Reject"], withdrawn: ["撤回", "Withdraw"],
};
const WHO = { elder: ["老人本人", "The elder"], family: ["家属", "Family member"] };

const word = (table, k) => (table[k] ? say(table[k][0], table[k][1]) : k);
let claimed = null; // the task this operator is calling about

// typing tells whether the operator is typing in pane: the periodic
// refresh waits rather than wipe what she wrote.
const typing = (pane) => pane.contains(document.activeElement) && /^(INPUT|TEXTAREA)$/.test(document.activeElement.tagName);

export async function refreshCallbacks(force = false) {
  const pane = byTestId("callbacks");
  if (!force && typing(pane)) return;
  const status = pane.querySelector("[data-testid=callbacks-status]")?.value ?? "open";
  const { callbacks } = await quality.listCallbacks({ status, limit: 200 });
  const keep = pane.querySelector("[data-testid=callback-form]");
  replace(pane,
    h("div", { class: "bar" },
      h("label", {}, say("状态 ", "Status "), h("select", { dataset: { testid: "callbacks-status" }, onchange: () => refreshCallbacks(true) },
        Object.keys(CB_STATUS).map((k) => h("option", { value: k, selected: k === status }, word(CB_STATUS, k))))),
      canWrite() ? h("button", { type: "button", dataset: { testid: "callback-next" }, onclick: () => claim("") }, say("领取下一个", "Take the next")) : null,
      h("span", { class: "muted", dataset: { testid: "callbacks-count" } }, say(`共 ${callbacks.length} 条`, `${callbacks.length} in all`))),
    claimed && canWrite() ? (keep?.dataset.callbackId === claimed.id ? keep : recordForm(claimed)) : null,
    h("p", { class: "error", role: "alert", dataset: { testid: "callbacks-error" } }),
    h("table", { class: "list" },
      h("thead", {}, h("tr", {}, [say("老人", "Elder"), say("服务", "Service"), say("原因", "Reason"), say("状态", "Status"),
        say("未接通", "Unanswered"), say("满意度", "Satisfaction"), say("服务属实", "Done as logged"), say("登记时间", "Queued"), ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, callbacks.map(row))));
}

function row(c) {
  const mine = claimed?.id === c.id;
  return h("tr", { dataset: { testid: "callback-row", callbackId: c.id, reason: c.reason, status: c.status } },
    h("td", {}, c.resident_name || say("（已删除）", "(erased)")),
    h("td", {}, serviceName(services.get(c.service_code)) || say("投诉", "Complaint")),
    h("td", {}, word(REASONS, c.reason)),
    h("td", {}, word(CB_STATUS, c.status), c.claimed_by && c.status === "open" ? h("span", { class: "muted" }, say(mine ? "（我在回访）" : "（他人回访中）", mine ? " (mine)" : " (taken)")) : null),
    h("td", {}, c.attempts),
    h("td", {}, c.status === "done" ? h("span", { dataset: { testid: "callback-satisfaction" } }, "★".repeat(c.satisfaction)) : ""),
    h("td", {}, c.service_done ? word(DONE, c.service_done) : ""),
    h("td", {}, timeOf(c.create_time)),
    h("td", {}, canWrite() && c.status === "open" && !mine
      ? h("button", { type: "button", class: "plain", dataset: { testid: "callback-claim" }, onclick: () => claim(c.id) }, say("领取", "Take")) : null));
}

async function claim(id) {
  try {
    ({ callback: claimed } = await quality.claimCallback({ id }));
  } catch (e) {
    claimed = null;
    await refreshCallbacks(true);
    byTestId("callbacks-error").textContent = e.code === "not_found" && !id ? say("没有待回访的任务", "Nothing waiting") : errorText(e);
    return;
  }
  await refreshCallbacks(true);
}

function recordForm(c) {
  const submit = async (e, unreachable) => {
    e.preventDefault();
    const f = byTestId("callback-form").elements;
    // Said here before asking the server, which would refuse the same.
    const missing = unreachable ? "" : !f.satisfaction.value ? msg("satisfaction_range")
      : !f.service_done.value ? msg("required", { field: "service_done" }) : "";
    if (missing) { byTestId("callback-form-error").textContent = missing; return; }
    try {
      await quality.recordCallback({ id: c.id, unreachable, satisfaction: Number(f.satisfaction.value || 0),
        service_done: f.service_done.value, notes: f.notes.value });
      claimed = null;
      await refreshCallbacks(true);
    } catch (err) {
      byTestId("callback-form-error").textContent = errorText(err);
    }
  };
  return h("form", { class: "record", dataset: { testid: "callback-form", callbackId: c.id }, onsubmit: (e) => submit(e, false) },
    h("h3", {}, say("回访：", "Calling: "), c.resident_name, " · ", serviceName(services.get(c.service_code)) || word(REASONS, c.reason)),
    h("fieldset", { class: "stars" }, h("legend", {}, say("满意度", "Satisfaction")),
      [1, 2, 3, 4, 5].map((n) => h("label", {}, h("input", { type: "radio", name: "satisfaction", value: n, dataset: { testid: `callback-sat-${n}` } }), ` ${n}`))),
    h("label", {}, say("服务是否如记录完成 ", "Service done as logged "),
      h("select", { name: "service_done", dataset: { testid: "callback-done" } },
        h("option", { value: "" }, say("请选择", "Choose")), Object.keys(DONE).map((k) => h("option", { value: k }, word(DONE, k))))),
    h("textarea", { name: "notes", rows: 2, maxlength: 2000, placeholder: say("回访记录", "Notes"), dataset: { testid: "callback-notes" } }),
    h("div", { class: "actions" },
      h("button", { type: "submit", dataset: { testid: "callback-save" } }, say("保存回访结果", "Save the result")),
      h("button", { type: "button", class: "plain", dataset: { testid: "callback-unreachable" }, onclick: (e) => submit(e, true) },
        say(`未接通（已 ${c.attempts} 次）`, `No answer (${c.attempts} so far)`))),
    h("p", { class: "error", role: "alert", dataset: { testid: "callback-form-error" } }));
}

// --- complaints

export async function refreshComplaints(force = false) {
  const pane = byTestId("complaints");
  if (!force && typing(pane)) return;
  const status = pane.querySelector("[data-testid=complaints-status]")?.value ?? "";
  const keepForm = pane.querySelector("[data-testid=complaint-form]");
  const { complaints } = await quality.listComplaints({ status, limit: 200 });
  const form = canWrite() ? (keepForm && keepForm.dataset.residentId === (current()?.id || "") ? keepForm : await complaintForm()) : null;
  replace(pane,
    h("div", { class: "bar" },
      h("label", {}, say("状态 ", "Status "), h("select", { dataset: { testid: "complaints-status" }, onchange: () => refreshComplaints(true) },
        h("option", { value: "" }, say("全部", "All")),
        Object.keys(CM_STATUS).map((k) => h("option", { value: k, selected: k === status }, word(CM_STATUS, k))))),
      h("span", { class: "muted", dataset: { testid: "complaints-count" } }, say(`共 ${complaints.length} 件`, `${complaints.length} in all`))),
    form,
    h("p", { class: "error", role: "alert", dataset: { testid: "complaints-error" } }),
    h("ul", { class: "complaints" }, complaints.length ? complaints.map(complaintItem)
      : h("li", { class: "muted" }, say("暂无投诉", "No complaints"))));
}

function complaintItem(c) {
  const note = h("input", { placeholder: say("说明（答复内容、办结或驳回理由）", "Note (the response, or why)"), dataset: { testid: "complaint-note" } });
  const act = async (to) => {
    try {
      await quality.moveComplaint({ id: c.id, status: to, note: note.value });
      await refreshComplaints(true);
    } catch (e) {
      byTestId("complaints-error").textContent = errorText(e);
    }
  };
  return h("li", { class: c.overdue ? "overdue" : "", dataset: { testid: "complaint", complaintId: c.id, status: c.status, overdue: String(c.overdue) } },
    h("b", {}, c.resident_name), " ",
    h("span", { class: "tag", dataset: { testid: "complaint-status" } }, word(CM_STATUS, c.status)),
    c.overdue ? h("span", { class: "tag late" }, word(CM_STATUS, "overdue")) : null, " ",
    h("span", { class: "muted" }, word(WHO, c.complainant), c.complainant_name ? `（${c.complainant_name}）` : "", " · ", timeOf(c.create_time),
      c.due_time ? say(` · 本环节期限 ${timeOf(c.due_time)}`, ` · step due ${timeOf(c.due_time)}`) : ""),
    h("p", {}, c.description),
    c.response ? h("p", { class: "muted" }, say("服务商答复：", "Response: "), c.response) : null,
    c.resolution ? h("p", { class: "muted" }, say("说明：", "Note: "), c.resolution) : null,
    c.status === "responded" ? h("p", { class: "muted" }, say("等待回访核实（见回访页）", "Waiting for the verifying callback (Callbacks tab)")) : null,
    canWrite() && c.next_statuses.length ? h("div", { class: "actions" }, note,
      c.next_statuses.map((to) => h("button", { type: "button", class: "plain", dataset: { testid: `complaint-${to}` }, onclick: () => act(to) }, word(STEP, to)))) : null);
}

// complaintForm is the new-complaint form for the caller on the card,
// listing their completed visits to pick the one complained about.
async function complaintForm() {
  const r = current();
  if (!r) {
    return h("p", { class: "muted", dataset: { testid: "complaint-form-hint" } }, say("先在左侧查到来电老人，再登记投诉。", "Find the caller on the left first to log a complaint."));
  }
  const { requests } = await intake.listServiceRequests({ resident_id: r.id, statuses: ["REQUEST_STATUS_COMPLETED"], limit: 20 }).catch(() => ({ requests: [] }));
  const submit = async (e) => {
    e.preventDefault();
    const f = e.target.elements;
    const target = f.target.value;
    try {
      await quality.createComplaint({
        resident_id: r.id, complainant: f.complainant.value, complainant_name: f.complainant_name.value.trim(),
        visit_id: target === "other" ? "" : target, provider_id: target === "other" ? f.provider_id.value.trim() : "",
        org_id: target === "other" ? f.org_id.value.trim() : "", description: f.description.value,
      });
      e.target.remove();
      await refreshComplaints(true);
      byTestId("complaints-error").textContent = "";
    } catch (err) {
      byTestId("complaint-form-error").textContent = errorText(err);
    }
  };
  const other = h("div", { class: "pair", hidden: requests.length > 0, dataset: { testid: "complaint-other" } },
    h("label", {}, say("服务人员编号 ", "Carer ID "), h("input", { name: "provider_id", dataset: { testid: "complaint-provider" } })),
    h("label", {}, say("服务商编号 ", "Organisation ID "), h("input", { name: "org_id", dataset: { testid: "complaint-org" } })));
  return h("form", { class: "complaint-new", dataset: { testid: "complaint-form", residentId: r.id }, onsubmit: submit },
    h("h3", {}, say("登记投诉：", "New complaint: "), r.name),
    h("label", {}, say("投诉人 ", "Complainant "), h("select", { name: "complainant", dataset: { testid: "complaint-complainant" } },
      Object.keys(WHO).map((k) => h("option", { value: k }, word(WHO, k))))),
    h("label", {}, say("家属姓名 ", "Family member's name "), h("input", { name: "complainant_name", dataset: { testid: "complaint-complainant-name" } })),
    h("label", {}, say("投诉对象 ", "Against "), h("select", {
      name: "target", dataset: { testid: "complaint-target" },
      onchange: (e) => { other.hidden = e.target.value !== "other"; },
    },
    requests.map((q) => h("option", { value: q.visit_id },
      `${serviceName(services.get(q.service_code)) || q.service_code} · ${timeOf(q.update_time || q.create_time)}${q.provider_name ? " · " + q.provider_name : ""}`)),
    h("option", { value: "other" }, say("服务人员或服务商", "A carer or an organisation")))),
    other,
    h("textarea", { name: "description", rows: 3, maxlength: 2000, placeholder: say("投诉内容", "What happened"), dataset: { testid: "complaint-description" } }),
    h("div", { class: "actions" }, h("button", { type: "submit", dataset: { testid: "complaint-submit" } }, say("登记投诉", "Log the complaint"))),
    h("p", { class: "error", role: "alert", dataset: { testid: "complaint-form-error" } }));
}
