"""matplotlib stays optional and out of the way: lazy import, no backend chosen."""

import os
import subprocess
import sys
import textwrap


def run(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY")}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_convscope_does_not_import_matplotlib():
    out = run("""
        import sys
        import convscope
        print("matplotlib" in sys.modules)
        import convscope.viz
        print("matplotlib" in sys.modules)
    """)
    assert out.split() == ["False", "False"]


def test_headless_script_saves_without_choosing_a_backend(tmp_path):
    # A display that does not exist: a GUI backend would fail to start.
    out = run(
        f"""
        import sys
        from convscope import viz
        viz.plot_history({{"loss": [1.0, 0.5]}}, save={str(tmp_path / "c.png")!r})
        print("matplotlib" in sys.modules, "matplotlib.pyplot" in sys.modules)
    """,
        DISPLAY=":4321",
    )
    assert out.split() == ["True", "False"]
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_figures_stay_out_of_pyplot_and_close_nothing():
    out = run(
        """
        import matplotlib.pyplot as plt
        from convscope import viz
        mine = plt.figure()
        fig = viz.plot_filters([[[[1.0, -1.0]]]])
        print(plt.get_fignums(), plt.gcf() is mine, fig.canvas.manager is None)
    """,
        MPLBACKEND="Agg",
    )
    assert out.split() == ["[1]", "True", "True"]
