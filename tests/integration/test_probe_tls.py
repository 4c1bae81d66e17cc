#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every TLS connection of haled's is a full, verified handshake.

A real TLS server on loopback (Python's ssl, i.e. OpenSSL) that issues
session tickets, as nginx and most servers do, in TLS 1.3 and in TLS 1.2.
haled must never resume a session it was given: an endpoint or http
check without the right CAFile fails every round even while another one
to the same host:port (with the CAFile) passes, and a server that
switches to an expired certificate, keeping its ticket keys, fails the
next probe. The server records whether each handshake it completed was
a resumed one; none may be.
"""

import os
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from halectx import Hale, check, check_equal, find_series, log, require, run, wait_until

PROGRAMS = require("haled", "mkcert", "dbus-daemon", "busctl")


class TicketServer:
    """HTTPS on 127.0.0.1 with session tickets on (OpenSSL's default: two
    per handshake in TLS 1.3). switch() changes the certificate in the
    same SSLContext, so the ticket keys stay and old tickets would still
    be honoured, as with a server reloaded in place."""

    def __init__(self, cert, key, version):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = version
        self.ctx.maximum_version = version
        check(not self.ctx.options & ssl.OP_NO_TICKET, "tickets are on")
        self.ctx.load_cert_chain(cert, key)
        self.key = key
        self.handshakes = []  # session_reused of each completed handshake
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self):
                server.handshakes.append(self.connection.session_reused)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A handshake the client refuses raises in accept(); socketserver
        # drops that connection and goes on.
        self.httpd.socket = self.ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self):
        return "https://127.0.0.1:%d/health" % self.port

    def switch(self, cert):
        self.ctx.load_cert_chain(cert, self.key)

    def check_no_resumption(self):
        check(self.handshakes, "the server completed handshakes")
        resumed = sum(1 for r in self.handshakes if r)
        check_equal(resumed, 0, "resumed sessions among the server's %d handshakes"
                    % len(self.handshakes))


def certificates(hale):
    """A CA, a leaf for 127.0.0.1 it signed, and the same leaf expired."""
    d = hale.certdir
    paths = {n: os.path.join(d, n) for n in ("leaf.pem", "leaf.key", "ca.pem", "expired.pem")}
    r = subprocess.run([PROGRAMS["mkcert"], "--out", paths["leaf.pem"], "--key-out",
                        paths["leaf.key"], "--chain-ca", "--ca-out", paths["ca.pem"],
                        "--san", "127.0.0.1", "--expired-out", paths["expired.pem"]],
                       capture_output=True, text=True)
    check(r.returncode == 0, "hale-mkcert: %s" % r.stderr)
    return paths


def count(metrics, name, **labels):
    return sum(s[2] for s in find_series(metrics, name, **labels))


def endpoint_details(hale, name):
    _, body = hale.http_json("/health/connectivity")
    return body["endpoints"][name]


def same_host_port(version):
    with Hale(PROGRAMS, "probe-tls") as hale:
        certs = certificates(hale)
        with TicketServer(certs["leaf.pem"], certs["leaf.key"], version) as server:
            url = server.url()
            extra = ("\n[Network]\nCheckInterval=1s\nTimeout=5s\n\n"
                     "[Endpoint trusted]\nURL=%s\nCAFile=%s\n\n"
                     "[Endpoint untrusted]\nURL=%s\n\n"
                     "[Check trusted]\nURL=%s\nCAFile=%s\nInterval=1s\n\n"
                     "[Check untrusted]\nURL=%s\nInterval=1s\n"
                     % (url, certs["ca.pem"], url, url, certs["ca.pem"], url))
            hale.start_haled(lambda: hale.config_text(extra=extra))

            def rounds():
                m = hale.metrics()
                return (count(m, "hale_endpoint_probes_total", endpoint="untrusted") >= 6
                        and count(m, "hale_check_runs_total", check="untrusted") >= 6 and m)
            m, took = wait_until(rounds, timeout=30, what="six rounds of probes and checks")
            log("six rounds in %.1f s" % took)

            ok = count(m, "hale_endpoint_probes_total", endpoint="trusted", result="success")
            check(ok >= 5, "the endpoint with CAFile passes (%d successes)" % ok)
            wrong = count(m, "hale_endpoint_probes_total", endpoint="untrusted", result="success")
            check_equal(wrong, 0, "successful probes of the endpoint without CAFile "
                        "(another endpoint to the same host:port verified the chain)")
            reason = endpoint_details(hale, "untrusted")["details"].get("reason")
            check_equal(reason, "tls: certificate not trusted (unknown-ca)", "its reason")

            ok = count(m, "hale_check_runs_total", check="trusted", result="pass")
            check(ok >= 5, "the http check with CAFile passes (%d passes)" % ok)
            wrong = count(m, "hale_check_runs_total", check="untrusted", result="pass")
            check_equal(wrong, 0, "passes of the http check without CAFile")
            server.check_no_resumption()
            hale.stop_haled()


def expired_switch(version):
    with Hale(PROGRAMS, "probe-tls") as hale:
        certs = certificates(hale)
        with TicketServer(certs["leaf.pem"], certs["leaf.key"], version) as server:
            extra = ("\n[Network]\nCheckInterval=1s\nTimeout=5s\n\n"
                     "[Endpoint site]\nURL=%s\nCAFile=%s\n" % (server.url(), certs["ca.pem"]))
            hale.start_haled(lambda: hale.config_text(extra=extra))

            def successes(n):
                m = hale.metrics()
                return count(m, "hale_endpoint_probes_total", endpoint="site", result="success") >= n
            wait_until(lambda: successes(3), timeout=20, what="three successful probes")

            server.switch(certs["expired.pem"])
            m = hale.metrics()
            total = count(m, "hale_endpoint_probes_total", endpoint="site")
            before = count(m, "hale_endpoint_probes_total", endpoint="site", result="success")

            def probes(n):
                m = hale.metrics()
                return count(m, "hale_endpoint_probes_total", endpoint="site") >= n and m
            # One probe may have been in flight at the switch; the next is
            # the one that must see the expired certificate.
            m, took = wait_until(lambda: probes(total + 2), timeout=20, what="two more probes")
            after = count(m, "hale_endpoint_probes_total", endpoint="site", result="success")
            check(after - before <= 1, "%d successful probes after the server switched to "
                  "an expired certificate, want at most the one in flight" % (after - before))
            d = endpoint_details(hale, "site")
            check_equal(d["details"].get("reason"), "tls: certificate expired (expired)",
                        "the reason after the switch")
            check_equal(d["status"], "warning", "the endpoint's status")
            log("the expired certificate was reported %.1f s after the switch" % took)
            server.check_no_resumption()
            hale.stop_haled()


def test_same_host_port_tls13():
    same_host_port(ssl.TLSVersion.TLSv1_3)


def test_same_host_port_tls12():
    same_host_port(ssl.TLSVersion.TLSv1_2)


def test_expired_switch_tls13():
    expired_switch(ssl.TLSVersion.TLSv1_3)


def test_expired_switch_tls12():
    expired_switch(ssl.TLSVersion.TLSv1_2)


if __name__ == "__main__":
    run([test_same_host_port_tls13, test_same_host_port_tls12, test_expired_switch_tls13,
         test_expired_switch_tls12])
