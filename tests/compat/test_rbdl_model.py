"""Dense, losses, Model.train, optimizers and save/load, against the installed originals."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convscope as cs
from compat.originals import VERSIONS, load_original
from convscope.compat import rbdl
from convscope.compat.rbdl import (
    Convo2D,
    Dense,
    Dropout,
    Layer,
    MaxPooling,
    Model,
    Reshape,
    Values,
    getModelSave,
    l1_reg,
    l2_reg,
    modelLoadParams,
    mse_loss,
)
from oracle import check_grad

rng = np.random.default_rng(0)
X = rng.standard_normal((6, 5))
Y = np.eye(3)[[0, 1, 2, 1, 0, 2]]


def _copy_params(theirs, ours):
    """Give ``ours`` the parameters of the original ``theirs`` (works for both versions)."""
    ours.set_params([p.vals.copy() for p in theirs.params()])


@pytest.mark.parametrize("version", VERSIONS)
def test_dense_equals_original(version):
    R = load_original(version)
    theirs = R.Dense(3, 5, 4, 3, activ="relu", f_activ="softmax")
    ours = Dense(3, 5, 4, 3, activ="relu", f_activ="softmax")
    assert [p.shape for p in ours.params()] == [p.vals.shape for p in theirs.params()]
    _copy_params(theirs, ours)
    np.testing.assert_allclose(ours(X).vals, theirs(R.Values(X)).vals)


def test_dense_gradients_pass_finite_differences():
    dense = Dense(2, 5, 4, 3, activ="tanh", f_activ="softmax")
    arrays = [p.vals for p in dense.params()]

    def f(x, *params):
        dense.set_params([Values(p) for p in params])
        return dense(Values(x)).tensor

    check_grad(f, X, *arrays)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("loss", ["mse_loss", "cross_entropy_loss"])
def test_losses_equal_original_and_pass_finite_differences(version, loss):
    R = load_original(version)
    probabilities = rng.dirichlet(np.ones(3), size=6)
    ours = getattr(rbdl, loss)(Y, Values(probabilities)).vals
    np.testing.assert_allclose(ours, getattr(R, loss)(R.Values(Y), R.Values(probabilities)).vals)
    check_grad(lambda p: getattr(rbdl, loss)(Y, Values(p)).tensor, probabilities)


def test_penalties_are_lambda_times_the_weight_norms():
    model = Model([Convo2D(np.ones((2, 2))), Layer(5, 4), Dense(2, 4, 3, 2)])
    weights = [model.blocks.arr[1].weights.vals] + [
        p.vals for p in model.blocks.arr[2].params()[::2]
    ]
    loss = Values(np.array(1.5))
    expected_l2 = 1.5 + 0.1 * sum((w**2).sum() for w in weights)
    expected_l1 = 1.5 + 0.1 * sum(np.abs(w).sum() for w in weights)
    np.testing.assert_allclose(l2_reg(loss, model, 0.1).vals, expected_l2)
    np.testing.assert_allclose(l1_reg(loss, model, 0.1).vals, expected_l1)


def _twin_models(R, optimizer_name, *args):
    theirs = R.Model(
        [R.Dense(2, 5, 4, 3, activ="relu", f_activ="softmax")],
        optimizer=getattr(R, optimizer_name)(*args),
    )
    ours = Model(
        [Dense(2, 5, 4, 3, activ="relu", f_activ="softmax")],
        optimizer=getattr(rbdl, optimizer_name)(*args),
    )
    ours.set_params([p.vals.copy() for p in theirs.blocks.params()])
    return theirs, ours


OPTIMIZERS = [
    ("Optimizer",),
    ("Optim_SGD_Momentum", 0.9),
    ("Optim_AdaGrad",),
    ("Optim_RMSPropclass", 0.9),
    ("Optim_Adam", 0.9, 0.999),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_training_records_and_steps_like_the_original(version, optimizer, capsys):
    theirs, ours = _twin_models(load_original(version), *optimizer)
    for model in (theirs, ours):
        model.train(5, X, Y, X[:3], Y[:3], l_rate=0.05, val_run=2)
        model.train(2, X, Y, X[:3], Y[:3], l_rate=0.05)  # a second call continues the count
    for ours_log, theirs_log in (
        (ours.train_loss, theirs.train_loss),
        (ours.val_loss, theirs.val_loss),
    ):
        assert [e for e, _ in ours_log] == [e for e, _ in theirs_log]
        np.testing.assert_allclose([v for _, v in ours_log], [v for _, v in theirs_log], rtol=1e-9)
    for o, t in zip(ours.blocks.params(), theirs.blocks.params()):
        np.testing.assert_allclose(o.vals, t.vals, rtol=1e-9)
    assert "val loss" in capsys.readouterr().out


def test_batches_are_recorded_at_fractional_epochs():
    model = Model([Dense(1, 5, 4, 3, f_activ="softmax")])
    model.train(2, X, Y, X, Y, batch_size=4, verbose=0)
    assert [e for e, _ in model.train_loss] == [0.0, 0.5, 1.0, 1.5]
    assert [e for e, _ in model.val_loss] == [0, 1, 2]


def test_optim_sgd_moves_the_rate_linearly_to_its_final_value():
    """The original raises AttributeError here (it stores `finitter`, reads `finitters`)."""
    w = Values(np.array([1.0]))
    optimizer = rbdl.Optim_SGD(2, 0.0)
    steps = []
    for _ in range(3):
        (w * 1.0).sum().backward()  # gradient 1
        before = w.vals.copy()
        optimizer.step([w], 0.5)
        steps.append(float(before[0] - w.vals[0]))
    assert steps == [0.25, 0.0, 0.0]  # rates 0.5·(1 - 1/2), then the final rate 0
    with pytest.raises(AttributeError):
        load_original("1.0.5").Optim_SGD(2, 0.0).step([], 0.5)


def test_problem_set_cell_reduces_its_loss():
    image = np.array(
        [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
        dtype=float,
    )
    kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=float)
    target = MaxPooling((2, 2))(Convo2D(kernel)(image)).vals  # [[4, 4], [4, 4]]
    cs.manual_seed(0)
    kernel = cs.generator().standard_normal((3, 3)) * 0.1
    model = Model([Convo2D(kernel), MaxPooling((2, 2))], loss_fn=mse_loss)
    model.train(20, image, target, image, target, verbose=0)
    losses = [float(v) for _, v in model.train_loss]
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 0.05 * losses[0]  # 14.4 -> 0.18


def _digits(n_train, n_val):
    train = cs.data.load_dataset("mnist-5k", "train")
    test = cs.data.load_dataset("mnist-5k", "test")
    i = cs.generator().permutation(len(train))[:n_train]
    j = cs.generator().permutation(len(test))[:n_val]
    flat = lambda ds, k: ds.images[k].reshape(len(k), 784) / 255.0  # noqa: E731
    return flat(train, i), np.eye(10)[train.labels[i]], flat(test, j), np.eye(10)[test.labels[j]]


def _final_study_cnn(lib, init):
    """The last CNN of the study (notebook "MNIST_Model_2_0 (Indp Study Final)")."""
    return lib.Model(
        [
            lib.Reshape((-1, 28, 28)),
            lib.Convo2D(init((5, 5))),
            lib.AvgPooling((5, 5)),
            lib.Convo2D(init((5, 5))),
            lib.AvgPooling((5, 5)),
            lib.Reshape((-1, 144)),
            lib.Dense(4, 144, 128, 10, activ="relu", f_activ="softmax"),
        ]
    )


def final_study_cnn(init):
    return _final_study_cnn(rbdl, init)


def test_final_study_cnn_learns_with_a_sensible_kernel_scale():
    cs.manual_seed(0)
    x_train, y_train, x_val, y_val = _digits(1024, 256)
    model = final_study_cnn(lambda shape: cs.generator().standard_normal(shape) * 0.3)
    model.train(5, x_train, y_train, x_val, y_val, val_run=5, l_rate=0.05, batch_size=32, verbose=0)
    accuracy = (model(x_val).vals.argmax(1) == y_val.argmax(1)).mean()
    assert accuracy > 0.5  # chance: 0.1
    assert model.val_loss[-1][1] < model.val_loss[0][1]


def test_save_json_load_round_trip():
    cs.manual_seed(0)
    model = final_study_cnn(lambda shape: cs.generator().standard_normal(shape) * 0.3)
    x = rng.random((3, 784))
    text = json.dumps(getModelSave(model))
    twin = final_study_cnn(np.zeros)
    assert modelLoadParams(json.loads(text), twin) is twin
    np.testing.assert_array_equal(twin(x).vals, model(x).vals)


def test_saves_of_the_original_load_here_and_back():
    R = load_original("1.0.5")
    kernel = rng.standard_normal((3, 3))
    theirs = R.Model(
        [R.Convo2D(kernel), R.MaxPooling((2, 2)), R.Reshape((-1, 9)), R.Dense(2, 9, 4, 3)]
    )
    ours = Model(
        [Convo2D(np.zeros((3, 3))), MaxPooling((2, 2)), Reshape((-1, 9)), Dense(2, 9, 4, 3)]
    )
    modelLoadParams(json.loads(json.dumps(R.getModelSave(theirs))), ours)
    image = rng.random((6, 6))  # one image: the original mixes the images of a batch
    np.testing.assert_allclose(ours(image).vals, theirs(image).vals)
    back = R.modelLoadParams(json.loads(json.dumps(getModelSave(ours))), theirs)
    np.testing.assert_allclose(back(image).vals, ours(image).vals)


def test_final_study_cnn_with_the_originals_weights_gives_its_outputs():
    R = load_original("1.0.5")
    theirs = _final_study_cnn(R, lambda shape: rng.standard_normal(shape) * 0.3)
    ours = final_study_cnn(np.zeros)
    modelLoadParams(json.loads(json.dumps(R.getModelSave(theirs))), ours)
    digit = rng.random((1, 784))  # one image: the original mixes the images of a batch
    np.testing.assert_allclose(ours(digit).vals, theirs(digit).vals, rtol=1e-9)


def test_set_params_refuses_what_does_not_fit():
    model = Model([Convo2D(np.zeros((3, 3))), Reshape((-1, 9)), Dense(1, 9, 1, 2)])
    with pytest.raises(ValueError, match="expected 3 parameter arrays .*; received 2"):
        modelLoadParams([np.zeros((3, 3)), np.zeros((9, 2))], model)
    with pytest.raises(ValueError, match=r"kernel of shape \(3, 3\); received shape \(5, 5\)"):
        modelLoadParams([np.zeros((5, 5)), np.zeros((9, 2)), np.zeros((1, 2))], model)


def test_dropout_only_while_training():
    layer = Dropout(1000, 0.25)
    x = Values(np.ones((4, 1000)))
    assert layer(x) is x
    layer.inTrain = True
    out = layer(x).vals
    assert set(np.unique(out)) == {0.0, 1 / 0.75}
    assert 0.2 < (out == 0).mean() < 0.3
    assert len({row.tobytes() for row in out == 0}) == 4  # each image its own mask
    with pytest.raises(ValueError, match=r"last dimension is 1000; received shape \(2, 3\)"):
        layer(np.ones((2, 3)))


def test_layer_errors_name_the_accepted_values():
    with pytest.raises(
        ValueError, match="activ to be one of '_', 'relu'.*received activ='sigmoid'"
    ):
        Layer(3, 2, "sigmoid")
    with pytest.raises(ValueError, match="layNum >= 1 layers; received layNum=0"):
        Dense(0, 3, 3, 3)
    with pytest.raises(ValueError, match=r"Layer\(3, 2\) expected input of shape \(N, 3\)"):
        Layer(3, 2)(np.ones((1, 4)))


@pytest.mark.parametrize("name", sorted(rbdl.UNSUPPORTED))
def test_names_outside_the_cnn_scope_say_the_convscope_way(name):
    with pytest.raises(
        NotImplementedError, match=f"{name} is outside convscope.compat.rbdl.*convscope"
    ):
        getattr(rbdl, name)
    namespace: dict = {}
    exec("from convscope.compat.rbdl import *", namespace)  # the one-line port
    assert "Convo2D" in namespace and name not in namespace


def test_train_refuses_nonsense_counts():
    model = Model([Dense(1, 5, 4, 3, f_activ="softmax")])
    with pytest.raises(ValueError, match="integer val_run >= 1; received val_run=0"):
        model.train(1, X, Y, X, Y, val_run=0)
    with pytest.raises(ValueError, match="integer batch_size >= 1; received batch_size=0.5"):
        model.train(1, X, Y, X, Y, batch_size=0.5)
