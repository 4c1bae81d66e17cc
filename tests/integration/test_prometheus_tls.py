#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real Prometheus scrapes haled the three ways an operator sets it up:
plain HTTP, HTTPS with a bearer token, HTTPS with basic auth; and a job
without credentials fails with a 401. Everything is checked through
Prometheus' HTTP API, as an operator's dashboard would see it."""

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, log  # noqa: E402

P = halectx.require("haled", "mkcert", "dbus-daemon", "busctl")

DAYS = 30
TOKEN = "prometheus-scrape-token-0123456789"
USER, PASSWORD = "prometheus", "correct horse battery staple"


def bcrypt(password):
    """A $2b$ hash as htpasswd -B writes it (Python's crypt is libxcrypt)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 5))
    check(hashed and hashed.startswith("$2"), "crypt gave no bcrypt hash: %r" % hashed)
    return hashed


class TlsHale(halectx.Hale):
    """haled whose metrics listener wants TLS and credentials: readiness
    is an authenticated HTTPS scrape."""

    ca_path = None

    def http_answers(self):
        ctx = ssl.create_default_context(cafile=self.ca_path)
        req = urllib.request.Request("https://127.0.0.1:%d/metrics" % self.metrics_port,
                                     headers={"Authorization": "Bearer " + TOKEN})
        with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
            return r.status == 200


def https_get(h, path, headers=None):
    ctx = ssl.create_default_context(cafile=h.ca_path)
    req = urllib.request.Request("https://127.0.0.1:%d%s" % (h.metrics_port, path),
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_prometheus_plain_tls_bearer_basic():
    prometheus = halectx.program(None, "prometheus")
    with halectx.Hale(P, "prom-plain") as plain, TlsHale(P, "prom-tls") as secure:
        # haled over plain HTTP, as before.
        plain_cert = plain.mkcert("current.pem", "a11ce0", days=DAYS)
        plain.start_haled(lambda: plain.config_text([("current", plain_cert)]))

        # haled over TLS: its serving certificate (with an IP SAN, since
        # Go checks names only there) is also the [Certificate] it watches.
        ca = os.path.join(secure.certdir, "ca.pem")
        key = os.path.join(secure.certdir, "key.pem")
        cert = os.path.join(secure.certdir, "current.pem")
        r = subprocess.run([P["mkcert"], "--out", cert, "--key-out", key, "--chain-ca",
                            "--ca-out", ca, "--san", "127.0.0.1", "--days", str(DAYS),
                            "--serial", "5ec0de"], capture_output=True, text=True)
        check(r.returncode == 0, "hale-mkcert: %s" % r.stderr)
        secure.ca_path = ca
        token_file = os.path.join(secure.tmp, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        users_file = os.path.join(secure.tmp, "users")
        with open(users_file, "w") as f:
            f.write("%s:%s\n" % (USER, bcrypt(PASSWORD)))
        os.chmod(token_file, 0o600)

        def secure_config():
            text = secure.config_text([("current", cert)])
            return text.replace(
                "[Monitoring]\n",
                "[Monitoring]\nMetricsTLSCertificate=%s\nMetricsTLSKey=%s\n"
                "MetricsTLSMinVersion=1.3\nMetricsBearerTokenFile=%s\n"
                "MetricsBasicAuthUsers=%s\n" % (cert, key, token_file, users_file), 1)
        secure.start_haled(secure_config)

        # What curl would see first.
        status, headers, _ = https_get(secure, "/metrics")
        check_equal(status, 401, "HTTPS /metrics without credentials")
        check("Bearer" in headers.get("WWW-Authenticate", ""),
              "WWW-Authenticate on the 401: %r" % headers)
        status, _, _ = https_get(secure, "/metrics", {"Authorization": "Bearer " + TOKEN})
        check_equal(status, 200, "HTTPS /metrics with the token")
        status, _, body = secure.http_get("/health")
        check_equal(status, 200, "plain /health on the health listener (HealthAuth=none)")

        prom_port = halectx.free_port()
        conf = os.path.join(secure.tmp, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: plain
    static_configs:
      - targets: ['127.0.0.1:%(plain)d']
  - job_name: tls-bearer
    scheme: https
    tls_config:
      ca_file: %(ca)s
    authorization:
      credentials_file: %(token)s
    static_configs:
      - targets: ['127.0.0.1:%(tls)d']
  - job_name: tls-basic
    scheme: https
    tls_config:
      ca_file: %(ca)s
    basic_auth:
      username: %(user)s
      password: '%(password)s'
    static_configs:
      - targets: ['127.0.0.1:%(tls)d']
  - job_name: tls-anonymous
    scheme: https
    tls_config:
      ca_file: %(ca)s
    static_configs:
      - targets: ['127.0.0.1:%(tls)d']
""" % {"plain": plain.metrics_port, "tls": secure.metrics_port, "ca": ca, "token": token_file,
       "user": USER, "password": PASSWORD})
        plog_path = os.path.join(secure.tmp, "prometheus.log")
        plog = open(plog_path, "wb")
        proc = subprocess.Popen(
            [prometheus, "--config.file=" + conf,
             "--storage.tsdb.path=" + os.path.join(secure.tmp, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % prom_port, "--log.level=warn"],
            stdout=plog, stderr=plog, stdin=subprocess.DEVNULL)
        plog.close()
        try:
            def api(path, **params):
                url = "http://127.0.0.1:%d/api/v1/%s?%s" % (prom_port, path,
                                                           urllib.parse.urlencode(params))
                with urllib.request.urlopen(url, timeout=5) as r:
                    return json.load(r)["data"]

            def query(q):
                return api("query", query=q)["result"]

            def log_text():
                with open(plog_path, errors="replace") as f:
                    return "prometheus log:\n" + f.read()[-4000:]

            def targets():
                return {t["labels"]["job"]: t for t in api("targets")["activeTargets"]}

            def all_scraped():
                t = targets()
                return (len(t) == 4 and all(t[j]["health"] == "up"
                                            for j in ("plain", "tls-bearer", "tls-basic"))
                        and t["tls-anonymous"]["health"] == "down") and t

            t, took = halectx.wait_until(all_scraped, 30, "Prometheus to scrape all four jobs",
                                         interval=0.2, on_timeout=lambda: log_text() + "\ntargets: %r" % (
                                             api("targets")["activeTargets"],))
            log("Prometheus scraped every job %.2f s after start" % took)
            for job in ("plain", "tls-bearer", "tls-basic"):
                check(not t[job]["lastError"], "job %s: lastError %r" % (job, t[job]["lastError"]))
            err = t["tls-anonymous"]["lastError"]
            log("tls-anonymous lastError: %s" % err)
            check("401" in err, "job tls-anonymous: lastError %r, want a 401" % err)
            check(t["tls-bearer"]["scrapeUrl"].startswith("https://"),
                  "tls-bearer scrapes %r" % t["tls-bearer"]["scrapeUrl"])

            for job in ("plain", "tls-bearer", "tls-basic"):
                res = query('hale_up{job="%s"}' % job)
                check(len(res) == 1 and res[0]["value"][1] == "1",
                      "hale_up for job %s: %r" % (job, res))
                res = query('hale_certificate_expiry_seconds{job="%s",type="current"}' % job)
                check(len(res) == 1 and abs(float(res[0]["value"][1]) - DAYS * 86400) < 300,
                      "hale_certificate_expiry_seconds for job %s: %r" % (job, res))
            res = query('up{job="tls-anonymous"}')
            check(len(res) == 1 and res[0]["value"][1] == "0", "up of tls-anonymous: %r" % res)
            res = query('hale_certificate_info{job="tls-bearer",type="current"}')
            check(len(res) == 1 and res[0]["metric"].get("serial") == "5ec0de",
                  "the serving certificate's serial, as hale watches it: %r" % res)
            # The refused scrapes are counted, on the TLS haled only.
            res, _ = halectx.wait_until(
                lambda: [r for r in query('hale_http_auth_failures_total{job="tls-bearer"}')
                         if float(r["value"][1]) >= 1], 15,
                "hale_http_auth_failures_total to count the anonymous scrapes",
                interval=0.2)
            check_equal(res[0]["metric"].get("listener"), "metrics", "listener label")
            res = query('hale_http_auth_failures_total{job="plain"}')
            check(res == [], "plain haled has no auth, so no failures series: %r" % res)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        secure.stop_haled()
        plain.stop_haled()


def test_tls_closed_connections_free_their_descriptors():
    """Clients that end a kept-alive TLS connection, with a close_notify
    alert (as Go does) or without, leave no descriptor behind."""
    with TlsHale(P, "tls-close") as h:
        ca = os.path.join(h.certdir, "ca.pem")
        key = os.path.join(h.certdir, "key.pem")
        cert = os.path.join(h.certdir, "cert.pem")
        r = subprocess.run([P["mkcert"], "--out", cert, "--key-out", key, "--chain-ca",
                            "--ca-out", ca, "--san", "127.0.0.1"], capture_output=True, text=True)
        check(r.returncode == 0, "hale-mkcert: %s" % r.stderr)
        h.ca_path = ca
        token_file = os.path.join(h.tmp, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN)
        h.start_haled(lambda: h.config_text().replace(
            "[Monitoring]\n", "[Monitoring]\nMetricsTLSCertificate=%s\nMetricsTLSKey=%s\n"
            "MetricsBearerTokenFile=%s\n" % (cert, key, token_file), 1))
        pid = h.haled.pid
        fds = lambda: len(os.listdir("/proc/%d/fd" % pid))
        before = fds()
        ctx = ssl.create_default_context(cafile=ca)
        request = ("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n"
                   % TOKEN).encode()
        for i in range(40):
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", h.metrics_port)),
                                server_hostname="127.0.0.1")
            s.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            check(data.startswith(b"HTTP/1.1 200"), "answer %d: %r" % (i, data[:40]))
            time.sleep(0.02)  # idle, kept alive
            try:
                raw = s.unwrap() if i % 2 == 0 else s  # close_notify, then FIN
            except ssl.SSLError:
                raw = s
            raw.close()
        _, took = halectx.wait_until(lambda: fds() <= before + 2, timeout=25,
                                     what="haled to close the 40 ended TLS connections "
                                     "(%d descriptors before, %d now)" % (before, fds()),
                                     interval=0.2)
        log("40 ended TLS connections: descriptors back to %d within %.1f s" % (fds(), took))
        h.stop_haled()


if __name__ == "__main__":
    halectx.run([test_prometheus_plain_tls_bearer_basic,
                 test_tls_closed_connections_free_their_descriptors])
