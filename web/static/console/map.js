// The map: providers' bases and open requests' homes as H3 hexagons on a
// plain background. The server sends each cell's outline
// (DispatchService/GetDispatchMap); this file only projects and draws, and
// turns a click back into a position when the register form asks for one.
import { dispatch } from "./api.js";
import { byTestId, svg } from "./dom.js";
import { say } from "./labels.js";

const W = 800, H = 560, PAD = 20;
const RES = 7; // edges of about 1.4 km: a district fits the drawing
const MIN_SPAN = 0.08; // degrees, about 9 km

export async function refreshMap() {
  const { cells } = await dispatch.getDispatchMap({ resolution: RES });
  draw(byTestId("map"), cells);
}

// project fits every vertex into the drawing, keeping shapes true with an
// equirectangular projection scaled by the cosine of the middle latitude.
function project(cells) {
  const pts = cells.flatMap((c) => c.boundary);
  if (!pts.length) return null;
  const lat0 = pts.reduce((s, p) => s + p.lat, 0) / pts.length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xs = pts.map((p) => p.lng * k), ys = pts.map((p) => -p.lat);
  const minX = Math.min(...xs), minY = Math.min(...ys);
  // At least MIN_SPAN across, so a lone cell is drawn at a readable size.
  const w = Math.max(Math.max(...xs) - minX, MIN_SPAN), h = Math.max(Math.max(...ys) - minY, MIN_SPAN);
  const scale = Math.min((W - 2 * PAD) / w, (H - 2 * PAD) / h);
  const dx = (W - (Math.max(...xs) - minX) * scale) / 2, dy = (H - (Math.max(...ys) - minY) * scale) / 2; // centred
  const at = (p) => [dx + (p.lng * k - minX) * scale, dy + (-p.lat - minY) * scale];
  at.inverse = ([x, y]) => ({ lng: ((x - dx) / scale + minX) / k, lat: -((y - dy) / scale + minY) });
  return at;
}

let shown = null; // the projection of the drawing on screen
let picking = null; // the register form's callback while it waits for a click
let placed = null; // the position last placed, drawn as a pin

// pickOnMap calls fn with the position of the next click on the map.
export function pickOnMap(fn) {
  picking = fn;
  const el = byTestId("map");
  el.classList.add("picking");
  if (el.dataset.pickWired) return;
  el.dataset.pickWired = "1";
  el.addEventListener("click", (e) => {
    if (!picking || !shown) return;
    const m = el.getScreenCTM();
    if (!m) return;
    const pt = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
    placed = shown.inverse([pt.x, pt.y]);
    const fn = picking;
    picking = null;
    el.classList.remove("picking");
    drawPin(el);
    fn(placed);
  });
}

function drawPin(el) {
  el.querySelector(".pin")?.remove();
  if (!placed || !shown) return;
  const [x, y] = shown(placed);
  el.append(svg("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 6, class: "pin", dataset: { testid: "map-pin" } }));
}

function draw(el, cells) {
  const at = project(cells);
  shown = at;
  el.replaceChildren(svg("rect", { width: W, height: H, class: "sea" }));
  if (!at) {
    const t = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" });
    t.textContent = say("暂无服务人员或待完成需求", "No providers or open requests");
    el.append(t);
    return;
  }
  for (const c of cells) {
    const kind = c.request_count && c.provider_count ? "both" : c.request_count ? "req" : "prov";
    const pts = c.boundary.map(at);
    const poly = svg("polygon", {
      points: pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "), class: "hex hex-" + kind,
      dataset: { testid: "map-cell", cell: c.cell, providers: c.provider_count, requests: c.request_count },
    });
    const title = svg("title");
    title.textContent = `${c.cell}: ${say("服务人员", "providers")} ${c.provider_count}, ${say("需求", "requests")} ${c.request_count}`;
    poly.append(title);
    el.append(poly);
    if (c.request_count) {
      const [x, y] = pts.reduce(([sx, sy], [px, py]) => [sx + px / pts.length, sy + py / pts.length], [0, 0]);
      const t = svg("text", { x: x.toFixed(1), y: (y + 4).toFixed(1), "text-anchor": "middle", class: "count" });
      t.textContent = String(c.request_count);
      el.append(t);
    }
  }
  drawPin(el);
}
