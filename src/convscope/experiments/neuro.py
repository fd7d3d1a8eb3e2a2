"""§9.10 The neuroscientific basis: Gabor filters, orientation tuning, simple and complex cells.

V1 simple cells are well described by Gabor functions (a Gaussian envelope times
a sinusoid); their response depends on where a grating's bars fall (its phase).
Complex cells respond to the same orientation whatever the phase — as if they
pooled over simple cells at nearby positions. The guide fits Gabor functions to
the first-layer filters of a trained CNN, measures their orientation tuning
with sinusoidal gratings, and compares the phase dependence of a conv+ReLU unit
("simple") with that of a max-pooled unit ("complex").

    g(u, v) = a·exp(−(u'² + v'²) / 2σ²)·cos(2πf·u') + b·exp(…)·sin(2πf·u') + c
    u' = (u − u₀)cos θ + (v − v₀)sin θ,   v' = −(u − u₀)sin θ + (v − v₀)cos θ

(the phase is in ``a`` and ``b``, so those and the offset ``c`` are fitted by linear
least squares for every ``(θ, f, σ, u₀, v₀)`` on a grid).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from convscope.experiments._common import Result, check_scale, seeded
from convscope.experiments.features import feature_cnn, trained_feature_cnn
from convscope.nn import functional as F
from convscope.tensor import Tensor

ORIENTATIONS = np.arange(0, 180, 15)  # degrees


def _gabor_bank(size: int) -> tuple[np.ndarray, np.ndarray]:
    """All grid Gabor pairs: ``(G, 3, size²)`` bases (cos, sin, constant) and their θ (deg)."""
    v, u = np.mgrid[0:size, 0:size].astype(np.float64)
    centre = (size - 1) / 2
    bases, thetas = [], []
    grid = itertools.product(
        np.deg2rad(np.arange(0, 180, 7.5)),  # θ
        (0.08, 0.12, 0.17, 0.23, 0.3, 0.4),  # f, cycles per pixel
        (0.8, 1.2, 1.8, 2.7),  # σ, pixels
        (centre - 1, centre, centre + 1),  # u₀
        (centre - 1, centre, centre + 1),  # v₀
    )
    for theta, f, sigma, u0, v0 in grid:
        along = (u - u0) * np.cos(theta) + (v - v0) * np.sin(theta)
        across = -(u - u0) * np.sin(theta) + (v - v0) * np.cos(theta)
        envelope = np.exp(-(along**2 + across**2) / (2 * sigma**2))
        bases.append(
            [
                (envelope * np.cos(2 * np.pi * f * along)).ravel(),
                (envelope * np.sin(2 * np.pi * f * along)).ravel(),
                np.ones(size * size),
            ]
        )
        thetas.append(np.rad2deg(theta))
    return np.array(bases), np.array(thetas)


def fit_gabor(kernels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best grid Gabor for each ``(K, size, size)`` kernel: R² of the fit and its θ (degrees).

    >>> v, u = np.mgrid[0:7, 0:7]
    >>> g = np.exp(-((u - 3) ** 2 + (v - 3) ** 2) / 6.48) * np.cos(2 * np.pi * 0.23 * (u - 3))
    >>> r2, theta = fit_gabor(g[None])
    >>> bool(r2[0] > 0.99), float(theta[0])
    (True, 0.0)
    """
    k, size, _ = kernels.shape
    bases, thetas = _gabor_bank(size)  # (G, 3, P)
    targets = kernels.reshape(k, -1).astype(np.float64)  # (K, P)
    pinv = np.linalg.pinv(bases.transpose(0, 2, 1))  # (G, 3, P): least-squares solvers
    coefficients = np.einsum("gcp,kp->gkc", pinv, targets)  # (G, K, 3)
    fitted = np.einsum("gkc,gcp->gkp", coefficients, bases)  # (G, K, P)
    sse = ((fitted - targets) ** 2).sum(axis=2)  # (G, K)
    sst = ((targets - targets.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)  # (K,)
    best = sse.argmin(axis=0)  # (K,)
    r2 = 1.0 - sse[best, np.arange(k)] / np.maximum(sst, 1e-12)
    return r2, thetas[best]


def grating(size: int, theta_deg: float, frequency: float, phase: float) -> np.ndarray:
    """``cos(2πf(u cos θ + v sin θ) + phase)`` mapped to [0, 1], ``(size, size)``."""
    v, u = np.mgrid[0:size, 0:size].astype(np.float64)
    theta = np.deg2rad(theta_deg)
    wave = np.cos(2 * np.pi * frequency * (u * np.cos(theta) + v * np.sin(theta)) + phase)
    return ((wave + 1) / 2).astype(np.float32)


@dataclass
class NeuroResult(Result):
    filters: int
    gabor_r2_learned: list[float]  # per learned filter
    gabor_r2_random: list[float]  # the same fit on the untrained (random) filters
    median_r2_learned: float
    median_r2_random: float
    well_fitted_learned: float  # fraction of filters with R² > 0.7
    well_fitted_random: float
    orientation_selectivity: list[float]  # (r_pref − r_orth) / (r_pref + r_orth), per filter
    median_selectivity: float
    orientation_agreement: float  # median |preferred grating θ − Gabor θ| (degrees, mod 180)
    phase_modulation_simple: float  # median (max − min)/(max + min) over phase, conv+ReLU unit
    phase_modulation_pooled: float  # the same after the network's 2×2 max pooling
    phase_modulation_complex: float  # max over an 8×8 neighbourhood of positions
    tuned_filters: int  # filters with a measurable response used for the medians


def neuroscience(scale: str = "full", seed: int = 0) -> NeuroResult:
    """Gabor fits, orientation tuning and phase invariance of a trained CNN's first layer."""
    check_scale(scale, "neuroscience")
    model = trained_feature_cnn(scale, seed)
    conv = model[0]
    kernels = conv.weight.data[:, 0]  # (32, 5, 5)
    r2, gabor_theta = fit_gabor(kernels)
    seeded(seed)
    r2_random, _ = fit_gabor(feature_cnn()[0].weight.data[:, 0])

    size, frequency = 28, 0.2
    phases = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    stack = np.array([[grating(size, t, frequency, p) for p in phases] for t in ORIENTATIONS])
    x = stack.reshape(-1, 1, size, size)  # (orientations·phases, 1, 28, 28)
    maps = F.relu(F.conv2d(Tensor(x), conv.weight, conv.bias, padding=2)).numpy()
    maps = maps.reshape(len(ORIENTATIONS), len(phases), -1, size, size)  # (T, P, K, 28, 28)
    centre = size // 2
    simple = maps[..., centre, centre]  # (T, P, K): one position
    pooled = maps[..., centre : centre + 2, centre : centre + 2].max(axis=(-2, -1))
    complex_ = maps[..., centre - 4 : centre + 4, centre - 4 : centre + 4].max(axis=(-2, -1))

    tuning = complex_.mean(axis=1)  # (T, K): phase-invariant orientation tuning
    pref = tuning.argmax(axis=0)  # (K,)
    orth = (pref + len(ORIENTATIONS) // 2) % len(ORIENTATIONS)
    k_index = np.arange(tuning.shape[1])
    r_pref, r_orth = tuning[pref, k_index], tuning[orth, k_index]
    osi = (r_pref - r_orth) / np.maximum(r_pref + r_orth, 1e-12)
    difference = np.abs(ORIENTATIONS[pref] - gabor_theta) % 180
    difference = np.minimum(difference, 180 - difference)

    responsive = r_pref > 1e-3 * max(float(r_pref.max()), 1e-12)
    # Phase modulation at each filter's preferred orientation.

    def modulation(r: np.ndarray) -> float:
        at_pref = r[pref, :, k_index]  # (K, P)
        hi, lo = at_pref.max(axis=1), at_pref.min(axis=1)
        return float(np.median(((hi - lo) / np.maximum(hi + lo, 1e-12))[responsive]))

    return NeuroResult(
        filters=len(kernels),
        gabor_r2_learned=r2.tolist(),
        gabor_r2_random=r2_random.tolist(),
        median_r2_learned=float(np.median(r2)),
        median_r2_random=float(np.median(r2_random)),
        well_fitted_learned=float(np.mean(r2 > 0.7)),
        well_fitted_random=float(np.mean(r2_random > 0.7)),
        orientation_selectivity=osi.tolist(),
        median_selectivity=float(np.median(osi)),
        orientation_agreement=float(np.median(difference[responsive & (r2 > 0.5)]))
        if np.any(responsive & (r2 > 0.5))
        else float("nan"),
        phase_modulation_simple=modulation(simple),
        phase_modulation_pooled=modulation(pooled),
        phase_modulation_complex=modulation(complex_),
        tuned_filters=int(responsive.sum()),
        figure=_figure(kernels, r2, simple, complex_, pref, phases),
    )


def _figure(kernels, r2, simple, complex_, pref, phases) -> Any:
    from convscope.viz._mpl import new_figure

    fig = new_figure(8.0, 4.0)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.4])
    order = np.argsort(-r2)[:6]
    for i, k in enumerate(order):
        ax = top.add_subplot(1, 6, i + 1)
        limit = float(np.abs(kernels[k]).max()) or 1.0
        ax.imshow(kernels[k], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"filter {k}: R²={r2[k]:.2f}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    k = order[0]
    ax = bottom.add_subplot(1, 2, 1)
    ax.plot(ORIENTATIONS, complex_[:, :, k].mean(axis=1), "o-")
    ax.set_xlabel("grating orientation (°)", fontsize=8)
    ax.set_ylabel("response", fontsize=8)
    ax.set_title(f"orientation tuning, filter {k}", fontsize=8)
    ax = bottom.add_subplot(1, 2, 2)
    deg = np.rad2deg(phases)
    ax.plot(deg, simple[pref[k], :, k], "o-", label="conv+ReLU (simple)")
    ax.plot(deg, complex_[pref[k], :, k], "s--", label="max over 8×8 (complex)")
    ax.set_xlabel("grating phase (°)", fontsize=8)
    ax.set_title("phase dependence at the preferred orientation", fontsize=8)
    ax.legend(fontsize=6)
    return fig
