#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Aggregated checks against the real haled: local services on loopback
answering in each format, a push check that expires, acknowledgements
and sticky categories through busctl and halectl and across a restart
of haled, /__gtg and /__health, and the HTML view in headless Chromium.
"""

import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from halesys import Journald  # noqa: E402
from halectx import (BUS_NAME, IFACE_HEALTH, OBJECT_PATH, Hale, check, check_equal, fail,
                     log, one_value, require, run, wait_until, _skip_or_fail)

PROGRAMS = require("haled", "halectl", "dbus-daemon", "busctl", "gdbus")

FT_OK = {"schemaVersion": 1, "name": "api", "ok": True,
         "checks": [{"id": "db", "name": "db", "ok": True, "severity": 1,
                     "checkOutput": "fine"}]}
FT_FAIL = {"schemaVersion": 1, "name": "api", "ok": False,
           "checks": [{"id": "db", "name": "database", "ok": False, "severity": 1,
                       "checkOutput": "connection refused"}]}

# path -> (status, content type, body)
ANSWERS = {
    "/ft-ok": (200, "application/json", json.dumps(FT_OK)),
    "/ft-fail": (200, "application/json", json.dumps(FT_FAIL)),
    "/hj-warn": (200, "application/health+json", json.dumps({"status": "warn"})),
    "/seed": (200, "application/json",
              json.dumps({"health": "passed", "qos": 1.0, "state": "running", "checks": []})),
    "/plain-500": (500, "text/plain", "oops"),
    "/garbage": (200, "application/json", '{"status": "pa'),
    "/huge": (200, "text/plain", "x" * (2 * 1024 * 1024)),
    # The rotation agent's report as it defines itself.
    "/agent": (200, "application/json", json.dumps({
        "health": "passed", "qos": None,
        "state": {"name": "idle", "duration": "3h2m", "blockers": []},
        "checks": [{"name": "renewal", "status": "pass",
                    "data": {"next": "2026-12-01T00:00:00Z", "attempts": 3}}]})),
    "/flip": (200, "text/plain", "fine"),  # the test changes it
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status, ctype, body = ANSWERS.get(self.path, (404, "text/plain", "no such path"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # haled stops reading an oversized answer: that is the point

    def log_message(self, *args):
        pass


class Services:
    """The local services haled checks: one HTTP server on loopback."""

    def __enter__(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)


def checks_config(services, extra=""):
    groups = [
        ("ft-ok", "/ft-ok"), ("ft-fail", "/ft-fail"), ("hj-warn", "/hj-warn"),
        ("seed", "/seed"), ("plain", "/plain-500"), ("garbage", "/garbage"), ("huge", "/huge"),
    ]
    text = ""
    for name, path in groups:
        text += "[Check %s]\nURL=%s\nInterval=1s\nTimeout=3s\n\n" % (name, services.url(path))
    text += ("[Check cron]\nTTL=3s\n\n"
             "[Category web]\nChecks=ft-ok,hj-warn,seed\n\n"
             "[Category broken]\nChecks=ft-fail,plain,garbage,huge\n\n"
             "[Category jobs]\nChecks=cron\nSticky=true\n\n")
    return text + extra


def services_report(hale, query=""):
    status, body = hale.http_json("/health/services" + query)
    return status, body


def wait_check(hale, name, want, timeout=15):
    def ok():
        _, body = services_report(hale)
        c = body["checks"].get(name)
        return c if c and c["status"] == want else None
    value, took = wait_until(ok, timeout, "check %s to be %s" % (name, want),
                             on_timeout=lambda: json.dumps(services_report(hale)[1], indent=1))
    return value


def call(hale, method, signature, *args, check_rc=True):
    return hale.busctl("call", BUS_NAME, OBJECT_PATH, IFACE_HEALTH, method, signature,
                       *args, check_rc=check_rc)


def gdbus_error(hale, method, *args):
    """The D-Bus error name a call fails with (busctl prints only the
    message)."""
    r = subprocess.run(["gdbus", "call", "--session", "--dest", BUS_NAME, "--object-path",
                        OBJECT_PATH, "--method", IFACE_HEALTH + "." + method] + list(args),
                       env=hale.env(), capture_output=True, text=True, timeout=30)
    check(r.returncode != 0, "%s%r succeeded, want an error" % (method, args))
    m = re.search(r"GDBus\.Error:([\w.]+)", r.stderr)
    check(m, "no error name in %r" % r.stderr)
    return m.group(1)


def test_formats_and_faces():
    with Services() as services, Hale(PROGRAMS, "checks-formats") as hale:
        hale.start_haled(lambda: hale.config_text(extra=checks_config(services)))

        wait_check(hale, "ft-ok", "healthy")
        failing = wait_check(hale, "ft-fail", "critical")
        check("connection refused" in failing["message"] or "database" in failing["message"],
              "ft-fail says why: %r" % failing["message"])
        wait_check(hale, "hj-warn", "warning")
        wait_check(hale, "seed", "healthy")
        wait_check(hale, "plain", "critical")
        garbage = wait_check(hale, "garbage", "critical")
        log("garbage: %s" % garbage["message"])
        huge = wait_check(hale, "huge", "critical")
        check("1 MiB" in huge["message"], "oversized answer says so: %r" % huge["message"])

        status, body = services_report(hale)
        check_equal(status, 503, "/health/services status with critical checks")
        check_equal(body["status"], "unhealthy", "aggregate status")
        for key in ("services", "checks", "categories", "acknowledged", "timestamp", "cache"):
            check(key in body, "/health/services has %r" % key)
        check_equal(body["categories"]["web"]["status"], "degraded", "web category (a warning)")
        check_equal(body["categories"]["broken"]["status"], "unhealthy", "broken category")

        # Filters.
        status, web = services_report(hale, "?categories=web")
        check_equal(status, 200, "web only: degraded still serves")
        check_equal(sorted(web["checks"]), ["ft-ok", "hj-warn", "seed"], "checks of web")
        status, err = hale.http_json("/health/services?categories=nope", want_status=404)
        check("nope" in err["message"], "404 names the category")
        hale.http_json("/health/services?frobnicate=1", want_status=400)

        # cache=false answers from fresh runs; asked again at once, the
        # round of a moment ago is fresh enough (test_ft_http.py has more).
        _, first = services_report(hale, "?categories=web&cache=false")
        _, second = services_report(hale, "?categories=web&cache=false")
        check_equal(first["cache"]["refresh"], "fresh", "first cache=false")
        check_equal(second["cache"]["refresh"], "fresh", "second cache=false")

        # /__gtg
        status, headers, text = hale.http_get("/__gtg?categories=web")
        check_equal((status, text), (200, b"OK\n"), "/__gtg for web")
        check(headers["content-type"].startswith("text/plain"), "gtg is text/plain")
        check_equal(headers.get("cache-control"), "no-store", "gtg Cache-Control")
        status, headers, text = hale.http_get("/__gtg")
        check_equal(status, 503, "/__gtg with critical checks")
        check(text.strip() and b"OK" not in text, "503 says why: %r" % text)

        # /__health in FT's shape.
        status, ft = hale.http_json("/__health")
        check_equal(status, 200, "/__health answers 200; ok says the rest")
        check_equal(ft["schemaVersion"], 1, "schemaVersion")
        check_equal(ft["name"], "haled", "name")
        check_equal(ft["ok"], False, "ok with failing checks")
        ids = {c["id"]: c for c in ft["checks"]}
        for name in ("ft-ok", "ft-fail", "cron"):
            check(name in ids, "/__health lists %s" % name)
        for field in ("id", "name", "ok", "severity", "businessImpact", "technicalSummary",
                      "panicGuide", "checkOutput", "lastUpdated"):
            check(field in ids["ft-fail"], "FT check has %s" % field)

        # A push check: reported, then expiring after its TTL.
        r = hale.halectl("report", "cron", "--status", "pass", "--message", "backup done")
        check_equal(r.returncode, 0, "halectl report: %s" % r.stderr)
        cron = wait_check(hale, "cron", "healthy", timeout=5)
        check_equal(cron["message"], "backup done", "push message")
        expired = wait_check(hale, "cron", "critical", timeout=15)
        check("no report" in expired["message"], "expired push says so: %r" % expired["message"])
        r = hale.halectl("report", "ft-ok", "--status", "pass")
        check(r.returncode != 0 and "ft-ok" in r.stderr + r.stdout,
              "report to an http check is refused: %r" % r.stderr)
        r = hale.halectl("report", "cron", "--status", "maybe")
        check_equal(r.returncode, 2, "a bad status word is a usage error")

        # Metrics of the aggregate.
        m = hale.metrics()
        check_equal(one_value(m, "hale_category_status", category="broken"), 2.0,
                    "hale_category_status{broken}")
        check_equal(one_value(m, "hale_category_enabled", category="web"), 1.0,
                    "hale_category_enabled{web}")
        check_equal(one_value(m, "hale_checks_acknowledged"), 0.0, "hale_checks_acknowledged")

        hale.allowed_warnings.append(r"disabled itself")
        hale.stop_haled()


def test_acks_across_restart():
    with Services() as services, Hale(PROGRAMS, "checks-acks") as hale:
        config = lambda: hale.config_text(extra=checks_config(services))
        hale.start_haled(config)
        wait_check(hale, "plain", "critical")

        # Errors by name, before polkit is asked.
        check_equal(gdbus_error(hale, "Acknowledge", "nope", "why"),
                    "org.hale.Hale1.Error.UnknownCheck", "Acknowledge of an unknown check")
        check_equal(gdbus_error(hale, "Acknowledge", "plain", ""),
                    "org.freedesktop.DBus.Error.InvalidArgs", "an empty message")
        check_equal(gdbus_error(hale, "EnableCategory", "nope"),
                    "org.hale.Hale1.Error.UnknownCategory", "EnableCategory of an unknown one")
        check_equal(gdbus_error(hale, "Report", "ft-ok", "pass", "x"),
                    "org.hale.Hale1.Error.NotPushCheck", "Report to an http check")
        check_equal(gdbus_error(hale, "Report", "cron", "maybe", "x"),
                    "org.freedesktop.DBus.Error.InvalidArgs", "Report with a bad status")
        check_equal(gdbus_error(hale, "RemoveAcknowledgement", "plain"),
                    "org.freedesktop.DBus.Error.InvalidArgs", "RemoveAcknowledgement of none")

        call(hale, "Acknowledge", "ss", "plain", "vendor outage, INC-1234")
        _, body = services_report(hale)
        plain = body["checks"]["plain"]
        check_equal(plain["status"], "critical", "an acknowledged check still shows its status")
        check_equal(plain["acknowledged"]["message"], "vendor outage, INC-1234", "ack message")
        check(plain["acknowledged"]["author"], "ack author")
        check_equal(body["acknowledged"], 1, "acknowledged count")
        check_equal(hale.get_property("Acknowledged"), 1, "Acknowledged property")

        r = hale.halectl("unack", "plain")
        check_equal(r.returncode, 0, "halectl unack: %s" % r.stderr)
        check_equal(services_report(hale)[1]["acknowledged"], 0, "after unack")
        for name in ("plain", "ft-fail", "garbage", "huge"):
            r = hale.halectl("ack", name, "known:", "being", "fixed")
            check_equal(r.returncode, 0, "halectl ack %s: %s" % (name, r.stderr))
        r = hale.halectl("checks")
        check(re.search(r"acknowledged: .known: being fixed", r.stdout), "halectl checks: %s" % r.stdout)

        # Everything failing is acknowledged: /__gtg of broken is good to go.
        status, _, _ = hale.http_get("/__gtg?categories=broken")
        check_equal(status, 200, "/__gtg of a category whose failures are acknowledged")

        hale.stop_haled()
        hale.start_haled(config)
        _, body = services_report(hale)
        check_equal(body["acknowledged"], 4, "acknowledgements after a restart")
        check_equal(body["checks"]["plain"]["acknowledged"]["message"], "known: being fixed",
                    "the message after a restart")
        check_equal(hale.get_property("Acknowledged"), 4, "Acknowledged after a restart")
        wait_check(hale, "plain", "critical")
        status, _, _ = hale.http_get("/__gtg?categories=broken")
        check_equal(status, 200, "still acknowledged after a restart")
        m = hale.metrics()
        check_equal(one_value(m, "hale_checks_acknowledged"), 4.0, "hale_checks_acknowledged")
        hale.allowed_warnings.append(r"disabled itself")
        hale.stop_haled()


def test_sticky_across_restart():
    with Services() as services, Hale(PROGRAMS, "checks-sticky") as hale:
        config = lambda: hale.config_text(extra=checks_config(services))
        hale.start_haled(config)

        r = hale.halectl("report", "cron", "--status", "pass", "--message", "ok")
        check_equal(r.returncode, 0, r.stderr)
        _, body = services_report(hale, "?categories=jobs")
        check_equal(body["categories"]["jobs"]["enabled"], True, "jobs before a failure")

        r = hale.halectl("report", "cron", "--status", "fail", "--message", "disk full")
        check_equal(r.returncode, 0, r.stderr)
        status, body = services_report(hale, "?categories=jobs")
        check_equal(status, 503, "a tripped sticky category is unhealthy")
        jobs = body["categories"]["jobs"]
        check_equal(jobs["enabled"], False, "jobs tripped")
        check("disk full" in jobs["disabled_reason"], "reason: %r" % jobs["disabled_reason"])

        r = hale.halectl("report", "cron", "--status", "pass", "--message", "cleaned up")
        check_equal(services_report(hale, "?categories=jobs")[0], 503,
                    "a recovery does not re-enable a sticky category")

        hale.stop_haled()
        hale.start_haled(config)
        status, body = services_report(hale, "?categories=jobs")
        check_equal((status, body["categories"]["jobs"]["enabled"]), (503, False),
                    "still tripped after a restart")
        status, _, text = hale.http_get("/__gtg?categories=jobs")
        check(status == 503 and b"jobs" in text, "gtg says which category: %r" % text)
        r = hale.halectl("categories")
        check(re.search(r"jobs .* no .*disabled: sticky", r.stdout, re.S), r.stdout)

        r = hale.halectl("categories", "enable", "jobs")
        check_equal(r.returncode, 0, "halectl categories enable: %s" % r.stderr)
        hale.halectl("report", "cron", "--status", "pass", "--message", "ok")
        status, _, text = hale.http_get("/__gtg?categories=jobs")
        check_equal((status, text), (200, b"OK\n"), "gtg after enabling")

        # A failover: DisableCategory on the bus, then back.
        call(hale, "DisableCategory", "s", "web")
        status, _, text = hale.http_get("/__gtg?categories=web")
        check(status == 503 and b"web is disabled" in text, "failover: %r" % text)
        m = hale.metrics()
        check_equal(one_value(m, "hale_category_enabled", category="web"), 0.0, "enabled metric")
        check_equal(one_value(m, "hale_category_status", category="web"), 2.0, "status metric")
        hale.stop_haled()
        hale.start_haled(config)
        check_equal(hale.http_get("/__gtg?categories=web")[0], 503, "failover survives a restart")
        call(hale, "EnableCategory", "s", "web")
        wait_check(hale, "ft-ok", "healthy")
        wait_check(hale, "hj-warn", "warning")
        wait_check(hale, "seed", "healthy")
        check_equal(hale.http_get("/__gtg?categories=web")[0], 200, "web back")
        hale.allowed_warnings.append(r"disabled itself")
        hale.stop_haled()


def test_seed_report_and_journal():
    """The agent's report read as defined (a sticky category stays up at
    start), and one journal event per status change of a check."""
    extra = ("[Check agent]\nURL={agent}\nFormat=seed\nInterval=1s\nTimeout=3s\n\n"
             "[Category rotation]\nChecks=agent\nSticky=true\n\n"
             "[Check flip]\nURL={flip}\nInterval=1s\nTimeout=3s\n\n")
    with Journald(), Services() as services, Hale(PROGRAMS, "checks-journal") as hale:
        ANSWERS["/flip"] = (200, "text/plain", "fine")
        text = extra.format(agent=services.url("/agent"), flip=services.url("/flip"))
        hale.start_haled(lambda: hale.config_text(extra=text))
        pid = hale.haled.pid

        agent = wait_check(hale, "agent", "healthy")
        check_equal(agent["details"]["answer_state"], "idle", "the state's name")
        check_equal(agent["details"]["answer_state_duration"], "3h2m", "the state's duration")
        check_equal(agent["details"]["checks"][0]["data"]["attempts"], 3, "a check's data")
        check("answer_qos" not in agent["details"], "qos null is no qos: %r" % agent["details"])
        _, body = services_report(hale, "?categories=rotation")
        check_equal(body["categories"]["rotation"]["enabled"], True, "the sticky category")
        r = call(hale, "GetChecks", "")
        check(re.search(r'"agent" \d+ "status" s "healthy"', r), "GetChecks: %r" % r[:200])

        # Healthy runs, then failing ones, then healthy again: two changes.
        wait_check(hale, "flip", "healthy")
        time.sleep(2.5)
        ANSWERS["/flip"] = (500, "text/plain", "oops")
        wait_check(hale, "flip", "critical")
        time.sleep(2.5)
        fails = one_value(hale.metrics(), "hale_check_runs_total", check="flip", result="fail")
        check(fails >= 2, "flip failed %s times: more runs than changes" % fails)
        ANSWERS["/flip"] = (200, "text/plain", "fine")
        wait_check(hale, "flip", "healthy")
        time.sleep(2.5)

        def events():
            e = Journald.entries(pid, HALE_EVENT="check_status_changed", HALE_RESOURCE_ID="flip")
            return e if len(e) >= 2 else None
        entries, _ = wait_until(events, 10, "two check_status_changed events of flip")
        time.sleep(1)
        entries = Journald.entries(pid, HALE_EVENT="check_status_changed", HALE_RESOURCE_ID="flip")
        check_equal([(e["HALE_OLD_STATUS"], e["HALE_NEW_STATUS"]) for e in entries],
                    [("healthy", "critical"), ("critical", "healthy")],
                    "one event per change, none per run")
        down, up = entries
        check_equal(down["MESSAGE_ID"], "ba3ab403867848b68918b0f76792c407", "MESSAGE_ID")
        check_equal(down["HALE_REASON"], "http status 500", "the reason")
        check_equal(down["HALE_ERROR"], "http status 500", "the error of a failure")
        check_equal(down["PRIORITY"], "4", "a failure is a warning")
        check_equal(up["PRIORITY"], "5", "a recovery is a notice")
        check_equal(down["HALE_RESOURCE_TYPE"], "check", "resource type")
        check("check flip is critical (was healthy)" in down["MESSAGE"], down["MESSAGE"])
        check_equal(Journald.entries(pid, HALE_EVENT="check_status_changed",
                                     HALE_RESOURCE_ID="agent"), [],
                    "a check healthy from the start logs nothing")
        hale.stop_haled()


def chromium_program():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = subprocess.run(["sh", "-c", "command -v %s" % name], capture_output=True,
                              text=True).stdout.strip()
        if path:
            return path
    _skip_or_fail("chromium not found (tools/install-deps installs it)")


def chromium(hale, args, url):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=hale.tmp)
    cmd = [chromium_program(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--user-data-dir=" + profile] + args + [url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90,
                       env=dict(os.environ, HOME=hale.tmp))
    check(r.returncode == 0, "chromium failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
    return r.stdout


def test_html_in_chromium():
    with Services() as services, Hale(PROGRAMS, "checks-html") as hale:
        hale.start_haled(lambda: hale.config_text(extra=checks_config(services)))
        wait_check(hale, "plain", "critical")
        wait_check(hale, "hj-warn", "warning")
        call(hale, "Acknowledge", "ss", "plain", "Known: vendor outage <INC-77>")

        url = "http://127.0.0.1:%d/health/services" % hale.health_port
        dom = chromium(hale, ["--dump-dom"], url)
        check("<table id=\"checks\">" in dom, "the page has the checks table")
        check("plain" in dom and "ft-fail" in dom, "failing checks are shown")
        # Escaped by haled, unescaped by the browser's serialiser as text.
        check("Known: vendor outage &lt;INC-77&gt;" in dom, "the ack message, escaped: %s" % dom[:3000])
        check(re.search(r'<header class="unhealthy"', dom), "the status colour")
        check("<script" not in dom, "no JavaScript")

        shot = os.path.join(os.environ.get("HALE_SCREENSHOT_DIR", hale.tmp), "health-services.png")
        chromium(hale, ["--screenshot=" + shot, "--window-size=1280,1100",
                        "--hide-scrollbars"], url)
        with open(shot, "rb") as f:
            head = f.read(8)
        check(head == b"\x89PNG\r\n\x1a\n", "a PNG screenshot")
        check(os.path.getsize(shot) > 10000, "the screenshot is not blank (%d bytes)" % os.path.getsize(shot))
        log("screenshot: %s" % shot)

        dom = chromium(hale, ["--dump-dom"], "http://127.0.0.1:%d/__health" % hale.health_port)
        check("Known: vendor outage" in dom, "/__health in HTML shows the ack too")
        hale.allowed_warnings.append(r"disabled itself")
        hale.stop_haled()


if __name__ == "__main__":
    run([test_formats_and_faces, test_acks_across_restart, test_sticky_across_restart,
         test_seed_report_and_journal, test_html_in_chromium])
