"""`make bench`: run every benchmark script in this folder, one after the other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OWN_TARGET = {"run.py", "reliability.py"}  # reliability.py is `make reliability`


def main() -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if p.name not in OWN_TARGET and not p.name.startswith("_"))
    failed = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        failed += subprocess.run([sys.executable, str(script)]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
