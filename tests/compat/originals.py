"""The original rb-deeplearning-lib, loaded from `.venv/rbdl-<version>` under its own name.

`scripts/install-rbdl-originals.sh` (run by `make test`) installs 0.2.9 and 1.0.5 side by
side, in `<venv>/rbdl-<version>`. Both ship a package called `rb_deeplearning_lib`, so
each is loaded from its folder as `rbdl_original_0_2_9` / `rbdl_original_1_0_5`: its
relative imports resolve inside its own copy, and neither touches `sys.path`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

VERSIONS = ("0.2.9", "1.0.5")
ROOT = Path(sys.prefix)  # the venv running the tests, where the install script put them


def load_original(version: str) -> ModuleType:
    """Import the original package of ``version``, or skip the test saying how to install it."""
    name = "rbdl_original_" + version.replace(".", "_")
    if name in sys.modules:
        return sys.modules[name]
    package = ROOT / f"rbdl-{version}" / "rb_deeplearning_lib"
    if not (package / "__init__.py").is_file():
        pytest.skip(
            f"the original rb-deeplearning-lib {version} is not installed under {package.parent}; "
            "run scripts/install-rbdl-originals.sh (make test does)."
        )
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # 1.0.5's attention.py imports `from rb_deeplearning_lib import Values` by its absolute
    # name: point that name at this copy while it loads, then remove it again.
    previous = sys.modules.get("rb_deeplearning_lib")
    sys.modules["rb_deeplearning_lib"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        if previous is None:
            del sys.modules["rb_deeplearning_lib"]
        else:
            sys.modules["rb_deeplearning_lib"] = previous
    return module
