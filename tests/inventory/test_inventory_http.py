"""The inventory's `http:` fragment: what it loads to, and each mistake at its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_conntriage.inventory import InventoryError, load_inventories
from pytest_conntriage.inventory.model import Location
from pytest_conntriage.kinds.http import HttpGet

SERVICE = "version: 1\nservices:\n  api:\n    address: api.example.com\n    ports: [80, 443]\n"


def load(directory: Path, text: str) -> tuple[HttpGet, ...]:
    path = directory / "inv.yml"
    path.write_text(text)
    gets = load_inventories([str(path)]).services[0].section("http")
    assert gets is None or isinstance(gets, tuple)
    return gets or ()


def test_a_mapping_is_one_get_with_the_documented_defaults(tmp_path: Path) -> None:
    [get] = load(tmp_path, SERVICE + "    http: {}\n")
    where = Location(str(tmp_path / "inv.yml"), 6, 11)
    assert get == HttpGet(path="/", status=(200,), location=where)


def test_a_list_gives_each_get_its_own_port_tls_and_vhost(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("not read at load time\n")
    text = SERVICE + (
        "    http:\n"
        "      - {port: 80, path: /, status: 301}\n"
        "      - {port: 443, path: '/healthz?full=1', status: [200, 204], tls: {ca: certs/ca.pem},"
        " vhost: www.example.com}\n"
        "      - {port: 443, path: /raw, tls: {verify: false}}\n"
        "      - {port: 443, path: /sys, tls: true}\n"
    )
    plain, with_ca, unverified, system = load(tmp_path, text)
    assert (plain.port, plain.path, plain.status, plain.tls) == (80, "/", (301,), False)
    assert with_ca.status == (200, 204)
    assert (with_ca.tls, with_ca.verify, with_ca.vhost) == (True, True, "www.example.com")
    # Relative to the inventory file, made absolute: the checks may run from anywhere.
    assert with_ca.ca_file == str((tmp_path / "certs" / "ca.pem").resolve())
    assert (unverified.tls, unverified.verify, unverified.ca_file) == (True, False, None)
    assert (system.tls, system.verify, system.ca_file) == (True, True, None)


def test_no_http_key_means_no_gets(tmp_path: Path) -> None:
    assert load(tmp_path, SERVICE) == ()


MISTAKES = {
    "relative-path": (
        "    http: {path: healthz}\n",
        "6:18: services.api.http.path: 'healthz' is not an absolute path (e.g. /healthz)",
    ),
    "space-in-path": (
        "    http: {path: '/a b'}\n",
        "6:18: services.api.http.path: '/a b' is not an absolute path (e.g. /healthz)",
    ),
    "status-out-of-range": (
        "    http: {status: 99}\n",
        "6:20: services.api.http.status: 99 is outside 100-599",
    ),
    "status-as-text": (
        "    http: {status: '200'}\n",
        "6:20: services.api.http.status: expected an HTTP status (100-599) or a list of them,"
        " got the string '200'",
    ),
    "status-in-a-list-out-of-range": (
        "    http: {status: [200, 600]}\n",
        "6:26: services.api.http.status[1]: 600 is outside 100-599",
    ),
    "not-a-mapping": (
        "    http: /healthz\n",
        "6:11: services.api.http: expected an http check (a mapping with path, status, tls) or"
        " a list of them, got the string '/healthz'",
    ),
    "empty-list": ("    http: []\n", "6:11: services.api.http: must list at least one entry"),
    "unknown-key": (
        "    http: {pth: /}\n",
        "6:12: unknown key 'pth' in services.api.http (did you mean 'path'?)",
    ),
    "unknown-tls-key": (
        "    http: {tls: {verfy: false}}\n",
        "6:18: unknown key 'verfy' in services.api.http.tls (did you mean 'verify'?)",
    ),
    "tls-as-text": (
        "    http: {tls: yes please}\n",
        "6:17: services.api.http.tls: expected true, false, or a mapping with ca or verify,"
        " got the string 'yes please'",
    ),
    "ca-missing": (
        "    http: {tls: {ca: nope.pem}}\n",
        "6:22: services.api.http.tls.ca: no CA file at {dir}/nope.pem",
    ),
    "ca-and-no-verify": (
        "    http: {tls: {ca: inv.yml, verify: false}}\n",
        "6:22: services.api.http.tls.ca: a CA file is not used when verify is false: give one"
        " or the other",
    ),
    "bad-vhost": (
        "    http: {vhost: 'a b'}\n",
        "6:19: services.api.http.vhost: 'a b' is not a DNS name or an IP address",
    ),
    "same-get-twice": (
        "    http:\n      - {path: /}\n      - {path: /, port: 443}\n",
        "8:9: services.api.http[1]: a second GET of / on port 443 (the first is at line 7):"
        " give it another path or port",
    ),
}


@pytest.mark.parametrize(("text", "expected"), MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistake_is_one_message_at_its_place(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(SERVICE + text)
    with pytest.raises(InventoryError) as caught:
        load_inventories([str(path)])
    where = expected.format(dir=tmp_path.resolve())
    assert str(caught.value) == f"{path}:{where}"
