/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-http-tls.c: TLS and authentication on the HTTP faces, over
 * loopback, with a test CA made on the spot. The client is libsoup in
 * the same process, and a bare GnuTLS client in a thread where the test
 * needs what GLib cannot ask for (an old protocol version). */
#include "config.h"

#include <crypt.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/socket.h>

#include "hale-http.h"
#include "hale-names.h"
#include "hale-test-cert.h"
#include "hale-test-util.h"

#define WAIT_SECONDS 10

typedef struct
{
  char *dir;
  HaleTestCert *ca;
  HaleTestCert *server;
  char *ca_path;
  char *cert_path;
  char *key_path;
  HaleState *state;
  HaleReport *report;
  HaleMetrics *metrics;
  HaleHttp *http;
  SoupSession *session; /* trusts the test CA */
  guint16 port;
} Fixture;

static gboolean
timed_out_cb (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static HaleTestCert *
make_leaf (Fixture *f, HaleTestCert *issuer, const char *cn, const char *serial)
{
  static const char *const names[] = { "127.0.0.1", "localhost", NULL };
  HaleTestCertParams params = { .cn = cn, .serial_hex = serial, .alt_names = names };
  g_autoptr (GError) error = NULL;
  HaleTestCert *cert = hale_test_cert_new (&params, issuer, &error);

  g_assert_no_error (error);
  return cert;
}

static char *
path_in (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
write_text (const char *path, const char *text)
{
  g_autoptr (GError) error = NULL;

  /* Atomic, as an operator's tooling would write it. */
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

/* The TLS of one listener (MetricsListen == HealthListen), and auth. */
typedef struct
{
  gboolean tls;
  guint min_version;
  const char *client_ca;
  const char *token_file;
  const char *users_file;
  gboolean health_auth;
  const char *key; /* NULL: the fixture's */
} Setup;

static gboolean
configure (Fixture *f, const Setup *setup, GError **error)
{
  HaleConfig config = {
    .metrics_listen = (char *)"127.0.0.1:0",
    .health_listen = (char *)"127.0.0.1:0",
    .metrics_bearer_token_file = (char *)setup->token_file,
    .metrics_basic_auth_users = (char *)setup->users_file,
    .health_auth = setup->health_auth,
  };
  gboolean ok;

  if (setup->tls)
    {
      config.metrics_tls.certificate = f->cert_path;
      config.metrics_tls.key = setup->key ? (char *)setup->key : f->key_path;
      config.metrics_tls.client_ca = (char *)setup->client_ca;
      config.metrics_tls.min_version = setup->min_version ? setup->min_version : 12;
      config.health_tls = config.metrics_tls;
    }
  ok = hale_http_configure (f->http, &config, error);
  if (ok)
    f->port = hale_http_get_metrics_port (f->http);
  return ok;
}

static void
configure_ok (Fixture *f, const Setup *setup)
{
  g_autoptr (GError) error = NULL;

  configure (f, setup, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->port, >, 0);
}

static SoupSession *
session_trusting (const char *ca_path)
{
  SoupSession *session = soup_session_new ();
  g_autoptr (GError) error = NULL;

  if (ca_path != NULL)
    {
      g_autoptr (GTlsDatabase) db = g_tls_file_database_new (ca_path, &error);
      g_assert_no_error (error);
      soup_session_set_tls_database (session, db);
    }
  return session;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  HaleTestCertParams ca_params = { .cn = "hale test CA", .is_ca = TRUE };
  HaleMetricFamily *up;

  f->dir = g_dir_make_tmp ("hale-test-http-tls-XXXXXX", &error);
  g_assert_no_error (error);
  f->ca = hale_test_cert_new (&ca_params, NULL, &error);
  g_assert_no_error (error);
  f->server = make_leaf (f, f->ca, "haled", "5e01");
  f->ca_path = path_in (f, "ca.pem");
  f->cert_path = path_in (f, "cert.pem");
  f->key_path = path_in (f, "key.pem");
  hale_test_cert_write (f->ca, NULL, f->ca_path, NULL, &error);
  g_assert_no_error (error);
  hale_test_cert_write (f->server, NULL, f->cert_path, f->key_path, &error);
  g_assert_no_error (error);

  f->state = hale_state_new ();
  f->report = hale_report_new (f->state);
  f->metrics = hale_metrics_new (HALE_DEFAULT_NAMESPACE);
  up = hale_metrics_add (f->metrics, HALE_METRIC_GAUGE, "up", "1 while haled serves.", NULL, NULL,
                         NULL, 0, HALE_METRIC_FLAGS_NONE);
  hale_metric_set (up, NULL, 1);
  f->http = hale_http_new (f->report, f->metrics);
  f->session = session_trusting (f->ca_path);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->session);
  g_clear_object (&f->http);
  g_clear_object (&f->metrics);
  g_clear_object (&f->report);
  g_clear_object (&f->state);
  /* Let closed connections and finished threads' results go away. */
  hale_test_spin (50);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  hale_test_cert_free (f->server);
  hale_test_cert_free (f->ca);
  hale_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->ca_path);
  g_free (f->cert_path);
  g_free (f->key_path);
}

/* Requests ---------------------------------------------------------------- */

typedef struct
{
  const char *scheme;           /* NULL: https */
  const char *authorization;    /* NULL: none */
  GTlsCertificate *client_cert; /* NULL: none */
  SoupSession *session;         /* NULL: the fixture's */
} Request;

/* The message (status, peer certificate), or NULL with @out_error. */
static SoupMessage *
request (Fixture *f, const char *path, const Request *r, GError **out_error)
{
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:%u%s",
                                          r && r->scheme ? r->scheme : "https", f->port, path);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr (GBytes) body = NULL;

  if (r != NULL && r->authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                  r->authorization);
  if (r != NULL && r->client_cert != NULL)
    soup_message_set_tls_client_certificate (msg, r->client_cert);
  body = hale_test_send_and_read (r && r->session ? r->session : f->session, msg, out_error);
  if (body == NULL)
    return NULL;
  return g_steal_pointer (&msg);
}

static guint
status_of (Fixture *f, const char *path, const Request *r)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) msg = request (f, path, r, &error);

  g_assert_no_error (error);
  return soup_message_get_status (msg);
}

static gboolean
peer_is (SoupMessage *msg, HaleTestCert *cert)
{
  g_autofree char *pem = hale_test_cert_get_pem (cert);
  g_autoptr (GTlsCertificate) expected = g_tls_certificate_new_from_pem (pem, -1, NULL);
  GTlsCertificate *peer = soup_message_get_tls_peer_certificate (msg);

  return peer != NULL && expected != NULL && g_tls_certificate_is_same (peer, expected);
}

static double
auth_failures (Fixture *f, const char *listener)
{
  g_autoptr (GBytes) text = hale_metrics_render (f->metrics, HALE_METRICS_FORMAT_TEXT);
  g_autofree char *needle
      = g_strdup_printf ("hale_http_auth_failures_total{listener=\"%s\"} ", listener);
  g_autofree char *body = g_strndup (g_bytes_get_data (text, NULL), g_bytes_get_size (text));
  const char *at = strstr (body, needle);

  if (at == NULL)
    return -1;
  return g_ascii_strtod (at + strlen (needle), NULL);
}

/* TLS ---------------------------------------------------------------------- */

static void
test_tls_serves (Fixture *f, gconstpointer data)
{
  Setup setup = { .tls = TRUE };
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (SoupSession) untrusting = session_trusting (NULL);
  Request plain = { .scheme = "http" };
  Request strange = { .session = untrusting };

  configure_ok (f, &setup);
  msg = request (f, "/metrics", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_true (peer_is (msg, f->server));
  g_assert_cmpuint (soup_message_get_tls_protocol_version (msg), >=,
                    G_TLS_PROTOCOL_VERSION_TLS_1_2);
  g_assert_cmpuint (status_of (f, "/health", NULL), ==, 200);
  g_clear_object (&msg);

  /* Plain HTTP on a TLS port gets nowhere. */
  msg = request (f, "/metrics", &plain, &error);
  g_assert_null (msg);
  g_assert_nonnull (error);
  g_test_message ("plain HTTP to a TLS listener: %s", error->message);
  g_clear_error (&error);

  /* A client that does not trust the CA refuses the server. */
  msg = request (f, "/metrics", &strange, &error);
  g_assert_null (msg);
  g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
}

/* A reload turns TLS on and off on the same socket, and bad files are
 * refused with the key named and nothing changed. */
static void
test_tls_reconfigure (Fixture *f, gconstpointer data)
{
  Setup plain = { 0 };
  Setup tls = { .tls = TRUE };
  Request http = { .scheme = "http" };
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleTestCert) stranger = make_leaf (f, NULL, "other", NULL);
  g_autofree char *stranger_key = hale_test_cert_get_key_pem (stranger);
  g_autofree char *stranger_key_path = path_in (f, "stranger.key");
  Setup mismatched = { .tls = TRUE, .key = stranger_key_path };
  guint16 port;

  configure_ok (f, &plain);
  port = f->port;
  g_assert_cmpuint (status_of (f, "/metrics", &http), ==, 200);
  configure_ok (f, &tls);
  g_assert_cmpuint (f->port, ==, port);
  g_assert_cmpuint (status_of (f, "/metrics", NULL), ==, 200);

  /* A key that is not the certificate's. */
  write_text (stranger_key_path, stranger_key);
  g_assert_false (configure (f, &mismatched, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "MetricsTLSCertificate="));
  g_assert_nonnull (strstr (error->message, "the key does not belong to the certificate"));
  g_clear_error (&error);

  /* A certificate file that is not there. */
  g_remove (f->cert_path);
  g_assert_false (configure (f, &tls, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, f->cert_path));
  g_assert_nonnull (strstr (error->message, "MetricsTLSCertificate="));
  g_clear_error (&error);

  /* Still serving TLS with what it had loaded. */
  g_assert_cmpuint (status_of (f, "/metrics", NULL), ==, 200);

  configure_ok (f, &plain);
  g_assert_cmpuint (f->port, ==, port);
  g_assert_cmpuint (status_of (f, "/metrics", &http), ==, 200);
}

static void
test_tls_client_ca (Fixture *f, gconstpointer data)
{
  Setup setup = { .tls = TRUE, .client_ca = f->ca_path };
  g_autoptr (HaleTestCert) client = make_leaf (f, f->ca, "prometheus", NULL);
  g_autoptr (HaleTestCert) other_ca = NULL;
  g_autoptr (HaleTestCert) stranger = NULL;
  HaleTestCertParams ca_params = { .cn = "another CA", .is_ca = TRUE };
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  struct
  {
    HaleTestCert *cert;
    gboolean accepted;
  } cases[3] = { { NULL, FALSE }, { client, TRUE }, { NULL, FALSE } };

  other_ca = hale_test_cert_new (&ca_params, NULL, &error);
  g_assert_no_error (error);
  stranger = make_leaf (f, other_ca, "stranger", NULL);
  cases[2].cert = stranger;
  configure_ok (f, &setup);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      /* A session each: a refused handshake must not be retried on a
       * connection made for another case. */
      g_autoptr (SoupSession) session = session_trusting (f->ca_path);
      g_autoptr (GTlsCertificate) cert = NULL;
      Request r = { .session = session };

      if (cases[i].cert != NULL)
        {
          g_autofree char *pem = hale_test_cert_get_pem (cases[i].cert);
          g_autofree char *key = hale_test_cert_get_key_pem (cases[i].cert);
          g_autofree char *both = g_strconcat (pem, key, NULL);
          cert = g_tls_certificate_new_from_pem (both, -1, &error);
          g_assert_no_error (error);
          r.client_cert = cert;
        }
      msg = request (f, "/metrics", &r, &error);
      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, error ? error->message : "200");
      if (cases[i].accepted)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
        }
      else
        {
          /* Refused in the handshake (or, with TLS 1.3, right after it):
           * never an HTTP answer. */
          g_assert_null (msg);
          g_assert_nonnull (error);
        }
      g_clear_error (&error);
      g_clear_object (&msg);
    }
}

/* A bare GnuTLS client, for a protocol version GLib cannot pin. */
typedef struct
{
  guint16 port;
  const char *ca_path;
  const char *priority;
  int version;       /* negotiated; 0 when the handshake failed */
  GString *response; /* what came back after the request */
  gint done;
} RawTls;

static gpointer
raw_tls_thread (gpointer data)
{
  RawTls *r = data;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  gnutls_certificate_credentials_t credentials;
  gnutls_session_t session;
  struct timeval timeout = { 5, 0 };
  static const char get[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  int fd, ret;

  r->response = g_string_new (NULL);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", r->port, NULL, NULL);
  g_assert_nonnull (connection);
  fd = g_socket_get_fd (g_socket_connection_get_socket (connection));
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  g_assert_cmpint (gnutls_certificate_allocate_credentials (&credentials), ==, 0);
  g_assert_cmpint (
      gnutls_certificate_set_x509_trust_file (credentials, r->ca_path, GNUTLS_X509_FMT_PEM), ==, 1);
  g_assert_cmpint (gnutls_init (&session, GNUTLS_CLIENT), ==, 0);
  g_assert_cmpint (gnutls_priority_set_direct (session, r->priority, NULL), ==, 0);
  gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, credentials);
  gnutls_session_set_verify_cert (session, "127.0.0.1", 0);
  gnutls_transport_set_int (session, fd);
  gnutls_handshake_set_timeout (session, 5000);
  do
    ret = gnutls_handshake (session);
  while (ret < 0 && !gnutls_error_is_fatal (ret));

  if (ret == 0)
    {
      r->version = gnutls_protocol_get_version (session);
      if (gnutls_record_send (session, get, strlen (get)) == (ssize_t)strlen (get))
        for (;;)
          {
            char buffer[4096];
            ssize_t n = gnutls_record_recv (session, buffer, sizeof buffer);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
              continue;
            if (n <= 0)
              break;
            g_string_append_len (r->response, buffer, n);
          }
    }
  gnutls_deinit (session);
  gnutls_certificate_free_credentials (credentials);
  g_atomic_int_set (&r->done, 1);
  g_main_context_wakeup (NULL);
  return NULL;
}

static void
raw_tls (RawTls *r)
{
  GThread *thread = g_thread_new ("raw-tls", raw_tls_thread, r);
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, &timed_out);

  while (!g_atomic_int_get (&r->done) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
  g_thread_join (thread);
}

static void
test_tls_min_version (Fixture *f, gconstpointer data)
{
  static const char tls12[] = "NORMAL:-VERS-ALL:+VERS-TLS1.2";
  Setup min12 = { .tls = TRUE, .min_version = 12 };
  Setup min13 = { .tls = TRUE, .min_version = 13 };
  RawTls old = { .ca_path = f->ca_path, .priority = tls12 };
  RawTls refused = { .ca_path = f->ca_path, .priority = tls12 };
  RawTls current = { .ca_path = f->ca_path, .priority = "NORMAL" };
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) msg = NULL;

  /* TLS 1.2 is served by default... */
  configure_ok (f, &min12);
  old.port = f->port;
  raw_tls (&old);
  g_assert_cmpint (old.version, ==, GNUTLS_TLS1_2);
  g_assert_true (g_str_has_prefix (old.response->str, "HTTP/1.1 200"));

  /* ...and not with MetricsTLSMinVersion=1.3: no HTTP answer at all. */
  configure_ok (f, &min13);
  refused.port = f->port;
  raw_tls (&refused);
  g_test_message ("TLS 1.2 client against a 1.3 minimum: version %d, %" G_GSIZE_FORMAT
                  " bytes of answer",
                  refused.version, refused.response->len);
  g_assert_cmpuint (refused.response->len, ==, 0);

  /* A TLS 1.3 client is served. */
  current.port = f->port;
  raw_tls (&current);
  g_assert_cmpint (current.version, ==, GNUTLS_TLS1_3);
  g_assert_true (g_str_has_prefix (current.response->str, "HTTP/1.1 200"));
  msg = request (f, "/metrics", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_tls_protocol_version (msg), ==,
                    G_TLS_PROTOCOL_VERSION_TLS_1_3);

  g_string_free (old.response, TRUE);
  g_string_free (refused.response, TRUE);
  g_string_free (current.response, TRUE);
}

/* The serving certificate renewed on disk: new connections get the new
 * one, without a reload; a connection already open keeps the old one. */
static void
test_tls_renewal (Fixture *f, gconstpointer data)
{
  Setup setup = { .tls = TRUE };
  g_autoptr (HaleTestCert) renewed = make_leaf (f, f->ca, "haled", "5e02");
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  gboolean seen = FALSE;
  gint64 deadline;
  guint64 connection_id;
  /* With libsoup 3.2 haled ends every connection after its answer
   * (hale-http.c: libsoup 3.2 leaks closed kept-alive ones): no
   * connection stays open across the renewal then. */
  gboolean keepalive = soup_get_major_version () > 3 || soup_get_minor_version () >= 3;

  configure_ok (f, &setup);
  msg = request (f, "/metrics", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (peer_is (msg, f->server));
  connection_id = soup_message_get_connection_id (msg);
  g_clear_object (&msg);
  msg = request (f, "/metrics", NULL, &error);
  g_assert_no_error (error);
  if (keepalive)
    g_assert_cmpuint (soup_message_get_connection_id (msg), ==, connection_id);
  else
    g_assert_cmpuint (soup_message_get_connection_id (msg), !=, connection_id);
  g_clear_object (&msg);

  /* A new key too: the pair is read together. */
  hale_test_cert_write (renewed, NULL, f->cert_path, f->key_path, &error);
  g_assert_no_error (error);

  deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
  while (!seen && g_get_monotonic_time () < deadline)
    {
      g_autoptr (SoupSession) fresh = session_trusting (f->ca_path);
      Request r = { .session = fresh };

      msg = request (f, "/metrics", &r, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
      seen = peer_is (msg, renewed);
      if (!seen)
        g_assert_true (peer_is (msg, f->server));
      g_clear_object (&msg);
      if (!seen)
        hale_test_spin (50);
    }
  g_assert_true (seen);

  /* The fixture's session kept its connection alive: the old one (on
   * libsoup 3.2 a new connection: the new one). */
  msg = request (f, "/metrics", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_true (peer_is (msg, keepalive ? f->server : renewed));
  g_clear_object (&msg);

  /* A renewal gone wrong (a key of another certificate): said loudly,
   * and the certificate that works stays. */
  {
    g_autoptr (HaleTestCert) other = make_leaf (f, f->ca, "other", NULL);
    g_autofree char *other_key = hale_test_cert_get_key_pem (other);
    g_autoptr (SoupSession) fresh = session_trusting (f->ca_path);
    Request r = { .session = fresh };

    hale_test_expect_warning ("*serving certificate not renewed, the previous one stays: "
                              "MetricsTLSCertificate=*the key does not belong to the certificate");
    write_text (f->key_path, other_key);
    hale_test_spin (1500);
    g_assert_cmpuint (hale_test_expect_warning (NULL), ==, 1);
    msg = request (f, "/metrics", &r, &error);
    g_assert_no_error (error);
    g_assert_true (peer_is (msg, renewed));
  }
}

/* Auth --------------------------------------------------------------------- */

static void
assert_unauthorized (Fixture *f, const char *path, const Request *r)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) msg = request (f, path, r, &error);
  const char *challenge;

  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 401);
  challenge
      = soup_message_headers_get_one (soup_message_get_response_headers (msg), "WWW-Authenticate");
  g_assert_nonnull (challenge);
  g_assert_nonnull (strstr (challenge, "realm=\"haled\""));
}

static void
test_auth_bearer (Fixture *f, gconstpointer data)
{
  g_autofree char *token_file = path_in (f, "token");
  Setup setup = { .tls = TRUE, .token_file = token_file };
  Request right = { .authorization = "Bearer s3cret-t0ken" };
  Request lower = { .authorization = "bearer s3cret-t0ken" };
  Request wrong = { .authorization = "Bearer s3cret-t0kem" };
  Request prefix = { .authorization = "Bearer s3cret" };
  Request basic = { .authorization = "Basic dXNlcjpzM2NyZXQtdDBrZW4=" };

  /* The newline an editor adds is not part of the token. */
  write_text (token_file, "s3cret-t0ken\n");
  configure_ok (f, &setup);
  g_assert_cmpfloat (auth_failures (f, "metrics"), ==, 0);

  assert_unauthorized (f, "/metrics", NULL);
  assert_unauthorized (f, "/metrics", &wrong);
  assert_unauthorized (f, "/metrics", &prefix);
  assert_unauthorized (f, "/metrics", &basic);
  g_assert_cmpuint (status_of (f, "/metrics", &right), ==, 200);
  g_assert_cmpuint (status_of (f, "/metrics", &lower), ==, 200);
  g_assert_cmpfloat (auth_failures (f, "metrics"), ==, 4);

  /* HealthAuth=none: the health paths and the landing page stay open. */
  g_assert_cmpuint (status_of (f, "/health", NULL), ==, 200);
  g_assert_cmpuint (status_of (f, "/health/certificate", NULL), ==, 200);
  g_assert_cmpuint (status_of (f, "/", NULL), ==, 200);
  g_assert_cmpfloat (auth_failures (f, "health"), ==, -1);

  /* A new token in the file: the old one stops working, no reload. */
  write_text (token_file, "n3w-t0ken\n");
  {
    Request renewed = { .authorization = "Bearer n3w-t0ken" };
    gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
    while (status_of (f, "/metrics", &renewed) != 200 && g_get_monotonic_time () < deadline)
      hale_test_spin (50);
    g_assert_cmpuint (status_of (f, "/metrics", &renewed), ==, 200);
    assert_unauthorized (f, "/metrics", &right);
  }
}

/* A bcrypt hash as htpasswd -B makes it, with a low cost for speed
 * unless the test measures time. */
static char *
bcrypt_hash (const char *password, unsigned long cost)
{
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  struct crypt_data data = { 0 };

  g_assert_nonnull (crypt_gensalt_rn ("$2b$", cost, NULL, 0, salt, sizeof salt));
  g_assert_nonnull (crypt_r (password, salt, &data));
  g_assert_true (g_str_has_prefix (data.output, "$2b$"));
  return g_strdup (data.output);
}

static char *
basic (const char *user, const char *password)
{
  g_autofree char *pair = g_strdup_printf ("%s:%s", user, password);
  g_autofree char *encoded = g_base64_encode ((const guchar *)pair, strlen (pair));

  return g_strdup_printf ("Basic %s", encoded);
}

static void
test_auth_basic (Fixture *f, gconstpointer data)
{
  g_autofree char *users_file = path_in (f, "users");
  g_autofree char *prom_hash = bcrypt_hash ("scrape-me", 4);
  g_autofree char *ops_hash = bcrypt_hash ("other", 4);
  g_autofree char *users
      = g_strdup_printf ("# htpasswd -B\nprometheus:%s\n\nops:%s\n", prom_hash, ops_hash);
  g_autofree char *right_header = basic ("prometheus", "scrape-me");
  g_autofree char *wrong_password_header = basic ("prometheus", "scrape-you");
  g_autofree char *wrong_user_header = basic ("nobody", "scrape-me");
  g_autofree char *swapped_header = basic ("ops", "scrape-me");
  Setup setup = { .users_file = users_file };
  Request http = { .scheme = "http" };
  Request right = { .scheme = "http", .authorization = right_header };
  Request wrong_password = { .scheme = "http", .authorization = wrong_password_header };
  Request wrong_user = { .scheme = "http", .authorization = wrong_user_header };
  Request swapped = { .scheme = "http", .authorization = swapped_header };
  Request garbage = { .scheme = "http", .authorization = "Basic !!!notbase64" };

  write_text (users_file, users);
  configure_ok (f, &setup);

  assert_unauthorized (f, "/metrics", &http);
  assert_unauthorized (f, "/metrics", &wrong_password);
  assert_unauthorized (f, "/metrics", &wrong_user);
  assert_unauthorized (f, "/metrics", &swapped);
  assert_unauthorized (f, "/metrics", &garbage);
  g_assert_cmpuint (status_of (f, "/metrics", &right), ==, 200);
  /* Again: from the cache this time, the same answer. */
  g_assert_cmpuint (status_of (f, "/metrics", &right), ==, 200);
  g_assert_cmpfloat (auth_failures (f, "metrics"), ==, 5);

  /* The user removed from the file: refused, cache or not. */
  {
    g_autofree char *only_ops = g_strdup_printf ("ops:%s\n", ops_hash);
    write_text (users_file, only_ops);
    gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;

    while (status_of (f, "/metrics", &right) != 401 && g_get_monotonic_time () < deadline)
      hale_test_spin (50);
    assert_unauthorized (f, "/metrics", &right);
  }
}

/* "No such user" costs a bcrypt too: it cannot be told from "wrong
 * password" by the time it takes. */
static void
test_auth_basic_timing (Fixture *f, gconstpointer data)
{
  g_autofree char *users_file = path_in (f, "users");
  g_autofree char *hash = bcrypt_hash ("scrape-me", 10);
  g_autofree char *users = g_strdup_printf ("prometheus:%s\n", hash);
  g_autofree char *wrong_password_header = basic ("prometheus", "nope");
  g_autofree char *wrong_user_header = basic ("nobody", "nope");
  Setup setup = { .users_file = users_file };
  Request wrong_password = { .scheme = "http", .authorization = wrong_password_header };
  Request wrong_user = { .scheme = "http", .authorization = wrong_user_header };
  gint64 t_password = G_MAXINT64, t_user = G_MAXINT64;

  write_text (users_file, users);
  configure_ok (f, &setup);
  for (guint i = 0; i < 3; i++)
    {
      gint64 start = g_get_monotonic_time ();
      assert_unauthorized (f, "/metrics", &wrong_password);
      t_password = MIN (t_password, g_get_monotonic_time () - start);
      start = g_get_monotonic_time ();
      assert_unauthorized (f, "/metrics", &wrong_user);
      t_user = MIN (t_user, g_get_monotonic_time () - start);
    }
  g_test_message ("401 for a wrong password: %" G_GINT64_FORMAT
                  " us, for no such user: %" G_GINT64_FORMAT " us",
                  t_password, t_user);
  /* Without the decoy bcrypt the unknown user would answer in well
   * under a tenth of the time. */
  g_assert_cmpint (t_user * 2, >, t_password);
  g_assert_cmpint (t_password * 2, >, t_user);
}

static void
test_auth_health_same (Fixture *f, gconstpointer data)
{
  g_autofree char *token_file = path_in (f, "token");
  Setup setup = { .tls = TRUE, .token_file = token_file, .health_auth = TRUE };
  Request right = { .authorization = "Bearer t" };

  write_text (token_file, "t");
  configure_ok (f, &setup);
  assert_unauthorized (f, "/health", NULL);
  assert_unauthorized (f, "/health/services", NULL);
  assert_unauthorized (f, "/metrics", NULL);
  g_assert_cmpuint (status_of (f, "/health", &right), ==, 200);
  g_assert_cmpuint (status_of (f, "/metrics", &right), ==, 200);
  g_assert_cmpuint (status_of (f, "/", NULL), ==, 200);
  g_assert_cmpfloat (auth_failures (f, "health"), ==, 2);
  g_assert_cmpfloat (auth_failures (f, "metrics"), ==, 1);
}

static void
test_auth_bad_files (Fixture *f, gconstpointer data)
{
  g_autofree char *users_file = path_in (f, "users");
  g_autofree char *token_file = path_in (f, "token");
  g_autofree char *hash = bcrypt_hash ("x", 4);
  g_autofree char *dup = g_strdup_printf ("a:%s\na:%s\n", hash, hash);
  Setup users = { .users_file = users_file };
  Setup token = { .token_file = token_file };
  struct
  {
    const char *contents;
    const char *what;
  } cases[] = {
    { "prometheus:$apr1$abc$defghijklmnopqrstuvwx.\n",
      "line 1: the hash of user \"prometheus\" is not a bcrypt hash" },
    { "# only a comment\n", "lists no users" },
    { "\nno colon here\n", "line 2: expected \"user:bcrypt-hash\"" },
    { dup, "line 2: user \"a\" is listed twice" },
  };
  g_autoptr (GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      write_text (users_file, cases[i].contents);
      g_assert_false (configure (f, &users, &error));
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "MetricsBasicAuthUsers="));
      g_assert_nonnull (strstr (error->message, cases[i].what));
      /* The hashes of the file are not repeated back. */
      g_assert_null (strstr (error->message, hash));
      g_clear_error (&error);
    }

  write_text (token_file, " \n");
  g_assert_false (configure (f, &token, &error));
  g_assert_nonnull (strstr (error->message, "MetricsBearerTokenFile="));
  g_assert_nonnull (strstr (error->message, "empty"));
  g_clear_error (&error);
  g_remove (token_file);
  g_assert_false (configure (f, &token, &error));
  g_assert_nonnull (strstr (error->message, token_file));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  hale_test_log_init ();

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/http-tls/serves", test_tls_serves);
  ADD ("/http-tls/reconfigure", test_tls_reconfigure);
  ADD ("/http-tls/client-ca", test_tls_client_ca);
  ADD ("/http-tls/min-version", test_tls_min_version);
  ADD ("/http-tls/renewal", test_tls_renewal);
  ADD ("/http-auth/bearer", test_auth_bearer);
  ADD ("/http-auth/basic", test_auth_basic);
  ADD ("/http-auth/basic-timing", test_auth_basic_timing);
  ADD ("/http-auth/health-same", test_auth_health_same);
  ADD ("/http-auth/bad-files", test_auth_bad_files);
#undef ADD

  return g_test_run ();
}
