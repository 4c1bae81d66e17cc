/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-http.c: the HTTP face over loopback, with a libsoup client in the
 * same process driving the main loop. Every wait has a time limit, so a
 * server that does not answer fails the test instead of hanging it. */
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

#include "hale-exposition.h"
#include "hale-http.h"
#include "hale-units.h"
#include "hale-names.h"
#include "hale-test-util.h"

#define WAIT_SECONDS 10
#define N_CONCURRENT 150

typedef struct
{
  HaleState *state;
  HaleReport *report;
  HaleMetrics *metrics;
  HaleHttp *http;
  SoupSession *session;
} Fixture;

static gboolean
timed_out_cb (gpointer data)
{
  gboolean *timed_out = data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Only the listen addresses are read by hale_http_configure(). */
static gboolean
configure (HaleHttp *http, const char *metrics_listen, const char *health_listen, GError **error)
{
  HaleConfig config = {
    .metrics_listen = (char *)metrics_listen,
    .health_listen = (char *)health_listen,
  };

  return hale_http_configure (http, &config, error);
}

/* A port nobody listens on right now. */
static guint16
free_port (void)
{
  g_autoptr (GSocket) socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GError) error = NULL;

  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  local = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  HaleMetricFamily *up;

  f->state = hale_state_new ();
  f->report = hale_report_new (f->state);
  f->metrics = hale_metrics_new (HALE_DEFAULT_NAMESPACE);
  up = hale_metrics_add (f->metrics, HALE_METRIC_GAUGE, "up", "1 while haled serves.", NULL, NULL,
                         NULL, 0, HALE_METRIC_FLAGS_NONE);
  hale_metric_set (up, NULL, 1);
  f->http = hale_http_new (f->report, f->metrics);
  configure (f->http, "127.0.0.1:0", "127.0.0.1:0", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hale_http_get_metrics_port (f->http), >, 0);
  g_assert_cmpuint (hale_http_get_metrics_port (f->http), ==, hale_http_get_health_port (f->http));

  f->session = soup_session_new ();
  /* Raw bytes: the test decompresses and checks gzip itself, and asks
   * for it only when it means to. */
  soup_session_remove_feature_by_type (f->session, SOUP_TYPE_CONTENT_DECODER);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->session);
  g_clear_object (&f->http);
  g_clear_object (&f->metrics);
  g_clear_object (&f->report);
  g_clear_object (&f->state);
  /* Let closed connections finish going away. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* @header/@value: one request header, or NULL. */
static SoupMessage *
fetch_full (Fixture *f, const char *method, guint16 port, const char *path, const char *header,
            const char *value, GBytes **out_body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  SoupMessage *msg = soup_message_new (method, uri);
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (msg);
  if (header != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), header, value);
  *out_body = hale_test_send_and_read (f->session, msg, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*out_body);
  return msg;
}

static SoupMessage *
fetch (Fixture *f, guint16 port, const char *path, GBytes **out_body)
{
  return fetch_full (f, "GET", port, path, NULL, NULL, out_body);
}

static const char *
header (SoupMessage *msg, const char *name)
{
  return soup_message_headers_get_one (soup_message_get_response_headers (msg), name);
}

static char *
body_string (GBytes *body)
{
  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

static JsonObject *
parse_json (GBytes *body, JsonParser **out_parser)
{
  g_autoptr (GError) error = NULL;
  JsonParser *parser = json_parser_new ();

  json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                              &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  *out_parser = parser;
  return json_node_get_object (json_parser_get_root (parser));
}

static GBytes *
gunzip (GBytes *compressed)
{
  g_autoptr (GZlibDecompressor) decompressor
      = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr (GInputStream) raw = g_memory_input_stream_new_from_bytes (compressed);
  g_autoptr (GInputStream) stream = g_converter_input_stream_new (raw, G_CONVERTER (decompressor));
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GError) error = NULL;

  g_output_stream_splice (out, stream,
                          G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                          NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

static void
test_http_metrics (Fixture *f, gconstpointer data)
{
  guint16 port = hale_http_get_metrics_port (f->http);
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree char *text = NULL;

  msg = fetch (f, port, "/metrics", &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpstr (header (msg, "Content-Type"), ==,
                   hale_exposition_content_type (HALE_METRICS_FORMAT_TEXT));
  g_assert_null (header (msg, "Content-Encoding"));
  g_assert_nonnull (strstr (header (msg, "Vary"), "Accept-Encoding"));
  g_assert_true (g_str_has_prefix (header (msg, "Server"), "haled/" PACKAGE_VERSION));
  text = body_string (body);
  g_assert_nonnull (strstr (text, "hale_up 1\n"));
  g_assert_null (strstr (text, "# EOF"));
  g_clear_object (&msg);
  g_clear_pointer (&body, g_bytes_unref);
  g_clear_pointer (&text, g_free);

  msg = fetch_full (f, "GET", port, "/metrics", "Accept",
                    "application/openmetrics-text; version=1.0.0,text/plain;q=0.5", &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpstr (header (msg, "Content-Type"), ==,
                   hale_exposition_content_type (HALE_METRICS_FORMAT_OPENMETRICS));
  text = body_string (body);
  g_assert_true (g_str_has_suffix (text, "# EOF\n"));
}

/* The exposition without the series that count requests: they move
 * with every request, the fetch of the exposition included. */
static char *
without_request_series (GBytes *exposition)
{
  g_autofree char *text
      = g_strndup (g_bytes_get_data (exposition, NULL), g_bytes_get_size (exposition));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], "hale_http_request") == NULL)
      g_string_append_printf (out, "%s\n", lines[i]);
  return g_string_free (out, FALSE);
}

static void
test_http_metrics_gzip (Fixture *f, gconstpointer data)
{
  guint16 port = hale_http_get_metrics_port (f->http);
  g_autoptr (SoupMessage) plain_msg = NULL;
  g_autoptr (SoupMessage) gzip_msg = NULL;
  g_autoptr (SoupMessage) refused_msg = NULL;
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GBytes) compressed = NULL;
  g_autoptr (GBytes) decompressed = NULL;
  g_autoptr (GBytes) refused = NULL;

  plain_msg = fetch (f, port, "/metrics", &plain);
  gzip_msg
      = fetch_full (f, "GET", port, "/metrics", "Accept-Encoding", "gzip, deflate", &compressed);
  g_assert_cmpuint (soup_message_get_status (gzip_msg), ==, 200);
  g_assert_cmpstr (header (gzip_msg, "Content-Encoding"), ==, "gzip");
  g_assert_cmpstr (header (gzip_msg, "Content-Type"), ==,
                   hale_exposition_content_type (HALE_METRICS_FORMAT_TEXT));
  /* gzip magic, then the very text a plain scrape gets. */
  g_assert_cmpuint (g_bytes_get_size (compressed), >, 2);
  g_assert_cmpint (((const guint8 *)g_bytes_get_data (compressed, NULL))[0], ==, 0x1f);
  decompressed = gunzip (compressed);
  {
    g_autofree char *a = without_request_series (decompressed);
    g_autofree char *b = without_request_series (plain);
    g_assert_cmpstr (a, ==, b);
  }

  /* Refused with q=0: plain text. */
  refused_msg = fetch_full (f, "GET", port, "/metrics", "Accept-Encoding", "gzip;q=0", &refused);
  g_assert_null (header (refused_msg, "Content-Encoding"));
  {
    g_autofree char *a = without_request_series (refused);
    g_autofree char *b = without_request_series (plain);
    g_assert_cmpstr (a, ==, b);
  }
}

static void
test_http_health (Fixture *f, gconstpointer data)
{
  guint16 port = hale_http_get_health_port (f->http);
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GBytes) expected = NULL;
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (HaleCheckResult) critical = NULL;
  JsonObject *o;

  msg = fetch (f, port, "/health", &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpstr (header (msg, "Content-Type"), ==, "application/json");
  g_assert_cmpstr (header (msg, "Cache-Control"), ==, "no-store");
  o = parse_json (body, &parser);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "healthy");
  /* Byte for byte what the report (and D-Bus GetReport) says. */
  expected = hale_report_get_json (f->report, HALE_REPORT_ALL, NULL);
  /* Equal unless the second ticked in between; the timestamp has a
   * fixed width, so the length is equal either way. */
  g_assert_cmpuint (g_bytes_get_size (expected), ==, g_bytes_get_size (body));
  g_clear_object (&msg);
  g_clear_object (&parser);
  g_clear_pointer (&body, g_bytes_unref);

  critical = hale_check_result_new (HALE_CHECK_PREFIX_CERTIFICATE "current", HALE_CHECK_CRITICAL,
                                    "expired", NULL, g_get_real_time (), 0);
  hale_state_set_check (f->state, critical);
  msg = fetch (f, port, "/health", &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 503);
  g_assert_cmpstr (header (msg, "Content-Type"), ==, "application/json");
  o = parse_json (body, &parser);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "unhealthy");
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (json_object_get_object_member (o, "checks"),
                                                      "certificate:current"),
                       "message"),
                   ==, "expired");
}

static void
test_http_health_sections (Fixture *f, gconstpointer data)
{
  guint16 port = hale_http_get_health_port (f->http);
  g_autoptr (HaleCheckResult) cert = NULL;
  g_autoptr (HaleCheckResult) service = NULL;
  GVariantBuilder b;
  struct
  {
    const char *path;
    guint status;
    const char *json_status;
    const char *member;
  } cases[] = {
    { "/health/certificate", 200, "warning", "certificates" },
    { "/health/connectivity", 200, "healthy", "endpoints" },
    { "/health/services", 503, "critical", "services" },
  };

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "serial", g_variant_new_string ("0a1b"));
  cert = hale_check_result_new (HALE_CHECK_PREFIX_CERTIFICATE "current", HALE_CHECK_WARNING,
                                "expires in 2 days", g_variant_builder_end (&b), g_get_real_time (),
                                0);
  hale_state_set_check (f->state, cert);
  service = hale_check_result_new (HALE_CHECK_PREFIX_SERVICE "nginx", HALE_CHECK_CRITICAL,
                                   "reload failed", NULL, g_get_real_time (), 0);
  hale_state_set_check (f->state, service);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SoupMessage) msg = NULL;
      g_autoptr (GBytes) body = NULL;
      g_autoptr (JsonParser) parser = NULL;
      JsonObject *o;

      msg = fetch (f, port, cases[i].path, &body);
      g_assert_cmpuint (soup_message_get_status (msg), ==, cases[i].status);
      g_assert_cmpstr (header (msg, "Content-Type"), ==, "application/json");
      g_assert_cmpstr (header (msg, "Cache-Control"), ==, "no-store");
      o = parse_json (body, &parser);
      g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, cases[i].json_status);
      g_assert_true (json_object_has_member (o, cases[i].member));
      g_assert_true (json_object_has_member (o, "timestamp"));
      if (i == 0)
        g_assert_cmpstr (
            json_object_get_string_member (json_object_get_object_member (o, "details"), "serial"),
            ==, "0a1b");
      if (i == 1)
        g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "unknown");
    }
}

static void
test_http_landing (Fixture *f, gconstpointer data)
{
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree char *text = NULL;

  msg = fetch (f, hale_http_get_health_port (f->http), "/", &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_true (g_str_has_prefix (header (msg, "Content-Type"), "text/html"));
  text = body_string (body);
  g_assert_nonnull (strstr (text, "href=\"/metrics\""));
  g_assert_nonnull (strstr (text, "href=\"/health\""));
}

static void
test_http_not_found (Fixture *f, gconstpointer data)
{
  guint16 port = hale_http_get_health_port (f->http);
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *o;

  msg = fetch (f, port, "/x", &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 404);
  g_assert_cmpstr (header (msg, "Content-Type"), ==, "application/json");
  o = parse_json (body, &parser);
  g_assert_cmpstr (json_object_get_string_member (o, "error"), ==, "not_found");
  g_assert_cmpstr (json_object_get_string_member (o, "message"), ==, "no such path: /x");
  g_clear_object (&msg);
  g_clear_pointer (&body, g_bytes_unref);

  msg = fetch (f, port, "/health/", &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 404);
  g_clear_object (&msg);
  g_clear_pointer (&body, g_bytes_unref);

  /* Query strings do not change the answer. */
  msg = fetch (f, port, "/health?verbose=1&x=%ff", &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_clear_object (&msg);
  g_clear_pointer (&body, g_bytes_unref);
  msg = fetch (f, port, "/metrics?name[]=hale_up", &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
}

static void
test_http_methods (Fixture *f, gconstpointer data)
{
  guint16 port = hale_http_get_health_port (f->http);
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GBytes) get_body = NULL;
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *o;

  msg = fetch_full (f, "POST", port, "/health", NULL, NULL, &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 405);
  g_assert_cmpstr (header (msg, "Allow"), ==, "GET, HEAD");
  o = parse_json (body, &parser);
  g_assert_cmpstr (json_object_get_string_member (o, "error"), ==, "method_not_allowed");
  g_assert_nonnull (strstr (json_object_get_string_member (o, "message"), "POST"));
  g_clear_object (&msg);
  g_clear_pointer (&body, g_bytes_unref);

  msg = fetch_full (f, "DELETE", port, "/metrics", NULL, NULL, &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 405);
  g_assert_cmpstr (header (msg, "Allow"), ==, "GET, HEAD");
  g_clear_object (&msg);
  g_clear_pointer (&body, g_bytes_unref);

  /* HEAD: the headers of a GET, no body. The exposition a GET would
   * get now (the request counters move with each request, so not the
   * previous GET's). */
  g_clear_object (&msg);
  get_body = hale_metrics_render (f->metrics, HALE_METRICS_FORMAT_TEXT);
  msg = fetch_full (f, "HEAD", port, "/metrics", NULL, NULL, &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpuint (g_bytes_get_size (body), ==, 0);
  g_assert_cmpstr (header (msg, "Content-Type"), ==,
                   hale_exposition_content_type (HALE_METRICS_FORMAT_TEXT));
  g_assert_cmpint (
      soup_message_headers_get_content_length (soup_message_get_response_headers (msg)), ==,
      g_bytes_get_size (get_body));
  g_clear_object (&msg);
  g_clear_pointer (&body, g_bytes_unref);

  msg = fetch_full (f, "HEAD", port, "/health", NULL, NULL, &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpuint (g_bytes_get_size (body), ==, 0);
  g_assert_cmpstr (header (msg, "Content-Type"), ==, "application/json");
}

static guint
status_of (Fixture *f, guint16 port, const char *path)
{
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;

  msg = fetch (f, port, path, &body);
  return soup_message_get_status (msg);
}

static void
test_http_separate_listeners (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *health_listen = g_strdup_printf ("127.0.0.1:%u", free_port ());
  guint16 metrics_port, health_port;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree char *text = NULL;

  configure (f->http, "127.0.0.1:0", health_listen, &error);
  g_assert_no_error (error);
  metrics_port = hale_http_get_metrics_port (f->http);
  health_port = hale_http_get_health_port (f->http);
  g_assert_cmpuint (metrics_port, !=, health_port);

  /* Each listener serves its own face, and / on both. */
  g_assert_cmpuint (status_of (f, metrics_port, "/metrics"), ==, 200);
  g_assert_cmpuint (status_of (f, metrics_port, "/health"), ==, 404);
  g_assert_cmpuint (status_of (f, metrics_port, "/health/certificate"), ==, 404);
  g_assert_cmpuint (status_of (f, health_port, "/health"), ==, 200);
  g_assert_cmpuint (status_of (f, health_port, "/health/services"), ==, 200);
  g_assert_cmpuint (status_of (f, health_port, "/metrics"), ==, 404);

  /* The landing page links what this listener serves. */
  msg = fetch (f, metrics_port, "/", &body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  text = body_string (body);
  g_assert_nonnull (strstr (text, "href=\"/metrics\""));
  g_assert_null (strstr (text, "href=\"/health\""));
  g_clear_object (&msg);
  g_clear_pointer (&body, g_bytes_unref);
  g_clear_pointer (&text, g_free);

  msg = fetch (f, health_port, "/", &body);
  text = body_string (body);
  g_assert_null (strstr (text, "href=\"/metrics\""));
  g_assert_nonnull (strstr (text, "href=\"/health\""));
}

/* True when something accepts connections on @port. */
static gboolean
port_open (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  g_socket_client_set_timeout (client, WAIT_SECONDS);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  return connection != NULL;
}

static void
test_http_reconfigure (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint16 old_port = hale_http_get_health_port (f->http);
  guint16 new_port = free_port ();
  g_autofree char *health_listen = g_strdup_printf ("127.0.0.1:%u", new_port);

  /* Health moves; the metrics listener is the same socket as before. */
  configure (f->http, "127.0.0.1:0", health_listen, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hale_http_get_metrics_port (f->http), ==, old_port);
  g_assert_cmpuint (hale_http_get_health_port (f->http), ==, new_port);
  g_assert_cmpuint (status_of (f, new_port, "/health"), ==, 200);
  g_assert_cmpuint (status_of (f, old_port, "/metrics"), ==, 200);
  g_assert_cmpuint (status_of (f, old_port, "/health"), ==, 404);

  /* The same configuration again changes nothing. */
  configure (f->http, "127.0.0.1:0", health_listen, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hale_http_get_metrics_port (f->http), ==, old_port);
  g_assert_cmpuint (hale_http_get_health_port (f->http), ==, new_port);

  /* Back onto one listener: the other port is closed. */
  configure (f->http, "127.0.0.1:0", "localhost:0", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hale_http_get_health_port (f->http), ==, old_port);
  g_assert_cmpuint (status_of (f, old_port, "/health"), ==, 200);
  g_assert_cmpuint (status_of (f, old_port, "/metrics"), ==, 200);
  g_assert_false (port_open (new_port));
}

static void
test_http_port_taken (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) squatter
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) local = NULL;
  g_autofree char *taken = NULL;
  g_autofree char *port_text = NULL;
  guint16 old_port = hale_http_get_health_port (f->http);
  guint16 taken_port;

  g_socket_bind (squatter, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (squatter, &error);
  g_assert_no_error (error);
  local = g_socket_get_local_address (squatter, &error);
  g_assert_no_error (error);
  taken_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  taken = g_strdup_printf ("127.0.0.1:%u", taken_port);
  port_text = g_strdup_printf ("%u", taken_port);

  g_assert_false (configure (f->http, "127.0.0.1:0", taken, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "HealthListen"));
  g_assert_nonnull (strstr (error->message, port_text));
  g_clear_error (&error);

  /* Nothing changed: the old listener serves everything still. */
  g_assert_cmpuint (hale_http_get_health_port (f->http), ==, old_port);
  g_assert_cmpuint (hale_http_get_metrics_port (f->http), ==, old_port);
  g_assert_cmpuint (status_of (f, old_port, "/health"), ==, 200);
  g_assert_cmpuint (status_of (f, old_port, "/metrics"), ==, 200);
}

static void
test_http_bad_address (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint16 old_port = hale_http_get_health_port (f->http);

  /* A name would need DNS: refused, clearly. */
  g_assert_false (configure (f->http, "example.com:9091", "127.0.0.1:0", &error));
  g_assert_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "MetricsListen"));
  g_assert_nonnull (strstr (error->message, "example.com"));
  g_clear_error (&error);

  g_assert_false (configure (f->http, "127.0.0.1:0", "nonsense", &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "HealthListen"));
  g_clear_error (&error);

  g_assert_cmpuint (status_of (f, old_port, "/health"), ==, 200);
}

/* ":PORT" is every address; IPv4 clients reach it whichever socket
 * family it ended up as. */
static void
test_http_all_addresses (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint16 port;

  configure (f->http, ":0", ":0", &error);
  g_assert_no_error (error);
  port = hale_http_get_health_port (f->http);
  g_assert_cmpuint (port, >, 0);
  g_assert_cmpuint (hale_http_get_metrics_port (f->http), ==, port);
  g_assert_cmpuint (status_of (f, port, "/health"), ==, 200);
  g_assert_cmpuint (status_of (f, port, "/metrics"), ==, 200);
}

typedef struct
{
  GSocketConnection *connection;
  char buffer[4096];
  gsize length;
  gboolean done;
  guint *n_done;
} RawExchange;

static void
raw_read_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  RawExchange *exchange = data;
  g_autoptr (GError) error = NULL;

  /* A reset is a server hanging up on a request it refused. */
  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &exchange->length, &error))
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  exchange->done = TRUE;
  if (exchange->n_done != NULL)
    (*exchange->n_done)++;
}

static GSocketConnection *
raw_connect (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection;

  /* A synchronous connect completes in the kernel while the main loop
   * (and so the server) stands still: only the listen backlog decides
   * whether it succeeds. */
  g_socket_client_set_timeout (client, WAIT_SECONDS);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

typedef struct
{
  gboolean done;
  GError *error;
} Write;

static void
raw_write_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Write *write = data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &write->error);
  write->done = TRUE;
}

/* Asynchronous, so a request larger than the socket buffers goes out
 * while the server reads it. FALSE when the server hung up first. */
static gboolean
raw_send (GSocketConnection *connection, const char *data, gsize length)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  Write write = { 0 };

  g_output_stream_write_all_async (out, data, length, G_PRIORITY_DEFAULT, NULL, raw_write_cb,
                                   &write);
  HALE_TEST_WAIT_UNTIL (write.done);
  if (write.error == NULL)
    return TRUE;
  g_test_message ("write: %s", write.error->message);
  g_assert_true (g_error_matches (write.error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE)
                 || g_error_matches (write.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED));
  g_error_free (write.error);
  return FALSE;
}

static void
raw_receive_async (RawExchange *exchange)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (exchange->connection));

  g_input_stream_read_all_async (in, exchange->buffer, sizeof exchange->buffer - 1,
                                 G_PRIORITY_DEFAULT, NULL, raw_read_cb, exchange);
}

/* The backlog: a crowd of health checkers arriving at the same instant
 * all get in and all get an answer. */
static void
test_http_concurrent (Fixture *f, gconstpointer data)
{
  guint16 port = hale_http_get_health_port (f->http);
  static const char request[]
      = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  g_autofree RawExchange *exchanges = g_new0 (RawExchange, N_CONCURRENT);
  guint n_done = 0;
  gboolean all_done = FALSE;

  /* All connect before the main loop runs again, so the server
   * accepts none of them until every one is queued. */
  for (guint i = 0; i < N_CONCURRENT; i++)
    {
      exchanges[i].connection = raw_connect (port);
      exchanges[i].n_done = &n_done;
    }
  for (guint i = 0; i < N_CONCURRENT; i++)
    g_assert_true (raw_send (exchanges[i].connection, request, strlen (request)));
  for (guint i = 0; i < N_CONCURRENT; i++)
    raw_receive_async (&exchanges[i]);

  {
    gboolean timed_out = FALSE;
    guint id = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, &timed_out);

    while (n_done < N_CONCURRENT && !timed_out)
      g_main_context_iteration (NULL, TRUE);
    if (!timed_out)
      g_source_remove (id);
    all_done = n_done == N_CONCURRENT;
  }
  g_assert_true (all_done);

  for (guint i = 0; i < N_CONCURRENT; i++)
    {
      exchanges[i].buffer[exchanges[i].length] = '\0';
      g_assert_true (g_str_has_prefix (exchanges[i].buffer, "HTTP/1.1 200"));
      g_assert_nonnull (strstr (exchanges[i].buffer, "\"status\":\"healthy\""));
      g_io_stream_close (G_IO_STREAM (exchanges[i].connection), NULL, NULL);
      g_object_unref (exchanges[i].connection);
    }
}

/* Whatever a client sends, it gets a 4xx or is hung up on, and the
 * server goes on answering. */
static void
test_http_bad_requests (Fixture *f, gconstpointer data)
{
  guint16 port = hale_http_get_health_port (f->http);
  g_autoptr (GString) huge = g_string_new ("GET /health HTTP/1.1\r\nHost: x\r\n");
  static const char negative_length[]
      = "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n";
  const char *garbage[] = {
    "BLAH\r\n\r\n",
    "GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
    "GET\r\n\r\n",
    negative_length,
    "\x01\x02\x03\xff\xfe\r\n\r\n",
    NULL, /* the huge one */
  };

  for (guint i = 0; i < 2000; i++)
    g_string_append_printf (huge, "X-Padding-%u: %0100u\r\n", i, i);
  g_string_append (huge, "Connection: close\r\n\r\n");

  for (gsize i = 0; i < G_N_ELEMENTS (garbage); i++)
    {
      RawExchange exchange = { 0 };
      const char *request = garbage[i] ? garbage[i] : huge->str;

      exchange.connection = raw_connect (port);
      /* libsoup 3.2 would wait for the body of a negative
       * Content-Length for ever (and warn about a GObject property);
       * haled refuses a GET with a declared body before that. */
      if (!raw_send (exchange.connection, request, strlen (request)))
        exchange.done = TRUE; /* hung up on while sending */
      else
        raw_receive_async (&exchange);
      HALE_TEST_WAIT_UNTIL (exchange.done);
      exchange.buffer[exchange.length] = '\0';
      g_test_message ("request %" G_GSIZE_FORMAT ": %.40s", i, exchange.buffer);
      /* Hung up on without a word, or a client error (505 for a version
       * it does not speak). */
      if (exchange.length > 0)
        {
          guint code = 0;
          g_assert_true (g_str_has_prefix (exchange.buffer, "HTTP/1."));
          g_assert_cmpint (sscanf (exchange.buffer + strlen ("HTTP/1.x"), " %u", &code), ==, 1);
          g_assert_true ((code >= 400 && code < 500) || code == 505);
        }
      g_io_stream_close (G_IO_STREAM (exchange.connection), NULL, NULL);
      g_object_unref (exchange.connection);
    }

  g_assert_cmpuint (status_of (f, port, "/health"), ==, 200);
}

/* One whole request on a connection of its own, and what came back
 * until the server hung up (NUL-terminated). */
static void
raw_exchange (guint16 port, const char *request, RawExchange *exchange)
{
  exchange->connection = raw_connect (port);
  g_assert_true (raw_send (exchange->connection, request, strlen (request)));
  raw_receive_async (exchange);
  HALE_TEST_WAIT_UNTIL (exchange->done);
  exchange->buffer[exchange->length] = '\0';
  g_io_stream_close (G_IO_STREAM (exchange->connection), NULL, NULL);
  g_clear_object (&exchange->connection);
}

/* A request haled refuses before its body is answered at once, body or
 * no body: none of these sends the body it declares, and each answer
 * comes well before the 10 s I/O timeout would close the connection. */
static void
test_http_refused_at_once (Fixture *f, gconstpointer data)
{
  guint16 port = hale_http_get_health_port (f->http);
  const struct
  {
    const char *request;
    const char *status;
  } cases[] = {
    { "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", "HTTP/1.1 413" },
    { "GET /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", "HTTP/1.1 413" },
    { "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", "HTTP/1.1 405" },
    /* libsoup gives a chunked body the length 0: still a body. */
    { "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 413" },
    { "HEAD /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 413" },
    /* A malformed chunk after the headers changes nothing. */
    { "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 413" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      RawExchange exchange = { 0 };
      gint64 start = g_get_monotonic_time ();
      gint64 took;

      g_test_message ("request %" G_GSIZE_FORMAT ": %s", i, cases[i].request);
      raw_exchange (port, cases[i].request, &exchange);
      took = g_get_monotonic_time () - start;
      g_assert_true (g_str_has_prefix (exchange.buffer, cases[i].status));
      g_assert_nonnull (strstr (exchange.buffer, "Connection: close\r\n"));
      if (g_str_has_prefix (cases[i].request, "HEAD"))
        g_assert_true (g_str_has_suffix (exchange.buffer, "\r\n\r\n"));
      else
        g_assert_nonnull (strstr (exchange.buffer, "\"error\":"));
      g_assert_cmpint (took, <, 2 * G_USEC_PER_SEC);
    }
  g_assert_cmpuint (status_of (f, port, "/health"), ==, 200);
}

/* libsoup 3.2 keeps ~2 KB for good of every kept-alive connection its
 * client closes (bench/churn measures it): with it, haled ends every
 * connection after its answer, which libsoup frees whole. */
static void
test_http_no_keepalive_on_old_libsoup (Fixture *f, gconstpointer data)
{
  guint16 port = hale_http_get_health_port (f->http);
  static const char request[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  RawExchange exchange = { 0 };

  if (soup_get_major_version () != 3 || soup_get_minor_version () >= 3)
    {
      g_test_skip ("libsoup 3.3 and later free closed kept-alive connections");
      return;
    }
  /* It ends only when haled hangs up. */
  raw_exchange (port, request, &exchange);
  g_assert_true (g_str_has_prefix (exchange.buffer, "HTTP/1.1 200"));
  g_assert_nonnull (strstr (exchange.buffer, "Connection: close\r\n"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func)                                                                            \
  g_test_add ("/http/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("no-keepalive-on-old-libsoup", test_http_no_keepalive_on_old_libsoup);
  ADD ("refused-at-once", test_http_refused_at_once);
  ADD ("metrics", test_http_metrics);
  ADD ("metrics-gzip", test_http_metrics_gzip);
  ADD ("health", test_http_health);
  ADD ("health-sections", test_http_health_sections);
  ADD ("landing", test_http_landing);
  ADD ("not-found", test_http_not_found);
  ADD ("methods", test_http_methods);
  ADD ("separate-listeners", test_http_separate_listeners);
  ADD ("reconfigure", test_http_reconfigure);
  ADD ("port-taken", test_http_port_taken);
  ADD ("bad-address", test_http_bad_address);
  ADD ("all-addresses", test_http_all_addresses);
  ADD ("concurrent", test_http_concurrent);
  ADD ("bad-requests", test_http_bad_requests);
#undef ADD

  return g_test_run ();
}
