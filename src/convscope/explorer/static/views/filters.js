// Filters: each conv layer's kernels (one row per output channel, red positive, blue
// negative), and the test patches that excite a chosen channel most.
import { bytes, element, paintPicture } from "./draw.js";

const MAX_WIDTH = 400; // CSS pixels a layer's kernel grid may take

export function setupFilters(app) {
  const select = document.getElementById("filter-layer");
  const grid = document.getElementById("filter-grid");
  let layers = [];

  function draw(entry) {
    const [out, inn, kh, kw] = entry.shape;
    const data = bytes(entry.data);
    // Each output channel is a block of its `inn` kernels side by side; blocks wrap so a
    // first layer (inn = 1) makes a compact grid. One pixel between tiles, three between blocks.
    const perRow = Math.max(1, Math.floor(16 / inn));
    const blockWidth = inn * (kw + 1) + 2, blockHeight = kh + 1;
    const rows = Math.ceil(out / perRow);
    const width = perRow * blockWidth, height = rows * blockHeight;
    const canvas = element("canvas", { "data-layer": entry.layer, title: "click a kernel" });
    canvas.width = width; canvas.height = height;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(width, height);
    image.data.fill(255);
    const p = app.palettes.diverging;
    for (let o = 0; o < out; o++) {
      const top = Math.floor(o / perRow) * blockHeight, left = (o % perRow) * blockWidth;
      for (let i = 0; i < inn; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
        const v = data[((o * inn + i) * kh + y) * kw + x];
        const at = 4 * ((top + y) * width + left + i * (kw + 1) + x);
        image.data.set([p[3 * v], p[3 * v + 1], p[3 * v + 2], 255], at);
      }
    }
    ctx.putImageData(image, 0, 0);
    const scale = Math.max(1, Math.min(12, Math.floor(MAX_WIDTH / width)));
    canvas.style.width = `${width * scale}px`;
    canvas.style.height = `${height * scale}px`;
    canvas.addEventListener("click", (event) => {
      const row = Math.floor(event.offsetY / canvas.clientHeight * rows);
      const col = Math.floor(event.offsetX / canvas.clientWidth * perRow);
      const channel = row * perRow + col;
      if (channel < out) patches(entry.layer, channel);
    });
    grid.replaceChildren(canvas,
      element("p", { text: `${entry.layer}: ${out} output channels, each ${inn} kernel(s) of ${kh}×${kw} (red positive, blue negative; weights ${entry.min.toFixed(3)} to ${entry.max.toFixed(3)})` }));
  }

  function patches(layer, channel) {
    document.getElementById("patches-title").textContent = `Loading channel ${channel} of ${layer}…`;
    app.get(`/api/max-activating?layer=${encodeURIComponent(layer)}&channel=${channel}&k=12`).then((result) => {
      const box = document.getElementById("patches");
      box.replaceChildren(...result.patches.map((patch) => element("figure",
        { title: `test image #${patch.index} (${patch.label}), value ${patch.value.toFixed(3)}` },
        paintPicture(document.createElement("canvas"), patch), element("figcaption", { text: patch.value.toFixed(2) }))));
      document.getElementById("patches-title").textContent =
        `Test patches exciting channel ${channel} of ${layer} most (its receptive field, ${result.patches.length} images):`;
    }).catch(app.showError);
  }

  app.get("/api/filters").then((result) => {
    layers = result;
    for (const entry of layers) select.append(new Option(entry.layer, entry.layer));
    select.addEventListener("change", () => draw(layers.find((l) => l.layer === select.value)));
    if (layers.length) draw(layers[0]);
    else grid.textContent = "This model has no convolution layer.";
  }).catch(app.showError);
}
