#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""org.hale.Hale1 on the bus, as busctl and halectl show it, and that it
tells the same story as HTTP."""

import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import BUS_NAME, IFACE_HEALTH, OBJECT_PATH, check, check_equal, log  # noqa: E402

P = halectx.require("haled", "halectl", "mkcert", "dbus-daemon", "busctl")


def without_timestamps(report):
    """The report minus what moves with the clock alone."""
    if isinstance(report, dict):
        return {k: without_timestamps(v) for k, v in report.items()
                if k not in ("timestamp", "checked_at")}
    if isinstance(report, list):
        return [without_timestamps(v) for v in report]
    return report


def start(h):
    cert = h.mkcert("current.pem", "6f7a8b9c", days=60)
    h.start_haled(lambda: h.config_text([("current", cert)]))


def test_introspect():
    with halectx.Hale(P, "dbus-introspect") as h:
        start(h)
        out = h.busctl("introspect", BUS_NAME, OBJECT_PATH)
        lines = out.splitlines()

        def member(kind, name):
            want = "." + name
            return any(l.split()[:2] == [want, kind] for l in lines if l.strip())

        check(any(l.startswith(IFACE_HEALTH + " ") for l in lines),
              "introspect has no %s:\n%s" % (IFACE_HEALTH, out))
        check(member("property", "Status"), "no Status property:\n" + out)
        check(member("method", "GetReport"), "no GetReport method:\n" + out)
        check(member("signal", "StatusChanged"), "no StatusChanged signal:\n" + out)
        if member("property", "Certificates"):
            certs = h.get_property("Certificates")
            check("current" in certs, "Certificates has no 'current': %r" % certs)
            serial = certs["current"].get("serial", {})
            check_equal(serial.get("data") if isinstance(serial, dict) else serial,
                        "6f7a8b9c", "Certificates[current].serial")
        else:
            log("no Certificates property: skipped its check")
        check_equal(h.get_property("Status"), "healthy", "Health.Status")
        # The interface is described in the XML the project installs.
        out = h.busctl("--xml-interface", "introspect", BUS_NAME, OBJECT_PATH)
        check("<interface name=\"%s\">" % IFACE_HEALTH in out, "introspection XML:\n" + out)
        h.stop_haled()


def test_get_report_equals_http():
    with halectx.Hale(P, "dbus-report") as h:
        start(h)
        for section, path in (("", "/health"), ("certificate", "/health/certificate"),
                              ("connectivity", "/health/connectivity"),
                              ("services", "/health/services")):
            out = h.busctl("--json=short", "call", BUS_NAME, OBJECT_PATH, IFACE_HEALTH,
                           "GetReport", "s", section)
            bus_text = json.loads(out)["data"][0]
            _, _, http_body = h.http_get(path)
            http_text = http_body.decode()
            bus, http = json.loads(bus_text), json.loads(http_text)
            if bus.get("timestamp") == http.get("timestamp"):
                # Same second: the very same bytes, as the interface says.
                check_equal(bus_text, http_text, "GetReport(%r) vs GET %s bytes" % (section, path))
            check_equal(without_timestamps(bus), without_timestamps(http),
                        "GetReport(%r) vs GET %s" % (section, path))
        # A bad section is a D-Bus error, not a crash.
        r = h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE_HEALTH, "GetReport", "s",
                     "no-such-section", check_rc=False)
        check(r.returncode != 0 and "no-such-section" in r.stderr,
              "GetReport('no-such-section'): exit %d, %r%r" % (r.returncode, r.stdout, r.stderr))
        log("GetReport('no-such-section'): " + r.stderr.strip())
        check(h.haled.poll() is None, "haled died on GetReport('no-such-section')")
        h.stop_haled()


def test_halectl():
    with halectx.Hale(P, "dbus-halectl") as h:
        start(h)
        r = h.halectl("status")
        check_equal(r.returncode, 0, "halectl --user status exit (stderr: %s)" % r.stderr)
        check("healthy" in r.stdout and "current" in r.stdout,
              "halectl status output lacks the status or the certificate:\n" + r.stdout)
        log("halectl status:\n" + r.stdout)
        r = h.halectl("status", "--json")
        check_equal(r.returncode, 0, "halectl --user status --json exit (stderr: %s)" % r.stderr)
        report = json.loads(r.stdout)
        _, http = h.http_json("/health", 200)
        check_equal(without_timestamps(report), without_timestamps(http),
                    "halectl status --json vs GET /health")
        h.stop_haled()
        # Nobody on the bus: halectl says so, with its documented status.
        r = h.halectl("status")
        check_equal(r.returncode, 3, "halectl status with no haled (stderr: %s)" % r.stderr)


class Monitor:
    """busctl monitor on the private bus: every message, parsed."""

    def __init__(self, h):
        self.proc = subprocess.Popen(["busctl", "--user", "monitor", "--json=short"],
                                     env=h.env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.messages = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.messages.append((time.monotonic(), m))

    def signals(self, interface, member):
        with self.lock:
            return [(t, m["payload"]["data"]) for t, m in self.messages
                    if m.get("type") == "signal" and m.get("interface") == interface
                    and m.get("member") == member and m.get("path") == OBJECT_PATH]

    def close(self):
        self.proc.terminate()
        self.proc.wait(5)


def test_status_changed_signals():
    """A desktop applet watching the bus hears a certificate go critical
    and come back: StatusChanged and PropertiesChanged, without polling."""
    with halectx.Hale(P, "dbus-signals") as h:
        staging = os.path.join(h.tmp, "staging")
        os.mkdir(staging)
        cert = h.mkcert("current.pem", "6f7a8b01", days=2)
        critical = h.mkcert("critical.pem", "6f7a8b02", days=1, directory=staging)
        healthy = h.mkcert("healthy.pem", "6f7a8b03", days=90, directory=staging)
        mon = Monitor(h)
        try:
            h.start_haled(lambda: h.config_text([("current", cert, "72h", "36h")]))
            check_equal(h.get_property("Status"), "degraded", "Status with 2 days left")
            for src, want in ((critical, ["degraded", "unhealthy"]),
                              (healthy, ["unhealthy", "healthy"])):
                t0 = time.monotonic()
                os.rename(src, cert)

                def heard():
                    return [x for x in mon.signals(IFACE_HEALTH, "StatusChanged")
                            if x[1] == want and x[0] >= t0]

                found, _ = halectx.wait_until(heard, 5, "StatusChanged%r" % (want,),
                                              on_timeout=h.stderr_text)
                t = found[0][0]
                log("StatusChanged%r %.3f s after the rename" % (want, t - t0))

                # GDBus sends PropertiesChanged from an idle: it may come
                # a moment after StatusChanged.
                def status_properties_changed():
                    return [m[1]["Status"]["data"] for tt, m in
                            mon.signals("org.freedesktop.DBus.Properties", "PropertiesChanged")
                            if tt >= t0 and m[0] == IFACE_HEALTH and "Status" in m[1]
                            and m[1]["Status"]["data"] == want[1]]

                halectx.wait_until(status_properties_changed, 5,
                                   "PropertiesChanged with Status=%s" % want[1],
                                   on_timeout=h.stderr_text)
                check_equal(h.get_property("Status"), want[1], "Status property")
            h.stop_haled()
        finally:
            mon.close()


if __name__ == "__main__":
    halectx.run([test_introspect, test_get_report_equals_http, test_halectl,
                 test_status_changed_signals])
