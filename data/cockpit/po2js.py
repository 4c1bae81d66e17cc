#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""po/LANG.po -> po.LANG.js, the Cockpit page's translation.

Cockpit's bridge answers the page's request for po.js with the
package's po.LANG.js for the browser's language (the CockpitLang cookie
or Accept-Language); the file calls cockpit.locale() with
{msgid: [msgid_plural or null, msgstr...]} and a plural function, and
cockpit.gettext/ngettext look the page's strings up there. Only the
messages of the page (what xgettext finds in its JavaScript) are taken,
and not fuzzy or untranslated ones.

    po2js.py po/de.po data/cockpit/hale/hale.js po.de.js
"""

import ast
import json
import re
import subprocess
import sys
import tempfile


def parse(path):
    """[(comments, {keyword: value})] of a .po file."""
    entries = []
    comments, fields, key = [], {}, None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n") + [""]
    for line in lines:
        line = line.strip()
        if not line:
            if fields:
                entries.append((comments, fields))
            comments, fields, key = [], {}, None
            continue
        if line.startswith("#"):
            comments.append(line)
            continue
        m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$', line)
        if m:
            key = m.group(1)
            fields[key] = ast.literal_eval(m.group(2))
        elif line.startswith('"') and key:
            fields[key] += ast.literal_eval(line)
    return entries


def plural_function(header):
    m = re.search(r"plural=([^;\n]+);?", header)
    expr = m.group(1).strip() if m else "(n != 1)"
    if not re.fullmatch(r"[n0-9\s()!=<>&|?:%+-]+", expr):
        raise SystemExit("po2js: unexpected Plural-Forms expression %r" % expr)
    return "function (n) { return +(%s); }" % expr


def page_messages(js):
    """The msgids of the page's script, as xgettext (po/POTFILES.in) sees them."""
    with tempfile.NamedTemporaryFile(suffix=".pot") as pot:
        subprocess.run(["xgettext", "--from-code=UTF-8", "--language=JavaScript",
                        "--keyword=_", "--keyword=N_", "--force-po", "-o", pot.name, js], check=True)
        return {f["msgid"] for _, f in parse(pot.name) if f.get("msgid")}


def main():
    src, js, dest = sys.argv[1], sys.argv[2], sys.argv[3]
    wanted = page_messages(js)
    entries = parse(src)
    header = next((f.get("msgstr", "") for c, f in entries if f.get("msgid") == ""), "")
    lang = re.search(r"Language: (\S+)", header)
    lang = lang.group(1) if lang else src.rsplit("/", 1)[-1].split(".")[0]
    out = {}
    for comments, f in entries:
        if not f.get("msgid"):
            continue
        flags = " ".join(c for c in comments if c.startswith("#,"))
        if f["msgid"] not in wanted or "fuzzy" in flags or any(c.startswith("#~") for c in comments):
            continue
        if "msgid_plural" in f:
            forms = [f[k] for k in sorted(k for k in f if k.startswith("msgstr["))]
            if not all(forms):
                continue
            value = [f["msgid_plural"]] + forms
        else:
            if not f.get("msgstr"):
                continue
            value = [None, f["msgstr"]]
        key = f["msgid"] if "msgctxt" not in f else f["msgctxt"] + "\u0004" + f["msgid"]
        out[key] = value
    body = ",\n".join(" %s: %s" % (json.dumps(k, ensure_ascii=False), json.dumps(v, ensure_ascii=False))
                      for k, v in sorted(out.items()))
    with open(dest, "w", encoding="utf-8") as f:
        f.write("/* hale's Cockpit page in %s, made from po/%s.po by data/cockpit/po2js.py. */\n"
                % (lang, lang))
        f.write('cockpit.locale({\n "": { "plural-forms": %s, "language": %s, '
                '"language-direction": "ltr" }%s\n%s\n});\n'
                % (plural_function(header), json.dumps(lang), "," if body else "", body))


if __name__ == "__main__":
    main()
