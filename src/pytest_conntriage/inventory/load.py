"""load_inventories: files on disk → one validated, merged, frozen Inventory."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from .build import FileSpec, build
from .errors import InventoryError
from .interpolate import interpolate
from .merge import merge
from .model import Inventory
from .schema import validate
from .yaml_marks import load_document


def load_inventories(paths: Sequence[str], environ: Mapping[str, str] | None = None) -> Inventory:
    """Load, validate and merge the inventory files at `paths`, in order.

    `${VAR}` and `${VAR:-default}` in values are taken from `environ` (default:
    os.environ). Raises InventoryError, naming `file:line:column`, for the first mistake.
    A path given twice is read once.
    """
    env = os.environ if environ is None else environ
    unique: dict[str, str] = {}
    for path in paths:
        unique.setdefault(os.path.realpath(path), path)
    return merge([load_file(path, env) for path in unique.values()])


def load_file(path: str, environ: Mapping[str, str]) -> FileSpec:
    """One inventory file, validated but not merged: its references are not checked yet."""
    document = load_document(_read(path), path, lambda text: _interpolate(text, environ))
    if document.data is None:
        raise InventoryError(path, "the file is empty; an inventory starts with 'version: 1'")
    validate(document)
    return build(document)


def _interpolate(text: str, environ: Mapping[str, str]) -> tuple[str, bool]:
    result = interpolate(text, environ)
    return result.text, result.whole


def _read(path: str) -> str:
    try:
        # utf-8-sig: a byte order mark some Windows editors add is not part of the YAML.
        with open(path, encoding="utf-8-sig") as file:
            return file.read()
    except UnicodeDecodeError as exc:
        raise InventoryError(
            path, f"cannot read inventory: not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None
    except OSError as exc:
        raise InventoryError(path, f"cannot read inventory: {exc.strerror or exc}") from None
