# SPDX-License-Identifier: LGPL-2.1-or-later
"""halectx: run the real haled on a private bus, for the integration tests.

Every test gets its own temporary directory, its own dbus-daemon and its
own haled, so tests never see each other and can run in parallel. What a
test asserts is what an operator would check with curl, promtool, busctl
and halectl; the helpers here only spare each test the plumbing.

Programs come from the environment meson sets (HALED, HALECTL,
HALE_MKCERT); the system ones (dbus-daemon, busctl, promtool) from PATH.
A missing program skips the test (exit 77) except under CI=true, where
it is a failure: CI must never count a skipped integration test as a pass.
"""

import gzip
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

SKIP = 77

# Waits are generous (a loaded two-core CI box) but always capped; the
# actual latencies are printed so a slow-down shows in the test log.
DEFAULT_TIMEOUT = 10.0

BUS_NAME = "org.hale.Hale1"
OBJECT_PATH = "/org/hale/Hale1"
IFACE_HEALTH = "org.hale.Hale1.Health"


class TestFailure(AssertionError):
    pass


def log(msg):
    print("# " + str(msg).replace("\n", "\n# "), flush=True)


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def check_equal(got, want, what):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def _skip_or_fail(why):
    if os.environ.get("CI") == "true":
        print("Bail out! %s (CI=true: a skip is a failure)" % why, flush=True)
        sys.exit(1)
    print("1..0 # SKIP %s" % why, flush=True)
    sys.exit(SKIP)


def program(env_name, default=None):
    """The path of a program named by an environment variable (meson sets
    them), or found on PATH."""
    path = os.environ.get(env_name) if env_name else None
    if path:
        if os.access(path, os.X_OK):
            return path
        _skip_or_fail("%s=%s is not an executable" % (env_name, path))
    found = shutil.which(default) if default else None
    if found is None:
        _skip_or_fail("%s not found (set %s)" % (default or env_name, env_name or "PATH"))
    return found


def require(*names):
    """Resolve the programs a test file needs before anything starts:
    names are 'haled', 'halectl', 'mkcert', or a command on PATH."""
    env_of = {"haled": "HALED", "halectl": "HALECTL", "mkcert": "HALE_MKCERT"}
    out = {}
    for n in names:
        if n in env_of:
            out[n] = program(env_of[n])
        else:
            out[n] = program(None, n)
    return out


def free_port():
    """A port nothing listens on right now. Another process may take it
    before haled binds it; start_haled() retries with new ports then."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=DEFAULT_TIMEOUT, what="condition", interval=0.02, on_timeout=None):
    """Polls @predicate until it returns something truthy; returns
    (value, seconds it took). Fails after @timeout with @what (and
    on_timeout()'s text, e.g. haled's stderr)."""
    start = time.monotonic()
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value, time.monotonic() - start
        except TestFailure:
            raise
        except Exception as e:  # a connection refused is "not yet"
            last_exc = e
        if time.monotonic() - start > timeout:
            extra = ""
            if last_exc is not None:
                extra += "\nlast error: %r" % (last_exc,)
            if on_timeout is not None:
                extra += "\n" + on_timeout()
            fail("timed out after %.1f s waiting for %s%s" % (timeout, what, extra))
        time.sleep(interval)


# --- Prometheus text format -------------------------------------------------

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(value):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def parse_metrics(text):
    """Parses the text format (and OpenMetrics, which is close enough for
    samples): returns {"samples": [(name, {labels}, value)], "types":
    {family: type}, "help": {family: help}}."""
    samples, types, helps = [], {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3]
            elif len(parts) >= 3 and parts[1] == "HELP":
                helps[parts[2]] = parts[3] if len(parts) > 3 else ""
            continue
        m = _SAMPLE_RE.match(line)
        if m is None:
            fail("unparsable metrics line: %r" % line)
        labels = {}
        if m.group(3):
            rest = m.group(3)
            pos = 0
            while pos < len(rest):
                lm = _LABEL_RE.match(rest, pos)
                if lm is None:
                    fail("unparsable labels in: %r" % line)
                labels[lm.group(1)] = _unescape(lm.group(2))
                pos = lm.end()
        samples.append((m.group(1), labels, float(m.group(4))))
    return {"samples": samples, "types": types, "help": helps}


def find_series(parsed, name, **labels):
    """Samples named @name whose labels include @labels."""
    return [s for s in parsed["samples"]
            if s[0] == name and all(s[1].get(k) == v for k, v in labels.items())]


def one_value(parsed, name, **labels):
    found = find_series(parsed, name, **labels)
    if len(found) != 1:
        names = sorted({s[0] for s in parsed["samples"]})
        fail("want exactly one %s%r, found %d: %r\n(series names: %s)"
             % (name, labels, len(found), found, " ".join(names)))
    return found[0][2]


# --- the context --------------------------------------------------------------

class Hale:
    """A temporary directory, a private session bus and (once started) a
    haled. Use as a context manager; everything it started is stopped by
    PID on the way out, also when the test fails."""

    def __init__(self, programs, name="hale"):
        self.programs = programs
        self.tmp = tempfile.mkdtemp(prefix="hale-it-%s-" % name)
        self.certdir = os.path.join(self.tmp, "certs")
        os.mkdir(self.certdir)
        self.config_path = os.path.join(self.tmp, "hale.conf")
        self.bus_proc = None
        self.bus_address = None
        self.haled = None
        self.haled_stderr_path = os.path.join(self.tmp, "haled.stderr")
        self.metrics_port = None
        self.health_port = None
        self.allowed_warnings = []  # regexes of WARNING lines a test expects
        self.failed = False

    # context manager
    def __enter__(self):
        try:
            self.start_bus()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.failed = exc_type is not None
        self.close()
        return False

    def close(self):
        if self.haled is not None and self.haled.poll() is None:
            self.haled.kill()
            self.haled.wait()
        if self.bus_proc is not None and self.bus_proc.poll() is None:
            self.bus_proc.terminate()
            try:
                self.bus_proc.wait(5)
            except subprocess.TimeoutExpired:
                self.bus_proc.kill()
                self.bus_proc.wait()
        if self.failed or os.environ.get("HALE_KEEP_TMP"):
            log("kept %s for inspection" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # the bus
    def start_bus(self):
        socket_path = os.path.join(self.tmp, "bus")
        self.bus_proc = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1",
             "--address=unix:path=" + socket_path],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.bus_proc.stdout], [], [], DEFAULT_TIMEOUT)
        check(ready, "dbus-daemon printed no address within %.0f s" % DEFAULT_TIMEOUT)
        line = self.bus_proc.stdout.readline().decode().strip()
        check(line.startswith("unix:"), "dbus-daemon printed %r, not an address" % line)
        self.bus_address = line

    def env(self, extra=None):
        """The environment haled and the bus clients run with: the private
        bus, XDG directories inside the temporary directory, nothing of
        a service manager unless a test sets it."""
        env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
                  "LISTEN_PID", "JOURNAL_STREAM", "INVOCATION_ID", "STATE_DIRECTORY",
                  "DBUS_SYSTEM_BUS_ADDRESS"):
            env.pop(k, None)
        env.update({
            "DBUS_SESSION_BUS_ADDRESS": self.bus_address,
            "XDG_STATE_HOME": os.path.join(self.tmp, "state"),
            "XDG_CONFIG_HOME": os.path.join(self.tmp, "config"),
            "XDG_RUNTIME_DIR": self.tmp,
            "G_DEBUG": "fatal-criticals",
            "LC_ALL": "C.UTF-8",
            "NO_COLOR": "1",
        })
        if extra:
            env.update(extra)
        return env

    # certificates and configuration
    def mkcert(self, name, serial, days=90, cn=None, not_before_days=None,
               chain_ca=False, directory=None):
        """Writes a certificate with hale-mkcert; returns its path."""
        path = os.path.join(directory or self.certdir, name)
        args = [self.programs["mkcert"], "--out", path, "--serial", serial,
                "--days", str(days), "--cn", cn or ("%s.test" % os.path.splitext(name)[0])]
        if not_before_days is not None:
            args += ["--not-before-days", str(not_before_days)]
        if chain_ca:
            args.append("--chain-ca")
        r = subprocess.run(args, capture_output=True, text=True)
        check(r.returncode == 0, "hale-mkcert %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return path

    def config_text(self, certificates=(), namespace=None, extra=""):
        """hale.conf listening on this context's ports. @certificates:
        (name, path[, warning_before, critical_before]) tuples."""
        if self.metrics_port is None:
            self.pick_ports()
        lines = ["[Monitoring]",
                 "MetricsListen=127.0.0.1:%d" % self.metrics_port,
                 "HealthListen=127.0.0.1:%d" % self.health_port, ""]
        if namespace:
            lines += ["[Metrics]", "Namespace=%s" % namespace, ""]
        for c in certificates:
            lines += ["[Certificate %s]" % c[0], "Path=%s" % c[1]]
            if len(c) > 2 and c[2]:
                lines.append("WarningBefore=%s" % c[2])
            if len(c) > 3 and c[3]:
                lines.append("CriticalBefore=%s" % c[3])
            lines.append("")
        return "\n".join(lines) + extra

    def pick_ports(self):
        self.metrics_port = free_port()
        self.health_port = free_port()
        while self.health_port == self.metrics_port:
            self.health_port = free_port()

    def write_config(self, text, path=None):
        path = path or self.config_path
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)
        return path

    # haled
    def stderr_text(self):
        try:
            with open(self.haled_stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _stderr_for_failure(self):
        rc = self.haled.poll() if self.haled else None
        state = "running" if rc is None else "exited with %s" % rc
        return "haled (%s) stderr:\n%s" % (state, self.stderr_text() or "(empty)")

    def start_haled(self, config_builder, extra_args=(), env=None, wait=True, pass_fds=(),
                    argv_prefix=()):
        """Starts haled --user --config FILE. @config_builder() returns
        the configuration text for the current ports; when haled cannot
        bind them (another process took a port we picked) the ports are
        picked again and haled restarted, up to three times. Returns the
        seconds until the bus name was owned and HTTP answered.
        @argv_prefix: a wrapper that must exec haled (same PID)."""
        for attempt in range(3):
            self.write_config(config_builder())
            stderr = open(self.haled_stderr_path, "ab")
            self.haled = subprocess.Popen(
                list(argv_prefix)
                + [self.programs["haled"], "--user", "--config", self.config_path] + list(extra_args),
                env=self.env(env), stdout=stderr, stderr=stderr, stdin=subprocess.DEVNULL,
                pass_fds=pass_fds)
            stderr.close()
            if not wait:
                return None
            try:
                return self.wait_ready()
            except TestFailure:
                if self.haled.poll() is not None and re.search(
                        r"(?i)address already in use|could not listen|bind", self.stderr_text()):
                    log("haled could not bind its ports (attempt %d): picking others" % (attempt + 1))
                    self.pick_ports()
                    continue
                raise
        fail("haled could not bind free ports three times:\n" + self.stderr_text())

    def name_owned(self):
        r = subprocess.run(["busctl", "--user", "status", BUS_NAME], env=self.env(),
                           capture_output=True, text=True)
        return r.returncode == 0

    def http_answers(self):
        status, _, _ = self.http_get("/metrics")
        return status == 200

    def wait_ready(self, timeout=DEFAULT_TIMEOUT):
        def ready():
            if self.haled.poll() is not None:
                fail("haled exited with %d before it was ready\n%s"
                     % (self.haled.returncode, self.stderr_text()))
            return self.name_owned() and self.http_answers()
        _, took = wait_until(ready, timeout, "haled to own %s and answer HTTP" % BUS_NAME,
                             interval=0.05, on_timeout=self._stderr_for_failure)
        log("haled ready (bus name owned, HTTP answering) after %.3f s" % took)
        return took

    def signal(self, signum):
        self.haled.send_signal(signum)

    def stop_haled(self, timeout=5.0):
        """SIGTERM; haled must exit 0 within @timeout, and its stderr must
        hold no CRITICAL and no WARNING the test did not expect."""
        check(self.haled.poll() is None,
              "haled died before the test stopped it\n" + self._stderr_for_failure())
        start = time.monotonic()
        self.haled.send_signal(signal.SIGTERM)
        try:
            rc = self.haled.wait(timeout)
        except subprocess.TimeoutExpired:
            self.haled.kill()
            self.haled.wait()
            fail("haled did not exit within %.0f s of SIGTERM\n%s" % (timeout, self.stderr_text()))
        log("haled exited %d %.3f s after SIGTERM" % (rc, time.monotonic() - start))
        check(rc == 0, "haled exited %d after SIGTERM, want 0\n%s" % (rc, self.stderr_text()))
        self.check_stderr()

    def check_stderr(self):
        bad = []
        for line in self.stderr_text().splitlines():
            if "CRITICAL" in line or re.search(r"\bWARNING\b", line):
                if "CRITICAL" not in line and any(re.search(p, line) for p in self.allowed_warnings):
                    continue
                bad.append(line)
        check(not bad, "haled logged unexpected warnings/criticals:\n" + "\n".join(bad))

    # HTTP
    def http_get(self, path, headers=None, method="GET", port=None, data=None, timeout=5.0):
        """(status, {lowercase header: value}, body bytes). /metrics goes
        to MetricsListen, everything else to HealthListen."""
        if port is None:
            port = self.metrics_port if path.startswith("/metrics") else self.health_port
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data,
                                     headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
        except urllib.error.HTTPError as e:
            body = e.read()
            return e.code, {k.lower(): v for k, v in e.headers.items()}, body

    def http_json(self, path, want_status=None):
        status, headers, body = self.http_get(path)
        if want_status is not None:
            check(status == want_status, "GET %s: status %d, want %d; body: %r"
                  % (path, status, want_status, body[:2000]))
        ctype = headers.get("content-type", "")
        check(ctype.startswith("application/json"), "GET %s: Content-Type %r" % (path, ctype))
        try:
            return status, json.loads(body)
        except ValueError as e:
            fail("GET %s: not JSON (%s): %r" % (path, e, body[:2000]))

    def metrics(self, headers=None):
        status, hdrs, body = self.http_get("/metrics", headers)
        check(status == 200, "GET /metrics: %d %r" % (status, body[:500]))
        if hdrs.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        return parse_metrics(body.decode())

    # D-Bus
    def busctl(self, *args, check_rc=True):
        """busctl --user ARGS: its stdout, or (check_rc=False) the
        CompletedProcess."""
        r = subprocess.run(["busctl", "--user"] + list(args), env=self.env(),
                           capture_output=True, text=True, timeout=30)
        if check_rc:
            check(r.returncode == 0, "busctl %s failed (%d): %s%s"
                  % (" ".join(args), r.returncode, r.stderr, self._stderr_for_failure()))
            return r.stdout
        return r

    def get_property(self, name, iface=IFACE_HEALTH):
        """The property's value, decoded from busctl --json=short."""
        out = self.busctl("--json=short", "get-property", BUS_NAME, OBJECT_PATH, iface, name)
        return json.loads(out)["data"]

    def halectl(self, *args):
        r = subprocess.run([self.programs["halectl"], "--user"] + list(args), env=self.env(),
                           capture_output=True, text=True, timeout=30)
        return r


def run(tests):
    """Runs @tests (functions) one after the other as TAP; exits 1 when
    any failed."""
    print("1..%d" % len(tests), flush=True)
    failed = 0
    for i, t in enumerate(tests, 1):
        start = time.monotonic()
        try:
            t()
        except Exception:
            failed += 1
            log(traceback.format_exc())
            print("not ok %d - %s (%.2f s)" % (i, t.__name__, time.monotonic() - start), flush=True)
        else:
            print("ok %d - %s (%.2f s)" % (i, t.__name__, time.monotonic() - start), flush=True)
    sys.exit(1 if failed else 0)
