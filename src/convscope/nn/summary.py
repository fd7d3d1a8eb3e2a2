"""``summary``: a per-layer table of a model, worked out from one forward pass.

For every leaf layer: its output shape, parameter count, multiply-adds, receptive
field and — for convolution and pooling — the output-size arithmetic written out
(Goodfellow et al. §9.5). Each layer answers for itself through three methods with
defaults on :class:`~convscope.nn.Module` — ``window_geometry()`` (None unless it
slides a window), ``mult_adds(output)`` (0) and ``receptive_field_is_global()``
(False) — so a user's own layer gets a full row by overriding them. The pass runs on
a zero batch of one sample, with forward hooks (the model's own ``forward``), in
evaluation mode and without a graph; the model is left exactly as it was.

Receptive field (how many input pixels one output value can see) and jump (how
far apart in the input two neighbouring outputs are) follow the standard
recurrence, starting from ``r = j = 1`` at the input::

    r_out = r_in + (k − 1)·d·j_in        j_out = j_in·s

for a convolution or pooling with kernel ``k``, dilation ``d``, stride ``s``;
elementwise layers (activations, batch norm, dropout) leave both unchanged;
after ``Flatten`` or ``Linear`` every value sees the whole input (shown ``all``).

>>> from convscope.nn import Conv2d, MaxPool2d, ReLU, Sequential
>>> s = summary(Sequential(Conv2d(1, 8, 3), ReLU(), MaxPool2d(2)), (1, 28, 28))
>>> s.total_params
80
>>> [row["output_shape"] for row in s.rows]
[(1, 8, 26, 26), (1, 8, 26, 26), (1, 8, 13, 13)]
>>> s.rows[2]["receptive_field"], s.rows[2]["jump"]
((4, 4), (2, 2))
>>> s.rows[0]["arithmetic"]
'28 → (28 + 2·0 − 3)/1 + 1 = 26'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convscope.nn._validation import _is_int
from convscope.nn.capture import _hooked_eval_pass, _leaf_or_included
from convscope.nn.functional.geometry import WindowGeometry, conv_output_size, resolve_padding
from convscope.nn.module import Module
from convscope.tensor import Tensor

MB = 1e6  # bytes per megabyte, as torchinfo and Keras report


# --------------------------------------------------------------------------- arithmetic


def _axis_arithmetic(
    n: int, k: int, s: int, before: int, after: int, d: int, ceil_mode: bool, same: bool
) -> str:
    """One axis's output size written out: ``28 → (28 + 2·0 − 3)/1 + 1 = 26``."""
    out = conv_output_size(n, k, s, (before, after), d, ceil_mode)
    pad = f"2·{before}" if before == after else f"{before} + {after}"
    span = f"{k}" if d == 1 else f"{d}·({k}−1) − 1"
    numerator = n + before + after - (d * (k - 1) + 1)
    inner = f"({n} + {pad} − {span})"
    if numerator % s == 0:
        expr = f"{inner}/{s}"
    elif ceil_mode:
        expr = f"⌈{inner}/{s}⌉"
    else:
        expr = f"⌊{inner}/{s}⌋"
    text = f"{n} → {'same: ' if same else ''}{expr} + 1"
    if -(-numerator // s) + 1 != out and ceil_mode:
        text += " − 1 (last window would start in the padding)"
    return f"{text} = {out}"


def _window_geometry(module: Module) -> dict[str, Any] | None:
    """``module.window_geometry()`` as a plain dict (keys kernel, stride, dilation,
    padding, ceil_mode), or None: for callers that index it by name."""
    geometry = module.window_geometry()
    return None if geometry is None else dataclasses.asdict(geometry)


def _arithmetic(geometry: WindowGeometry, in_hw: tuple[int, int]) -> str:
    """Both axes' size arithmetic; one line when height and width read the same."""
    k, s, d, ceil = geometry.kernel, geometry.stride, geometry.dilation, geometry.ceil_mode
    top, bottom, left, right = resolve_padding(geometry.padding, in_hw, k, s, d)
    same = geometry.padding == "same"
    h = _axis_arithmetic(in_hw[0], k[0], s[0], top, bottom, d[0], ceil, same)
    w = _axis_arithmetic(in_hw[1], k[1], s[1], left, right, d[1], ceil, same)
    return h if h == w else f"H: {h}; W: {w}"


# --------------------------------------------------------------------------- result


def _fmt_pair(value: tuple[int, int] | None) -> str:
    if value is None:
        return "all"
    return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"


@dataclass
class Summary:
    """What :func:`summary` found. ``str(summary)`` is a fixed-width table.

    Attributes:
        model_name: the model's class name.
        input_shape: the batch shape used, ``(1, *input_shape)``.
        rows: one dict per leaf layer call, in execution order, with keys ``name``,
            ``type``, ``input_shape``, ``output_shape``, ``params``,
            ``trainable_params``, ``mult_adds``, ``receptive_field`` and ``jump``
            (``(h, w)`` pairs, None after Flatten/Linear: the whole input),
            ``arithmetic`` (the size computation of a conv/pool layer, else None) and
            ``output_bytes``. A module called twice gets a second row ``"name#2"``.
        total_params, trainable_params, non_trainable_params: parameter counts.
        mult_adds: multiply-adds of one sample's forward pass (each layer's
            ``mult_adds(output)``: Conv2d and Linear count one per weight per output
            position; biases and elementwise layers are not counted).
        input_mb, activation_mb, param_mb: memory in MB (10⁶ bytes) of one input
            sample, of every leaf layer's output for one sample, and of the parameters.
    """

    model_name: str
    input_shape: tuple[int, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    mult_adds: int = 0
    input_mb: float = 0.0
    activation_mb: float = 0.0
    param_mb: float = 0.0

    @property
    def totals(self) -> dict[str, int | float]:
        """The totals as a dict (for reports and JSON)."""
        return {
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "mult_adds": self.mult_adds,
            "input_mb": self.input_mb,
            "activation_mb": self.activation_mb,
            "param_mb": self.param_mb,
        }

    _HEADER = ("Layer (type)", "Output shape", "Param #", "Mult-adds", "RF", "Jump",
               "Size arithmetic")  # fmt: skip

    def _cells(self) -> list[tuple[str, ...]]:
        return [
            (
                f"{row['name']} ({row['type']})",
                str(row["output_shape"]),
                f"{row['params']:,}",
                f"{row['mult_adds']:,}",
                _fmt_pair(row["receptive_field"]),
                _fmt_pair(row["jump"]),
                row["arithmetic"] or "",
            )
            for row in self.rows
        ]

    def _total_lines(self) -> list[str]:
        return [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Mult-adds (per sample): {self.mult_adds:,}",
            f"Input size (MB): {self.input_mb:.2f}",
            f"Activation memory (MB, per sample): {self.activation_mb:.2f}",
            f"Parameter memory (MB): {self.param_mb:.2f}",
        ]

    def __str__(self) -> str:
        cells = [self._HEADER, *self._cells()]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self._HEADER))]
        right = {2, 3, 4, 5}  # numeric columns are right-aligned

        def line(row: tuple[str, ...]) -> str:
            parts = [
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            return "  ".join(parts).rstrip()

        rule = "=" * (sum(widths) + 2 * (len(widths) - 1))
        body = [line(row) for row in cells[1:]]
        title = f"{self.model_name} on input {self.input_shape}"
        return "\n".join(
            [title, rule, line(cells[0]), "-" * len(rule), *body, rule, *self._total_lines()]
        )

    __repr__ = __str__

    def to_markdown(self) -> str:
        """The table and totals as GitHub Markdown, for reports."""
        header = "| " + " | ".join(self._HEADER) + " |"
        align = "|" + "|".join([":---", ":---", "---:", "---:", "---:", "---:", ":---"]) + "|"
        rows = ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in self._cells()]
        totals = ["", *(f"- {t}" for t in self._total_lines())]
        return "\n".join([header, align, *rows, *totals])


# --------------------------------------------------------------------------- summary


def summary(model: Module, input_shape: tuple[int, ...], dtype: Any = np.float32) -> Summary:
    """Run ``model`` on a zero batch of shape ``(1, *input_shape)`` and tabulate its layers.

    Args:
        model: any Module.
        input_shape: one sample's shape, without the batch axis, e.g. ``(1, 28, 28)``.
        dtype: dtype of the zero batch.

    Returns:
        A :class:`Summary`; ``print`` it for the table, or read ``rows`` and ``totals``.

    Raises:
        ValueError: ``input_shape`` is not a tuple of positive integers, or the model
            rejects the input (the message says which layer and why).
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary expected a Module; received {type(model).__name__}.")
    if (
        not isinstance(input_shape, (tuple, list))
        or not input_shape
        or not all(_is_int(n) and n > 0 for n in input_shape)
    ):
        raise ValueError(
            "summary expected input_shape to be one sample's shape without the batch axis, "
            f"e.g. (1, 28, 28); received input_shape={input_shape!r}."
        )
    x = Tensor(np.zeros((1, *input_shape), dtype=dtype))
    rows: list[dict[str, Any]] = []
    # Receptive field and jump of each tensor produced so far, by id; the tensors
    # are kept alive so an id cannot be reused within the pass.
    fields: dict[int, tuple[Any, Any]] = {id(x): ((1, 1), (1, 1))}
    alive: list[Any] = [x]
    last = [((1, 1), (1, 1))]
    counts: dict[str, int] = {}

    def record(name: str, module: Module, inputs: tuple, output: Any) -> None:
        first = inputs[0] if inputs else None
        # An input made outside any layer (e.g. F.relu in a custom forward) inherits
        # the most recent layer's field: exact for chains of layers.
        rf, jump = fields.get(id(first), last[0])
        geometry = module.window_geometry()
        in_shape = tuple(np.shape(first)) if first is not None else ()
        arithmetic = None
        if geometry is not None and rf is not None:
            k, s, d = geometry.kernel, geometry.stride, geometry.dilation
            rf = tuple(r + (ki - 1) * di * j for r, ki, di, j in zip(rf, k, d, jump, strict=True))
            jump = tuple(j * si for j, si in zip(jump, s, strict=True))
        if geometry is not None and len(in_shape) == 4:
            arithmetic = _arithmetic(geometry, in_shape[2:])
        if module.receptive_field_is_global():
            rf = jump = None
        fields[id(output)] = (rf, jump)
        alive.append(output)
        last[0] = (rf, jump)
        calls = counts[name] = counts.get(name, 0) + 1
        params = list(module.parameters(recurse=False))
        rows.append({
            "name": name if calls == 1 else f"{name}#{calls}",
            "type": type(module).__name__,
            "input_shape": in_shape,
            "output_shape": tuple(np.shape(output)),
            "params": sum(p.size for p in params),
            "trainable_params": sum(p.size for p in params if p.requires_grad),
            "mult_adds": module.mult_adds(output) if isinstance(output, Tensor) else 0,
            "receptive_field": rf,
            "jump": jump,
            "arithmetic": arithmetic,
            "output_bytes": int(np.asarray(output).nbytes),
        })  # fmt: skip

    try:
        with _hooked_eval_pass(model, _leaf_or_included(model, None), record):
            model(x)
    except (ValueError, TypeError) as err:
        if hasattr(err, "add_note"):  # Python 3.11+
            err.add_note(f"(summary ran {type(model).__name__} on a zero batch of shape {x.shape})")
        raise

    parameters = list(model.parameters())
    total = sum(p.size for p in parameters)
    trainable = sum(p.size for p in parameters if p.requires_grad)
    return Summary(
        model_name=type(model).__name__,
        input_shape=x.shape,
        rows=rows,
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        mult_adds=sum(row["mult_adds"] for row in rows),
        input_mb=x.data.nbytes / MB,
        activation_mb=sum(row["output_bytes"] for row in rows) / MB,
        param_mb=sum(p.data.nbytes for p in parameters) / MB,
    )
