#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The translations are complete and well-formed.

- po/de.po translates every message of the sources as they are now:
  the template is extracted afresh (xgettext over po/POTFILES.in, the
  keywords of i18n.gettext(preset: 'glib')), merged with de.po, and
  nothing may be untranslated or fuzzy. A new string fails here, named,
  until someone translates it (docs/translations.md).
- msgfmt --check accepts every .po (format strings match).
- data/hale.de.catalog has every entry of data/hale.catalog, with the
  same @FIELDS@, and journalctl shows it to a German locale.
- the policy the build merged has German for every action.
- halectl --help answers in German with the build's catalogs.

TAP; environment from tests/meson.build: HALE_TEST_SRCDIR (tests/),
HALE_BUILD_ROOT, HALECTL.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

SRCDIR = os.path.abspath(os.path.join(os.environ.get("HALE_TEST_SRCDIR", os.path.dirname(__file__)), ".."))
BUILD = os.environ.get("HALE_BUILD_ROOT")
PO = os.path.join(SRCDIR, "po")

# i18n.gettext(preset: 'glib'), as meson 1.0 passes it to xgettext.
GLIB_PRESET = [
    "--from-code=UTF-8", "--add-comments",
    "--keyword=_", "--keyword=N_", "--keyword=C_:1c,2", "--keyword=NC_:1c,2",
    "--keyword=g_dcgettext:2", "--keyword=g_dngettext:2,3", "--keyword=g_dpgettext2:2c,3",
    "--flag=N_:1:pass-c-format", "--flag=C_:2:pass-c-format", "--flag=NC_:2:pass-c-format",
    "--flag=g_dngettext:2:pass-c-format", "--flag=g_strdup_printf:1:c-format",
    "--flag=g_string_printf:2:c-format", "--flag=g_string_append_printf:2:c-format",
    "--flag=g_error_new:3:c-format", "--flag=g_set_error:4:c-format",
    "--flag=g_markup_printf_escaped:1:c-format", "--flag=g_log:3:c-format",
    "--flag=g_print:1:c-format", "--flag=g_printerr:1:c-format",
    "--flag=g_printf:1:c-format", "--flag=g_fprintf:2:c-format",
    "--flag=g_sprintf:2:c-format", "--flag=g_snprintf:3:c-format",
]


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taprun import Skip, run as run_tests  # noqa: E402


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def need(program):
    path = shutil.which(program)
    if path is None:
        raise Skip("%s is not installed" % program)
    return path


def languages():
    with open(os.path.join(PO, "LINGUAS")) as f:
        return [w for line in f for w in line.split("#")[0].split()]


def fresh_template(tmp):
    need("xgettext")
    pot = os.path.join(tmp, "hale.pot")
    r = run(["xgettext", "--package-name=hale", "--directory=" + SRCDIR,
             "--files-from=" + os.path.join(PO, "POTFILES.in"), "--output=" + pot] + GLIB_PRESET)
    assert r.returncode == 0, "xgettext failed: %s" % r.stderr
    return pot


def test_po_complete():
    with tempfile.TemporaryDirectory() as tmp:
        pot = fresh_template(tmp)
        for lang in languages():
            po = os.path.join(PO, lang + ".po")
            merged = os.path.join(tmp, lang + ".po")
            r = run(["msgmerge", "--quiet", "--output-file=" + merged, po, pot])
            assert r.returncode == 0, "msgmerge %s: %s" % (po, r.stderr)
            r = run(["msgfmt", "--check", "--statistics", "--output-file=/dev/null", merged])
            assert r.returncode == 0, "msgfmt --check %s: %s" % (po, r.stderr)
            stats = r.stderr.strip()
            print("# %s against the sources: %s" % (lang, stats))
            todo = run(["msgattrib", "--untranslated", "--no-obsolete", merged]).stdout
            todo += run(["msgattrib", "--only-fuzzy", "--no-obsolete", merged]).stdout
            ids = re.findall(r'^msgid "(.+)"$', todo, re.M)
            assert "untranslated" not in stats and "fuzzy" not in stats, (
                "po/%s.po is not complete for the current sources (%s); translate: %s\n"
                "(ninja -C BUILD hale-update-po, then edit po/%s.po: docs/translations.md)"
                % (lang, stats, ids, lang))


def test_po_check():
    for lang in languages():
        po = os.path.join(PO, lang + ".po")
        r = run(["msgfmt", "--check", "--output-file=/dev/null", po])
        assert r.returncode == 0, "msgfmt --check %s:\n%s" % (po, r.stderr)


def catalog_entries(path, lang=None):
    """{MESSAGE_ID: (header line, set of @FIELDS@)}."""
    with open(path) as f:
        text = f.read()
    entries = {}
    parts = re.split(r"^-- ([0-9a-f]{32})(?: (\S+))?\n", text, flags=re.M)
    for i in range(1, len(parts), 3):
        mid, entry_lang, body = parts[i], parts[i + 1], parts[i + 2]
        # journalctl takes the language from the file name (hale.de.catalog)
        # and warns at one on the header line as well.
        assert entry_lang is None, "%s: entry %s names a language (%r) on its header line" % (
            path, mid, entry_lang)
        assert mid not in entries, "%s: %s twice" % (path, mid)
        entries[mid] = set(re.findall(r"@[A-Z_]+@", body))
    return entries


def test_catalog_complete():
    base = catalog_entries(os.path.join(SRCDIR, "data", "hale.catalog"))
    assert base, "no entries in hale.catalog"
    for lang in ["de"]:
        path = os.path.join(SRCDIR, "data", "hale.%s.catalog" % lang)
        translated = catalog_entries(path, lang)
        missing = sorted(set(base) - set(translated))
        extra = sorted(set(translated) - set(base))
        assert not missing, "%s lacks the entries %s of hale.catalog" % (path, missing)
        assert not extra, "%s has entries hale.catalog has not: %s" % (path, extra)
        for mid, fields in base.items():
            assert translated[mid] == fields, (
                "%s entry %s uses %s, hale.catalog %s" % (path, mid, sorted(translated[mid]),
                                                          sorted(fields)))


def german_locale(tmp):
    """A de_DE.UTF-8 locale compiled into @tmp (LOCPATH), since only
    C.UTF-8 may be installed; None when localedef cannot make one."""
    localedef = shutil.which("localedef")
    if localedef is None or not os.path.exists("/usr/share/i18n/locales/de_DE"):
        return None
    os.makedirs(tmp, exist_ok=True)
    r = run([localedef, "-i", "de_DE", "-f", "UTF-8", os.path.join(tmp, "de_DE.UTF-8")])
    return tmp if r.returncode in (0, 1) and os.path.isdir(os.path.join(tmp, "de_DE.UTF-8")) else None


def test_catalog_shown():
    journalctl = need("journalctl")
    with tempfile.TemporaryDirectory() as tmp:
        locpath = german_locale(os.path.join(tmp, "locale"))
        if locpath is None:
            raise Skip("no German locale can be made (Debian: locales): journalctl's choice unchecked")
        catdir = os.path.join(tmp, "root", "usr", "lib", "systemd", "catalog")
        os.makedirs(catdir)
        for name in ("hale.catalog", "hale.de.catalog"):
            shutil.copy(os.path.join(SRCDIR, "data", name), catdir)
        root = os.path.join(tmp, "root")
        r = run([journalctl, "--root=" + root, "--update-catalog"])
        assert r.returncode == 0, "journalctl --update-catalog: %s" % r.stderr
        assert r.stderr.strip() == "", "journalctl --update-catalog warned:\n" + r.stderr
        env = dict(os.environ, LOCPATH=locpath, LC_ALL="de_DE.UTF-8")
        env.pop("LANGUAGE", None)
        r = run([journalctl, "--root=" + root, "--dump-catalog", "1f2d51d613b34fe28ae0d5747a3a5736"],
                env=env)
        assert r.returncode == 0, "journalctl --dump-catalog: %s" % r.stderr
        assert "Konfiguration von haled abgelehnt" in r.stdout, (
            "journalctl in de_DE.UTF-8 did not show the German entry:\n" + r.stdout)
        env["LC_ALL"] = "C.UTF-8"
        r = run([journalctl, "--root=" + root, "--dump-catalog", "1f2d51d613b34fe28ae0d5747a3a5736"],
                env=env)
        assert "haled configuration rejected" in r.stdout, "C.UTF-8: " + r.stdout


def test_policy_merged():
    if BUILD is None:
        raise Skip("HALE_BUILD_ROOT unset")
    path = os.path.join(BUILD, "data", "org.hale.Hale1.policy")
    if not os.path.exists(path):
        raise Skip("the build merged no policy (polkit.its missing: Debian polkitd)")
    with open(path) as f:
        text = f.read()
    actions = re.findall(r'<action id="([^"]+)">(.*?)</action>', text, re.S)
    assert actions, "no actions in " + path
    for action, body in actions:
        for element in ("description", "message"):
            assert re.search(r'<%s xml:lang="de">[^<]+</%s>' % (element, element), body), (
                "%s: no German <%s> in %s" % (path, element, action))


def test_halectl_german():
    halectl = os.environ.get("HALECTL")
    if not halectl or BUILD is None:
        raise Skip("halectl is not built")
    env = dict(os.environ, LANG="C.UTF-8", LANGUAGE="de", HALE_LOCALEDIR=os.path.join(BUILD, "po"))
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)
    r = run([halectl, "--help"], env=env)
    assert r.returncode == 0, r.stderr
    for want in ("Befehle:", "reload [DIENST]", "Rückgabewert:"):
        assert want in r.stdout, "halectl --help in German lacks %r:\n%s" % (want, r.stdout)
    env["LANGUAGE"] = ""
    r = run([halectl, "--help"], env=env)
    assert "Commands:" in r.stdout, "halectl --help without LANGUAGE:\n" + r.stdout


if __name__ == "__main__":
    run_tests([test_po_complete, test_po_check, test_catalog_complete, test_catalog_shown,
               test_policy_merged, test_halectl_german])
