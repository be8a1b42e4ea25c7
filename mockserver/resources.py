"""Where the contracts and fixtures live: inside the wheel, or beside the package in a checkout."""

from __future__ import annotations

from pathlib import Path

import yaml

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"ske-sandbox data folder {name!r} is missing from the installation")


def contracts_dir() -> Path:
    return _find("contracts")


def fixtures_dir() -> Path:
    return _find("fixtures")


# libyaml's loader when PyYAML has it: the fixtures load in a tenth of the time (same documents, same values).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
