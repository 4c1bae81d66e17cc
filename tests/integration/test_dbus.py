#!/usr/bin/env python3
"""org.hale.Hale1 on the bus, as busctl and halectl show it, and that it
tells the same story as HTTP."""

import json
import os
import sys

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
        out = h.busctl("call", BUS_NAME, OBJECT_PATH, IFACE_HEALTH, "GetReport", "s",
                       "no-such-section", check_rc=False)
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


if __name__ == "__main__":
    halectx.run([test_introspect, test_get_report_equals_http, test_halectl])
