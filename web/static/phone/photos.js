// Photo evidence (issue 12): at arrival and at completion the carer takes a
// photo of the scene (the camera opens from the file input's capture
// attribute) and the app uploads it to the visit. A large photo, or one the
// server does not take (HEIC), is redrawn as a JPEG of at most 1600 px
// first. A retake adds another photo; none is ever replaced.
import { t } from "/i18n.js";
import { call, describe, h } from "/phone/mobileapi.js";

const MAX_SIDE = 1600;

// shrink returns the photo as it should be sent: itself when small and
// JPEG or PNG, else a JPEG redrawn on a canvas.
async function shrink(file) {
  if ((file.type === "image/jpeg" || file.type === "image/png") && file.size <= 2 << 20) return file;
  const bmp = await createImageBitmap(file);
  const k = Math.min(1, MAX_SIDE / Math.max(bmp.width, bmp.height));
  const c = document.createElement("canvas");
  c.width = Math.round(bmp.width * k);
  c.height = Math.round(bmp.height * k);
  c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error("encode"))), "image/jpeg", 0.85));
}

// photoBox is the card's photo control for job, or null when the visit is
// at no photo step: "before" once arrived, "after" once completed.
export function photoBox(job, token, required) {
  const stage = job.status === "in_progress" ? "arrive" : job.status === "completed" ? "complete" : "";
  if (!stage) return null;
  const label = stage === "arrive" ? t("photoBefore", "拍摄服务前照片") : t("photoAfter", "拍摄服务后照片");
  const status = h("p", { class: "hint", "data-testid": "photo-status", role: "status" });
  const input = h("input", { type: "file", accept: "image/jpeg,image/png,image/*", capture: "environment",
    "data-testid": "photo-input", "data-stage": stage, id: "photo-" + stage });
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    status.textContent = t("photoSending", "正在上传照片…");
    try {
      const body = await shrink(file);
      const r = await call(token, "POST", `/m/v1/visits/${encodeURIComponent(job.id)}/photos?stage=${stage}`, body);
      status.dataset.sha256 = r.photo.sha256;
      status.textContent = t("photoSaved", "照片已保存（可再拍一张补充，不会覆盖）");
    } catch (err) {
      status.textContent = describe(err);
    }
    input.value = "";
  });
  return h("div", { class: "photo-box", "data-testid": "photo-box" },
    h("label", { for: input.id, class: "secondary big", text: label }), input,
    required ? h("p", { class: "hint", text: t("photoRequired", "本服务合同要求拍照") }) : null, status);
}
