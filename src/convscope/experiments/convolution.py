"""§9.1 The convolution operation: the flip, the Toeplitz matrix, the textbook example.

>>> r = textbook_example()
>>> r.output.tolist()
[[4.0, 3.0, 4.0], [2.0, 4.0, 3.0], [2.0, 3.0, 4.0]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convscope import nn, scratch
from convscope.experiments._common import (
    Result,
    accuracy,
    check_scale,
    fit_quietly,
    forward,
    images,
    pick,
    seeded,
    small_cnn,
)
from convscope.nn import functional as F
from convscope.tensor import Tensor

TEXTBOOK_IMAGE = np.array(
    [
        [1, 1, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 1, 1],
        [0, 0, 1, 1, 0],
        [0, 1, 1, 0, 0],
    ],
    dtype=np.float32,
)
TEXTBOOK_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float32)


# --------------------------------------------------------------------------- textbook


@dataclass
class TextbookResult(Result):
    image: np.ndarray
    kernel: np.ndarray
    output: np.ndarray  # valid cross-correlation, as every library computes it
    convolution: np.ndarray  # true convolution: kernel flipped
    first_entry_terms: list[str]  # the nine products of out[0, 0], written out
    library_matches: bool  # F.conv2d gives the same numbers as the loops
    sobel_cross_correlation: np.ndarray  # an asymmetric kernel: here the flip matters
    sobel_convolution: np.ndarray


def textbook_example(scale: str = "full") -> TextbookResult:
    """The problem set's 5×5 image and 3×3 kernel, by the loops and by ``F.conv2d``."""
    check_scale(scale, "textbook_example")
    out = scratch.convolve2d(TEXTBOOK_IMAGE, TEXTBOOK_KERNEL)
    flipped = scratch.convolve2d(TEXTBOOK_IMAGE, TEXTBOOK_KERNEL[::-1, ::-1])
    library = F.conv2d(Tensor(TEXTBOOK_IMAGE[None, None]), Tensor(TEXTBOOK_KERNEL[None, None]))
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32)
    terms = [
        f"{int(TEXTBOOK_IMAGE[i, j])}·{int(TEXTBOOK_KERNEL[i, j])}"
        for i in range(3)
        for j in range(3)
    ]
    return TextbookResult(
        image=TEXTBOOK_IMAGE,
        kernel=TEXTBOOK_KERNEL,
        output=out,
        convolution=flipped,
        first_entry_terms=terms,
        library_matches=bool(np.array_equal(library.numpy()[0, 0], out)),
        sobel_cross_correlation=scratch.convolve2d(TEXTBOOK_IMAGE, sobel),
        sobel_convolution=scratch.convolve2d(TEXTBOOK_IMAGE, sobel[::-1, ::-1]),
    )


# --------------------------------------------------------------------------- the flip


class FlippedConv2d(nn.Conv2d):
    """A true convolution (kernel flipped before sliding), to compare with cross-correlation."""

    def forward(self, x: Any) -> Tensor:
        return F.conv2d(x, self.weight[:, :, ::-1, ::-1], self.bias, self.stride, self.padding)


@dataclass
class FlipResult(Result):
    samples: int
    epochs: int
    accuracy_cross_correlation: float
    accuracy_convolution: float
    max_kernel_difference: float  # |learned conv kernel flipped − learned cross-corr kernel|
    max_output_difference: float  # the two trained models' logits on the test images


def _as_true_convolution(model: nn.Sequential) -> nn.Sequential:
    """``model`` with every Conv2d replaced by a FlippedConv2d holding the flipped kernels.

    The other layers are taken over as they are (not copied).
    """
    layers = []
    for layer in model:
        if isinstance(layer, nn.Conv2d):
            flipped = FlippedConv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                    padding=layer.padding)  # fmt: skip
            flipped.weight.data[...] = layer.weight.data[:, :, ::-1, ::-1]
            flipped.bias.data[...] = layer.bias.data
            layer = flipped
        layers.append(layer)
    return nn.Sequential(*layers)


def flipped_kernel_training(scale: str = "full", seed: int = 0) -> FlipResult:
    """Train one CNN with cross-correlation and one with true convolution from the same start.

    The convolution network starts from the flipped kernels, so both compute the
    same function; training keeps it that way: the learned kernels are flips of
    each other and the accuracies agree. The flip is a re-labelling of the weights.
    """
    check_scale(scale, "flipped_kernel_training")
    n, epochs = pick(scale, (6000, 2), (300, 1))
    x, y = images("fashion-mnist", "train", n, seed)
    x_test, y_test = images("fashion-mnist", "test", pick(scale, 2000, 200), seed)
    seeded(seed)
    xcorr = small_cnn()
    seeded(seed)
    conv = _as_true_convolution(small_cnn())  # its own copy of the same initial weights
    seeded(seed)
    fit_quietly(xcorr, x, y, epochs)
    seeded(seed)  # same shuffling
    fit_quietly(conv, x, y, epochs)
    kernel_diff = max(
        float(np.abs(a.weight.data[:, :, ::-1, ::-1] - b.weight.data).max())
        for a, b in zip(conv, xcorr, strict=True)
        if isinstance(a, nn.Conv2d)
    )
    out_diff = float(np.abs(forward(xcorr, x_test) - forward(conv, x_test)).max())
    return FlipResult(
        samples=n,
        epochs=epochs,
        accuracy_cross_correlation=accuracy(xcorr, x_test, y_test),
        accuracy_convolution=accuracy(conv, x_test, y_test),
        max_kernel_difference=kernel_diff,
        max_output_difference=out_diff,
    )


# --------------------------------------------------------------------------- Toeplitz


def doubly_block_toeplitz(kernel: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """The matrix ``M`` with ``M @ x.ravel() == valid cross-correlation of x with kernel``.

    Row ``(y, x)`` (an output pixel) holds ``kernel[i, j]`` in column ``(y + i, x + j)``.
    Seen as an ``OH × H`` grid of ``OW × W`` blocks, block ``(y, r)`` depends only on
    ``r − y`` (block Toeplitz) and is itself a Toeplitz matrix built from kernel row
    ``r − y`` (zero unless ``0 ≤ r − y < KH``): doubly block Toeplitz.

    Shape:
        ``(OH·OW, H·W)`` with ``OH = H − KH + 1``, ``OW = W − KW + 1``.

    >>> doubly_block_toeplitz(np.array([[1.0, 2.0]]), (1, 3))
    array([[1., 2., 0.],
           [0., 1., 2.]])
    """
    k_h, k_w = kernel.shape
    h, w = input_size
    out_h, out_w = h - k_h + 1, w - k_w + 1
    matrix = np.zeros((out_h, out_w, h, w), dtype=kernel.dtype)  # (OH, OW, H, W)
    ys, xs = np.meshgrid(np.arange(out_h), np.arange(out_w), indexing="ij")
    for i in range(k_h):
        for j in range(k_w):
            matrix[ys, xs, ys + i, xs + j] = kernel[i, j]
    return matrix.reshape(out_h * out_w, h * w)  # (OH·OW, H·W)


@dataclass
class ToeplitzResult(Result):
    input_size: tuple[int, int]
    kernel_size: tuple[int, int]
    matrix_shape: tuple[int, int]
    nonzeros: int
    density: float
    max_difference: float  # |M x − F.conv2d(x)| on a real image
    block_toeplitz: bool  # block (y, r) depends only on r − y
    blocks_toeplitz: bool  # every block is constant along its diagonals


def _is_toeplitz(block: np.ndarray) -> bool:
    return bool(np.array_equal(block[1:, 1:], block[:-1, :-1]))


def toeplitz_matrix(scale: str = "full", seed: int = 0) -> ToeplitzResult:
    """Convolution as a sparse matrix product on a real image, compared with ``F.conv2d``."""
    check_scale(scale, "toeplitz_matrix")
    x, _ = images("fashion-mnist", "test", 1, seed)
    image = x[0, 0]
    kernel = np.random.default_rng(seed).standard_normal((3, 3)).astype(np.float32)
    matrix = doubly_block_toeplitz(kernel, image.shape)
    out_h, out_w = image.shape[0] - 2, image.shape[1] - 2
    by_matrix = (matrix @ image.ravel()).reshape(out_h, out_w)
    library = F.conv2d(Tensor(image[None, None]), Tensor(kernel[None, None])).numpy()[0, 0]
    blocks = matrix.reshape(out_h, out_w, *image.shape).transpose(0, 2, 1, 3)  # (OH, H, OW, W)
    block_toeplitz = all(
        np.array_equal(blocks[y, r], blocks[y + 1, r + 1])
        for y in range(out_h - 1)
        for r in range(image.shape[0] - 1)
    )
    blocks_toeplitz = all(
        _is_toeplitz(blocks[y, r]) for y in range(out_h) for r in range(image.shape[0])
    )
    nonzeros = int(np.count_nonzero(matrix))
    figure = _toeplitz_figure(kernel)
    return ToeplitzResult(
        input_size=image.shape,
        kernel_size=kernel.shape,
        matrix_shape=matrix.shape,
        nonzeros=nonzeros,
        density=nonzeros / matrix.size,
        max_difference=float(np.abs(by_matrix - library).max()),
        block_toeplitz=block_toeplitz,
        blocks_toeplitz=blocks_toeplitz,
        figure=figure,
    )


def _toeplitz_figure(kernel: np.ndarray) -> Any:
    """The matrix for a 6×6 input, small enough to see its block structure."""
    from convscope.viz._mpl import new_figure

    small = doubly_block_toeplitz(np.arange(1, 10, dtype=np.float32).reshape(3, 3), (6, 6))
    fig = new_figure(7.0, 2.6)
    ax = fig.add_subplot(1, 1, 1)
    shown = np.where(small == 0, np.nan, small)
    ax.imshow(shown, cmap="viridis", interpolation="nearest")
    for r in range(0, 36, 6):
        ax.axvline(r - 0.5, color="0.7", lw=0.5)
    for r in range(0, 16, 4):
        ax.axhline(r - 0.5, color="0.7", lw=0.5)
    ax.set_title("3×3 kernel (entries 1…9) on a 6×6 input: a 16×36 doubly block Toeplitz matrix")
    ax.set_xlabel("input pixel (6 blocks of 6)")
    ax.set_ylabel("output pixel")
    return fig
