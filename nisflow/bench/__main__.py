"""``python -m nisflow.bench ...`` is ``nisflow bench ...``."""

from __future__ import annotations

import sys

from nisflow.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
