"""Kill rate per module of the last ``mutmut run`` (read from ``mutants/**/*.py.meta``).

    python scripts/mutation_report.py [ROOT] [--sample PATTERN ...] [--markdown]

A mutant counts as *killed* when a test failed (or it timed out: the mutation made
the code hang, which the suite noticed), *survived* when every test passed, *no
tests* when no selected test reaches its function, and *pending* when it has not
run yet. Kill rate = killed / (killed + survived + timeout); pending and untested
mutants are listed but not in the rate. ``--sample`` keeps only the mutants whose
name matches one of the fnmatch patterns (the deterministic sample a partial run
used, e.g. ``'*__mutmut_*[05]'`` for numbers ending in 0 or 5).
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
import json
import pathlib

# mutmut's exit codes: 1 a test failed; 0 all passed; 33 no tests; 34 skipped;
# 36 / -24 / 24 timeout; None not run yet; anything else (a crash, e.g. -11) kills.
STATUS = {1: "killed", 0: "survived", 33: "no tests", 34: "skipped", None: "pending"}
TIMEOUT = {36, 24, -24}


def status(code: int | None) -> str:
    if code in TIMEOUT:
        return "timeout"
    return STATUS.get(code, "killed")


def tally(root: pathlib.Path, patterns: list[str]) -> list[tuple[str, collections.Counter]]:
    rows = []
    for meta in sorted((root / "mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if patterns:
            codes = {k: v for k, v in codes.items() if any(fnmatch.fnmatch(k, p) for p in patterns)}
        if codes:
            module = str(meta.relative_to(root / "mutants"))[: -len(".meta")]
            rows.append((module, collections.Counter(status(v) for v in codes.values())))
    return rows


def kill_rate(c: collections.Counter) -> float | None:
    tested = c["killed"] + c["survived"] + c["timeout"]
    return None if not tested else (c["killed"] + c["timeout"]) / tested


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default=".", help="folder holding mutants/")
    parser.add_argument("--sample", nargs="*", default=[], help="fnmatch patterns of names")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    rows = tally(pathlib.Path(args.root), args.sample)
    total: collections.Counter = sum((c for _, c in rows), collections.Counter())
    columns = ["killed", "timeout", "survived", "no tests", "pending"]
    lines = []
    for module, c in [*rows, ("all", total)]:
        rate = kill_rate(c)
        cells = [module, f"{sum(c.values())}", *(str(c[k]) for k in columns)]
        cells.append("-" if rate is None else f"{rate:.1%}")
        lines.append(cells)
    header = ["module", "mutants", *columns, "kill rate"]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for cells in lines:
            print("| " + " | ".join(cells) + " |")
        return
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    for cells in [header, *lines]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
            )
        )


if __name__ == "__main__":
    main()
