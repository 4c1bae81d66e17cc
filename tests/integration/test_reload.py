#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reloads through a real, private systemd --user manager, audited in a
real journald and the JSON file; refused callers audited as refused.

The manager runs as a plain process (testing.md): its own runtime and
config directories in the test's temporary directory, its own
dbus-daemon on $XDG_RUNTIME_DIR/bus, which haled --user then uses. The
polkit of the refusal test is python3-dbusmock's polkitd template (a
mock: a real polkitd needs the real system bus).
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import BUS_NAME, OBJECT_PATH, check, check_equal, log, wait_until  # noqa: E402
from halesys import (Journald, OpenBusHale, SystemdHale, health_server, service_unit,  # noqa: E402
                     skip_or_fail, system_python)

IFACE_RELOAD = "org.hale.Hale1.Reload"
NOBODY = 65534

P = halectx.require("haled", "halectl", "mkcert", "dbus-daemon", "busctl", "journalctl",
                    "systemctl", "setpriv")


UNITS = {
    "ok.service": service_unit("/bin/true"),
    "fail.service": service_unit("/bin/false"),
    "slow.service": service_unit("/bin/sleep 30"),
    "sick.service": service_unit("/bin/true"),
}


def reload_config(h, port, audit_log, extra=""):
    def build():
        cert = os.path.join(h.certdir, "current.pem")
        text = h.config_text([("current", cert)])
        text = text.replace("[Monitoring]\n", "[Monitoring]\nAuditLog=%s\nAuditLogMaxSize=2K\n"
                            "AuditLogKeep=2\n" % audit_log, 1)
        text += """
[Service ok]
Unit=ok.service
HealthCheck=http://127.0.0.1:%(port)d/ok
Timeout=5s

[Service fail]
Unit=fail.service
Timeout=5s

[Service missing]
Unit=missing.service
Timeout=5s

[Service slow]
Unit=slow.service
Timeout=2s

[Service sick]
Unit=sick.service
HealthCheck=http://127.0.0.1:%(port)d/sick
Timeout=2s
%(extra)s""" % {"port": port, "extra": extra}
        return text
    return build


def parse_results(busctl_json):
    """busctl --json=short's a(sbtss) -> [(name, success, usec, error, unit)]."""
    return [tuple(r) for r in json.loads(busctl_json)["data"][0]]


def test_reload_all():
    server = health_server()
    port = server.server_address[1]
    with Journald(), SystemdHale(P, "reload-all", UNITS) as h:
        h.mkcert("current.pem", "0a0b0c")
        audit_log = os.path.join(h.tmp, "audit", "audit.log")
        h.systemctl("start", "ok.service", "fail.service", "slow.service", "sick.service")
        h.start_haled(reload_config(h, port, audit_log))

        # The call returns when the sequence ends: a long timeout.
        start = time.monotonic()
        out = h.busctl("--json=short", "--timeout=120", "call", BUS_NAME, OBJECT_PATH,
                       IFACE_RELOAD, "ReloadAll")
        log("ReloadAll took %.3f s" % (time.monotonic() - start))
        results = parse_results(out)
        check_equal([r[0] for r in results], ["ok", "fail", "missing", "slow", "sick"],
                    "services in configuration order")
        by = {r[0]: r for r in results}
        check_equal(by["ok"][1], True, "ok succeeded")
        check_equal(by["ok"][3], "", "ok has no error")
        check_equal(by["ok"][4], "ok.service", "ok's unit")
        check(0 < by["ok"][2] < 5_000_000, "ok's duration in usec: %r" % (by["ok"][2],))
        check(not by["fail"][1] and "failed" in by["fail"][3], "fail: %r" % (by["fail"],))
        check(not by["missing"][1] and "NoSuchUnit" in by["missing"][3],
              "missing: %r" % (by["missing"],))
        check(not by["slow"][1] and by["slow"][2] >= 2_000_000, "slow: %r" % (by["slow"],))
        check(not by["sick"][1], "sick: %r" % (by["sick"],))

        # The property keeps them; Busy is over.
        check_equal(h.get_property("Busy", IFACE_RELOAD), False, "Busy after the sequence")
        last = h.get_property("LastResults", IFACE_RELOAD)
        check_equal([r[0] for r in last], ["ok", "fail", "missing", "slow", "sick"], "LastResults")

        # halectl shows each as it comes, then the summary; one failed: 1.
        r = subprocess.run([h.programs["halectl"], "--user", "reload", "ok"], env=h.env(),
                           capture_output=True, text=True, timeout=60)
        log(r.stdout + r.stderr)
        check_equal(r.returncode, 0, "halectl reload ok exit status")
        check("1 service reloaded, 0 failed." in r.stdout, "halectl summary: %r" % r.stdout)
        r = subprocess.run([h.programs["halectl"], "--user", "reload"], env=h.env(),
                           capture_output=True, text=True, timeout=120)
        check_equal(r.returncode, 1, "halectl reload (failures) exit status")
        for name in ("ok", "fail", "missing", "slow", "sick"):
            check(any(line.startswith(name + " ") for line in r.stdout.splitlines()),
                  "halectl shows %s: %r" % (name, r.stdout))
        check("5 services reloaded, 4 failed." in r.stdout, "halectl summary: %r" % r.stdout)
        r = subprocess.run([h.programs["halectl"], "--user", "reload", "nope"], env=h.env(),
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and "no service" in r.stderr, "unknown service: %r" % (r,))

        # The journal: one service_reloaded per service and call, every field.
        pid = h.haled.pid

        def reloaded():
            e = Journald.entries(pid, HALE_EVENT="service_reloaded")
            return e if len(e) >= 5 + 1 + 5 else None
        entries, _ = wait_until(reloaded, what="service_reloaded entries in the journal")
        first = {e["HALE_RESOURCE_ID"]: e for e in entries[:5]}
        for name, e in first.items():
            check_equal(e["MESSAGE_ID"], "67c8041df4bf40e8aa0a5e0d23fb93b3", name + " MESSAGE_ID")
            check_equal(e["SYSLOG_IDENTIFIER"], "haled", name + " SYSLOG_IDENTIFIER")
            check_equal(e["HALE_RESOURCE_TYPE"], "service", name + " HALE_RESOURCE_TYPE")
            check_equal(e["HALE_UNIT"], name + ".service", name + " HALE_UNIT")
            check_equal(e["HALE_ACTOR_UID"], "0", name + " HALE_ACTOR_UID")
            check_equal(e["HALE_ACTOR_IDENTITY"], "uid:0", name + " HALE_ACTOR_IDENTITY")
            check_equal(e["HALE_ACTOR_AUTH_METHOD"], "dbus+root", name + " auth method")
            check(e["HALE_ACTOR_PID"].isdigit(), name + " HALE_ACTOR_PID")
            check(e["HALE_DURATION_MS"].isdigit(), name + " HALE_DURATION_MS")
            check(e["MESSAGE"], name + " MESSAGE")
            check(e["PRIORITY"] in ("3", "4", "5", "6"), name + " PRIORITY")
        check_equal(first["ok"]["HALE_OUTCOME"], "success", "ok outcome")
        check("HALE_ERROR" not in first["ok"], "ok has no HALE_ERROR")
        for name in ("fail", "missing", "slow", "sick"):
            check_equal(first[name]["HALE_OUTCOME"], "failure", name + " outcome")
            check(first[name].get("HALE_ERROR"), name + " HALE_ERROR")
        failures = Journald.entries(pid, HALE_EVENT="service_reloaded", HALE_OUTCOME="failure")
        check(len(failures) >= 8, "journalctl HALE_OUTCOME=failure: %d" % len(failures))
        granted = Journald.entries(pid, HALE_EVENT="authorization_granted")
        check(len(granted) >= 3, "authorization_granted entries: %d" % len(granted))
        check_equal(granted[0]["HALE_ACTION"], "org.hale.Hale1.reload", "HALE_ACTION")
        check_equal(granted[0]["HALE_METHOD"], "ReloadAll", "HALE_METHOD")

        # The JSON file: the seed's shape, rotated at 2K keeping 2.
        audit_dir = os.path.dirname(audit_log)
        names = sorted(os.listdir(audit_dir))
        check_equal(names, ["audit.log", "audit.log.1", "audit.log.2"], "rotated audit files")
        check_equal(os.stat(audit_log).st_mode & 0o777, 0o640, "audit.log mode")
        lines = []
        for n in names:
            size = os.path.getsize(os.path.join(audit_dir, n))
            check(size <= 2048, "%s is %d bytes, over AuditLogMaxSize=2K" % (n, size))
            with open(os.path.join(audit_dir, n)) as f:
                lines += [json.loads(line) for line in f if line.strip()]
        for e in lines:
            check_equal(sorted(e), ["actor", "details", "event_type", "outcome", "resource",
                                    "timestamp"], "JSON keys")
            check({"identity", "auth_method"} <= set(e["actor"]), "actor keys")
            # No caller here has an address (D-Bus callers, haled itself):
            # the key is left out, never "".
            check("ip_address" not in e["actor"], "no ip_address: %r" % (e["actor"],))
            check_equal(sorted(e["resource"]), ["identifier", "type"], "resource keys")
            check(e["outcome"] in ("success", "failure"), "outcome")
        reloads = [e for e in lines if e["event_type"] == "service_reloaded"]
        check(reloads, "service_reloaded lines in the JSON file")
        check_equal(reloads[-1]["actor"]["auth_method"], "dbus+root", "JSON actor")
        check_equal(reloads[-1]["actor"]["uid"], 0, "JSON actor uid")
        check(isinstance(reloads[-1]["actor"].get("pid"), int), "JSON actor pid")
        check(not any("HALE_ACTOR_IP_ADDRESS" in e for e in entries),
              "no HALE_ACTOR_IP_ADDRESS for D-Bus callers")
        h.allowed_warnings += [r"reload", r"health", r"fail", r"NoSuchUnit", r"timeout"]
        h.stop_haled()
    server.shutdown()


def test_denied():
    if os.geteuid() != 0:
        skip_or_fail("calling as another uid needs root (setpriv)")
    py = system_python()
    if py is None:
        skip_or_fail("python3-dbusmock is not installed")
    with Journald(), OpenBusHale(P, "reload-denied") as h:
        cert = h.mkcert("current.pem", "0a0b0d")
        audit_log = os.path.join(h.tmp, "audit.log")
        mock_env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=h.bus_address)
        polkit = subprocess.Popen([py, "-m", "dbusmock", "--template", "polkitd"], env=mock_env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: h.busctl("status", "org.freedesktop.PolicyKit1", check_rc=False)
                       .returncode == 0, what="the polkit mock on the bus")
            h.start_haled(lambda: h.config_text([("current", cert)]).replace(
                "[Monitoring]\n", "[Monitoring]\nAuditLog=%s\n" % audit_log, 1)
                + "\n[Service ok]\nUnit=ok.service\n",
                env={"DBUS_SYSTEM_BUS_ADDRESS": h.bus_address})

            # nobody, polkit says no (the template denies by default).
            caller = subprocess.Popen(
                ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--",
                 "busctl", "--address=" + h.bus_address, "call", BUS_NAME, OBJECT_PATH,
                 IFACE_RELOAD, "ReloadAll"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            out, err = caller.communicate(timeout=30)
            check(caller.returncode != 0 and "Access denied" in err,
                  "nobody's ReloadAll: rc %d, %r" % (caller.returncode, err))

            def denied():
                e = Journald.entries(h.haled.pid, HALE_EVENT="authorization_denied")
                return e or None
            entries, _ = wait_until(denied, what="authorization_denied in the journal")
            e = entries[-1]
            check_equal(e["MESSAGE_ID"], "d8058db5b639443c81d186b79a679186", "MESSAGE_ID")
            check_equal(e["HALE_OUTCOME"], "failure", "HALE_OUTCOME")
            check_equal(e["HALE_ACTOR_UID"], str(NOBODY), "HALE_ACTOR_UID")
            check_equal(e["HALE_ACTOR_PID"], str(caller.pid), "HALE_ACTOR_PID")
            check_equal(e["HALE_ACTOR_AUTH_METHOD"], "dbus+polkit", "HALE_ACTOR_AUTH_METHOD")
            check_equal(e["HALE_ACTION"], "org.hale.Hale1.reload", "HALE_ACTION")
            check_equal(e["HALE_METHOD"], "ReloadAll", "HALE_METHOD")
            check("org.hale.Hale1.reload" in e["HALE_ERROR"], "HALE_ERROR names the action")
            check(not Journald.entries(h.haled.pid, HALE_EVENT="service_reloaded"),
                  "a refused call reloads nothing")
            with open(audit_log) as f:
                lines = [json.loads(line) for line in f if line.strip()]
            refused = [x for x in lines if x["event_type"] == "authorization_denied"]
            check(refused and refused[-1]["actor"]["uid"] == NOBODY, "denial in the JSON file")

            # The same caller, once polkit says yes.
            h.busctl("call", "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                     "org.freedesktop.DBus.Mock", "SetAllowed", "as", "1", "org.hale.Hale1.reload")
            r = subprocess.run(
                ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--",
                 "busctl", "--address=" + h.bus_address, "--timeout=60", "call", BUS_NAME,
                 OBJECT_PATH, IFACE_RELOAD, "ReloadAll"], capture_output=True, text=True, timeout=90)
            # No service manager on this bus: the reloads themselves fail,
            # but the call got past the authority.
            log("allowed ReloadAll: rc %d %s%s" % (r.returncode, r.stdout, r.stderr))
            check("Access denied" not in r.stderr, "allowed ReloadAll: %r" % (r,))
            granted = Journald.entries(h.haled.pid, HALE_EVENT="authorization_granted")
            check(granted and granted[-1]["HALE_ACTOR_AUTH_METHOD"] == "dbus+polkit",
                  "authorization_granted by polkit")
            h.allowed_warnings += [r"reload", r"service", r"systemd", r"ok\.service"]
            h.stop_haled()
        finally:
            polkit.terminate()
            polkit.wait(5)


if __name__ == "__main__":
    halectx.run([test_reload_all, test_denied])
