#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One service with several instances (FT's pods): a [Check] with three
URLs on three real HTTP servers on loopback, healthy only when all are,
and FT's /__pods-health and /__pod-individual-health as curl sees them."""

import http.server
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, log, wait_until  # noqa: E402

P = halectx.require("haled", "dbus-daemon", "busctl")


def ft_answer(pod, ok):
    return {"schemaVersion": 1, "systemCode": "api", "name": pod, "ok": ok,
            "checks": [{"id": "db", "name": "database", "ok": ok, "severity": 1,
                        "checkOutput": "fine" if ok else "connection refused"}]}


class Pod:
    """One instance: an HTTP server answering /__health in FT's format."""

    def __init__(self, name):
        self.name = name
        self.ok = True
        pod = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                data = json.dumps(ft_answer(pod.name, pod.ok)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def api_check(h):
    status, report = h.http_json("/health/services")
    return report["checks"].get("api", {})


def pods_health(h):
    status, headers, body = h.http_get("/__pods-health?service-name=api",
                                       headers={"Accept": "application/json"})
    check_equal(status, 200, "GET /__pods-health?service-name=api")
    check(headers.get("content-type", "").startswith("application/json"),
          "/__pods-health Content-Type %r" % headers.get("content-type"))
    return json.loads(body)


def test_pods():
    pods = [Pod("api-%d" % i) for i in range(3)]
    try:
        with halectx.Hale(P, "pods") as h:
            urls = " ".join("http://127.0.0.1:%d/__health" % p.port for p in pods)
            names = ["api@127.0.0.1:%d" % p.port for p in pods]
            h.start_haled(lambda: h.config_text(extra=(
                "[Check api]\nURL=%s\nFormat=ft\nInterval=300ms\nTimeout=2s\n" % urls)))

            c, _ = wait_until(lambda: (lambda c: c if c.get("status") == "healthy" else None)(
                api_check(h)), 10, "[Check api] healthy")
            log("api: %r" % c.get("message"))
            check_equal(c["message"], "all 3 instances healthy", "api's message")

            result = pods_health(h)
            check_equal(result["schemaVersion"], 1, "schemaVersion")
            check_equal(result["ok"], True, "pods ok")
            check_equal(sorted(p["name"] for p in result["checks"]), sorted(names), "pod names")
            check(all(p["ok"] for p in result["checks"]), "every pod ok: %r" % result["checks"])

            # One instance fails: the service does.
            pods[1].ok = False
            c, _ = wait_until(lambda: (lambda c: c if c.get("status") == "critical" else None)(
                api_check(h)), 10, "[Check api] critical with one instance down")
            check(c["message"].startswith("1 of 3 instances unhealthy: %s: " % names[1]),
                  "api's message: %r" % c["message"])
            result = pods_health(h)
            check_equal(result["ok"], False, "pods ok with one down")
            check_equal(result.get("severity"), 1, "pods severity")
            by = {p["name"]: p for p in result["checks"]}
            check_equal([by[n]["ok"] for n in names], [True, False, True], "each pod's ok")

            # The pod's own answer, as it gave it.
            status, headers, body = h.http_get("/__pod-individual-health?pod-name=" + names[1])
            check_equal(status, 200, "GET /__pod-individual-health")
            check_equal(headers.get("content-type"), "application/json", "pod's Content-Type")
            check_equal(json.loads(body), ft_answer("api-1", False), "pod's own answer")

            # What FT answers to a request it cannot serve.
            for path, want, text in (
                    ("/__pods-health", 400, "Couldn't get service name from url."),
                    ("/__pods-health?service-name=nope", 500,
                     "Cannot perform checks for service with name nope"),
                    ("/__pod-individual-health", 400, "Cannot parse pod name from url."),
                    ("/__pod-individual-health?pod-name=api@127.0.0.1:1", 500,
                     "Cannot get individual healthcheck for pod api@127.0.0.1:1")):
                status, headers, body = h.http_get(path)
                check_equal(status, want, "GET %s" % path)
                check(body.decode().startswith(text), "GET %s: %r" % (path, body))

            # Back: healthy again.
            pods[1].ok = True
            wait_until(lambda: api_check(h).get("status") == "healthy", 10, "api healthy again")
            h.stop_haled()
    finally:
        for p in pods:
            p.close()


if __name__ == "__main__":
    halectx.run([test_pods])
