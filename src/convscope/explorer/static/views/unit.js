// The unit view: the arithmetic behind one clicked value, as the server computed it
// (convscope.explain.unit_arithmetic), and its receptive field outlined on the input
// and on the previous layer's maps.
import { element, outline } from "./draw.js";

const MAX_CHANNEL_TABLES = 4; // conv windows shown channel by channel, up to this many
const fmt = (v) => (v === null ? "−∞" : Number(v).toFixed(4));

function table(name, matrix, caption, winner = null) {
  const body = matrix.map((row, r) => element("tr", {}, ...row.map((v, c) =>
    element("td", { className: winner && winner[0] === r && winner[1] === c ? "winner" : "",
      text: fmt(v) }))));
  return element("table", { className: "numbers", "data-name": name },
    element("caption", { text: caption }), ...body);
}

function terms(pairs) {
  const dl = document.getElementById("unit-terms");
  dl.replaceChildren();
  for (const [key, label, value] of pairs) {
    if (value === undefined) continue;
    dl.append(element("dt", { text: label }),
      element("dd", { "data-term": key, text: typeof value === "number" ? fmt(value) : String(value) }));
  }
}

export function setupUnit(app) {
  function highlight(unit) {
    for (const entry of Object.values(app.overview.all())) {
      for (const { overlay } of entry.maps) overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
    }
    const own = app.overview.maps(unit.layer);
    if (own && own.shape.length === 3) {
      outline(own.maps[unit.channel].overlay, [[unit.row, unit.col, unit.row + 1, unit.col + 1]],
        own.height, own.width, 8, "#ff3b30");
    } else if (own) {
      outline(own.maps[0].overlay, [[0, unit.channel, 1, unit.channel + 1]], 1, own.width, 8, "#ff3b30");
    }
    const prev = app.overview.maps(unit.previous.layer);
    if (prev && unit.previous.box && prev.shape.length === 3) {
      for (const c of unit.previous.channels) {
        outline(prev.maps[c].overlay, [unit.previous.box], prev.height, prev.width, 8, "#ffcc00");
      }
    }
    if (prev && unit.kind === "flatten" && unit.source && prev.shape.length === 3) {
      const [c, y, x] = unit.source; // the map value this feature is a copy of
      outline(prev.maps[c].overlay, [[y, x, y + 1, x + 1]], prev.height, prev.width, 8, "#ffcc00");
    }
    const sources = app.overview.maps(unit.source_layer);
    if (unit.kind === "linear" && sources && sources.shape.length === 3) {
      // Where the largest contributions were read from, on the maps before Flatten.
      const byChannel = {};
      for (const c of unit.contributions) {
        if (!c.source) continue;
        (byChannel[c.source[0]] ||= []).push([c.source[1], c.source[2], c.source[1] + 1, c.source[2] + 1]);
      }
      for (const [c, boxes] of Object.entries(byChannel)) {
        outline(sources.maps[c].overlay, boxes, sources.height, sources.width, 8, "#ffcc00");
      }
    }
    const [, height, width] = app.info.input_shape;
    const field = unit.receptive_field ? [unit.receptive_field.box] : [[0, 0, height, width]];
    outline(document.getElementById("input-overlay"), field, height, width, 8, "#ff3b30");
  }

  return {
    render(unit) {
      document.getElementById("unit-hint").hidden = true;
      document.getElementById("unit-details").hidden = false;
      const where = unit.kind === "linear" || unit.kind === "softmax" || unit.kind === "flatten"
        ? `feature ${unit.channel}` : `channel ${unit.channel}, row ${unit.row}, column ${unit.col}`;
      document.getElementById("unit-title").textContent =
        `${unit.layer} (${unit.type}), ${where}: value ${fmt(unit.value)} — reads ${unit.previous.layer}`;
      document.getElementById("unit-formula").textContent = unit.formula;
      const tables = document.getElementById("unit-tables");
      tables.replaceChildren();
      const field = unit.receptive_field
        ? `${unit.receptive_field.size.join("×")} input pixels` : "the whole input";
      const common = [["value", "value (model)", unit.value], ["computed", "computed here", unit.computed],
        ["receptive_field", "receptive field", field]];
      if (unit.kind === "conv") {
        terms([...common, ["sum", "Σ products", unit.sum], ["bias", "bias", unit.bias],
          ["pre_activation", "pre-activation", unit.pre_activation],
          ...unit.followed_by.map((s, i) => [`then-${i}`, `${s.layer} ${s.type}`, s.computed])]);
        unit.window.slice(0, MAX_CHANNEL_TABLES).forEach((plane, i) => {
          const c = unit.previous.channels[i];
          tables.append(element("div", {},
            table(`window-${i}`, plane, `input window, channel ${c}`),
            table(`kernel-${i}`, unit.kernel[i], "kernel"),
            table(`products-${i}`, unit.products[i], "products")));
        });
        if (unit.window.length > MAX_CHANNEL_TABLES) {
          tables.append(element("p", { text: `… and ${unit.window.length - MAX_CHANNEL_TABLES} more input channels (included in the sum).` }));
        }
      } else if (unit.kind === "max_pool") {
        terms([...common]);
        tables.append(table("window", unit.window, "window (winner highlighted)", unit.winner));
      } else if (unit.kind === "avg_pool") {
        terms([...common, ["sum", "Σ window", unit.sum], ["count", "divisor", unit.count]]);
        tables.append(table("window", unit.window, "window"));
      } else if (unit.kind === "batch_norm") {
        terms([...common, ["input", "input", unit.input], ["mean", "running mean", unit.mean],
          ["var", "running variance", unit.var], ["gamma", "γ", unit.gamma], ["beta", "β", unit.beta]]);
      } else if (unit.kind === "linear") {
        terms([...common, ["sum", "Σ wᵢ·xᵢ", unit.sum], ["rest", "rest of the sum", unit.rest],
          ["bias", "bias", unit.bias], ["pre_activation", "pre-activation", unit.pre_activation],
          ...unit.followed_by.map((s, i) => [`then-${i}`, `${s.layer} ${s.type}`, s.computed])]);
        const rows = unit.contributions.map((c) => [c.index, c.source ? c.source.join(",") : "", c.input, c.weight, c.product]);
        const head = element("tr", {}, ...["i", "from (c,y,x)", "xᵢ", "wᵢ", "wᵢ·xᵢ"].map((t) => element("td", { text: t })));
        tables.append(element("table", { className: "numbers", "data-name": "contributions" },
          element("caption", { text: `largest of ${unit.inputs} contributions` }), head,
          ...rows.map((r) => element("tr", {}, ...r.map((v, k) => element("td", { text: k < 2 ? String(v) : fmt(v) }))))));
      } else if (unit.kind === "softmax") {
        terms([...common, ["sum_exp", "Σ e^(z − max)", unit.sum_exp], ["probability", "probability", unit.probability]]);
        tables.append(table("logits", [unit.logits, unit.exp], "logits z and e^(z − max z)"));
      } else {
        terms([...common, ["input", "input", unit.input]]);
      }
      highlight(unit);
      const view = document.getElementById("unit-view");
      view.dataset.unit = JSON.stringify([unit.layer, unit.channel, unit.row, unit.col]);
      view.dataset.version = String(Number(view.dataset.version || 0) + 1);
    },
  };
}
