#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The tree is the architecture (docs/architecture.md): this test holds
src/ to the rules that page states, so the folders cannot drift from it.

  common/          includes only common/
  cli/             includes only common/ and cli/ (halectl links no daemon)
  daemon/model/    includes only common/ and model/
  daemon/sources/  includes no face
  daemon/ core     includes no source and no face, but for the wiring
                   (hale-daemon.c, haled.c)

and every file under src/ carries its SPDX line and is built."""
import os
import re
import sys

SRCDIR = os.environ.get("HALE_TEST_SRCDIR") or os.path.join(os.path.dirname(__file__), "..")
TOP = os.path.abspath(os.path.join(SRCDIR, ".."))
SRC = os.path.join(TOP, "src")
WIRING = {"daemon/hale-daemon.c", "daemon/haled.c"}
# Headers that meson generates or configures, linked by both sides.
GENERATED = {"config.h": "common", "hale-dbus-generated.h": "common"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

results = []


def check(name, problems):
    results.append((name, problems))


def layer(rel):
    """common, cli, core, model, sources or faces."""
    parts = rel.split("/")
    if parts[0] in ("common", "cli"):
        return parts[0]
    if len(parts) == 2:
        return "core"
    return parts[1]


files = {}
for top, _dirs, names in os.walk(SRC):
    for n in names:
        rel = os.path.relpath(os.path.join(top, n), SRC)
        files[rel] = open(os.path.join(top, n), encoding="utf-8").read()

headers = {}
for rel in files:
    if rel.endswith(".h"):
        base = os.path.basename(rel)
        if base in headers:
            check("one header of each name", ["%s and %s" % (headers[base], rel)])
        headers[base] = rel

allowed = {
    "common": {"common"},
    "cli": {"common", "cli"},
    "model": {"common", "model"},
    "sources": {"common", "core", "model", "sources"},
    "core": {"common", "core", "model"},
    "faces": {"common", "core", "model", "sources", "faces"},
}

problems = []
for rel, text in sorted(files.items()):
    if not rel.endswith((".c", ".h")):
        continue
    mine = layer(rel)
    for inc in INCLUDE.findall(text):
        if inc in GENERATED:
            theirs = GENERATED[inc]
        elif inc in headers:
            theirs = layer(headers[inc])
        else:
            problems.append("%s includes \"%s\", which is not under src/" % (rel, inc))
            continue
        if rel in WIRING:
            continue
        if theirs not in allowed[mine]:
            problems.append("%s (%s) includes %s (%s)" % (rel, mine, inc, theirs))
check("includes follow sources -> model -> faces, cli apart", problems)

check("every file under src/ starts with its SPDX line",
      [rel for rel, text in sorted(files.items())
       if rel.endswith((".c", ".h", "meson.build"))
       and "SPDX-License-Identifier: LGPL-2.1-or-later" not in text.split("\n", 1)[0]])



def built(rel):
    """Whether the nearest meson.build above rel names it."""
    d = os.path.dirname(rel)
    while True:
        build = os.path.join(d, "meson.build") if d else "meson.build"
        if build in files:
            return "'%s'" % os.path.relpath(rel, d or ".") in files[build]
        if not d:
            return False
        d = os.path.dirname(d)


check("every .c under src/ is built", [rel for rel in sorted(files) if rel.endswith(".c") and not built(rel)])

check("no comment points outside the repository",
      [rel for rel, text in sorted(files.items()) if "../shared" in text])

check("COPYING is at the top", [] if os.path.isfile(os.path.join(TOP, "COPYING")) else ["no COPYING"])

print("1..%d" % len(results))
failed = 0
for i, (name, probs) in enumerate(results, 1):
    if probs:
        failed += 1
        print("not ok %d - %s" % (i, name))
        for p in probs:
            print("#   %s" % p)
    else:
        print("ok %d - %s" % (i, name))
sys.exit(1 if failed else 0)
