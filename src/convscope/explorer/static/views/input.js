// The input view: a canvas to draw on (pointer events), an upload, and test images.
// The drawn pixels go to the server as they are; it fits and centres them (MNIST-style).
import { element, paintPicture, toBase64 } from "./draw.js";

const SEND_EVERY_MS = 100; // while drawing, at most one request per this many ms

export function setupInput(app) {
  const canvas = document.getElementById("draw-canvas");
  const ctx = canvas.getContext("2d");
  let drawing = false, last = null, pending = false, again = false, timer = null;

  function clear() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  clear();

  function position(event) {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * canvas.width / rect.width,
            (event.clientY - rect.top) * canvas.height / rect.height];
  }

  function send() {
    timer = null;
    if (pending) { again = true; return; } // one request in flight; resend when it is back
    pending = true;
    const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const gray = new Uint8Array(canvas.width * canvas.height);
    for (let i = 0; i < gray.length; i++) gray[i] = rgba[4 * i];
    const started = performance.now();
    app.post("/api/draw", { width: canvas.width, height: canvas.height, pixels: toBase64(gray) })
      .then((result) => app.setInput(result, "drawing", started))
      .catch(app.showError)
      .finally(() => {
        pending = false;
        if (again) { again = false; send(); }
      });
  }

  function schedule(now) {
    if (now) { clearTimeout(timer); send(); return; }
    if (timer === null) timer = setTimeout(send, SEND_EVERY_MS);
  }

  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    last = position(event);
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const point = position(event);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 20;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...point);
    ctx.stroke();
    last = point;
    schedule(false);
  });
  const end = () => { if (drawing) { drawing = false; schedule(true); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  document.getElementById("clear-button").addEventListener("click", () => { clear(); schedule(true); });

  document.getElementById("upload-input").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const invert = document.getElementById("invert-input").checked ? 1 : 0;
    file.arrayBuffer()
      .then((content) => app.post(`/api/upload?invert=${invert}`, content, true))
      .then((result) => app.setInput(result, file.name))
      .catch(app.showError);
  });

  const select = document.getElementById("test-class");
  select.append(element("option", { value: "", text: "(all)" }));
  app.info.classes.forEach((name, i) => select.append(element("option", { value: i, text: name })));
  select.addEventListener("change", () => showTestImages(app, select.value));
  if (app.info.test_images) showTestImages(app, "");
  else document.getElementById("test-count").textContent = "(no test images on this machine)";
}

function showTestImages(app, label) {
  const query = label === "" ? "" : `class=${label}&`;
  app.get(`/api/test-images?${query}limit=30`).then((result) => {
    document.getElementById("test-count").textContent =
      `${result.count} images, ${result.misclassified} misclassified (red, first)`;
    const box = document.getElementById("test-images");
    box.replaceChildren();
    for (const item of result.images) {
      const canvas = paintPicture(document.createElement("canvas"), item);
      const title = `#${item.index}: ${app.info.classes[item.label]} → ${app.info.classes[item.predicted]}`;
      box.append(element("figure", {
        className: item.correct ? "test-image" : "test-image wrong", title, "data-index": item.index,
        onclick: () => app.post("/api/forward", { input: { test: item.index } })
          .then((r) => app.setInput(r, `test image #${item.index} (${app.info.classes[item.label]})`))
          .catch(app.showError),
      }, canvas));
    }
  }).catch(app.showError);
}
