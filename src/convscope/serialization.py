"""Save and load state dicts and training checkpoints as safe ``.npz`` files.

A file written by :func:`save` is an ordinary NumPy ``.npz`` archive (a zip of
``.npy`` files): every array is stored under a readable flattened key such as
``model/features.0.weight``, and one extra entry, ``__convscope_header__``, holds a
UTF-8 JSON header (as a uint8 array)::

    {"format": "convscope", "version": 1, "root": <the nested structure>}

In the structure, ``None``, bools, strings, ints and finite floats appear inline;
everything else is a tagged object: ``{"$": "dict", "items": [[key, value], ...]}``
(keys keep their type, str or int, and their order), ``"list"``, ``"tuple"``,
``{"$": "array", "key": ..., "dtype": ..., "shape": ...}`` (a reference to an
archive entry), ``"scalar"`` (a NumPy scalar, stored as a 0-d array), ``"int"``
(an integer beyond 2**53, as hex text, e.g. a PCG64 RNG state) and ``"float"``
(nan, inf, -inf).

Reading uses ``np.load(path, allow_pickle=False)`` only, so loading a file from an
untrusted source never runs code; archives holding object arrays are refused.
Writing goes through :func:`convscope.io.atomic_write`: a crash mid-save leaves the
previous file intact.

**Other frameworks' files, chosen by extension.** A path ending in ``.safetensors``
holds a flat state dict in the `safetensors <https://huggingface.co/docs/safetensors>`_
format (read and written with its NumPy API, no pickle), so weights move to and from
PyTorch (``safetensors.torch.save_file(model.state_dict(), path)``) and other
frameworks. A ``.pt``/``.pth`` file is pickle-based: it is read only through
``torch.load(path, weights_only=True)`` (PyTorch's restricted unpickler, which
rebuilds tensors and containers but calls no other code), and only when PyTorch is
installed; convscope never writes one.

>>> import pathlib, tempfile
>>> import numpy as np
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ckpt.npz"
>>> save({"epoch": 3, "model": {"fc.weight": np.ones((2, 3), np.float32)}}, path)
>>> checkpoint = load(path)
>>> checkpoint["epoch"], checkpoint["model"]["fc.weight"].shape
(3, (2, 3))
>>> sorted(np.load(path).files)  # any NumPy can read the arrays
['__convscope_header__', 'model/fc.weight']
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from convscope.io import atomic_write
from convscope.tensor import Tensor

FORMAT = "convscope"
FORMAT_VERSION = 1
HEADER_KEY = "__convscope_header__"

_MAX_EXACT_INT = 2**53  # larger ints are written as hex text: JSON readers may use doubles


class CheckpointError(ValueError):
    """A file cannot be read as a convscope checkpoint; the message names file and reason."""


# --------------------------------------------------------------------------- save


def save(obj: Any, path: str | os.PathLike, *, compress: bool = False) -> None:
    """Write a (nested) state dict or checkpoint to ``path`` as an ``.npz`` file, atomically.

    Args:
        obj: a dict (or list, tuple, array, scalar) whose leaves are NumPy arrays,
            Tensors (stored as their arrays), NumPy scalars, or Python ``int`` (of
            any size), ``float``, ``bool``, ``str`` and ``None``. Dict keys must be
            ``str`` or ``int``.
        path: destination file; written exactly as named (no suffix is added). Its
            directory must exist. An existing file is replaced only once the new one
            is complete.
        compress: deflate the arrays (smaller, slower); the reader needs no flag.

    Raises:
        TypeError: a leaf or key of an unsupported type (the message gives its
            location), or an object array (it would need pickle).
        FileNotFoundError: the directory of ``path`` does not exist.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "state.npz"
    >>> save({0: {"step": 10}, "lr": 0.001}, path)
    >>> load(path)
    {0: {'step': 10}, 'lr': 0.001}
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".safetensors":
        return _save_safetensors(obj, path)
    if suffix in (".pt", ".pth"):
        raise ValueError(
            f"convscope does not write {suffix} files (they are pickles, which can run code "
            f"when loaded). Save to {Path(path).with_suffix('.safetensors')} instead: PyTorch "
            "reads it with safetensors.torch.load_file()."
        )
    encoder = _Encoder()
    root = encoder.encode(obj, [])
    header = {"format": FORMAT, "version": FORMAT_VERSION, "root": root}
    text = json.dumps(header, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    entries = {HEADER_KEY: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    entries.update(encoder.arrays)
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_write(path, "wb") as f:
        with zipfile.ZipFile(f, mode="w", compression=compression, allowZip64=True) as archive:
            for key, array in entries.items():
                with archive.open(key + ".npy", mode="w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)


class _Encoder:
    """Turns a nested structure into a JSON-able tree plus a dict of named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, value: Any, where: list[str]) -> Any:
        # NumPy scalars first: np.float64 is a subclass of float, np.str_ of str.
        if isinstance(value, np.generic):
            return self._array(np.asarray(value), where, "scalar")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            if abs(value) <= _MAX_EXACT_INT:
                return int(value)
            return {"$": "int", "hex": hex(value)}
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else {"$": "float", "value": repr(value)}
        if isinstance(value, Tensor):
            return self._array(value.data, where, "array")
        if isinstance(value, np.ndarray):
            return self._array(value, where, "array")
        if isinstance(value, dict):
            items = []
            for key, item in value.items():
                key = _check_key(key, where)
                items.append([key, self.encode(item, [*where, str(key)])])
            return {"$": "dict", "items": items}
        if isinstance(value, (list, tuple)):
            tag = "tuple" if isinstance(value, tuple) else "list"
            items = [self.encode(item, [*where, str(i)]) for i, item in enumerate(value)]
            return {"$": tag, "items": items}
        raise TypeError(
            f"save() cannot store a value of type {type(value).__name__} at {_location(where)}; "
            "expected a dict, list, tuple, NumPy array, Tensor, NumPy scalar, int, float, "
            "bool, str or None."
        )

    def _array(self, array: np.ndarray, where: list[str], tag: str) -> dict[str, Any]:
        if array.dtype.hasobject:
            raise TypeError(
                f"save() cannot store an object array at {_location(where)}: it would need "
                "pickle, which is unsafe to load. Convert it to a numeric dtype."
            )
        # Archive member names: no path separators, and no control characters (zip
        # truncates names at NUL); the header keeps the real keys.
        base = "/".join(
            "".join(c if c.isprintable() and c not in "/\\" else "_" for c in part) or "_"
            for part in where
        )
        base = base or "root"
        key, n = base, 1
        while key in self.arrays or key == HEADER_KEY:
            n += 1
            key = f"{base}~{n}"
        self.arrays[key] = array
        return {"$": tag, "key": key, "dtype": array.dtype.str, "shape": list(array.shape)}


def _check_key(key: Any, where: list[str]) -> str | int:
    if isinstance(key, (bool, np.bool_)):
        pass  # a bool is an int to Python, but would not come back as one
    elif isinstance(key, str):
        return str(key)
    elif isinstance(key, (int, np.integer)):
        return int(key)
    raise TypeError(
        f"save() expected dict keys of type str or int; received key {key!r} of type "
        f"{type(key).__name__} in {_location(where)}."
    )


def _location(where: list[str]) -> str:
    return "the top level" if not where else repr(".".join(where))


# --------------------------------------------------------------------------- load


def load(path: str | os.PathLike) -> Any:
    """Read a file written by :func:`save`, or a plain ``.npz`` of arrays.

    Returns the structure given to :func:`save`: dicts (with their str and int keys,
    in order), lists, tuples, NumPy arrays (also for saved Tensors) with their exact
    dtypes and shapes, NumPy scalars with their dtypes, and Python scalars. Dict
    subclasses such as ``OrderedDict`` come back as ``dict``.

    A plain ``.npz`` without a convscope header — e.g. PyTorch weights exported with
    ``np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})`` —
    loads as a flat dict ``{name: array}``.

    Only ``np.load(path, allow_pickle=False)`` is used: loading never runs code.

    Args:
        path: the file to read.

    Returns:
        The saved structure.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: (a ``ValueError``) the file is empty, truncated or corrupt, not
            an ``.npz`` archive, holds pickled object arrays, carries a header that
            is not convscope's or is of a newer format version, or its header refers
            to arrays the archive lacks. The message names the file.
    """
    path = Path(path)
    name = str(path)
    if path.suffix.lower() == ".safetensors":
        return _load_safetensors(path)
    if path.suffix.lower() in (".pt", ".pth"):
        return _load_torch(path)
    with open(path, "rb") as f:
        magic = f.read(6)
    if not magic:
        raise CheckpointError(f"Cannot load {name!r}: the file is empty.")
    if magic.startswith(b"\x93NUMPY"):
        raise CheckpointError(
            f"Cannot load {name!r}: it is a single-array .npy file, not an .npz archive. "
            "Read it with np.load()."
        )
    if not magic.startswith(b"PK"):
        raise CheckpointError(
            f"Cannot load {name!r}: not an .npz (zip) archive; it starts with {magic!r}."
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "pickle" in str(error):
            raise CheckpointError(
                f"Refusing to load {name!r}: it contains pickled object arrays, and "
                "unpickling an untrusted file can run arbitrary code."
            ) from error
        raise _corrupt(name, error) from error
    except Exception as error:  # zipfile.BadZipFile, OSError, EOFError, zlib.error, ...
        raise _corrupt(name, error) from error

    if HEADER_KEY not in arrays:
        return arrays  # a plain archive of named arrays
    header = _read_header(arrays.pop(HEADER_KEY), name)
    return _Decoder(arrays, name).decode(header["root"])


def _corrupt(name: str, error: Exception) -> CheckpointError:
    return CheckpointError(
        f"Cannot load {name!r}: the archive is truncated or corrupt "
        f"({type(error).__name__}: {error})."
    )


def _read_header(raw: np.ndarray, name: str) -> dict[str, Any]:
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise TypeError(f"expected a 1-d uint8 array, found {raw.dtype} of shape {raw.shape}")
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (TypeError, UnicodeDecodeError, ValueError) as error:
        raise CheckpointError(f"Cannot load {name!r}: its header is corrupt ({error}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise CheckpointError(
            f"Cannot load {name!r}: it was not written by convscope (its header names "
            f"format={found!r}; expected {FORMAT!r})."
        )
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"Cannot load {name!r}: its header has no valid format version.")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"Cannot load {name!r}: it uses checkpoint format version {version}, newer than "
            f"the version {FORMAT_VERSION} this convscope reads. Upgrade convscope."
        )
    if "root" not in header:
        raise CheckpointError(f"Cannot load {name!r}: its header is corrupt (no 'root').")
    return header


class _Decoder:
    """Rebuilds the structure from the JSON tree and the archive's arrays."""

    def __init__(self, arrays: dict[str, np.ndarray], name: str) -> None:
        self.arrays = arrays
        self.name = name

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise self._corrupt(f"unexpected {type(node).__name__} node")
        tag = node.get("$")
        try:
            if tag == "dict":
                return {self._key(k): self.decode(v) for k, v in node["items"]}
            if tag == "list":
                return [self.decode(v) for v in node["items"]]
            if tag == "tuple":
                return tuple(self.decode(v) for v in node["items"])
            if tag == "array":
                return self._array(node)
            if tag == "scalar":
                return self._array(node)[()]
            if tag == "int":
                return int(node["hex"], 16)
            if tag == "float":
                return float(node["value"])
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, CheckpointError):
                raise
            raise self._corrupt(
                f"malformed {tag!r} node ({type(error).__name__}: {error})"
            ) from None
        raise self._corrupt(f"unknown node type {tag!r}")

    def _key(self, key: Any) -> str | int:
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise self._corrupt(f"dict key {key!r} is neither str nor int")
        return key

    def _array(self, node: dict[str, Any]) -> np.ndarray:
        key = node["key"]
        if key not in self.arrays:
            raise CheckpointError(
                f"Cannot load {self.name!r}: its header refers to array {key!r}, which the "
                "archive does not contain (the file is incomplete or was altered)."
            )
        array = self.arrays[key]
        if array.dtype.str != node["dtype"] or list(array.shape) != node["shape"]:
            raise CheckpointError(
                f"Cannot load {self.name!r}: array {key!r} should be {node['dtype']} of shape "
                f"{tuple(node['shape'])}; the archive holds {array.dtype.str} of shape "
                f"{array.shape}."
            )
        return array

    def _corrupt(self, what: str) -> CheckpointError:
        return CheckpointError(f"Cannot load {self.name!r}: its header is corrupt ({what}).")


# --------------------------------------------------------------------------- other formats


def _flat_arrays(obj: Any, path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A state dict as ``{name: contiguous array}``, or TypeError for anything nested."""
    if not isinstance(obj, dict):
        raise TypeError(
            f"A .safetensors file holds a flat dict of arrays (a state dict); received "
            f"{type(obj).__name__} for {str(path)!r}. Save checkpoints as .npz."
        )
    arrays = {}
    for key, value in obj.items():
        array = value.data if isinstance(value, Tensor) else value
        if not isinstance(key, str) or not isinstance(array, (np.ndarray, np.generic)):
            raise TypeError(
                f"A .safetensors file holds a flat dict of arrays (a state dict); entry "
                f"{key!r} is {type(value).__name__}. Save nested checkpoints as .npz."
            )
        arrays[key] = np.require(array, requirements="C")  # keeps 0-d buffers 0-d
    return arrays


def _save_safetensors(obj: Any, path: str | os.PathLike) -> None:
    numpy_format = _require_package("safetensors.numpy", "safetensors", path)
    data = numpy_format.save(_flat_arrays(obj, path), metadata={"format": "np"})
    with atomic_write(path, "wb") as f:
        f.write(data)


def _load_safetensors(path: Path) -> dict[str, np.ndarray]:
    numpy_format = _require_package("safetensors.numpy", "safetensors", path)
    data = path.read_bytes()  # FileNotFoundError names the path
    try:
        return dict(numpy_format.load(data))
    except Exception as error:  # safetensors_rust.SafetensorError: header or sizes wrong
        raise CheckpointError(
            f"Cannot load {str(path)!r} as safetensors: {type(error).__name__}: {error}."
        ) from error


def _load_torch(path: Path) -> Any:
    """A ``.pt``/``.pth`` file read by ``torch.load(weights_only=True)``, tensors as arrays."""
    try:
        import torch
    except ImportError:
        raise CheckpointError(
            f"Refusing to load {str(path)!r}: .pt/.pth files are pickles, read safely only by "
            "PyTorch's torch.load(weights_only=True), and PyTorch is not installed. Save the "
            "weights as safetensors instead — in PyTorch: safetensors.torch.save_file("
            "model.state_dict(), 'model.safetensors') — and load that file."
        ) from None
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {str(path)!r}.")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle.UnpicklingError for anything beyond plain weights
        raise CheckpointError(
            f"Cannot load {str(path)!r} with torch.load(weights_only=True): "
            f"{type(error).__name__}: {error}"
        ) from error

    def to_numpy(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().numpy().copy()
        if isinstance(value, dict):
            return {k: to_numpy(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(to_numpy(v) for v in value)
        return value

    return to_numpy(obj)


def _require_package(module: str, package: str, path: str | os.PathLike) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"Reading or writing {str(path)!r} needs the '{package}' package: "
            f"pip install {package} (or pip install 'convscope[onnx]')."
        ) from None
