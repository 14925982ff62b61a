"""testinfra host specs: what testinfra would make of one, checked before anything runs,
and shown with its secrets masked.

A host spec reaches local programs' argv (`ssh -o User=%s %s`, `docker exec %s`, `sshpass
-p %s`), quoted but without a `--` testinfra never writes: a host or user beginning with
`-` would be read as an option. Query parameters testinfra converts with `int()` crash it
when the connection is opened, mid-run, with the password in the traceback. So a spec is
parsed here exactly as testinfra parses it (`testinfra.backend.parse_hostspec`, then
`BaseBackend.parse_hostspec`), and everything that could go wrong is said at load time,
with no password in the message.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlparse

if TYPE_CHECKING:
    from ..marked_yaml import Document

# Query parameters testinfra reads (testinfra.backend.parse_hostspec); it ignores others
# silently, so a typo would quietly change nothing.
_FLAGS = ("sudo", "ssl", "no_ssl", "no_verify_ssl", "force_ansible")
_INTEGERS = ("timeout", "controlpersist", "read_timeout_sec", "operation_timeout_sec")
_TEXTS = ("sudo_user", "namespace", "container", "kubeconfig", "context")
_PATHS = ("ssh_config", "ansible_inventory", "ssh_identity_file")
KNOWN_PARAMETERS = (*_FLAGS, *_INTEGERS, *_TEXTS, *_PATHS)
# Query parameters whose values are secrets, should anyone write one (testinfra reads
# none of them, so they are rejected as unknown; the message still must not show them).
_SECRET_PARAMETERS = frozenset({"password", "passphrase", "ssh_password", "winrm_password"})
# Backends whose host part is `user:password@host:port` (BaseBackend.parse_hostspec).
_LOGIN_BACKENDS = frozenset({"ssh", "safe-ssh", "paramiko", "winrm"})
# Backends that need no host part at all.
_HOSTLESS = frozenset({"local"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BLANK_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
MASK = "***"


@dataclass(frozen=True)
class HostSpec:
    """A host spec as testinfra reads it."""

    connection: str  # the backend: "ssh", "paramiko" (testinfra's default), ...
    name: str  # the host, container or pattern, percent-decoded
    user: str | None
    password: str | None
    port: str | None
    query: tuple[tuple[str, str], ...]
    extra: str  # a path or fragment after the host part, which testinfra ignores


def parse(spec: str) -> HostSpec:
    """`spec` split as testinfra splits it. Raises ValueError (with no secret in it) for
    what `urllib.parse` cannot split, such as an unclosed `[` of an IPv6 address."""
    if "://" in spec:
        try:
            url = urlparse(spec)
        except ValueError:
            raise ValueError("it cannot be read as a URL (an unclosed '[' ?)") from None
        connection, host = url.scheme, url.netloc
        query = tuple(parse_qsl(url.query, keep_blank_values=True))
        extra = url.path + (f"#{url.fragment}" if url.fragment else "")
        if url.params:
            extra = f"{url.path};{url.params}"
    else:
        connection, host, query, extra = "paramiko", spec, (), ""
    user = password = port = None
    if connection in _LOGIN_BACKENDS or "://" not in spec:
        name = host
        if "@" in name:
            user, name = name.split("@", 1)
            if ":" in user:
                user, password = user.split(":", 1)
        if name.startswith("["):
            inside, _, after = name.partition("]")
            name = inside[1:]
            port = after[1:] if after.startswith(":") else None
        elif ":" in name:
            name, port = name.split(":", 1)
    elif "@" in host:  # docker://user@container, podman://user@container
        user, name = host.split("@", 1)
    else:
        name = host
    return HostSpec(
        connection=connection,
        name=unquote(name),
        user=None if user is None else unquote(user),
        password=None if password is None else unquote(password),
        port=port,
        query=query,
        extra=extra,
    )


def problem(spec: str) -> str | None:
    """Why testinfra could not use `spec` safely, or None. The text never quotes the
    password: only the part at fault, and the spec as `masked` shows it."""
    if _CONTROL.search(spec):
        return "a host spec cannot contain control characters"
    try:
        parsed = parse(spec)
    except ValueError as exc:
        return str(exc)
    login = parsed.connection in _LOGIN_BACKENDS
    host_part = spec.partition("://")[2] if "://" in spec else spec
    if login or "://" not in spec:
        netloc = re.split(r"[/?#]", host_part, maxsplit=1)[0]
        if parsed.extra:
            return (
                "nothing may follow the host but ?parameters: write '/', '?', '#' and '@'"
                " in a password as %2F, %3F, %23 and %40"
            )
        if netloc.count("@") > 1:
            return "write '@' in a user name or password as %40: testinfra splits at the first"
    if parsed.connection not in _HOSTLESS:
        if not parsed.name:
            return f"a {parsed.connection}:// host spec needs a host (e.g. ssh://user@host)"
        if parsed.name.startswith("-"):
            return f"the host '{parsed.name}' begins with '-': it would be read as an option"
        if _BLANK_OR_CONTROL.search(parsed.name):
            return f"the host {parsed.name!r} contains a space or control character"
    if parsed.user is not None:
        if parsed.user.startswith("-"):
            return f"the user '{parsed.user}' begins with '-': it would be read as an option"
        if not parsed.user or _BLANK_OR_CONTROL.search(parsed.user):
            return f"the user {parsed.user!r} is empty or contains a space or control character"
    if parsed.port is not None and not (
        re.fullmatch(r"[0-9]{1,5}", parsed.port) and 1 <= int(parsed.port) <= 65535
    ):
        return f"the port '{parsed.port}' is not a number in 1-65535"
    return _query_problem(parsed.query)


def _query_problem(query: tuple[tuple[str, str], ...]) -> str | None:
    seen: set[str] = set()
    for key, value in query:
        if key not in KNOWN_PARAMETERS:
            if key in _SECRET_PARAMETERS:
                return (
                    f"testinfra takes no '{key}' parameter: give a password as"
                    " user:password@host, or better, use keys or an agent"
                )
            close = difflib.get_close_matches(key, KNOWN_PARAMETERS, n=1)
            known = f"known: {', '.join(KNOWN_PARAMETERS)}"
            hint = f"did you mean '{close[0]}'?" if close else known
            return f"unknown parameter '{key}' ({hint})"
        if key in seen:
            return f"the parameter '{key}' is given twice"
        seen.add(key)
        if key in _INTEGERS and not re.fullmatch(r"[0-9]{1,9}", value):
            return f"the parameter {key}={value!r} must be a whole number of seconds"
        if key in _FLAGS and value.lower() not in ("true", "false"):
            return f"the parameter {key}={value!r} must be true or false"
        if value.startswith("-"):
            return f"the parameter {key}={value!r} begins with '-': it would be read as an option"
        if _CONTROL.search(value):
            return f"the parameter {key} contains a control character"
    return None


def secrets(spec: str) -> tuple[str, ...]:
    """The passwords `spec` carries, as written and as testinfra decodes them: the
    userinfo's, however it is split, and any secret-named query parameter's."""
    found: set[str] = set()
    written = _written_password(spec)
    if written:
        found.update((written, unquote(written)))
    try:
        parsed = parse(spec)
    except ValueError:
        parsed = None
    if parsed is not None and parsed.password:
        found.add(parsed.password)
    query = spec.partition("?")[2]
    for key, value in parse_qsl(query.split("#", 1)[0], keep_blank_values=True):
        if key.lower() in _SECRET_PARAMETERS and value:
            found.add(value)
    for raw_key, _, raw_value in (part.partition("=") for part in re.split(r"[&;]", query)):
        if raw_key.lower() in _SECRET_PARAMETERS and raw_value:
            found.update((raw_value, unquote(raw_value)))
    # Longest first: a password that contains another is replaced whole.
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def _written_password(spec: str) -> str | None:
    """The password as written: from the first ':' of the userinfo up to the last '@'
    (masking too much is harmless; too little is a leak)."""
    rest = spec.partition("://")[2] if "://" in spec else spec
    at = rest.rfind("@")
    if at < 0:
        return None
    userinfo = rest[:at]
    colon = userinfo.find(":")
    return userinfo[colon + 1 :] if colon >= 0 else None


def masked(spec: str) -> str:
    """`spec` safe to print: every password replaced by ***."""
    head, sep, rest = spec.partition("://")
    if not sep:
        head, rest = "", spec
    at = rest.rfind("@")
    colon = rest[:at].find(":") if at >= 0 else -1
    if colon >= 0:
        rest = rest[: colon + 1] + MASK + rest[at:]
    shown = head + sep + rest
    for secret in secrets(spec):
        shown = shown.replace(secret, MASK)
    return shown


def specs_in(document: Document) -> list[str]:
    """Every text under `hosts` in `document`, as loaded and as written before ${...}
    interpolation: what could be a host spec, whatever its shape or type."""
    found: list[str] = []
    stack = [document.data.get("hosts") if isinstance(document.data, dict) else None]
    while stack and len(found) < 100_000:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    found += [text for path, text in document.written.items() if path[:1] == ("hosts",)]
    return found


def mask_in(text: str, specs: Sequence[str]) -> str:
    """`text` with every password of `specs` replaced by ***."""
    every = sorted({s for spec in specs for s in secrets(spec)}, key=len, reverse=True)
    for secret in every:
        text = text.replace(secret, MASK)
    return text
