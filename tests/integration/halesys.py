# SPDX-License-Identifier: LGPL-2.1-or-later
"""The real system programs the integration tests run privately: a
journald, a systemd --user with the test's units, a dbus-daemon any uid
may connect to, and a health endpoint.
Imported by test_reload.py, test_cockpit.py and test_rotation.py.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import halectx
from halectx import check, wait_until

SYSTEMD = "/lib/systemd/systemd"
JOURNALD = "/lib/systemd/systemd-journald"
JOURNAL_SOCKET = "/run/systemd/journal/socket"


def skip_or_fail(why):
    halectx._skip_or_fail(why)


def system_python():
    """A python3 that has dbusmock (pyenv's may not: Debian's does)."""
    for py in (os.environ.get("HALE_TEST_PYTHON"), "/usr/bin/python3", sys.executable):
        if py and subprocess.run([py, "-c", "import dbusmock"], capture_output=True).returncode == 0:
            return py
    return None


# --- a real journald -------------------------------------------------------

class Journald:
    """journald as testing.md runs it: started by us only when none
    answers on its socket, stopped by PID on the way out."""

    def __init__(self):
        self.proc = None

    def _answers(self):
        if not os.path.exists(JOURNAL_SOCKET):
            return False
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.connect(JOURNAL_SOCKET)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def __enter__(self):
        if self._answers():
            return self
        if os.geteuid() != 0 or not os.access(JOURNALD, os.X_OK):
            skip_or_fail("no journald answers and we cannot start one (needs root and %s)" % JOURNALD)
        os.makedirs("/run/systemd/journal", exist_ok=True)
        self.proc = subprocess.Popen([JOURNALD], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, what="journald to answer on %s" % JOURNAL_SOCKET)
        return self

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        return False

    @staticmethod
    def entries(pid, **match):
        """haled's audit entries (by its PID), as journalctl -o json gives them."""
        args = ["journalctl", "--no-pager", "-o", "json", "_PID=%d" % pid]
        args += ["%s=%s" % kv for kv in match.items()]
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "journalctl failed: %s" % r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


# --- a real systemd --user ---------------------------------------------------

def own_cgroups(leaf):
    """A user manager takes the cgroup it starts in as its own and makes
    its units' cgroups inside. Two managers started from one cgroup (two
    tests, or another checkout's) would share those, and one stopping its
    dbus.service would kill the other's bus. So each gets a cgroup of its
    own beside ours, in the hierarchies systemd tracks processes with (as
    tests/hale-test-systemd.c does). Where that is impossible it runs
    where we are. Returns the directories made."""
    dirs = []
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return dirs
    for line in lines:
        if line.startswith("0::"):
            path = line[3:]
            root = ("/sys/fs/cgroup/unified"
                    if os.path.exists("/sys/fs/cgroup/unified/cgroup.procs") else "/sys/fs/cgroup")
        elif ":name=systemd:" in line:
            path = line.split(":name=systemd:", 1)[1]
            root = "/sys/fs/cgroup/systemd"
        else:
            continue
        d = os.path.join(root + path, leaf)
        try:
            os.mkdir(d, 0o755)
        except OSError:
            continue
        dirs.append(d)
    return dirs


def remove_cgroup(d):
    """Once the manager is gone its units' cgroups are empty: remove them,
    deepest first."""
    for root, subdirs, _ in os.walk(d, topdown=False):
        for sub in subdirs:
            try:
                os.rmdir(os.path.join(root, sub))
            except OSError:
                pass
    try:
        os.rmdir(d)
    except OSError:
        pass

class SystemdHale(halectx.Hale):
    """halectx.Hale whose bus is a private systemd --user's: units in
    $XDG_CONFIG_HOME/systemd/user, haled --user on its bus."""

    def __init__(self, programs, name, units):
        super().__init__(programs, name)
        self.units = units
        self.created_run_dir = False

    def start_bus(self):
        if not os.access(SYSTEMD, os.X_OK):
            skip_or_fail("%s not found" % SYSTEMD)
        if not os.path.isdir("/run/systemd/system"):
            if os.geteuid() != 0:
                skip_or_fail("systemd --user needs /run/systemd/system, which only root can make")
            os.makedirs("/run/systemd/system")
            self.created_run_dir = True
        env = self.env()
        unitdir = os.path.join(env["XDG_CONFIG_HOME"], "systemd", "user")
        os.makedirs(unitdir)
        os.chmod(self.tmp, 0o700)
        for name, text in self.units.items():
            with open(os.path.join(unitdir, name), "w") as f:
                f.write(text)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        self.cgroup_dirs = own_cgroups(os.path.basename(self.tmp))
        procs = [os.path.join(d, "cgroup.procs") for d in self.cgroup_dirs]

        def enter_own_cgroups():
            for path in procs:
                try:
                    with open(path, "w") as f:
                        f.write("0")
                except OSError:
                    pass

        self.bus_proc = subprocess.Popen([SYSTEMD, "--user"], env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=open(os.path.join(self.tmp, "systemd.log"), "w"),
                                         preexec_fn=enter_own_cgroups)
        self.bus_address = "unix:path=" + os.path.join(self.tmp, "bus")
        wait_until(lambda: subprocess.run(
            ["busctl", "--user", "status", "org.freedesktop.systemd1"], env=self.env(),
            capture_output=True).returncode == 0, timeout=20, what="systemd --user on its bus")

    def systemctl(self, *args):
        r = subprocess.run(["systemctl", "--user"] + list(args), env=self.env(),
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "systemctl --user %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def close(self):
        super().close()
        for d in reversed(getattr(self, "cgroup_dirs", [])):
            remove_cgroup(d)
        if self.created_run_dir:
            shutil.rmtree("/run/systemd/system", ignore_errors=True)


def service_unit(reload_cmd):
    return ("[Service]\nType=simple\nExecStart=/bin/sleep infinity\nExecReload=%s\n"
            % reload_cmd)


class Health(BaseHTTPRequestHandler):
    """/ok answers 200, /sick 500: the health checks after reload."""

    def do_GET(self):
        self.send_response(200 if self.path == "/ok" else 500)
        self.end_headers()
        self.wfile.write(b"ok\n" if self.path == "/ok" else b"sick\n")

    def log_message(self, *args):
        pass


def health_server():
    server = HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class OpenBusHale(halectx.Hale):
    """halectx.Hale on a bus any uid may connect to, so a caller of
    another uid can be refused by haled rather than by the bus."""

    def start_bus(self):
        os.chmod(self.tmp, 0o755)
        conf = os.path.join(self.tmp, "bus.conf")
        with open(conf, "w") as f:
            f.write("""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=%s/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/>
<allow receive_sender="*"/></policy></busconfig>
""" % self.tmp)
        self.bus_proc = subprocess.Popen(
            ["dbus-daemon", "--nofork", "--print-address=1", "--config-file=" + conf],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.bus_address = self.bus_proc.stdout.readline().decode().strip()
        check(self.bus_address.startswith("unix:"), "dbus-daemon address %r" % self.bus_address)
