#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""From scrape to alert with the real programs: a real Prometheus, set up
with data/prometheus/scrape-hale.yml's plain job and the shipped
hale-alerts.yml, scrapes the real haled watching three certificates, and
its alerts API shows what the rules promise: the expired certificate
fires HaleCertificateExpired at once, the one with three days left is
pending on HaleCertificateExpiringSoon (its `for:` is 10 minutes), the
fresh one nothing, and no rule fails to evaluate on haled's real series
(a label clash in an `on()` would show here and not in promtool's unit
tests, whose series are made up).
"""

import json
import time
import os
import re
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
import promstack  # noqa: E402
from halectx import check, log  # noqa: E402

P = halectx.require("haled", "mkcert", "dbus-daemon", "prometheus")

SCRAPE = os.path.join(promstack.PROMETHEUS_DIR, "scrape-hale.yml")
RULES = os.path.join(promstack.PROMETHEUS_DIR, "hale-alerts.yml")


def prometheus_config(metrics_port):
    """scrape-hale.yml up to its first job (the plain one, job "hale"),
    pointed at this haled and the rules in the source tree, evaluated
    every second."""
    with open(SCRAPE) as f:
        text = f.read()
    jobs = [m.start() for m in re.finditer(r"^  - job_name:", text, re.M)]
    check(len(jobs) >= 2, "scrape-hale.yml: fewer jobs than expected")
    text = text[:jobs[1]]
    subs = [("localhost:9091", "127.0.0.1:%d" % metrics_port),
            ("/usr/share/hale/prometheus/hale-alerts.yml", RULES),
            ("scrape_interval: 30s", "scrape_interval: 1s\n  scrape_timeout: 1s"),
            ("evaluation_interval: 30s", "evaluation_interval: 1s")]
    for old, new in subs:
        check(old in text, "scrape-hale.yml no longer has %r; update this test" % old)
        text = text.replace(old, new)
    return text


def test_alerts_from_a_real_scrape():
    with halectx.Hale(P, "prom-alerts") as h:
        fresh = h.mkcert("fresh.pem", "f4e5", days=60)
        soon = h.mkcert("soon.pem", "50011", days=3)
        expired = h.mkcert("expired.pem", "e1", not_before_days=-10, days=5)
        h.start_haled(lambda: h.config_text([("fresh", fresh), ("soon", soon), ("expired", expired)]))

        prom_port = halectx.free_port()
        conf = os.path.join(h.tmp, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(prometheus_config(h.metrics_port))
        plog = open(os.path.join(h.tmp, "prometheus.log"), "wb")
        proc = subprocess.Popen(
            [P["prometheus"], "--config.file=" + conf,
             "--storage.tsdb.path=" + os.path.join(h.tmp, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % prom_port, "--log.level=warn"],
            stdout=plog, stderr=plog, stdin=subprocess.DEVNULL)
        plog.close()
        try:
            def api(path):
                url = "http://127.0.0.1:%d/api/v1/%s" % (prom_port, path)
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        return json.load(r)["data"]
                except OSError:
                    return None

            def log_text():
                with open(os.path.join(h.tmp, "prometheus.log"), errors="replace") as f:
                    return "prometheus log:\n" + f.read()[-4000:]

            def active():
                data = api("alerts")
                if data is None:
                    return None
                return {(a["labels"]["alertname"], a["labels"].get("type"), a["state"])
                        for a in data["alerts"]}

            want = {("HaleCertificateExpired", "expired", "firing"),
                    ("HaleCertificateExpiringSoon", "soon", "pending")}
            # Rules evaluated before the first scrape see no up{job="hale"}
            # and set HaleAbsent pending, until the next evaluation: wait
            # for exactly the expected set, then see that it holds.
            seen = []

            def settled():
                got = active()
                seen.append(got)
                return got == want

            _, took = halectx.wait_until(settled, 60, "exactly the alerts %r" % sorted(want),
                                         interval=0.25,
                                         on_timeout=lambda: "last seen: %r\n%s" % (seen[-1:], log_text()))
            log("alerts as expected %.2f s after start: %s" % (took, sorted(want)))
            time.sleep(3)
            got = active()
            check(got == want, "3 s later, active alerts: %r, want %r" % (sorted(got), sorted(want)))

            rules = api("rules")
            names = set()
            for g in rules["groups"]:
                for r in g["rules"]:
                    names.add(r["name"])
                    check(r["health"] == "ok", "rule %s: health %s, %s" % (r["name"], r["health"],
                                                                           r.get("lastError")))
            check(len(names) >= 15 and "HaleDown" in names, "rules loaded: %s" % sorted(names))

            firing = [a for a in api("alerts")["alerts"] if a["labels"]["alertname"] == "HaleCertificateExpired"]
            a = firing[0]
            check(a["labels"]["severity"] == "critical" and a["labels"]["job"] == "hale"
                  and a["annotations"]["runbook_url"].endswith("#halecertificateexpired")
                  and "expired 5d" in a["annotations"]["description"],
                  "HaleCertificateExpired as Prometheus has it: %r" % a)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        h.stop_haled()


if __name__ == "__main__":
    halectx.run([test_alerts_from_a_real_scrape])
