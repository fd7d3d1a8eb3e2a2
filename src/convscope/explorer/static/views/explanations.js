// Explanations: saliency, SmoothGrad, Grad-CAM or occlusion for a chosen class,
// drawn over the input. The map comes from convscope.explain on the server.
import { paintPicture } from "./draw.js";

const CAPTIONS = {
  saliency: "|∂score/∂pixel|: pixels whose change would move the class score most.",
  smoothgrad: "SmoothGrad: saliency averaged over 16 noisy copies of the input.",
  grad_cam: "Grad-CAM on layer {layer}: where that layer's maps support the class.",
  occlusion: "Occlusion: drop in the class probability when a patch covers each place (red: needed).",
};

export function setupExplanations(app) {
  const method = document.getElementById("explain-method");
  const target = document.getElementById("explain-class");
  app.info.classes.forEach((name, i) => target.append(new Option(name, i)));
  const layer = document.getElementById("explain-layer");
  layer.append(new Option("last conv (default)", ""));
  for (const l of app.info.layers) if (l.shape.length === 3) layer.append(new Option(`${l.name} ${l.type}`, l.name));
  layer.addEventListener("change", () => update());
  const showLayer = () => { document.getElementById("explain-layer-label").hidden = method.value !== "grad_cam"; };
  method.addEventListener("change", showLayer);
  showLayer();
  let chosenByUser = false;
  target.addEventListener("change", () => { chosenByUser = true; update(); });
  method.addEventListener("change", () => update());

  function update() {
    if (!app.input) return;
    const view = document.getElementById("explain-view");
    app.post("/api/explain", { input: app.input, method: method.value, target: Number(target.value),
      layer: layer.value || null })
      .then((result) => {
        paintPicture(document.getElementById("explain-image"), app.image);
        const palette = result.method === "occlusion" ? app.palettes.diverging : app.palettes.heat;
        paintPicture(document.getElementById("explain-heat"), result.map, palette);
        document.getElementById("explain-caption").textContent =
          `${app.info.classes[result.target]}: ${CAPTIONS[result.method].replace("{layer}", result.layer)}`;
        view.dataset.method = result.method;
        view.dataset.version = String(Number(view.dataset.version || 0) + 1);
      })
      .catch(app.showError);
  }

  return {
    render(forward) {
      if (!chosenByUser) target.value = String(forward.predicted);
      update();
    },
  };
}
