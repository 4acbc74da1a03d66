// The elder's service card (issue 12): where the visit's contract requires
// it (the visit's card_required), the carer scans the card's QR at arrival
// and before finishing; the server checks it belongs to this visit's elder.
// The camera is read with jsQR (vendored, loaded only when the camera
// opens); with no camera, or none allowed, the carer types the short code
// printed under the QR. A refusal (another elder's card, a forged one, a
// mistyped code) is shown in the server's words and the carer tries again.
// With no network the reading is kept on the phone and sent when the
// network returns (flushCards): the server judges it then, and a visit
// whose card never verifies is held back from payment for review.

import { msg, t } from "/i18n.js";
import { call, describe, h } from "/phone/mobileapi.js";

export const CARD_EN = {
  cardTitle: "The elder's service card",
  card_arrive: "On arrival: scan the QR on the elder's service card.",
  card_complete: "Before finishing: scan the elder's service card again.",
  cardCamera: "Scan the card",
  cardLooking: "Hold the card's QR in front of the camera…",
  cardNoCamera: "The camera is unavailable: type the code printed under the QR.",
  cardCodeLabel: "Code on the card",
  cardSubmit: "Check the code",
  cardCancel: "Cancel",
  cardSaved: "No network: the card is saved and will be checked when the network returns.",
};

const PENDING = "carehex.phone.cards"; // readings waiting for the network

function pending() {
  try {
    return JSON.parse(localStorage.getItem(PENDING)) || [];
  } catch {
    return [];
  }
}

// flushCards sends the readings kept while offline; each leaves the list
// once the server has answered it, accepted or refused (it records both).
export async function flushCards() {
  for (const p of pending()) {
    try {
      await call(p.token, "POST", `/m/v1/visits/${encodeURIComponent(p.visitId)}/card`, p.body);
    } catch (err) {
      if (err.status === 0 || err.retryable) return; // still no network: keep the rest
    }
    localStorage.setItem(PENDING, JSON.stringify(pending().filter((q) => q.id !== p.id)));
  }
}

const STAGE_ZH = {
  arrive: "到达时请扫描老人服务卡上的二维码。",
  complete: "结束服务前请再次扫描老人的服务卡。",
};

// scanCard shows the card panel at the top of box and resolves true once
// the server has accepted the card for stage (arrive or complete), false
// when the carer cancels.
export function scanCard(box, { token, visitId, stage }) {
  return new Promise((resolve) => {
    let media = null;
    let looking = false;
    const video = h("video", { class: "scan-video", muted: true, playsinline: true, hidden: true });
    const note = h("p", { class: "hint", "data-testid": "card-note", text: t("card_" + stage, STAGE_ZH[stage]) });
    const error = h("p", { class: "error", "data-testid": "card-error", role: "alert", hidden: true });
    const input = h("input", { id: "card-code", "data-testid": "card-code", autocomplete: "off", autocapitalize: "characters",
      spellcheck: "false", inputmode: "text" });
    const camera = h("button", { type: "button", class: "primary big", "data-testid": "card-camera", text: t("cardCamera", "扫描服务卡") });
    const cancel = h("button", { type: "button", class: "link-button", "data-testid": "card-cancel", text: t("cardCancel", "取消") });
    const form = h("form", { class: "card-code" },
      h("label", { for: "card-code", text: t("cardCodeLabel", "卡上的卡号") }), input,
      h("button", { type: "submit", class: "secondary", "data-testid": "card-submit", text: t("cardSubmit", "核验卡号") }));
    const panel = h("section", { class: "card card-scan", "data-testid": "card-panel", "data-stage": stage },
      h("h2", { text: t("cardTitle", "老人服务卡") }), note, camera, video, form, error, cancel);
    box.prepend(panel);

    const stopCamera = () => {
      looking = false;
      media?.getTracks().forEach((tr) => tr.stop());
      media = null;
      video.hidden = true;
      video.srcObject = null;
    };
    const done = (ok) => {
      stopCamera();
      panel.remove();
      resolve(ok);
    };
    const send = async (body) => {
      error.hidden = true;
      try {
        await call(token, "POST", `/m/v1/visits/${encodeURIComponent(visitId)}/card`, { stage, ...body });
        done(true);
      } catch (err) {
        if (err.status === 0) {
          // A dead zone: keep the reading, go on with the visit.
          const id = `${visitId}-${stage}-${Date.now()}`;
          localStorage.setItem(PENDING, JSON.stringify([...pending(), { id, token, visitId, body: { stage, ...body } }]));
          note.textContent = t("cardSaved", "无网络：已保存卡号，联网后自动核验。");
          setTimeout(() => done(true), 1500);
          return;
        }
        // The refusal's own words: the phone's generic 403 text is about tokens.
        error.textContent = err.msgCode ? msg(err.msgCode, err.params) : describe(err);
        error.hidden = false;
      }
    };
    const noCamera = () => {
      stopCamera();
      note.textContent = t("cardNoCamera", "摄像头不可用：请输入二维码下方印的卡号。");
      note.dataset.camera = "unavailable";
      input.focus();
    };

    camera.addEventListener("click", async () => {
      if (looking) return;
      if (!navigator.mediaDevices?.getUserMedia) return noCamera();
      let jsQR;
      try {
        media = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        ({ default: jsQR } = await import("/vendor/jsqr/jsqr.mjs"));
        video.srcObject = media;
        video.hidden = false;
        await video.play();
      } catch {
        return noCamera();
      }
      note.textContent = t("cardLooking", "请将服务卡上的二维码对准摄像头…");
      looking = true;
      const canvas = document.createElement("canvas");
      const g = canvas.getContext("2d", { willReadFrequently: true });
      const until = Date.now() + 60000;
      while (looking && Date.now() < until) {
        if (video.videoWidth) {
          canvas.width = video.videoWidth;
          canvas.height = video.videoHeight;
          g.drawImage(video, 0, 0);
          const img = g.getImageData(0, 0, canvas.width, canvas.height);
          const code = jsQR(img.data, img.width, img.height, { inversionAttempts: "dontInvert" });
          if (code && code.data) {
            stopCamera();
            await send({ qr: code.data });
            return;
          }
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      stopCamera();
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const code = input.value.trim();
      if (code) send({ code });
    });
    cancel.addEventListener("click", () => done(false));
  });
}
