#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""halectl's bash completion, typed into a real interactive bash.

bash runs in a tmux of its own (a private server socket, stopped on the
way out); the test types as a person would, with Tab, and reads the
screen: `halectl rel<Tab>` becomes `halectl reload`, and `halectl --user
reload <Tab><Tab>` lists the services of the running haled.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, log, wait_until  # noqa: E402

P = halectx.require("haled", "halectl", "mkcert", "dbus-daemon", "busctl", "tmux", "bash")

COMPLETION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                          "bash-completion", "halectl")


class Tmux:
    """An interactive bash in a detached tmux on a private socket."""

    def __init__(self, h):
        self.h = h
        self.socket = os.path.join(h.tmp, "tmux.sock")
        self.env = h.env({"PATH": os.path.dirname(P["halectl"]) + os.pathsep + os.environ["PATH"],
                          "TERM": "xterm", "PS1": "$ ", "HISTFILE": "/dev/null"})
        self.env.pop("TMUX", None)

    def tmux(self, *args, check_rc=True):
        r = subprocess.run([P["tmux"], "-S", self.socket] + list(args), env=self.env,
                           capture_output=True, text=True, timeout=10)
        if check_rc:
            check(r.returncode == 0, "tmux %s failed: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def __enter__(self):
        # -f /dev/null: no user tmux.conf; bash without rc files, so only
        # our completion is loaded.
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "30",
                  P["bash"] + " --norc --noprofile -i")
        wait_until(lambda: self.screen().strip(), what="bash's prompt in tmux")
        return self

    def __exit__(self, *exc):
        self.tmux("kill-server", check_rc=False)
        return False

    def screen(self):
        return self.tmux("capture-pane", "-p")

    def type(self, *keys):
        self.tmux("send-keys", *keys)

    def run(self, line):
        """Types @line and Enter, and waits for the prompt after it."""
        marker = "done-%d" % time.monotonic_ns()
        self.type(line + "; echo " + marker, "Enter")
        wait_until(lambda: any(l.strip() == marker for l in self.screen().splitlines()),
                   what="%r to run in bash" % line, on_timeout=self.screen)

    def clear(self):
        self.type("C-u")
        self.run("clear")


def test_completion():
    with halectx.Hale(P, "completion") as h:
        cert = h.mkcert("current.pem", "0a1b2c3d", days=60)
        extra = ("\n[Service alpha-web]\nUnit=alpha-web.service\n"
                 "\n[Service beta-api]\nUnit=beta-api.service\n")
        h.start_haled(lambda: h.config_text([("current", cert)], extra=extra))

        with Tmux(h) as t:
            t.run("source " + COMPLETION)
            t.clear()

            # A command, from halectl's own table.
            t.type("halectl rel", "Tab")
            _, took = wait_until(lambda: "halectl reload" in t.screen(),
                                 what="`halectl rel<Tab>` to become `halectl reload`",
                                 on_timeout=t.screen)
            log("halectl rel<Tab> completed in %.3f s" % took)

            # Options.
            t.clear()
            t.type("halectl --u", "Tab")
            wait_until(lambda: "halectl --user" in t.screen(),
                       what="`halectl --u<Tab>` to become `halectl --user`", on_timeout=t.screen)

            # Service names, from the running haled.
            t.clear()
            t.type("halectl --user reload ", "Tab", "Tab")
            screen, took = wait_until(
                lambda: (lambda s: s if "alpha-web" in s and "beta-api" in s else None)(t.screen()),
                what="`halectl --user reload <Tab><Tab>` to list the services",
                on_timeout=t.screen)
            log("services listed in %.3f s:\n%s" % (took, screen.rstrip()))

            # One is completed in full from its prefix.
            t.type("C-u")
            t.clear()
            t.type("halectl --user reload be", "Tab")
            wait_until(lambda: "halectl --user reload beta-api" in t.screen(),
                       what="`reload be<Tab>` to become `reload beta-api`", on_timeout=t.screen)

            # Nothing but services after reload: no second argument.
            t.type("C-u")
            t.clear()
            t.type("halectl --user reload beta-api ", "Tab", "Tab")
            time.sleep(0.5)
            check("alpha-web" not in t.screen(),
                  "a second service was offered after `reload beta-api`:\n" + t.screen())

        h.stop_haled()


def test_no_daemon():
    """Without a haled, completing a service neither hangs nor prints an
    error over the command line."""
    with halectx.Hale(P, "completion-none") as h:
        with Tmux(h) as t:
            t.run("source " + COMPLETION)
            t.clear()
            start = time.monotonic()
            # bash reads keys in order: once the X shows, completion is over.
            t.type("halectl --user reload ", "Tab", "Tab", "X")
            screen, took = wait_until(
                lambda: (lambda s: s if "reload X" in s else None)(t.screen()),
                what="bash to take keys again after <Tab><Tab>", on_timeout=t.screen)
            log("screen:\n" + screen.rstrip())
            check(took < 5, "completion without haled took %.1f s" % took)
            check("rror" not in screen and "not running" not in screen,
                  "completion printed an error:\n" + screen)


if __name__ == "__main__":
    halectx.run([test_completion, test_no_daemon])
