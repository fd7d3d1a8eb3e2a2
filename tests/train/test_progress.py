"""Progress output: silent, plain lines when not a terminal, tqdm bar in a terminal."""

import io
import sys

from convscope.train.progress import EpochProgress, format_logs

LOGS = {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.6, "lr": 0.001, "seconds": 2.0}


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def run(verbose, file):
    bar = EpochProgress(1, 3, total=200, verbose=verbose, file=file)
    for _ in range(4):
        bar.update(50, loss=0.5)
    bar.end_training()
    bar.close(LOGS)


def test_verbose_0_is_silent():
    out = FakeTerminal()
    run(0, out)
    assert out.getvalue() == ""


def test_not_a_terminal_gives_one_plain_line():
    out = io.StringIO()
    run(1, out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Epoch 2/3 - 2.0s - ")
    assert "img/s - loss: 0.5000 - accuracy: 0.7500 - val_loss: 0.6000 - lr: 0.001" in lines[0]


def test_verbose_2_plain_line_even_in_a_terminal():
    out = FakeTerminal()
    run(2, out)
    assert out.getvalue().count("\n") == 1 and "\r" not in out.getvalue()


def test_terminal_draws_a_tqdm_bar():
    out = FakeTerminal()
    run(1, out)
    text = out.getvalue()
    assert "\r" in text  # redrawn in place
    assert "Epoch 2/3" in text and "200/200" in text and "img/s" in text
    assert "val_loss: 0.6000" in text


def test_without_tqdm_falls_back_to_plain_lines(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    out = FakeTerminal()
    run(1, out)
    assert out.getvalue().startswith("Epoch 2/3 - 2.0s") and "\r" not in out.getvalue()


def test_format_logs_leaves_out_seconds():
    assert format_logs({"loss": 1.0, "seconds": 3.0}) == "loss: 1.0000"
