#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Faults caused for real, one after the other, against the real
programs: the service manager re-executed in the middle of a reload,
journald stopped, haled killed during a rollback, a full disk, an
endpoint that stops answering, SIGHUP storms. After each, haled still
serves, nothing it wrote is torn, and it says what happened."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, log, wait_until  # noqa: E402
from halesys import Health, Journald, SystemdHale, service_unit  # noqa: E402

IFACE_RELOAD = "org.hale.Hale1.Reload"

P = halectx.require("haled", "halectl", "mkcert", "dbus-daemon", "busctl", "journalctl",
                    "systemctl")


def halectl_reload(h, *names):
    return subprocess.Popen([h.programs["halectl"], "--user", "reload"] + list(names),
                            env=h.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def unique_name(h, name):
    out = h.busctl("status", name)
    return [line.split("=", 1)[1] for line in out.splitlines() if line.startswith("UniqueName=")][0]


def audit_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_journald_stopped():
    with Journald() as journald, halectx.Hale(P, "fault-journald") as h:
        if journald.proc is None:
            halectx._skip_or_fail("a journald this test did not start answers: it cannot stop it")
        cert = h.mkcert("current.pem", "0a0b0c")
        audit_log = os.path.join(h.tmp, "audit.log")
        h.start_haled(lambda: h.config_text([("current", cert)]).replace(
            "[Monitoring]\n", "[Monitoring]\nAuditLog=%s\n" % audit_log, 1))
        pid = h.haled.pid
        wait_until(lambda: Journald.entries(pid, HALE_EVENT="daemon_started"),
                   what="daemon_started in the journal")
        failures0 = halectx.one_value(h.metrics(), "hale_audit_sink_failures_total",
                                      sink="journal")

        journald.proc.terminate()
        journald.proc.wait(5)
        journald.proc = None
        for i in range(5):
            h.signal(signal.SIGHUP)
            wait_until(lambda: sum(e["event_type"] == "config_reloaded"
                                   for e in audit_lines(audit_log)) == i + 1,
                       what="config_reloaded %d in the audit file" % (i + 1))
        parsed = h.metrics()
        failures = halectx.one_value(parsed, "hale_audit_sink_failures_total", sink="journal")
        log("journal sink failures: %r before, %r after five events with journald down"
            % (failures0, failures))
        check_equal(failures - failures0, 5.0, "journal sink failures counted")
        check_equal(halectx.one_value(parsed, "hale_audit_events_total", event="config_reloaded"),
                    5.0, "config_reloaded events counted")
        fallback = [line for line in h.stderr_text().splitlines()
                    if "audit (journal unavailable)" in line and "config_reloaded" in line]
        check_equal(len(fallback), 5, "events on stderr while journald is down")

        # journald back: new events reach it, and no longer stderr.
        with Journald() as again:
            check(again.proc is not None, "a journald of ours again")
            h.signal(signal.SIGHUP)
            entries, took = wait_until(
                lambda: Journald.entries(pid, HALE_EVENT="config_reloaded"),
                what="config_reloaded in the restarted journal")
            log("after journald came back: %d config_reloaded in the journal after %.3f s"
                % (len(entries), took))
            check_equal(len(entries), 1, "config_reloaded entries in the journal")
            check_equal(sum(e["event_type"] == "config_reloaded" for e in audit_lines(audit_log)),
                        6, "config_reloaded lines in the audit file")
            check_equal(halectx.one_value(h.metrics(), "hale_audit_sink_failures_total",
                                          sink="journal") - failures0, 5.0,
                        "no journal failure once journald is back")
            h.allowed_warnings += [r"journal"]
            h.stop_haled()


def mkcert_pair(h, serial):
    cert = os.path.join(h.certdir, "current.pem")
    key = os.path.join(h.certdir, "current.key")
    r = subprocess.run([h.programs["mkcert"], "--out", cert, "--key-out", key, "--serial", serial,
                        "--cn", "current.test"], capture_output=True, text=True)
    check(r.returncode == 0, "hale-mkcert: %s" % r.stderr)
    with open(cert, "rb") as f, open(key, "rb") as g:
        return cert, key, f.read(), g.read()


def test_sigkill_during_rollback():
    units = {
        # Reloaded again after the files are back: 2 s in which haled dies.
        "slow.service": service_unit("/bin/sleep 2"),
        "fail.service": service_unit("/bin/false"),
    }
    with Journald(), SystemdHale(P, "fault-kill", units) as h:
        cert, key, old_cert, old_key = mkcert_pair(h, "0a0001")
        h.systemctl("start", "slow.service", "fail.service")

        def config():
            return h.config_text() + """
[Certificate current]
Path=%s
KeyPath=%s

[Service slow]
Unit=slow.service
ReloadOnChange=current
Timeout=10s

[Service fail]
Unit=fail.service
ReloadOnChange=current
Critical=true
Timeout=10s
""" % (cert, key)
        h.start_haled(config)
        pid = h.haled.pid
        wait_until(lambda: halectx.one_value(h.metrics(), "hale_backup_files_count",
                                             type="current") >= 1,
                   what="the first serial kept")

        _, _, new_cert, new_key = mkcert_pair(h, "0a0002")
        restored, took = wait_until(
            lambda: Journald.entries(pid, HALE_EVENT="rollback", HALE_STEP="restore"),
            timeout=30, what="the rollback to put the certificate back")
        h.haled.kill()
        h.haled.wait()
        log("haled SIGKILLed %.3f s after the renewal, once the rollback had put %s back"
            % (took, restored[-1].get("HALE_SERIAL")))
        check(not Journald.entries(pid, HALE_EVENT="rollback", HALE_STEP="finished"),
              "haled was killed before the rollback finished")

        # Whole files: the old pair, byte for byte, and no half-written
        # temporary left beside them.
        with open(cert, "rb") as f, open(key, "rb") as g:
            check_equal(f.read(), old_cert, "current.pem after the kill")
            check_equal(g.read(), old_key, "current.key after the kill")
        check(old_cert != new_cert, "the renewal changed the certificate")
        left = [n for n in os.listdir(h.certdir) if n.startswith(".")]
        check_equal(left, [], "temporary files beside the certificate")
        e = restored[-1]
        check_equal((e.get("HALE_RESOURCE_ID"), e.get("HALE_SERIAL"),
                     e.get("HALE_PREVIOUS_SERIAL")), ("current", "0a0001", "0a0002"),
                    "the journal's record of the restore")

        # Restarted, haled serves the certificate that is there.
        h.start_haled(config)
        status, report = h.http_json("/health/certificate")
        serial = report["certificates"]["current"]["details"]["serial"]
        log("after the restart: /health/certificate %d, serial %s" % (status, serial))
        check_equal(serial.lower().lstrip("0:"), "a0001", "the serial haled sees")
        h.allowed_warnings += [r"."]
        h.stop_haled()


def value(parsed, name, **labels):
    """The series' value, 0 while it does not exist yet."""
    found = halectx.find_series(parsed, name, **labels)
    return found[0][2] if found else 0.0


def fill(path):
    """Writes @path until the file system is full; returns its size."""
    chunk = b"\0" * 4096
    size = 0
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                size += f.write(chunk)
            except OSError:
                break
        # The last pages a page-sized write could not take.
        while True:
            try:
                n = f.write(b"\0")
                size += n
            except OSError:
                break
    return size


def test_disk_full():
    if os.geteuid() != 0:
        halectx._skip_or_fail("mounting a tmpfs needs root")
    with Journald(), halectx.Hale(P, "fault-full") as h:
        state = os.path.join(h.tmp, "state")
        os.makedirs(state, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", state],
                           capture_output=True, text=True)
        if r.returncode != 0:
            halectx._skip_or_fail("cannot mount a tmpfs: %s" % r.stderr.strip())
        try:
            disk_full(h, state)
        finally:
            subprocess.run(["umount", "-l", state])


def disk_full(h, state):
    cert = h.mkcert("current.pem", "0a0001")
    audit_log = os.path.join(state, "audit.log")
    h.start_haled(lambda: h.config_text([("current", cert)]).replace(
        "[Monitoring]\n", "[Monitoring]\nAuditLog=%s\n" % audit_log, 1))
    backup = os.path.join(state, "hale", "backup", "current")
    serials = os.path.join(state, "hale", "certificates.ini")
    wait_until(lambda: os.path.exists(os.path.join(backup, "0a0001.pem"))
               and os.path.exists(serials), what="the first backup and certificates.ini")
    with open(os.path.join(backup, "0a0001.pem"), "rb") as f:
        kept = f.read()
    with open(serials) as f:
        serials_before = f.read()

    filler = os.path.join(state, "filler")
    log("filled the state file system with %d bytes" % fill(filler))
    # A renewal (a backup, certificates.ini, an audit line) and reloads
    # of the configuration (audit lines) on a full disk.
    h.mkcert("current.pem", "0a0002")
    parsed, _ = wait_until(lambda: (lambda m: m if halectx.one_value(
        m, "hale_state_write_failures_total", file="backup") >= 1 and halectx.one_value(
        m, "hale_state_write_failures_total", file="certificate_serials") >= 1 else None)(
        h.metrics()), what="the failed state writes counted")
    for i in range(20):
        h.signal(signal.SIGHUP)
        wait_until(lambda: value(h.metrics(), "hale_audit_events_total",
                                 event="config_reloaded") == i + 1,
                   what="config_reloaded %d" % (i + 1))
    t0 = time.monotonic()
    status, _, _ = h.http_get("/health")
    log("/health on a full disk: %d in %.1f ms" % (status, (time.monotonic() - t0) * 1000))
    check_equal(status, 200, "/health on a full disk")
    parsed = h.metrics()
    file_failures = halectx.one_value(parsed, "hale_audit_sink_failures_total", sink="file")
    log("on a full disk: audit file failures %r, state write failures %r backup, %r serials"
        % (file_failures,
           halectx.one_value(parsed, "hale_state_write_failures_total", file="backup"),
           halectx.one_value(parsed, "hale_state_write_failures_total",
                             file="certificate_serials")))
    check(file_failures >= 1, "audit file failures counted")
    stderr = h.stderr_text()
    for path in (audit_log, serials, backup):
        check(any(path in line and "No space left on device" in line
                  for line in stderr.splitlines()),
              "a clear error naming %s:\n%s" % (path, stderr))

    # Nothing torn: every audit line whole, the old state files as they
    # were, no temporary file left behind.
    lines = audit_lines(audit_log)
    in_file = sum(e["event_type"] == "config_reloaded" for e in lines)
    on_stderr = sum("config_reloaded" in line for line in stderr.splitlines()
                    if line.startswith("haled: audit"))
    log("config_reloaded: %d in the file, %d on stderr" % (in_file, on_stderr))
    check_equal(in_file + on_stderr, 20, "config_reloaded events in the file or on stderr")
    with open(serials) as f:
        check_equal(f.read(), serials_before, "certificates.ini on a full disk")
    with open(os.path.join(backup, "0a0001.pem"), "rb") as f:
        check_equal(f.read(), kept, "the kept certificate")
    check_equal(sorted(os.listdir(backup)), ["0a0001.pem", "good"], "the backup directory")
    left = [n for d in (state, os.path.join(state, "hale"), backup) for n in os.listdir(d)
            if n.startswith(".")]
    check_equal(left, [], "temporary files left on the full disk")

    # Space again: the next writes land.
    os.unlink(filler)
    h.signal(signal.SIGHUP)
    wait_until(lambda: sum(e["event_type"] == "config_reloaded"
                           for e in audit_lines(audit_log)) == in_file + 1,
               what="the audit file to take events again")
    h.mkcert("current.pem", "0a0003")
    wait_until(lambda: os.path.exists(os.path.join(backup, "0a0003.pem")),
               what="the next backup once there is space")
    wait_until(lambda: "0a0003" in open(serials).read(), what="certificates.ini updated")
    h.allowed_warnings += [r"No space left on device"]
    h.stop_haled()


def serve(port):
    """halesys' health endpoint (/ok answers 200) on @port."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_endpoint_cut_off():
    threshold = 4.0
    port = halectx.free_port()
    server = serve(port)
    with halectx.Hale(P, "fault-endpoint") as h:
        cert = h.mkcert("current.pem", "0a0001")
        h.start_haled(lambda: h.config_text([("current", cert)]) + """
[Network]
CheckInterval=1s
Timeout=1s
DegradedThreshold=%ds

[Endpoint dependency]
URL=http://127.0.0.1:%d/ok
Critical=true
""" % (threshold, port))

        def degraded():
            return value(h.metrics(), "hale_degraded_mode") == 1.0
        wait_until(lambda: value(h.metrics(), "hale_connectivity_status") == 0.0
                   and value(h.metrics(), "hale_endpoint_up", endpoint="dependency") == 1.0,
                   what="the endpoint answering")
        check(not degraded(), "degraded while the endpoint answers")

        # Cut off: the port still takes connections (the kernel's backlog)
        # but nothing ever answers, as a host behind a dead link.
        server.shutdown()
        server.server_close()
        silent = socket.socket()
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        silent.bind(("127.0.0.1", port))
        silent.listen(64)
        _, took = wait_until(degraded, timeout=threshold + 6, interval=0.1,
                             what="degraded mode after the endpoint is cut off")
        log("degraded mode %.2f s after the cut (DegradedThreshold=%.0fs, CheckInterval=1s)"
            % (took, threshold))
        # The threshold counts from the last answer, at most one interval
        # before the cut.
        check(took >= threshold - 1.0 - 0.2, "degraded after %.2f s, before the threshold" % took)
        check(took <= threshold + 2.5, "degraded only after %.2f s" % took)
        status, report = h.http_json("/health")
        log("/health in degraded mode: %d %s" % (status, report["status"]))
        check_equal(report["degraded_mode"], True, "/health degraded_mode")
        entered = value(h.metrics(), "hale_degraded_mode_entered_timestamp_seconds")
        check(entered > 0, "degraded_mode_entered_timestamp_seconds set")

        # Back.
        silent.close()
        server = serve(port)
        _, took = wait_until(lambda: not degraded(), timeout=6, interval=0.1,
                             what="degraded mode to end once the endpoint answers")
        log("degraded mode over %.2f s after the endpoint came back" % took)
        check_equal(value(h.metrics(), "hale_connectivity_status"), 0.0, "connectivity healthy")
        h.allowed_warnings += [r"dependency", r"connectivity", r"degraded"]
        h.stop_haled()
    server.shutdown()
    server.server_close()


def test_sighup_storm_under_load():
    with halectx.Hale(P, "fault-sighup") as h:
        cert = h.mkcert("current.pem", "0a0001")

        def good():
            return h.config_text([("current", cert)])
        h.start_haled(good)
        stop = threading.Event()
        results = []  # (status or exception, seconds)

        def load():
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    status, _, _ = h.http_get("/health", timeout=5)
                except Exception as e:  # a refused or reset connection is a failure
                    status = repr(e)
                results.append((status, time.monotonic() - t0))
        clients = [threading.Thread(target=load) for _ in range(4)]
        for c in clients:
            c.start()
        try:
            for _ in range(200):
                h.signal(signal.SIGHUP)
                time.sleep(0.002)
            wait_until(lambda: value(h.metrics(), "hale_audit_events_total",
                                     event="config_reloaded") >= 1, what="a reload")
            # Broken: a [Certificate] without Path=.
            h.write_config(good() + "\n[Certificate broken]\n")
            for _ in range(100):
                h.signal(signal.SIGHUP)
                time.sleep(0.002)
            wait_until(lambda: value(h.metrics(), "hale_config_last_reload_successful") == 0.0,
                       what="the broken configuration refused")
            time.sleep(1)
        finally:
            stop.set()
            for c in clients:
                c.join()
        bad = [r for r in results if r[0] != 200]
        worst = max(t for _, t in results)
        parsed = h.metrics()
        log("%d requests during 300 SIGHUPs: %d not 200, slowest %.1f ms; %d reloads, %d "
            "rejections" % (len(results), len(bad), worst * 1000,
                            value(parsed, "hale_audit_events_total", event="config_reloaded"),
                            value(parsed, "hale_audit_events_total", event="config_rejected")))
        check_equal(bad[:5], [], "/health answers that were not 200")
        check(worst < 1.0, "/health took %.3f s during the storm" % worst)
        check(value(parsed, "hale_audit_events_total", event="config_rejected") >= 1,
              "the broken configuration was rejected")
        # The running configuration stays: the certificate, the ports.
        status, report = h.http_json("/health")
        check_equal(status, 200, "/health after the storm")
        check_equal(sorted(report["checks"]), ["certificate:current", "connectivity"],
                    "the running configuration's checks")
        check("broken" in h.stderr_text(), "the rejection names what is wrong")
        h.write_config(good())
        h.signal(signal.SIGHUP)
        wait_until(lambda: value(h.metrics(), "hale_config_last_reload_successful") == 1.0,
                   what="the fixed configuration loaded")
        h.allowed_warnings += [r"broken", r"[Cc]onfiguration"]
        h.stop_haled()


def test_daemon_reexec_during_reload():
    units = {
        "slow.service": service_unit("/bin/sleep 3"),
        "ok.service": service_unit("/bin/true"),
    }
    with Journald(), SystemdHale(P, "fault-reexec", units) as h:
        cert = h.mkcert("current.pem", "0a0b0c")
        h.systemctl("start", "slow.service", "ok.service")
        h.start_haled(lambda: h.config_text([("current", cert)]) + """
[Service slow]
Unit=slow.service
Timeout=10s

[Service ok]
Unit=ok.service
Timeout=10s
""")
        manager = unique_name(h, "org.freedesktop.systemd1")
        start = time.monotonic()
        caller = halectl_reload(h, "slow")
        # The job is running (its ExecReload sleeps 3 s) when the manager
        # re-executes: it leaves the bus and comes back as a new process
        # image with a new connection.
        wait_until(lambda: "reload" in h.systemctl("list-jobs"), timeout=5,
                   what="the reload job of slow.service to run")
        r = subprocess.run(["systemctl", "--user", "daemon-reexec"], env=h.env(),
                           capture_output=True, text=True, timeout=30)
        log("daemon-reexec after %.3f s: rc %d %s" % (time.monotonic() - start, r.returncode,
                                                      r.stderr.strip()))
        check_equal(r.returncode, 0, "systemctl --user daemon-reexec")
        check(unique_name(h, "org.freedesktop.systemd1") != manager,
              "the manager came back on a new bus connection")
        out, err = caller.communicate(timeout=30)
        took = time.monotonic() - start
        log("halectl reload slow (%.3f s, rc %d):\n%s%s" % (took, caller.returncode, out, err))
        check(took < 10 + 2, "the reload ended after %.3f s, beyond its 10 s timeout" % took)
        last = h.get_property("LastResults", IFACE_RELOAD)
        check_equal([r[0] for r in last], ["slow"], "LastResults after the re-exec")
        name, success, usec, reason, unit = last[0]
        log("slow: success=%r after %.3f s, reason %r" % (success, usec / 1e6, reason))
        check(success or reason, "a failed reload says why: %r" % (last[0],))
        check_equal(h.get_property("Busy", IFACE_RELOAD), False, "Busy after the re-exec")

        # The next reload, through the re-executed manager, works.
        caller = halectl_reload(h, "ok")
        out, err = caller.communicate(timeout=30)
        log("halectl reload ok after the re-exec: rc %d\n%s%s" % (caller.returncode, out, err))
        check_equal(caller.returncode, 0, "the next reload")
        e = Journald.entries(h.haled.pid, HALE_EVENT="service_reloaded")
        check_equal([x["HALE_RESOURCE_ID"] for x in e], ["slow", "ok"],
                    "service_reloaded in the journal")
        h.allowed_warnings += [r"reload", r"systemd", r"slow"]
        h.stop_haled()


if __name__ == "__main__":
    halectx.run([test_daemon_reexec_during_reload,
                 test_journald_stopped,
                 test_sigkill_during_rollback,
                 test_disk_full,
                 test_endpoint_cut_off,
                 test_sighup_storm_under_load])
