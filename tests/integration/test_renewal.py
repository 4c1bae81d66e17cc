#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The key scenario: a rotation tool renames a new certificate over the
watched one, and every face shows the new serial within 2 s."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, find_series, log  # noqa: E402

P = halectx.require("haled", "mkcert", "dbus-daemon", "busctl")

OLD = "0a0b0c0d01"
NEW = "0a0b0c0d02"
NEWER = "0a0b0c0d03"
DEADLINE = 2.0


def serial_in_metrics(h):
    return {s[1].get("serial") for s in find_series(h.metrics(), "hale_certificate_info", type="current")}


def successes(h):
    found = find_series(h.metrics(), "hale_certificate_renewal_attempts_total", result="success")
    # With a type label there is one series per certificate; without, one.
    mine = [s for s in found if s[1].get("type", "current") == "current"]
    return sum(s[2] for s in mine)


def serial_on_bus(h):
    if h.has_certificates_property:
        certs = h.get_property("Certificates")
        s = certs.get("current", {}).get("serial")
        return s.get("data") if isinstance(s, dict) else s
    import json
    out = h.busctl("--json=short", "call", halectx.BUS_NAME, halectx.OBJECT_PATH,
                   halectx.IFACE_HEALTH, "GetReport", "s", "certificate")
    return json.loads(json.loads(out)["data"][0])["details"].get("serial")


def serial_in_health(h):
    return h.http_json("/health/certificate")[1]["details"].get("serial")


def rotate(h, staged, target):
    """What certbot/lego do: write next to the target, then rename over it."""
    with open(staged, "rb") as f:
        data = f.read()
    tmp = os.path.join(os.path.dirname(target), ".current.pem.new")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, target)
    return time.monotonic()


def wait_all(h, serial, t0):
    """Polls the three faces concurrently-ish (round robin) and returns
    how long after the rename each first showed @serial."""
    faces = {"metrics hale_certificate_info": lambda: serial in serial_in_metrics(h),
             "/health/certificate details.serial": lambda: serial_in_health(h) == serial,
             "D-Bus " + ("Certificates" if h.has_certificates_property else "GetReport"):
                 lambda: serial_on_bus(h) == serial}
    seen = {}
    cap = 10.0
    while len(seen) < len(faces) and time.monotonic() - t0 < cap:
        for name, pred in faces.items():
            if name not in seen:
                try:
                    if pred():
                        seen[name] = time.monotonic() - t0
                except (OSError, ValueError):
                    pass
        time.sleep(0.01)
    for name in faces:
        if name in seen:
            log("%s showed serial %s after %.3f s" % (name, serial, seen[name]))
    missing = [n for n in faces if n not in seen]
    check(not missing, "after %.0f s, still no serial %s in: %s\n%s"
          % (cap, serial, ", ".join(missing), h.stderr_text()))
    slow = {n: t for n, t in seen.items() if t > DEADLINE}
    check(not slow, "slower than %.0f s: %r" % (DEADLINE, slow))
    return seen


def test_rename_over_is_a_renewal():
    with halectx.Hale(P, "renewal") as h:
        staging = os.path.join(h.tmp, "staging")
        os.mkdir(staging)
        cert = h.mkcert("current.pem", OLD, days=30)
        new = h.mkcert("new.pem", NEW, days=90, directory=staging)
        newer = h.mkcert("newer.pem", NEWER, days=90, directory=staging)
        h.start_haled(lambda: h.config_text([("current", cert)]))
        introspect = h.busctl("introspect", halectx.BUS_NAME, halectx.OBJECT_PATH,
                              halectx.IFACE_HEALTH)
        h.has_certificates_property = ".Certificates" in introspect

        check_equal(serial_in_metrics(h), {OLD}, "serial before the renewal")
        check_equal(serial_in_health(h), OLD, "details.serial before the renewal")
        check_equal(successes(h), 0, "renewal successes before any renewal")

        t0 = rotate(h, new, cert)
        wait_all(h, NEW, t0)
        # The rename and the write of the temporary file are several
        # inotify events; give them time to be (wrongly) counted again.
        time.sleep(1.5)
        check_equal(successes(h), 1, "renewal_attempts_total{result=\"success\"} after one renewal")
        check_equal(serial_in_metrics(h), {NEW}, "only the new serial in hale_certificate_info")
        expiry = halectx.one_value(h.metrics(), "hale_certificate_expiry_seconds", type="current")
        check(abs(expiry - 90 * 86400) < 120, "expiry after renewal %r, want ~90 days" % expiry)

        # Touching the file (same certificate, new mtime, in-place write)
        # is not a renewal.
        with open(cert, "rb") as f:
            data = f.read()
        with open(cert, "wb") as f:
            f.write(data)
        time.sleep(1.0)
        check_equal(successes(h), 1, "renewals after rewriting the same certificate")

        t0 = rotate(h, newer, cert)
        wait_all(h, NEWER, t0)
        time.sleep(1.0)
        check_equal(successes(h), 2, "renewal successes after a second renewal")
        h.stop_haled()


def test_renewal_survives_restart():
    """The last seen serial is kept in XDG_STATE_HOME: a restart with the
    same certificate is not a renewal; one with a new certificate is."""
    with halectx.Hale(P, "renewal-restart") as h:
        staging = os.path.join(h.tmp, "staging")
        os.mkdir(staging)
        cert = h.mkcert("current.pem", OLD, days=30)
        new = h.mkcert("new.pem", NEW, days=90, directory=staging)
        h.start_haled(lambda: h.config_text([("current", cert)]))
        h.stop_haled()
        h.start_haled(lambda: h.config_text([("current", cert)]))
        check_equal(successes(h), 0, "renewals after a restart with the same certificate")
        h.stop_haled()
        rotate(h, new, cert)
        h.start_haled(lambda: h.config_text([("current", cert)]))
        _, took = halectx.wait_until(lambda: successes(h) == 1, 5,
                                     "a renewal counted for a certificate replaced while down",
                                     on_timeout=h.stderr_text)
        h.stop_haled()


if __name__ == "__main__":
    halectx.run([test_rename_over_is_a_renewal, test_renewal_survives_restart])
