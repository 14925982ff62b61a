"""Every mistake in an inventory is one line naming `file:line:column`: a table of them."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_conntriage.inventory import InventoryError, load_inventories

# A valid service, to append the key under test to (it is at lines 3-5).
SERVICE = "version: 1\nservices:\n  api:\n    address: api.example.com\n    ports: [80]\n"
HOST = "hosts:\n  web-1:\n    connection: ssh://deploy@web-1.example.com\n"


@dataclass(frozen=True)
class Case:
    """Files to write, the paths to load (default: the first file) and the exact error."""

    files: dict[str, str]
    expected: str
    paths: tuple[str, ...] = ()
    environ: dict[str, str] = field(default_factory=dict)


def bad(text: str, expected: str, **environ: str) -> Case:
    return Case({"inv.yml": text}, expected, environ=environ)


CASES = {
    # unknown keys, at every level, with the nearest valid key
    "unknown-top": bad(
        "version: 1\nservics: {}\n",
        "inv.yml:2:1: unknown key 'servics' (did you mean 'services'?)",
    ),
    "unknown-top-no-close-match": bad(
        "version: 1\nzzz: 1\n",
        "inv.yml:2:1: unknown key 'zzz'; valid keys here: version, defaults, hosts, hosts_from,"
        " services, closed",
    ),
    "unknown-defaults": bad(
        "version: 1\ndefaults:\n  timeot: 2s\n",
        "inv.yml:3:3: unknown key 'timeot' in defaults (did you mean 'timeout'?)",
    ),
    "unknown-host": bad(
        "version: 1\nhosts:\n  web-1:\n    conection: ssh://web-1\n",
        "inv.yml:4:5: unknown key 'conection' in hosts.web-1 (did you mean 'connection'?)",
    ),
    "unknown-service": bad(
        "version: 1\nservices:\n  api:\n    address: 127.0.0.1\n    prots: [80]\n",
        "inv.yml:5:5: unknown key 'prots' in services.api (did you mean 'ports'?)",
    ),
    "unknown-service-belongs-under-dns": bad(
        SERVICE + "    resolvers: [192.0.2.53]\n",
        "inv.yml:6:5: unknown key 'resolvers' in services.api (did you mean dns.resolvers?)",
    ),
    "unknown-dns": bad(
        SERVICE + "    dns:\n      expcet: [192.0.2.10]\n",
        "inv.yml:7:7: unknown key 'expcet' in services.api.dns (did you mean 'expect'?)",
    ),
    "unknown-closed": bad(
        "version: 1\nclosed:\n  - address: db.example.com\n    ports: [22]\n  - address: x\n"
        "    ports: [22]\n    form: [local]\n",
        "inv.yml:7:5: unknown key 'form' in closed[1] (did you mean 'from'?)",
    ),
    "duplicate-key": bad(
        SERVICE + "  api:\n    address: b.example.com\n    ports: [81]\n",
        "inv.yml:6:3: services.api: duplicate key 'api' (first written at 3:3)",
    ),
    "duplicate-key-nested": bad(
        SERVICE + "    ports: [81]\n",
        "inv.yml:6:5: services.api.ports: duplicate key 'ports' (first written at 5:5)",
    ),
    # wrong types
    "ports-not-a-list": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n    ports: 80\n",
        "inv.yml:5:12: services.api.ports: expected a list of port numbers, got the number 80"
        " (write [80])",
    ),
    "port-a-string": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n    ports: [443, https]\n",
        "inv.yml:5:18: services.api.ports[1]: expected a port number (1-65535),"
        " got the string 'https'",
    ),
    "address-a-list": bad(
        "version: 1\nservices:\n  api:\n    address: [a, b]\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: expected a DNS name or an IP address, got a list",
    ),
    "sudo-not-bool": bad(
        "version: 1\n" + HOST + "    sudo: maybe\n",
        "inv.yml:5:11: hosts.web-1.sudo: expected true or false, got the string 'maybe'",
    ),
    "tags-not-a-list": bad(
        SERVICE + "    tags: payments\n",
        "inv.yml:6:11: services.api.tags: expected a list of tags, got the string 'payments'"
        " (write [payments])",
    ),
    "service-empty": bad(
        "version: 1\nservices:\n  api:\n",
        "inv.yml:3:7: services.api: expected a service (a mapping with address and ports),"
        " got nothing",
    ),
    "closed-not-a-list": bad(
        "version: 1\nclosed:\n  address: db.example.com\n",
        "inv.yml:3:3: closed: expected a list of closed rules, got a mapping",
    ),
    # ports
    "port-0": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n    ports: [0]\n",
        "inv.yml:5:13: services.api.ports[0]: 0 is outside 1-65535",
    ),
    "port-65536": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n    ports: [80, 65536]\n",
        "inv.yml:5:17: services.api.ports[1]: 65536 is outside 1-65535",
    ),
    "port-twice": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n    ports: [80, 443, 80]\n",
        "inv.yml:5:22: services.api.ports[2]: 80 is listed twice",
    ),
    "ports-empty": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n    ports: []\n",
        "inv.yml:5:12: services.api.ports: must list at least one entry",
    ),
    # durations and retries
    "timeout-not-a-duration": bad(
        SERVICE + "    timeout: fast\n",
        "inv.yml:6:14: services.api.timeout: 'fast' is not a duration"
        " (use e.g. 500ms, 2s, 1m; a bare number is seconds)",
    ),
    "timeout-negative": bad(
        SERVICE + "    timeout: -1s\n",
        "inv.yml:6:14: services.api.timeout: '-1s' is negative; a duration is 0 or more",
    ),
    "timeout-zero": bad(
        SERVICE + "    timeout: 0s\n",
        "inv.yml:6:14: services.api.timeout: '0s' must be more than 0",
    ),
    "timeout-zero-number": bad(
        "version: 1\ndefaults:\n  timeout: 0\n",
        "inv.yml:3:12: defaults.timeout: 0 must be more than 0",
    ),
    "wait-negative": bad(
        "version: 1\ndefaults:\n  wait: -5\n",
        "inv.yml:3:9: defaults.wait: -5 is negative; use 0 or more",
    ),
    "idle-not-a-duration": bad(
        SERVICE + "    idle: 2 minutes\n",
        "inv.yml:6:11: services.api.idle: '2 minutes' is not a duration"
        " (use e.g. 500ms, 2s, 1m; a bare number is seconds)",
    ),
    "retries-negative": bad(
        "version: 1\ndefaults:\n  retries: -1\n",
        "inv.yml:3:12: defaults.retries: -1 is negative; use 0 or more",
    ),
    "retries-not-an-integer": bad(
        SERVICE + "    retries: 1.5\n",
        "inv.yml:6:14: services.api.retries: expected a number of retries (0-100),"
        " got the number 1.5",
    ),
    # missing and unsupported
    "missing-address": bad(
        "version: 1\nservices:\n  api:\n    ports: [80]\n",
        "inv.yml:3:3: services.api: missing required key 'address'",
    ),
    "missing-ports": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n",
        "inv.yml:3:3: services.api: missing required key 'ports'",
    ),
    "missing-connection": bad(
        "version: 1\nhosts:\n  web-1:\n    sudo: true\n",
        "inv.yml:3:3: hosts.web-1: missing required key 'connection'",
    ),
    "missing-version": bad(
        "# no version\nservices: {}\n",
        "inv.yml:2:1: missing required key 'version' (an inventory starts with 'version: 1')",
    ),
    "version-2": bad(
        "version: 2\n",
        "inv.yml:1:10: version: 2 is not supported; this version of pytest-conntriage reads"
        " version 1",
    ),
    # references to hosts
    "undefined-host": bad(
        "version: 1\n" + HOST + SERVICE[11:] + "    host: web-2\n",
        "inv.yml:9:11: services.api.host: 'web-2' is not a host alias in hosts"
        " (did you mean 'web-1'?)",
    ),
    "undefined-vantage": bad(
        "version: 1\n" + HOST + SERVICE[11:] + "    from: [local, web-2]\n",
        "inv.yml:9:19: services.api.from[1]: 'web-2' is neither 'local' nor a host alias in"
        " hosts (did you mean 'web-1'?)",
    ),
    "undefined-vantage-in-defaults": bad(
        "version: 1\ndefaults:\n  from: [lokal]\n",
        "inv.yml:3:10: defaults.from[0]: 'lokal' is neither 'local' nor a host alias in hosts"
        " (did you mean 'local'?)",
    ),
    "undefined-host-no-hosts": bad(
        SERVICE + "    host: db-1\n",
        "inv.yml:6:11: services.api.host: 'db-1' is not a host alias in hosts;"
        " no hosts are defined",
    ),
    "host-alias-local": bad(
        "version: 1\nhosts:\n  local:\n    connection: local://\n",
        "inv.yml:3:3: hosts.local: 'local' means the machine running pytest; give this host"
        " another alias",
    ),
    "unknown-connection-type": bad(
        "version: 1\nhosts:\n  web-1:\n    connection: shh://deploy@web-1\n",
        "inv.yml:4:17: hosts.web-1.connection: unknown connection type 'shh' (did you mean 'ssh'?)",
    ),
    # addresses
    "bad-resolver": bad(
        "version: 1\ndefaults:\n  resolvers: [192.0.2.53, dns.example.com]\n",
        "inv.yml:3:27: defaults.resolvers[1]: 'dns.example.com' is not a resolver address"
        " (use an IP address, IP:port or [IPv6]:port)",
    ),
    "bad-resolver-port": bad(
        SERVICE + "    dns:\n      resolvers: ['192.0.2.53:99999']\n",
        "inv.yml:7:19: services.api.dns.resolvers[0]: '192.0.2.53:99999': the port must be a"
        " number in 1-65535",
    ),
    "expect-not-an-ip": bad(
        SERVICE + "    dns:\n      expect: [192.0.2.10, api.example.com]\n",
        "inv.yml:7:28: services.api.dns.expect[1]: 'api.example.com' is not an IP address",
    ),
    "bad-listen": bad(
        SERVICE + "    listen: all\n",
        "inv.yml:6:13: services.api.listen: 'all' is not an IP address",
    ),
    "bad-match": bad(
        SERVICE + "    dns:\n      match: fuzzy\n",
        "inv.yml:7:14: services.api.dns.match: 'fuzzy' is not one of: exact, contains",
    ),
    "address-with-port": bad(
        "version: 1\nclosed:\n  - address: db.example.com:5432\n    ports: [5432]\n",
        "inv.yml:3:14: closed[0].address: 'db.example.com:5432' is not a DNS name or an IP"
        " address (ports go in 'ports')",
    ),
    "address-bad-ipv4": bad(
        "version: 1\nservices:\n  api:\n    address: 192.0.2.300\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: '192.0.2.300' is not a valid IPv4 address",
    ),
    # tags
    "bad-tag": bad(
        SERVICE + "    tags: [edge, pay-ments]\n",
        "inv.yml:6:18: services.api.tags[1]: 'pay-ments' is not a valid tag: tags become"
        " pytest markers, so use letters, digits and _, starting with a letter",
    ),
    "reserved-tag": bad(
        SERVICE + "    tags: [skip]\n",
        "inv.yml:6:12: services.api.tags[0]: 'skip' is reserved by pytest; tags need another name",
    ),
    # ${VAR}
    "unset-variable": bad(
        "version: 1\nservices:\n  api:\n    address: ${API_HOST}\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: ${API_HOST} is not set in the environment and has"
        " no default",
    ),
    "bad-variable-reference": bad(
        "version: 1\nservices:\n  api:\n    address: ${API-HOST}\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: '${API-HOST}' is not a variable reference"
        " (use ${NAME} or ${NAME:-default}; write $$ for a literal $)",
    ),
    "interpolated-value-invalid": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n    ports: [${PORT}]\n",
        "inv.yml:5:13: services.api.ports[0]: expected a port number (1-65535), got the string"
        " 'http' (from '${PORT}')",
        PORT="http",
    ),
    "quoted-reference-stays-a-string": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n    ports: ['${PORT}']\n",
        "inv.yml:5:13: services.api.ports[0]: expected a port number (1-65535), got the string"
        " '8080' (from '${PORT}')",
        PORT="8080",
    ),
    # YAML itself
    "yaml-syntax": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n     ports: [80]\n",
        "inv.yml:5:11: invalid YAML: mapping values are not allowed here"
        " (check this line's indentation, or quote a value containing ': ')",
    ),
    "yaml-unclosed-flow": bad(
        "version: 1\nservices:\n  api:\n    address: a.example\n    ports: [80, 443\n",
        "inv.yml:6:1: invalid YAML: expected ',' or ']', but got '<stream end>'"
        " (parsing a flow sequence that started at 5:12)",
    ),
    "tab-indentation": bad(
        "version: 1\nservices:\n\tapi:\n",
        "inv.yml:3:1: invalid YAML: a tab character here; YAML indents with spaces only",
    ),
    "unsupported-tag": bad(
        "version: 1\nservices:\n  api: !!binary aGVsbG8=\n",
        "inv.yml:3:8: services.api: the YAML tag !!binary is not supported in an inventory",
    ),
    "empty-file": bad("", "inv.yml: the file is empty; an inventory starts with 'version: 1'"),
    "only-comments": bad(
        "# TODO\n", "inv.yml: the file is empty; an inventory starts with 'version: 1'"
    ),
    "top-level-list": bad(
        "- version: 1\n",
        "inv.yml:1:1: expected an inventory (a mapping with version, defaults, hosts, hosts_from,"
        " services, closed), got a list",
    ),
    # the file itself
    "directory": Case(
        {"inventories/a.yml": "version: 1\n"},
        "inventories: cannot read inventory: Is a directory",
        paths=("inventories",),
    ),
    "missing-file": Case(
        {}, "nope.yml: cannot read inventory: No such file or directory", paths=("nope.yml",)
    ),
    # several files
    "same-service-in-two-files": Case(
        {
            "a.yml": SERVICE,
            "b.yml": "version: 1\n\nservices:\n  api:\n    address: b\n    ports: [1]\n",
        },
        "b.yml:4:3: services.api: already defined at a.yml:3:3 (service names must be unique"
        " across files)",
        paths=("a.yml", "b.yml"),
    ),
    "same-host-in-two-files": Case(
        {"a.yml": "version: 1\n" + HOST, "b.yml": "version: 1\n" + HOST},
        "b.yml:3:3: hosts.web-1: already defined at a.yml:3:3 (host aliases must be unique"
        " across files)",
        paths=("a.yml", "b.yml"),
    ),
    "conflicting-defaults": Case(
        {
            "a.yml": "version: 1\ndefaults:\n  timeout: 2s\n",
            "b.yml": "version: 1\ndefaults:\n  timeout: 2000ms\n  retries: 1\n  wait: 10s\n",
            "c.yml": "version: 1\ndefaults:\n  wait: 1m\n",
        },
        "c.yml:3:9: defaults.wait: 1m here, but 10s at b.yml:5:9; defaults set in several"
        " files must agree",
        paths=("a.yml", "b.yml", "c.yml"),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_inventory_names_the_place(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, text in case.files.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(text)
    paths = case.paths or (next(iter(case.files)),)
    with pytest.raises(InventoryError) as excinfo:
        load_inventories(paths, case.environ)
    assert str(excinfo.value) == case.expected


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 35


def test_the_path_is_shown_as_given(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text("version: 1\nservices:\n  api:\n    address: 127.0.0.1\n    prots: [80]\n")
    with pytest.raises(InventoryError) as excinfo:
        load_inventories([str(path)], {})
    assert str(excinfo.value) == (
        f"{path}:5:5: unknown key 'prots' in services.api (did you mean 'ports'?)"
    )
    assert excinfo.value.location is not None
    assert (excinfo.value.location.line, excinfo.value.location.column) == (5, 5)


def test_several_mistakes_report_the_same_one_every_time(tmp_path: Path) -> None:
    # A misspelt key first (it explains the "missing" one), then the earliest wrong value.
    path = tmp_path / "inv.yml"
    path.write_text(
        "version: 1\nservices:\n  api:\n    address: [x]\n    ports: [0]\n"
        "    timout: 1s\n  web:\n    ports: [http]\n"
    )
    messages = set()
    for _ in range(3):
        with pytest.raises(InventoryError) as excinfo:
            load_inventories([str(path)], {})
        messages.add(excinfo.value.message)
    assert messages == {"unknown key 'timout' in services.api (did you mean 'timeout'?)"}
    path.write_text(path.read_text().replace("timout", "timeout"))
    with pytest.raises(InventoryError) as excinfo:
        load_inventories([str(path)], {})
    assert str(excinfo.value).endswith(
        "inv.yml:4:14: services.api.address: expected a DNS name or an IP address, got a list"
    )


def test_the_error_survives_pickling(tmp_path: Path) -> None:
    # pytest-xdist ships exceptions between processes.
    path = tmp_path / "inv.yml"
    path.write_text("version: 2\n")
    with pytest.raises(InventoryError) as excinfo:
        load_inventories([str(path)], {})
    copy = pickle.loads(pickle.dumps(excinfo.value))
    assert (str(copy), copy.location) == (str(excinfo.value), excinfo.value.location)
