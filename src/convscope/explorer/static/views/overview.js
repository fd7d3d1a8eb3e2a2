// The overview: every layer's feature maps for the current input, with shapes.
// Clicking a pixel of a map asks the server for that unit's arithmetic.
import { bytes, element, paint } from "./draw.js";

const MAP_PIXELS = 84;   // a feature map is drawn about this many CSS pixels wide
const MAX_STRIP = 400;   // width of a vector layer's strip

export function setupOverview(app) {
  const root = document.getElementById("layers");
  let built = null; // layer name -> {shape, maps: [{canvas, overlay}], scale}

  function build(layers) {
    root.replaceChildren();
    built = {};
    for (const layer of layers) {
      const shape = layer.shape;
      const maps = [];
      const box = element("div", { className: "maps" });
      const count = shape.length === 3 ? shape[0] : 1;
      const height = shape.length === 3 ? shape[1] : 1;
      const width = shape.length === 3 ? shape[2] : shape[0];
      const scale = shape.length === 3 ? Math.max(1, Math.floor(MAP_PIXELS / Math.max(height, width)))
        : Math.max(1, Math.floor(MAX_STRIP / width));
      for (let c = 0; c < count; c++) {
        const canvas = element("canvas", { "data-layer": layer.name, "data-channel": c,
          title: `${layer.name} channel ${c}` });
        canvas.style.width = `${width * scale}px`;
        canvas.style.height = `${Math.max(height * scale, shape.length === 3 ? 0 : 14)}px`;
        const overlay = element("canvas", { className: "overlay" });
        overlay.style.width = canvas.style.width;
        overlay.style.height = canvas.style.height;
        canvas.addEventListener("click", (event) => {
          const row = Math.floor(event.offsetY / canvas.clientHeight * height);
          const col = Math.floor(event.offsetX / canvas.clientWidth * width);
          if (shape.length === 3) app.selectUnit(layer.name, c, row, col);
          else app.selectUnit(layer.name, col, 0, 0);
        });
        box.append(element("div", { className: "map" }, canvas, overlay));
        maps.push({ canvas, overlay });
      }
      const label = element("div", { className: "label",
        text: `${layer.name} · ${layer.type} · ${shape.join("×")}` });
      root.append(element("div", { className: "layer", id: `layer-${layer.name}` }, label, box));
      built[layer.name] = { shape, maps, scale, height, width };
    }
  }

  return {
    render(forward) {
      const same = built && forward.layers.length === Object.keys(built).length &&
        forward.layers.every((l) => built[l.name] && built[l.name].shape.join() === l.shape.join());
      if (!same) build(forward.layers);
      for (const layer of forward.layers) {
        const entry = built[layer.name];
        const data = bytes(layer.data);
        const plane = entry.height * entry.width;
        entry.maps.forEach(({ canvas }, c) =>
          paint(canvas, data, c * plane, entry.height, entry.width, app.palettes.maps));
      }
      root.dataset.version = String(Number(root.dataset.version || 0) + 1);
    },
    maps(layer) { return built ? built[layer] : null; },
    all() { return built || {}; },
  };
}

export function renderProbabilities(app, forward) {
  const root = document.getElementById("probabilities");
  root.replaceChildren();
  forward.probabilities.forEach((p, i) => {
    const fill = element("div", { className: "fill" });
    fill.style.width = `${100 * p}%`;
    root.append(element("div", { className: i === forward.predicted ? "bar top" : "bar",
      "data-class": i },
      element("span", { text: app.info.classes[i] }), element("div", {}, fill),
      element("span", { className: "p", text: p.toFixed(3) })));
  });
  document.getElementById("prediction").textContent =
    `prediction: ${app.info.classes[forward.predicted]} (${forward.probabilities[forward.predicted].toFixed(3)})`;
}
