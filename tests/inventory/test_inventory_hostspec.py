"""Host specs are read as testinfra reads them, at load time: nothing that a program
could take as an option, no parameter that would crash testinfra mid-run, and no
message that shows a password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_conntriage.inventory import InventoryError, hostspec, load_inventories

SECRET = "S3cretSentinel"

# (connection as written, environment, what the one error line must say)
REJECTED = {
    "host-option": (
        "ssh://-oProxyCommand=touch$IFS.x",
        {},
        "the host '-oProxyCommand=touch$IFS.x' begins with '-'",
    ),
    "host-option-encoded": (
        "ssh://%2DoProxyCommand=x",
        {},
        "the host '-oProxyCommand=x' begins with '-'",
    ),
    "host-option-bare": (
        "-oProxyCommand=x",
        {},
        "the host '-oProxyCommand=x' begins with '-'",
    ),
    "container-option": (
        "docker://--privileged",
        {},
        "the host '--privileged' begins with '-'",
    ),
    "user-option": (
        f"ssh://-oProxyCommand=x:{SECRET}@web",
        {},
        "the user '-oProxyCommand=x' begins with '-'",
    ),
    "container-user-option": (
        "docker://-u@web",
        {},
        "the user '-u' begins with '-'",
    ),
    "timeout-not-int": (
        f"paramiko://deploy:{SECRET}@h:1?timeout=abc",
        {},
        "timeout='abc' must be a whole number",
    ),
    "controlpersist-not-int": (
        f"ssh://deploy:{SECRET}@h?controlpersist=xyz",
        {},
        "controlpersist='xyz' must be a whole number",
    ),
    "flag-not-bool": (
        f"ssh://deploy:{SECRET}@h?sudo=yes",
        {},
        "sudo='yes' must be true or false",
    ),
    "unknown-parameter": (
        f"ssh://deploy:{SECRET}@h?ssh_identity_flie=/k",
        {},
        "unknown parameter 'ssh_identity_flie' (did you mean 'ssh_identity_file'?)",
    ),
    "password-parameter": (
        f"ssh://deploy@h?password={SECRET}",
        {},
        "testinfra takes no 'password' parameter",
    ),
    "parameter-twice": (
        f"ssh://deploy:{SECRET}@h?timeout=1&timeout=2",
        {},
        "the parameter 'timeout' is given twice",
    ),
    "parameter-option": (
        f"ssh://deploy:{SECRET}@h?ssh_config=-oProxyCommand=x",
        {},
        "ssh_config='-oProxyCommand=x' begins with '-'",
    ),
    "port-not-number": (
        f"ssh://deploy:{SECRET}@h:ssh",
        {},
        "the port 'ssh' is not a number in 1-65535",
    ),
    "two-at-signs": (
        f"ssh://deploy:{SECRET}@x@h",
        {},
        "write '@' in a user name or password as %40",
    ),
    "slash-in-password": (
        f"ssh://deploy:{SECRET}/x@h",
        {},
        "write '/', '?', '#' and '@' in a password as %2F",
    ),
    "hash-in-password": (
        f"ssh://deploy:{SECRET}#x@h",
        {},
        "write '/', '?', '#' and '@' in a password",
    ),
    "unclosed-bracket": (
        f"ssh://deploy:{SECRET}@[::1",
        {},
        "it cannot be read as a URL",
    ),
    "no-host": (
        f"ssh://deploy:{SECRET}@",
        {},
        "a ssh:// host spec needs a host",
    ),
    "newline-in-host": (
        f"ssh://deploy:{SECRET}@h%0Aevil",
        {},
        "the host 'h\\nevil' contains a space or control character",
    ),
    "space-in-password": (
        f"ssh://deploy:{SECRET} x@h",
        {},
        "is not a testinfra host spec (e.g. ssh://user@host",
    ),
    "space-from-env": (
        "ssh://deploy:${PW}@h",
        {"PW": f"{SECRET} x"},
        "is not a testinfra host spec",
    ),
    "env-bad-parameter": (
        "paramiko://deploy:${PW}@h?timeout=abc",
        {"PW": SECRET},
        "timeout='abc' must be a whole number",
    ),
    "env-option-host": (
        "ssh://deploy:${PW}@-oX",
        {"PW": SECRET},
        "the host '-oX' begins with '-'",
    ),
    "control-character": (
        f"ssh://deploy:{SECRET}@h\x1b[2J",
        {},
        "control characters",
    ),
}

ACCEPTED = [
    "local://",
    "ssh://deploy@web-1.example.com",
    "ssh://web-1?ssh_config=/etc/ssh/lab_config&controlpersist=0",
    "paramiko://deploy:p%40ss%2Fw@web-1:2222?timeout=5&ssh_identity_file=~/.ssh/id",
    "ssh://[2001:db8::1]:22",
    "safe-ssh://deploy@192.0.2.1?sudo=true&sudo_user=app",
    "docker://app@web",
    "kubectl://pod-0?namespace=prod&container=app&context=east",
    "deploy@web-1.example.com",
]


def _write(tmp_path: Path, connection: str) -> Path:
    path = tmp_path / "inv.yml"
    # JSON's string is YAML's double-quoted scalar: control characters as \u escapes.
    path.write_text(f"version: 1\nhosts:\n  web:\n    connection: {json.dumps(connection)}\n")
    return path


@pytest.mark.parametrize("name", list(REJECTED))
def test_a_bad_host_spec_is_one_line_at_its_place_with_no_secret(tmp_path: Path, name: str) -> None:
    connection, environ, says = REJECTED[name]
    path = _write(tmp_path, connection)
    with pytest.raises(InventoryError) as caught:
        load_inventories([str(path)], environ)
    shown = str(caught.value)
    assert shown.startswith(f"{path}:4:17: hosts.web.connection: "), shown
    assert says in shown, shown
    assert "\n" not in shown
    assert SECRET not in shown
    assert SECRET not in repr(caught.value.args)


@pytest.mark.parametrize("connection", ACCEPTED)
def test_a_good_host_spec_loads_as_written(tmp_path: Path, connection: str) -> None:
    inventory = load_inventories([str(_write(tmp_path, connection))], {})
    assert inventory.hosts["web"].connection == connection


def test_a_host_is_parsed_as_testinfra_parses_it() -> None:
    from testinfra.backend import parse_hostspec
    from testinfra.backend.base import BaseBackend

    for spec in ACCEPTED:
        parsed = hostspec.parse(spec)
        host, kw = parse_hostspec(spec)
        assert parsed.connection == kw.get("connection", "paramiko"), spec
        if parsed.connection in ("ssh", "safe-ssh", "paramiko", "winrm"):
            theirs = BaseBackend.parse_hostspec(host)
            assert (parsed.name, parsed.user, parsed.password, parsed.port) == (
                theirs.name,
                theirs.user,
                theirs.password,
                theirs.port,
            ), spec


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        (f"ssh://deploy:{SECRET}@h", "ssh://deploy:***@h"),
        (f"paramiko://deploy:{SECRET}@h:1?timeout=abc", "paramiko://deploy:***@h:1?timeout=abc"),
        (f"ssh://deploy:{SECRET} x@h", "ssh://deploy:***@h"),
        (f"ssh://deploy:{SECRET}@x@h", "ssh://deploy:***@h"),
        (f"ssh://deploy:{SECRET}/x@h", "ssh://deploy:***@h"),
        (f"ssh://deploy@h?password={SECRET}", "ssh://deploy@h?password=***"),
        (f"deploy:{SECRET}@h", "deploy:***@h"),
        ("ssh://deploy@h", "ssh://deploy@h"),
    ],
)
def test_a_spec_is_shown_with_its_password_masked(spec: str, shown: str) -> None:
    assert hostspec.masked(spec) == shown


def test_a_host_repr_masks_its_password(tmp_path: Path) -> None:
    inventory = load_inventories([str(_write(tmp_path, f"ssh://deploy:{SECRET}@h"))], {})
    assert SECRET not in repr(inventory)
    assert "ssh://deploy:***@h" in repr(inventory.hosts["web"])
