#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The journal catalogs (data/hale*.catalog) against the code's events.

journalctl -x replaces @FIELD@ with the entry's field of that name, and
prints the bare name where the entry has no such field. So every
@FIELD@ of an entry must be a field that every emitter of its
MESSAGE_ID always sends. Which fields those are is read from the
sources, not from a list kept here:

- src/daemon/hale-audit.c, send_to_journal(): which HaleAuditEvent
  member becomes which field, and which fields are always sent;
- each function under src/ that names HALE_MESSAGE_ID_X (or the helper
  holding the HaleAuditEvent it calls): the members and "extra" keys it
  sets unconditionally (in the function's own block or in the block
  that sets that MESSAGE_ID) to a value that cannot be NULL or -1.

Also: journalctl --update-catalog takes the catalogs without a single
warning, every MESSAGE_ID of hale-names.h has an entry in each catalog,
and every entry names the manual to read (Documentation: man:...), as
systemd's own catalog does. tests/integration/test_journal_events.py
checks the same against haled's real journal entries and journalctl -x.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

SRCDIR = os.environ.get("HALE_TEST_SRCDIR") or os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(SRCDIR, ".."))
DATA = os.path.join(TOP, "data")
SRC = os.path.join(TOP, "src")
NAMES_H = os.path.join(SRC, "common", "hale-names.h")
AUDIT_C = os.path.join(SRC, "daemon", "hale-audit.c")
CATALOGS = ["hale.catalog", "hale.de.catalog"]
MANPAGES = {"haled(8)", "halectl(1)", "hale.conf(5)"}


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taprun import Skip, run as run_tests  # noqa: E402


def read(path):
    with open(path) as f:
        return f.read()


def names():
    """({macro: value} of hale-names.h, {MESSAGE_ID macro suffix: id})."""
    text = read(NAMES_H)
    macros = dict(re.findall(r'#define (HALE_\w+)\s+"([^"]*)"', text))
    ids = {m[len("HALE_MESSAGE_ID_"):]: v for m, v in macros.items()
           if m.startswith("HALE_MESSAGE_ID_")}
    assert ids, "no MESSAGE_IDs in " + NAMES_H
    return macros, ids


def catalog(name):
    """{MESSAGE_ID: {"headers": [(key, value)], "body": str}} of one
    catalog file; its language is its file name's, as journalctl takes it."""
    path = os.path.join(DATA, name)
    entries = {}
    parts = re.split(r"^-- ([0-9a-f]{32})(.*)\n", read(path), flags=re.M)
    for i in range(1, len(parts), 3):
        mid, rest, text = parts[i], parts[i + 1], parts[i + 2]
        assert rest.strip() == "", (
            "%s: entry %s names a language (%r) on its header line: journalctl takes it from "
            "the file name and warns" % (name, mid, rest.strip()))
        assert mid not in entries, "%s: %s twice" % (name, mid)
        lines = text.split("\n")
        headers = []
        while lines and lines[0]:
            key, _, value = lines.pop(0).partition(": ")
            headers.append((key, value))
        entries[mid] = {"headers": headers, "body": "\n".join(lines)}
    return entries


def placeholders(entry):
    """@FIELD@ names of an entry's headers (Subject) and body."""
    text = "\n".join(v for _, v in entry["headers"]) + "\n" + entry["body"]
    return set(re.findall(r"@([A-Za-z0-9_]+)@", text))


# --- what the code sends --------------------------------------------------------------

def functions(text):
    """[(name, body lines)] of the top-level C functions in @text (GNU
    style: the name at column 0, braces at column 0)."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^([a-z_][a-z0-9_]*) \(", lines[i])
        if m:
            j = i
            while j < len(lines) and lines[j] != "{":
                j += 1
            k = j
            while k < len(lines) and lines[k] != "}":
                k += 1
            out.append((m.group(1), lines[j + 1:k]))
            i = k
        i += 1
    return out


def indent(line):
    return len(line) - len(line.lstrip(" "))


def maybe_missing(value):
    """Whether an expression may leave its field out: NULL (add_field
    skips it), -1 (add_int_field does), or a variable that holds an
    error only on failure. Of a conditional, only the branches count."""
    value = value.strip()
    m = re.fullmatch(r"[^?]+\?(.+?):(.+)", value)
    if m:
        return maybe_missing(m.group(1)) or maybe_missing(m.group(2))
    return bool(re.search(r"\bNULL\b|^-1$|\berrors?\b|->error\b", value))


def member_fields(macros):
    """{HaleAuditEvent member: journal field} and the fields every event
    carries, from send_to_journal()."""
    text = read(AUDIT_C)
    body = dict(functions(text))["send_to_journal"]
    members = {}
    always = set()

    def field_name(token):
        return macros.get(token, token.strip('"'))

    for ind, line in statements(body):
        m = re.search(r'add_(?:int_)?field \(&f, (\w+|"\w+"),\s*(.+)\);', line)
        if not m:
            continue
        field, value = field_name(m.group(1)), m.group(2).strip()
        mm = re.fullmatch(r"event->(\w+)", value)
        if mm:
            members[mm.group(1)] = field
        elif ind == 2 and (not re.search(r"\w+->", value)
                           or re.fullmatch(r"actor && actor->\w+ \? actor->\w+ : [^?]+", value)):
            # A constant, or the actor's with haled's own as the default.
            always.add(field)
    # hale_audit_emit() refuses an event without these.
    emit = dict(functions(text))["hale_audit_emit"]
    required = set(re.findall(r"event->(\w+) != NULL", "\n".join(emit)))
    for member in required:
        if member in members:
            always.add(members[member])
    for need in ("message", "message_id", "event", "outcome", "resource_id", "error"):
        assert need in members, "send_to_journal() no longer sends event->%s?" % need
    return members, always


def opens_block(s):
    """"{", "if (...) {" and the like; not an initializer's "= {"."""
    return s.endswith("{") and not re.search(r"[^=!<>]=\s*\{$", s)


def statements(lines):
    """[(indent of its first line, text)] of each statement, comments
    removed and continuation lines joined: a statement ends at ";", or
    where a block opens or closes."""
    text = re.sub(r"/\*.*?\*/", "", "\n".join(lines), flags=re.S)
    out = []
    cur = None
    for line in text.split("\n"):
        if not line.strip():
            continue
        if cur is None:
            cur = [indent(line), line.strip()]
        else:
            cur[1] += " " + line.strip()
        if cur[1].endswith(";") or cur[1] == "}" or opens_block(cur[1]):
            out.append(tuple(cur))
            cur = None
    if cur:
        out.append(tuple(cur))
    return out


def pairs(text):
    """Splits an initializer's inside at its top-level commas."""
    items, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        items.append(cur.strip())
    return items


def extras_sure(text):
    """"key", value pairs of an extra[] initializer: the keys whose value
    is sure to be there. The journal loop stops at the first NULL, so
    nothing after a conditional key is sure either."""
    items = pairs(text)
    sure = set()
    for k in range(0, len(items) - 1, 2):
        key, value = items[k], items[k + 1]
        if not re.fullmatch(r'"\w+"', key):
            break
        if maybe_missing(value):
            break
        sure.add(key.strip('"'))
    return sure


def sure_fields(body, message_id, members):
    """Fields one emitter function surely sets for @message_id: in the
    function's own block or in the block that sets this MESSAGE_ID."""
    # Each statement's block, as the path of the blocks it is in.
    stmts = []
    path, counter = [0], 0
    for ind, s in statements(body):
        if opens_block(s):
            counter += 1
            path = path + [counter]
        elif s == "}":
            path = path[:-1]
        else:
            stmts.append((tuple(path), s))
    sure_blocks = {(0,)}
    for block, s in stmts:
        if message_id in s:
            sure_blocks |= {block[:i] for i in range(1, len(block) + 1)}
    fields = set()
    for block, s in stmts:
        if block not in sure_blocks:
            continue
        m = re.match(r"(?:const )?HaleAuditEvent \w+ = \{(.*)\};$", s)
        if m:
            for item in pairs(m.group(1)):
                mm = re.fullmatch(r"\.(\w+) = (.+)", item)
                if mm and mm.group(1) in members and not maybe_missing(mm.group(2)):
                    fields.add(members[mm.group(1)])
            continue
        m = re.match(r"\w+\.(\w+) = (.+);$", s)
        if m and m.group(1) in members and not maybe_missing(m.group(2)):
            fields.add(members[m.group(1)])
        m = re.match(r"(?:const )?char \*(?:const )?extra\[\d*\]\s*=\s*\{(.*)\};$", s)
        if m:
            fields |= {"HALE_" + k.upper() for k in extras_sure(m.group(1))}
        m = re.match(r'extra\[n\+\+\] = "(\w+)";$', s)
        if m:
            fields.add("HALE_" + m.group(1).upper())
    return fields


def emitters(suffix):
    """[(file, function body)] that emit HALE_MESSAGE_ID_<suffix>: the
    function naming it, or, where that one hands it to a helper, the
    helper that fills the HaleAuditEvent."""
    macro = "HALE_MESSAGE_ID_" + suffix
    found = []
    for root, _, files in os.walk(SRC):
        for name in files:
            if not name.endswith(".c"):
                continue
            path = os.path.join(root, name)
            text = read(path)
            if macro not in text:
                continue
            funcs = functions(text)
            for fname, body in funcs:
                joined = "\n".join(body)
                if macro not in joined:
                    continue
                if "HaleAuditEvent" in joined:
                    found.append((os.path.relpath(path, TOP), fname, body, macro))
                    continue
                for helper, hbody in funcs:
                    hjoined = "\n".join(hbody)
                    if (re.search(r"\b%s \(" % helper, joined) and "HaleAuditEvent" in hjoined
                            and re.search(r"\.message_id = message_id", hjoined)):
                        found.append((os.path.relpath(path, TOP), helper, hbody, "message_id"))
    return found


def carried(suffix, members, always):
    """Fields every event of HALE_MESSAGE_ID_<suffix> carries."""
    found = emitters(suffix)
    assert found, "nothing under src/ emits HALE_MESSAGE_ID_%s" % suffix
    result = None
    for path, fname, body, mid in found:
        sure = always | sure_fields(body, mid, members)
        result = sure if result is None else result & sure
    return result, ["%s:%s()" % (p, f) for p, f, _, _ in found]


# --- tests -----------------------------------------------------------------------------

def test_every_event_has_entries():
    _, ids = names()
    for name in CATALOGS:
        entries = catalog(name)
        missing = sorted(s for s, mid in ids.items() if mid not in entries)
        unknown = sorted(set(entries) - set(ids.values()))
        assert not missing, "%s has no entry for %s" % (name, missing)
        assert not unknown, "%s has entries of no MESSAGE_ID of hale-names.h: %s" % (name, unknown)


def test_fields_carried():
    macros, ids = names()
    members, always = member_fields(macros)
    print("# always sent: %s" % ", ".join(sorted(always)))
    problems = []
    for suffix, mid in sorted(ids.items()):
        fields, where = carried(suffix, members, always)
        print("# %s (%s): %s" % (suffix, ", ".join(where), ", ".join(sorted(fields))))
        for name in CATALOGS:
            entry = catalog(name).get(mid)
            if entry is None:
                continue
            for field in sorted(placeholders(entry) - fields):
                problems.append("%s, entry %s (%s): @%s@ is not a field every such event "
                                "carries (they carry %s)"
                                % (name, mid, suffix, field, ", ".join(sorted(fields))))
    assert not problems, "\n".join(problems)


def installed_docs():
    """The pages docs/meson.build installs into /usr/share/doc/hale."""
    text = read(os.path.join(TOP, "docs", "meson.build"))
    m = re.search(r"install_data\(([^)]*)install_dir: datadir / 'doc'", text, re.S)
    return set(re.findall(r"'([\w.-]+\.md)'", m.group(1) if m else ""))


def test_entries_name_the_manual():
    problems = []
    for name in CATALOGS:
        for mid, entry in catalog(name).items():
            keys = [k for k, _ in entry["headers"]]
            for need in ("Subject", "Defined-By", "Documentation"):
                if need not in keys:
                    problems.append("%s %s: no %s: header" % (name, mid, need))
            docs = [v for k, v in entry["headers"] if k == "Documentation"]
            mans = [d[len("man:"):] for d in docs if d.startswith("man:")]
            if not mans:
                problems.append("%s %s: no Documentation: man:... line" % (name, mid))
            for page in mans:
                if page.split("(")[0] in ("haled", "halectl", "hale.conf") and page not in MANPAGES:
                    problems.append("%s %s: man:%s is not one of hale's pages %s"
                                    % (name, mid, page, sorted(MANPAGES)))
            for d in docs:
                m = re.match(r"file:///usr/share/doc/hale/(.+)", d)
                if m and m.group(1) not in installed_docs():
                    problems.append("%s %s: %s is not installed (docs/meson.build)" % (name, mid, d))
                if not re.match(r"(man:[\w.-]+\(\d\)|file:///usr/share/doc/hale/[\w.-]+|https?://)", d):
                    problems.append("%s %s: Documentation: %r is no man: or file: URI" % (name, mid, d))
            if len(entry["body"].split()) < 25:
                problems.append("%s %s: the text says too little to act on" % (name, mid))
    assert not problems, "\n".join(problems)


def test_update_catalog_quiet():
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        raise Skip("journalctl is not installed")
    _, ids = names()
    with tempfile.TemporaryDirectory() as root:
        catdir = os.path.join(root, "usr", "lib", "systemd", "catalog")
        os.makedirs(catdir)
        for name in CATALOGS:
            shutil.copy(os.path.join(DATA, name), catdir)
        r = subprocess.run([journalctl, "--root=" + root, "--update-catalog"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, "journalctl --update-catalog failed: %s" % r.stderr
        assert r.stderr.strip() == "", "journalctl --update-catalog warned:\n" + r.stderr
        r = subprocess.run([journalctl, "--root=" + root, "--list-catalog"],
                           capture_output=True, text=True, timeout=30)
        listed = set(line.split()[0] for line in r.stdout.splitlines() if line.strip())
        missing = sorted(set(ids.values()) - listed)
        assert not missing, "journalctl --list-catalog lacks %s" % missing


if __name__ == "__main__":
    run_tests([test_every_event_has_entries, test_fields_carried, test_entries_name_the_manual,
               test_update_catalog_quiet])
