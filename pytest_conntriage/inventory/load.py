"""load_inventories: files on disk → one validated, merged, frozen Inventory."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..heap import collector_paused
from ..marked_yaml import (
    MAX_DOCUMENT_CHARS,
    Data,
    DocPath,
    Document,
    load_document,
)
from . import hostspec
from .build import FileSpec, build
from .errors import InventoryError
from .interpolate import interpolate
from .merge import merge
from .model import Inventory, PolicyOverride
from .schema import validate

if TYPE_CHECKING:
    from ..kinds.protocol import Kind


def load_inventories(
    paths: Sequence[str],
    environ: Mapping[str, str] | None = None,
    validated: Collection[str] = (),
    ansible_read: Mapping[str, Any] | None = None,
    overrides: Sequence[PolicyOverride] = (),
    kinds: Sequence[Kind[Any]] | None = None,
) -> Inventory:
    """Load, validate and merge the inventory files at `paths`, in order.

    The schema is the core one with each of the run's `kinds`' part joined in (None: the
    built-in kinds), and a service key a kind owns is read by that kind.

    `${VAR}` and `${VAR:-default}` in values are taken from `environ` (default:
    os.environ). Raises InventoryError, naming `file:line:column`, for the first mistake.
    A path given twice is read once.

    `validated`: digests (Inventory.digests) of documents already validated against the
    schema in this run, such as the xdist controller's; a document with the same digest
    is not validated again (0.7 s per process at 10,000 services).

    `ansible_read`: Inventory.ansible of the same files loaded in this run (the xdist
    controller's): the hosts_from files are not read again, and every worker has the
    very hosts its controller has.

    `overrides`: the run's own timeout, retries and wait, in place of `defaults:`.
    """
    env = os.environ if environ is None else environ
    unique: dict[str, str] = {}
    for path in paths:
        unique.setdefault(os.path.realpath(path), path)
    with collector_paused():
        files = [load_file(path, env, validated, ansible_read, kinds) for path in unique.values()]
        return merge(files, overrides)


def load_file(
    path: str,
    environ: Mapping[str, str],
    validated: Collection[str] = (),
    ansible_read: Mapping[str, Any] | None = None,
    kinds: Sequence[Kind[Any]] | None = None,
) -> FileSpec:
    """One inventory file, validated but not merged: its references are not checked yet."""
    return load_text(_read(path), path, environ, validated, ansible_read, kinds)


def load_text(
    text: str,
    path: str,
    environ: Mapping[str, str],
    validated: Collection[str] = (),
    ansible_read: Mapping[str, Any] | None = None,
    kinds: Sequence[Kind[Any]] | None = None,
) -> FileSpec:
    """As load_file, for the text of the file at `path` (already read)."""
    document: Document | None = None
    try:
        document = load_document(
            text,
            path,
            lambda value: _interpolate(value, environ),
            noun="an inventory",
            error_type=InventoryError,
        )
        if document.data is None:
            raise InventoryError(path, "the file is empty; an inventory starts with 'version: 1'")
        digest = _digest(text, document)
        if not digest or digest not in validated:
            validate(document, kinds)
        return replace(build(document, ansible_read, kinds), digest=digest)
    except InventoryError as exc:
        # Whatever went wrong, no message may show a host spec's password.
        error = exc if document is None else exc.masking(hostspec.specs_in(document))
    # Raised out here, with no traceback below this frame: a traceback keeps every
    # frame's locals, and from an except block it makes a cycle that only the collector
    # frees, so the whole document stayed in memory until a full pass at exit. Now it
    # is freed here.
    del document
    error.__traceback__ = error.__context__ = None
    raise error


def _digest(text: str, document: Document) -> str:
    """What the schema judged: the document's data after interpolation.

    The data is a function of the text and of the values its ${...} references took, so
    those two are hashed: cheaper than serialising the data of a large file. "" (never
    trusted) for values JSON cannot write.
    """
    substituted = [(list(path), _value_at(document.data, path)) for path in document.written]
    try:
        values = json.dumps(substituted, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        return ""
    digest = hashlib.sha256(text.encode())
    digest.update(b"\0" + values.encode())
    return digest.hexdigest()


def _value_at(data: Data, path: DocPath) -> Data:
    for part in path:
        data = data[part]  # type: ignore[index]  # the path was read from it
    return data


def _interpolate(text: str, environ: Mapping[str, str]) -> tuple[str, bool]:
    result = interpolate(text, environ)
    return result.text, result.whole


def _read(path: str) -> str:
    try:
        # utf-8-sig: a byte order mark some Windows editors add is not part of the YAML.
        with open(path, encoding="utf-8-sig") as file:
            # One character past the limit is enough to refuse a 50 MB file, unread.
            text = file.read(MAX_DOCUMENT_CHARS + 1)
    except UnicodeDecodeError as exc:
        raise InventoryError(
            path, f"cannot read inventory: not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None
    except OSError as exc:
        raise InventoryError(path, f"cannot read inventory: {exc.strerror or exc}") from None
    if len(text) > MAX_DOCUMENT_CHARS:
        raise InventoryError(
            path,
            f"the file is longer than {MAX_DOCUMENT_CHARS:,} characters, the most an inventory"
            " may have (split it into several files)",
        )
    return text
