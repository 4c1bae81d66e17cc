#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The alert rules in data/prometheus/hale-alerts.yml: every alert has a
severity, a summary, a description and a runbook that exists in
docs/prometheus.md; every alert's unit tests show it firing and not
firing; every metric it selects is one haled registers. (promtool's own
check and unit tests run as the meson tests check-rules and test-rules.)

The rules file is read with a small parser for the layout it has (one
`- alert:` item per rule, keys indented below it), standard library only;
a change of layout makes these tests fail, not pass vacuously.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
import promstack  # noqa: E402
from halectx import check, fail  # noqa: E402

RULES = os.path.join(promstack.PROMETHEUS_DIR, "hale-alerts.yml")
RULE_TESTS = os.path.join(promstack.PROMETHEUS_DIR, "hale-alerts.test.yml")
RUNBOOK_BASE = "https://github.com/hale/hale/blob/main/docs/prometheus.md#"


def _unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = v[1:-1]
    return v


def alerts():
    """[{name, expr, for, labels, annotations}] from the rules file."""
    with open(RULES) as f:
        text = f.read()
    out = []
    for block in re.split(r"^\s*- alert:", text, flags=re.M)[1:]:
        lines = block.split("\n")
        a = {"name": lines[0].strip(), "labels": {}, "annotations": {}, "expr": "", "for": None}
        section = None
        in_expr = False
        for line in lines[1:]:
            if re.match(r"^\s*- name:", line):
                break
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                in_expr = in_expr and bool(stripped)
                continue
            indent = len(line) - len(line.lstrip())
            if in_expr and indent > 8:
                a["expr"] += " " + stripped
                continue
            in_expr = False
            key, _, value = stripped.partition(":")
            if indent == 8:
                section = key
                if key == "expr":
                    if value.strip() == "|":
                        in_expr = True
                    else:
                        a["expr"] = value.strip()
                elif key == "for":
                    a["for"] = value.strip()
            elif indent == 10 and section in ("labels", "annotations"):
                a[section][key] = _unquote(value)
        a["expr"] = a["expr"].strip()
        out.append(a)
    check(len(out) >= 15, "found only %d alerts in %s" % (len(out), RULES))
    return out


def rule_test_cases():
    """{alertname: {"fires": n, "quiet": n}} from the promtool unit tests:
    an alert_rule_test item with `exp_alerts: []` is a case where it must
    not fire, one with listed alerts a case where it must."""
    with open(RULE_TESTS) as f:
        lines = f.read().split("\n")
    cases = {}
    current = None
    for i, line in enumerate(lines):
        m = re.match(r"^\s*alertname:\s*(\S+)\s*$", line)
        if m:
            current = m.group(1)
            cases.setdefault(current, {"fires": 0, "quiet": 0})
            continue
        m = re.match(r"^\s*exp_alerts:\s*(\[\])?\s*$", line)
        if m and current:
            if m.group(1):
                cases[current]["quiet"] += 1
            elif i + 1 < len(lines) and re.match(r"^\s*- exp_labels:", lines[i + 1]):
                cases[current]["fires"] += 1
            else:
                fail("%s:%d: exp_alerts is neither [] nor a list of alerts" % (RULE_TESTS, i + 1))
            current = None
    return cases


def test_every_alert_is_complete():
    """Severity, summary, description and a runbook_url into docs/."""
    anchors = promstack.doc_anchors()
    names = set()
    for a in alerts():
        n = a["name"]
        check(re.match(r"^Hale[A-Z][A-Za-z]+$", n), "%s: alert names are HaleCamelCase" % n)
        check(n not in names, "%s: two alerts of that name" % n)
        names.add(n)
        check(a["expr"], "%s: no expr" % n)
        check(a["labels"].get("severity") in ("warning", "critical"),
              "%s: severity %r, want warning or critical" % (n, a["labels"].get("severity")))
        for key in ("summary", "description", "runbook_url"):
            check(a["annotations"].get(key), "%s: no %s annotation" % (n, key))
        url = a["annotations"]["runbook_url"]
        check(url == RUNBOOK_BASE + n.lower(),
              "%s: runbook_url %r, want %r" % (n, url, RUNBOOK_BASE + n.lower()))
        check(n.lower() in anchors, "%s: docs/prometheus.md has no section #%s" % (n, n.lower()))


def test_doc_links_resolve():
    """Every #anchor link in docs/prometheus.md leads to a section of it."""
    anchors = promstack.doc_anchors()
    with open(promstack.DOCS) as f:
        links = re.findall(r"\]\(#([\w-]+)\)", f.read())
    check(links, "no links in " + promstack.DOCS)
    broken = sorted(set(links) - anchors)
    check(not broken, "docs/prometheus.md links to missing sections: %s" % broken)


def test_every_alert_is_tested_both_ways():
    """Each alert has promtool cases where it fires and where it must not,
    and the tests name no alert that does not exist."""
    names = {a["name"] for a in alerts()}
    cases = rule_test_cases()
    for n in sorted(names):
        c = cases.get(n, {"fires": 0, "quiet": 0})
        check(c["fires"] > 0, "%s: no unit test where it fires" % n)
        check(c["quiet"] > 0, "%s: no unit test where it must not fire" % n)
    unknown = set(cases) - names
    check(not unknown, "unit tests of alerts that do not exist: %s" % sorted(unknown))


def test_rules_name_registered_metrics():
    """Every hale_* series a rule selects is one haled registers (or one
    promstack.COMING says is on its way)."""
    known = promstack.known_series_names()
    for a in alerts():
        for name in promstack.hale_names_in(a["expr"]):
            check(name in known, "%s selects %s, which haled does not register" % (a["name"], name))


def test_a_broken_rule_fails_promtool():
    """The meson tests rely on promtool failing: a rule with a syntax
    error fails `check rules`, and an alert expected but not firing fails
    `test rules`."""
    with promstack.tmpdir("rules") as tmp:
        bad = os.path.join(tmp, "bad.yml")
        with open(bad, "w") as f:
            f.write("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: hale_up ==\n")
        rc, out = promstack.run_promtool("check", "rules", bad)
        check(rc != 0, "promtool check rules accepted a broken expression:\n" + out)

        with open(RULES) as f:
            rules = f.read()
        # The expired alert made to need an hour more than the test gives.
        broken = rules.replace("-hale_certificate_expiry_seconds >= 0",
                               "-hale_certificate_expiry_seconds >= 7200")
        check(broken != rules, "the expired alert's expression moved; update this test")
        with open(os.path.join(tmp, "hale-alerts.yml"), "w") as f:
            f.write(broken)
        with open(RULE_TESTS) as f:
            tests = f.read()
        with open(os.path.join(tmp, "hale-alerts.test.yml"), "w") as f:
            f.write(tests)
        rc, out = promstack.run_promtool("test", "rules", os.path.join(tmp, "hale-alerts.test.yml"))
        check(rc != 0 and "HaleCertificateExpired" in out,
              "promtool test rules passed with a broken rule:\n" + out)


if __name__ == "__main__":
    promstack.promtool()  # skip (or fail under CI=true) before any test without it
    halectx.run([test_every_alert_is_complete, test_doc_links_resolve,
                 test_every_alert_is_tested_both_ways,
                 test_rules_name_registered_metrics, test_a_broken_rule_fails_promtool])
