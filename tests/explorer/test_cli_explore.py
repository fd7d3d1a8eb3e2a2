"""`convscope explore`: prints the URL, serves, stops cleanly on Ctrl-C; bad input is one line."""

import json
import os
import signal
import subprocess
import sys
import urllib.request

from convscope import cli


def test_explore_serves_until_ctrl_c(run_dir):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "convscope.cli", "explore", str(run_dir), "--port", "0",
               "--no-browser"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)  # fmt: skip
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line and "Ctrl-C" in line
        url = next(word for word in line.split() if word.startswith("http"))
        with urllib.request.urlopen(url + "api/info", timeout=30) as response:
            assert json.loads(response.read())["input_shape"] == [1, 28, 28]
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Stopped." in out and "Traceback" not in err


def test_bad_run_directory_is_one_line(tmp_path, capsys):
    code = cli.main(["explore", str(tmp_path / "nope"), "--no-browser"])
    err = capsys.readouterr().err
    assert code != 0
    assert "is not a run directory" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_port_in_use_is_one_line(run_dir, capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = cli.main(["explore", str(run_dir), "--port", str(port), "--no-browser"])
    err = capsys.readouterr().err
    assert code != 0 and f"Cannot listen on 127.0.0.1:{port}" in err and "--port" in err
