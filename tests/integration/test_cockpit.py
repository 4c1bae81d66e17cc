#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Cockpit page (data/cockpit/hale/) in a real browser.

Debian's cockpit-ws serves it on loopback without a login
(--local-session runs cockpit-bridge as this user, with this process's
environment), the bridge finds the package through XDG_DATA_DIRS (a
temporary directory holding a copy of the source tree's cockpit/hale)
and talks to a haled --user on the bus of a private systemd --user, so a
reload really runs. Headless Chromium loads the page, driven over the
DevTools protocol on a pipe (cdp.py, standard library only), and the test
checks what a person would see: the certificate and service rows, a
reload clicked and its result arriving, a reload started elsewhere and a
renewal showing up without a click (in the open details of that
certificate too), a push check reported failing that trips its sticky
category, acknowledged and the category enabled again from the page, the
certificates and checks tables sorted by a click on a column and
filtered by text and status, the details of a certificate and of a
check, polkit refusals (reload, acknowledge) shown, the page in German
(po.de.js, built from po/de.po, served by the bridge as po.js), and a
page that says so when haled is not running.

Screenshots of the page go to $HALE_TEST_OUTPUT (the build directory
under meson) or the temporary directory; their paths are printed.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402
import halectx  # noqa: E402
import halesys  # noqa: E402
from halectx import BUS_NAME, OBJECT_PATH, check, check_equal, log, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.normpath(os.path.join(HERE, "..", "..", "data", "cockpit", "hale"))
# The translations are built (po/LANG.po -> data/po.LANG.js).
BUILD_DATA = os.path.join(os.environ.get("HALE_BUILD_ROOT", ""), "data")
IFACE_RELOAD = "org.hale.Hale1.Reload"
IFACE_HEALTH = "org.hale.Hale1.Health"
NOBODY = 65534

P = halectx.require("haled", "mkcert", "dbus-daemon", "busctl", "systemctl", "cockpit-bridge",
                    "chromium")


def cockpit_ws():
    """Debian has it in /usr/lib/cockpit, Fedora and newer cockpit in
    /usr/libexec."""
    for path in (os.environ.get("COCKPIT_WS"), "/usr/lib/cockpit/cockpit-ws",
                 "/usr/libexec/cockpit-ws"):
        if path and os.access(path, os.X_OK):
            return path
    halectx._skip_or_fail("cockpit-ws not found (install cockpit-ws, or set COCKPIT_WS)")


COCKPIT_WS = cockpit_ws()


def output_dir(h):
    out = os.environ.get("HALE_TEST_OUTPUT")
    if out:
        out = os.path.join(out, "cockpit")
        os.makedirs(out, exist_ok=True)
        return out
    return h.tmp


class Cockpit:
    """cockpit-ws --local-session on a free loopback port, serving the
    source tree's package. One browser session per instance: the local
    session's bridge ends with the first session's WebSocket."""

    def __init__(self, h, env=None, user=None):
        self.h = h
        share = os.path.join(h.tmp, "share")
        os.makedirs(os.path.join(share, "cockpit"), exist_ok=True)
        # A copy, not a link: the bridge of test_denied runs as nobody, who
        # may not enter the directories the checkout lives in (/root).
        package = os.path.join(share, "cockpit", "hale")
        if os.path.lexists(package):
            shutil.rmtree(package)
        shutil.copytree(PACKAGE, package)
        translations = [n for n in os.listdir(BUILD_DATA) if re.fullmatch(r"po\.\w+\.js", n)] \
            if os.path.isdir(BUILD_DATA) else []
        if "po.de.js" not in translations:
            halectx.fail("no po.de.js in %s: build the tree first (ninja -C build)" % BUILD_DATA)
        for name in translations:
            shutil.copy(os.path.join(BUILD_DATA, name), package)
        for root, dirs, files in os.walk(share):
            for name in dirs + files:
                os.chmod(os.path.join(root, name), 0o755 if name in dirs else 0o644)
            os.chmod(root, 0o755)
        for d in ("cockpit-config", "cockpit-home"):
            os.makedirs(os.path.join(h.tmp, d), exist_ok=True)
        self.env = h.env(env)
        self.env.update({
            # The package from the source tree, base1 (cockpit.js) from the system.
            "XDG_DATA_DIRS": share + ":/usr/local/share:/usr/share",
            "XDG_DATA_HOME": os.path.join(h.tmp, "cockpit-home"),
            # No /etc/cockpit/cockpit.conf of the machine.
            "XDG_CONFIG_DIRS": os.path.join(h.tmp, "cockpit-config"),
            "HOME": os.path.join(h.tmp, "cockpit-home"),
        })
        self.env.pop("G_DEBUG", None)  # cockpit's own criticals are not haled's
        self.user = user
        self.proc = None
        self.port = None
        self.log_path = os.path.join(h.tmp, "cockpit-ws.log")

    def __enter__(self):
        for attempt in range(3):
            self.port = halectx.free_port()
            argv = [COCKPIT_WS, "--no-tls", "--address", "127.0.0.1", "--port", str(self.port),
                    "--local-session=" + P["cockpit-bridge"]]
            if self.user is not None:
                argv = ["setpriv", "--reuid=%d" % self.user, "--regid=%d" % self.user,
                        "--clear-groups", "--"] + argv
            logf = open(self.log_path, "ab")
            self.proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf)
            logf.close()
            # A connect, not a request: a GET would be a session of its own.
            try:
                wait_until(self._listening, timeout=10, what="cockpit-ws to listen")
                return self
            except halectx.TestFailure:
                if self.proc.poll() is None:
                    raise
                log("cockpit-ws exited (port %d taken?), picking another" % self.port)
        halectx.fail("cockpit-ws did not start:\n" + self.log_text())

    def _listening(self):
        if self.proc.poll() is not None:
            raise halectx.TestFailure("cockpit-ws exited with %d:\n%s"
                                      % (self.proc.returncode, self.log_text()))
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def url(self, bus="session"):
        return "http://127.0.0.1:%d/cockpit/@localhost/hale/index.html#/?bus=%s" % (self.port, bus)


UNITS = {
    "ok.service": halesys.service_unit("/bin/true"),
    "fail.service": halesys.service_unit("/bin/false"),
}


def text(page, selector):
    return page.evaluate("(function () { const e = document.querySelector(%s);"
                         " return e ? e.textContent.trim() : null })()" % json.dumps(selector))


def attr(page, selector, name):
    return page.evaluate("(function () { const e = document.querySelector(%s);"
                         " return e ? e.getAttribute(%s) : null })()"
                         % (json.dumps(selector), json.dumps(name)))


def open_page(browser, cockpit, what):
    page = browser.new_page(1280, 900)
    page.navigate(cockpit.url())
    try:
        _, took = page.wait_for("!!document.body && document.body.dataset.ready === 'true'", timeout=15,
                                what="the page to load its report")
    except cdp.CDPError as e:
        halectx.fail("%s\npage console:\n%s\ncockpit-ws:\n%s"
                     % (e, "\n".join(page.console()), cockpit.log_text()))
    log("%s: page ready after %.3f s" % (what, took))
    return page


def test_page():
    server = halesys.health_server()
    port = server.server_address[1]
    closed_port = halectx.free_port()
    with halesys.SystemdHale(P, "cockpit", UNITS) as h:
        current = h.mkcert("current.pem", "0c0c01", days=90)
        legacy = h.mkcert("legacy.pem", "0c0c02", days=2)
        h.systemctl("start", "ok.service", "fail.service")

        def config():
            return h.config_text([("current", current, "72h", "24h"),
                                  ("legacy", legacy, "72h", "24h")]) + """
[Network]
CheckInterval=30s

[Endpoint ca]
URL=http://127.0.0.1:%(port)d/ok
Critical=true

[Endpoint idp]
URL=http://127.0.0.1:%(closed)d/health
Critical=false

[Service ok]
Unit=ok.service
HealthCheck=http://127.0.0.1:%(port)d/ok
Timeout=5s

[Service fail]
Unit=fail.service
Timeout=5s

[Check backup]
TTL=1h

[Check nightly]
TTL=1h

[Category jobs]
Checks=backup
Sticky=true
""" % {"port": port, "closed": closed_port}
        h.start_haled(config)

        with Cockpit(h) as cockpit, cdp.Browser(P["chromium"], h.tmp) as browser:
            page = open_page(browser, cockpit, "first load")

            # The header: the overall status as haled says it.
            status = h.get_property("Status")
            check_equal(attr(page, "#overall", "data-value"), status, "overall status on the page")
            check_equal(text(page, "#bus"), "on the session bus", "bus shown")

            # Certificates: one row each, status and days left.
            names = page.evaluate("[...document.querySelectorAll('#certificates tbody tr')]"
                                  ".map(r => r.dataset.certificate)")
            check_equal(names, ["current", "legacy"], "certificate rows")
            check_equal(attr(page, "tr[data-certificate=current]", "data-status"), "healthy",
                        "current's status")
            # Whole days left: a 90-day certificate made a moment ago has 89.
            check_equal(text(page, "tr[data-certificate=current] .hale-days"), "89 days",
                        "current's days left (90-day certificate)")
            check_equal(attr(page, "tr[data-certificate=legacy]", "data-status"), "warning",
                        "legacy's status (2 days left, WarningBefore=72h)")
            check_equal(text(page, "tr[data-certificate=legacy] .hale-days"), "1 day",
                        "legacy's days left")
            check("0c0c01" in text(page, "tr[data-certificate=current]"), "current's serial shown")

            # Services: configured, not reloaded yet.
            names = page.evaluate("[...document.querySelectorAll('#services tbody tr')]"
                                  ".map(r => r.dataset.service + ':' + r.dataset.result)")
            check_equal(sorted(names), ["fail:none", "ok:none"], "service rows before any reload")

            # Connectivity: both endpoints, the failing one a warning.
            page.wait_for("document.querySelectorAll('#endpoints tbody tr').length === 2",
                          what="two endpoint rows")
            check_equal(attr(page, "tr[data-endpoint=ca]", "data-status"), "healthy", "ca")
            check_equal(attr(page, "tr[data-endpoint=idp]", "data-status"), "warning", "idp")
            check_equal(text(page, "#connectivity"), h.get_property("Connectivity",
                        "org.hale.Hale1.Degraded"), "connectivity state")
            check_equal(attr(page, "#degraded", "data-active"), "false", "degraded mode shown off")

            check_checks(h, page)
            check_sorting(page)
            check_filtering(page)
            check_details(page)

            # A click reloads ok; its result arrives.
            start = time.monotonic()
            page.click("tr[data-service=ok] .hale-reload")
            page.wait_for("document.querySelector('tr[data-service=ok]').dataset.result === 'success'",
                          timeout=20, what="ok's reload result on the page")
            log("clicked reload of ok: success shown after %.3f s" % (time.monotonic() - start))
            last = h.get_property("LastResults", IFACE_RELOAD)
            check_equal([(r[0], r[1]) for r in last], [("ok", True)], "LastResults after the click")
            check(text(page, "tr[data-service=ok] td:nth-child(5)").endswith("ms")
                  or text(page, "tr[data-service=ok] td:nth-child(5)").endswith(" s"),
                  "ok's duration shown: %r" % text(page, "tr[data-service=ok] td:nth-child(5)"))
            check_equal(attr(page, "tr[data-service=ok] .hale-reload", "disabled"), None,
                        "the button is usable again")

            # A reload started elsewhere (busctl) shows up without a click:
            # the page follows PropertiesChanged and the signals.
            start = time.monotonic()
            r = h.busctl("--timeout=60", "call", BUS_NAME, OBJECT_PATH, IFACE_RELOAD,
                         "ReloadService", "s", "fail", check_rc=False)
            log("busctl ReloadService fail: %s%s" % (r.stdout, r.stderr))
            page.wait_for("document.querySelector('tr[data-service=fail]').dataset.result === 'failure'",
                          timeout=20, what="fail's failure on the page")
            log("fail's failure shown %.3f s after the busctl call"
                % (time.monotonic() - start))
            message = text(page, "tr[data-service=fail] .hale-error")
            check("failed" in message, "fail's row says why: %r" % message)
            _, took = page.wait_for("document.querySelector('tr[data-service=fail] .hale-error')"
                                    ".textContent.startsWith('reload failed')",
                                    what="the services report's message for fail")
            log("fail's report message shown after another %.3f s: %r"
                % (took, text(page, "tr[data-service=fail] .hale-error")))

            # A renewal (a new serial renamed over the file) changes the row
            # live, and the details of the certificate while they are open.
            page.click("tr[data-certificate=current] .hale-details")
            page.wait_for("document.body.dataset.details === 'certificate:current'",
                          what="current's details open")
            start = time.monotonic()
            fresh = h.mkcert("new.pem", "0c0c03", days=90)
            os.rename(fresh, current)
            page.wait_for("document.querySelector('tr[data-certificate=current]')"
                          ".textContent.includes('0c0c03')", timeout=15,
                          what="the renewed serial on the page")
            log("renewal shown after %.3f s" % (time.monotonic() - start))
            page.wait_for("document.querySelector('#details [data-field=serial] dd')"
                          ".textContent === '0c0c03'", what="the renewed serial in the details")
            shot = page.screenshot(os.path.join(output_dir(h), "cockpit-hale-details.png"))
            print("# SCREENSHOT %s" % shot, flush=True)
            page.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Escape",
                                                  "code": "Escape", "windowsVirtualKeyCode": 27})
            page.wait_for("document.getElementById('details').hidden", what="Escape closes the details")

            shot = page.screenshot(os.path.join(output_dir(h), "cockpit-hale.png"))
            log("screenshot: %s" % shot)
            print("# SCREENSHOT %s" % shot, flush=True)

            errors = page.exceptions()
            check(not errors, "the page threw:\n" + "\n".join(errors))
            log("page console:\n" + "\n".join(page.console()))

        h.allowed_warnings += [r"reload", r"fail", r"endpoint", r"idp", r"connection refused",
                               r"backup", r"jobs", r"sticky"]
        h.stop_haled()
    server.shutdown()


def health_call(h, method, signature, *args):
    return h.busctl("--json=short", "call", BUS_NAME, OBJECT_PATH, IFACE_HEALTH, method,
                    signature, *args)


def check_checks(h, page):
    """A push check reported failing trips its sticky category; the page
    follows (ChecksChanged, PropertiesChanged), and an operator
    acknowledges the failure and enables the category again from it."""
    # Configured, not reported yet: pending, the category enabled.
    page.wait_for("document.querySelector('tr[data-check=backup]') !== null",
                  what="the backup check's row")
    check_equal(page.evaluate("document.getElementById('checks-section').hidden"), False,
                "checks section shown")
    check_equal(attr(page, "tr[data-check=backup]", "data-status"), "unknown",
                "backup before any report")
    check_equal(attr(page, "tr[data-category=jobs]", "data-enabled"), "true", "jobs enabled")
    check_equal(page.evaluate("document.querySelector('tr[data-check=backup] .hale-ack') !== null"),
                False, "Acknowledge offered for a check that has not failed")
    before = h.get_property("Status")
    check(before != "unhealthy", "status before the failure: %s" % before)

    # A cron job reports a failure (busctl as root: no polkit asked).
    start = time.monotonic()
    health_call(h, "Report", "sss", "backup", "fail", "disk full on /srv/backup")
    page.wait_for("document.querySelector('tr[data-check=backup]').dataset.status === 'critical'"
                  " && document.querySelector('tr[data-category=jobs]').dataset.enabled === 'false'",
                  timeout=15, what="the failing check and the tripped category")
    log("failure and sticky trip shown %.3f s after the report" % (time.monotonic() - start))
    check_equal(text(page, "tr[data-check=backup] .hale-check-message"), "disk full on /srv/backup",
                "the check's message")
    reason = text(page, "tr[data-category=jobs] .hale-category-reason")
    check(reason.startswith("sticky: check backup failed: disk full"),
          "why jobs is disabled: %r" % reason)
    check("sticky" in text(page, "tr[data-category=jobs] .hale-category-state"), "jobs shown sticky")
    page.wait_for("document.getElementById('overall').dataset.value === 'unhealthy'",
                  what="the overall status unhealthy")

    # Acknowledge: the button opens a form; the message is typed and sent.
    page.click("tr[data-check=backup] .hale-ack")
    page.wait_for("document.activeElement && document.activeElement.classList"
                  ".contains('hale-ack-message')", what="the message field focused")
    page.type_text("restore of /srv running, INC-42")
    shot = page.screenshot(os.path.join(output_dir(h), "cockpit-hale-tripped.png"))
    print("# SCREENSHOT %s" % shot, flush=True)
    start = time.monotonic()
    page.click("tr[data-check=backup] .hale-ack-submit")
    page.wait_for("document.querySelector('tr[data-check=backup]').dataset.acknowledged === 'true'",
                  timeout=15, what="the acknowledgement on the page")
    log("acknowledgement shown %.3f s after the click" % (time.monotonic() - start))
    check_equal(text(page, "tr[data-check=backup] .hale-ack-text"), "restore of /srv running, INC-42",
                "the ack message")
    by = text(page, "tr[data-check=backup] .hale-ack-by")
    check(by.startswith("by uid:%d" % os.getuid()), "who acknowledged: %r" % by)
    check_equal(attr(page, "tr[data-check=backup]", "data-status"), "critical",
                "the acknowledged check keeps its real status")
    check_equal(h.get_property("Acknowledged"), 1, "Acknowledged property")
    page.wait_for("document.getElementById('acknowledged').textContent === '1 acknowledged'",
                  what="the acknowledged count")
    check(page.evaluate("document.querySelector('tr[data-check=backup] .hale-unack') !== null"),
          "Remove acknowledgement offered")
    check_equal(h.get_property("Status"), "unhealthy", "still unhealthy: jobs is disabled")

    # Enable again: the acknowledged failure does not trip it again, and
    # the host is back to what the rest says.
    start = time.monotonic()
    page.click("tr[data-category=jobs] .hale-enable")
    page.wait_for("document.querySelector('tr[data-category=jobs]').dataset.enabled === 'true'",
                  timeout=15, what="jobs enabled on the page")
    log("jobs enabled shown %.3f s after the click" % (time.monotonic() - start))
    page.wait_for("document.getElementById('overall').dataset.value === %s" % json.dumps(before),
                  what="the overall status back to %s" % before)
    check_equal(h.get_property("Status"), before, "Status property after the enable")
    check_equal(attr(page, "tr[data-category=jobs]", "data-status"), "healthy",
                "jobs healthy: its failure is acknowledged")
    check_equal(page.evaluate("document.querySelector('tr[data-category=jobs] .hale-enable') !== null"),
                False, "Enable again offered for an enabled category")

    # A change made elsewhere arrives too: halectl-like unack by busctl.
    health_call(h, "RemoveAcknowledgement", "s", "backup")
    page.wait_for("document.querySelector('tr[data-check=backup]').dataset.acknowledged === 'false'"
                  " && document.getElementById('overall').dataset.value === 'unhealthy'",
                  timeout=15, what="the acknowledgement gone and the status unhealthy again")
    check_equal(text(page, "#acknowledged"), "", "no acknowledged count")
    # And back, from the page, for the screenshot.
    page.click("tr[data-check=backup] .hale-ack")
    page.type_text("restore of /srv running, INC-42")
    page.click("tr[data-check=backup] .hale-ack-submit")
    page.wait_for("document.querySelector('tr[data-check=backup]').dataset.acknowledged === 'true'",
                  timeout=15, what="acknowledged again")


def rows(page, table, attr):
    return page.evaluate("[...document.querySelectorAll('#%s tbody tr')].map(r => r.dataset.%s)"
                         % (table, attr))


def sort_by(page, table, key):
    page.click("#%s th[data-sort=%s] button" % (table, key))
    return attr(page, "#%s th[data-sort=%s]" % (table, key), "aria-sort")


def check_sorting(page):
    """A click on a column header sorts by it, a second click the other
    way; the header says which (aria-sort)."""
    # By name first: current, legacy.
    check_equal(rows(page, "certificates", "certificate"), ["current", "legacy"], "by name")
    check_equal(attr(page, "#certificates th[data-sort=name]", "aria-sort"), "ascending",
                "the name column is the sorted one")
    check_equal(sort_by(page, "certificates", "name"), "descending", "name clicked again")
    check_equal(rows(page, "certificates", "certificate"), ["legacy", "current"], "by name, descending")
    # Days left: the 2-day certificate before the 90-day one.
    check_equal(sort_by(page, "certificates", "days"), "ascending", "days left clicked")
    check_equal(rows(page, "certificates", "certificate"), ["legacy", "current"], "by days left")
    check_equal(attr(page, "#certificates th[data-sort=name]", "aria-sort"), "none",
                "name no longer sorted")
    check_equal(sort_by(page, "certificates", "days"), "descending", "days left clicked again")
    check_equal(rows(page, "certificates", "certificate"), ["current", "legacy"],
                "by days left, descending")
    # Status, worst last ascending: healthy current, warning legacy.
    check_equal(sort_by(page, "certificates", "status"), "ascending", "status clicked")
    check_equal(rows(page, "certificates", "certificate"), ["current", "legacy"], "by status")

    # Checks in configuration order until a column is clicked; by status
    # descending the failing (acknowledged) backup comes before the
    # nightly that has not reported.
    check_equal(rows(page, "checks", "check"), ["backup", "nightly"], "checks in configuration order")
    check_equal(sort_by(page, "checks", "name"), "ascending", "check name clicked")
    check_equal(sort_by(page, "checks", "name"), "descending", "check name clicked again")
    check_equal(rows(page, "checks", "check"), ["nightly", "backup"], "checks by name, descending")
    check_equal(sort_by(page, "checks", "status"), "ascending", "check status clicked")
    check_equal(rows(page, "checks", "check"), ["nightly", "backup"], "checks by status")
    check_equal(sort_by(page, "checks", "acknowledged"), "ascending", "acknowledged clicked")
    check_equal(sort_by(page, "checks", "acknowledged"), "descending", "acknowledged clicked again")
    check_equal(rows(page, "checks", "check"), ["backup", "nightly"], "acknowledged first")
    # Back to by name for what follows.
    sort_by(page, "certificates", "name")


def filter_text(page, table, text):
    page.evaluate("(function () { const i = document.querySelector('.hale-filter[data-table=%s]"
                  " .hale-filter-text'); i.focus(); i.select(); })()" % table)
    page.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Backspace", "code": "Backspace",
                                         "windowsVirtualKeyCode": 8})
    page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Backspace", "code": "Backspace",
                                         "windowsVirtualKeyCode": 8})
    if text:
        page.type_text(text)


def filter_status(page, table, value):
    page.evaluate("(function () { const s = document.querySelector('.hale-filter[data-table=%s]"
                  " .hale-filter-status'); s.value = %s; s.dispatchEvent(new Event('change')); })()"
                  % (table, json.dumps(value)))


def check_filtering(page):
    """Typed text and a status narrow the table; the toolbar counts; a
    filter that matches nothing says so and offers to clear it."""
    count = ".hale-filter[data-table=certificates] .hale-count"
    check_equal(text(page, count), "2 items", "count unfiltered")
    filter_text(page, "certificates", "LEG")
    page.wait_for("document.querySelectorAll('#certificates tbody tr').length === 1",
                  what="one certificate left by the text filter")
    check_equal(rows(page, "certificates", "certificate"), ["legacy"], "filtered by 'LEG'")
    check_equal(text(page, count), "1 of 2", "count filtered")
    # The serial is searched too.
    filter_text(page, "certificates", "0c0c01")
    page.wait_for("document.querySelector('#certificates tbody tr') &&"
                  " document.querySelector('#certificates tbody tr').dataset.certificate === 'current'",
                  what="the serial's certificate")
    filter_text(page, "certificates", "")
    filter_status(page, "certificates", "warning")
    check_equal(rows(page, "certificates", "certificate"), ["legacy"], "status filter warning")
    filter_status(page, "certificates", "critical")
    check_equal(rows(page, "certificates", "certificate"), [], "status filter critical")
    check_equal(attr(page, "#certificates-section .hale-no-match", "hidden"), None,
                "nothing matches: said so")
    page.click("#certificates-section .hale-clear-filter")
    page.wait_for("document.querySelectorAll('#certificates tbody tr').length === 2",
                  what="both certificates back after Clear filters")
    check_equal(page.evaluate("document.querySelector('.hale-filter[data-table=certificates]"
                              " .hale-filter-status').value"), "", "status filter cleared")

    filter_text(page, "checks", "disk full")
    page.wait_for("document.querySelectorAll('#checks tbody tr').length === 1",
                  what="one check by its message")
    check_equal(rows(page, "checks", "check"), ["backup"], "checks filtered by message")
    filter_text(page, "checks", "")
    filter_status(page, "checks", "unknown")
    check_equal(rows(page, "checks", "check"), ["nightly"], "checks filtered by status")
    filter_status(page, "checks", "")
    check_equal(len(rows(page, "checks", "check")), 2, "both checks again")


def detail(page, field):
    return text(page, "#details [data-field=%s] dd" % field)


def check_details(page):
    """A name opens its details, with what the table has no room for."""
    page.click("tr[data-certificate=legacy] .hale-details")
    page.wait_for("document.body.dataset.details === 'certificate:legacy'",
                  what="legacy's details open")
    check_equal(text(page, "#details-title"), "Certificate legacy", "details title")
    check_equal(detail(page, "serial"), "0c0c02", "serial in the details")
    check(detail(page, "path").endswith("legacy.pem"), "the file in the details: %r" % detail(page, "path"))
    check(detail(page, "issuer"), "the issuer in the details")
    check_equal(detail(page, "status"), "warning", "status in the details")
    check_equal(detail(page, "days_left"), "1 day", "days left in the details")
    check_equal(page.evaluate("document.activeElement.classList.contains('hale-details-close')"), True,
                "Close focused")
    page.click("#details .hale-details-close")
    page.wait_for("document.getElementById('details').hidden", what="the details closed")
    check_equal(page.evaluate("document.activeElement.closest('tr') &&"
                              " document.activeElement.closest('tr').dataset.certificate"),
                "legacy", "focus back on the name")

    page.click("tr[data-check=backup] .hale-details")
    page.wait_for("document.body.dataset.details === 'check:backup'", what="backup's details open")
    check_equal(text(page, "#details-title"), "Check backup", "check details title")
    check_equal(detail(page, "kind"), "push", "the check's kind")
    check_equal(detail(page, "categories"), "jobs", "the check's categories")
    check_equal(detail(page, "message"), "disk full on /srv/backup", "the check's message")
    ack = detail(page, "acknowledged")
    check(ack.startswith("\u201crestore of /srv running, INC-42\u201d by uid:%d" % os.getuid()),
          "the acknowledgement in the details: %r" % ack)
    # A click beside the dialog closes it.
    page.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": 5, "y": 5, "button": "left",
                                           "clickCount": 1})
    page.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": 5, "y": 5, "button": "left",
                                           "clickCount": 1})
    page.wait_for("document.getElementById('details').hidden", what="a click beside closes the details")


def test_german():
    """The page in German, as for a user whose browser (and Cockpit's
    login) says de: po.js is the package's po.de.js."""
    with halectx.Hale(P, "cockpit-de") as h:
        cert = h.mkcert("current.pem", "0e0e01", days=90)
        h.start_haled(lambda: h.config_text([("current", cert)]) + "\n[Check backup]\nTTL=1h\n")
        with Cockpit(h) as cockpit, cdp.Browser(P["chromium"], h.tmp) as browser:
            page = browser.new_page(1280, 900, language="de")
            page.navigate(cockpit.url())
            page.wait_for("!!document.body && document.body.dataset.ready === 'true'", timeout=15,
                          what="the German page to load")
            check_equal(page.evaluate("cockpit.language"), "de", "cockpit.language")
            po = page.evaluate("fetch('po.js').then(r => r.text())")
            check('"language": "de"' in po and "Zertifikate (hale)" in po,
                  "the bridge served po.de.js as po.js, with the menu label: %r" % po[:300])
            check_equal(text(page, "#certificates-title"), "Zertifikate", "certificates heading")
            check_equal(text(page, "#checks-title"), "Prüfungen", "checks heading")
            check_equal(text(page, "#bus"), "auf dem Sitzungsbus", "bus")
            check_equal(text(page, "#certificates th[data-sort=days]"), "Verbleibende Tage",
                        "days left column")
            check_equal(text(page, "tr[data-certificate=current] .hale-days"), "89 Tage",
                        "days left, plural")
            check_equal(text(page, ".hale-filter[data-table=certificates] .hale-count"), "1 Eintrag",
                        "count, singular")
            check_equal(text(page, "#reload-all"), "Alle neu laden", "Reload all")
            # haled's status words stay haled's.
            check_equal(text(page, "tr[data-certificate=current] .hale-badge"), "healthy",
                        "status word")
            shot = page.screenshot(os.path.join(output_dir(h), "cockpit-hale-de.png"))
            log("screenshot: %s" % shot)
            print("# SCREENSHOT %s" % shot, flush=True)
            page.click("tr[data-certificate=current] .hale-details")
            page.wait_for("document.body.dataset.details === 'certificate:current'",
                          what="details open")
            check_equal(text(page, "#details-title"), "Zertifikat current", "details title")
            check_equal(text(page, "#details [data-field=serial] dt"), "Seriennummer", "serial term")
            check_equal(text(page, "#details [data-field=lifetime_seconds] dd"), "90 Tage",
                        "lifetime in the details")
            check(not page.exceptions(), "the page threw: %r" % page.exceptions())
        h.allowed_warnings += [r"backup"]
        h.stop_haled()


def test_denied():
    """The bridge as nobody, polkit (a mock) saying no: the refusal is on
    the page, not swallowed."""
    if os.geteuid() != 0:
        halectx._skip_or_fail("running the bridge as another uid needs root (setpriv)")
    py = halesys.system_python()
    if py is None:
        halectx._skip_or_fail("python3-dbusmock is not installed")
    with halesys.OpenBusHale(P, "cockpit-denied") as h:
        cert = h.mkcert("current.pem", "0d0d01")
        mock_env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=h.bus_address)
        polkit = subprocess.Popen([py, "-m", "dbusmock", "--template", "polkitd"], env=mock_env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: h.busctl("status", "org.freedesktop.PolicyKit1", check_rc=False)
                       .returncode == 0, what="the polkit mock on the bus")
            h.start_haled(lambda: h.config_text([("current", cert)])
                          + "\n[Service ok]\nUnit=ok.service\n\n[Check backup]\nTTL=1h\n",
                          env={"DBUS_SYSTEM_BUS_ADDRESS": h.bus_address})
            # haled's own uid (root) reports: allowed without polkit.
            health_call(h, "Report", "sss", "backup", "fail", "disk full")
            # nobody reads the package copy and writes in its home.
            for d in ("cockpit-home", "chromium"):
                os.makedirs(os.path.join(h.tmp, d), exist_ok=True)
            os.chown(os.path.join(h.tmp, "cockpit-home"), NOBODY, NOBODY)
            with Cockpit(h, user=NOBODY) as cockpit, cdp.Browser(P["chromium"], h.tmp) as browser:
                page = open_page(browser, cockpit, "as nobody")
                check_equal(page.evaluate("[...document.querySelectorAll('#services tbody tr')]"
                                          ".map(r => r.dataset.service)"), ["ok"], "service rows")
                page.click("tr[data-service=ok] .hale-reload")
                page.wait_for("document.querySelector('#alerts .hale-alert') !== null",
                              timeout=20, what="an alert on the page")
                check_equal(attr(page, "#alerts .hale-alert", "data-kind"), "denied", "alert kind")
                check_equal(attr(page, "#alerts .hale-alert", "data-error"),
                            "org.freedesktop.DBus.Error.AccessDenied", "alert's D-Bus error")
                title = text(page, "#alerts .hale-alert strong")
                message = text(page, "#alerts .hale-alert-message")
                log("the page says: %s %s" % (title, message))
                check_equal(title, "Not permitted: Reloading ok", "alert title")
                check("org.hale.Hale1.reload" in message, "the alert names the action: %r" % message)
                page.wait_for("document.querySelector('tr[data-service=ok]').dataset.result"
                              " === 'none'", what="the row back to not reloaded")

                # Acknowledge: refused as well, shown, and the form stays
                # open with what was typed.
                page.click("#alerts .hale-alert-close")
                page.wait_for("document.querySelector('tr[data-check=backup]')"
                              ".dataset.status === 'critical'", what="backup failing on the page")
                page.click("tr[data-check=backup] .hale-ack")
                page.type_text("known")
                page.click("tr[data-check=backup] .hale-ack-submit")
                page.wait_for("document.querySelector('#alerts .hale-alert') !== null",
                              timeout=20, what="the acknowledge refusal on the page")
                check_equal(text(page, "#alerts .hale-alert strong"),
                            "Not permitted: Acknowledging backup", "alert title")
                message = text(page, "#alerts .hale-alert-message")
                check("org.hale.Hale1.acknowledge" in message,
                      "the alert names the action: %r" % message)
                check_equal(attr(page, "tr[data-check=backup]", "data-acknowledged"), "false",
                            "not acknowledged")
                check_equal(page.evaluate("document.querySelector('tr[data-check=backup]"
                                          " .hale-ack-message').value"), "known",
                            "the typed message kept")
                shot = page.screenshot(os.path.join(output_dir(h), "cockpit-hale-denied.png"))
                print("# SCREENSHOT %s" % shot, flush=True)
                check(not page.exceptions(), "the page threw: %r" % page.exceptions())
            check_equal(h.get_property("LastResults", IFACE_RELOAD), [], "nothing reloaded")
            check_equal(h.get_property("Acknowledged"), 0, "nothing acknowledged")
            h.stop_haled()
        finally:
            polkit.terminate()
            polkit.wait(5)


def test_absent():
    """No haled on the bus: the page says so instead of staying empty."""
    with halectx.Hale(P, "cockpit-absent") as h:
        with Cockpit(h) as cockpit, cdp.Browser(P["chromium"], h.tmp) as browser:
            page = browser.new_page(1280, 900)
            page.navigate(cockpit.url())
            page.wait_for("!!document.body && document.body.dataset.present === 'false'",
                          timeout=15, what="the page to say haled is absent")
            banner = text(page, "#absent")
            check(banner.startswith("haled is not running on the session bus."),
                  "the banner: %r" % banner)
            check_equal(attr(page, "#reload-all", "disabled"), "", "Reload all disabled")
            check(not page.exceptions(), "the page threw: %r" % page.exceptions())


if __name__ == "__main__":
    if not os.path.isfile(os.path.join(PACKAGE, "manifest.json")):
        halectx._skip_or_fail("no Cockpit package at %s" % PACKAGE)
    halectx.run([test_page, test_german, test_denied, test_absent])
