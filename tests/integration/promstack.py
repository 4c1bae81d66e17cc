# SPDX-License-Identifier: LGPL-2.1-or-later
"""promstack: what the tests of data/prometheus and data/grafana share.

The metric names haled registers, read from the sources (every
hale_metrics_add call), so a rule or a panel naming a metric that does
not exist, or no longer does, fails a test instead of staying silently
empty. Standard library only: these tests run wherever promtool does.
"""

import os
import re
import subprocess
import tempfile

import halectx

SRCDIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PROMETHEUS_DIR = os.path.join(SRCDIR, "data", "prometheus")
GRAFANA_DIR = os.path.join(SRCDIR, "data", "grafana")
DOCS = os.path.join(SRCDIR, "docs", "prometheus.md")

NAMESPACE = "hale_"

# Metrics the rules and the dashboard use before haled registers them:
# the rotation agent's reports (org.hale.Hale1.Rotation, issue 6) and the
# aggregated checks (issue 5). Remove a name once its module lands; the
# test says which ones have.
COMING = {
    "jwt_refresh_total": "counter",
    "keycloak_auth_failures_total": "counter",
    "jwt_cache_hits_total": "counter",
    "bootstrap_status": "gauge",
    "certificate_renewal_duration_seconds": "histogram",
    "check_status": "gauge",
}

# A family is registered by a hale_metrics_add() call or a row of a
# HaleMetricDesc table: either way its type is followed by its name.
_ADD = re.compile(r'(?:hale_metrics_add\s*\(\s*[^,]+|\{\s*FIELD\s*\([a-z_]+\)),\s*HALE_METRIC_([A-Z]+)\s*,\s*"([a-z0-9_]+)"')


def registered_metrics():
    """{name without namespace: type} of every hale_metrics_add in src/."""
    found = {}
    src = os.path.join(SRCDIR, "src")
    for top, _dirs, files in sorted(os.walk(src)):
        for fn in sorted(files):
            if fn.endswith(".c"):
                with open(os.path.join(top, fn)) as f:
                    for m in _ADD.finditer(f.read()):
                        found[m.group(2)] = m.group(1).lower()
    halectx.check(len(found) > 10, "found only %d registered families in %s" % (len(found), src))
    return found


def known_series_names():
    """Every series name a rule may select: hale_NAME, with _bucket, _sum
    and _count for histograms; the process_ collector's are not hale's."""
    names = set()
    metrics = dict(COMING)
    registered = registered_metrics()
    landed = sorted(n for n in COMING if n in registered)
    if landed:
        halectx.log("registered now, can leave promstack.COMING: %s" % ", ".join(landed))
    metrics.update(registered)
    for name, kind in metrics.items():
        if name.startswith("process_"):
            continue
        names.add(NAMESPACE + name)
        if kind == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                names.add(NAMESPACE + name + suffix)
    return names


def hale_names_in(expr):
    """The hale_* series names an expression selects."""
    return set(re.findall(r"\b(%s[a-z0-9_]+)" % NAMESPACE, expr))


def promtool():
    return halectx.program("PROMTOOL", "promtool")


def run_promtool(*args):
    """Runs promtool; returns (exit status, its output)."""
    p = subprocess.run([promtool()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=60)
    return p.returncode, p.stdout


def tmpdir(name):
    return tempfile.TemporaryDirectory(prefix="hale-%s-" % name)


def github_anchor(heading):
    """The anchor GitHub (and most Markdown renderers) give a heading."""
    a = heading.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


def doc_anchors():
    with open(DOCS) as f:
        return {github_anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", f.read(), re.M)}
