"""Hostile and broken inventories: bounded, one `file:line:col` error, values checked for
what they become (issue 12 items 1-2, issue 11 item 9)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from pytest_conntriage.inventory import InventoryError, InventoryWarning, load_inventories
from pytest_conntriage.inventory.load import load_text
from pytest_conntriage.marked_yaml import (
    MAX_DEPTH,
    MAX_DOCUMENT_CHARS,
    MAX_NODES,
    load_document,
)
from pytest_conntriage.schema_errors import _unique_items

DEFAULTS = "version: 1\ndefaults:\n"


def svc(**keys: str) -> str:
    """One service `api` at 192.0.2.10 port 80, with `keys` added or replaced."""
    fields = {"address": "192.0.2.10", "ports": "[80]", **keys}
    return "version: 1\nservices:\n  api:\n" + "".join(f"    {k}: {v}\n" for k, v in fields.items())


HOSTED = (
    "version: 1\nhosts:\n  web-1:\n    connection: local://\nservices:\n  api:\n"
    "    address: 192.0.2.10\n    ports: [80]\n    host: web-1\n"
)

# name: (inventory text, the one error it gives)
CASES: dict[str, tuple[str, str]] = {
    "ports-base-60": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [22:22]\n",
        "inv.yml:5:13: services.api.ports[0]: expected a port number (1-65535), got the "
        "string '22:22' (YAML 1.1 reads digits separated by ':' as base 60; write one "
        "decimal number)",
    ),
    "ports-octal": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [0443]\n",
        "inv.yml:5:13: services.api.ports[0]: expected a port number (1-65535), got the "
        "string '0443' (YAML 1.1 reads a leading 0 as octal; write the number without "
        "leading zeros)",
    ),
    "ports-hex": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [0x50]\n",
        "inv.yml:5:13: services.api.ports[0]: expected a port number (1-65535), got the "
        "string '0x50' (YAML 1.1 reads it as a hexadecimal number; write the decimal "
        "number)",
    ),
    "ports-underscore": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [1_0]\n",
        "inv.yml:5:13: services.api.ports[0]: expected a port number (1-65535), got the "
        "string '1_0' (YAML 1.1 ignores '_' in numbers; write the digits without '_')",
    ),
    "ports-binary": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [0b101]\n",
        "inv.yml:5:13: services.api.ports[0]: expected a port number (1-65535), got the "
        "string '0b101' (YAML 1.1 reads it as a binary number; write the decimal number)",
    ),
    "ports-range": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: '1-65535'\n",
        "inv.yml:5:12: services.api.ports: expected a list of port numbers, got the string "
        "'1-65535' (port ranges are not supported: list each port, e.g. [8000, 8001, 8002])",
    ),
    "ports-range-in-list": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [8000-8010]\n",
        "inv.yml:5:13: services.api.ports[0]: expected a port number (1-65535), got the "
        "string '8000-8010' (port ranges are not supported: list each port, e.g. [8000, "
        "8001, 8002])",
    ),
    "retries-octal": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [80]\n    "
        "retries: 010\n",
        "inv.yml:6:14: services.api.retries: expected a number of retries (0-100), got the "
        "string '010' (YAML 1.1 reads a leading 0 as octal; write the number without "
        "leading zeros)",
    ),
    "address-unspecified-v4": (
        "version: 1\nservices:\n  api:\n    address: 0.0.0.0\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: '0.0.0.0' is the unspecified address: it "
        "connects to this machine, not a host",
    ),
    "address-unspecified-v6": (
        "version: 1\nservices:\n  api:\n    address: '::'\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: '::' is the unspecified address: it connects "
        "to this machine, not a host",
    ),
    "address-this-network": (
        "version: 1\nservices:\n  api:\n    address: 0.1.2.3\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: '0.1.2.3' is in 0.0.0.0/8, \"this network\": "
        "it connects to this machine",
    ),
    "address-multicast": (
        "version: 1\nservices:\n  api:\n    address: 224.0.0.1\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: '224.0.0.1' is a multicast address, not one host's",
    ),
    "address-broadcast": (
        "version: 1\nservices:\n  api:\n    address: 255.255.255.255\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: '255.255.255.255' is the broadcast address, "
        "not one host's",
    ),
    "address-mapped-unspecified": (
        "version: 1\nservices:\n  api:\n    address: '::ffff:0.0.0.0'\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: '::ffff:0.0.0.0' is the unspecified address: "
        "it connects to this machine, not a host",
    ),
    "address-scope-command": (
        "version: 1\nservices:\n  api:\n    address: 'fe80::1%$(touch x)'\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: 'fe80::1%$(touch x)': the zone after '%' must "
        "be a network interface name (letters, digits, '_', '.', '-', '@'; at most 15; e.g. "
        "fe80::1%eth0)",
    ),
    "address-scope-newline": (
        'version: 1\nservices:\n  api:\n    address: "fe80::1%eth0\\nx"\n    ports: [80]\n',
        "inv.yml:4:14: services.api.address: 'fe80::1%eth0\\nx': the zone after '%' must be "
        "a network interface name (letters, digits, '_', '.', '-', '@'; at most 15; e.g. "
        "fe80::1%eth0)",
    ),
    "address-scope-quote": (
        "version: 1\nservices:\n  api:\n    address: 'fe80::1%a\"b'\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: 'fe80::1%a\"b': the zone after '%' must be "
        "a network interface name (letters, digits, '_', '.', '-', '@'; at most 15; e.g. "
        "fe80::1%eth0)",
    ),
    "address-scope-option": (
        "version: 1\nservices:\n  api:\n    address: 'fe80::1%-p'\n    ports: [80]\n",
        "inv.yml:4:14: services.api.address: 'fe80::1%-p': the zone after '%' must be a "
        "network interface name (letters, digits, '_', '.', '-', '@'; at most 15; e.g. "
        "fe80::1%eth0)",
    ),
    "listen-scope": (
        "version: 1\nhosts:\n  web-1:\n    connection: local://\nservices:\n  api:\n    "
        "address: 192.0.2.10\n    ports: [80]\n    host: web-1\n    listen: "
        "'fe80::1%$(id)'\n",
        "inv.yml:10:13: services.api.listen: 'fe80::1%$(id)': the zone after '%' must be a "
        "network interface name (letters, digits, '_', '.', '-', '@'; at most 15; e.g. "
        "fe80::1%eth0)",
    ),
    "listen-multicast": (
        "version: 1\nhosts:\n  web-1:\n    connection: local://\nservices:\n  api:\n    "
        "address: 192.0.2.10\n    ports: [80]\n    host: web-1\n    listen: 224.0.0.1\n",
        "inv.yml:10:13: services.api.listen: '224.0.0.1' is a multicast address, not one host's",
    ),
    "expect-scope": (
        "version: 1\nservices:\n  api:\n    address: api.example.com\n    ports: [80]\n    "
        "dns: {expect: ['fe80::1%\"x']}\n",
        "inv.yml:6:20: services.api.dns.expect[0]: 'fe80::1%\"x': the zone after '%' "
        "must be a network interface name (letters, digits, '_', '.', '-', '@'; at most 15; "
        "e.g. fe80::1%eth0)",
    ),
    "resolver-scope": (
        "version: 1\ndefaults:\n  resolvers: ['[fe80::1%$(id)]:53']\n",
        "inv.yml:3:15: defaults.resolvers[0]: 'fe80::1%$(id)': the zone after '%' must be a "
        "network interface name (letters, digits, '_', '.', '-', '@'; at most 15; e.g. "
        "fe80::1%eth0)",
    ),
    "resolver-unspecified": (
        "version: 1\ndefaults:\n  resolvers: ['0.0.0.0']\n",
        "inv.yml:3:15: defaults.resolvers[0]: '0.0.0.0' is the unspecified address: it "
        "connects to this machine, not a host",
    ),
    "resolver-multicast": (
        "version: 1\ndefaults:\n  resolvers: ['ff02::1']\n",
        "inv.yml:3:15: defaults.resolvers[0]: 'ff02::1' is a multicast address, not one host's",
    ),
    "name-escape": (
        'version: 1\nservices:\n  "a\\e]0;PWNED\\a\\e[2J":\n    address: 192.0.2.10\n    '
        "ports: [80]\n",
        "inv.yml:3:3: services: the service name 'a\\x1b]0;PWNED\\x07\\x1b[2J' contains a "
        "control character; names appear in test ids and reports, so write them in "
        "printable text",
    ),
    "name-newline": (
        'version: 1\nservices:\n  "api\\n":\n    address: 192.0.2.10\n    ports: [80]\n',
        "inv.yml:3:3: services: the service name 'api\\n' contains a control character; "
        "names appear in test ids and reports, so write them in printable text",
    ),
    "name-bidi": (
        'version: 1\nservices:\n  "api\\u202e":\n    address: 192.0.2.10\n    ports: [80]\n',
        "inv.yml:3:3: services.api\\u202e: the service name 'api\\u202e' contains a "
        "character that is not printable; names appear in test ids and reports, so write "
        "them in printable text",
    ),
    "host-alias-newline": (
        'version: 1\nhosts:\n  "web\\n":\n    connection: local://\n',
        "inv.yml:3:3: hosts: the host alias 'web\\n' contains a control character; names "
        "appear in test ids and reports, so write them in printable text",
    ),
    "tag-trailing-newline": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [80]\n    tags: "
        '["t\\n"]\n',
        "inv.yml:6:12: services.api.tags[0]: 't\\n' is not a valid tag: tags become pytest "
        "markers, so use letters, digits and _, starting with a letter",
    ),
    "unit-trailing-newline": (
        "version: 1\nhosts:\n  web-1:\n    connection: local://\nservices:\n  api:\n    "
        'address: 192.0.2.10\n    ports: [80]\n    host: web-1\n    unit: "nginx\\n"\n',
        "inv.yml:10:11: services.api.unit: 'nginx\\n' is not a systemd unit name",
    ),
    "retries-huge": (
        svc(retries="1" + "0" * 300),
        "inv.yml:6:14: services.api.retries: 100000000000…000000 has 301 digits; numbers in "
        "an inventory have at most 18 (quote it if it is text)",
    ),
    "retries-over-cap": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [80]\n    "
        "retries: 101\n",
        "inv.yml:6:14: services.api.retries: 101 is outside 0-100",
    ),
    "timeout-digits": (
        DEFAULTS + "  timeout: " + "9" * 400 + "\n",
        "inv.yml:3:12: defaults.timeout: 999999999999…999999 has 400 digits; numbers in an "
        "inventory have at most 18 (quote it if it is text)",
    ),
    "timeout-digits-string": (
        DEFAULTS + '  timeout: "' + "9" * 400 + 's"\n',
        "inv.yml:3:12: defaults.timeout: '99999999999999999999…9999999s' is longer than "
        "10m, the most allowed here",
    ),
    "timeout-over-cap": (
        "version: 1\ndefaults:\n  timeout: 11m\n",
        "inv.yml:3:12: defaults.timeout: '11m' is longer than 10m, the most allowed here",
    ),
    "timeout-number-over-cap": (
        "version: 1\ndefaults:\n  timeout: 601\n",
        "inv.yml:3:12: defaults.timeout: 601 is longer than 10m, the most allowed here",
    ),
    "timeout-float-inf": (
        "version: 1\ndefaults:\n  timeout: 1.0e999\n",
        "inv.yml:3:12: defaults.timeout: inf is longer than 10m, the most allowed here",
    ),
    "wait-over-cap": (
        "version: 1\ndefaults:\n  wait: 25h\n",
        "inv.yml:3:9: defaults.wait: '25h' is longer than 24h, the most allowed here",
    ),
    "idle-over-cap": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [80]\n    idle: 3h\n",
        "inv.yml:6:11: services.api.idle: '3h' is longer than 2h, the most allowed here",
    ),
    "idle-fraction": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [80]\n    idle: 1.5s\n",
        "inv.yml:6:11: services.api.idle: '1.5s': idle counts whole seconds (e.g. 30s, 2m)",
    ),
    "idle-ms": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [80]\n    idle: "
        "500ms\n",
        "inv.yml:6:11: services.api.idle: '500ms': idle counts whole seconds (e.g. 30s, 2m)",
    ),
    "int-5000-digits-under-x": (
        "version: 1\nx-big: " + "9" * 5000 + "\n",
        "inv.yml:2:8: x-big: 999999999999…999999 has 5,000 digits; numbers in an inventory "
        "have at most 18 (quote it if it is text)",
    ),
    "open-and-closed": (
        "version: 1\nservices:\n  api:\n    address: 192.0.2.10\n    ports: [80, "
        "443]\nclosed:\n  - address: 192.0.2.10\n    ports: [22, 443]\n",
        "inv.yml:7:5: 192.0.2.10:443 must be closed here, but services.api at inv.yml:5:17 "
        "says it must be reachable, from the same vantage point",
    ),
    "open-and-closed-spelling": (
        "version: 1\nservices:\n  api:\n    address: API.example.com.\n    ports: "
        "[443]\nclosed:\n  - address: api.example.com\n    ports: [443]\n",
        "inv.yml:7:5: api.example.com:443 must be closed here, but services.api at "
        "inv.yml:5:13 says it must be reachable, from the same vantage point",
    ),
}


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(text)
    load_inventories([str(path)], {})


@pytest.mark.parametrize("name", CASES)
def test_hostile_value_is_one_error_at_its_place(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, expected = CASES[name]
    monkeypatch.chdir(tmp_path)
    Path("inv.yml").write_text(text)
    with pytest.raises(InventoryError) as excinfo:
        load_inventories(["inv.yml"], {})
    assert str(excinfo.value) == expected
    assert str(excinfo.value).isprintable()


def test_the_same_values_written_right_load(tmp_path: Path) -> None:
    text = (
        HOSTED + "    ports: [22, 443, 80]\n    listen: 0.0.0.0\n    unit: nginx\n"
        "    retries: 100\n    timeout: 10m\n    wait: 24h\n    idle: 2h\n"
        "    dns: {expect: ['fe80::1%eth0', 0.0.0.0]}\n"
        "  link:\n    address: 'fe80::1%eth0'\n    ports: [0443]\n"
        "closed:\n  - address: 192.0.2.10\n    ports: [443]\n    from: [web-1]\n"
    ).replace("    ports: [80]\n", "")
    text = text.replace("[0443]", "[443]")
    path = tmp_path / "inv.yml"
    path.write_text(text)
    inventory = load_inventories([str(path)], {})
    api, link = inventory.services
    assert api.ports == (22, 443, 80)
    assert (api.policy.retries, api.policy.timeout, api.policy.wait) == (100, 600.0, 86400.0)
    assert api.idle == 7200.0
    assert api.listen == "0.0.0.0"
    assert api.dns.expect == ("fe80::1%eth0", "0.0.0.0")  # a sinkholed name is expected
    assert link.address == "fe80::1%eth0"


def test_non_decimal_numbers_stay_text_outside_numeric_keys(tmp_path: Path) -> None:
    # YAML 1.1 would read these as 1342, 291, 80 and 10; the loader never converts them.
    document = load_document(
        "version: 1\nx-a: [22:22, 0443, 0x50, 1_0, 0b1, 1_000.5, 1:30.5, 7, -3, 0, 1.5]\n",
        "inv.yml",
    )
    assert isinstance(document.data, dict)
    assert document.data["x-a"] == [
        *("22:22", "0443", "0x50", "1_0", "0b1", "1_000.5", "1:30.5"),
        *(7, -3, 0, 1.5),
    ]


def test_a_substituted_value_is_typed_as_decimal_only(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(svc(ports="[${PORT}]"))
    with pytest.raises(
        InventoryError, match=r"got the string '0x50' \(YAML 1.1 .*\) \(from '\$\{PORT\}'\)$"
    ):
        load_inventories([str(path)], {"PORT": "0x50"})
    assert load_inventories([str(path)], {"PORT": "8080"}).services[0].ports == (8080,)


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("unit", HOSTED.replace("    host: web-1\n", "") + "    unit: nginx\n"),
        ("listen", HOSTED.replace("    host: web-1\n", "") + "    listen: 192.0.2.10\n"),
    ],
)
def test_unit_or_listen_without_host_is_a_warning(key: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(text)
    with pytest.warns(InventoryWarning) as record:
        load_inventories([str(path)], {})
    assert [str(w.message) for w in record] == [
        f"{path}:9:5: services.api.{key}: not checked, because this service has no 'host:'"
        " (evidence is gathered on the host)"
    ]


def test_unit_and_listen_with_a_host_give_no_warning(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(HOSTED + "    unit: nginx\n    listen: 192.0.2.10\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_inventories([str(path)], {})


def test_open_and_closed_from_different_vantages_is_segmentation(tmp_path: Path) -> None:
    text = HOSTED + "closed:\n  - address: 192.0.2.10\n    ports: [80]\n    from: [web-1]\n"
    _load(tmp_path, text)
    with pytest.raises(InventoryError, match=r"inv.yml:11:5: 192.0.2.10:80 must be closed"):
        _load(tmp_path, text.replace("from: [web-1]", "from: [web-1, local]"))


def test_open_and_closed_in_two_files(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(svc())
    (tmp_path / "b.yml").write_text(
        "version: 1\nclosed:\n  - address: 192.0.2.10\n    ports: [80]\n"
    )
    paths = [str(tmp_path / "a.yml"), str(tmp_path / "b.yml")]
    with pytest.raises(InventoryError) as excinfo:
        load_inventories(paths, {})
    assert str(excinfo.value) == (
        f"{paths[1]}:3:5: 192.0.2.10:80 must be closed here, but services.api at"
        f" {paths[0]}:5:13 says it must be reachable, from the same vantage point"
    )


def test_error_messages_escape_what_a_terminal_would_act_on() -> None:
    error = InventoryError("inv\x1b[2J.yml", "'\x1b]0;PWNED\x07' \u202e\r\n\t ok é")
    assert str(error) == "inv\\x1b[2J.yml: '\\x1b]0;PWNED\\x07' \\u202e\\r\\n\\t ok é"
    long = InventoryError("inv.yml", "x" * 5000)
    assert len(str(long)) < 1100
    assert "(4,000 characters)" in str(long)


def test_unique_items_is_json_schema_equality() -> None:
    def errors(items: list[object]) -> int:
        return len(list(_unique_items(None, True, items, {})))

    assert errors([1, 2, 3]) == 0
    assert errors([1, 1.0]) == 1  # the same number
    assert errors([1, True]) == 0  # true is not 1
    assert errors(["1", 1]) == 0
    assert errors([[1, {"a": 1}], [1, {"a": 1}]]) == 1
    assert errors([None, None]) == 1
    assert errors([True, False, None, 0]) == 0


# -- resource cases: each is rejected at once, not after minutes and gigabytes ---------


def alias_bomb(levels: int = 8) -> str:
    """10^levels leaves in a few hundred bytes."""
    lines = ["version: 1", "x-a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 24) -> str:
    """Each level merges the previous one twice: 2^levels entries to expand."""
    lines = ["version: 1", "x-m0: &m0 {a: 1, b: 2}"]
    for i in range(1, levels):
        lines.append(f"x-m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}")
    return "\n".join(lines) + "\n"


def alias_chain(levels: int = 200) -> str:
    """Each anchor nests the previous one once: deep only once aliases are followed."""
    lines = ["version: 1", "x-a0: &a0 [1]"]
    lines += [f"x-a{i}: &a{i} [*a{i - 1}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def port_list(count: int, extra: str = "") -> str:
    ports = [str(p) for p in range(1, count + 1)]
    if extra:
        ports.insert(count // 2, extra)
    return svc(ports="[" + ", ".join(ports) + "]")


RESOURCE_CASES: dict[str, tuple[str, str]] = {
    "alias-bomb": (alias_bomb(), "inv.yml:7:7: this expands to more than 250,000 keys"),
    "merge-key-bomb": (merge_bomb(), "inv.yml:17:18: this expands to more than 250,000"),
    "flow-nesting": (
        "version: 1\nx-a: " + "[" * 100_000 + "]" * 100_000 + "\n",
        f"inv.yml:2:70: nested more than {MAX_DEPTH} levels deep",
    ),
    "block-nesting": (
        "version: 1\nx-a:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(200)),
        f"inv.yml:66:65: nested more than {MAX_DEPTH} levels deep",
    ),
    "alias-nesting": (alias_chain(), f"inv.yml:138:9: nested more than {MAX_DEPTH} levels"),
    "huge-integer": (
        "version: 1\nx-a: " + "9" * 100_000 + "\n",
        "inv.yml:2:6: x-a: 999999999999…999999 has 100,000 digits",
    ),
    "huge-float-timeout": (
        DEFAULTS + "  timeout: 9" + "9" * 5000 + ".5\n",
        "inv.yml:3:12: defaults.timeout: inf is longer than 10m",
    ),
    "ports-65535-and-a-duplicate": (
        port_list(65_534, "80"),
        "inv.yml:5:218276: services.api.ports[32767]: 80 is listed twice",
    ),
    "ports-65534-and-a-string": (
        port_list(65_534, "http"),
        "inv.yml:5:218276: services.api.ports[32767]: expected a port number (1-65535),"
        " got the string 'http'",
    ),
    "ports-over-65535": (
        port_list(65_535, "1"),
        "inv.yml:5:12: services.api.ports: lists 65,536 entries; at most 65,535",
    ),
}


@pytest.mark.parametrize("name", RESOURCE_CASES)
def test_resource_case_is_rejected(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text, expected = RESOURCE_CASES[name]
    with pytest.raises(InventoryError) as excinfo:
        load_text(text, "inv.yml", {})
    assert str(excinfo.value).startswith(expected)


def test_a_document_over_the_size_limit_is_rejected_before_parsing() -> None:
    text = "version: 1\n" + "#" * MAX_DOCUMENT_CHARS
    with pytest.raises(InventoryError) as excinfo:
        load_text(text, "inv.yml", {})
    assert str(excinfo.value) == (
        f"inv.yml: the file is {len(text):,} characters long; an inventory may have at most"
        f" {MAX_DOCUMENT_CHARS:,} (split it into several files)"
    )


def test_the_limits_leave_room_for_real_inventories() -> None:
    # 64 levels, and a node budget far above 10,000 services written out in full.
    deep = "version: 1\nx-a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    load_text(deep, "inv.yml", {})
    ten_thousand = alias_bomb(5)  # 10^5 leaves through aliases: allowed
    load_text(ten_thousand, "inv.yml", {})
    assert MAX_NODES >= 220_000  # 10,000 services written out in full


def test_65535_ports_load_and_plan_with_each_ports_place() -> None:
    spec = load_text(port_list(65_535), "inv.yml", {})
    (service,) = spec.services
    assert len(service.ports) == 65_535
    assert service.port_locations[-1].line == 5
    from pytest_conntriage.inventory.merge import merge

    (merged,) = merge([spec]).services
    # Each port's own column: the id and the failure point at the number itself.
    assert merged.port_location(65_535) == service.port_locations[-1]
    assert merged.port_location(1).column == 13


def test_a_hostile_inventory_through_the_cli_is_exit_4_and_one_line(
    pytester: pytest.Pytester,
) -> None:
    inventory = pytester.path / "bomb.yml"
    inventory.write_text(alias_bomb())
    result = pytester.runpytest_inprocess("--inventory", str(inventory), "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert errors == [
        f"ERROR: {inventory}:7:7: this expands to more than 250,000 keys and values once"
        " its aliases (*name) and merge keys (<<) are expanded; an inventory may hold at"
        " most 250,000"
    ]


def _unique_ids_before(ids: list[str]) -> list[str]:
    """nodes.unique_ids as it was (a set built per lookup), to compare against."""
    from collections import Counter, defaultdict

    if len(ids) == len(set(ids)):
        return ids
    resolved = list(ids)
    counts = Counter(resolved)
    suffixes: dict[str, int] = defaultdict(int)
    for index, id in enumerate(resolved):
        if counts[id] > 1:
            sep = "_" if id and id[-1].isdigit() else ""
            new_id = f"{id}{sep}{suffixes[id]}"
            while new_id in set(resolved):
                suffixes[id] += 1
                new_id = f"{id}{sep}{suffixes[id]}"
            resolved[index] = new_id
            suffixes[id] += 1
    return resolved


def test_test_ids_escape_what_is_not_printable_and_stay_as_they_were() -> None:
    import random

    from pytest_conntriage.nodes import unique_ids

    assert unique_ids(["a\x1b]0;PWNED\x07\x1b[2J", "b\n"]) == [
        "a\\x1b]0;PWNED\\x07\\x1b[2J",
        "b\\n",
    ]
    rng = random.Random(5)
    for _ in range(300):
        choices = ["x", "x0", "x_0", "x1", "x_1", "y", "1", "1_0", "x00"]
        ids = [rng.choice(choices) for _ in range(8)]
        assert unique_ids(ids) == _unique_ids_before(ids), ids
    # Linear: 20,000 equal ids are numbered without a pass over all of them per id.
    assert unique_ids(["same"] * 20_000)[-1] == "same19999"


def test_a_file_over_the_size_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    with path.open("w") as file:
        file.write("version: 1\n")
        for _ in range(40):
            file.write("#" * (1024 * 1024) + "\n")  # 40 MB of comments
    with pytest.raises(InventoryError) as excinfo:
        load_inventories([str(path)], {})
    assert str(excinfo.value) == (
        f"{path}: the file is longer than 2,097,152 characters, the most an inventory may"
        " have (split it into several files)"
    )


def test_an_inventory_warning_is_in_pytests_summary_and_minus_w_error_makes_it_exit_4(
    pytester: pytest.Pytester,
) -> None:
    inventory = pytester.path / "inv.yml"
    inventory.write_text(
        "version: 1\nservices:\n  api:\n    address: 127.0.0.1\n    ports: [1]\n    unit: nginx\n"
    )
    warned = pytester.runpytest_inprocess("--inventory", str(inventory), "--collect-only")
    assert warned.ret == pytest.ExitCode.OK
    warned.stdout.fnmatch_lines(
        ["*warnings summary*", "*InventoryWarning: *inv.yml:6:5: services.api.unit: not checked*"]
    )
    strict = pytester.runpytest_inprocess(
        "--inventory",
        str(inventory),
        "--collect-only",
        "-W",
        "error::pytest_conntriage.inventory.InventoryWarning",
    )
    assert strict.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in strict.errlines if line.strip()] == [
        f"ERROR: {inventory}:6:5: services.api.unit: not checked, because this service has no"
        " 'host:' (evidence is gathered on the host)"
    ]


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param("]\n", id="composed-then-counted"),
        # Another error after the limit: too many values is still the one told.
        pytest.param("]\nx-a: 1\n", id="composed-with-a-later-error"),
        pytest.param("," + ",".join(["1"] * 700_000) + "]\n", id="counted-before-composing"),
    ],
)
def test_a_file_packed_with_values_is_refused_where_it_passes_the_limit(tail: str) -> None:
    flat = "version: 1\nx-a: [" + ",".join(["1"] * 300_000) + tail
    with pytest.raises(InventoryError) as excinfo:
        load_text(flat, "inv.yml", {})
    assert str(excinfo.value) == (
        "inv.yml:2:499997: more than 250,000 keys and values are written by here; an"
        " inventory may hold at most 250,000 (split it into several files)"
    )
