"""Stand-ins for the evidence tests: fake tools on PATH, and a runner that finds them
first (optionally as another user, optionally with systemd seemingly running)."""

from __future__ import annotations

from pathlib import Path

from pytest_conntriage.evidence.runner import LocalRunner, RunResult, render


class Tools:
    """A directory of fake commands, put first on PATH by ToolRunner. World-readable, so
    the batch can also run as an unprivileged user."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, name: str, script: str) -> Path:
        tool = self.path / name
        tool.write_text("#!/bin/sh\n" + script)
        tool.chmod(0o755)
        return tool


class ToolRunner:
    """A LocalRunner whose commands find the fake tools first; optionally as user nobody,
    optionally with systemd "running" (a private /run with /run/systemd/system, in a
    mount namespace of its own: the machine's /run is never touched)."""

    def __init__(
        self, tools: Tools, timeout: float = 20.0, *, user: str | None = None, systemd: bool = False
    ) -> None:
        self.local = LocalRunner(timeout)
        self.tools, self.user, self.systemd = tools, user, systemd

    def run(self, command: str, *args: str) -> RunResult:
        inner = render(command, args)
        setup = 'PATH="$1:$PATH"; export PATH; '
        if self.user is not None:
            setup += 'exec setpriv --reuid="$2" --regid="$2" --clear-groups sh -c "$3"'
        else:
            setup += 'exec sh -c "$3"'
        user = self.user or "root"
        if self.systemd:
            wrapped = "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && " + setup
            return self.local.run(
                "unshare --mount sh -c %s sh %s %s %s", wrapped, str(self.tools.path), user, inner
            )
        return self.local.run("sh -c %s sh %s %s %s", setup, str(self.tools.path), user, inner)
