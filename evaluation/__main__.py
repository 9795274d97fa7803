"""`make eval`: every measurement on ../shared/eval, one after the other."""

from __future__ import annotations

import importlib

SUITES = ("evaluation.tagging", "evaluation.themes", "evaluation.dedupe", "evaluation.search")


def main() -> int:
    status = 0
    for name in SUITES:
        print(f"\n=== {name.removeprefix('evaluation.')} ===")
        status |= importlib.import_module(name).main()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
