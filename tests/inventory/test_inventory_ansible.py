"""hosts_from: {ansible: FILE}: hosts and groups read by the real ansible-core
(`ansible-inventory --list` in a child), `group:NAME` expanded to one check per host,
and no secret of the Ansible inventory in any output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_conntriage.demo.listeners import OpenListener, closed_port
from pytest_conntriage.inventory import InventoryError, load_inventories
from pytest_conntriage.inventory import ansible as ansible_inventory
from pytest_conntriage.inventory.ansible import AnsibleError, hosts

pytestmark = pytest.mark.skipif(
    not ansible_inventory.installed(), reason="ansible-core (the [ansible] extra) is not installed"
)

SECRET = "AnsPw-S3cret-41b7"  # ansible_password
BECOME_SECRET = "BecomePw-S3cret-93c2"  # ansible_become_password
# `ansible-vault encrypt_string 'VaultPlain-9c1e' --name ansible_user` with the password
# VAULT_PASSWORD: a vault value conntriage must never use, decrypt or show.
VAULT_PASSWORD = "vault-pw-for-tests"
VAULT_PLAIN = "VaultPlain-9c1e"
VAULTED = """!vault |
          $ANSIBLE_VAULT;1.1;AES256
          62393836353365363630313565643235373531303765386430303831376366333030376466336236
          6364373538313263326165356232636131333765316433650a343432323865306534326638363333
          38303432613862613062376234333630316230626465383032373462376464613239623262343937
          6361343530393766660a613130666537383636356539636231353163393761633936393734333732
          3536"""
CIPHER = "6364373538313263326165356232636131333765316433650a343432323865306534326638363333"

# The same hosts and groups, in ansible's two inventory forms.
INI = """\
[web]
web-1 ansible_host=127.0.0.2 ansible_port=2222 ansible_user=deploy
web-2 ansible_connection=local

[db]
db-1 ansible_host=::1 ansible_connection=paramiko

[backend:children]
db

[web:vars]
ansible_ssh_private_key_file=/keys/id web
"""
YAML = """\
all:
  children:
    web:
      hosts:
        web-1: {ansible_host: 127.0.0.2, ansible_port: 2222, ansible_user: deploy}
        web-2: {ansible_connection: local}
      vars:
        ansible_ssh_private_key_file: /keys/id web
    backend:
      children:
        db:
          hosts:
            db-1: {ansible_host: "::1", ansible_connection: paramiko}
"""
GROUP_VARS = "ansible_become: yes\n"  # group_vars/web.yml, beside either file


def _ansible_dir(tmp: Path, form: str = "ini") -> Path:
    (tmp / "group_vars").mkdir(exist_ok=True)
    (tmp / "group_vars" / "web.yml").write_text(GROUP_VARS)
    name = "hosts.ini" if form == "ini" else "hosts.yml"
    (tmp / name).write_text(INI if form == "ini" else YAML)
    return tmp / name


def _inventory(path: Path, ansible_file: str, services: str = "") -> Path:
    path.write_text(f"version: 1\nhosts_from:\n  ansible: {ansible_file}\n{services}")
    return path


@pytest.mark.parametrize("form", ["ini", "yaml"])
def test_both_forms_read_by_ansible_give_the_same_hosts_and_groups(
    tmp_path: Path, form: str
) -> None:
    (tmp_path / "ansible").mkdir()
    ansible_file = _ansible_dir(tmp_path / "ansible", form)
    # Relative to the inventory file, not to the working directory.
    inventory = _inventory(tmp_path / "inv.yml", f"ansible/{ansible_file.name}")
    loaded = load_inventories([str(inventory)])
    specs = {alias: (h.connection, h.sudo) for alias, h in loaded.hosts.items()}
    assert specs == {
        # ansible_become from group_vars/web.yml, the key file from [web:vars].
        "web-1": ("ssh://deploy@127.0.0.2:2222?ssh_identity_file=/keys/id%20web", True),
        "web-2": ("local://", True),
        "db-1": ("paramiko://[::1]", False),
    }
    assert all(str(h.location) == f"{inventory}:3:12" for h in loaded.hosts.values())
    # An xdist worker is handed what its controller read and uses it, not the file: the
    # same hosts and ids on every worker, whatever happens to the file meanwhile.
    assert list(loaded.ansible) == [str(ansible_file)]
    ansible_file.write_text("[other]\nother-1\n")
    again = load_inventories([str(inventory)], ansible_read=loaded.ansible)
    assert again.hosts == loaded.hosts
    assert again.ansible == loaded.ansible
    assert "id web" not in repr(again)  # what was read is never shown


def test_group_expands_to_one_check_per_host_with_the_host_in_its_id(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "ansible").mkdir()
    _ansible_dir(pytester.path / "ansible")
    services = """\
services:
  api:
    address: 127.0.0.1
    ports: [8080]
    host: group:web
    from: [local, group:backend]
closed:
  - address: 127.0.0.1
    ports: [5432]
    from: [group:all]
"""
    _inventory(pytester.path / "inv.yml", "ansible/hosts.ini", services)
    result = pytester.runpytest("--inventory", "inv.yml", "--collect-only", "-q")
    assert result.ret == 0, result.stdout.str()
    ids = [line for line in result.stdout.lines if line.startswith("inv.yml::")]
    assert ids == [
        "inv.yml::test_tcp[api:local->127.0.0.1:8080]",
        "inv.yml::test_tcp[api:db-1->127.0.0.1:8080]",
        "inv.yml::test_closed[web-1->127.0.0.1:5432]",
        "inv.yml::test_closed[web-2->127.0.0.1:5432]",
        "inv.yml::test_closed[db-1->127.0.0.1:5432]",
        "inv.yml::test_listening[api@web-1:8080]",
        "inv.yml::test_listening[api@web-2:8080]",
        "inv.yml::test_firewall[api@web-1:8080]",
        "inv.yml::test_firewall[api@web-2:8080]",
    ]


LOCAL_HOSTS = """\
[web]
web-1 ansible_connection=local
web-2 ansible_connection=local
"""


@pytest.mark.parametrize("mode", ["serial", "xdist"])
def test_checks_of_an_ansible_group_run_on_each_of_its_hosts(
    pytester: pytest.Pytester, mode: str
) -> None:
    # Real checks through the hosts ansible gave: ansible_connection=local is testinfra's
    # local backend, as a vantage (the probe runs there) and as the host the listening
    # check reads `ss` on. The second port has nothing listening: each host says so.
    (pytester.path / "hosts.ini").write_text(LOCAL_HOSTS)
    with OpenListener("127.0.0.1") as listener:
        closed = closed_port("127.0.0.1")
        services = f"""\
defaults: {{timeout: 2s}}
services:
  api:
    address: 127.0.0.1
    ports: [{listener.port}, {closed}]
    host: group:web
    from: [group:web]
"""
        _inventory(pytester.path / "inv.yml", "hosts.ini", services)
        extra = ("-n", "2") if mode == "xdist" else ()
        # In process, xdist's controller too: its -rA summary is what is read.
        result = pytester.runpytest_inprocess(
            "--inventory", "inv.yml", "-rA", "-p", "no:cacheprovider", *extra
        )
    outcomes = {
        line.split(" ", 1)[1].split(" - ")[0]: line.split(" ", 1)[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED "))
    }
    p, c = listener.port, closed
    assert outcomes == {
        f"inv.yml::test_tcp[api:web-1->127.0.0.1:{p}]": "PASSED",
        f"inv.yml::test_tcp[api:web-2->127.0.0.1:{p}]": "PASSED",
        f"inv.yml::test_tcp[api:web-1->127.0.0.1:{c}]": "FAILED",
        f"inv.yml::test_tcp[api:web-2->127.0.0.1:{c}]": "FAILED",
        f"inv.yml::test_listening[api@web-1:{p}]": "PASSED",
        f"inv.yml::test_listening[api@web-2:{p}]": "PASSED",
        f"inv.yml::test_listening[api@web-1:{c}]": "FAILED",
        f"inv.yml::test_listening[api@web-2:{c}]": "FAILED",
        f"inv.yml::test_firewall[api@web-1:{p}]": "PASSED",
        f"inv.yml::test_firewall[api@web-2:{p}]": "PASSED",
        f"inv.yml::test_firewall[api@web-1:{c}]": "PASSED",
        f"inv.yml::test_firewall[api@web-2:{c}]": "PASSED",
    }, result.stdout.str()
    assert result.ret == 1


def _error(pytester: pytest.Pytester, *args: str) -> str:
    result = pytester.runpytest("--inventory", "inv.yml", "-p", "no:cacheprovider", *args)
    assert result.ret == 4, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    return errors[0]


def test_an_unknown_group_is_named_where_it_is_written_with_the_nearest_groups(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "ansible").mkdir()
    _ansible_dir(pytester.path / "ansible")
    services = "services:\n  api:\n    address: 127.0.0.1\n    ports: [80]\n"
    _inventory(pytester.path / "inv.yml", "ansible/hosts.ini", services + "    host: group:wbe\n")
    assert _error(pytester) == (
        "ERROR: inv.yml:8:11: services.api.host: no group 'wbe' in the Ansible inventory"
        " (did you mean group:web?)"
    )
    (pytester.path / "inv.yml").write_text(
        "version: 1\nservices:\n  api:\n    address: 127.0.0.1\n    ports: [80]\n"
        "    from: [local, group:web]\n"
    )
    assert _error(pytester) == (
        "ERROR: inv.yml:6:19: services.api.from[1]: no group 'web' in any Ansible inventory;"
        " groups come from an Ansible inventory (hosts_from: {ansible: FILE})"
    )


def test_an_ansible_file_that_cannot_be_read_is_one_masked_line(
    pytester: pytest.Pytester,
) -> None:
    _inventory(pytester.path / "inv.yml", "nowhere.ini")
    error = _error(pytester)
    assert error.startswith(
        "ERROR: inv.yml:3:12: hosts_from.ansible: nowhere.ini: no Ansible inventory file at "
    )
    # ansible's own parse error, for a line that carries a password: masked.
    (pytester.path / "nowhere.ini").write_text(
        f"[web]\nweb-1 ansible_password={SECRET} ansible_port\n"
    )
    error = _error(pytester)
    assert error.startswith(
        "ERROR: inv.yml:3:12: hosts_from.ansible: nowhere.ini: ansible-inventory cannot read it:"
    )
    assert "Expected key=value host variable assignment" in error
    assert SECRET not in error


def test_without_ansible_core_the_error_names_hosts_from_and_the_extra(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (pytester.path / "hosts.ini").write_text(LOCAL_HOSTS)
    _inventory(pytester.path / "inv.yml", "hosts.ini")
    monkeypatch.setitem(sys.modules, "ansible", None)  # find_spec: not installed
    assert not ansible_inventory.installed()
    assert _error(pytester) == (
        "ERROR: inv.yml:3:12: hosts_from.ansible: hosts.ini: reading an Ansible inventory"
        " needs ansible-core: pip install 'pytest-conntriage[ansible]'"
    )


def test_an_alias_that_reads_as_a_group_reference_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text("version: 1\nhosts:\n  group:web: {connection: 'local://'}\n")
    with pytest.raises(InventoryError, match="begins a group reference"):
        load_inventories([str(path)])


# Secrets, end to end: a password in clear (it becomes the ssh spec's, masked as any),
# a become password (never used), and a vault-encrypted password and user (never
# decrypted). The user's ansible configuration would decrypt them and must not be read.
SECRET_HOSTS = f"""\
[web]
web-1 ansible_host=127.0.0.2 ansible_port={{port}} ansible_user=deploy ansible_password={SECRET}
web-2 ansible_connection=local ansible_become_password={BECOME_SECRET}
"""
SECRET_GROUP_VARS = f"ansible_password: {VAULTED}\n"  # group_vars/vaulted.yml


def _secret_files(pytester: pytest.Pytester, port: int) -> None:
    (pytester.path / "hosts.ini").write_text(
        SECRET_HOSTS.format(port=port)
        + f"\n[vaulted]\nweb-3 ansible_host=127.0.0.3 ansible_port={port}\n"
    )
    (pytester.path / "group_vars").mkdir()
    (pytester.path / "group_vars" / "vaulted.yml").write_text(SECRET_GROUP_VARS)


def _hostile_ansible_config(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's ansible configuration in every place ansible looks (~/.ansible.cfg,
    ./ansible.cfg, $ANSIBLE_CONFIG) that breaks ansible if read, and ANSIBLE_* variables
    that would decrypt vault values or run other inventory plugins."""
    home = pytester.path / "home"
    home.mkdir()
    broken = "this is [not\nan ini = file\n[[[\n"
    (home / ".ansible.cfg").write_text(broken)
    (pytester.path / "ansible.cfg").write_text(broken)
    (pytester.path / "pw").write_text(VAULT_PASSWORD + "\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ANSIBLE_CONFIG", str(home / ".ansible.cfg"))
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(pytester.path / "pw"))
    monkeypatch.setenv("ANSIBLE_INVENTORY_ENABLED", "host_list")


def everything(pytester: pytest.Pytester, *outputs: pytest.RunResult) -> str:
    """Every text the runs wrote: terminals and every file they left (reports, caches)."""
    texts = [r.stdout.str() + r.stderr.str() for r in outputs]
    for path in sorted(pytester.path.rglob("*")):
        if path.is_file() and path.suffix not in (".yml", ".ini", ".py") and path.name != "pw":
            texts.append(f"--- {path}\n{path.read_bytes().decode('utf-8', 'replace')}")
    return "\n".join(texts)


def test_no_secret_of_the_ansible_inventory_reaches_any_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hostile_ansible_config(pytester, monkeypatch)
    port = closed_port("127.0.0.2")
    _secret_files(pytester, port)
    services = f"""\
defaults: {{timeout: 1s, evidence_timeout: 5s}}
services:
  api:
    address: 127.0.0.2
    ports: [{port}]
    host: group:all
    from: [local, group:web]
"""
    _inventory(pytester.path / "inv.yml", "hosts.ini", services)
    loud = ("-l", "--tb=long", "-rA", "-vv", "-p", "cacheprovider")
    junit, dashboard = pytester.path / "junit.xml", pytester.path / "dashboard.xml"
    validated = pytester.runpytest("--inventory", "inv.yml", "--conntriage-validate")
    ran = pytester.runpytest_subprocess(
        "--inventory",
        "inv.yml",
        *loud,
        "--log-level=DEBUG",
        f"--junitxml={junit}",
        f"--conntriage-junit={dashboard}",
        timeout=300,
    )
    shown = everything(pytester, validated, ran)
    assert validated.ret == 0, shown[-4000:]
    assert ran.ret == 1, shown[-4000:]
    assert "host web-1 (inv.yml:3:12): ssh://deploy:***@127.0.0.2:" in validated.stdout.str()
    # Without the vaulted password, with no user: the spec is what is left.
    assert f"host web-3 (inv.yml:3:12): ssh://127.0.0.3:{port}\n" in validated.stdout.str()
    assert "web-3: ansible_password is vault-encrypted and is not decrypted" in shown
    assert "test_listening[api@web-3:" in shown  # every host of the group ran
    assert "test_listening[api@web-3:" in junit.read_text()
    for secret in (SECRET, BECOME_SECRET, VAULT_PLAIN, CIPHER, "$ANSIBLE_VAULT"):
        assert secret not in shown, secret


def test_a_vaulted_value_that_is_needed_is_refused_never_decrypted(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hostile_ansible_config(pytester, monkeypatch)
    (pytester.path / "hosts.ini").write_text("[web]\nweb-1 ansible_host=127.0.0.2\n")
    (pytester.path / "group_vars").mkdir()
    (pytester.path / "group_vars" / "web.yml").write_text(f"ansible_user: {VAULTED}\n")
    _inventory(pytester.path / "inv.yml", "hosts.ini")
    result = pytester.runpytest("--inventory", "inv.yml", "-p", "no:cacheprovider")
    shown = everything(pytester, result)
    assert result.ret == 4, shown
    assert (
        "ERROR: inv.yml:3:12: hosts_from.ansible: hosts.ini: host web-1: ansible_user is"
        " vault-encrypted; conntriage never decrypts vault values" in result.stderr.str()
    )
    for secret in (VAULT_PLAIN, CIPHER, "$ANSIBLE_VAULT"):
        assert secret not in shown, secret
    assert sorted(p.name for p in (pytester.path / "home").iterdir()) == [".ansible.cfg"]


# The mapping itself, from listings as ansible-inventory prints them.
def _listing(**hostvars: dict[str, Any]) -> dict[str, Any]:
    return {"_meta": {"hostvars": hostvars}, "all": {"hosts": list(hostvars)}}


@pytest.mark.parametrize(
    ("variables", "spec", "sudo"),
    [
        ({}, "ssh://h", False),
        ({"ansible_host": "fe80::1%eth0", "ansible_port": 22}, "ssh://[fe80::1%eth0]:22", False),
        ({"ansible_user": "a@b", "ansible_password": "p/w@"}, "ssh://a%40b:p%2Fw%40@h", False),
        ({"ansible_become": "yes", "ansible_become_method": "su"}, "ssh://h", False),
        ({"ansible_become": True, "ansible_connection": "ansible.builtin.local"}, "local://", True),
        (
            {"ansible_connection": "community.docker.docker", "ansible_user": "u"},
            "docker://u@h",
            False,
        ),
        ({"ansible_ssh_private_key_file": "~/k"}, "ssh://h?ssh_identity_file=", False),
    ],
)
def test_host_variables_become_a_testinfra_host_spec(
    variables: dict[str, Any], spec: str, sudo: bool
) -> None:
    (host,) = hosts(_listing(h=variables)).hosts
    assert host.connection.startswith(spec)
    assert host.sudo is sudo
    if "?" not in spec:
        assert host.connection == spec


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"ansible_connection": "winrm"}, "ansible_connection=winrm is not supported"),
        ({"ansible_host": "{{ lookup('env', 'X') }}"}, "ansible_host is a Jinja template"),
        ({"ansible_become": "maybe"}, "ansible_become=maybe is not true or false"),
        ({"ansible_host": "-oProxyCommand=x"}, "begins with '-'"),
        ({"ansible_user": {"__ansible_vault": "$ANSIBLE_VAULT;1.1"}}, "ansible_user is vault"),
        ({"ansible_port": 70000, "ansible_password": SECRET}, "not a number in 1-65535"),
    ],
)
def test_what_cannot_become_a_host_spec_is_an_error_without_secrets(
    variables: dict[str, Any], message: str
) -> None:
    with pytest.raises(AnsibleError, match=r"^host h") as caught:
        hosts(_listing(h=variables))
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)
    assert "$ANSIBLE_VAULT" not in str(caught.value)


def test_a_group_holds_its_children_hosts_in_ansible_order() -> None:
    listing = {
        "_meta": {"hostvars": {}},
        "all": {"children": ["ungrouped", "b", "a"]},
        "a": {"hosts": ["a1"], "children": ["c"]},
        "b": {"hosts": ["b1", "b2"]},
        "c": {"hosts": ["c1"], "children": ["a"]},  # a cycle ends where it began
        "ungrouped": {"hosts": ["u1"]},
    }
    read = hosts(listing)
    assert [h.name for h in read.hosts] == ["u1", "b1", "b2", "a1", "c1"]
    assert read.groups["all"] == ("u1", "b1", "b2", "a1", "c1")
    assert read.groups["a"] == ("a1", "c1")
    assert read.groups["c"] == ("c1", "a1")


def test_groups_of_several_files_merge_and_a_host_is_defined_once(tmp_path: Path) -> None:
    # Two inventories, each with its own Ansible file: a group both name holds the hosts
    # of both; an Ansible host with an alias already written under hosts: is an error.
    (tmp_path / "a.ini").write_text("[web]\nweb-1 ansible_connection=local\n")
    (tmp_path / "b.ini").write_text("[web]\nweb-2 ansible_connection=local\n")
    service = "services:\n  api:\n    address: 127.0.0.1\n    ports: [80]\n    from: [group:web]\n"
    first = _inventory(tmp_path / "a.yml", "a.ini", service)
    second = _inventory(tmp_path / "b.yml", "b.ini", "hosts:\n  web-3: {connection: 'local://'}\n")
    loaded = load_inventories([str(first), str(second)])
    assert loaded.services[0].vantages == ("web-1", "web-2")
    assert list(loaded.hosts) == ["web-1", "web-3", "web-2"]
    (tmp_path / "b.ini").write_text("[web]\nweb-3 ansible_connection=local\n")
    # a.ini as read before (as a worker would be handed it), b.ini read again.
    read_a = {path: read for path, read in loaded.ansible.items() if path.endswith("a.ini")}
    with pytest.raises(InventoryError, match=r"b\.yml:3:12: hosts\.web-3: already defined at"):
        load_inventories([str(first), str(second)], ansible_read=read_a)
