// Incoming call: type phone digits (the last four are enough) or a name, see
// the matching residents at once, pick one, and get her card: profile,
// preferences, recent requests and open alerts.
import { canWrite, residents, intake, dispatch } from "./api.js";
import { alertKind, alertText } from "./alerts.js";
import { rememberResident, services } from "./cache.js";
import { byTestId, h, replace } from "./dom.js";
import { closeRegister, deactivation, openEdit, registerOffer } from "./register.js";
import { allowanceLine, canPrintCard, printCard } from "./finance.js";
import { say, serviceName, statusKey, statusName, timeOf, urgencyName } from "./labels.js";

let selected = null; // the resident on the card
let searchSeq = 0;
let onSelect = () => {};
let cardSig = ""; // what the card shows, to skip redrawing it unchanged

export const current = () => selected;

export function setupLookup(selectHandler) {
  onSelect = selectHandler;
  const input = byTestId("caller-search");
  const list = byTestId("search-results");
  let timer = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(input.value.trim()), 120);
  });
  input.addEventListener("keydown", (e) => {
    const items = [...list.children];
    const at = items.findIndex((li) => li.getAttribute("aria-selected") === "true");
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!items.length) return;
      const next = e.key === "ArrowDown" ? Math.min(items.length - 1, at + 1) : Math.max(0, at - 1);
      items.forEach((li, i) => li.setAttribute("aria-selected", String(i === next)));
    } else if (e.key === "Enter") {
      e.preventDefault();
      const li = items[Math.max(0, at)];
      if (li) li.click();
    }
  });
}

async function search(q) {
  const list = byTestId("search-results");
  const seq = ++searchSeq;
  if (!q) { list.replaceChildren(); return; }
  if (/^\+?\d{1,3}$/.test(q)) { list.replaceChildren(tooFewDigits()); return; } // the server would refuse it the same way
  let found;
  try {
    ({ residents: found } = await residents.searchResidents({ query: q, limit: 10 }));
  } catch (e) {
    if (seq !== searchSeq) return;
    if (e.code === "invalid_argument" && e.meta?.argument === "query") { list.replaceChildren(tooFewDigits()); return; }
    throw e;
  }
  if (seq !== searchSeq) return; // a newer keystroke won
  replace(list, found.map((r, i) => h("li", {
    dataset: { testid: "search-result", residentId: r.id }, role: "option", "aria-selected": String(i === 0),
    onclick: () => select(r),
  }, h("b", {}, r.name), " ", h("span", { class: "phone" }, r.phone), " ", h("span", { class: "muted" }, r.address),
  r.deactivate_reason ? h("span", { class: "bad" }, " ", say("已停用", "deactivated")) : null)));
  // Nobody: a new caller. Enter registers her with what was typed.
  if (!found.length) list.append(canWrite() ? registerOffer(q) : h("li", { class: "muted", dataset: { testid: "search-none" } }, say("没有找到", "No match")));
}

const tooFewDigits = () => h("li", { class: "muted", dataset: { testid: "search-hint" } },
  say("请至少输入4位号码", "Type at least 4 digits"));

// Phone numbers come masked (139****0001); the full number is a deliberate
// request with a reason, which the server audits. Revealed numbers are kept
// for this page only.
const revealed = new Map();

// Supervisors oversee and see masked numbers only (the server refuses them too).
const canReveal = canWrite;

async function reveal(r) {
  const reason = prompt(say("为什么需要完整号码？（将记入审计）", "Why do you need the full number? (it is audited)"), say("回拨", "Calling back"));
  if (!reason || !reason.trim()) return;
  let value;
  try {
    ({ value } = await residents.revealResidentField({ resident_id: r.id, field: "phone", reason: reason.trim() }));
  } catch (e) {
    // The page words the refusal itself (invariant 9), by the error's code.
    alert(e.code === "resource_exhausted"
      ? say("本账号短时间内查看的居民过多，已通知主管，请稍后再试。", "This account has read too many residents recently; supervisors were told. Try later.")
      : say("无法显示完整号码。", "Cannot show the full number."));
    return;
  }
  revealed.set(r.id, value);
  cardSig = ""; // redraw with the number
  await renderCard();
}

export async function select(r) {
  closeRegister();
  selected = r;
  rememberResident(r);
  byTestId("search-results").replaceChildren();
  await renderCard();
  onSelect(r);
}

// renderCard redraws the card of the selected resident with fresh requests and alerts.
export async function renderCard() {
  const r = selected;
  const card = byTestId("resident-card");
  if (!r) { card.hidden = true; return; }
  const [{ requests }, { alerts }, allowance] = await Promise.all([
    intake.listServiceRequests({ resident_id: r.id, limit: 5 }),
    dispatch.listAlerts({ open_only: true, limit: 200 }),
    allowanceLine(r.id),
  ]);
  if (selected !== r) return; // another caller was picked meanwhile
  const sig = JSON.stringify([r, requests, alerts, allowance?.map((el) => el.textContent), document.documentElement.lang]);
  if (sig === cardSig && !card.hidden) return; // unchanged: keep the DOM (and any focus) as it is
  cardSig = sig;
  const mine = new Set(requests.map((q) => q.id));
  const open = alerts.filter((a) => mine.has(a.request_id));
  const p = r.preferences || {};
  replace(card,
    h("h3", {}, h("span", { dataset: { testid: "resident-name" } }, r.name), " ",
      canWrite() ? h("button", { type: "button", class: "plain small", dataset: { testid: "resident-edit" }, onclick: () => openEdit(r) },
        say("编辑", "Edit")) : null),
    canWrite() || r.deactivate_reason ? deactivation(r) : null,
    h("dl", {},
      h("dt", {}, say("电话", "Phone")), h("dd", {}, h("span", { dataset: { testid: "resident-phone" } }, revealed.get(r.id) || r.phone),
        revealed.has(r.id) || !canReveal() ? null : [" ", h("button", { type: "button", dataset: { testid: "reveal-phone" }, onclick: () => reveal(r) }, say("显示完整号码", "Show number"))]),
      h("dt", {}, say("地址", "Address")), h("dd", {}, r.address, r.district ? ` (${[r.district, r.street, r.community].filter(Boolean).join(" ")})` : ""),
      r.birth_year ? [h("dt", {}, say("出生", "Born")), h("dd", {}, r.birth_year)] : null,
      h("dt", {}, say("偏好", "Preferences")), h("dd", { dataset: { testid: "resident-preferences" } },
        [p.language, p.preferred_provider_gender !== "GENDER_UNSPECIFIED" ? p.preferred_provider_gender : "", p.notes]
          .filter(Boolean).join("；") || "—"),
      (r.emergency_contacts || []).length
        ? [h("dt", {}, say("紧急联系人", "Contacts")), h("dd", {}, r.emergency_contacts.map((c) => `${c.name} ${c.relation} ${c.phone}`).join("；"))]
        : null,
      allowance),
    canPrintCard() ? h("p", {}, h("button", { type: "button", class: "plain small", dataset: { testid: "print-card" }, onclick: () => printCard(r) },
      say("打印服务卡", "Print service card"))) : null,
    h("h4", {}, say("最近需求", "Recent requests")),
    h("ul", { dataset: { testid: "resident-requests" } }, requests.length ? requests.map((q) => h("li", { dataset: { status: statusKey(q.status) } },
      serviceName(services.get(q.service_code)) || q.service_code, " · ", urgencyName(q.urgency), " · ",
      h("span", { class: "status" }, statusName(q.status)), " · ", h("span", { class: "muted" }, timeOf(q.create_time)))) : h("li", { class: "muted" }, "—")),
    h("h4", {}, say("未处理告警", "Open alerts")),
    h("ul", { dataset: { testid: "resident-alerts" } }, open.length ? open.map((a) => h("li", { class: "bad" }, alertKind(a.kind), "：", alertText(a))) : h("li", { class: "muted" }, "—")),
  );
  card.hidden = false;
}
