"""Render a run's report as self-contained HTML (images embedded) and as Markdown.

The renderer only lays out what :class:`ReportData` holds; computing the numbers,
figures and findings is :mod:`convscope.runs`'s and :mod:`convscope.report.findings`'s job.
Both formats have the same sections, in the same order (:data:`SECTIONS`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convscope.io import atomic_write

# (anchor, heading) of every section, in reading order.
SECTIONS: list[tuple[str, str]] = [
    ("findings", "Findings"),
    ("dataset", "Dataset"),
    ("model", "Model"),
    ("hyperparameters", "Hyper-parameters"),
    ("training", "Training curves"),
    ("results", "Test results"),
    ("confusion", "Confusion matrix"),
    ("filters", "Learned filters of the first layer"),
    ("feature-maps", "Feature maps"),
    ("misclassified", "Misclassified examples"),
    ("looks-at", "What the network looks at"),
    ("timings", "Timings and throughput"),
]

# Figures shown in each section (every ReportData.figures key starting with this
# prefix, in order) and their caption; a list for a section with several kinds.
FIGURES: dict[str, tuple[str, str] | list[tuple[str, str]]] = {
    "training": ("curves", "Loss and accuracy per epoch, on training and validation data."),
    "results": ("per_class", "Test accuracy of each class."),
    "confusion": (
        "confusion",
        "Rows: true class; columns: predicted class; each row sums to 100%.",
    ),
    "filters": (
        "filters",
        "Each tile is one first-layer kernel (red positive, blue negative weights).",
    ),
    "feature-maps": (
        "feature_maps",
        "What each layer outputs for a test image: one row per layer, its first channels.",
    ),
    "misclassified": ("misclassified", "Test images the model got wrong, most confident first."),
    "looks-at": [
        (
            "looks_at_maps",
            "Saliency |∂score/∂pixel| and Grad-CAM of the predicted class's score (its "
            "logit), for correct (✓) and misclassified (✗) test images; bright = important.",
        ),
        (
            "looks_at_patches",
            "For the strongest channels of the first two conv layers: the test patches "
            "(each unit's receptive field) that excite them most, with the activation.",
        ),
    ],
}


@dataclass
class ReportData:
    """Everything a report shows, already computed.

    Attributes:
        title: heading of the report.
        dataset: name, description, source, split sizes, image shape, classes.
        model_name: the preset or model file.
        summary_rows: one dict per layer (from :class:`convscope.nn.Summary`); ``summary_text``
            the same as a fixed-width table.
        hyperparameters: name → value.
        history: Keras-shaped per-epoch lists (``loss``, ``val_loss``, ``accuracy``, ...).
        test_loss, test_accuracy: the final evaluation on the test split.
        per_class: (class name, accuracy or None if it has no test image, number of test
            images) per class.
        confused_pairs: (true class, predicted class, count, share of the true class).
        figures: figure key → PNG path.
        timings: name → human-readable value.
        findings: sentences computed from this run's numbers.
        evaluated_epoch: the epoch whose weights were tested (the best by ``monitor``).
        monitor: the logged quantity that chose the best epoch, e.g. ``val_loss``.
    """

    title: str
    dataset: dict[str, Any]
    model_name: str
    summary_rows: list[dict[str, Any]]
    summary_text: str
    hyperparameters: dict[str, Any]
    history: dict[str, list[float]]
    test_loss: float
    test_accuracy: float
    per_class: list[tuple[str, float | None, int]]
    confused_pairs: list[tuple[str, str, int, float]]
    figures: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, str] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    evaluated_epoch: int | None = None
    monitor: str = "val_loss"


def _section_figures(data: ReportData, anchor: str) -> list[tuple[Path, str]]:
    """(path, caption) of every figure shown in a section."""
    kinds = FIGURES.get(anchor, [])
    kinds = [kinds] if isinstance(kinds, tuple) else kinds
    return [
        (path, caption)
        for prefix, caption in kinds
        for key, path in data.figures.items()
        if key.startswith(prefix)
    ]


# --------------------------------------------------------------------------- shared tables


def _history_table(history: dict[str, list[float]]) -> tuple[list[str], list[list[str]]]:
    formats = {
        "loss": ".4f",
        "accuracy": ".4f",
        "val_loss": ".4f",
        "val_accuracy": ".4f",
        "lr": ".4g",
        "seconds": ".1f",
    }
    columns = [k for k in formats if history.get(k)]
    n = max((len(history[k]) for k in columns), default=0)
    rows = [
        [str(e + 1)]
        + [format(history[k][e], formats[k]) if e < len(history[k]) else "" for k in columns]
        for e in range(n)
    ]
    return ["epoch", *columns], rows


def _summary_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    wanted = [
        ("name", "layer"),
        ("type", "type"),
        ("output_shape", "output shape"),
        ("params", "parameters"),
        ("macs", "multiply-adds"),
        ("receptive_field", "receptive field"),
        ("arithmetic", "size arithmetic"),
    ]
    present = [(k, label) for k, label in wanted if any(k in r for r in rows)]

    def fmt(value: Any) -> str:
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, (tuple, list)):
            return "×".join(str(v) for v in value)
        return "" if value is None else str(value)

    return [label for _, label in present], [[fmt(r.get(k)) for k, _ in present] for r in rows]


def _sections(data: ReportData) -> dict[str, dict[str, Any]]:
    """Per section: paragraphs, key-value lists and tables — shared by both renderers."""
    ds = data.dataset
    per_class_rows = [
        [name, "–" if acc is None else f"{acc:.1%}", f"{n:,}"] for name, acc, n in data.per_class
    ]
    pairs_rows = [[t, p, f"{c:,}", f"{share:.1%}"] for t, p, c, share in data.confused_pairs]
    return {
        "findings": {"list": data.findings},
        "dataset": {
            "kv": {
                k: f"{v:,}" if isinstance(v, int) else v for k, v in ds.items() if k != "classes"
            },
            "paragraphs": [f"Classes: {', '.join(map(str, ds.get('classes', [])))}."],
        },
        "model": {
            "paragraphs": [f"Model: {data.model_name}."],
            "table": _summary_table(data.summary_rows),
        },
        "hyperparameters": {"kv": data.hyperparameters},
        "training": {"table": _history_table(data.history)},
        "results": {
            "paragraphs": [
                f"Test accuracy {data.test_accuracy:.2%}, test loss {data.test_loss:.4f} "
                f"on {sum(n for _, _, n in data.per_class):,} test images"
                + (
                    f", with the weights of epoch {data.evaluated_epoch} (the best "
                    f"{data.monitor.replace('val_', 'validation ')})."
                    if data.evaluated_epoch
                    else "."
                )
            ],
            "table": (["class", "accuracy", "test images"], per_class_rows),
        },
        "confusion": {
            "paragraphs": ["The most confused pairs:"] if pairs_rows else ["No confusions."],
            "table": (["true class", "predicted as", "count", "share of true class"], pairs_rows),
        },
        "filters": {},
        "feature-maps": {},
        "misclassified": {},
        "looks-at": {
            "paragraphs": [
                "Saliency shows which pixels would change the class score most if they "
                "changed (Simonyan et al., 2014); Grad-CAM weighs the last convolution's "
                "feature maps by how much each raises the score (Selvaraju et al., 2017). "
                "Both explain the score of the predicted class. The command convscope explore RUN "
                "shows them for any image and class, with occlusion maps and the arithmetic "
                "of every unit."
            ]
            if any(k.startswith("looks_at") for k in data.figures)
            else ["No test image to explain."]
        },
        "timings": {"kv": data.timings},
    }


# --------------------------------------------------------------------------- Markdown


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(data: ReportData, base: Path) -> str:
    """The report as Markdown; figures are linked relative to ``base`` (the run directory)."""
    out = [f"# {data.title}", ""]
    out.append("Contents: " + " · ".join(f"[{heading}](#{anchor})" for anchor, heading in SECTIONS))
    sections = _sections(data)
    for anchor, heading in SECTIONS:
        section = sections[anchor]
        out += ["", f"## {heading}", ""]
        for paragraph in section.get("paragraphs", []):
            out += [paragraph, ""]
        out += [f"- {item}" for item in section.get("list", [])]
        out += [f"- **{k}**: {v}" for k, v in section.get("kv", {}).items()]
        if section.get("table") and section["table"][1]:
            out += ["", _md_table(*section["table"])]
        for path, caption in _section_figures(data, anchor):
            rel = Path(path).resolve().relative_to(base.resolve())
            out += ["", f"![{caption}]({rel.as_posix()})", "", f"*{caption}*"]
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2430;
       max-width: 980px; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.9rem; margin-bottom: .2rem; }
h2 { border-bottom: 2px solid #e4e8ee; padding-bottom: .25rem; margin-top: 2.2rem; }
nav { font-size: .9rem; color: #556; margin-bottom: 1.5rem; }
nav a { color: #2a5db0; text-decoration: none; margin-right: .8rem; white-space: nowrap; }
.headline { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0 1.5rem; }
.stat { background: #f3f6fa; border-radius: 8px; padding: .6rem 1rem; min-width: 9rem; }
.stat b { display: block; font-size: 1.4rem; }
ul.findings li { margin-bottom: .45rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .88rem; }
th, td { border: 1px solid #dde3ea; padding: .3rem .6rem; text-align: left; }
th { background: #f3f6fa; }
td { font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #e4e8ee; }
figcaption { font-size: .85rem; color: #556; }
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _embedded_image(path: Path, alt: str) -> str:
    encoded = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page (PNG figures embedded as data URIs)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(data.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(data.title)}</h1>",
        "<nav>" + " ".join(f'<a href="#{a}">{e(h)}</a>' for a, h in SECTIONS) + "</nav>",
        '<div class="headline">',
        f'<div class="stat">test accuracy<b>{data.test_accuracy:.2%}</b></div>',
        f'<div class="stat">test loss<b>{data.test_loss:.4f}</b></div>',
        f'<div class="stat">epochs<b>{len(data.history.get("loss", []))}</b></div>',
        f'<div class="stat">dataset<b>{e(str(data.dataset.get("name", "")))}</b></div>',
        f'<div class="stat">model<b>{e(data.model_name)}</b></div>',
        "</div>",
    ]
    sections = _sections(data)
    for anchor, heading in SECTIONS:
        section = sections[anchor]
        parts.append(f'<section id="{anchor}"><h2>{e(heading)}</h2>')
        parts += [f"<p>{e(p)}</p>" for p in section.get("paragraphs", [])]
        if section.get("list"):
            items = "".join(f"<li>{e(item)}</li>" for item in section["list"])
            parts.append(f'<ul class="findings">{items}</ul>')
        if section.get("kv"):
            items = "".join(
                f"<dt>{e(str(k))}</dt><dd>{e(str(v))}</dd>" for k, v in section["kv"].items()
            )
            parts.append(f"<dl>{items}</dl>")
        if section.get("table") and section["table"][1]:
            parts.append(_html_table(*section["table"]))
        for path, caption in _section_figures(data, anchor):
            parts.append(
                f"<figure>{_embedded_image(path, caption)}"
                f"<figcaption>{e(caption)}</figcaption></figure>"
            )
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(data: ReportData, run_dir: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` into ``run_dir`` atomically; return their paths."""
    run_dir = Path(run_dir)
    html_path, md_path = run_dir / "report.html", run_dir / "report.md"
    with atomic_write(html_path, "w") as f:
        f.write(render_html(data))
    with atomic_write(md_path, "w") as f:
        f.write(render_markdown(data, run_dir))
    return html_path, md_path
