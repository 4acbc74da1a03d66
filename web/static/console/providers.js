// The provider roster, and the "device token" action that shows a phone's
// new token as text and as a QR code to scan.
import qrcode from "/vendor/qrcode-generator/qrcode.mjs";
import { skillName } from "/i18n.js";
import { providers } from "./api.js";
import { byTestId, h, replace, svg } from "./dom.js";
import { say } from "./labels.js";

export async function refreshProviders() {
  const { providers: ps } = await providers.listProviders({ limit: 200 });
  replace(byTestId("providers"), h("table", {},
    h("tr", {}, h("th", {}, say("姓名", "Name")), h("th", {}, say("电话", "Phone")), h("th", {}, say("技能", "Skills")), h("th", {})),
    ps.map((p) => h("tr", { dataset: { testid: "provider", providerId: p.id } },
      h("td", {}, p.name), h("td", {}, p.phone), h("td", {}, p.skills.map(skillName).join("、")),
      h("td", {}, h("button", { type: "button", dataset: { testid: "device-token-button" }, onclick: () => showToken(p) }, say("设备令牌", "Device token")))))));
}

async function showToken(p) {
  const { token } = await providers.issueDeviceToken({ provider_id: p.id });
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
