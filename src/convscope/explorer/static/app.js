// The explorer page: fetches the model's description, wires the views together and
// holds the current input (as the server returned it; it is sent back unchanged).
import { paintPicture } from "./views/draw.js";
import { setupExplanations } from "./views/explanations.js";
import { setupFilters } from "./views/filters.js";
import { setupInput } from "./views/input.js";
import { renderProbabilities, setupOverview } from "./views/overview.js";
import { setupUnit } from "./views/unit.js";
import { bytes } from "./views/draw.js";

async function reply(response) {
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

const app = {
  info: null,
  input: null,     // {shape, data}: the model input, base64 float32
  image: null,     // the same as a picture
  timings: [],     // ms from sending a drawing to its feature maps drawn
  get: (url) => fetch(url).then(reply),
  post: (url, body, raw = false) => fetch(url, {
    method: "POST",
    headers: { "Content-Type": raw ? "application/octet-stream" : "application/json" },
    body: raw ? body : JSON.stringify(body),
  }).then(reply),
  showError(error) {
    const box = document.getElementById("error");
    box.textContent = String(error.message || error);
    box.hidden = false;
  },
  clearError() { document.getElementById("error").hidden = true; },
  setInput(forward, source, started = null) {
    app.clearError();
    app.input = forward.input;
    app.image = forward.image;
    paintPicture(document.getElementById("input-canvas"), forward.image);
    document.getElementById("input-overlay").getContext("2d").reset?.();
    renderProbabilities(app, forward);
    app.overview.render(forward);
    if (started !== null) app.timings.push(performance.now() - started);
    document.body.dataset.source = source;
    app.explanations.render(forward);
  },
  selectUnit(layer, channel, row, col) {
    app.post("/api/unit", { input: app.input, layer, channel, row, col })
      .then((unit) => app.unit.render(unit))
      .catch(app.showError);
  },
};
window.explorer = app; // for the browser tests and the curious

app.get("/api/info").then((info) => {
  app.info = info;
  app.palettes = Object.fromEntries(Object.entries(info.palettes).map(([k, v]) => [k, bytes(v)]));
  document.getElementById("run-title").textContent = `${info.title} · input ${info.input_shape.join("×")}`;
  app.overview = setupOverview(app);
  app.unit = setupUnit(app);
  app.explanations = setupExplanations(app);
  setupInput(app);
  setupFilters(app);
  const first = info.test_images ? { test: 0 } : null;
  if (first) app.post("/api/forward", { input: first }).then((r) => app.setInput(r, "test image #0")).catch(app.showError);
  document.body.dataset.ready = "1";
}).catch((error) => app.showError(error));
