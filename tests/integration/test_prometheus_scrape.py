#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""data/prometheus/scrape-hale.yml is a configuration Prometheus accepts
(`promtool check config`), with every way of scraping docs/prometheus.md
describes, and the rules file it loads is the one in data/.

promtool checks that the CA, token and password files exist, so they are
made, empty, in a temporary directory and the paths pointed there.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
import promstack  # noqa: E402
from halectx import check  # noqa: E402

SCRAPE = os.path.join(promstack.PROMETHEUS_DIR, "scrape-hale.yml")
CREDENTIALS_DIR = "/etc/prometheus/hale/"
INSTALLED_RULES_DIR = "/usr/share/hale/prometheus/"


def read():
    with open(SCRAPE) as f:
        return f.read()


def test_scrape_config_passes_promtool():
    text = read()
    with promstack.tmpdir("scrape") as tmp:
        files = sorted(set(re.findall(re.escape(CREDENTIALS_DIR) + r"([\w.-]+)", text)))
        check(files, "no credential files under %s in %s" % (CREDENTIALS_DIR, SCRAPE))
        for fn in files:
            open(os.path.join(tmp, fn), "w").close()
        local = text.replace(CREDENTIALS_DIR, tmp + "/").replace(INSTALLED_RULES_DIR,
                                                                 promstack.PROMETHEUS_DIR + "/")
        check(local.count(promstack.PROMETHEUS_DIR) == 1, "the rule_files entry moved")
        conf = os.path.join(tmp, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(local)
        rc, out = promstack.run_promtool("check", "config", conf)
        halectx.log(out)
        check(rc == 0, "promtool check config failed:\n" + out)
        check("SUCCESS" in out and "1 rule files found" in out, "promtool found no rule file:\n" + out)


def test_every_way_of_scraping_is_there():
    """A plain job named hale (what the rules select), TLS with a CA,
    bearer token and basic auth from files, mutual TLS."""
    text = read()
    jobs = re.findall(r"^\s*- job_name:\s*(\S+)", text, re.M)
    check(jobs and jobs[0] == "hale", "the first job is %r, want hale: %r" % (jobs[:1], jobs))
    check(len(jobs) == len(set(jobs)), "job names repeat: %r" % jobs)
    for needle in ("ca_file:", "credentials_file:", "type: Bearer", "password_file:", "cert_file:",
                   "key_file:", "scheme: https"):
        check(needle in text, "%s has no %r" % (SCRAPE, needle))
    # Secrets come from files, never inline.
    check(not re.search(r"^\s*(password|credentials|bearer_token):", text, re.M),
          "a secret written inline in %s" % SCRAPE)


if __name__ == "__main__":
    promstack.promtool()
    halectx.run([test_scrape_config_passes_promtool, test_every_way_of_scraping_is_there])
