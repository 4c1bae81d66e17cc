#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""SIGHUP and --check-config: a broken configuration is reported and the
running one stays; a valid one is applied."""

import os
import re
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, fail, find_series, log, one_value  # noqa: E402

P = halectx.require("haled", "mkcert", "dbus-daemon", "busctl")


def reload_ok(h):
    return one_value(h.metrics(), "hale_config_last_reload_successful")


def test_broken_then_good_config():
    with halectx.Hale(P, "sighup") as h:
        cert = h.mkcert("current.pem", "7a8b9c0d", days=90)
        boot = h.mkcert("bootstrap.pem", "7a8b9c0e", days=10)
        good = lambda: h.config_text([("current", cert)])
        h.start_haled(good)
        ports = (h.metrics_port, h.health_port)
        check_equal(reload_ok(h), 1, "hale_config_last_reload_successful at start")

        # An unknown key: rejected, logged with the file, group and key.
        h.allowed_warnings = [r"rejected", r"SIGHUP", r"NoSuchKey", re.escape(h.config_path)]
        # It also moves the listeners, which must not happen either.
        h.pick_ports()
        new_ports = (h.metrics_port, h.health_port)
        h.write_config(good() + "NoSuchKey=1\n")  # inside [Certificate current]
        h.metrics_port, h.health_port = ports
        stderr_before = len(h.stderr_text())
        h.signal(signal.SIGHUP)
        _, took = halectx.wait_until(lambda: reload_ok(h) == 0, 5,
                                     "hale_config_last_reload_successful 0 after a broken SIGHUP",
                                     on_timeout=h.stderr_text)
        log("broken configuration rejected %.3f s after SIGHUP" % took)
        check(h.haled.poll() is None, "haled died on a broken configuration\n" + h.stderr_text())
        why = h.stderr_text()[stderr_before:]
        check("NoSuchKey" in why and "Certificate current" in why,
              "haled did not say which key was wrong:\n" + why)
        log("haled said:\n" + why.strip())
        # Still the old configuration, on the same ports, and nothing on
        # the ones the rejected file named.
        for port in new_ports:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                fail("haled listens on %d, from the rejected configuration" % port)
            except ConnectionRefusedError:
                pass
        parsed = h.metrics()
        check_equal({s[1]["type"] for s in find_series(parsed, "hale_certificate_expiry_seconds")},
                    {"current"}, "certificates served after the rejected reload")
        h.http_json("/health", 200)
        check(h.name_owned(), "bus name lost after the rejected reload")

        # A valid, changed configuration: a second certificate appears.
        h.write_config(h.config_text([("current", cert), ("bootstrap", boot)]))
        h.signal(signal.SIGHUP)
        _, took = halectx.wait_until(
            lambda: find_series(h.metrics(), "hale_certificate_expiry_seconds", type="bootstrap"),
            5, "hale_certificate_expiry_seconds{type=\"bootstrap\"} after SIGHUP",
            on_timeout=h.stderr_text)
        log("new certificate series appeared %.3f s after SIGHUP" % took)
        check_equal(reload_ok(h), 1, "hale_config_last_reload_successful after a good SIGHUP")
        expiry = one_value(h.metrics(), "hale_certificate_expiry_seconds", type="bootstrap")
        check(abs(expiry - 10 * 86400) < 120, "bootstrap expiry %r, want ~10 days" % expiry)
        _, report = h.http_json("/health", 200)
        check("certificate:bootstrap" in report["checks"],
              "no certificate:bootstrap in /health: %r" % sorted(report["checks"]))

        # And a certificate removed from the configuration goes away.
        h.write_config(h.config_text([("bootstrap", boot)]))
        h.signal(signal.SIGHUP)
        halectx.wait_until(
            lambda: not find_series(h.metrics(), "hale_certificate_expiry_seconds", type="current"),
            5, "the current certificate's series to go after it left the configuration",
            on_timeout=h.stderr_text)
        _, report = h.http_json("/health", 200)
        check("certificate:current" not in report["checks"],
              "certificate:current still in /health: %r" % sorted(report["checks"]))
        h.stop_haled()


def test_listeners_move_or_stay():
    """A reload that moves the listeners to a taken port is rejected whole
    (the old ones serve on); one that moves them to free ports is applied
    and the old ports close."""
    with halectx.Hale(P, "sighup-ports") as h:
        cert = h.mkcert("current.pem", "7a8b9c10", days=90)
        h.start_haled(lambda: h.config_text([("current", cert)]))
        old = (h.metrics_port, h.health_port)

        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        try:
            h.allowed_warnings = [r"rejected", r"SIGHUP", r"127\.0\.0\.1", r"[Aa]ddress"]
            h.metrics_port = taken.getsockname()[1]
            h.write_config(h.config_text([("current", cert)]))
            h.metrics_port, h.health_port = old
            h.signal(signal.SIGHUP)
            _, took = halectx.wait_until(lambda: reload_ok(h) == 0, 5,
                                         "the reload onto a taken port to be rejected",
                                         on_timeout=h.stderr_text)
            log("reload onto a taken port rejected after %.3f s" % took)
            h.http_json("/health", 200)
        finally:
            taken.close()

        h.pick_ports()
        h.write_config(h.config_text([("current", cert)]))
        h.signal(signal.SIGHUP)
        _, took = halectx.wait_until(lambda: h.http_answers(), 5,
                                     "/metrics on the new port after SIGHUP",
                                     on_timeout=h.stderr_text)
        log("listeners moved %.3f s after SIGHUP" % took)
        check_equal(reload_ok(h), 1, "hale_config_last_reload_successful after moving")
        h.http_json("/health", 200)
        for port in old:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                fail("haled still listens on the old port %d" % port)
            except ConnectionRefusedError:
                pass
        h.stop_haled()


def test_check_config():
    with halectx.Hale(P, "check-config") as h:
        cert = h.mkcert("current.pem", "7a8b9c0f", days=90)
        good = h.write_config(h.config_text([("current", cert)]),
                              os.path.join(h.tmp, "good.conf"))
        bad = h.write_config(h.config_text([("current", cert)])
                             + "NoSuchKey=1\n\n[Bogus]\nX=1\n",
                             os.path.join(h.tmp, "bad.conf"))
        r = subprocess.run([P["haled"], "--check-config", "--config", good], env=h.env(),
                           capture_output=True, text=True, timeout=30)
        check_equal(r.returncode, 0, "haled --check-config on a good file (output: %s%s)"
                    % (r.stdout, r.stderr))
        r = subprocess.run([P["haled"], "--check-config", "--config", bad], env=h.env(),
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0, "haled --check-config on a bad file exited 0")
        out = r.stdout + r.stderr
        lines = [l for l in out.splitlines() if l.startswith(bad + ":")]
        log("--check-config said:\n" + out.strip())
        check(any(l.startswith("%s:Certificate current:NoSuchKey: " % bad) for l in lines),
              "no '%s:Certificate current:NoSuchKey: ...' line in:\n%s" % (bad, out))
        check(any(re.match(re.escape(bad) + r":Bogus(:[^:]*)?: ", l) for l in lines),
              "no line about the unknown group [Bogus] in:\n%s" % out)
        # Starting on the bad file fails with the same reasons, at once.
        r = subprocess.run([P["haled"], "--user", "--config", bad], env=h.env(),
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0, "haled started on a bad configuration")
        check("NoSuchKey" in r.stderr, "haled did not say why it would not start:\n" + r.stderr)


if __name__ == "__main__":
    halectx.run([test_broken_then_good_config, test_listeners_move_or_stay, test_check_config])
