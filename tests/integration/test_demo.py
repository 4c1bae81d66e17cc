#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tools/demo as a newcomer runs it, but for the install and build
(--no-build: this build's programs).

Started in a session of its own, as from a terminal, with no session
bus and a runtime directory of its own, it must print when haled is
ready and where; the printed health and metrics addresses answer, the
printed halectl command works, the audit events are in the journal and
shown by the demo, its reload script re-reads the configuration (no
`kill -HUP $(pidof haled)` suggested anywhere), and Ctrl-C (SIGINT to
the whole process group, as a terminal sends it) leaves no process
behind: no haled, no dbus-daemon, no journald or journalctl it started.
"""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, log, wait_until  # noqa: E402

P = halectx.require("haled", "halectl", "mkcert", "dbus-daemon", "busctl", "curl", "journalctl")
DEMO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                     "tools", "demo"))
BUILD = os.environ.get("HALE_BUILD_ROOT") or os.path.dirname(os.path.dirname(P["haled"]))


def marked(marker):
    """PIDs of the processes whose environment carries @marker: the demo
    and everything it started."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                if marker.encode() in f.read():
                    pids.append(int(name))
        except OSError:
            pass
    return pids


def describe(pids):
    out = []
    for pid in pids:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                out.append("%d %s" % (pid, f.read().replace(b"\0", b" ").decode(errors="replace")))
        except OSError:
            pass
    return out


def test_demo():
    with halectx.Hale(P, "demo") as h:
        out_path = os.path.join(h.tmp, "demo.out")
        marker = "HALE_DEMO_TEST_MARK=" + h.tmp
        metrics, health = halectx.free_port(), halectx.free_port()
        env = dict(os.environ)
        for k in ("DBUS_SESSION_BUS_ADDRESS", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "G_DEBUG"):
            env.pop(k, None)
        env.update({
            "XDG_RUNTIME_DIR": os.path.join(h.tmp, "run"),
            "HALE_DEMO_BUILD": BUILD,
            "HALE_DEMO_DIR": os.path.join(h.tmp, "demo"),
            "HALE_DEMO_METRICS": "127.0.0.1:%d" % metrics,
            "HALE_DEMO_HEALTH": "127.0.0.1:%d" % health,
            "HALE_DEMO_TEST_MARK": h.tmp,
            "LC_ALL": "C.UTF-8",
        })
        with open(out_path, "wb") as out:
            demo = subprocess.Popen([DEMO, "--no-build"], env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

        def output():
            with open(out_path, errors="replace") as f:
                return f.read()

        try:
            def ready():
                if demo.poll() is not None:
                    halectx.fail("tools/demo exited with %d:\n%s" % (demo.returncode, output()))
                return re.search(r"haled is ready \(pid (\d+)\)", output())
            start = time.monotonic()
            m, _ = wait_until(ready, timeout=60, what="the demo's ready line")
            log("ready line after %.2f s" % (time.monotonic() - start))
            pid = int(m.group(1))
            text = output()
            log("the demo printed:\n" + text)

            # The printed addresses answer.
            urls = dict(re.findall(r"^  (metrics|health): +(http://\S+)$", text, re.M))
            check_equal(urls.get("health"), "http://127.0.0.1:%d/health" % health, "health address")
            check_equal(urls.get("metrics"), "http://127.0.0.1:%d/metrics" % metrics,
                        "metrics address")
            r = subprocess.run(["curl", "-fsS", urls["health"]], capture_output=True, text=True,
                               timeout=10)
            check(r.returncode == 0 and '"certificate:current"' in r.stdout,
                  "curl %s: %r" % (urls["health"], r))
            r = subprocess.run(["curl", "-fsS", urls["metrics"]], capture_output=True, text=True,
                               timeout=10)
            check(r.returncode == 0 and "# TYPE hale_" in r.stdout,
                  "curl %s: %r" % (urls["metrics"], r.stderr))

            # The printed halectl command, with the printed environment.
            exports = dict(re.findall(r"(XDG_RUNTIME_DIR|DBUS_SESSION_BUS_ADDRESS)=(\S+)", text))
            check(exports.get("DBUS_SESSION_BUS_ADDRESS", "").startswith("unix:path="),
                  "the bus address printed: %r" % exports)
            cenv = dict(os.environ, **exports)
            cenv.pop("G_DEBUG", None)
            m2 = re.search(r"^  (\S*halectl) --user status$", text, re.M)
            check(m2, "a halectl command printed")
            r = subprocess.run([m2.group(1), "--user", "status"], env=cenv, capture_output=True,
                               text=True, timeout=30)
            check(r.returncode in (0, 1) and "current" in r.stdout,
                  "halectl --user status: %r" % (r,))

            # The audit events are in the journal, and the demo shows them.
            if "journalctl -f _PID=%d" % pid in text:
                wait_until(lambda: subprocess.run(
                    ["journalctl", "--no-pager", "-o", "cat", "_PID=%d" % pid,
                     "HALE_EVENT=daemon_started"], capture_output=True, text=True,
                    timeout=10).stdout.strip(), timeout=10, what="daemon_started in the journal")
                wait_until(lambda: "haled[%d]: Serving:" % pid in output(), timeout=10,
                           what="the demo showing haled's daemon_started event")
            else:
                halectx._skip_or_fail("the demo found no journal: %s" % text)

            # The configuration names a way to reload that works; it does.
            with open(os.path.join(h.tmp, "demo", "config", "hale", "hale.conf")) as f:
                conf = f.read()
            check("pidof" not in conf and "pidof" not in text, "no pidof suggested")
            reload_script = os.path.join(h.tmp, "demo", "reload")
            check(reload_script in conf, "the configuration names %s" % reload_script)
            subprocess.run([reload_script], check=True, timeout=10)
            wait_until(lambda: "haled[%d]: configuration reloaded" % pid in output(), timeout=10,
                       what="the reload's config_reloaded event shown by the demo")

            before = marked(marker)
            log("processes of the demo before Ctrl-C:\n  " + "\n  ".join(describe(before)))
            check(pid in before, "haled carries the demo's environment")
            check(any("dbus-daemon" in d for d in describe(before)), "the demo started a bus")
        finally:
            # Ctrl-C: SIGINT to the process group, as the terminal sends it.
            start = time.monotonic()
            try:
                os.killpg(demo.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                rc = demo.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait()
                halectx.fail("tools/demo did not end within 20 s of SIGINT:\n" + output())
        log("the demo ended %.2f s after SIGINT with %d" % (time.monotonic() - start, rc))
        check_equal(rc, 130, "exit status after Ctrl-C (128 + SIGINT)")
        check("hale demo: stopped" in output(), "the demo said it stopped")
        time.sleep(0.3)
        left = marked(marker)
        check(not left, "processes left after Ctrl-C:\n  " + "\n  ".join(describe(left)))
        r = subprocess.run(["busctl", "--user", "status"], env=cenv, capture_output=True,
                           timeout=10)
        check(r.returncode != 0, "the demo's session bus is gone")


if __name__ == "__main__":
    if not os.access(DEMO, os.X_OK):
        halectx._skip_or_fail("%s is not executable" % DEMO)
    halectx.run([test_demo])
