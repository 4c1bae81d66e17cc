#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every event of src/common/hale-names.h reaches a real journal.

The list is read from hale-names.h (every HALE_EVENT_X with its
HALE_MESSAGE_ID_X), so an event added there is walked too. Each is
triggered through the real haled, as an operator's host would: start,
SIGHUP, a broken configuration, a certificate that breaks and heals, a
renewal that a critical service fails (reload, rollback), a dependency
that goes away and comes back (degraded mode), D-Bus calls of root and
of a refused user, a rotation agent's report. Then journalctl must find
each, with its MESSAGE_ID, from haled's PID. A private systemd --user
and journald (testing.md); the polkit of the refusal is
python3-dbusmock's polkitd template (a mock: a real polkitd needs the
real system bus).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import BUS_NAME, OBJECT_PATH, check, check_equal, fail, log, wait_until  # noqa: E402
from halesys import (Journald, OpenBusHale, SystemdHale, service_unit,  # noqa: E402
                     skip_or_fail, system_python)

P = halectx.require("haled", "mkcert", "dbus-daemon", "busctl", "journalctl", "systemctl",
                    "setpriv")
NAMES_H = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "common",
                       "hale-names.h")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")
CATALOGS = ("hale.catalog", "hale.de.catalog")
NOBODY = 65534


def events_of_names_h():
    """{event name: (macro suffix, MESSAGE_ID or None)} from hale-names.h."""
    with open(NAMES_H) as f:
        text = f.read()
    events = dict(re.findall(r'#define HALE_EVENT_(\w+)\s+"([^"]+)"', text))
    ids = dict(re.findall(r'#define HALE_MESSAGE_ID_(\w+)\s+"([0-9a-f]{32})"', text))
    check(events, "hale-names.h defines events")
    return {name: (suffix, ids.get(suffix)) for suffix, name in events.items()}


def catalog_fields():
    """{MESSAGE_ID: {(catalog file, FIELD)}} of the source tree's catalogs."""
    out = {}
    for name in CATALOGS:
        with open(os.path.join(DATA, name)) as f:
            parts = re.split(r"^-- ([0-9a-f]{32}).*\n", f.read(), flags=re.M)
        for i in range(1, len(parts), 2):
            for field in re.findall(r"@([A-Za-z0-9_]+)@", parts[i + 1]):
                out.setdefault(parts[i], set()).add((name, field))
    return out


def check_catalog_fields(pids):
    """Every @FIELD@ of an event's catalog entry is a field of that very
    entry: journalctl -x prints the bare name of one that is not."""
    wanted = catalog_fields()
    problems = []
    seen = set()
    for pid in pids:
        for e in Journald.entries(pid, SYSLOG_IDENTIFIER="haled"):
            mid = e.get("MESSAGE_ID")
            if mid not in wanted:
                continue
            seen.add((e.get("HALE_EVENT"), e.get("HALE_OUTCOME")))
            for name, field in sorted(wanted[mid]):
                if field not in e:
                    problems.append("%s (%s, %s): %s uses @%s@, the entry has no such field: %r"
                                    % (e.get("HALE_EVENT"), e.get("HALE_OUTCOME"), mid, name,
                                       field, e.get("MESSAGE")))
    log("catalog fields checked on: %s" % ", ".join("%s/%s" % k for k in sorted(seen)))
    if problems:
        fail("catalog entries name fields their events do not carry:\n  "
             + "\n  ".join(sorted(set(problems))))


def check_journalctl_x(pids):
    """journalctl -x on the real entries, with the source tree's catalog:
    no placeholder left unreplaced. journalctl -x reads the database at
    /var/lib/systemd/catalog whatever --root says, so the test's own
    database is bind-mounted there in a mount namespace of journalctl's
    alone; the machine's catalog is not touched."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        skip_or_fail("journalctl -x with the tree's catalog needs root and unshare(1)")
    with tempfile.TemporaryDirectory(prefix="hale-catalog-") as tmp:
        catdir = os.path.join(tmp, "usr", "lib", "systemd", "catalog")
        os.makedirs(catdir)
        for name in CATALOGS:
            shutil.copy(os.path.join(DATA, name), catdir)
        r = subprocess.run(["journalctl", "--root=" + tmp, "--update-catalog"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and not r.stderr.strip(), "journalctl --update-catalog: %r" % (r,))
        database = os.path.join(tmp, "var", "lib", "systemd", "catalog")
        os.makedirs("/var/lib/systemd/catalog", exist_ok=True)
        out = ""
        for pid in pids:
            r = subprocess.run([unshare, "--mount", "--propagation", "private", "sh", "-c",
                                'mount --bind "$0" /var/lib/systemd/catalog && exec journalctl -x '
                                '--no-pager -o short "_PID=$1" SYSLOG_IDENTIFIER=haled',
                                database, str(pid)],
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, LC_ALL="C.UTF-8"))
            check(r.returncode == 0, "journalctl -x: %s" % r.stderr)
            out += r.stdout
    explained = [line for line in out.splitlines() if line.startswith("\u2591\u2591")]
    check(len([x for x in explained if x.startswith("\u2591\u2591 Subject: ")]) >= 10,
          "journalctl -x explained haled's entries:\n" + out[-3000:])
    literal = [x for x in explained if re.search(r"@[A-Z_]+@|\bHALE_[A-Z_]+\b", x)]
    check(not literal, "journalctl -x shows placeholders it could not fill:\n  "
          + "\n  ".join(literal))
    log("journalctl -x: %d explanation lines, none with a placeholder left" % len(explained))


class Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args):
        pass


def walk_systemd(pids):
    """Everything but the refusal, on one haled under systemd --user."""
    units = {"ok.service": service_unit("/bin/true"), "fail.service": service_unit("/bin/false")}
    dep_port = halectx.free_port()
    with SystemdHale(P, "journal-events", units) as h:
        current = h.mkcert("current.pem", "0a0001")
        other = h.mkcert("other.pem", "0b0001")
        h.systemctl("start", "ok.service", "fail.service")

        def config():
            # Re-read every second: a re-read that finds the same says nothing.
            return h.config_text([("current", current), ("other", other)]).replace(
                "[Monitoring]\n", "[Monitoring]\nCertificateRecheckInterval=1s\n", 1) + """
[Network]
CheckInterval=1s
Timeout=1s
DegradedThreshold=1s

[Endpoint dependency]
URL=http://127.0.0.1:%d/
Critical=true

[Check dependency]
URL=http://127.0.0.1:%d/
Interval=1s
Timeout=1s

[Service ok]
Unit=ok.service
ReloadOnChange=current
Timeout=5s

[Service fail]
Unit=fail.service
ReloadOnChange=current
Critical=true
Timeout=5s
""" % (dep_port, dep_port)
        h.start_haled(config)
        pids.append(h.haled.pid)
        pid = h.haled.pid

        def await_event(event, timeout=15):
            """Waits for @event, but a missing one does not stop the walk:
            the check at the end names every event that did not come."""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if Journald.entries(pid, HALE_EVENT=event):
                    return
                time.sleep(0.1)
            log("%s did not come within %d s" % (event, timeout))

        # The dependency is away past DegradedThreshold, then answers.
        await_event("degraded_entered", 15)
        # The same dependency as a [Check]: critical while it is away.
        await_event("check_status_changed", 15)
        server = ThreadingHTTPServer(("127.0.0.1", dep_port), Ok)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            await_event("degraded_exited", 15)
        finally:
            server.shutdown()
            server.server_close()

        # A certificate that becomes unreadable garbage, then is fine again.
        with open(other, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        await_event("certificate_problem", 15)
        time.sleep(2.5)  # two periodic re-reads of the broken file
        h.mkcert("other.pem", "0b0002")
        await_event("certificate_recovered", 15)

        # A renewal: both services reload, the critical one fails, rollback.
        h.mkcert("current.pem", "0a0002")
        await_event("rollback", 30)

        # root over D-Bus: granted; a rotation agent's report.
        h.busctl("--timeout=60", "call", BUS_NAME, OBJECT_PATH, "org.hale.Hale1.Reload",
                 "ReloadService", "s", "ok")
        h.busctl("call", BUS_NAME, OBJECT_PATH, "org.hale.Hale1.Rotation", "RecordRenewal",
                 "sbts", "current", "true", "1500000", "")

        # SIGHUP with the same configuration, then with a broken one.
        h.signal(signal.SIGHUP)
        await_event("config_reloaded", 10)
        h.write_config(config() + "\n[Certificate broken]\n")
        h.signal(signal.SIGHUP)
        await_event("config_rejected", 10)
        h.allowed_warnings += [r"."]
        h.stop_haled()


def walk_denied(pids):
    """A user polkit refuses: authorization_denied."""
    if os.geteuid() != 0:
        skip_or_fail("calling as another uid needs root (setpriv)")
    py = system_python()
    if py is None:
        skip_or_fail("python3-dbusmock is not installed")
    with OpenBusHale(P, "journal-denied") as h:
        cert = h.mkcert("current.pem", "0c0001")
        polkit = subprocess.Popen([py, "-m", "dbusmock", "--template", "polkitd"],
                                  env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=h.bus_address),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: h.busctl("status", "org.freedesktop.PolicyKit1", check_rc=False)
                       .returncode == 0, what="the polkit mock on the bus")
            h.start_haled(lambda: h.config_text([("current", cert)]),
                          env={"DBUS_SYSTEM_BUS_ADDRESS": h.bus_address})
            pids.append(h.haled.pid)
            r = subprocess.run(
                ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--",
                 "busctl", "--address=" + h.bus_address, "call", BUS_NAME, OBJECT_PATH,
                 "org.hale.Hale1.Reload", "ReloadAll"], capture_output=True, text=True, timeout=30)
            check(r.returncode != 0 and "Access denied" in r.stderr, "nobody refused: %r" % (r,))
            h.stop_haled()
        finally:
            polkit.terminate()
            polkit.wait(5)


def test_every_event_in_the_journal():
    events = events_of_names_h()
    log("hale-names.h events: %s" % ", ".join(sorted(events)))
    pids = []
    with Journald():
        start = time.monotonic()
        walk_systemd(pids)
        walk_denied(pids)
        log("walked in %.1f s" % (time.monotonic() - start))

        missing = []
        for name, (suffix, message_id) in sorted(events.items()):
            found = []
            for pid in pids:
                found += Journald.entries(pid, HALE_EVENT=name)
            if not found:
                missing.append("%s (HALE_EVENT_%s): no journal entry from haled" % (name, suffix))
                continue
            e = found[0]
            if message_id is None:
                missing.append("%s: no HALE_MESSAGE_ID_%s in hale-names.h" % (name, suffix))
            elif e.get("MESSAGE_ID") != message_id:
                missing.append("%s: MESSAGE_ID %r, hale-names.h says %s"
                               % (name, e.get("MESSAGE_ID"), message_id))
            check_equal(e.get("SYSLOG_IDENTIFIER"), "haled", name + " SYSLOG_IDENTIFIER")
            check(e.get("MESSAGE"), name + " has a MESSAGE")
            log("%s: %s" % (name, e.get("MESSAGE")))
        if missing:
            fail("events of hale-names.h that did not reach the journal as they should "
                 "(each needs a path in haled that emits it, and a trigger in this test):\n  "
                 + "\n  ".join(missing))

        # Certificate events name the file, and a problem its reason.
        problem = [e for pid in pids
                   for e in Journald.entries(pid, HALE_EVENT="certificate_problem")]
        check_equal(len(problem), 1, "certificate_problem entries (one per change, "
                    "not per re-read)")
        check_equal(problem[0].get("HALE_RESOURCE_ID"), "other", "problem's certificate")
        check_equal(problem[0].get("HALE_REASON"), "bad_pem", "problem's HALE_REASON")
        check(problem[0].get("HALE_FILE", "").endswith("other.pem"), "problem's HALE_FILE")
        check(problem[0].get("HALE_ERROR"), "problem's HALE_ERROR")
        check_equal(problem[0].get("PRIORITY"), "3", "a critical problem is an error")
        recovered = [e for pid in pids
                     for e in Journald.entries(pid, HALE_EVENT="certificate_recovered")]
        check_equal(len(recovered), 1, "certificate_recovered entries")
        check_equal(recovered[0].get("HALE_SERIAL"), "0b0002", "recovered's HALE_SERIAL")
        started = Journald.entries(pids[0], HALE_EVENT="daemon_started")
        check(started[0].get("HALE_CONFIG_FILE", "").endswith("hale.conf"),
              "daemon_started's HALE_CONFIG_FILE")

        # What journalctl -x makes of them with the catalogs.
        check_catalog_fields(pids)
        check_journalctl_x(pids)


if __name__ == "__main__":
    halectx.run([test_every_event_in_the_journal])
