#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for bench/run: CPU per scrape, wrk output parsing, RSS, and the
# final table. Every measurement is appended to a JSON-lines results file
# so the table is printed once, at the end, from measured numbers only.
#
#   bench.py ports N                               N free loopback ports
#   bench.py wrk RESULTS NAME CONNS FILE            parse one wrk --latency run
#   bench.py cpu RESULTS NAME PID URL K MODE GZIP   CPU per scrape (MODE: load|cold)
#   bench.py rss RESULTS NAME PID                   VmRSS now
#   bench.py series URL                             series count of one scrape
#   bench.py report RESULTS                         the table and the targets
import gzip as gz
import http.client
import json
import os
import re
import socket
import sys
import time
import urllib.parse

CLK_TCK = os.sysconf("SC_CLK_TCK")


def append(results, record):
    with open(results, "a") as f:
        f.write(json.dumps(record) + "\n")


def load(results):
    out = []
    with open(results) as f:
        for line in f:
            out.append(json.loads(line))
    return out


# --- CPU of another process -------------------------------------------------

def cpu_stat(pid):
    """utime+stime of the whole process (dead threads included), seconds.
    Resolution: one clock tick (10 ms)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_sched(pid):
    """Sum of sum_exec_runtime over the live threads, seconds. Nanosecond
    resolution, which a single cold render needs; a thread that exits
    between two readings is lost, so long windows use cpu_stat too."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    return total / 1e9


def count_series(body):
    n = 0
    for line in body.split(b"\n"):
        if line and not line.startswith(b"#"):
            n += 1
    return n


class Scraper:
    def __init__(self, url, want_gzip):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = u.hostname, u.port, u.path or "/"
        self.headers = {"Accept-Encoding": "gzip" if want_gzip else "identity"}
        self.conn = None

    def get(self):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request("GET", self.path, headers=self.headers)
                r = self.conn.getresponse()
                body = r.read()
                enc = r.getheader("Content-Encoding", "identity")
                if r.status != 200:
                    raise RuntimeError(f"{self.path}: HTTP {r.status}")
                if r.will_close:
                    self.conn.close()
                    self.conn = None
                return body, enc
            except (http.client.HTTPException, ConnectionError):
                # A server may close an idle keep-alive connection; one retry.
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def body_text(body, enc):
    return gz.decompress(body) if enc == "gzip" else body


def cmd_cpu(results, name, pid, url, k, mode, want_gzip):
    try:
        measure_cpu(results, name, pid, url, k, mode, want_gzip)
    except (OSError, http.client.HTTPException, RuntimeError) as e:
        # A server that stops answering is a finding, not a reason to lose
        # every other figure.
        append(results, {"kind": "failure", "name": name,
                         "what": f"CPU {mode} {want_gzip}: {type(e).__name__}: {e}"})
        print(f"  {name:<14} {mode:<4} {want_gzip:<8} FAILED: {type(e).__name__}: {e}")


def measure_cpu(results, name, pid, url, k, mode, want_gzip):
    pid, k, want_gzip = int(pid), int(k), want_gzip == "gzip"
    s = Scraper(url, want_gzip)
    body, enc = s.get()  # warm: connection up, series counted
    series = count_series(body_text(body, enc))
    wire = len(body)
    if mode == "load":
        # Back to back, as fast as one client goes: a server with a render
        # cache serves most of these from it.
        a_stat, a_sched = cpu_stat(pid), cpu_sched(pid)
        t0 = time.monotonic()
        for _ in range(k):
            s.get()
        wall = time.monotonic() - t0
        d_stat, d_sched = cpu_stat(pid) - a_stat, cpu_sched(pid) - a_sched
        cpu = max(d_stat, d_sched)
    else:
        # Cold: wait past the one-second render cache before each scrape
        # and time only the scrape itself.
        pause = float(os.environ.get("BENCH_COLD_PAUSE", "1.1"))
        cpu = d_stat = d_sched = 0.0
        wall = 0.0
        for _ in range(k):
            time.sleep(pause)
            a = cpu_sched(pid)
            t0 = time.monotonic()
            s.get()
            wall += time.monotonic() - t0
            d_sched += cpu_sched(pid) - a
        cpu = d_sched
    rec = {
        "kind": "cpu", "name": name, "mode": mode, "gzip_asked": want_gzip,
        "encoding": enc, "scrapes": k, "series": series, "wire_bytes": wire,
        "cpu_s": cpu, "cpu_stat_s": d_stat, "cpu_sched_s": d_sched, "wall_s": wall,
        "ms_per_scrape": cpu / k * 1e3,
        "us_per_series": cpu / k / max(series, 1) * 1e6,
    }
    append(results, rec)
    print(f"  {name:<14} {mode:<4} {'gzip' if want_gzip else 'identity':<8} "
          f"(sent {enc}): {series} series, {wire} bytes, "
          f"{rec['ms_per_scrape']:.3f} ms CPU/scrape, {rec['us_per_series']:.3f} us/series "
          f"[stat {d_stat:.3f}s sched {d_sched:.3f}s over {k} scrapes]")


# --- wrk ----------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def lat_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def cmd_wrk(results, name, conns, path):
    with open(path) as f:
        out = f.read()
    rec = {"kind": "wrk", "name": name, "conns": int(conns)}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    rec["rps"] = float(m.group(1)) if m else None
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        rec[f"p{pct}_ms"] = lat_ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    rec["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    rec["socket_errors"] = m.group(1).strip() if m else ""
    m = re.search(r"(\d+) requests in", out)
    rec["requests"] = int(m.group(1)) if m else 0
    append(results, rec)
    note = ""
    if rec["non2xx"]:
        note += f" NON-2xx={rec['non2xx']}"
    if rec["socket_errors"]:
        note += f" socket errors: {rec['socket_errors']}"
    print(f"  {name:<22} c={conns:<4} {fmt_rps(rec['rps'])} req/s  "
          f"p50 {fmt_ms(rec['p50_ms'])}  p99 {fmt_ms(rec['p99_ms'])}{note}")


# --- RSS ----------------------------------------------------------------------

def cmd_rss(results, name, pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "RssAnon:", "RssFile:")):
                fields[line.split(":")[0]] = int(line.split()[1])
    # Pss shares library pages among the processes mapping them; VmRSS
    # counts every shared library page in full.
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    fields["Pss"] = int(line.split()[1])
    except OSError:
        pass
    kb = fields["VmRSS"]
    append(results, {"kind": "rss", "name": name, "kb": kb, "anon_kb": fields.get("RssAnon"),
                     "file_kb": fields.get("RssFile"), "pss_kb": fields.get("Pss")})
    print(f"  {name:<22} VmRSS {kb / 1024:.1f} MiB (anon {fields.get('RssAnon', 0) / 1024:.1f}, "
          f"file {fields.get('RssFile', 0) / 1024:.1f}, Pss {fields.get('Pss', 0) / 1024:.1f})")


# --- report -------------------------------------------------------------------

def fmt_s(v):
    try:
        return f"{float(v):.1f}"
    except ValueError:
        return v


def fmt_rps(v):
    return f"{v:>9,.0f}" if v is not None else f"{'-':>9}"


def fmt_ms(v):
    if v is None:
        return f"{'-':>8}"
    return f"{v:>6.3f}ms" if v < 10 else f"{v:>6.1f}ms"


def cmd_report(results):
    recs = load(results)
    wrk = {(r["name"], r["conns"]): r for r in recs if r["kind"] == "wrk"}
    cpu = {(r["name"], r["mode"], r["gzip_asked"]): r for r in recs if r["kind"] == "cpu"}
    rss = {r["name"]: r["kb"] for r in recs if r["kind"] == "rss"}
    rss_detail = {r["name"]: r for r in recs if r["kind"] == "rss"}
    meta = {r["key"]: r["value"] for r in recs if r["kind"] == "meta"}

    names = []
    for r in recs:
        if r["kind"] == "wrk" and r["name"] not in names:
            names.append(r["name"])
    conns = sorted({c for (_, c) in wrk})

    print()
    print("=" * 100)
    print(f"hale benchmark  ({meta.get('when', '')}; {meta.get('cpu', '')}; "
          f"{meta.get('seconds', '?')} s per wrk run; server on core 0, client on core 1)")
    print("=" * 100)
    print()
    print("HTTP throughput and latency (wrk --latency; haled with the small config: "
          f"{meta.get('small_series', '?')} series, /health {meta.get('health_bytes', '?')} bytes)")
    head = f"{'':<24}" + "".join(f"| {'c=' + str(c):^30}" for c in conns)
    print(head)
    print(f"{'':<24}" + "".join(f"| {'req/s':>9} {'p50':>9} {'p99':>9} " for _ in conns))
    print("-" * len(head))
    for n in names:
        line = f"{n:<24}"
        flag = ""
        for c in conns:
            r = wrk.get((n, c))
            if r is None:
                line += f"| {'-':>9} {'-':>9} {'-':>9} "
                continue
            line += f"| {fmt_rps(r['rps'])} {fmt_ms(r['p50_ms'])} {fmt_ms(r['p99_ms'])} "
            if r["non2xx"]:
                flag += f"  (!) c={c}: {r['non2xx']} of {r['requests']} answers not 2xx"
            if r["socket_errors"]:
                flag += f"  (!) c={c}: socket errors {r['socket_errors']}"
        print(line + flag)

    print()
    print("CPU per scrape (server process utime+stime / schedstat; scrapes over one keep-alive connection)")
    print(f"{'':<56}{'series':>8} {'bytes':>10} {'ms/scrape':>10} {'us/series':>10}")
    print("-" * 96)
    labels = {
        ("load", False): "back-to-back, identity",
        ("load", True): "back-to-back, gzip",
        ("cold", False): "cold render (>1 s apart), identity",
        ("cold", True): "cold render (>1 s apart), gzip",
    }
    cpu_names = []
    for r in recs:
        if r["kind"] == "cpu" and r["name"] not in cpu_names:
            cpu_names.append(r["name"])
    for n in cpu_names:
        for (mode, g), label in labels.items():
            r = cpu.get((n, mode, g))
            if r is None:
                continue
            enc = "" if not g or r["encoding"] == "gzip" else "  (server did not gzip)"
            print(f"{n + ': ' + label:<56}{r['series']:>8} {r['wire_bytes']:>10} "
                  f"{r['ms_per_scrape']:>10.3f} {r['us_per_series']:>10.3f}{enc}")
    print("  back-to-back: haled may answer from its render cache (rebuilt at most once a")
    print("  second while time-dependent series exist); node_exporter renders every scrape.")
    print("  cold: each scrape is 1.1 s after the last, so every one is a full render.")

    if "many_start_s" in meta:
        print(f"  haled with {meta.get('haled_cpu_name', '').split()[1]} certificates: start to a full /metrics in "
              f"{fmt_s(meta['many_start_s'])} s; CertificateRecheckInterval: {meta.get('recheck', '?')}")
    print()
    print(f"Idle RSS (VmRSS), {meta.get('idle_wait', '?')} s after the load ended")
    print(f"  {'':<40}{'VmRSS':>10}{'of it anon':>12}{'file':>8}{'Pss':>8}")
    for n, kb in rss.items():
        d = rss_detail[n]
        mib = lambda v: f"{v / 1024:.1f}" if v is not None else "-"
        print(f"  {n:<40}{mib(kb):>6} MiB{mib(d.get('anon_kb')):>12}{mib(d.get('file_kb')):>8}"
              f"{mib(d.get('pss_kb')):>8}")
    print("  (file: library and binary pages, shared with every other process mapping them)")

    failures = [r for r in recs if r["kind"] == "failure"]
    if failures:
        print()
        print("Failures")
        for r in failures:
            print(f"  {r['name']}: {r['what']}")

    # Targets, from the numbers above.
    print()
    print("Targets")
    verdicts = []

    def verdict(label, ok, detail):
        if ok is None:
            verdicts.append(None)
            print(f"  [ N/A ] {label}: {detail}")
            return
        verdicts.append(ok)
        print(f"  [{'PASS' if ok else 'MISS'}]  {label}: {detail}")

    h, ng = wrk.get(("haled /health", 1)), wrk.get(("nginx /health copy", 1))
    if h and ng and h["rps"] and ng["rps"]:
        ratio = h["rps"] / ng["rps"]
        verdict("/health at 1 connection >= 0.9x nginx", ratio >= 0.9,
                f"{h['rps']:,.0f} vs {ng['rps']:,.0f} req/s = {ratio:.2f}x")
    else:
        verdict("/health at 1 connection >= 0.9x nginx", None, "not measured")

    for ep in ("haled /health", "haled /metrics"):
        r = wrk.get((ep, 100))
        if r and r["p99_ms"] is not None:
            ref = wrk.get((ep.replace("haled", "nginx") + " copy", 100))
            ctx = f" (nginx, same bytes: {ref['p99_ms']:.3f} ms)" if ref and ref["p99_ms"] else ""
            verdict(f"{ep} p99 at 100 connections < 5 ms", r["p99_ms"] < 5.0,
                    f"{r['p99_ms']:.3f} ms{ctx}")
        else:
            verdict(f"{ep} p99 at 100 connections < 5 ms", None, "not measured")

    ne_name = meta.get("ne_name", "node_exporter")
    ha_name = meta.get("haled_cpu_name", "haled 10k certs")
    for mode, g, what in (("cold", False, "per render, identity"),
                          ("cold", True, "per render, gzip"),
                          ("load", False, "back-to-back, identity"),
                          ("load", True, "back-to-back, gzip")):
        ha = cpu.get((ha_name, mode, g))
        # node_exporter renders every scrape: its back-to-back figure is its
        # per-render cost too, and the steadier one, so it is the reference.
        ne = cpu.get((ne_name, "load", g))
        if ha and ne and ha["us_per_series"] > 0:
            ratio = ne["us_per_series"] / ha["us_per_series"]
            verdict(f"CPU per series >= 10x less than node_exporter ({what})", ratio >= 10,
                    f"{ha['us_per_series']:.3f} vs {ne['us_per_series']:.3f} us/series = {ratio:.1f}x less")
        else:
            verdict(f"CPU per series >= 10x less than node_exporter ({what})", None, "not measured")

    ne_rss = rss.get(ne_name + " after load")
    for n, kb in rss.items():
        if not n.startswith("haled") or "after load" not in n:
            continue
        if ne_rss:
            pss, ne_pss = rss_detail[n].get("pss_kb"), rss_detail[ne_name + " after load"].get("pss_kb")
            extra = f"; Pss {pss / ne_pss:.2f}x" if pss and ne_pss else ""
            verdict(f"idle RSS after load <= 1/3 of node_exporter ({n})", kb * 3 <= ne_rss,
                    f"VmRSS {kb / 1024:.1f} vs {ne_rss / 1024:.1f} MiB = {kb / ne_rss:.2f}x{extra}")
    print()
    missed = sum(1 for v in verdicts if v is False)
    print(f"{sum(1 for v in verdicts if v)} passed, {missed} missed, "
          f"{sum(1 for v in verdicts if v is None)} not measured")


def cmd_ports(n):
    socks = []
    for _ in range(int(n)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


def cmd_series(url, prefix=None):
    body, enc = Scraper(url, False).get()
    text = body_text(body, enc)
    if prefix is None:
        print(count_series(text))
    else:
        p = prefix.encode()
        print(sum(1 for line in text.split(b"\n") if line.startswith(p + b"{") or line.startswith(p + b" ")))


def cmd_meta(results, key, value):
    append(results, {"kind": "meta", "key": key, "value": value})


def main(argv):
    cmds = {"cpu": cmd_cpu, "wrk": cmd_wrk, "rss": cmd_rss, "report": cmd_report,
            "ports": cmd_ports, "series": cmd_series, "meta": cmd_meta}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__ or "usage: see the header of bench/bench.py", file=sys.stderr)
        return 2
    cmds[argv[1]](*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
