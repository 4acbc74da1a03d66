// The telephone side of the desk: the operator's extension, and the call
// ringing at it as the PBX reported it (IntakeService/GetActiveCall). A
// pick-up puts the caller's number into the lookup, so the card (or the
// new-caller form) comes up, and requests logged meanwhile carry the call's
// id, so the recording can be found from them. The console stream pops a
// ringing call by itself ("call" events for this extension: popCall); the
// button (or F2) asks again by hand.
import { canWrite, intake } from "./api.js";
import { byTestId } from "./dom.js";
import { say } from "./labels.js";

const KEY = "carehex.console.extension";
let callID = ""; // the call requests are logged during

export const activeCallId = () => callID;

// extension is the operator's extension as saved, or "".
export const extension = () => (canWrite() && localStorage.getItem(KEY)) || "";

// setupCall wires the desk; onExtension runs when the operator changes
// their extension (the console re-opens its stream for the new one).
export function setupCall(onExtension = () => {}) {
  const ext = byTestId("extension");
  ext.value = localStorage.getItem(KEY) || "";
  ext.addEventListener("change", () => { localStorage.setItem(KEY, ext.value.trim()); onExtension(); });
  byTestId("call-pickup").addEventListener("click", () => pickUp());
  document.addEventListener("keydown", (e) => {
    if (e.key === "F2" && !byTestId("console").hidden && canWrite()) { e.preventDefault(); pickUp(); }
  });
}

// popCall is the screen pop: the telephone system reported a call event at
// this extension, and the stream says which call is active there. A new
// call fills the lookup (the caller's card, or the new-caller form); the
// call already on screen changes nothing, so a later "answered" never
// clears what the operator typed.
export function popCall(data) {
  if (data?.call_id === callID) return;
  if (canWrite() && !byTestId("console").hidden) pickUp(true);
}

async function pickUp(auto = false) {
  const out = byTestId("call-status");
  const ext = byTestId("extension").value.trim();
  if (!ext) {
    if (!auto) { out.textContent = say("请先填写分机号", "Enter your extension first"); byTestId("extension").focus(); }
    return;
  }
  localStorage.setItem(KEY, ext);
  try {
    const { call } = await intake.getActiveCall({ extension: ext });
    if (auto && call.call_id === callID) return;
    callID = call.call_id;
    out.textContent = say(`来电 ${call.caller || "未知号码"}`, `Call from ${call.caller || "unknown number"}`);
    out.dataset.callId = call.call_id;
    const search = byTestId("caller-search");
    search.value = call.caller || "";
    search.dispatchEvent(new Event("input"));
    search.focus();
  } catch (e) {
    if (auto) return;
    callID = "";
    delete out.dataset.callId;
    out.textContent = e.code === "not_found" ? say("此分机没有来电", "No call at this extension")
      : e.code === "permission_denied" ? say("没有接听来电的权限", "Not allowed to take calls")
        : say("查询来电失败", "Could not ask for the call");
  }
}
