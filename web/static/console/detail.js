// One request in a dialog: its timeline (the append-only events), its offers,
// and manual assignment from the ranked candidates with each one's factors.
import { errorText, msg, roleName } from "/i18n.js";
import { canDispatch, canWrite, dispatch, intake, isOrgRole, mayReadResident } from "./api.js";
import { resident, services } from "./cache.js";
import { byTestId, h, replace } from "./dom.js";
import { CANCEL_REASONS, cancelReasonText, say, serviceName, statusKey, statusName, timeOf, urgencyName } from "./labels.js";
import { isEmergency } from "./escalation.js";
import { lastSeen, stateOf } from "./providers.js";

const ASSIGNABLE = new Set(["REQUEST_STATUS_PENDING", "REQUEST_STATUS_OFFERED", "REQUEST_STATUS_UNFILLED"]);

const FACTORS = {
  travel_time: ["路程时间", "Travel time"],
  continuity: ["服务连续性", "Continuity"],
  preferred_provider: ["老人偏好", "Preferred provider"],
  gender: ["性别偏好", "Gender"],
  language: ["语言", "Language"],
  fair_share: ["工作量均衡", "Fair share"],
};

const EVENTS = {
  created: ["已登记", "Logged"],
  status_changed: ["状态变更", "Status changed"],
  cancelled: ["已取消", "Cancelled"],
  offered: ["已推送", "Offered"],
  offer_accepted: ["已接单", "Offer accepted"],
  offer_declined: ["已拒绝", "Offer declined"],
  offer_expired: ["推送超时", "Offer expired"],
  offer_withdrawn: ["推送撤回", "Offer withdrawn"],
  escalation: ["升级处置", "Escalation"],
};

let shown = null; // request id in the dialog
let onChange = () => {};
let bodySig = ""; // what the dialog shows, to skip redrawing it unchanged

export function setupDetail(changeHandler) {
  onChange = changeHandler;
  byTestId("request-detail").addEventListener("close", () => { shown = null; });
}

export async function openRequest(id) {
  shown = id;
  const dlg = byTestId("request-detail");
  if (!dlg.open) dlg.showModal();
  await render();
}

// refreshDetail keeps an open dialog current while the board polls.
export async function refreshDetail() {
  if (shown) await render();
}

async function render() {
  const id = shown;
  const [{ request: r, events }, { offers }] = await Promise.all([
    intake.getServiceRequest({ id }),
    dispatch.listRequestOffers({ request_id: id }),
  ]);
  const who = mayReadResident(r) ? await resident(r.resident_id).catch(() => null) : null;
  let cands = null;
  // Every qualified carer near her, whatever their state: the dispatcher's
  // ranked ones first, then the ones a phone call may still reach.
  if (ASSIGNABLE.has(r.status) && (!isOrgRole() || canDispatch())) cands = (await dispatch.listCandidates({ request_id: id, list_all: true, limit: 100 }).catch(() => ({ candidates: null }))).candidates;
  if (shown !== id) return;
  const body = byTestId("request-detail").querySelector(".body");
  const sig = JSON.stringify([r, events, offers, cands, document.documentElement.lang]);
  if (sig === bodySig) return; // unchanged: keep the DOM (and the focus) as it is
  bodySig = sig;
  const st = services.get(r.service_code);
  replace(body,
    h("h2", { dataset: { testid: "detail-title", requestId: r.id, status: statusKey(r.status) } },
      who?.name || say("老人（接单后显示）", "Elder (shown once assigned)"), " · ", serviceName(st) || r.service_code),
    h("p", {}, urgencyName(r.urgency), " · ", h("b", { dataset: { testid: "detail-status" } }, statusName(r.status)),
      r.provider_name ? h("span", { dataset: { testid: "detail-carer" } }, " · ", say("服务人员：", "Carer: "), r.provider_name, " ",
        r.provider_phone ? h("a", { href: "tel:" + r.provider_phone }, r.provider_phone) : null) : null,
      r.notes ? h("span", {}, " · ", r.notes) : null,
      r.call_id ? h("span", { dataset: { testid: "detail-call" } }, " · ", say("来电录音：", "Call recording: "),
        /^https?:\/\//.test(r.recording_ref) ? h("a", { href: r.recording_ref, target: "_blank", rel: "noopener" }, say("播放", "play"))
          : r.recording_ref || say("通话结束后可用", "available after the call")) : null,
      r.cancel_reason ? h("span", { dataset: { testid: "detail-cancel-reason" } }, " · ", say("取消原因：", "Cancelled: "), cancelReasonText(r.cancel_reason)) : null),
    h("div", { class: "cols" },
      h("section", {},
        h("h3", {}, say("时间线", "Timeline")),
        h("ol", { class: "timeline", dataset: { testid: "timeline" } }, events.map(timelineRow)),
        h("h3", {}, say("推送记录", "Offers")),
        h("ul", { dataset: { testid: "offers" } }, offers.length ? offers.map((o) => h("li", { dataset: { testid: "offer", providerId: o.provider_id, status: o.status.replace("OFFER_STATUS_", "").toLowerCase() } },
          h("b", {}, o.provider_name || say("服务人员", "carer")), " · ", Math.round(o.distance_m), say(" 米", " m"), " · ",
          o.reason_code ? msg(o.reason_code, o.reason_params) : say("等待响应", "waiting for an answer"))) : h("li", { class: "muted" }, "—")),
        canWrite() ? actions(r) : null),
      h("section", {},
        h("h3", {}, say("候选人员（人工派单）", "Candidates (manual assignment)")),
        cands === null ? h("p", { class: "muted" }, say("此状态不能改派", "Not assignable in this status"))
          : cands.length ? [
            h("p", { class: "muted small", dataset: { testid: "candidates-order" } }, say(
              "排序：可直接派单的人员按得分在前；其余按能否电话联系到（本单未应答、已拒绝、离线、正忙于其他订单、服务中）再按距离。",
              "Order: carers the dispatcher would offer to, by score; then the others by how reachable by phone (no answer, declined, offline, holding another offer, on a visit), then distance.")),
            h("ol", { class: "candidates", dataset: { testid: "candidates" } }, cands.map((c) => candidate(r, c)))]
            : h("p", { class: "muted", dataset: { testid: "no-candidates" } }, say("半径内没有具备该技能的在册人员", "No carer with this skill on the roster within the radius")))));
}

// why says in words why the dispatcher passes a carer by.
function why(c) {
  const out = [];
  if (c.offered_this) out.push(say("正在等待其确认本单", "holding this request's offer"));
  if (c.no_answer) out.push(say("本单推送未应答", "did not answer this request's offer"));
  if (c.declined) out.push(say("已拒绝本单", "declined this request"));
  if (c.stale) out.push(say("手机信号中断", "phone not reporting"));
  if (c.blocked) out.push(say("老人要求不派此人", "the elder asked not to send them"));
  return out.join("；");
}

// actorText names who did something: the carer, the console user (their
// role in words, then their account name), or the system.
function actorText(e) {
  if (e.actor_kind === "provider") return e.actor_name || say("服务人员", "carer");
  if (e.actor_kind === "user") return [roleName(e.actor_role) || say("话务台用户", "console user"), " ", h("span", { translate: "no" }, e.actor_name)];
  if (e.actor_kind === "family") return say("家属", "family");
  return say("系统", "system");
}

// timelineRow is one event: when, what, the status it moved to (only when
// it moved), the carer an offer event is about, why, and who.
function timelineRow(e) {
  const moved = e.to_status !== "REQUEST_STATUS_UNSPECIFIED" && e.to_status !== e.from_status;
  return h("li", { dataset: { testid: "timeline-event", type: e.type } },
    h("span", { class: "muted" }, timeOf(e.event_time)), " ",
    h("b", {}, EVENTS[e.type] ? say(...EVENTS[e.type]) : msg(e.type)), " ",
    e.provider_name ? h("span", { dataset: { testid: "timeline-carer" } }, e.provider_name, " ") : null,
    moved ? h("span", {}, "→ ", statusName(e.to_status), " ") : null,
    e.reason_code ? h("span", { dataset: { testid: "timeline-reason" } }, say("（", "("), msg(e.reason_code, e.reason_params), say("）", ")"), " ") : null,
    h("span", { class: "muted", dataset: { testid: "timeline-actor" } }, "— ", actorText(e)));
}

function candidate(r, c) {
  const [key, words] = stateOf(c.state, c.stale);
  // Reachable by telephone: not on a visit, not holding another request's
  // offer, not refused by the elder.
  const assignable = !c.blocked && key !== "busy" && !(key === "offered" && !c.offered_this);
  const needsPhone = !c.rankable && !c.offered_this;
  return h("li", { dataset: { testid: "candidate", providerId: c.provider_id, state: key, rankable: String(!!c.rankable) } },
    h("div", { class: "head" },
      h("b", {}, c.provider_name), " ",
      h("span", { class: `state state-${key}`, dataset: { testid: "candidate-state" } }, words), " ",
      h("span", {}, Math.round(c.distance_m), " m · ", Math.round(c.eta_s / 60), say(" 分钟", " min")), " ",
      h("span", { class: "muted" }, lastSeen(c.last_seen_time)), " ",
      c.rankable ? h("span", { class: "score" }, say("得分 ", "score "), c.score.toFixed(2)) : null,
      canDispatch() && assignable ? assignButton(r, c, needsPhone) : null),
    why(c) ? h("p", { class: "muted", dataset: { testid: "candidate-why" } }, why(c)) : null,
    c.rankable ? h("table", { class: "factors", dataset: { testid: "explanation" } },
      h("tr", {}, h("th", {}, say("因素", "Factor")), h("th", {}, say("数值", "Value")), h("th", {}, say("权重", "Weight")), h("th", {}, say("贡献", "Contribution"))),
      c.factors.map((f) => {
        const n = FACTORS[f.name];
        return h("tr", {}, h("td", {}, n ? say(n[0], n[1]) : f.name), h("td", {}, round(f.value)), h("td", {}, round(f.weight)), h("td", {}, round(f.contribution)));
      })) : null);
}

// assignButton assigns at once a carer the dispatcher would offer to; one
// offline, not reporting, or who let the offer go, only once the operator
// confirms they rang them and the carer agreed (已电话联系), which the
// request's history records.
function assignButton(r, c, needsPhone) {
  const err = h("span", { class: "bad", dataset: { testid: "assign-error" } });
  const go = async (b, phoned) => {
    b.disabled = true;
    try {
      await dispatch.assignProvider({ request_id: r.id, provider_id: c.provider_id, phoned, reason: "assigned_manual" });
      if (phoned && isEmergency(r)) {
        // The escalation trail says a carer was phoned and assigned by hand.
        await intake.recordEscalationStep({ request_id: r.id, step: "phoned_carer", contact: c.provider_name }).catch(() => {});
      }
    } catch (e) {
      b.disabled = false;
      err.textContent = " " + errorText(e);
      return;
    }
    await render();
    onChange();
  };
  const main = h("button", {
    type: "button", dataset: { testid: "assign" },
    onclick: (e) => {
      if (!needsPhone) { go(e.currentTarget, false); return; }
      main.hidden = true;
      confirm.hidden = false;
      confirm.querySelector("button").focus();
    },
  }, say("派给此人", "Assign"));
  const confirm = h("span", { class: "confirm", hidden: true },
    say("需先电话联系本人并征得同意。", "Phone them first and get their agreement. "),
    h("button", { type: "button", class: "danger", dataset: { testid: "assign-phoned" }, onclick: (e) => go(e.currentTarget, true) },
      say("已电话联系，确认派单", "Phoned them: assign")), " ",
    h("button", { type: "button", class: "plain", onclick: () => { confirm.hidden = true; main.hidden = false; } }, say("返回", "Back")));
  return h("span", {}, main, confirm, err);
}

function actions(r) {
  const act = (label, testid, fn) => h("button", {
    type: "button", dataset: { testid },
    onclick: async (e) => {
      e.target.disabled = true;
      try { await fn(); } catch (err) { e.target.after(h("span", { class: "bad" }, " ", errorText(err))); }
      await render();
      onChange();
    },
  }, label);
  const out = [];
  if (r.status === "REQUEST_STATUS_UNFILLED") out.push(act(say("重新派单", "Retry dispatch"), "retry", () => dispatch.retryDispatch({ request_id: r.id })));
  if (r.status === "REQUEST_STATUS_PENDING" || r.status === "REQUEST_STATUS_OFFERED") {
    out.push(act(say("标记无人接单", "Mark unfilled"), "mark-unfilled", () => dispatch.markUnfilled({ request_id: r.id, reason: "marked_unfilled" })));
  }
  const done = r.status === "REQUEST_STATUS_COMPLETED" || r.status === "REQUEST_STATUS_CANCELLED";
  if (!done) out.push(cancelPicker(r));
  return out.length ? h("div", { class: "actions" }, out) : null;
}

// cancelPicker is the cancel button and, once pressed, the reason codes; a
// cancel after assignment withdraws the visit from the carer's phone and
// frees the carer (the server does both).
function cancelPicker(r) {
  const box = h("div", { class: "cancel", dataset: { testid: "cancel-box" } });
  const open = h("button", {
    type: "button", class: "danger", dataset: { testid: "cancel-request" },
    onclick: () => { open.hidden = true; form.hidden = false; form.querySelector("select").focus(); },
  }, say("取消需求", "Cancel request"));
  const select = h("select", { dataset: { testid: "cancel-reason" }, "aria-label": say("取消原因", "Reason") },
    CANCEL_REASONS.map((code) => h("option", { value: code }, cancelReasonText(code))));
  const text = h("input", { dataset: { testid: "cancel-text" }, maxlength: "2000", placeholder: say("说明（选“其他”时必填）", "Details (required for Other)") });
  const err = h("span", { class: "bad", dataset: { testid: "cancel-error" } });
  const confirm = h("button", {
    type: "button", class: "danger", dataset: { testid: "cancel-confirm" },
    onclick: async () => {
      if (select.value === "other" && !text.value.trim()) { err.textContent = say("请写明原因", "Please say why"); text.focus(); return; }
      confirm.disabled = true;
      try {
        await intake.cancelServiceRequest({ id: r.id, reason_code: select.value, reason: text.value.trim() });
      } catch (e) {
        confirm.disabled = false;
        err.textContent = errorText(e);
        return;
      }
      await render();
      onChange();
    },
  }, say("确认取消", "Confirm cancel"));
  const back = h("button", { type: "button", class: "plain", onclick: () => { form.hidden = true; open.hidden = false; } }, say("返回", "Back"));
  const form = h("div", { class: "cancel-form", hidden: true }, select, " ", text, " ", confirm, " ", back, " ", err);
  box.append(open, form);
  return box;
}

const round = (x) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100);
