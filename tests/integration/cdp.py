# SPDX-License-Identifier: LGPL-2.1-or-later
"""cdp: headless Chromium driven over the Chrome DevTools Protocol, with
nothing but Python's standard library.

Chromium's --remote-debugging-pipe speaks the protocol on file
descriptors 3 (commands in) and 4 (replies and events out), one JSON
message per NUL-terminated chunk: no WebSocket (which the standard
library lacks), no port to pick, no node or npm. A page is attached in
"flat" mode, so its commands carry a sessionId on the same pipe.

    with Browser(chromium_path, tmpdir) as b:
        page = b.new_page(1280, 900)
        page.navigate(url)
        page.wait_for("document.querySelector('#x') !== null")
        page.click("#x")
        page.type_text("into the focused field")
        page.screenshot(path)
"""

import base64
import fcntl
import json
import os
import select
import subprocess
import time

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    "--no-default-browser-check", "--password-store=basic",
]


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, chromium, tmpdir, timeout=30.0):
        self.chromium = chromium
        self.tmpdir = tmpdir
        self.timeout = timeout
        self.proc = None
        self.next_id = 0
        self.buffer = b""
        self.events = []  # (sessionId, method, params), in arrival order
        self.stderr_path = os.path.join(tmpdir, "chromium.stderr")

    def __enter__(self):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # The child's ends move above 9 first, so that putting them on 3
        # and 4 cannot overwrite one with the other.
        for fd in (to_chrome_r, from_chrome_w):
            high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(fd)
            if fd == to_chrome_r:
                to_chrome_r = high
            else:
                from_chrome_w = high
        # bash puts the pipes on 3 and 4 and then is Chromium (exec),
        # so the PID we stop is the browser's.
        script = 'exec "$0" "$@" 3<&%d 4>&%d %d<&- %d>&-' % (
            to_chrome_r, from_chrome_w, to_chrome_r, from_chrome_w)
        stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", script, self.chromium] + FLAGS
            + ["--user-data-dir=" + os.path.join(self.tmpdir, "chromium"),
               "--remote-debugging-pipe", "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL,
            stdout=stderr, stderr=stderr)
        stderr.close()
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except Exception:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self.to_chrome, self.from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc = None

    def stderr_text(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # the pipe
    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.from_chrome, 65536)
            if not chunk:
                raise CDPError("Chromium closed its pipe (exit %r)\n%s"
                               % (self.proc.poll(), self.stderr_text()[-3000:]))
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=None):
        """Sends a command and returns its result; events that arrive
        meanwhile are kept in self.events."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.to_chrome, data):]
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read_message(deadline)
            if reply is None:
                raise CDPError("no answer to %s within %.0f s" % (method, timeout or self.timeout))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise CDPError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})
            if "method" in reply:
                self.events.append((reply.get("sessionId"), reply["method"], reply.get("params", {})))

    def pump(self, seconds=0.0):
        """Reads the events that have arrived (waiting up to @seconds)."""
        deadline = time.monotonic() + seconds
        while True:
            msg = self._read_message(deadline)
            if msg is None:
                return
            if "method" in msg:
                self.events.append((msg.get("sessionId"), msg["method"], msg.get("params", {})))

    def new_page(self, width=1280, height=900, language=None):
        """A tab; @language ("de"): what a browser set to that language
        sends, Accept-Language, and Cockpit's CockpitLang cookie as
        Cockpit's login page sets it."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.send("Page.enable")
        page.send("Runtime.enable")
        if language:
            page.send("Network.enable")
            page.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Language": language}})
            page.send("Network.setCookie", {"name": "CockpitLang", "value": language,
                                            "url": "http://127.0.0.1/", "path": "/"})
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        return page


class Page:
    def __init__(self, browser, session):
        self.browser = browser
        self.session = session

    def send(self, method, params=None, timeout=None):
        return self.browser.send(method, params, self.session, timeout)

    def navigate(self, url):
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CDPError("navigating to %s: %s" % (url, result["errorText"]))

    def evaluate(self, expression):
        """The value of a JavaScript expression (awaited if a promise);
        an exception in the page is a CDPError with its text."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            d = result["exceptionDetails"]
            raise CDPError("%s: %s" % (expression[:200], d.get("exception", {}).get("description")
                                       or d.get("text")))
        return result["result"].get("value")

    def wait_for(self, expression, timeout=10.0, what=None):
        """Polls @expression in the page until it is truthy; returns
        (value, seconds it took). The page itself never polls: this is
        the test watching the screen."""
        start = time.monotonic()
        while True:
            value = self.evaluate(expression)
            if value:
                return value, time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise CDPError("timed out after %.1f s waiting for %s" % (timeout, what or expression))
            self.browser.pump(0.05)

    def click(self, selector):
        """A real mouse click (pressed and released) in the middle of the
        element, as a person's: it must be visible and not covered."""
        box = self.evaluate("""(function () {
            const e = document.querySelector(%s);
            if (!e) return null;
            e.scrollIntoView({block: "center"});
            const r = e.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            const hit = document.elementFromPoint(x, y);
            return {x: x, y: y, hit: hit === e || e.contains(hit), disabled: !!e.disabled};
        })()""" % json.dumps(selector))
        if box is None:
            raise CDPError("nothing matches %s" % selector)
        if not box["hit"]:
            raise CDPError("%s is covered by another element" % selector)
        if box["disabled"]:
            raise CDPError("%s is disabled" % selector)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"],
                                                   "button": "left", "clickCount": 1})

    def type_text(self, text):
        """Types @text into the focused element, as a keyboard would
        (input events included)."""
        self.send("Input.insertText", {"text": text})

    def screenshot(self, path):
        """A PNG of the whole page (the viewport grown to its height)."""
        # A page that scrolls inside (PatternFly's pf-c-page__main, as in
        # Cockpit) is as tall as what scrolls in it.
        height = self.evaluate("Math.ceil(Math.max(document.documentElement.scrollHeight, "
                               "...[...document.querySelectorAll('body *')].map(e => e.scrollHeight"
                               " + e.getBoundingClientRect().top)))")
        width = self.evaluate("Math.ceil(document.documentElement.scrollWidth)")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": max(width, 1280), "height": max(height, 600), "deviceScaleFactor": 1,
                   "mobile": False})
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def console(self):
        """The page's console messages and uncaught exceptions so far, as
        text lines."""
        self.browser.pump(0)
        lines = []
        for session, method, params in self.browser.events:
            if session != self.session:
                continue
            if method == "Runtime.consoleAPICalled":
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
                lines.append("console.%s: %s" % (params["type"], args))
            elif method == "Runtime.exceptionThrown":
                d = params["exceptionDetails"]
                lines.append("exception: %s" % (d.get("exception", {}).get("description")
                                                or d.get("text")))
        return lines

    def exceptions(self):
        return [line for line in self.console() if line.startswith("exception:")]
