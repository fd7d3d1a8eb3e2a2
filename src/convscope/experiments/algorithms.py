"""§9.8 Efficient convolution algorithms: five ways to compute the same cross-correlation.

Each function computes the valid cross-correlation of a batch of single-channel
images ``(N, H, W)`` with one ``k×k`` kernel, like ``F.conv2d`` with one filter:

- :func:`direct`: the definition, one multiply-add pass per kernel tap (``k²`` per output);
- :func:`im2col_gemm`: ``F.conv2d`` itself, windows copied into a matrix, one GEMM;
- :func:`fft_conv`: pointwise product in the frequency domain (``numpy.fft``);
- :func:`separable`: a rank-1 kernel ``u vᵀ`` (from its SVD) applied as a column then a
  row filter: ``2k`` multiplies per output instead of ``k²``;
- :func:`winograd_2x2_3x3`: Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray,
  2016): 16 multiplies per 2×2 output tile, 4 per output instead of 9.

>>> import numpy as np
>>> x = np.random.default_rng(0).random((2, 8, 8), dtype=np.float32)
>>> k = np.outer([1.0, 2.0, 1.0], [1.0, 0.0, -1.0]).astype(np.float32)
>>> ref = direct(x, k)
>>> all(np.allclose(f(x, k), ref, atol=1e-5) for f in (fft_conv, separable, winograd_2x2_3x3))
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convscope.experiments._common import Result, check_scale, pick
from convscope.nn import functional as F
from convscope.tensor import Tensor


def direct(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``out[n, y, x] = Σ_ij k[i, j] · x[n, y + i, x + j]``: one shifted multiply-add per tap."""
    k_h, k_w = kernel.shape
    out_h, out_w = x.shape[1] - k_h + 1, x.shape[2] - k_w + 1
    out = np.zeros((x.shape[0], out_h, out_w), dtype=x.dtype)
    for i in range(k_h):
        for j in range(k_w):
            out += kernel[i, j] * x[:, i : i + out_h, j : j + out_w]
    return out


def im2col_gemm(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The library's ``F.conv2d`` (im2col + one matrix product), one input and output channel."""
    return F.conv2d(Tensor(x[:, None]), Tensor(kernel[None, None])).numpy()[:, 0]


def fft_conv(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlation = convolution with the flipped kernel = product of the two spectra.

    Both are zero-padded to ``H×W`` (the kernel flipped, at the origin); the circular
    convolution then equals the linear one on the valid outputs, which start at
    offset ``(k − 1, k − 1)``.
    """
    k_h, k_w = kernel.shape
    h, w = x.shape[1:]
    spectrum = np.fft.rfft2(x.astype(np.float64), s=(h, w))
    kernel_spectrum = np.fft.rfft2(kernel[::-1, ::-1].astype(np.float64), s=(h, w))
    full = np.fft.irfft2(spectrum * kernel_spectrum, s=(h, w))  # (N, H, W), circular
    return full[:, k_h - 1 :, k_w - 1 :].astype(x.dtype)


def separable(x: np.ndarray, kernel: np.ndarray, rank: int | None = None) -> np.ndarray:
    """Sum over the kernel's singular vectors of a column filter then a row filter.

    A rank-1 kernel ``k = σ u vᵀ`` needs one term (``2k`` multiplies per output); a
    general ``k×k`` kernel needs ``rank`` terms (all of them by default).
    """
    u, sigma, vt = np.linalg.svd(kernel.astype(np.float64))
    rank = int(np.sum(sigma > 1e-6 * sigma[0])) if rank is None else rank
    k_h, k_w = kernel.shape
    out_h, out_w = x.shape[1] - k_h + 1, x.shape[2] - k_w + 1
    out = np.zeros((x.shape[0], out_h, out_w), dtype=np.float64)
    for r in range(rank):
        column = u[:, r] * sigma[r]
        columns = sum(column[i] * x[:, i : i + out_h, :] for i in range(k_h))  # (N, OH, W)
        out += sum(vt[r, j] * columns[:, :, j : j + out_w] for j in range(k_w))
    return out.astype(x.dtype)


# Winograd F(2×2, 3×3) transforms (Lavin & Gray 2016, eq. 7): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A.
_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float32)
_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float32)
_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float32)


def winograd_2x2_3x3(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """3×3 correlation by Winograd tiles: each 4×4 input tile gives a 2×2 output tile.

    The 16 products ``U ⊙ V`` are the only multiplications by data; the transforms
    use additions (and halvings of the kernel, done once).
    """
    if kernel.shape != (3, 3):
        raise ValueError(f"winograd_2x2_3x3 expected a 3×3 kernel; received {kernel.shape}.")
    n, h, w = x.shape
    out_h, out_w = h - 2, w - 2
    tiles_h, tiles_w = math.ceil(out_h / 2), math.ceil(out_w / 2)
    padded = np.zeros((n, 2 * tiles_h + 2, 2 * tiles_w + 2), dtype=x.dtype)
    padded[:, :h, :w] = x
    d = sliding_window_view(padded, (4, 4), axis=(1, 2))[:, ::2, ::2]  # (N, TH, TW, 4, 4)
    v = np.einsum("ab,ntsbc,dc->ntsad", _BT, d, _BT, optimize=True)  # Bᵀ d B
    u = _G @ kernel.astype(x.dtype) @ _G.T  # (4, 4), once per kernel
    y = np.einsum("ab,ntsbc,dc->ntsad", _AT, u * v, _AT, optimize=True)  # (N, TH, TW, 2, 2)
    y = y.transpose(0, 1, 3, 2, 4).reshape(n, 2 * tiles_h, 2 * tiles_w)  # tiles -> image
    return np.ascontiguousarray(y[:, :out_h, :out_w])


ALGORITHMS = {
    "direct": direct,
    "im2col + GEMM": im2col_gemm,
    "FFT": fft_conv,
    "separable (rank 1)": separable,
    "Winograd F(2×2,3×3)": winograd_2x2_3x3,
}


def multiplies_per_output(name: str, size: int, k: int = 3) -> float:
    """Multiplications by data per output value (FFT: an estimate, see below).

    FFT: three real 2-D FFTs of ``P = size²`` points at ``≈ 2·P·log₂P`` real multiplies
    each (the kernel's can be precomputed, counted anyway), plus ``3P`` for the
    complex pointwise product (half spectrum), over ``(size − k + 1)²`` outputs.
    """
    if name in ("direct", "im2col + GEMM"):
        return float(k * k)
    if name.startswith("separable"):
        return float(2 * k)
    if name.startswith("Winograd"):
        return 16 / 4
    points = size * size
    return (3 * 2 * points * math.log2(points) + 3 * points) / (size - k + 1) ** 2


@dataclass
class AlgorithmsResult(Result):
    sizes: list[int]
    batch: int
    names: list[str]
    max_difference: dict[str, float]  # vs F.conv2d, over all sizes
    seconds: dict[str, list[float]]  # best of the repeats, per size
    multiplies: dict[str, list[float]]  # per output value, per size
    random_kernel_rank: int  # SVD rank of a random 3×3 kernel: separable needs this many terms


def efficient_algorithms(scale: str = "full", seed: int = 0) -> AlgorithmsResult:
    """All five algorithms on the same images and rank-1 kernel (Sobel): agreement and time."""
    check_scale(scale, "efficient_algorithms")
    sizes, batch, repeats = pick(scale, ([32, 64, 128, 256], 16, 3), ([16, 32], 2, 1))
    rng = np.random.default_rng(seed)
    kernel = np.outer([1.0, 2.0, 1.0], [1.0, 0.0, -1.0]).astype(np.float32)  # Sobel, rank 1
    names = list(ALGORITHMS)
    diff = dict.fromkeys(names, 0.0)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for size in sizes:
        x = rng.random((batch, size, size), dtype=np.float32)
        reference = im2col_gemm(x, kernel)
        for name, fn in ALGORITHMS.items():
            fn(x, kernel)  # warm-up: first-call costs (FFT plans, allocations) are not timed
            best = math.inf
            for _ in range(repeats):
                start = time.perf_counter()
                out = fn(x, kernel)
                best = min(best, time.perf_counter() - start)
            seconds[name].append(best)
            diff[name] = max(diff[name], float(np.abs(out - reference).max()))
    random_kernel = rng.standard_normal((3, 3))
    rank = int(np.linalg.matrix_rank(random_kernel))
    multiplies = {name: [multiplies_per_output(name, s) for s in sizes] for name in names}
    return AlgorithmsResult(
        sizes=sizes,
        batch=batch,
        names=names,
        max_difference=diff,
        seconds=seconds,
        multiplies=multiplies,
        random_kernel_rank=rank,
        figure=_figure(sizes, seconds),
    )


def _figure(sizes: list[int], seconds: dict[str, list[float]]) -> Any:
    from convscope.viz._mpl import new_figure

    fig = new_figure(5.0, 3.0)
    ax = fig.add_subplot(1, 1, 1)
    for name, times in seconds.items():
        ax.loglog(sizes, [t * 1e3 for t in times], "o-", label=name)
    ax.set_xlabel("image side (px), 3×3 kernel")
    ax.set_ylabel("milliseconds (batch)")
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return fig
