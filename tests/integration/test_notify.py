#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What systemd hears on NOTIFY_SOCKET: READY=1 once serving, RELOADING=1
then READY=1 around SIGHUP, WATCHDOG=1 pings, STOPPING=1 on SIGTERM.

The socket is ours (a unix datagram socket in the test's directory),
playing the service manager's part, which is exactly the protocol
sd_notify(3) speaks; no systemd is needed to listen to it."""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, fail, log  # noqa: E402

P = halectx.require("haled", "mkcert", "dbus-daemon", "busctl")


class Notify:
    def __init__(self, h):
        self.path = os.path.join(h.tmp, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []  # (monotonic time, {key: value})

    def close(self):
        self.sock.close()

    def receive(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return None
        fields = dict(l.split("=", 1) for l in data.decode().splitlines() if "=" in l)
        self.messages.append((time.monotonic(), fields))
        return fields

    def wait_for(self, key, value="1", timeout=halectx.DEFAULT_TIMEOUT, skip=("WATCHDOG",)):
        """Returns (fields, seconds) of the first message with key=value;
        fails on a message with another state first (keys not in @skip)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            fields = self.receive(timeout - (time.monotonic() - start))
            if fields is None:
                break
            if fields.get(key) == value:
                return fields, time.monotonic() - start
            unexpected = [k for k in fields if k not in skip and k not in ("STATUS", "MONOTONIC_USEC")]
            if unexpected:
                fail("waiting for %s=%s, got %r first" % (key, value, fields))
        fail("no %s=%s on NOTIFY_SOCKET within %.0f s (got %r)" % (key, value, timeout, self.messages))


def start(h, n, env_extra=None, argv_prefix=()):
    cert = h.mkcert("current.pem", "8b9c0d1e", days=90)
    env = {"NOTIFY_SOCKET": n.path}
    env.update(env_extra or {})
    h.start_haled(lambda: h.config_text([("current", cert)]), env=env, wait=False,
                  argv_prefix=argv_prefix)


def test_ready_reload_stopping():
    with halectx.Hale(P, "notify") as h:
        n = Notify(h)
        try:
            start(h, n)
            fields, took = n.wait_for("READY")
            log("READY=1 %.3f s after exec (STATUS=%s)" % (took, fields.get("STATUS")))
            # READY=1 means serving: the name is owned and HTTP answers
            # the moment it arrives, without waiting.
            check(h.name_owned(), "READY=1 before %s was owned" % halectx.BUS_NAME)
            check(h.http_answers(), "READY=1 before HTTP answered")

            h.signal(signal.SIGHUP)
            t0 = time.monotonic()
            n.wait_for("RELOADING", timeout=5)
            fields, took = n.wait_for("READY", timeout=5)
            log("SIGHUP: RELOADING=1 then READY=1 after %.3f s" % (time.monotonic() - t0))

            h.stop_haled()
            fields, _ = n.wait_for("STOPPING", timeout=1)
        finally:
            n.close()


def test_watchdog_pings():
    with halectx.Hale(P, "watchdog") as h:
        n = Notify(h)
        try:
            # WATCHDOG_PID unset: sd_watchdog_enabled() takes the
            # watchdog as meant for us.
            start(h, n, {"WATCHDOG_USEC": "200000"})
            n.wait_for("READY")
            pings = []
            end = time.monotonic() + 1.2
            while time.monotonic() < end:
                fields = n.receive(end - time.monotonic())
                if fields and fields.get("WATCHDOG") == "1":
                    pings.append(time.monotonic())
            gaps = [b - a for a, b in zip(pings, pings[1:])]
            log("%d WATCHDOG=1 pings in 1.2 s; largest gap %.3f s"
                % (len(pings), max(gaps) if gaps else float("nan")))
            # Every 100 ms (half of 200 ms): at least 6 in 1.2 s on a loaded
            # machine, and never a gap that would trip the watchdog.
            check(len(pings) >= 6, "only %d WATCHDOG=1 pings in 1.2 s" % len(pings))
            check(max(gaps) < 0.2, "a gap of %.3f s between pings trips WatchdogSec=200ms" % max(gaps))
            h.stop_haled()
        finally:
            n.close()


def test_watchdog_pid():
    """WATCHDOG_PID names the process the watchdog is for: haled pings
    when it is its own PID (a shell exports its PID, then execs haled) and
    not when it is another's."""
    with halectx.Hale(P, "watchdog-pid") as h:
        n = Notify(h)
        try:
            start(h, n, {"WATCHDOG_USEC": "200000"},
                  argv_prefix=["sh", "-c", 'export WATCHDOG_PID=$$; exec "$@"', "sh"])
            n.wait_for("READY")
            fields, took = n.wait_for("WATCHDOG", timeout=2)
            log("first WATCHDOG=1 with WATCHDOG_PID=own pid after %.3f s" % took)
            h.stop_haled()
        finally:
            n.close()

    with halectx.Hale(P, "watchdog-other") as h:
        n = Notify(h)
        try:
            start(h, n, {"WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid())})
            n.wait_for("READY")
            end = time.monotonic() + 0.6
            while time.monotonic() < end:
                fields = n.receive(end - time.monotonic())
                check(not (fields and "WATCHDOG" in fields),
                      "WATCHDOG=1 although WATCHDOG_PID is another process's")
            h.stop_haled()
        finally:
            n.close()


if __name__ == "__main__":
    halectx.run([test_ready_reload_stopping, test_watchdog_pings, test_watchdog_pid])
