"""Run a command and report its own peak RSS: `peak_rss.py OUT -- ARGV...`.

wait4()'s ru_maxrss for a child includes the high-water mark of the memory it was
started from: Python starts children with vfork, so the child shares the benchmark's
own memory until exec, and the kernel keeps that peak in the child's figure (the
benchmark process, grown to ~200 MB, showed up as the RSS of every pytest run). This
small interpreter sits in between: what it starts inherits its few MB, not the
benchmark's. The child's ru_maxrss (KB; with its waited-for descendants, such as
xdist workers) is written to OUT; the exit status is the child's.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    out, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: peak_rss.py OUT -- ARGV...")
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    with open(out, "w") as file:
        file.write(f"{usage.ru_maxrss}\n")
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
