#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The certificate a service serves against the file: a real TLS server
on loopback (openssl s_server), a real systemd --user reloading its
unit, haled comparing the leaf it is shown with the one on disk."""

import os
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, log, wait_until  # noqa: E402
from halesys import Journald, SystemdHale, service_unit  # noqa: E402

P = halectx.require("haled", "mkcert", "dbus-daemon", "busctl", "journalctl", "systemctl",
                    "openssl")

# The unit's reload does nothing to the TLS server: whether it serves the
# new certificate is up to the test, as it is up to a real service.
UNITS = {"web.service": service_unit("/bin/true")}


class TlsServer:
    """openssl s_server on 127.0.0.1:PORT serving CERT with KEY."""

    def __init__(self, port, cert, key):
        self.proc = subprocess.Popen(
            ["openssl", "s_server", "-quiet", "-accept", "127.0.0.1:%d" % port,
             "-cert", cert, "-key", key, "-www", "-naccept", "1000"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answers():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                return False
        wait_until(answers, 10, "openssl s_server on port %d" % port)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


def mkcert(h, name, serial):
    """A certificate and its key, made beside the watched file and moved in
    later (or served from where they are)."""
    cert = os.path.join(h.tmp, name + ".pem")
    key = os.path.join(h.tmp, name + ".key")
    r = subprocess.run([h.programs["mkcert"], "--out", cert, "--key-out", key, "--serial", serial,
                        "--cn", "web.test", "--days", "90"], capture_output=True, text=True)
    check(r.returncode == 0, "hale-mkcert: %s" % r.stderr)
    return cert, key


def install(src, dst):
    tmp = dst + ".tmp"
    with open(src, "rb") as f, open(tmp, "wb") as g:
        g.write(f.read())
    os.rename(tmp, dst)


def serves_current(h):
    found = halectx.find_series(h.metrics(), "hale_service_serves_current_certificate",
                                service="web")
    return found[0][2] if found else None


def service_check(h):
    status, report = h.http_json("/health")
    return report["checks"].get("service:web", {})


def test_served():
    port = halectx.free_port()
    with Journald(), SystemdHale(P, "served", UNITS) as h:
        old, old_key = mkcert(h, "old", "0a01")
        new, new_key = mkcert(h, "new", "0b02")
        newer, newer_key = mkcert(h, "newer", "0c03")
        watched = os.path.join(h.certdir, "web.pem")
        install(old, watched)
        server = TlsServer(port, old, old_key)
        h.systemctl("start", "web.service")
        h.allowed_warnings += [r"web does not serve its current certificate",
                               r"Reload of web .* failed"]
        h.start_haled(lambda: h.config_text([("web", watched)], extra=(
            "[Network]\nCheckInterval=500ms\n"
            "[Service web]\nUnit=web.service\nReloadOnChange=web\nTimeout=3s\n"
            "TLSAddress=127.0.0.1:%d\nTLSServerName=web.test\n" % port)))

        # Every CheckInterval: it serves what the file has.
        wait_until(lambda: serves_current(h) == 1.0, 10, "serves_current_certificate 1 at start")

        # Renewed on disk; the service reloads but keeps serving the old
        # one: the reload fails, saying which serial is which.
        install(new, watched)
        c, _ = wait_until(lambda: (lambda c: c if "serves serial" in c.get("message", "") else None)(
            service_check(h)), 20, "service:web to fail on the served certificate")
        log("service:web: %r" % c["message"])
        check("TLSAddress 127.0.0.1:%d serves serial 0a01, the file has 0b02" % port
              in c["message"], "service:web message: %r" % c["message"])
        check_equal(c["status"], "warning", "service:web status (not critical)")
        check_equal(c["details"].get("success"), False, "service:web success")
        check_equal(serves_current(h), 0.0, "serves_current_certificate after the failed reload")

        # The service switches (as a restart would): the periodic look sees it.
        server.stop()
        server = TlsServer(port, new, new_key)
        wait_until(lambda: serves_current(h) == 1.0, 10, "serves_current_certificate back to 1")

        # The service serves the new one by the time the reload asks: success.
        server.stop()
        server = TlsServer(port, newer, newer_key)
        install(newer, watched)
        c, _ = wait_until(lambda: (lambda c: c if c.get("details", {}).get("success") else None)(
            service_check(h)), 20, "service:web reloaded with the served certificate")
        check_equal(c["status"], "healthy", "service:web status after a good reload")
        check_equal(serves_current(h), 1.0, "serves_current_certificate after the good reload")
        server.stop()
        h.stop_haled()


if __name__ == "__main__":
    halectx.run([test_served])
