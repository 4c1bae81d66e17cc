#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The rotation agent's reports through the real haled: busctl and
`halectl record` move the seed's metrics on /metrics, renewals are
audited in the AuditLog= file, bad arguments are InvalidArgs, a caller
polkit refuses is audited and moves nothing; docs/metrics.md matches
what haled serves; and a real Prometheus finds the seed's series
(Namespace=hetzner_cert_rotation) after a renewal, a JWT refresh report
and a degraded period.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halesys import OpenBusHale, system_python  # noqa: E402
from halectx import (BUS_NAME, OBJECT_PATH, check, check_equal, fail, find_series, log,  # noqa: E402
                     one_value, wait_until)

IFACE = "org.hale.Hale1.Rotation"
NOBODY = 65534
SEED = "hetzner_cert_rotation"

P = halectx.require("haled", "halectl", "mkcert", "dbus-daemon", "busctl")


def audit_config(h, audit_log, namespace=None, extra=""):
    def build():
        cert = os.path.join(h.certdir, "current.pem")
        text = h.config_text([("current", cert)], namespace=namespace)
        return text.replace("[Monitoring]\n", "[Monitoring]\nAuditLog=%s\n" % audit_log, 1) + extra
    return build


def audit_events(path, event_type=None):
    try:
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
    return [e for e in lines if event_type is None or e["event_type"] == event_type]


def record(h, *args):
    r = h.halectl("record", *args)
    log("halectl record %s -> %d %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def test_reports_move_metrics():
    with halectx.Hale(P, "rotation") as h:
        h.mkcert("current.pem", "0a0b01", days=30)
        audit_log = os.path.join(h.tmp, "audit.log")
        h.start_haled(audit_config(h, audit_log))
        m = h.metrics()
        # From the start: both results at 0, bootstrap absent until reported.
        for name in ("hale_certificate_renewal_attempts_total", "hale_jwt_refresh_total"):
            for result in ("success", "failure"):
                check_equal(one_value(m, name, result=result), 0.0, "%s{%s} at start" % (name, result))
        check_equal(one_value(m, "hale_keycloak_auth_failures_total"), 0.0, "auth failures at start")
        check_equal(one_value(m, "hale_jwt_cache_hits_total"), 0.0, "cache hits at start")
        check(not find_series(m, "hale_bootstrap_status"), "bootstrap_status before a report")
        check_equal(h.get_property("BootstrapStatus", IFACE), "unknown", "BootstrapStatus")

        # busctl, as any D-Bus agent would.
        h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "RecordRenewal", "sbts", "current", "false",
                 "2500000", "ACME server said 429")
        h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "RecordJwtRefresh", "b", "true")
        h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "RecordAuthFailure", "s", "invalid_client")
        h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "RecordJwtCacheHits", "u", "3")
        h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "SetBootstrapStatus", "bs", "false",
                 "no enrolment token")
        m = h.metrics()
        check_equal(one_value(m, "hale_certificate_renewal_attempts_total", result="failure"), 1.0,
                    "renewal failures after RecordRenewal(false)")
        check_equal(one_value(m, "hale_certificate_renewal_duration_seconds_count", result="failure"),
                    1.0, "duration histogram count")
        check_equal(one_value(m, "hale_certificate_renewal_duration_seconds_sum", result="failure"),
                    2.5, "duration histogram sum")
        check_equal(one_value(m, "hale_jwt_refresh_total", result="success"), 1.0, "jwt refreshes")
        check_equal(one_value(m, "hale_keycloak_auth_failures_total"), 1.0, "auth failures")
        check_equal(one_value(m, "hale_jwt_cache_hits_total"), 3.0, "cache hits")
        check_equal(one_value(m, "hale_bootstrap_status"), 0.0, "bootstrap failed")
        check(abs(one_value(m, "hale_bootstrap_status_timestamp_seconds") - time.time()) < 60,
              "bootstrap timestamp is now")

        # halectl record, as a certbot hook would.
        check_equal(record(h, "renewal", "--certificate", "current", "--result", "success",
                           "--duration", "1.5s").returncode, 0, "record renewal exit")
        check_equal(record(h, "renewal", "--certificate", "current", "--result", "failure",
                           "--duration", "750ms", "--error", "DNS-01 timed out").returncode, 0,
                    "record renewal failure exit")
        check_equal(record(h, "jwt-refresh", "--result", "failure").returncode, 0, "jwt exit")
        check_equal(record(h, "auth-failure", "--reason", "invalid_grant").returncode, 0, "auth exit")
        check_equal(record(h, "cache-hit").returncode, 0, "cache-hit exit")
        check_equal(record(h, "cache-hit", "--count", "10").returncode, 0, "cache-hit --count exit")
        check_equal(record(h, "bootstrap", "--status", "ok", "--message", "enrolled").returncode, 0,
                    "bootstrap exit")
        m = h.metrics()
        # A reported success is not counted: no new certificate on disk.
        check_equal(one_value(m, "hale_certificate_renewal_attempts_total", result="success"), 0.0,
                    "a reported success alone does not count")
        check_equal(one_value(m, "hale_certificate_renewal_attempts_total", result="failure"), 2.0,
                    "renewal failures")
        check_equal(one_value(m, "hale_certificate_renewal_duration_seconds_sum", result="success"),
                    1.5, "success duration")
        check_equal(one_value(m, "hale_jwt_refresh_total", result="failure"), 1.0, "jwt failures")
        check_equal(one_value(m, "hale_keycloak_auth_failures_total"), 2.0, "auth failures")
        check_equal(one_value(m, "hale_jwt_cache_hits_total"), 14.0, "cache hits")
        check_equal(one_value(m, "hale_bootstrap_status"), 1.0, "bootstrap ok")
        check_equal(h.get_property("BootstrapStatus", IFACE), "ok", "BootstrapStatus")
        check_equal(h.get_property("BootstrapMessage", IFACE), "enrolled", "BootstrapMessage")
        last = h.get_property("LastRenewal", IFACE)
        check_equal((last[0], last[1], last[2], last[4]), ("current", False, 750000, "DNS-01 timed out"),
                    "LastRenewal")

        # Bad arguments: InvalidArgs, nothing moves; halectl says why.
        r = h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "RecordRenewal", "sbts", "", "true", "0",
                     "", check_rc=False)
        check(r.returncode != 0 and "certificate name is empty" in r.stderr,
              "empty certificate: %r" % (r.stderr,))
        r = h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "RecordJwtCacheHits", "u", "0",
                     check_rc=False)
        check(r.returncode != 0 and "count" in r.stderr, "zero count: %r" % (r.stderr,))
        r = record(h, "renewal", "--certificate", "x" * 300, "--result", "failure")
        check(r.returncode == 1 and "refused" in r.stderr and "255" in r.stderr,
              "oversized name through halectl: %r" % (r,))
        for args in (["renewal", "--result", "success"], ["renewal", "--certificate", "c"],
                     ["renewal", "--certificate", "c", "--result", "maybe"],
                     ["renewal", "--certificate", "c", "--result", "success", "--duration", "soon"],
                     ["jwt-refresh"], ["auth-failure"], ["cache-hit", "--count", "0"],
                     ["bootstrap", "--status", "fine"], ["bootstrap", "--status", "ok", "--reason", "x"],
                     ["nonsense"], []):
            r = record(h, *args)
            check_equal(r.returncode, 2, "halectl record %s exit" % " ".join(args))
        r = record(h, "help")
        check(r.returncode == 0 and "record renewal" in r.stdout, "record help: %r" % (r,))
        m = h.metrics()
        check_equal(one_value(m, "hale_certificate_renewal_attempts_total", result="failure"), 2.0,
                    "failures after refused reports")
        check_equal(one_value(m, "hale_jwt_cache_hits_total"), 14.0, "cache hits after refused")

        # The audit file: one certificate_renewal_attempted per report, the
        # caller as actor; every call's authorisation too.
        renewals = audit_events(audit_log, "certificate_renewal_attempted")
        check_equal([e["outcome"] for e in renewals], ["failure", "success", "failure"],
                    "renewal audit events")
        for e in renewals:
            check_equal(e["resource"], {"type": "certificate", "identifier": "current"}, "resource")
            check_equal(e["actor"]["uid"], os.getuid(), "actor uid")
        check_equal(renewals[0]["details"].get("error"), "ACME server said 429", "error detail")
        check_equal(renewals[0]["details"].get("duration_ms"), 2500, "duration_ms")
        granted = [e for e in audit_events(audit_log, "authorization_granted")
                   if e["details"].get("action") == "org.hale.Hale1.report-rotation"]
        # The three bad reports were refused before polkit was asked.
        check(len(granted) >= 12, "authorisations audited: %d" % len(granted))
        h.stop_haled()


def doc_rows():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "metrics.md")
    rows = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("| `"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            words = lambda c: [w.strip().strip("`") for w in c.split(",")
                               if w.strip().strip("`") not in ("", "—", "-")]
            rows[words(cells[0])[0]] = {"type": cells[1], "labels": set(words(cells[2])),
                                        "module": cells[4]}
    return rows


def test_metrics_doc_matches_haled():
    """Every family haled serves is in docs/metrics.md with its type and
    labels, and the daemon's rows (which the unit test cannot build) are
    all served."""
    with halectx.Hale(P, "rotation-doc") as h:
        h.mkcert("current.pem", "0a0b02", days=30)
        audit_log = os.path.join(h.tmp, "audit.log")
        h.start_haled(audit_config(h, audit_log, extra="\n[Endpoint api]\nURL=http://127.0.0.1:%d/\n"
                                   % halectx.free_port()))
        h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "RecordRenewal", "sbts", "current", "true",
                 "1000000", "")
        h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "SetBootstrapStatus", "bs", "true", "")
        m = h.metrics()
        rows = doc_rows()
        problems = []
        served = set()
        for family, ftype in m["types"].items():
            served.add(family)
            row = rows.get(family)
            if row is None:
                problems.append("served, not documented: %s (%s)" % (family, ftype))
                continue
            if row["type"] != ftype:
                problems.append("%s: documented %s, served %s" % (family, row["type"], ftype))
            suffixes = ("_bucket", "_sum", "_count") if ftype == "histogram" else ("",)
            for s in m["samples"]:
                if s[0] in [family + x for x in suffixes]:
                    labels = set(s[1]) - {"le"}
                    # path is on the series of a certificate found by a
                    # pattern only: a plain Path= leaves it out (empty).
                    if labels != row["labels"] and labels | {"path"} != row["labels"]:
                        problems.append("%s: documented labels %s, served %s"
                                        % (family, sorted(row["labels"]), sorted(labels)))
                        break
        for name, row in rows.items():
            if row["module"] == "daemon" and name not in served:
                problems.append("daemon row not served: %s" % name)
        check(not problems, "docs/metrics.md vs haled's /metrics:\n  " + "\n  ".join(problems))
        h.allowed_warnings += [r"api", r"endpoint", r"refused|connect"]
        h.stop_haled()


class Toggle(BaseHTTPRequestHandler):
    """An endpoint that answers 200 or 503 as the test says."""
    up = True

    def do_GET(self):
        self.send_response(200 if Toggle.up else 503)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args):
        pass


def test_prometheus_sees_seed_series():
    """The issue's test: a real Prometheus scrapes haled over plain HTTP
    with the seed's namespace and finds the seed's series with the
    expected values after a renewal, a JWT refresh report and a degraded
    period."""
    prometheus = halectx.program(None, "prometheus")
    server = HTTPServer(("127.0.0.1", 0), Toggle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = "\n[Network]\nCheckInterval=200ms\nTimeout=1s\nDegradedThreshold=1s\n" \
               "\n[Endpoint idp]\nURL=http://127.0.0.1:%d/health\n" % server.server_address[1]
    with halectx.Hale(P, "rotation-prom") as h:
        h.mkcert("current.pem", "0a0b03", days=30)
        staging = os.path.join(h.tmp, "staging")
        os.mkdir(staging)
        audit_log = os.path.join(h.tmp, "audit.log")
        h.start_haled(audit_config(h, audit_log, namespace=SEED, extra=endpoint))
        prom_port = halectx.free_port()
        conf = os.path.join(h.tmp, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: hale\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % h.metrics_port)
        plog_path = os.path.join(h.tmp, "prometheus.log")
        plog = open(plog_path, "wb")
        proc = subprocess.Popen(
            [prometheus, "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(h.tmp, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % prom_port, "--log.level=warn"],
            stdout=plog, stderr=plog, stdin=subprocess.DEVNULL)
        plog.close()

        def log_text():
            with open(plog_path, errors="replace") as f:
                return "prometheus log:\n" + f.read()[-4000:]

        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (prom_port, urllib.parse.quote(q))
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.load(r)["data"]["result"]

        def value_is(q, want):
            res = query(q)
            return len(res) == 1 and float(res[0]["value"][1]) == want

        def wait_value(q, want, what):
            _, took = wait_until(lambda: value_is(q, want), 30, "%s (%s == %r): last %r"
                                 % (what, q, want, None), interval=0.25, on_timeout=lambda: (
                                     "query answered %r\n" % (query(q),)) + log_text())
            log("Prometheus: %s after %.2f s" % (what, took))

        try:
            wait_value('up{job="hale"}', 1, "haled scraped")
            wait_value(SEED + "_up", 1, "the seed's up")
            wait_value(SEED + '_degraded_mode', 0, "not degraded at first")

            # A renewal: the agent renames a new certificate over the old
            # one and reports it; counted once.
            new = h.mkcert("new.pem", "0a0b04", days=90, directory=staging)
            os.rename(new, os.path.join(h.certdir, "current.pem"))
            check_equal(record(h, "renewal", "--certificate", "current", "--result", "success",
                               "--duration", "4s").returncode, 0, "record renewal")
            # A JWT refresh report, and a failed one.
            h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "RecordJwtRefresh", "b", "true")
            check_equal(record(h, "jwt-refresh", "--result", "failure").returncode, 0, "jwt failure")
            h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "RecordAuthFailure", "s", "invalid_grant")
            h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "RecordJwtCacheHits", "u", "7")
            h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE, "SetBootstrapStatus", "bs", "true", "")

            wait_value(SEED + '_certificate_renewal_attempts_total{result="success"}', 1,
                       "one renewal, counted once")
            wait_value(SEED + '_certificate_renewal_attempts_total{result="failure"}', 0,
                       "no failed renewal")
            wait_value(SEED + '_jwt_refresh_total{result="success"}', 1, "JWT refresh success")
            wait_value(SEED + '_jwt_refresh_total{result="failure"}', 1, "JWT refresh failure")
            wait_value(SEED + '_keycloak_auth_failures_total', 1, "Keycloak auth failure")
            wait_value(SEED + '_jwt_cache_hits_total', 7, "JWT cache hits")
            wait_value(SEED + '_bootstrap_status', 1, "bootstrap ok")
            wait_value(SEED + '_certificate_renewal_duration_seconds_count{result="success"}', 1,
                       "renewal duration observed")
            res = query(SEED + '_certificate_expiry_seconds{type="current"}')
            check(len(res) == 1 and abs(float(res[0]["value"][1]) - 90 * 86400) < 300,
                  "expiry of the renewed certificate: %r" % res)
            res = query(SEED + '_last_renewal_timestamp_seconds{type="current"}')
            check(len(res) == 1 and abs(float(res[0]["value"][1]) - time.time()) < 120,
                  "last renewal timestamp: %r" % res)

            # A degraded period: the identity provider fails for longer
            # than DegradedThreshold, then answers again.
            Toggle.up = False
            wait_value(SEED + '_degraded_mode', 1, "degraded mode entered")
            wait_value(SEED + '_connectivity_status', 1, "connectivity degraded")
            Toggle.up = True
            wait_value(SEED + '_degraded_mode', 0, "degraded mode left")
            wait_value(SEED + '_connectivity_status', 0, "connectivity healthy again")
            wait_value('max_over_time(%s_degraded_mode[5m])' % SEED, 1,
                       "the degraded period in Prometheus' history")
            # Nothing of the default namespace leaked.
            check(not query('{__name__=~"hale_.+"}'), "hale_ series with Namespace=" + SEED)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            server.shutdown()
        h.allowed_warnings += [r"idp", r"endpoint", r"[Dd]egraded", r"503"]
        h.stop_haled()


def test_refused_caller():
    """nobody, refused by polkit (python3-dbusmock's polkitd): audited as
    authorization_denied with its uid, no metric moves."""
    if os.geteuid() != 0:
        halectx._skip_or_fail("calling as another uid needs root (setpriv)")
    py = system_python()
    if py is None or halectx.shutil.which("setpriv") is None:
        halectx._skip_or_fail("python3-dbusmock or setpriv is not installed")
    with OpenBusHale(P, "rotation-denied") as h:
        h.mkcert("current.pem", "0a0b05", days=30)
        audit_log = os.path.join(h.tmp, "audit.log")
        mock_env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=h.bus_address)
        polkit = subprocess.Popen([py, "-m", "dbusmock", "--template", "polkitd"], env=mock_env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: h.busctl("status", "org.freedesktop.PolicyKit1", check_rc=False)
                       .returncode == 0, what="the polkit mock on the bus")
            h.start_haled(audit_config(h, audit_log), env={"DBUS_SYSTEM_BUS_ADDRESS": h.bus_address})

            def as_nobody(*args):
                return subprocess.run(
                    ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--"]
                    + list(args), capture_output=True, text=True, timeout=30,
                    env=dict(h.env(), DBUS_SESSION_BUS_ADDRESS=h.bus_address))

            r = as_nobody("busctl", "--address=" + h.bus_address, "call", BUS_NAME, OBJECT_PATH,
                          IFACE, "RecordRenewal", "sbts", "current", "false", "1000000", "x")
            check(r.returncode != 0 and "Access denied" in r.stderr, "nobody's RecordRenewal: %r" % (r,))
            r = as_nobody(h.programs["halectl"], "--user", "record", "jwt-refresh", "--result",
                          "success")
            check(r.returncode == 4 and "report-rotation" in r.stderr,
                  "nobody's halectl record: %r" % (r,))

            m = h.metrics()
            check_equal(one_value(m, "hale_certificate_renewal_attempts_total",
                                  result="failure"), 0.0, "a refused report moves nothing")
            check_equal(one_value(m, "hale_jwt_refresh_total", result="success"), 0.0,
                        "a refused JWT report moves nothing")
            denied = audit_events(audit_log, "authorization_denied")
            check_equal(len(denied), 2, "two denials audited")
            for e in denied:
                check_equal(e["actor"]["uid"], NOBODY, "denied actor uid")
                check_equal(e["details"].get("action"), "org.hale.Hale1.report-rotation", "action")
                check_equal(e["outcome"], "failure", "outcome")
            check_equal([e["details"].get("method") for e in denied],
                        ["RecordRenewal", "RecordJwtRefresh"], "methods")
            check(not audit_events(audit_log, "certificate_renewal_attempted"),
                  "no renewal event for a refused report")

            # Once polkit says yes, the same caller's report counts.
            h.busctl("call", "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                     "org.freedesktop.DBus.Mock", "SetAllowed", "as", "1",
                     "org.hale.Hale1.report-rotation")
            r = as_nobody(h.programs["halectl"], "--user", "record", "jwt-refresh", "--result",
                          "success")
            check_equal(r.returncode, 0, "allowed halectl record: %r" % (r,))
            check_equal(one_value(h.metrics(), "hale_jwt_refresh_total", result="success"), 1.0,
                        "an allowed report counts")
        finally:
            polkit.terminate()
            polkit.wait(10)
        h.allowed_warnings += [r"denied|not authori[sz]ed|polkit|report-rotation"]
        h.stop_haled()


if __name__ == "__main__":
    halectx.run([test_reports_move_metrics, test_metrics_doc_matches_haled,
                 test_prometheus_sees_seed_series, test_refused_caller])
