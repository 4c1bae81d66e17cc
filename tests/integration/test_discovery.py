#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Certificates found by a Path= pattern, as an operator of a hosting
server sees them with curl and busctl: domains added and removed under
/etc/letsencrypt/live/* while haled runs."""

import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, log, wait_until  # noqa: E402

P = halectx.require("haled", "mkcert", "dbus-daemon", "busctl")

# A file or directory that appears is a certificate within this much.
PICKED_UP_S = 2.0


def domain(h, live, name, serial, days=90, moved=False):
    """A domain's directory as certbot leaves it (fullchain.pem and
    privkey.pem), made in place or elsewhere and moved in."""
    where = os.path.join(h.tmp, "staging", name) if moved else os.path.join(live, name)
    os.makedirs(where)
    h.mkcert("fullchain.pem", serial, days=days, cn=name, directory=where)
    with open(os.path.join(where, "privkey.pem"), "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n")
    if moved:
        os.rename(where, os.path.join(live, name))
    return os.path.join(live, name, "fullchain.pem")


def certificates(h):
    status, sect = h.http_json("/health/certificate")
    return sect.get("certificates", {})


def expiry_series(h, path=None):
    found = halectx.find_series(h.metrics(), "hale_certificate_expiry_seconds", type="le")
    return [s for s in found if path is None or s[1].get("path") == path]


def wait_domain(h, name, present=True):
    """Waits until /health/certificate has (or no longer has) le:NAME;
    returns how long it took."""
    start = time.monotonic()
    wait_until(lambda: (("le:" + name) in certificates(h)) == present, 10,
               "le:%s %s /health/certificate" % (name, "in" if present else "gone from"))
    return time.monotonic() - start


def test_discovery():
    with halectx.Hale(P, "discovery") as h:
        live = os.path.join(h.tmp, "letsencrypt", "live")
        web = h.mkcert("web.pem", "0e0e", days=90)
        # live/ is not there yet: the agent has not run.
        h.allowed_warnings.append(r"Certificate le: Path=.* matches no file yet")
        h.start_haled(lambda: h.config_text([("web", web)], extra=(
            "[Certificate le]\n"
            "Path=%s/*/fullchain.pem\n"
            "KeyPath=%s/*/privkey.pem\n"
            "WarningBefore=14d\n"
            "CriticalBefore=7d\n" % (live, live))))
        check_equal(sorted(certificates(h)), ["web"], "certificates before any domain")
        check_equal(expiry_series(h), [], "le series before any domain")

        os.makedirs(live)
        a = domain(h, live, "a.example", "0a01")
        took = wait_domain(h, "a.example")
        log("a.example seen after %.2f s" % took)
        check(took < PICKED_UP_S, "a.example seen after %.2f s, want < %.0f s" % (took, PICKED_UP_S))
        b = domain(h, live, "b.example", "0b01", days=3, moved=True)
        took = wait_domain(h, "b.example")
        check(took < PICKED_UP_S, "b.example seen after %.2f s, want < %.0f s" % (took, PICKED_UP_S))

        # Each its own entry, status and details.
        certs, _ = wait_until(lambda: (lambda c: c if c.get("le:b.example", {}).get("details", {})
                                    .get("serial") == "0b01" else None)(certificates(h)),
                           10, "le:b.example read")
        check_equal(sorted(certs), ["le:a.example", "le:b.example", "web"], "certificates")
        check_equal(certs["le:a.example"]["status"], "healthy", "le:a.example status")
        check_equal(certs["le:b.example"]["status"], "critical", "le:b.example status (3 d < 7 d)")
        check_equal(certs["le:a.example"]["details"].get("path"), a, "le:a.example path")

        # Series with type and path; the plain one keeps only type.
        parsed = h.metrics()
        for path, serial in ((a, "0a01"), (b, "0b01")):
            value = halectx.one_value(parsed, "hale_certificate_expiry_seconds", type="le", path=path)
            check(value > 0, "expiry of %s is %r" % (path, value))
            halectx.one_value(parsed, "hale_certificate_info", type="le", path=path, serial=serial)
            check_equal(halectx.one_value(parsed, "hale_certificate_valid", type="le", path=path),
                        1.0, "hale_certificate_valid of %s" % path)
        plain = halectx.find_series(parsed, "hale_certificate_expiry_seconds", type="web")
        check_equal([s[1] for s in plain], [{"type": "web"}], "labels of the plain certificate")

        # On D-Bus too, one entry each.
        dbus = h.get_property("Certificates")
        check("le:a.example" in dbus and "le:b.example" in dbus,
              "D-Bus Certificates: %r" % sorted(dbus))

        # The directory goes: its entry and every series with it.
        shutil.rmtree(os.path.dirname(a))
        took = wait_domain(h, "a.example", present=False)
        check(took < PICKED_UP_S, "a.example gone after %.2f s, want < %.0f s" % (took, PICKED_UP_S))
        stale = [s for s in h.metrics()["samples"] if s[1].get("path") == a]
        check_equal(stale, [], "series of a.example after its directory went")
        check_equal(len(expiry_series(h, b)), 1, "b.example's series stay")

        # Only the file going is enough as well.
        os.unlink(b)
        wait_domain(h, "b.example", present=False)
        check_equal(expiry_series(h), [], "le series after every domain went")
        check_equal(sorted(certificates(h)), ["web"], "certificates at the end")
        h.stop_haled()


if __name__ == "__main__":
    halectx.run([test_discovery])
