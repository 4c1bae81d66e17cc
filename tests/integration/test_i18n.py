#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What a German-speaking operator and anyone reading the installed
documentation see.

- `LANGUAGE=de halectl status` against a real haled answers in German,
  from the build tree's catalogs (HALE_LOCALEDIR);
- a haled whose own locale is German (LANGUAGE=de) serves the HTML
  health view in German, status words and check names untouched; the
  same haled without LANGUAGE serves it in English;
- after `meson install --destdir`, `man hale.conf` (MANPATH at the
  destdir) documents every key, haled(8) and halectl(1) are there, and
  the installed halectl speaks German from the installed catalogs; the
  completion, the German journal catalog and the translated polkit
  policy are installed where their tools look.
"""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, log  # noqa: E402

P = halectx.require("haled", "halectl", "mkcert", "dbus-daemon", "busctl", "man")

BUILD = os.environ.get("HALE_BUILD_ROOT")
SRCDIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def german(localedir):
    return {"LANGUAGE": "de", "LC_ALL": "C.UTF-8", "HALE_LOCALEDIR": localedir}


def start(h):
    cert = h.mkcert("current.pem", "0a1b2c3d", days=60)
    h.start_haled(lambda: h.config_text(
        [("current", cert)], extra="\n[Service web]\nUnit=web.service\n"))


def check_status_german(h, halectl, localedir):
    r = subprocess.run([halectl, "--user", "status"], env=h.env(german(localedir)),
                       capture_output=True, text=True, timeout=30)
    log("LANGUAGE=de halectl status:\n" + r.stdout + r.stderr)
    check(r.returncode == 0, "halectl status exited %d: %s" % (r.returncode, r.stderr))
    for want in ("PRÜFUNG", "MELDUNG", "certificate:current", "service:web"):
        check(want in r.stdout, "no %r in the German status:\n%s" % (want, r.stdout))
    check("CHECK" not in r.stdout and "MESSAGE" not in r.stdout,
          "English headings in the German status:\n" + r.stdout)

    r = subprocess.run([halectl, "--user", "degraded"], env=h.env(german(localedir)),
                       capture_output=True, text=True, timeout=30)
    check("Eingeschränkter Modus:" in r.stdout, "halectl degraded in German:\n" + r.stdout + r.stderr)

    # And English without LANGUAGE: the German is not stuck on.
    r = h.halectl("status")
    check("CHECK" in r.stdout, "halectl status without LANGUAGE:\n" + r.stdout)


def test_status_german():
    if BUILD is None:
        halectx._skip_or_fail("HALE_BUILD_ROOT unset (run through meson test)")
    with halectx.Hale(P, "i18n") as h:
        start(h)
        check_status_german(h, P["halectl"], os.path.join(BUILD, "po"))
        h.stop_haled()


HTML_CONFIG = """
[Check backup]
TTL=1h

[Category jobs]
Checks=backup
Sticky=true
"""


def html_view(h, env):
    """haled started with @env; backup reported failing (jobs trips) and
    acknowledged; the HTML of /health/services and /__health."""
    cert = h.mkcert("current.pem", "0a1b2c3e", days=60)
    h.start_haled(lambda: h.config_text([("current", cert)], extra=HTML_CONFIG), env=env)
    h.busctl("call", halectx.BUS_NAME, halectx.OBJECT_PATH, "org.hale.Hale1.Health", "Report",
             "sss", "backup", "fail", "disk full")
    h.busctl("call", halectx.BUS_NAME, halectx.OBJECT_PATH, "org.hale.Hale1.Health", "Acknowledge",
             "ss", "backup", "restore running")
    pages = []
    for path in ("/health/services", "/__health"):
        status, headers, body = h.http_get(path, {"Accept": "text/html"})
        check(headers.get("content-type", "").startswith("text/html"),
              "GET %s as text/html: %r" % (path, headers.get("content-type")))
        pages.append(body.decode())
    h.allowed_warnings += [r"backup", r"jobs", r"sticky"]
    h.stop_haled()
    return pages


def test_html_german():
    if BUILD is None:
        halectx._skip_or_fail("HALE_BUILD_ROOT unset (run through meson test)")
    localedir = os.path.join(BUILD, "po")
    # LC_ALL empty counts as unset: LANG decides, and C.UTF-8 lets LANGUAGE work.
    base = {"LC_ALL": "", "LANG": "C.UTF-8", "HALE_LOCALEDIR": localedir}
    host = os.uname().nodename

    with halectx.Hale(P, "i18n-html-de") as h:
        services, ft = html_view(h, dict(base, LANGUAGE="de"))
    log("German /health/services:\n" + services)
    for want in ('<html lang="de">', "<h1>%s ist nicht gesund</h1>" % host, "<h2>Kategorien</h2>",
                 "<h2>Prüfungen</h2>", "<th>Prüfung</th>", "<th>Meldung</th>",
                 "Bestätigt: <q>restore running</q>", "von uid:%d, vor " % os.getuid(),
                 "Sticky-Kategorie.", "1 bestätigt", "erzeugt "):
        check(want in services, "no %r in the German HTML view" % want)
    for english in ("Acknowledged", "<h2>Checks</h2>", "<th>Message</th>", " is unhealthy"):
        check(english not in services, "English %r in the German HTML view" % english)
    # What scripts match stays: status words, names, the checks' own messages.
    for kept in ('<header class="unhealthy"', ">critical", ">disabled<", ">backup<", "disk full",
                 "sticky: check backup failed"):
        check(kept in services, "%r changed in the German HTML view" % kept)
    check("<h2>Prüfungen</h2>" in ft and "Bestätigt:" in ft, "/__health as HTML in German")

    with halectx.Hale(P, "i18n-html-en") as h:
        services, _ = html_view(h, dict(base, LANGUAGE=""))
    for want in ('<html lang="en">', "<h1>%s is unhealthy</h1>" % host, "<h2>Checks</h2>",
                 "Acknowledged: <q>restore running</q>", "1 acknowledged"):
        check(want in services, "no %r in the English HTML view:\n%s" % (want, services))
    check("Prüfung" not in services, "German in the English HTML view")


def documented_keys():
    """Key= of every .BI/.B paragraph tag of the source hale.conf.5."""
    with open(os.path.join(SRCDIR, "docs", "hale.conf.5")) as f:
        return sorted(set(re.findall(r"^\.B[IR]? ([A-Za-z]+=)", f.read(), re.M)))


def test_installed():
    meson = os.environ.get("HALE_MESON")
    if BUILD is None or not meson:
        halectx._skip_or_fail("HALE_BUILD_ROOT or HALE_MESON unset (run through meson test)")
    prefix = os.environ["HALE_PREFIX"]
    with tempfile.TemporaryDirectory(prefix="hale-it-install-") as dest:
        r = subprocess.run([meson, "install", "-C", BUILD, "--no-rebuild", "--quiet",
                            "--destdir", dest], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "meson install --destdir failed:\n%s%s" % (r.stdout, r.stderr))
        root = dest + prefix

        def installed(*parts):
            path = os.path.join(root, *parts)
            check(os.path.exists(path), "not installed: %s" % path)
            return path

        mandir = os.path.join(root, os.environ.get("HALE_MANDIR", "share/man"))
        env = dict(os.environ, MANPATH=mandir, MANWIDTH="80", LC_ALL="C.UTF-8")
        env.pop("MANOPT", None)
        for page, section in (("hale.conf", "5"), ("haled", "8"), ("halectl", "1")):
            r = subprocess.run(["man", "-w", section, page], env=env, capture_output=True, text=True)
            check(r.returncode == 0 and r.stdout.startswith(mandir),
                  "man -w %s %s with MANPATH=%s: %r %r" % (section, page, mandir, r.stdout, r.stderr))
        r = subprocess.run(["man", "hale.conf"], env=env, capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "man hale.conf failed: %s" % r.stderr)
        text = r.stdout
        keys = documented_keys()
        check(len(keys) > 10, "too few keys found in hale.conf.5: %r" % keys)
        missing = [k for k in keys if k not in text]
        check(not missing, "man hale.conf does not show %s:\n%s" % (missing, text[:3000]))
        log("man hale.conf shows all %d keys (%d lines)" % (len(keys), len(text.splitlines())))

        completion = dest + os.environ["HALE_COMPLETIONSDIR"] + "/halectl"
        check(os.path.exists(completion), "not installed: %s" % completion)
        localedir = installed(os.environ.get("HALE_LOCALEDIR_REL", "share/locale"))
        installed(localedir, "de", "LC_MESSAGES", "hale.mo")
        installed("lib", "systemd", "catalog", "hale.de.catalog")
        with open(installed("share", "polkit-1", "actions", "org.hale.Hale1.policy")) as f:
            check('xml:lang="de"' in f.read(), "the installed polkit policy has no German")

        halectl = installed(os.environ.get("HALE_BINDIR", "bin"), "halectl")
        with halectx.Hale(P, "i18n-installed") as h:
            start(h)
            check_status_german(h, halectl, localedir)
            h.stop_haled()


if __name__ == "__main__":
    halectx.run([test_status_german, test_html_german, test_installed])
