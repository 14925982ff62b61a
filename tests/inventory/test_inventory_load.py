"""Good inventories: the bundled ones, ${VAR} typing, merging, defaults and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_conntriage.inventory import InventoryError, load_inventories
from pytest_conntriage.inventory.addresses import parse_resolver
from pytest_conntriage.inventory.durations import parse_duration
from pytest_conntriage.inventory.interpolate import InterpolationError, interpolate
from pytest_conntriage.inventory.model import (
    DnsMatch,
    Inventory,
    Location,
    Policy,
    Resolver,
)

INVENTORIES = Path(__file__).parents[2] / "inventories"


def load(tmp_path: Path, text: str, **environ: str) -> Inventory:
    path = tmp_path / "inv.yml"
    path.write_text(text)
    return load_inventories([str(path)], environ)


def test_the_demo_inventory_loads() -> None:
    path = str(INVENTORIES / "demo.yml")
    inventory = load_inventories([path], {})
    assert inventory.sources == (path,)
    assert [s.name for s in inventory.services] == [
        "web",
        "api",
        "queue",
        "billing",
        "legacy",
        "deploy-gate",
    ]
    assert inventory.defaults.policy == Policy(timeout=1.0)
    assert inventory.defaults.resolvers == (Resolver("127.0.0.35", 5353),)
    web = inventory.services[0]
    assert web.dns.expect == ("127.0.0.2",)
    assert web.dns.resolvers == (Resolver("127.0.0.35", 5353),)
    assert web.tags == ("demo",)
    assert web.location == Location(path, 14, 3)
    assert web.port_locations == (Location(path, 16, 13),)
    assert inventory.hosts["loopback"].connection == "local://"
    assert [s.host for s in inventory.services] == [None, "loopback", "loopback", None, None, None]
    assert inventory.services[-1].policy == Policy(timeout=1.0, wait=10.0)
    assert [rule.ports for rule in inventory.closed] == [(2222,), (9090,)]
    assert inventory.closed[0].location == Location(path, 53, 5)
    assert inventory.closed[0].resolvers == inventory.defaults.resolvers


@pytest.mark.parametrize(
    ("environ", "metrics"),
    [({}, "metrics.example.com"), ({"METRICS_HOST": "10.0.0.9"}, "10.0.0.9")],
)
def test_the_example_production_inventory_loads(environ: dict[str, str], metrics: str) -> None:
    path = str(INVENTORIES / "prod.yml")
    inventory = load_inventories([path], environ)
    services = {s.name: s for s in inventory.services}
    assert services["metrics"].address == metrics
    assert services["metrics"].policy == Policy(timeout=0.5, retries=1, wait=120.0)
    api = services["api"]
    assert api.ports == (443, 8443)
    assert api.port_location(8443) == Location(path, 21, 18)
    assert (api.host, api.unit, api.listen) == ("web-1", "nginx", "0.0.0.0")
    assert api.vantages == ("local", "web-1")
    assert api.dns.resolvers == (Resolver("192.0.2.53"), Resolver("192.0.2.54", 5353))
    assert services["postgres"].vantages == ("web-1",)
    assert inventory.hosts["web-1"].sudo is True
    assert inventory.hosts["db-1"].sudo is False
    assert inventory.hosts["db-1"].location == Location(path, 15, 3)
    assert inventory.closed[0].vantages == ("local",)


def test_the_environment_defaults_to_os_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNTRIAGE_TEST_HOST", "api.example.org")
    path = tmp_path / "inv.yml"
    path.write_text(
        "version: 1\nservices:\n  s:\n    address: ${CONNTRIAGE_TEST_HOST}\n    ports: [1]\n"
    )
    assert load_inventories([str(path)]).services[0].address == "api.example.org"


def test_a_whole_unquoted_reference_takes_the_type_of_its_value(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "defaults:\n  retries: ${RETRIES}\n  timeout: ${TIMEOUT}\n"
        "hosts:\n  h:\n    connection: ssh://h\n    sudo: ${SUDO}\n"
        "services:\n"
        "  web:\n    address: ${HOST:-web.example.com}\n    ports: [${PORT}, 9${PORT}]\n"
        "    unit: x-${PORT}\n    tags: [${TAG}]\n"
    )
    env = {"RETRIES": "2", "TIMEOUT": "1.5", "SUDO": "true", "PORT": "80", "TAG": "edge"}
    inventory = load(tmp_path, text.replace(", 9${PORT}", ""), **env)
    web = inventory.services[0]
    assert web.ports == (80,)
    assert isinstance(web.ports[0], int)
    assert web.unit == "x-80"  # partly interpolated: stays a string
    assert web.address == "web.example.com"
    assert web.tags == ("edge",)
    assert inventory.defaults.policy == Policy(timeout=1.5, retries=2)
    assert inventory.hosts["h"].sudo is True


def test_a_value_cannot_add_yaml_structure(tmp_path: Path) -> None:
    text = "version: 1\nservices:\n  web:\n    address: ${HOST}\n    ports: [80]\n"
    # The value is one string, checked as an address, never parsed as YAML.
    with pytest.raises(InventoryError) as excinfo:
        load(tmp_path, text, HOST="a.example\n    ports: [1, 2]")
    assert excinfo.value.message == (
        "services.web.address: 'a.example\\n    ports: [1, 2]' is not a DNS name or an IP"
        " address (ports go in 'ports') (from '${HOST}')"
    )
    with pytest.raises(InventoryError, match="'\\[a, b\\]' is not a DNS name"):
        load(tmp_path, text, HOST="[a, b]")


def test_references_parse_inside_flow_collections(tmp_path: Path) -> None:
    text = (
        "version: 1\nservices: {web: {address: '${H}', ports: [${P:-1}, ${Q}],"
        " dns: {expect: [${IP:-192.0.2.1}]}}}\n"
    )
    web = load(tmp_path, text, H="a.example", Q="2").services[0]
    assert (web.ports, web.dns.expect) == ((1, 2), ("192.0.2.1",))


def test_dollar_dollar_is_a_literal_dollar(tmp_path: Path) -> None:
    text = (
        "version: 1\nhosts:\n  h:\n"
        "    connection: ssh://u@h?sudo_user=$${NOT_A_VAR}&context=$$&namespace=$HOME\n"
    )
    host = load(tmp_path, text).hosts["h"]
    assert host.connection == "ssh://u@h?sudo_user=${NOT_A_VAR}&context=$&namespace=$HOME"


@pytest.mark.parametrize(
    ("text", "environ", "expected", "whole"),
    [
        ("${A}", {"A": "1"}, "1", True),
        ("${A:-b}", {}, "b", True),
        ("${A:-b}", {"A": ""}, "b", True),  # as in the shell, empty takes the default
        ("${A}", {"A": ""}, "", True),
        ("x-${A}", {"A": "1"}, "x-1", False),
        ("${A}${B}", {"A": "1", "B": "2"}, "12", False),
        ("$$", {}, "$", False),
        ("$${A}", {}, "${A}", False),
        ("cost: $5", {}, "cost: $5", False),
        ("${A:-http://x:8080/}", {}, "http://x:8080/", True),
    ],
)
def test_interpolate(text: str, environ: dict[str, str], expected: str, whole: bool) -> None:
    result = interpolate(text, environ)
    assert (result.text, result.whole) == (expected, whole)


def test_interpolate_rejects_what_it_cannot_substitute() -> None:
    with pytest.raises(InterpolationError, match="not set in the environment"):
        interpolate("${MISSING}", {})
    with pytest.raises(InterpolationError, match="not closed"):
        interpolate("${OPEN", {})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("2s", 2.0), ("1.5s", 1.5), ("1m", 60.0), ("1.5m", 90.0), ("1h", 3600.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bare_numbers_are_seconds() -> None:
    assert parse_duration(2) == 2.0
    assert parse_duration(0.25) == 0.25
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("2m30s")


@pytest.mark.parametrize(
    ("text", "resolver"),
    [
        ("192.0.2.53", Resolver("192.0.2.53")),
        ("192.0.2.53:5353", Resolver("192.0.2.53", 5353)),
        ("2001:db8::53", Resolver("2001:db8::53")),
        ("[2001:DB8::53]:5353", Resolver("2001:db8::53", 5353)),
        ("[2001:db8::53]", Resolver("2001:db8::53")),
    ],
)
def test_resolvers(text: str, resolver: Resolver) -> None:
    assert parse_resolver(text) == resolver


def test_two_files_merge(tmp_path: Path) -> None:
    (tmp_path / "fleet.yml").write_text(
        "version: 1\ndefaults:\n  timeout: 2s\n"
        "hosts:\n  web-1:\n    connection: ssh://deploy@web-1\n"
        "closed:\n  - address: 192.0.2.20\n    ports: [22]\n"
    )
    (tmp_path / "team.yml").write_text(
        "version: 1\ndefaults:\n  timeout: 2000ms\n  retries: 1\n"
        "services:\n  api:\n    address: api.example.com\n    ports: [443]\n    host: web-1\n"
        "    from: [web-1]\n"
        "closed:\n  - address: 192.0.2.21\n    ports: [5432]\n"
    )
    paths = [str(tmp_path / "fleet.yml"), str(tmp_path / "team.yml")]
    inventory = load_inventories(paths, {})
    assert inventory.sources == tuple(paths)
    assert inventory.defaults.policy == Policy(timeout=2.0, retries=1)
    assert list(inventory.hosts) == ["web-1"]
    (api,) = inventory.services
    assert (api.host, api.vantages, api.policy) == ("web-1", ("web-1",), Policy(2.0, 1))
    assert api.location.path == paths[1]
    assert [(r.address, r.location.path) for r in inventory.closed] == [
        ("192.0.2.20", paths[0]),
        ("192.0.2.21", paths[1]),
    ]
    # The same file twice is read once, where it first appears.
    assert load_inventories([*paths, paths[0]], {}).sources == tuple(paths)


def test_entries_override_the_defaults(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "defaults:\n  timeout: 2s\n  retries: 1\n  wait: 5s\n  resolvers: [192.0.2.53]\n"
        "  from: [local, web-1]\n"
        "hosts:\n  web-1:\n    connection: ssh://web-1\n"
        "services:\n"
        "  plain:\n    address: a.example\n    ports: [1]\n"
        "  tuned:\n    address: b.example\n    ports: [2]\n    timeout: 500ms\n    retries: 0\n"
        "    from: [web-1]\n    idle: 30s\n"
        "    dns:\n      resolvers: ['[2001:db8::53]:5353']\n      match: contains\n"
        "  system:\n    address: c.example\n    ports: [3]\n    dns:\n      resolvers: []\n"
        "closed:\n  - address: d.example\n    ports: [4]\n    wait: 0\n"
        "  - address: e.example\n    ports: [5]\n    resolvers: ['192.0.2.54:5353']\n"
    )
    inventory = load(tmp_path, text)
    plain, tuned, system = inventory.services
    assert plain.policy == Policy(timeout=2.0, retries=1, wait=5.0)
    assert plain.vantages == ("local", "web-1")
    assert plain.dns.resolvers == (Resolver("192.0.2.53"),)
    assert (plain.idle, plain.dns.match) == (0.0, DnsMatch.EXACT)
    assert tuned.policy == Policy(timeout=0.5, retries=0, wait=5.0)
    assert tuned.vantages == ("web-1",)
    assert tuned.dns.resolvers == (Resolver("2001:db8::53", 5353),)
    assert (tuned.idle, tuned.dns.match) == (30.0, DnsMatch.CONTAINS)
    assert system.dns.resolvers == ()  # [] = the system resolver, whatever the default
    assert inventory.closed[0].policy == Policy(timeout=2.0, retries=1, wait=0.0)
    assert inventory.closed[0].resolvers == (Resolver("192.0.2.53"),)
    assert inventory.closed[1].resolvers == (Resolver("192.0.2.54", 5353),)


def test_no_defaults_means_the_documented_ones(tmp_path: Path) -> None:
    inventory = load(tmp_path, "version: 1\nservices:\n  s:\n    address: ::1\n    ports: [1]\n")
    assert inventory.defaults.policy == Policy(timeout=2.0, retries=0, wait=0.0)
    assert inventory.defaults.vantages == ("local",)
    assert inventory.defaults.evidence_timeout == 10.0
    assert inventory.services[0].dns.resolvers == ()
    assert inventory.hosts == {}


def test_the_evidence_timeout_is_a_default(tmp_path: Path) -> None:
    text = "version: 1\ndefaults:\n  evidence_timeout: 2500ms\n"
    assert load(tmp_path, text).defaults.evidence_timeout == 2.5
    with pytest.raises(InventoryError, match=r"inv.yml:3:21: .*evidence_timeout"):
        load(tmp_path, "version: 1\ndefaults:\n  evidence_timeout: 0s\n")


def test_anchors_and_merge_keys(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "x-web: &web\n  ports: [80, 443]\n  timeout: 1s\n  tags: [web]\n"
        "services:\n"
        "  a:\n    <<: *web\n    address: a.example\n"
        "  b:\n    address: b.example\n    <<: *web\n    timeout: 3s\n"
    )
    a, b = load(tmp_path, text).services
    assert (a.ports, a.policy.timeout, a.tags) == ((80, 443), 1.0, ("web",))
    assert (b.ports, b.policy.timeout) == ((80, 443), 3.0)
    assert a.port_locations[0].line == 3  # where the anchored value was written


def test_empty_sections_are_allowed(tmp_path: Path) -> None:
    inventory = load(tmp_path, "version: 1\ndefaults:\nhosts:\nservices:\nclosed:\n")
    assert (inventory.services, inventory.closed, inventory.hosts) == ((), (), {})


def test_a_document_validated_already_is_not_validated_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an xdist worker does with the controller's digests: skip the schema for the
    same document, and only for it."""
    import pytest_conntriage.inventory.load as load

    path = tmp_path / "inv.yml"
    path.write_text("version: 1\nservices:\n  api:\n    address: 127.0.0.3\n    ports: [${PORT}]\n")
    first = load_inventories([str(path)], {"PORT": "8080"})
    assert len(first.digests) == 1

    def schema_runs(document: object, kinds: object = None) -> None:
        raise AssertionError("validated again")

    monkeypatch.setattr(load, "validate", schema_runs)
    again = load_inventories([str(path)], {"PORT": "8080"}, validated=first.digests)
    assert again.services == first.services
    # Other data (here: another value interpolated) is another document: validated.
    with pytest.raises(AssertionError, match="validated again"):
        load_inventories([str(path)], {"PORT": "9090"}, validated=first.digests)


def test_the_digest_is_the_text_and_the_values_its_references_took() -> None:
    from pytest_conntriage.inventory.load import _digest
    from pytest_conntriage.marked_yaml import load_document

    def digest(text: str, port: str) -> str:
        document = load_document(text, "inv.yml", lambda value: (value.replace("$P", port), True))
        return _digest(text, document)

    text = "version: 1\nx-a: [$P]\n"
    assert len(digest(text, "80")) == 64
    assert digest(text, "80") == digest(text, "80")
    assert digest(text, "80") != digest(text, "81")  # another value: another document
    assert digest(text, "80") != digest(text + "x-b: 1\n", "80")
