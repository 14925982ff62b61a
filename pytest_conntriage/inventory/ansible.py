"""Hosts and groups from an Ansible inventory (`hosts_from: {ansible: FILE}`).

The file is read by ansible-core itself: `ansible-inventory -i FILE --list`, run as
`python -m ansible.cli.inventory` with this interpreter (the ansible-core of the
`[ansible]` extra, whatever is on PATH), in a session of its own bounded by
READ_TIMEOUT_S (children.run). A child, not ansible's Python API: importing ansible
reads its configuration into module globals at import time and sets up its display and
warnings for the whole process; a child keeps all of that out of pytest, reads no user
configuration (its environment is built here, below), and is killed at its bound.

What the child reads: only `FILE` and the group_vars/host_vars beside it, with the ini
and yaml inventory plugins alone (no script, no cloud plugin: nothing is executed or
connected to), an empty ansible.cfg of ours (never ~/.ansible.cfg, ./ansible.cfg or
/etc/ansible), no vault password (a vault-encrypted value stays encrypted and is never
used or shown), stdin closed (no prompt), a temporary ANSIBLE_HOME removed afterwards.

`hosts()` maps the listing (pure, from plain data) to testinfra host specs.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .. import children
from . import hostspec

# Seconds ansible-inventory may take: its start-up alone is ~1 s on a loaded machine.
READ_TIMEOUT_S = 60.0
# The listing is read whole; an inventory this large is not a host list.
MAX_LISTING_BYTES = 64 * 1024 * 1024
INSTALL_HINT = "pip install 'pytest-conntriage[ansible]'"
# Variables that carry secrets: never in a host spec's text unless testinfra needs it
# (ansible_password goes into the spec, where hostspec masks it), never in a message.
SECRET_VARIABLES = frozenset(
    {
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_ssh_password",
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_ssh_private_key_passphrase",
        "ansible_sudo_pass",
        "ansible_su_pass",
    }
)
_PASSWORD_VARIABLES = ("ansible_password", "ansible_ssh_pass", "ansible_ssh_password")
# ansible_connection → testinfra backend. Plugins' full names too.
_BACKENDS = {
    "ssh": "ssh",
    "smart": "ssh",
    "paramiko": "paramiko",
    "paramiko_ssh": "paramiko",
    "local": "local",
    "docker": "docker",
    "podman": "podman",
}
_PREFIXES = ("ansible.builtin.", "ansible.netcommon.", "community.docker.", "containers.podman.")
_TRUE = frozenset({"yes", "on", "1", "true", "y", "t"})
_FALSE = frozenset({"no", "off", "0", "false", "n", "f", ""})
# In a message from ansible: `key=value` or `key: value` of a secret-looking key.
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b[\w.-]*(?:pass|secret|token|vault)[\w.-]*['\"]?\s*[=:]\s*['\"]?([^\s'\",}]+)"
)
_VAULT_BLOCK = re.compile(r"\$ANSIBLE_VAULT;[^\n]*(?:\n\s*[0-9a-fA-F]+)*")


class AnsibleError(Exception):
    """The Ansible inventory could not be read; the message shows no secret."""


@dataclass(frozen=True)
class AnsibleHost:
    """One Ansible host as a testinfra host spec."""

    name: str
    connection: str
    sudo: bool


@dataclass(frozen=True)
class AnsibleInventory:
    """Ansible's hosts in its order, and every group's hosts (children included)."""

    hosts: tuple[AnsibleHost, ...]
    groups: Mapping[str, tuple[str, ...]]
    notes: tuple[str, ...] = ()  # what was left out and why (vaulted passwords), no secret


def to_data(read: AnsibleInventory) -> dict[str, Any]:
    """`read` as plain data, for an xdist worker (which then reads what its controller
    read, not the file again: the same hosts and ids, and no ansible start-up each)."""
    return {
        "hosts": [[h.name, h.connection, h.sudo] for h in read.hosts],
        "groups": {name: list(members) for name, members in read.groups.items()},
        "notes": list(read.notes),
    }


def from_data(data: Mapping[str, Any]) -> AnsibleInventory:
    """The AnsibleInventory `to_data` gave."""
    return AnsibleInventory(
        tuple(AnsibleHost(str(n), str(c), bool(s)) for n, c, s in data["hosts"]),
        {str(name): tuple(members) for name, members in data["groups"].items()},
        tuple(data["notes"]),
    )


def installed() -> bool:
    """Whether ansible-core can be run with this interpreter (nothing is imported: a
    submodule's spec would import the package)."""
    try:
        spec = importlib.util.find_spec("ansible")
    except (ImportError, ValueError):
        return False
    places = spec.submodule_search_locations if spec is not None else None
    return any(os.path.isfile(os.path.join(p, "cli", "inventory.py")) for p in places or ())


def read(path: str, timeout: float = READ_TIMEOUT_S) -> AnsibleInventory:
    """The hosts and groups of the Ansible inventory at `path`. Raises AnsibleError."""
    if not installed():
        raise AnsibleError(f"reading an Ansible inventory needs ansible-core: {INSTALL_HINT}")
    if not os.path.isfile(path):
        raise AnsibleError(f"no Ansible inventory file at {path}")
    return hosts(_listing(path, timeout), path)


def _listing(path: str, timeout: float) -> Any:
    home = tempfile.mkdtemp(prefix="conntriage-ansible-")
    try:
        config = os.path.join(home, "ansible.cfg")
        with open(config, "w", encoding="utf-8"):
            pass
        argv = [sys.executable, "-m", "ansible.cli.inventory", "--list", "-i", path]
        done = children.run(argv, timeout, env=child_environment(home, config), cwd=home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    secrets = _file_secrets(path)
    if done.timed_out:
        raise AnsibleError(f"ansible-inventory did not finish within {timeout:g} s")
    if done.rc != 0:
        raise AnsibleError(f"ansible-inventory cannot read it: {_why(done.stderr, secrets)}")
    if len(done.stdout) > MAX_LISTING_BYTES:
        raise AnsibleError("ansible-inventory listed more than 64 MB: not a host list")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AnsibleError("ansible-inventory did not print a JSON listing") from None


def child_environment(home: str, config: str) -> dict[str, str]:
    """The environment of ansible-inventory: none of the user's ANSIBLE_* settings (a
    vault password file, another config, other inventory plugins), HOME and every
    ansible directory in `home`, the listing plugins limited to ini and yaml."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "VIRTUAL_ENV")
    }
    return {
        **kept,
        "HOME": home,
        "ANSIBLE_CONFIG": config,
        "ANSIBLE_HOME": home,
        "ANSIBLE_LOCAL_TEMP": os.path.join(home, "tmp"),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(home, "collections"),
        "ANSIBLE_INVENTORY_ENABLED": "ini,yaml",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
        "ANSIBLE_NOCOLOR": "true",
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
        "ANSIBLE_PYTHONWARNINGS": "ignore",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _why(stderr: bytes, secrets: Iterable[str]) -> str:
    """ansible's own reason, one line, masked: its `Failed to parse` cause or `[ERROR]`."""
    text = mask(stderr.decode("utf-8", "replace"), secrets)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    chosen = [line for line in lines if line.startswith("Failed to parse inventory:")]
    chosen = chosen or [line for line in lines if line.startswith(("[ERROR]", "ERROR"))]
    chosen = chosen or lines[-1:] or ["no reason given"]
    reason = chosen[0].removeprefix("[ERROR]:").removeprefix("ERROR:").strip()
    return hostspec_printable(reason[:500])


def hostspec_printable(text: str) -> str:
    """`text` with control characters shown escaped (a message is one line)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _file_secrets(path: str) -> tuple[str, ...]:
    """Values of secret-looking keys written in the file, for masking ansible's messages
    (which may quote a line it could not parse, before any variable is known)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read(4 * 1024 * 1024)
    except OSError:
        return ()
    return tuple(m.group(1) for m in _SECRET_ASSIGNMENT.finditer(text))


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with `secrets`, secret-looking assignments and vault blocks as ***."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, hostspec.MASK)
    text = _VAULT_BLOCK.sub(hostspec.MASK, text)
    return _SECRET_ASSIGNMENT.sub(
        lambda m: m.group(0)[: m.start(1) - m.start(0)] + hostspec.MASK, text
    )


def hosts(listing: Any, source: str = "") -> AnsibleInventory:
    """Pure: `ansible-inventory --list` output → host specs and groups. Raises
    AnsibleError for what cannot become a host spec, naming the host and variable,
    never a value of a secret variable or a vaulted one."""
    if not isinstance(listing, dict):
        raise AnsibleError("ansible-inventory did not list a mapping")
    meta = listing.get("_meta")
    hostvars: Mapping[str, Any] = meta.get("hostvars", {}) if isinstance(meta, dict) else {}
    groups = _groups(listing)
    order: dict[str, None] = dict.fromkeys(groups.get("all", ()))  # ansible's own order
    for members in groups.values():
        order.update(dict.fromkeys(members))
    order.update(dict.fromkeys(hostvars))
    found: list[AnsibleHost] = []
    notes: list[str] = []
    for name in order:
        variables = hostvars.get(name, {})
        found.append(_host(name, variables if isinstance(variables, dict) else {}, notes))
    return AnsibleInventory(tuple(found), groups, tuple(notes))


def _groups(listing: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each group's hosts, its children's included, in ansible's order."""
    direct: dict[str, list[str]] = {}
    children_of: dict[str, list[str]] = {}
    for name, group in listing.items():
        if name == "_meta" or not isinstance(group, dict):
            continue
        direct[name] = [h for h in group.get("hosts", []) if isinstance(h, str)]
        children_of[name] = [c for c in group.get("children", []) if isinstance(c, str)]

    def members(name: str, seen: frozenset[str]) -> dict[str, None]:
        out = dict.fromkeys(direct.get(name, []))
        for child in children_of.get(name, []):
            if child not in seen:
                out.update(members(child, seen | {child}))
        return out

    return {name: tuple(members(name, frozenset({name}))) for name in direct}


def _host(name: str, variables: Mapping[str, Any], notes: list[str]) -> AnsibleHost:
    def text(key: str) -> str | None:
        value = variables.get(key)
        if value is None:
            return None
        if _vaulted(value):
            raise AnsibleError(
                f"host {name}: {key} is vault-encrypted; conntriage never decrypts vault"
                " values: give it in clear text or leave it out"
            )
        if isinstance(value, (dict, list)):
            raise AnsibleError(f"host {name}: {key} is not a single value")
        shown = str(value)
        if "{{" in shown or "{%" in shown:
            raise AnsibleError(
                f"host {name}: {key} is a Jinja template; conntriage does not evaluate"
                " templates: give the value itself"
            )
        return shown

    plugin = text("ansible_connection") or "ssh"
    short = next((plugin[len(p) :] for p in _PREFIXES if plugin.startswith(p)), plugin)
    backend = _BACKENDS.get(short)
    if backend is None:
        known = ", ".join(sorted(_BACKENDS))
        raise AnsibleError(f"host {name}: ansible_connection={plugin} is not supported ({known})")
    become = _boolean(name, "ansible_become", variables.get("ansible_become"))
    method = text("ansible_become_method")
    sudo = become and method in (None, "sudo", "ansible.builtin.sudo")
    if backend == "local":
        return AnsibleHost(name, "local://", sudo)
    address = text("ansible_host") or name
    if backend in ("docker", "podman"):
        user = text("ansible_user")
        at = f"{quote(user, safe='')}@" if user else ""
        return _checked(name, AnsibleHost(name, f"{backend}://{at}{address}", sudo))
    user = text("ansible_user")
    port = text("ansible_port")
    key = text("ansible_ssh_private_key_file") or text("ansible_private_key_file")
    password = None
    for variable in _PASSWORD_VARIABLES:
        value = variables.get(variable)
        if value is None:
            continue
        if _vaulted(value):
            notes.append(
                f"host {name}: {variable} is vault-encrypted and is not decrypted:"
                " connecting without a password (keys or an agent)"
            )
        elif not isinstance(value, (dict, list)):
            password = str(value)
        break
    userinfo = ""
    if user is not None:
        userinfo = quote(user, safe="")
        if password is not None:
            userinfo += ":" + quote(password, safe="")
        userinfo += "@"
    try:
        literal = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        literal = None
    shown = f"[{address}]" if literal is not None and literal.version == 6 else address
    spec = f"{backend}://{userinfo}{shown}" + (f":{port}" if port is not None else "")
    if key is not None:
        spec += "?ssh_identity_file=" + quote(os.path.expanduser(key), safe="/")
    return _checked(name, AnsibleHost(name, spec, sudo))


def _checked(name: str, host: AnsibleHost) -> AnsibleHost:
    problem = hostspec.problem(host.connection)
    if problem:
        raise AnsibleError(
            f"host {name} cannot be reached as {hostspec.masked(host.connection)}: {problem}"
        )
    return host


def _vaulted(value: Any) -> bool:
    """A value ansible lists as vault-encrypted (never decrypted here)."""
    if isinstance(value, dict):
        return "__ansible_vault" in value
    return isinstance(value, str) and value.lstrip().startswith("$ANSIBLE_VAULT;")


def _boolean(name: str, key: str, value: Any) -> bool:
    """ansible's own truth values (`yes`, `true`, `1`, `on` ...)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if _vaulted(value):
        raise AnsibleError(f"host {name}: {key} is vault-encrypted; give it in clear text")
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise AnsibleError(f"host {name}: {key}={hostspec_printable(word[:40])} is not true or false")
