// The provider roster: search by name, phone or skill, a page at a time with
// the total, each carer's live availability (online, offered, busy,
// offline, last seen), adding, editing and deactivating a carer, and the
// "device token" action that shows a phone's new token as text and as a QR
// code to scan. Supervisors see the roster and change nothing.
import qrcode from "/vendor/qrcode-generator/qrcode.mjs";
import { errorText, skillName } from "/i18n.js";
import { canManageCarers, providers } from "./api.js";
import { services } from "./cache.js";
import { byTestId, h, replace, svg } from "./dom.js";
import { hoursButton } from "./hours.js";
import { ago, say, timeOf } from "./labels.js";

const PAGE = 50;

const STATES = {
  AVAILABILITY_STATE_ONLINE: ["online", "在线", "Online"],
  AVAILABILITY_STATE_OFFERED: ["offered", "待确认订单", "Offered"],
  AVAILABILITY_STATE_BUSY: ["busy", "服务中", "Busy"],
  AVAILABILITY_STATE_OFFLINE: ["offline", "离线", "Offline"],
};

// stateOf is a live state's short name and words: [key, words].
export function stateOf(state, stale) {
  const s = STATES[state] || STATES.AVAILABILITY_STATE_OFFLINE;
  if (stale && s[0] !== "offline") return [s[0], say(`${s[1]}（信号中断）`, `${s[2]} (no signal)`)];
  return [s[0], say(s[1], s[2])];
}

// lastSeen says when a phone last reported, as "3 分钟前", or that it never did.
export function lastSeen(ts) {
  if (!ts) return say("从未上线", "never seen");
  return say(`${ago((Date.now() - new Date(ts)) / 1000)}前`, `${ago((Date.now() - new Date(ts)) / 1000)} ago`);
}

const GENDERS = [["GENDER_UNSPECIFIED", "未填", "Not given"], ["GENDER_FEMALE", "女", "Female"], ["GENDER_MALE", "男", "Male"]];
const LEAVE_REASONS = [["left", "已离职", "Left"], ["on_leave", "长期休假", "On long leave"], ["other", "其他", "Other"]];

const state = { query: "", skill: "", offset: 0, inactive: false, editing: null, formOpen: false };
let seq = 0;
let built = false;

function skills() {
  const set = new Set();
  for (const st of services.values()) if (st.required_skill) set.add(st.required_skill);
  return [...set].sort();
}

// build lays out the pane once: the search bar, the form, the table, the pager.
function build() {
  const pane = byTestId("providers");
  let timer = 0;
  const search = h("input", {
    type: "search", dataset: { testid: "providers-search" }, autocomplete: "off",
    placeholder: say("姓名或电话", "Name or phone"), "aria-label": say("搜索服务人员", "Search carers"),
    oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => { state.query = e.target.value.trim(); state.offset = 0; refreshProviders(); }, 200); },
  });
  const skill = h("select", {
    dataset: { testid: "providers-skill" }, "aria-label": say("技能", "Skill"),
    onchange: (e) => { state.skill = e.target.value; state.offset = 0; refreshProviders(); },
  }, h("option", { value: "" }, say("全部技能", "All skills")), skills().map((s) => h("option", { value: s }, skillName(s))));
  const inactive = h("label", { class: "muted" }, h("input", {
    type: "checkbox", dataset: { testid: "providers-inactive" },
    onchange: (e) => { state.inactive = e.target.checked; state.offset = 0; refreshProviders(); },
  }), " ", say("含已停用", "Include deactivated"));
  const add = canManageCarers() ? h("button", { type: "button", dataset: { testid: "provider-add" }, onclick: () => openForm(null) },
    say("添加服务人员", "Add carer")) : null;
  replace(pane,
    h("div", { class: "roster-bar" }, search, " ", skill, " ", inactive, " ", add),
    h("form", { class: "provider-form", dataset: { testid: "provider-form" }, hidden: true, novalidate: true }),
    h("form", { class: "provider-form hours-form", dataset: { testid: "hours-form" }, hidden: true, novalidate: true }), // hours.js
    h("p", { class: "muted", dataset: { testid: "providers-total" }, role: "status" }),
    h("div", { class: "roster-table", dataset: { testid: "providers-table" } }),
    h("div", { class: "pager" },
      h("button", { type: "button", class: "plain", dataset: { testid: "providers-prev" }, onclick: () => { state.offset = Math.max(0, state.offset - PAGE); refreshProviders(); } }, say("上一页", "Previous")),
      " ",
      h("button", { type: "button", class: "plain", dataset: { testid: "providers-next" }, onclick: () => { state.offset += PAGE; refreshProviders(); } }, say("下一页", "Next"))));
  built = true;
}

export function resetProviders() { built = false; }

export async function refreshProviders() {
  if (!built || !byTestId("providers-search")) build();
  const my = ++seq;
  const r = await providers.listProviders({
    query: state.query, skill: state.skill, offset: state.offset, limit: PAGE, include_inactive: state.inactive,
  });
  if (my !== seq) return; // a newer search won
  const total = r.total_size || 0;
  if (state.offset >= total && total > 0) { state.offset = Math.floor((total - 1) / PAGE) * PAGE; return refreshProviders(); }
  const live = new Map((r.availability || []).map((a) => [a.provider_id, a]));
  const from = total ? state.offset + 1 : 0;
  const to = state.offset + r.providers.length;
  byTestId("providers-total").textContent = total
    ? say(`第 ${from}–${to} 人，共 ${total} 人`, `${from}–${to} of ${total}`)
    : say("没有找到服务人员", "No carers found");
  byTestId("providers-total").dataset.total = String(total);
  byTestId("providers-prev").disabled = state.offset === 0;
  byTestId("providers-next").disabled = to >= total;
  replace(byTestId("providers-table"), h("table", {},
    h("tr", {}, h("th", {}, say("姓名", "Name")), h("th", {}, say("电话", "Phone")), h("th", {}, say("技能", "Skills")),
      h("th", {}, say("状态", "State")), h("th", {}, say("最后上线", "Last seen")), h("th", {})),
    r.providers.map((p) => row(p, live.get(p.id)))));
}

function row(p, a) {
  const [key, words] = p.active ? stateOf(a?.state, a?.stale) : ["inactive", say("已停用", "Deactivated")];
  return h("tr", { dataset: { testid: "provider", providerId: p.id, state: key } },
    h("td", { dataset: { testid: "provider-name" } }, p.name),
    h("td", {}, p.phone),
    h("td", {}, p.skills.map(skillName).join("、")),
    h("td", {}, h("span", { class: `state state-${key}`, dataset: { testid: "provider-state" } }, words)),
    h("td", { class: "muted" }, a ? h("span", { title: timeOf(a.last_seen_time) }, lastSeen(a.last_seen_time)) : "—"),
    h("td", { class: "actions" }, canManageCarers() && p.active ? [
      h("button", { type: "button", class: "plain small", dataset: { testid: "provider-edit" }, onclick: () => openForm(p) }, say("编辑", "Edit")), " ",
      h("button", { type: "button", class: "plain small", dataset: { testid: "device-token-button" }, onclick: () => showToken(p) }, say("设备令牌", "Device token")), " ",
      deactivate(p),
    ] : null, p.active ? [" ", hoursButton(p)] : null));
}

// openForm shows the add (p null) or edit form above the table.
function openForm(p) {
  state.editing = p;
  const form = byTestId("provider-form");
  const has = new Set(p?.skills || []);
  const loc = p?.location || {};
  const input = (name, value, testid, attrs = {}) => h("input", { name, value: value ?? "", dataset: { testid, field: attrs.field || name }, autocomplete: "off", ...attrs });
  replace(form,
    h("h3", {}, p ? say(`编辑服务人员：${p.name}`, `Edit carer: ${p.name}`) : say("添加服务人员", "Add a carer")),
    h("div", { class: "pair" },
      h("label", {}, say("姓名", "Name"), " ", input("name", p?.name, "provider-form-name")),
      h("label", {}, say("电话", "Phone"), " ", input("phone", p?.phone, "provider-form-phone", { inputmode: "tel" })),
      h("label", {}, say("性别", "Gender"), " ", h("select", { name: "gender", dataset: { testid: "provider-form-gender" } },
        GENDERS.map(([v, zh, en]) => h("option", { value: v, selected: (p?.gender || "GENDER_UNSPECIFIED") === v }, say(zh, en)))))),
    h("fieldset", { class: "skills", dataset: { field: "skills" } }, h("legend", {}, say("技能（可多选）", "Skills")),
      skills().map((s) => h("label", {}, h("input", { type: "checkbox", name: "skills", value: s, checked: has.has(s), dataset: { testid: "provider-form-skill", skill: s } }), " ", skillName(s)))),
    h("div", { class: "pair" },
      h("label", {}, say("住址纬度", "Home latitude"), " ", input("lat", loc.lat, "provider-form-lat", { inputmode: "decimal", field: "location" })),
      h("label", {}, say("住址经度", "Home longitude"), " ", input("lng", loc.lng, "provider-form-lng", { inputmode: "decimal", field: "location" })),
      h("label", {}, say("所属机构", "Organisation"), " ", input("organisation", p?.organisation, "provider-form-org"))),
    h("div", { class: "actions" },
      h("button", { type: "submit", dataset: { testid: "provider-form-save" } }, say("保存", "Save")), " ",
      h("button", { type: "button", class: "plain", dataset: { testid: "provider-form-cancel" }, onclick: closeForm }, say("取消", "Cancel"))),
    h("p", { class: "result bad", dataset: { testid: "provider-form-result" }, role: "status" }));
  form.onsubmit = (e) => { e.preventDefault(); save(); };
  form.hidden = false;
  form.elements.name.focus();
}

function closeForm() {
  const form = byTestId("provider-form");
  form.hidden = true;
  form.replaceChildren();
  state.editing = null;
}

async function save() {
  const form = byTestId("provider-form");
  const f = form.elements;
  const out = byTestId("provider-form-result");
  const picked = [...form.querySelectorAll('input[name="skills"]:checked')].map((c) => c.value);
  const lat = Number(f.lat.value.trim());
  const lng = Number(f.lng.value.trim());
  if (!f.name.value.trim()) { out.textContent = say("请填写姓名", "Please give a name"); f.name.focus(); return; }
  if (!picked.length) { out.textContent = say("请至少选择一项技能", "Pick at least one skill"); return; }
  if (!f.lat.value.trim() || !f.lng.value.trim() || !Number.isFinite(lat) || !Number.isFinite(lng)) {
    out.textContent = say("请填写住址的纬度和经度", "Please give the home's latitude and longitude"); f.lat.focus(); return;
  }
  const rec = {
    name: f.name.value.trim(), phone: f.phone.value.trim(), gender: f.gender.value, skills: picked,
    location: { lat, lng }, organisation: f.organisation.value.trim(),
  };
  const editing = state.editing;
  out.textContent = "";
  try {
    if (editing) await providers.updateProvider({ id: editing.id, ...rec, languages: editing.languages || [] });
    else await providers.createProvider(rec);
  } catch (e) {
    out.textContent = errorText(e);
    return;
  }
  closeForm();
  // Show the carer just saved: search for them by name.
  state.query = rec.name;
  state.offset = 0;
  byTestId("providers-search").value = rec.name;
  await refreshProviders();
}

// deactivate is the row's "停用" button and, once pressed, the reasons.
function deactivate(p) {
  const box = h("span", { class: "deactivate" });
  const select = h("select", { dataset: { testid: "provider-deactivate-reason" }, "aria-label": say("停用原因", "Reason") },
    LEAVE_REASONS.map(([code, zh, en]) => h("option", { value: code }, say(zh, en))));
  const text = h("input", { dataset: { testid: "provider-deactivate-text" }, maxlength: "400", placeholder: say("说明（选“其他”时必填）", "Details (required for Other)") });
  const err = h("span", { class: "bad" });
  const confirm = h("button", {
    type: "button", class: "danger small", dataset: { testid: "provider-deactivate-confirm" },
    onclick: async () => {
      const words = text.value.trim();
      if (select.value === "other" && !words) { err.textContent = say("请写明原因", "Please say why"); text.focus(); return; }
      confirm.disabled = true;
      try {
        await providers.deactivateProvider({ provider_id: p.id, reason: words ? `${select.value}: ${words}` : select.value });
      } catch (e) {
        confirm.disabled = false;
        err.textContent = errorText(e);
        return;
      }
      await refreshProviders();
    },
  }, say("确认停用", "Confirm"));
  const form = h("span", { hidden: true }, select, " ", text, " ", confirm, " ", err);
  const open = h("button", {
    type: "button", class: "plain small", dataset: { testid: "provider-deactivate" },
    onclick: () => { open.hidden = true; form.hidden = false; select.focus(); },
  }, say("停用", "Deactivate"));
  box.append(open, form);
  return box;
}

async function showToken(p) {
  let token;
  try {
    ({ token } = await providers.issueDeviceToken({ provider_id: p.id }));
  } catch {
    alert(say("无法签发设备令牌，请重试", "Could not issue a device token; try again"));
    return;
  }
  const dlg = byTestId("device-token-dialog");
  dlg.querySelector(".who").textContent = `${p.name} · ${p.phone}`;
  byTestId("device-token-text").textContent = token;
  replace(byTestId("device-token-qr"), qr(location.origin + "/phone/#token=" + encodeURIComponent(token)));
  dlg.showModal();
}

// qr draws text as an SVG QR code, one square per dark module.
function qr(text) {
  const q = qrcode(0, "M");
  q.addData(text);
  q.make();
  const n = q.getModuleCount();
  const cells = [];
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (q.isDark(r, c)) cells.push(`M${c + 4} ${r + 4}h1v1h-1z`);
  return svg("svg", { viewBox: `0 0 ${n + 8} ${n + 8}`, width: 240, height: 240, role: "img", "aria-label": "QR" },
    svg("rect", { width: n + 8, height: n + 8, fill: "#fff" }),
    svg("path", { d: cells.join(""), fill: "#000" }));
}
