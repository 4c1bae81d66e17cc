/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-probe.c: one probe against real local servers.
 *
 * Everything is on loopback: a SoupServer on an ephemeral port (plain
 * and with TLS from a CA made on the spot), a listener that accepts and
 * never answers, and a port with nothing on it.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "hale-probe.h"
#include "hale-test-cert.h"
#include "hale-test-util.h"

/* ---- the server --------------------------------------------------------- */

#define BIG_BODY_CHUNK (64 * 1024)
#define BIG_BODY_CHUNKS 1024 /* 64 MiB: far more than a probe may read */

typedef struct
{
  SoupServer *server;
  guint port;
  GHashTable *client_ports; /* remote ports seen: one per connection */
  guint requests;
  guint big_chunks_written;
  gboolean big_finished;
  GPtrArray *paused; /* SoupServerMessage kept unanswered for /slow */
  guint slow_pending;
} Server;

typedef struct
{
  Server *server;
  SoupServerMessage *msg;
} Slow;

static gboolean
unpause_slow (gpointer user_data)
{
  Slow *slow = user_data;
  SoupServerMessage *msg = slow->msg;

  slow->server->slow_pending--;

  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "late", 4);
  soup_server_message_unpause (msg);
  g_free (slow);
  return G_SOURCE_REMOVE;
}

static void
big_wrote_chunk (SoupServerMessage *msg, Server *s)
{
  SoupMessageBody *body = soup_server_message_get_response_body (msg);

  s->big_chunks_written++;
  if (s->big_chunks_written >= BIG_BODY_CHUNKS)
    {
      soup_message_body_complete (body);
      s->big_finished = TRUE;
    }
  else
    soup_message_body_append_take (body, g_malloc0 (BIG_BODY_CHUNK), BIG_BODY_CHUNK);
  soup_server_message_unpause (msg);
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  Server *s = user_data;
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  s->requests++;
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    g_hash_table_add (s->client_ports, GUINT_TO_POINTER (g_inet_socket_address_get_port (
                                           G_INET_SOCKET_ADDRESS (remote))));

  if (g_str_equal (path, "/ok"))
    {
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "ok", 2);
    }
  else if (g_str_equal (path, "/fail"))
    {
      soup_server_message_set_status (msg, 503, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "no", 2);
    }
  else if (g_str_equal (path, "/nocontent"))
    soup_server_message_set_status (msg, 204, NULL);
  else if (g_str_equal (path, "/slow"))
    {
      Slow *slow = g_new0 (Slow, 1);
      slow->server = s;
      slow->msg = msg;
      soup_server_message_pause (msg);
      g_ptr_array_add (s->paused, g_object_ref (msg));
      s->slow_pending++;
      g_timeout_add (300, unpause_slow, slow);
    }
  else if (g_str_equal (path, "/big"))
    {
      SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
      soup_server_message_set_status (msg, 200, NULL);
      g_signal_connect (msg, "wrote-chunk", G_CALLBACK (big_wrote_chunk), s);
      soup_message_body_append_take (soup_server_message_get_response_body (msg),
                                     g_malloc0 (BIG_BODY_CHUNK), BIG_BODY_CHUNK);
    }
  else
    soup_server_message_set_status (msg, 404, NULL);
}

static Server *
server_new (GTlsCertificate *tls)
{
  Server *s = g_new0 (Server, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSList) uris = NULL;

  s->server = soup_server_new ("tls-certificate", tls, NULL);
  s->client_ports = g_hash_table_new (NULL, NULL);
  s->paused = g_ptr_array_new_with_free_func (g_object_unref);
  soup_server_add_handler (s->server, NULL, handler, s, NULL);
  soup_server_listen_local (
      s->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY | (tls != NULL ? SOUP_SERVER_LISTEN_HTTPS : 0),
      &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (s->server);
  s->port = g_uri_get_port (uris->data);
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify)g_uri_unref);
  return s;
}

static void
server_free (Server *s)
{
  /* A /slow answer still due would fire on a freed server. */
  HALE_TEST_WAIT_UNTIL (s->slow_pending == 0);
  soup_server_disconnect (s->server);
  g_object_unref (s->server);
  g_hash_table_unref (s->client_ports);
  g_ptr_array_unref (s->paused);
  g_free (s);
}

/* ---- probing ------------------------------------------------------------ */

typedef struct
{
  gboolean done;
  HaleProbeResult *result;
  GError *error;
} Done;

static void
on_probed (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Done *d = user_data;

  d->result = hale_prober_probe_finish (HALE_PROBER (source), res, &d->error);
  d->done = TRUE;
}

static HaleProbeResult *
probe_full (HaleProber *prober, const char *url, const HaleProbeOptions *options,
            GCancellable *cancellable, GError **error)
{
  Done d = { 0 };

  hale_prober_probe_async (prober, url, options, cancellable, on_probed, &d);
  HALE_TEST_WAIT_UNTIL (d.done);
  if (d.error != NULL)
    g_propagate_error (error, d.error);
  return d.result;
}

static HaleProbeResult *
probe (HaleProber *prober, const char *url, gint64 timeout)
{
  HaleProbeOptions options = { .timeout = timeout };
  g_autoptr (GError) error = NULL;
  HaleProbeResult *r = probe_full (prober, url, &options, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_success (void)
{
  g_autoptr (HaleProber) prober = hale_prober_new ();
  Server *s = server_new (NULL);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/ok", s->port);
  g_autoptr (HaleProbeResult) r = NULL;
  gint64 before = g_get_real_time ();

  r = probe (prober, url, 5 * G_USEC_PER_SEC);
  g_assert_true (r->success);
  g_assert_cmpuint (r->http_status, ==, 200);
  g_assert_null (r->reason);
  g_assert_cmpint (r->duration, >, 0);
  g_assert_cmpint (r->duration, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpint (r->finished_at, >=, before);
  g_assert_cmpint (r->finished_at, <=, g_get_real_time ());
  /* Phases libsoup measures: an IP literal has no DNS step, plain HTTP
   * no TLS; a connection and a first byte it always has. */
  g_assert_cmpint (r->connect, >=, 0);
  g_assert_cmpint (r->first_byte, >=, 0);
  g_assert_cmpint (r->tls, ==, -1);
  g_assert_cmpint (r->connect + r->first_byte, <=, r->duration);
  server_free (s);
}

static void
test_status (void)
{
  g_autoptr (HaleProber) prober = hale_prober_new ();
  Server *s = server_new (NULL);
  g_autofree char *fail = g_strdup_printf ("http://127.0.0.1:%u/fail", s->port);
  g_autofree char *missing = g_strdup_printf ("http://127.0.0.1:%u/nothing-here", s->port);
  g_autofree char *nocontent = g_strdup_printf ("http://127.0.0.1:%u/nocontent", s->port);
  g_autoptr (HaleProbeResult) r1 = NULL;
  g_autoptr (HaleProbeResult) r2 = NULL;
  g_autoptr (HaleProbeResult) r3 = NULL;
  g_autoptr (HaleProbeResult) r4 = NULL;
  g_autoptr (GError) error = NULL;
  HaleProbeOptions only_503
      = { .timeout = 5 * G_USEC_PER_SEC, .status_min = 503, .status_max = 503 };

  r1 = probe (prober, fail, 5 * G_USEC_PER_SEC);
  g_assert_false (r1->success);
  g_assert_cmpuint (r1->http_status, ==, 503);
  g_assert_cmpstr (r1->reason, ==, "http status 503");

  r2 = probe (prober, missing, 5 * G_USEC_PER_SEC);
  g_assert_false (r2->success);
  g_assert_cmpstr (r2->reason, ==, "http status 404");

  /* 204 is in the default 200-299. */
  r3 = probe (prober, nocontent, 5 * G_USEC_PER_SEC);
  g_assert_true (r3->success);
  g_assert_cmpuint (r3->http_status, ==, 204);

  /* An accepted range of one code: a maintenance page that must say 503. */
  r4 = probe_full (prober, fail, &only_503, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (r4->success);
  server_free (s);
}

static void
test_slow (void)
{
  g_autoptr (HaleProber) prober = hale_prober_new ();
  Server *s = server_new (NULL);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/slow", s->port);
  g_autoptr (HaleProbeResult) ok = NULL;
  g_autoptr (HaleProbeResult) late = NULL;

  /* Answers after 300 ms: in time for 5 s... */
  ok = probe (prober, url, 5 * G_USEC_PER_SEC);
  g_assert_true (ok->success);
  g_assert_cmpint (ok->duration, >=, 290 * 1000);
  g_assert_cmpint (ok->first_byte, >=, 290 * 1000);

  /* ...not for 100 ms. */
  late = probe (prober, url, 100 * 1000);
  g_assert_false (late->success);
  g_assert_cmpstr (late->reason, ==, "timeout");
  g_assert_cmpuint (late->http_status, ==, 0);
  g_assert_cmpint (late->duration, >=, 90 * 1000);
  g_assert_cmpint (late->duration, <, 280 * 1000);
  server_free (s);
}

static void
on_incoming_hold (GSocketService *service, GSocketConnection *connection, GObject *source,
                  GPtrArray *held)
{
  g_ptr_array_add (held, g_object_ref (connection));
}

static void
test_timeout_silent (void)
{
  g_autoptr (HaleProber) prober = hale_prober_new ();
  g_autoptr (GSocketService) service = g_socket_service_new ();
  g_autoptr (GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleProbeResult) r = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) effective = NULL;
  g_autofree char *url = NULL;
  guint16 port;

  /* Accepts, reads nothing, answers nothing. */
  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming_hold), held);
  url = g_strdup_printf ("http://127.0.0.1:%u/", port);

  r = probe (prober, url, 300 * 1000);
  g_assert_false (r->success);
  g_assert_cmpstr (r->reason, ==, "timeout");
  g_assert_cmpint (r->duration, >=, 290 * 1000);
  g_assert_cmpint (r->duration, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (held->len, ==, 1);
  g_socket_service_stop (service);
}

static void
test_refused (void)
{
  g_autoptr (HaleProber) prober = hale_prober_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleProbeResult) r = NULL;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *url = NULL;

  /* A port that was free a moment ago and has nobody listening. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  url = g_strdup_printf ("http://127.0.0.1:%u/",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  r = probe (prober, url, 5 * G_USEC_PER_SEC);
  g_assert_false (r->success);
  g_assert_cmpstr (r->reason, ==, "connection refused");
  g_assert_cmpuint (r->http_status, ==, 0);
  g_assert_cmpint (r->duration, <, 2 * G_USEC_PER_SEC);
}

static void
test_body_cap (void)
{
  g_autoptr (HaleProber) prober = hale_prober_new ();
  Server *s = server_new (NULL);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/big", s->port);
  g_autoptr (HaleProbeResult) r = NULL;

  /* A body of 64 MiB, streamed: the probe reads its first 64 KiB and
   * hangs up; it succeeds and does not wait for the rest. */
  r = probe (prober, url, 10 * G_USEC_PER_SEC);
  g_assert_true (r->success);
  g_assert_cmpuint (r->http_status, ==, 200);
  g_assert_cmpint (r->duration, <, 5 * G_USEC_PER_SEC);
  /* Let the server notice the hang-up; it must never get to the end. */
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_false (s->big_finished);
  g_assert_cmpuint (s->big_chunks_written, <, BIG_BODY_CHUNKS);
  server_free (s);
}

static void
test_fresh_connection (void)
{
  g_autoptr (HaleProber) prober = hale_prober_new ();
  Server *s = server_new (NULL);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/ok", s->port);

  /* Three probes, three connections: nothing kept alive to hide a
   * broken handshake. */
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (HaleProbeResult) r = probe (prober, url, 5 * G_USEC_PER_SEC);
      g_assert_true (r->success);
    }
  g_assert_cmpuint (s->requests, ==, 3);
  g_assert_cmpuint (g_hash_table_size (s->client_ports), ==, 3);
  server_free (s);
}

static void
test_cancel_and_bad_url (void)
{
  g_autoptr (HaleProber) prober = hale_prober_new ();
  Server *s = server_new (NULL);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/slow", s->port);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  HaleProbeOptions options = { .timeout = 5 * G_USEC_PER_SEC };
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) url_error = NULL;
  g_autoptr (HaleProbeResult) bad = NULL;
  Done d = { 0 };

  hale_prober_probe_async (prober, url, &options, cancellable, on_probed, &d);
  g_cancellable_cancel (cancellable);
  HALE_TEST_WAIT_UNTIL (d.done);
  g_assert_null (d.result);
  g_assert_error (d.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&d.error);

  bad = probe_full (prober, "ftp://example.org/", &options, NULL, &url_error);
  g_assert_null (bad);
  g_assert_error (url_error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (url_error->message, "ftp://example.org/"));
  server_free (s);
}

typedef struct
{
  char *dir;
  char *ca_path;
  char *other_ca_path;
  GTlsCertificate *server_tls;
} Pki;

static void
pki_free (Pki *pki)
{
  g_unlink (pki->ca_path);
  g_unlink (pki->other_ca_path);
  g_rmdir (pki->dir);
  g_free (pki->dir);
  g_free (pki->ca_path);
  g_free (pki->other_ca_path);
  g_clear_object (&pki->server_tls);
  g_free (pki);
}

/* A private CA, a server certificate for "localhost" it signed, and an
 * unrelated CA. */
static Pki *
pki_new (void)
{
  Pki *pki = g_new0 (Pki, 1);
  g_autoptr (GError) error = NULL;
  HaleTestCertParams ca_params = { .cn = "hale test CA", .is_ca = TRUE };
  HaleTestCertParams other_params = { .cn = "someone else's CA", .is_ca = TRUE };
  HaleTestCertParams leaf_params = { .cn = "localhost" };
  g_autoptr (HaleTestCert) ca = hale_test_cert_new (&ca_params, NULL, &error);
  g_autoptr (HaleTestCert) other = NULL;
  g_autoptr (HaleTestCert) leaf = NULL;
  g_autofree char *leaf_pem = NULL;
  g_autofree char *key_pem = NULL;
  g_autofree char *both = NULL;

  g_assert_no_error (error);
  other = hale_test_cert_new (&other_params, NULL, &error);
  g_assert_no_error (error);
  leaf = hale_test_cert_new (&leaf_params, ca, &error);
  g_assert_no_error (error);

  pki->dir = g_dir_make_tmp ("hale-probe-XXXXXX", &error);
  g_assert_no_error (error);
  pki->ca_path = g_build_filename (pki->dir, "ca.pem", NULL);
  pki->other_ca_path = g_build_filename (pki->dir, "other.pem", NULL);
  hale_test_cert_write (ca, NULL, pki->ca_path, NULL, &error);
  g_assert_no_error (error);
  hale_test_cert_write (other, NULL, pki->other_ca_path, NULL, &error);
  g_assert_no_error (error);

  leaf_pem = hale_test_cert_get_pem (leaf);
  key_pem = hale_test_cert_get_key_pem (leaf);
  both = g_strconcat (leaf_pem, key_pem, NULL);
  pki->server_tls = g_tls_certificate_new_from_pem (both, -1, &error);
  g_assert_no_error (error);
  return pki;
}

static void
test_tls (void)
{
  g_autoptr (HaleProber) prober = hale_prober_new ();
  Pki *pki = pki_new ();
  Server *s = server_new (pki->server_tls);
  g_autofree char *url = g_strdup_printf ("https://localhost:%u/ok", s->port);
  g_autofree char *by_ip = g_strdup_printf ("https://127.0.0.1:%u/ok", s->port);
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleProbeResult) untrusted = NULL;
  g_autoptr (HaleProbeResult) trusted = NULL;
  g_autoptr (HaleProbeResult) wrong_ca = NULL;
  g_autoptr (HaleProbeResult) wrong_name = NULL;
  g_autoptr (HaleProbeResult) no_file = NULL;
  HaleProbeOptions with_ca = { .timeout = 5 * G_USEC_PER_SEC, .ca_file = pki->ca_path };
  HaleProbeOptions with_other = { .timeout = 5 * G_USEC_PER_SEC, .ca_file = pki->other_ca_path };
  HaleProbeOptions with_missing
      = { .timeout = 5 * G_USEC_PER_SEC, .ca_file = "/nonexistent/hale-ca.pem" };

  /* The system's CAs do not know ours. */
  untrusted = probe (prober, url, 5 * G_USEC_PER_SEC);
  g_assert_false (untrusted->success);
  g_assert_cmpstr (untrusted->reason, ==, "tls: certificate not trusted (unknown-ca)");
  g_assert_cmpuint (s->requests, ==, 0);

  trusted = probe_full (prober, url, &with_ca, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (trusted->success);
  g_assert_cmpuint (trusted->http_status, ==, 200);
  g_assert_cmpint (trusted->tls, >=, 0);
  g_assert_cmpint (trusted->dns, >=, 0);
  g_assert_cmpuint (s->requests, ==, 1);

  wrong_ca = probe_full (prober, url, &with_other, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (wrong_ca->success);
  g_assert_true (g_str_has_prefix (wrong_ca->reason, "tls: certificate not trusted (unknown-ca"));

  /* Trusted, but issued for another name. */
  wrong_name = probe_full (prober, by_ip, &with_ca, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (wrong_name->success);
  g_assert_cmpstr (wrong_name->reason, ==,
                   "tls: certificate does not match the host (bad-identity)");

  no_file = probe_full (prober, url, &with_missing, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (no_file->success);
  g_assert_true (
      g_str_has_prefix (no_file->reason, "tls: cannot read CA file /nonexistent/hale-ca.pem"));
  g_assert_cmpuint (s->requests, ==, 1);

  server_free (s);
  pki_free (pki);
}

static void
test_many_at_once (void)
{
  g_autoptr (HaleProber) prober = hale_prober_new ();
  Server *s = server_new (NULL);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/slow", s->port);
  HaleProbeOptions options = { .timeout = 5 * G_USEC_PER_SEC };
  Done d[20] = { 0 };
  gint64 start = g_get_monotonic_time ();
  gboolean all_done = FALSE;

  /* Twenty probes of a target that takes 300 ms: concurrent, so all end
   * in well under 20 x 300 ms. */
  for (guint i = 0; i < G_N_ELEMENTS (d); i++)
    hale_prober_probe_async (prober, url, &options, NULL, on_probed, &d[i]);
  while (!all_done)
    {
      guint64 elapsed = g_get_monotonic_time () - start;
      g_assert_cmpuint (elapsed, <, HALE_TEST_TIMEOUT_SECONDS * G_USEC_PER_SEC);
      g_main_context_iteration (NULL, TRUE);
      all_done = TRUE;
      for (guint i = 0; i < G_N_ELEMENTS (d); i++)
        all_done &= d[i].done;
    }
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  for (guint i = 0; i < G_N_ELEMENTS (d); i++)
    {
      g_assert_no_error (d[i].error);
      g_assert_true (d[i].result->success);
      hale_probe_result_free (d[i].result);
    }
  g_assert_cmpuint (g_hash_table_size (s->client_ports), ==, G_N_ELEMENTS (d));
  server_free (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/probe/success", test_success);
  g_test_add_func ("/probe/status", test_status);
  g_test_add_func ("/probe/slow", test_slow);
  g_test_add_func ("/probe/timeout-silent", test_timeout_silent);
  g_test_add_func ("/probe/refused", test_refused);
  g_test_add_func ("/probe/body-cap", test_body_cap);
  g_test_add_func ("/probe/fresh-connection", test_fresh_connection);
  g_test_add_func ("/probe/cancel-and-bad-url", test_cancel_and_bad_url);
  g_test_add_func ("/probe/tls", test_tls);
  g_test_add_func ("/probe/many-at-once", test_many_at_once);
  return g_test_run ();
}
