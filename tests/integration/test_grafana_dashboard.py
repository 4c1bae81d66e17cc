#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""data/grafana/hale-dashboard.json imports into Grafana as it is and
every query in it is valid PromQL over metrics haled registers.

Grafana is not run here (not packaged in Debian); what an import needs is
checked instead: the fields Grafana requires, a datasource variable every
panel and query goes through (so nothing names a datasource of the
machine it was made on), panels on the 24-column grid without overlaps.
Every PromQL expression (panel targets, annotations, the label_values()
of variables) is put in a temporary rules file, one recording rule each,
with Grafana's variables replaced ($__rate_interval by 5m, $job and the
like by .*), and `promtool check rules` must accept it.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
import promstack  # noqa: E402
from halectx import check, check_equal  # noqa: E402

DASHBOARD = os.path.join(promstack.GRAFANA_DIR, "hale-dashboard.json")
DS_VAR = "DS_PROMETHEUS"
DS_REF = "${%s}" % DS_VAR
PANEL_TYPES = {"row", "stat", "table", "timeseries", "state-timeline", "gauge", "bargauge", "text",
               "heatmap"}


def load():
    with open(DASHBOARD) as f:
        return json.load(f)


def panels(dash):
    """Every panel, those inside collapsed rows included."""
    for p in dash["panels"]:
        yield p
        for inner in p.get("panels", []):
            yield inner


def expressions(dash):
    """[(where, PromQL)] of every query in the dashboard."""
    out = []
    for p in panels(dash):
        for t in p.get("targets", []):
            out.append(("panel %r target %s" % (p["title"], t.get("refId")), t["expr"]))
    for a in dash["annotations"]["list"]:
        if "expr" in a:
            out.append(("annotation %r" % a["name"], a["expr"]))
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.match(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$", q)
            check(m, "variable %s: %r is not label_values(SELECTOR, LABEL)" % (v["name"], q))
            out.append(("variable %s" % v["name"], m.group(1)))
    return out


def substitute(expr):
    """Grafana's variables replaced by what Prometheus would see."""
    for name in ("__rate_interval", "__interval", "__range"):
        expr = re.sub(r"\$\{%s\}|\$%s\b" % (name, name), "5m", expr)
    expr = re.sub(r"\$\{__range_s\}|\$__range_s\b", "300", expr)
    # ${var}, ${var:format}, $var and [[var]]: only ever inside =~"..."
    return re.sub(r"\$\{\w+(:\w+)?\}|\$\w+|\[\[\w+\]\]", ".*", expr)


def unparsable(exprs):
    """The expressions promtool rejects: [(where, expr, promtool's output)].
    One rules file with all of them first; only when that fails, one file
    per expression, to say which."""
    def check_file(items, tmp, name):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write("groups:\n  - name: hale-dashboard\n    rules:\n")
            for i, (_, e) in enumerate(items):
                f.write("      - record: hale_dashboard:expr_%d\n        expr: %s\n"
                        % (i, json.dumps(substitute(e))))
        return promstack.run_promtool("check", "rules", path)

    with promstack.tmpdir("dashboard") as tmp:
        rc, out = check_file(exprs, tmp, "all.yml")
        if rc == 0:
            check("SUCCESS: %d rules found" % len(exprs) in out, "promtool checked:\n" + out)
            return []
        bad = []
        for i, item in enumerate(exprs):
            rc1, out1 = check_file([item], tmp, "one-%d.yml" % i)
            if rc1 != 0:
                bad.append((item[0], item[1], out1))
        check(bad, "promtool rejected the whole file, yet no expression alone:\n" + out)
        return bad


def test_dashboard_has_what_grafana_needs():
    dash = load()
    for key in ("title", "uid", "schemaVersion", "panels", "templating", "annotations", "time"):
        check(key in dash, "no %r in the dashboard" % key)
    check(isinstance(dash["schemaVersion"], int) and dash["schemaVersion"] >= 36,
          "schemaVersion %r, want 36 or later" % dash.get("schemaVersion"))
    check(re.match(r"^[A-Za-z0-9_-]{1,40}$", dash["uid"]), "uid %r" % dash["uid"])
    check("id" not in dash or dash["id"] is None, "a fixed dashboard id would clash on import")

    variables = {v["name"]: v for v in dash["templating"]["list"]}
    ds = variables.get(DS_VAR)
    check(ds is not None, "no %s variable" % DS_VAR)
    check_equal((ds["type"], ds["query"]), ("datasource", "prometheus"), "the %s variable" % DS_VAR)
    for name in ("job", "instance", "type"):
        check(name in variables, "no $%s variable" % name)
        check_equal(variables[name]["datasource"]["uid"], DS_REF, "variable %s's datasource" % name)


def test_panels_are_laid_out_and_use_the_variable():
    dash = load()
    ids = set()
    cells = {}
    for p in panels(dash):
        where = "panel %r" % p.get("title")
        check(isinstance(p.get("id"), int) and p["id"] not in ids, where + ": id missing or repeated")
        ids.add(p["id"])
        check(p.get("type") in PANEL_TYPES, where + ": type %r" % p.get("type"))
        check(p.get("title"), "a panel without a title: id %s" % p.get("id"))
        g = p["gridPos"]
        check(all(isinstance(g.get(k), int) for k in "xywh") and g["w"] > 0 and g["h"] > 0
              and g["x"] >= 0 and g["x"] + g["w"] <= 24, where + ": gridPos %r" % g)
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                check((x, y) not in cells, where + " overlaps panel %r" % cells.get((x, y)))
                cells[(x, y)] = p["title"]
        if p["type"] == "row":
            continue
        check(p.get("description"), where + ": no description")
        check_equal(p.get("datasource"), {"type": "prometheus", "uid": DS_REF}, where + "'s datasource")
        targets = p.get("targets") or []
        check(targets, where + ": no queries")
        refs = [t.get("refId") for t in targets]
        check(len(set(refs)) == len(refs) and all(refs), where + ": refIds %r" % refs)
        for t in targets:
            check(t.get("expr"), where + ": an empty query")
            check_equal(t.get("datasource"), {"type": "prometheus", "uid": DS_REF},
                        where + " target " + t["refId"] + "'s datasource")
    for a in dash["annotations"]["list"]:
        if "expr" in a:
            check_equal(a["datasource"], {"type": "prometheus", "uid": DS_REF},
                        "annotation %r's datasource" % a["name"])


def test_the_panels_an_operator_needs_are_there():
    """Certificates and days left, renewals, reloads, connectivity and
    degraded periods, probe latency, check status."""
    dash = load()

    def find(ptype, needle):
        for p in panels(dash):
            if p["type"] == ptype and any(needle in t["expr"] for t in p.get("targets", [])):
                return p
        halectx.fail("no %s panel querying %s" % (ptype, needle))

    table = find("table", "hale_certificate_expiry_seconds")
    check(any("/ 86400" in t["expr"] for t in table["targets"]), "the certificate table has no days")
    find("timeseries", "hale_certificate_renewal_attempts_total")
    find("timeseries", "hale_service_reload_total")
    conn = find("state-timeline", "hale_connectivity_status")
    check(any("hale_degraded_mode" in t["expr"] for t in conn["targets"]),
          "degraded periods are not on the connectivity timeline")
    latency = find("timeseries", "hale_endpoint_probe_duration_seconds_bucket")
    check(all(t["expr"].startswith("histogram_quantile(") for t in latency["targets"]),
          "probe latency is not shown as quantiles")
    find("state-timeline", "hale_check_status")


def test_every_expression_parses():
    exprs = expressions(load())
    check(len(exprs) >= 20, "only %d expressions found" % len(exprs))
    for where, e in exprs:
        rest = re.sub(r'=~"[^"]*"', "", e)
        check(not re.search(r"\$\w+|\$\{|\[\[", re.sub(r"\[\$__\w+\]", "", rest)),
              "%s: a variable outside a =~ matcher: %s" % (where, e))
    bad = unparsable(exprs)
    check(not bad, "promtool rejects:\n" + "\n".join("%s: %s\n%s" % b for b in bad))
    halectx.log("%d expressions parse" % len(exprs))


def test_a_broken_expression_is_caught():
    """The check above can fail: a typo'd expression is named."""
    bad = unparsable([("good", 'sum(hale_up{job=~"$job"})'),
                      ("typo", 'sum by (le (rate(hale_up[$__rate_interval]))')])
    check_equal([b[0] for b in bad], ["typo"], "expressions promtool rejected")


def test_every_metric_is_registered():
    known = promstack.known_series_names()
    for where, e in expressions(load()):
        for name in promstack.hale_names_in(e):
            check(name in known, "%s queries %s, which haled does not register" % (where, name))


if __name__ == "__main__":
    promstack.promtool()
    halectx.run([test_dashboard_has_what_grafana_needs, test_panels_are_laid_out_and_use_the_variable,
                 test_the_panels_an_operator_needs_are_there, test_every_expression_parses,
                 test_a_broken_expression_is_caught, test_every_metric_is_registered])
