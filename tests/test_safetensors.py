"""State dicts between PyTorch and convscope: safetensors both ways, .pt read-only via torch."""

import sys

import numpy as np
import pytest
import torch

import convscope
from convscope.models import PRESETS, build_model
from convscope.serialization import CheckpointError
from torch_twin import torch_twin

safetensors_torch = pytest.importorskip("safetensors.torch")


@pytest.fixture(scope="module")
def images():
    from convscope.data import load_dataset

    for name in ("fashion-mnist", "mnist-5k"):
        try:
            return load_dataset(name, "test").images[:32].astype(np.float32) / 255
        except Exception:  # noqa: BLE001 - not on this machine: try the next one
            continue
    return np.random.default_rng(0).random((32, 1, 28, 28), dtype=np.float32)


def _torch_model(name, images):
    """The preset's twin in PyTorch, with BatchNorm running statistics from a few batches."""
    torch.manual_seed(0)
    model = torch_twin(build_model(name))
    model.train()
    with torch.no_grad():
        for batch in np.split(images, 4):
            model(torch.from_numpy(batch) * 3 - 1)  # moves running_mean/var/num_batches_tracked
    return model.eval()


def _report(label, diff):
    print(f"\n[safetensors round trip] {label}: max |Δlogit| = {diff:.3g}")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_pytorch_state_dict_loads_into_convscope(name, images, tmp_path):
    theirs = _torch_model(name, images)
    path = tmp_path / "weights.safetensors"
    safetensors_torch.save_file(theirs.state_dict(), str(path))
    ours = build_model(name)
    ours.load_state_dict(convscope.load(path))
    ours.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(images)).numpy()
    got = ours(images).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    _report(f"{name}: PyTorch → safetensors → convscope", np.abs(got - expected).max())
    for key, value in theirs.state_dict().items():  # BatchNorm buffers included
        np.testing.assert_array_equal(ours.state_dict()[key], value.numpy(), err_msg=key)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_convscope_state_dict_loads_into_pytorch(name, images, tmp_path):
    convscope.manual_seed(1)
    ours = build_model(name)
    ours.train()
    for batch in np.split(images, 4):
        ours(batch * 3 - 1)  # running statistics move away from 0 and 1
    ours.eval()
    path = tmp_path / "weights.safetensors"
    convscope.save(ours.state_dict(), path)
    theirs = torch_twin(ours)
    theirs.load_state_dict(safetensors_torch.load_file(str(path)))  # strict: same keys
    theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(images)).numpy()
    got = ours(images).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    _report(f"{name}: convscope → safetensors → PyTorch", np.abs(got - expected).max())


def test_pt_file_is_read_through_torch_weights_only(images, tmp_path):
    theirs = _torch_model("bn", images)
    path = tmp_path / "weights.pt"
    torch.save(theirs.state_dict(), path)
    ours = build_model("bn")
    ours.load_state_dict(convscope.load(path))
    ours.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(ours(images).numpy(), expected, atol=1e-5, rtol=0)


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pt_file_with_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(2), "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match=r"torch\.load\(weights_only=True\)"):
        convscope.load(path)
    assert "must never run" not in capsys.readouterr().out


def test_pt_file_without_torch_points_to_safetensors(tmp_path, monkeypatch):
    path = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, path)
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(
        CheckpointError, match="PyTorch is not installed. Save the weights as safetensors instead"
    ):
        convscope.load(path)


def test_format_errors(tmp_path):
    with pytest.raises(
        ValueError, match=r"does not write \.pt files .*/weights\.safetensors instead"
    ):
        convscope.save({"w": np.zeros(2)}, tmp_path / "weights.pt")
    with pytest.raises(TypeError, match="flat dict of arrays .* entry 'model' is dict"):
        convscope.save({"model": {"w": np.zeros(2)}}, tmp_path / "nested.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match="Cannot load .*bad.safetensors' as safetensors"):
        convscope.load(tmp_path / "bad.safetensors")
    assert not (tmp_path / "weights.pt").exists()


def test_safetensors_keeps_dtypes_and_scalar_buffers(tmp_path):
    state = {"w": np.arange(6, dtype=np.float64).reshape(2, 3), "n": np.array(7, np.int64)}
    convscope.save(state, tmp_path / "s.safetensors")
    back = convscope.load(tmp_path / "s.safetensors")
    assert back["w"].dtype == np.float64 and back["n"].shape == () and int(back["n"]) == 7
    np.testing.assert_array_equal(back["w"], state["w"])
