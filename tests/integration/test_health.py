#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""/health and its sections, as a load balancer and an operator with curl
see them: shape, status codes, thresholds, broken certificate files."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, fail, log  # noqa: E402

P = halectx.require("haled", "mkcert", "dbus-daemon", "busctl")


def check_report_shape(report, path):
    check(isinstance(report, dict), "%s: not an object: %r" % (path, report))
    for key in ("status", "checks", "timestamp"):
        check(key in report, "%s: no %r in %r" % (path, key, report))
    check(report["status"] in ("healthy", "degraded", "unhealthy"),
          "%s: status %r" % (path, report["status"]))
    check(isinstance(report["checks"], dict), "%s: checks is not an object" % path)
    for name, c in report["checks"].items():
        for key in ("status", "message", "details"):
            check(key in c, "%s: check %s has no %r: %r" % (path, name, key, c))
    # RFC 3339, UTC
    try:
        t = time.strptime(report["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        fail("%s: timestamp %r is not RFC 3339 UTC" % (path, report["timestamp"]))
    skew = abs(time.mktime(t) - time.mktime(time.gmtime()))
    check(skew < 60, "%s: timestamp %r is %d s off" % (path, report["timestamp"], skew))


def cert_check(report, name="current"):
    c = report["checks"].get("certificate:" + name)
    check(c is not None, "no check certificate:%s in %r" % (name, sorted(report["checks"])))
    return c


def test_healthy():
    with halectx.Hale(P, "health-ok") as h:
        cert = h.mkcert("current.pem", "1a2b3c4d", days=90)
        h.start_haled(lambda: h.config_text([("current", cert, "72h", "24h")]))
        status, report = h.http_json("/health", 200)
        check_report_shape(report, "/health")
        check_equal(report["status"], "healthy", "/health status")
        check_equal(cert_check(report)["status"], "healthy", "certificate:current status")

        status, sect = h.http_json("/health/certificate", 200)
        check_equal(sect["status"], "healthy", "/health/certificate status")
        d = sect["details"]
        check_equal(d.get("serial"), "1a2b3c4d", "/health/certificate details.serial")
        for key in ("expires_at", "remaining", "percentage"):
            check(key in d, "/health/certificate details has no %r: %r" % (key, d))
        expected = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 90 * 86400))
        check(str(d["expires_at"]).startswith(expected[:8]),
              "expires_at %r, want about %s" % (d["expires_at"], expected))
        check(isinstance(d["percentage"], (int, float)) and 0 <= d["percentage"] < 5,
              "percentage of lifetime used %r, want ~0 for a new certificate" % d["percentage"])

        for path in ("/health/connectivity", "/health/services"):
            status, body = h.http_json(path, 200)
            check(body.get("status") in ("healthy", "warning", "critical"),
                  "%s status %r" % (path, body))
        status, body = h.http_json("/health/connectivity")
        check("state" in body, "/health/connectivity has no state: %r" % body)

        # What nobody serves is a 404 with a JSON reason, and the health
        # face only reads.
        status, headers, body = h.http_get("/health/nonexistent")
        check_equal(status, 404, "GET /health/nonexistent")
        check(headers.get("content-type", "").startswith("application/json"),
              "404 Content-Type %r" % headers.get("content-type"))
        status, headers, body = h.http_get("/no/such/path")
        check_equal(status, 404, "GET /no/such/path")
        status, headers, body = h.http_get("/health", method="POST", data=b"{}")
        check_equal(status, 405, "POST /health")
        check("allow" in headers, "405 without Allow header: %r" % headers)
        # Still serving after all that.
        h.http_json("/health", 200)
        h.stop_haled()


def test_warning_is_degraded():
    with halectx.Hale(P, "health-warn") as h:
        # 2 days left: inside WarningBefore=72h, outside CriticalBefore=24h.
        cert = h.mkcert("current.pem", "2b3c4d5e", days=2, not_before_days=0)
        h.start_haled(lambda: h.config_text([("current", cert, "72h", "24h")]))
        status, report = h.http_json("/health", 200)
        check_equal(report["status"], "degraded", "/health status with a warning")
        check_equal(cert_check(report)["status"], "warning", "certificate:current status")
        status, sect = h.http_json("/health/certificate", 200)
        check_equal(sect["status"], "warning", "/health/certificate status")
        check_equal(h.get_property("Status"), "degraded", "Health.Status on the bus")
        h.stop_haled()


def test_critical_is_unhealthy():
    with halectx.Hale(P, "health-crit") as h:
        # 24 hours left: inside CriticalBefore=36h (hale-mkcert counts
        # whole days).
        cert = h.mkcert("current.pem", "3c4d5e6f", days=1, not_before_days=0)
        h.start_haled(lambda: h.config_text([("current", cert, "72h", "36h")]))
        status, report = h.http_json("/health", 503)
        check_report_shape(report, "/health")
        check_equal(report["status"], "unhealthy", "/health status with a critical certificate")
        check_equal(cert_check(report)["status"], "critical", "certificate:current status")
        status, sect = h.http_json("/health/certificate", 503)
        check_equal(sect["status"], "critical", "/health/certificate status")
        check_equal(sect["details"].get("serial"), "3c4d5e6f", "details.serial")
        check_equal(h.get_property("Status"), "unhealthy", "Health.Status on the bus")
        h.stop_haled()


def test_missing_and_garbage_files():
    with halectx.Hale(P, "health-bad") as h:
        missing = os.path.join(h.certdir, "missing.pem")
        garbage = os.path.join(h.certdir, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
        h.allowed_warnings = [r"missing\.pem", r"garbage\.pem", r"not_found", r"bad_pem"]
        h.start_haled(lambda: h.config_text([("missing", missing), ("garbage", garbage)]))
        status, report = h.http_json("/health", 503)
        check_equal(report["status"], "unhealthy", "/health status with unreadable certificates")
        for name, reason in (("missing", "not_found"), ("garbage", "bad_pem")):
            c = cert_check(report, name)
            check_equal(c["status"], "critical", "certificate:%s status" % name)
            got = c["details"].get("reason") or c["details"].get("error")
            check(got == reason or reason in str(c["details"]),
                  "certificate:%s: want reason %s in details, got %r" % (name, reason, c))
            log("certificate:%s: %s" % (name, c["message"]))
        status, sect = h.http_json("/health/certificate", 503)
        check_equal(sect["status"], "critical", "/health/certificate status")
        # The missing file appears: the check recovers by itself.
        h.mkcert("missing.pem", "5e6f7a8b", days=90)
        _, took = halectx.wait_until(
            lambda: cert_check(h.http_json("/health")[1], "missing")["status"] == "healthy",
            5, "certificate:missing to become healthy once the file exists",
            on_timeout=h.stderr_text)
        log("a missing certificate file that appeared was seen after %.3f s" % took)
        h.stop_haled()


def raw_request(port, data, timeout=5.0):
    """Sends @data as is and returns the status line (b"" when the server
    closed without answering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        answer = b""
        while True:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:  # it closed before reading it all
                break
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


def test_bad_requests():
    """Nothing a client sends crashes or stalls haled: garbage gets a 4xx
    (or the connection closed), and /health answers right after."""
    with halectx.Hale(P, "health-bad-requests") as h:
        cert = h.mkcert("current.pem", "4d5e6f7a", days=90)
        h.start_haled(lambda: h.config_text([("current", cert)]))
        for data in (b"GARBAGE\r\n\r\n",
                     b"GET /health HTTP/9.9\r\n\r\n",
                     b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                     b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"\x00\xff\xfe" * 100):
            line = raw_request(h.health_port, data)
            log("%r... -> %r" % (data[:24], line))
            check(line == b"" or line.split()[1:2] and line.split()[1].startswith(b"4")
                  or line.split()[1:2] == [b"505"],
                  "%r... answered %r, want a 4xx" % (data[:30], line))
            h.http_json("/health", 200)
        status, _, _ = h.http_get("/health?verbose=1")
        check_equal(status, 200, "GET /health?verbose=1")
        status, headers, body = h.http_get("/health", method="HEAD")
        check_equal((status, body), (200, b""), "HEAD /health")
        h.stop_haled()


if __name__ == "__main__":
    halectx.run([test_healthy, test_warning_is_degraded, test_critical_is_unhealthy,
                 test_missing_and_garbage_files, test_bad_requests])
