// The telephone side of the desk: the operator's extension, and the call
// ringing at it as the PBX reported it (IntakeService/GetActiveCall). A
// pick-up puts the caller's number into the lookup, so the card (or the
// new-caller form) comes up, and requests logged meanwhile carry the call's
// id, so the recording can be found from them. Until the push stream pops
// calls by itself, the operator asks with the button (or F2).
import { canWrite, intake } from "./api.js";
import { byTestId } from "./dom.js";
import { say } from "./labels.js";

const KEY = "carehex.console.extension";
let callID = ""; // the call requests are logged during

export const activeCallId = () => callID;

export function setupCall() {
  const ext = byTestId("extension");
  ext.value = localStorage.getItem(KEY) || "";
  ext.addEventListener("change", () => localStorage.setItem(KEY, ext.value.trim()));
  byTestId("call-pickup").addEventListener("click", pickUp);
  document.addEventListener("keydown", (e) => {
    if (e.key === "F2" && !byTestId("console").hidden && canWrite()) { e.preventDefault(); pickUp(); }
  });
}

async function pickUp() {
  const out = byTestId("call-status");
  const ext = byTestId("extension").value.trim();
  if (!ext) { out.textContent = say("请先填写分机号", "Enter your extension first"); byTestId("extension").focus(); return; }
  localStorage.setItem(KEY, ext);
  try {
    const { call } = await intake.getActiveCall({ extension: ext });
    callID = call.call_id;
    out.textContent = say(`来电 ${call.caller || "未知号码"}`, `Call from ${call.caller || "unknown number"}`);
    out.dataset.callId = call.call_id;
    const search = byTestId("caller-search");
    search.value = call.caller || "";
    search.dispatchEvent(new Event("input"));
    search.focus();
  } catch (e) {
    callID = "";
    delete out.dataset.callId;
    out.textContent = e.code === "not_found" ? say("此分机没有来电", "No call at this extension")
      : e.code === "permission_denied" ? say("没有接听来电的权限", "Not allowed to take calls")
        : say("查询来电失败", "Could not ask for the call");
  }
}
