/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-connectivity.c: rounds, the connectivity state and degraded mode,
 * against real local servers, seen through every face.
 *
 * Endpoints are paths of one SoupServer on loopback whose answers the
 * test switches (up: 200, down: 503), plus a listener that accepts and
 * never answers. Intervals are 250 ms and the threshold 1.5 s, so
 * "within one interval" is checked with real clocks in a few seconds.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "hale-audit.h"
#include "hale-connectivity.h"
#include "hale-dbus-degraded.h"
#include "hale-dbus-generated.h"
#include "hale-dbus.h"
#include "hale-names.h"
#include "hale-report.h"
#include "hale-test-util.h"

#define INTERVAL_MS 250
#define THRESHOLD_MS 1500
/* Scheduling on a loaded CI machine: what "at once" may take. */
#define SLACK_MS 250

typedef struct
{
  SoupServer *server;
  guint port;
  GHashTable *down; /* paths answering 503 */
  GSocketService *silent;
  guint silent_port;
  GPtrArray *held;

  char *dir;
  char *audit_path;
  HaleState *state;
  HaleMetrics *metrics;
  HaleAudit *audit;
  HaleProber *prober;
  HaleConnectivity *conn;
  HaleReport *report;

  guint entered;
  guint exited;
  guint rechecks;
  gint64 entered_time; /* real time when "entered" was seen */
  gint64 exited_time;
  guint64 exited_duration;
} Fixture;

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  Fixture *f = user_data;

  if (g_hash_table_contains (f->down, path))
    soup_server_message_set_status (msg, 503, NULL);
  else
    {
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "ok", 2);
    }
}

static void
on_incoming_hold (GSocketService *service, GSocketConnection *connection, GObject *source,
                  GPtrArray *held)
{
  g_ptr_array_add (held, g_object_ref (connection));
}

static void
on_entered (HaleConnectivity *conn, guint64 entered_at, Fixture *f)
{
  f->entered++;
  f->entered_time = g_get_real_time ();
  g_assert_cmpuint (entered_at, ==, hale_connectivity_get_entered_at (conn));
}

static void
on_exited (HaleConnectivity *conn, guint64 entered_at, guint64 duration, Fixture *f)
{
  f->exited++;
  f->exited_time = g_get_real_time ();
  f->exited_duration = duration;
  g_assert_cmpuint (entered_at, >, 0);
}

static void
on_recheck (HaleConnectivity *conn, Fixture *f)
{
  f->rechecks++;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSList) uris = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) effective = NULL;

  f->down = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, NULL, handler, f, NULL);
  soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->server);
  f->port = g_uri_get_port (uris->data);
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify)g_uri_unref);

  f->held = g_ptr_array_new_with_free_func (g_object_unref);
  f->silent = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (f->silent), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  f->silent_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (f->silent, "incoming", G_CALLBACK (on_incoming_hold), f->held);

  f->dir = g_dir_make_tmp ("hale-conn-XXXXXX", &error);
  g_assert_no_error (error);
  f->audit_path = g_build_filename (f->dir, "audit.log", NULL);

  f->state = hale_state_new ();
  f->metrics = hale_metrics_new ("hale");
  f->audit = hale_audit_new (f->metrics);
  f->prober = hale_prober_new ();
  f->conn = hale_connectivity_new (f->state, f->metrics, f->audit, f->prober);
  f->report = hale_report_new (f->state);
  g_signal_connect (f->conn, "entered", G_CALLBACK (on_entered), f);
  g_signal_connect (f->conn, "exited", G_CALLBACK (on_exited), f);
  g_signal_connect (f->conn, "recheck-requested", G_CALLBACK (on_recheck), f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autofree char *config = g_build_filename (f->dir, "hale.conf", NULL);

  hale_connectivity_stop (f->conn);
  g_clear_object (&f->conn);
  g_clear_object (&f->report);
  g_clear_object (&f->prober);
  g_clear_object (&f->audit);
  g_clear_object (&f->metrics);
  g_clear_object (&f->state);
  g_socket_service_stop (f->silent);
  g_socket_listener_close (G_SOCKET_LISTENER (f->silent));
  g_clear_object (&f->silent);
  g_clear_pointer (&f->held, g_ptr_array_unref);
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_hash_table_unref (f->down);
  g_unlink (f->audit_path);
  g_unlink (config);
  g_rmdir (f->dir);
  g_free (f->audit_path);
  g_free (f->dir);
}

/* Loads a real hale.conf: [Network] for the test's clocks, the audit
 * file, and @endpoints (groups as written, "%u" for the server's port,
 * "%s" for the silent one's). */
static HaleConfig *
load_config (Fixture *f, const char *endpoints)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "hale.conf", NULL);
  g_autofree char *silent = g_strdup_printf ("%u", f->silent_port);
  g_autofree char *port = g_strdup_printf ("%u", f->port);
  g_autoptr (GString) groups = g_string_new (endpoints);
  g_autofree char *text = NULL;
  HaleConfig *config;

  g_string_replace (groups, "%u", port, 0);
  g_string_replace (groups, "%s", silent, 0);
  text = g_strdup_printf ("[Monitoring]\nAuditLog=%s\n"
                          "[Network]\nCheckInterval=%ums\nTimeout=1s\nDegradedThreshold=%ums\n%s",
                          f->audit_path, INTERVAL_MS, THRESHOLD_MS, groups->str);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  config = hale_config_load (path, &error);
  g_assert_no_error (error);
  hale_audit_configure (f->audit, config);
  return config;
}

static void
configure (Fixture *f, const char *endpoints)
{
  g_autoptr (HaleConfig) config = load_config (f, endpoints);

  hale_connectivity_configure (f->conn, config);
}

static void
set_down (Fixture *f, const char *path, gboolean down)
{
  if (down)
    g_hash_table_add (f->down, g_strdup (path));
  else
    g_hash_table_remove (f->down, path);
}

static double
metric (Fixture *f, const char *name, const char *endpoint)
{
  HaleMetricFamily *family = hale_metrics_lookup (f->metrics, name);
  const char *labels[] = { endpoint, NULL };
  double value = -1;

  g_assert_true (hale_metric_get (family, endpoint != NULL ? labels : NULL, &value));
  return value;
}

static guint64
probes_of (Fixture *f, const char *name)
{
  g_autofree char *check_name = g_strconcat (HALE_CHECK_PREFIX_ENDPOINT, name, NULL);
  g_autoptr (HaleCheckResult) check = hale_state_get_check (f->state, check_name);
  guint64 probes = 0;

  if (check != NULL)
    g_variant_lookup (check->details, "probes", "t", &probes);
  return probes;
}

static char *
connectivity_state (Fixture *f)
{
  g_autoptr (HaleCheckResult) check = hale_state_get_check (f->state, HALE_CHECK_CONNECTIVITY);
  char *state = NULL;

  if (check != NULL)
    g_variant_lookup (check->details, "state", "s", &state);
  return state;
}

static JsonObject *
report_connectivity (Fixture *f, JsonParser *parser)
{
  g_autoptr (GError) error = NULL;
  guint status = 0;
  g_autoptr (GBytes) bytes = hale_report_get_json (f->report, HALE_REPORT_CONNECTIVITY, &status);

  json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                              &error);
  g_assert_no_error (error);
  g_assert_cmpuint (status, ==, 200);
  return json_node_get_object (json_parser_get_root (parser));
}

static gboolean
audit_has (Fixture *f, const char *event)
{
  g_autofree char *contents = NULL;
  g_autofree char *needle = g_strdup_printf ("\"event_type\":\"%s\"", event);

  if (!g_file_get_contents (f->audit_path, &contents, NULL, NULL))
    return FALSE;
  return strstr (contents, needle) != NULL;
}

#define ENDPOINTS_CA_IDP                                                                           \
  "[Endpoint ca]\nURL=http://127.0.0.1:%u/ca\nCritical=true\n"                                     \
  "[Endpoint idp]\nURL=http://127.0.0.1:%u/idp\n"

/* ---- tests -------------------------------------------------------------- */

static void
test_healthy (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *state = NULL;
  JsonObject *root, *endpoints, *ca;
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GVariant) ca_dict = NULL;
  const char *status = NULL;

  configure (f, ENDPOINTS_CA_IDP);
  HALE_TEST_WAIT_UNTIL (probes_of (f, "ca") >= 2 && probes_of (f, "idp") >= 2);

  state = connectivity_state (f);
  g_assert_cmpstr (state, ==, "healthy");
  g_assert_cmpint (hale_connectivity_get_state (f->conn), ==, HALE_CONNECTIVITY_HEALTHY);
  g_assert_false (hale_connectivity_get_degraded (f->conn));
  g_assert_cmpuint (hale_connectivity_get_last_successful (f->conn), >, 0);
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_HEALTHY);

  g_assert_cmpfloat (metric (f, "connectivity_status", NULL), ==, 0);
  g_assert_cmpfloat (metric (f, "degraded_mode", NULL), ==, 0);
  g_assert_cmpfloat (metric (f, "endpoint_up", "ca"), ==, 1);
  g_assert_cmpfloat (metric (f, "endpoint_qos", "idp"), ==, 1.0);
  g_assert_cmpfloat (metric (f, "endpoint_http_status", "idp"), ==, 200);
  g_assert_cmpfloat (metric (f, "endpoint_last_success_timestamp_seconds", "ca"), >, 1e9);

  root = report_connectivity (f, parser);
  g_assert_cmpstr (json_object_get_string_member (root, "state"), ==, "healthy");
  g_assert_false (json_object_get_boolean_member (root, "degraded_mode"));
  endpoints = json_object_get_object_member (root, "endpoints");
  g_assert_cmpuint (json_object_get_size (endpoints), ==, 2);
  ca = json_object_get_object_member (endpoints, "ca");
  g_assert_cmpstr (json_object_get_string_member (ca, "status"), ==, "healthy");
  ca = json_object_get_object_member (ca, "details");
  g_assert_true (json_object_get_boolean_member (ca, "success"));
  g_assert_true (json_object_get_boolean_member (ca, "critical"));
  g_assert_cmpint (json_object_get_int_member (ca, "http_status"), ==, 200);
  g_assert_false (json_object_get_boolean_member (ca, "cached"));
  g_assert_false (json_object_has_member (ca, "age_seconds"));

  /* GetEndpoints() answers the same, in configuration order. */
  list = hale_connectivity_get_endpoints (f->conn);
  g_variant_ref_sink (list);
  g_assert_cmpuint (g_variant_n_children (list), ==, 2);
  ca_dict = g_variant_lookup_value (list, "ca", G_VARIANT_TYPE_VARDICT);
  g_assert_nonnull (ca_dict);
  g_assert_true (g_variant_lookup (ca_dict, "status", "&s", &status));
  g_assert_cmpstr (status, ==, "healthy");
}

static void
test_offline_and_degraded_mode (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *state = NULL;
  gint64 last_ok, went_down;
  JsonObject *root, *ca, *details;

  configure (f, ENDPOINTS_CA_IDP);
  HALE_TEST_WAIT_UNTIL (probes_of (f, "ca") >= 1 && probes_of (f, "idp") >= 1);
  g_assert_cmpint (hale_connectivity_get_state (f->conn), ==, HALE_CONNECTIVITY_HEALTHY);

  /* The critical CA goes away: offline within one interval... */
  set_down (f, "/ca", TRUE);
  went_down = g_get_real_time ();
  HALE_TEST_WAIT_UNTIL (hale_connectivity_get_state (f->conn) == HALE_CONNECTIVITY_OFFLINE);
  g_assert_cmpint (g_get_real_time () - went_down, <=, (INTERVAL_MS + SLACK_MS) * 1000);
  state = connectivity_state (f);
  g_assert_cmpstr (state, ==, "offline");
  g_assert_cmpfloat (metric (f, "connectivity_status", NULL), ==, 2);
  g_assert_cmpfloat (metric (f, "endpoint_up", "ca"), ==, 0);
  g_assert_cmpfloat (metric (f, "endpoint_up", "idp"), ==, 1);
  /* ...but not degraded mode yet: the threshold has not passed. */
  g_assert_false (hale_connectivity_get_degraded (f->conn));
  g_assert_false (hale_state_get_degraded (f->state));
  last_ok = (gint64)hale_connectivity_get_last_successful (f->conn);
  g_assert_cmpint (last_ok, >, 0);

  HALE_TEST_WAIT_UNTIL (f->entered > 0);
  /* Not before the threshold, within one interval after it. */
  g_assert_cmpint (f->entered_time - last_ok, >, THRESHOLD_MS * 1000);
  g_assert_cmpint (f->entered_time - last_ok, <=, (THRESHOLD_MS + INTERVAL_MS + SLACK_MS) * 1000);
  g_assert_cmpuint (f->entered, ==, 1);

  /* Every face says so. */
  g_assert_true (hale_connectivity_get_degraded (f->conn));
  g_assert_true (hale_state_get_degraded (f->state));
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_DEGRADED);
  g_assert_cmpfloat (metric (f, "degraded_mode", NULL), ==, 1);
  g_assert_cmpfloat (metric (f, "degraded_mode_entered_timestamp_seconds", NULL), ==,
                     (double)(hale_connectivity_get_entered_at (f->conn) / G_USEC_PER_SEC));
  g_assert_true (audit_has (f, HALE_EVENT_DEGRADED_ENTERED));
  g_assert_false (audit_has (f, HALE_EVENT_DEGRADED_EXITED));

  /* Results served are marked cached, with their age. */
  HALE_TEST_WAIT_UNTIL (probes_of (f, "idp") >= 8);
  root = report_connectivity (f, parser);
  g_assert_cmpstr (json_object_get_string_member (root, "state"), ==, "offline");
  g_assert_true (json_object_get_boolean_member (root, "degraded_mode"));
  ca = json_object_get_object_member (json_object_get_object_member (root, "endpoints"), "ca");
  g_assert_cmpstr (json_object_get_string_member (ca, "status"), ==, "warning");
  details = json_object_get_object_member (ca, "details");
  g_assert_true (json_object_get_boolean_member (details, "cached"));
  g_assert_cmpint (json_object_get_int_member (details, "age_seconds"), >=, 1);
  g_assert_cmpstr (json_object_get_string_member (details, "reason"), ==, "http status 503");
  g_assert_cmpfloat (json_object_get_double_member (details, "qos"), <, 1.0);

  /* Back: left within one interval, with a recheck. */
  set_down (f, "/ca", FALSE);
  went_down = g_get_real_time (); /* now: came back */
  HALE_TEST_WAIT_UNTIL (f->exited > 0);
  g_assert_cmpint (f->exited_time - went_down, <=, (INTERVAL_MS + SLACK_MS) * 1000);
  g_assert_cmpuint (f->rechecks, ==, 1);
  g_assert_cmpuint (f->exited_duration, >=, (guint64)(f->exited_time - f->entered_time - 1000));
  g_assert_false (hale_connectivity_get_degraded (f->conn));
  g_assert_false (hale_state_get_degraded (f->state));
  g_assert_cmpuint (hale_connectivity_get_entered_at (f->conn), ==, 0);
  g_assert_cmpint (hale_connectivity_get_state (f->conn), ==, HALE_CONNECTIVITY_HEALTHY);
  g_assert_cmpfloat (metric (f, "degraded_mode", NULL), ==, 0);
  g_assert_cmpfloat (metric (f, "connectivity_status", NULL), ==, 0);
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_HEALTHY);
  g_assert_true (audit_has (f, HALE_EVENT_DEGRADED_EXITED));

  root = report_connectivity (f, parser);
  ca = json_object_get_object_member (json_object_get_object_member (root, "endpoints"), "ca");
  details = json_object_get_object_member (ca, "details");
  g_assert_false (json_object_get_boolean_member (details, "cached"));
}

static void
test_non_critical (Fixture *f, gconstpointer data)
{
  gint64 start;

  configure (f, ENDPOINTS_CA_IDP);
  HALE_TEST_WAIT_UNTIL (probes_of (f, "idp") >= 1 && probes_of (f, "ca") >= 1);

  /* A non-critical endpoint failing is tolerated for the threshold... */
  set_down (f, "/idp", TRUE);
  start = g_get_real_time ();
  HALE_TEST_WAIT_UNTIL (g_get_real_time () - start > (THRESHOLD_MS - INTERVAL_MS) * 1000);
  g_assert_cmpint (hale_connectivity_get_state (f->conn), ==, HALE_CONNECTIVITY_HEALTHY);
  g_assert_false (hale_connectivity_get_degraded (f->conn));
  g_assert_cmpuint (f->entered, ==, 0);

  /* ...then the state is degraded, and so is the mode. */
  HALE_TEST_WAIT_UNTIL (f->entered > 0);
  g_assert_cmpint (hale_connectivity_get_state (f->conn), ==, HALE_CONNECTIVITY_DEGRADED);
  g_assert_cmpfloat (metric (f, "connectivity_status", NULL), ==, 1);
  g_assert_cmpint (f->entered_time - (gint64)hale_connectivity_get_last_successful (f->conn), <=,
                   (THRESHOLD_MS + INTERVAL_MS + SLACK_MS) * 1000);

  set_down (f, "/idp", FALSE);
  HALE_TEST_WAIT_UNTIL (f->exited > 0);
  g_assert_cmpint (hale_connectivity_get_state (f->conn), ==, HALE_CONNECTIVITY_HEALTHY);
}

static void
test_slow_target (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleCheckResult) slow = NULL;
  guint64 skipped = 0;
  double metric_skipped = 0;
  static const char *const labels[] = { "silent", NULL };
  HaleMetricFamily *family;

  /* "silent" accepts and never answers: each probe takes the whole 1 s
   * Timeout. "fast" must go on being probed every interval meanwhile. */
  configure (f, "[Endpoint fast]\nURL=http://127.0.0.1:%u/fast\nCritical=true\n"
                "[Endpoint silent]\nURL=http://127.0.0.1:%s/\n");
  HALE_TEST_WAIT_UNTIL (probes_of (f, "silent") >= 1);
  g_assert_cmpuint (probes_of (f, "fast"), >=, 3);
  /* The silent one's failure did not make a critical endpoint wait, nor
   * did it pass for longer than its timeout. */
  slow = hale_state_get_check (f->state, "endpoint:silent");
  {
    const char *reason = NULL;
    double duration = 0;
    g_assert_true (g_variant_lookup (slow->details, "reason", "&s", &reason));
    g_assert_cmpstr (reason, ==, "timeout");
    g_assert_true (g_variant_lookup (slow->details, "duration_seconds", "d", &duration));
    g_assert_cmpfloat (duration, <, 1.0 + SLACK_MS / 1000.0);
    g_assert_true (g_variant_lookup (slow->details, "skipped", "t", &skipped));
  }
  /* Rounds came while it was still running: skipped, never overlapped. */
  g_assert_cmpuint (skipped, >=, 2);
  family = hale_metrics_lookup (f->metrics, "endpoint_probes_skipped_total");
  g_assert_true (hale_metric_get (family, labels, &metric_skipped));
  g_assert_cmpfloat (metric_skipped, ==, (double)skipped);
  g_assert_cmpuint (f->held->len, ==, 1);
}

static void
test_reconfigure (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleCheckResult) idp = NULL;
  g_autoptr (HaleCheckResult) maint = NULL;
  static const char *const labels[] = { "idp", NULL };
  HaleMetricFamily *up;
  double value;
  guint64 before, ca_probes = 0;
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GVariant) ca = NULL;

  configure (f, ENDPOINTS_CA_IDP);
  HALE_TEST_WAIT_UNTIL (probes_of (f, "idp") >= 1 && probes_of (f, "ca") >= 1);

  HALE_TEST_WAIT_UNTIL (probes_of (f, "ca") >= 2);
  before = probes_of (f, "ca");

  /* idp goes; "maint" must answer 503 and does (ExpectedStatus=). */
  set_down (f, "/maint", TRUE);
  configure (f, "[Endpoint ca]\nURL=http://127.0.0.1:%u/ca\nCritical=true\n"
                "[Endpoint maint]\nURL=http://127.0.0.1:%u/maint\nExpectedStatus=503\n");
  idp = hale_state_get_check (f->state, "endpoint:idp");
  g_assert_null (idp);
  up = hale_metrics_lookup (f->metrics, "endpoint_up");
  g_assert_false (hale_metric_get (up, labels, &value));
  /* The CA stays with its history: nothing probed it since. */
  list = g_variant_ref_sink (hale_connectivity_get_endpoints (f->conn));
  g_assert_cmpuint (g_variant_n_children (list), ==, 2);
  ca = g_variant_lookup_value (list, "ca", G_VARIANT_TYPE_VARDICT);
  g_assert_true (g_variant_lookup (ca, "probes", "t", &ca_probes));
  g_assert_cmpuint (ca_probes, ==, before);

  HALE_TEST_WAIT_UNTIL (probes_of (f, "maint") >= 1);
  maint = hale_state_get_check (f->state, "endpoint:maint");
  g_assert_cmpint (maint->status, ==, HALE_CHECK_HEALTHY);
}

/* ---- D-Bus -------------------------------------------------------------- */

typedef struct
{
  GPtrArray *signals; /* "Entered", "Exited", "RecheckRequested" */
  GPtrArray *changed; /* property names from PropertiesChanged */
  gboolean active;
} Seen;

static void
on_dbus_signal (GDBusConnection *connection, const char *sender, const char *path,
                const char *iface, const char *name, GVariant *params, gpointer user_data)
{
  Seen *seen = user_data;

  if (g_str_equal (iface, HALE_DBUS_IFACE_DEGRADED))
    g_ptr_array_add (seen->signals, g_strdup (name));
  else if (g_str_equal (name, "PropertiesChanged"))
    {
      const char *changed_iface;
      g_autoptr (GVariant) changed = NULL;
      g_autoptr (GVariant) invalidated = NULL;
      GVariantIter iter;
      const char *key;
      GVariant *value;

      g_variant_get (params, "(&s@a{sv}@as)", &changed_iface, &changed, &invalidated);
      if (!g_str_equal (changed_iface, HALE_DBUS_IFACE_DEGRADED))
        return;
      g_variant_iter_init (&iter, changed);
      while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
        {
          g_ptr_array_add (seen->changed, g_strdup (key));
          if (g_str_equal (key, "Active"))
            seen->active = g_variant_get_boolean (value);
          g_variant_unref (value);
        }
    }
}

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **)user_data = g_object_ref (result);
}

static GVariant *
call (GDBusConnection *client, const char *iface, const char *method, GVariant *params,
      const char *reply_type)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  GVariant *reply;

  g_dbus_connection_call (client, HALE_DBUS_NAME, HALE_DBUS_PATH, iface, method, params,
                          G_VARIANT_TYPE (reply_type), G_DBUS_CALL_FLAGS_NONE,
                          HALE_TEST_TIMEOUT_SECONDS * 1000, NULL, on_call_done, &result);
  HALE_TEST_WAIT_UNTIL (result != NULL);
  reply = g_dbus_connection_call_finish (client, result, &error);
  g_assert_no_error (error);
  return reply;
}

static GVariant *
get_property (GDBusConnection *client, const char *name)
{
  g_autoptr (GVariant) reply = call (client, "org.freedesktop.DBus.Properties", "Get",
                                     g_variant_new ("(ss)", HALE_DBUS_IFACE_DEGRADED, name), "(v)");
  GVariant *value;

  g_variant_get (reply, "(v)", &value);
  return value;
}

static gboolean
has (GPtrArray *list, const char *name)
{
  for (guint i = 0; i < list->len; i++)
    if (g_str_equal (g_ptr_array_index (list, i), name))
      return TRUE;
  return FALSE;
}

/* halectl --user ARGS..., without blocking the loop that answers it.
 * FALSE when halectl was not built (run outside meson test). */
static gboolean
halectl (HaleTestRun *run, const char *arg1, const char *arg2)
{
  const char *path = g_getenv ("HALE_HALECTL");
  const char *argv[] = { path, "--user", arg1, arg2, NULL };
  g_autoptr (GSubprocessLauncher) launcher = NULL;

  memset (run, 0, sizeof *run);
  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    return FALSE;
  launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  hale_test_run (run, launcher, argv);
  return TRUE;
}

/* What an operator types while the CA is away. */
static void
check_halectl_degraded (void)
{
  HaleTestRun run;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *ca;

  if (!halectl (&run, "degraded", NULL))
    {
      g_test_message ("halectl not built (HALE_HALECTL unset): its commands not checked");
      return;
    }
  g_test_message ("halectl degraded: %s", run.out);
  g_assert_cmpstr (run.err, ==, "");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "Degraded mode:    active, since "));
  g_assert_nonnull (strstr (run.out, "Connectivity:     offline"));
  hale_test_run_clear (&run);

  halectl (&run, "endpoints", NULL);
  g_assert_cmpstr (run.err, ==, "");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "ENDPOINT"));
  g_assert_nonnull (strstr (run.out, "critical endpoint fails: http status 503"));
  g_assert_nonnull (strstr (run.out, "idp "));
  hale_test_run_clear (&run);

  halectl (&run, "--json", "endpoints");
  g_assert_cmpstr (run.err, ==, "");
  g_assert_cmpint (run.status, ==, 0);
  json_parser_load_from_data (parser, run.out, -1, &error);
  g_assert_no_error (error);
  ca = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "ca");
  g_assert_cmpstr (json_object_get_string_member (ca, "reason"), ==, "http status 503");
  g_assert_true (json_object_get_boolean_member (ca, "cached"));
  hale_test_run_clear (&run);
}

static void
on_acquired (HaleDbus *dbus, gboolean *acquired)
{
  *acquired = TRUE;
}

static void
test_dbus (Fixture *f, gconstpointer data)
{
  g_autoptr (GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr (HaleDbus) dbus = NULL;
  g_autoptr (HaleDegradedFace) face = NULL;
  g_autoptr (GDBusConnection) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) active = NULL;
  g_autoptr (GVariant) entered_at = NULL;
  g_autoptr (GVariant) connectivity = NULL;
  g_autoptr (GVariant) last_ok = NULL;
  g_autoptr (GVariant) endpoints = NULL;
  g_autoptr (GVariant) ca = NULL;
  g_autoptr (GVariant) after = NULL;
  Seen seen = { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free) };
  gboolean acquired = FALSE;
  guint sub;
  const char *reason = NULL;

  g_test_dbus_up (bus);
  dbus = hale_dbus_new (f->state, f->report);
  face = hale_degraded_face_new (f->conn);
  hale_dbus_add_interface (dbus, hale_degraded_face_get_skeleton (face));
  g_signal_connect (dbus, "name-acquired", G_CALLBACK (on_acquired), &acquired);
  hale_dbus_start (dbus, G_BUS_TYPE_SESSION);
  HALE_TEST_WAIT_UNTIL (acquired);

  client = g_dbus_connection_new_for_address_sync (
      g_test_dbus_get_bus_address (bus),
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);
  sub = g_dbus_connection_signal_subscribe (client, HALE_DBUS_NAME, NULL, NULL, HALE_DBUS_PATH,
                                            NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_dbus_signal, &seen,
                                            NULL);

  configure (f, ENDPOINTS_CA_IDP);
  HALE_TEST_WAIT_UNTIL (probes_of (f, "ca") >= 1 && probes_of (f, "idp") >= 1);
  HALE_TEST_WAIT_UNTIL (has (seen.changed, "LastSuccessful"));

  set_down (f, "/ca", TRUE);
  HALE_TEST_WAIT_UNTIL (seen.active);
  HALE_TEST_WAIT_UNTIL (has (seen.signals, "Entered"));
  g_assert_true (has (seen.changed, "EnteredAt"));
  g_assert_true (has (seen.changed, "Connectivity"));

  /* Properties agree with the object, and with the metrics. */
  active = get_property (client, "Active");
  g_assert_true (g_variant_get_boolean (active));
  entered_at = get_property (client, "EnteredAt");
  g_assert_cmpuint (g_variant_get_uint64 (entered_at), ==,
                    hale_connectivity_get_entered_at (f->conn));
  g_assert_cmpfloat (metric (f, "degraded_mode_entered_timestamp_seconds", NULL), ==,
                     (double)(g_variant_get_uint64 (entered_at) / G_USEC_PER_SEC));
  connectivity = get_property (client, "Connectivity");
  g_assert_cmpstr (g_variant_get_string (connectivity, NULL), ==, "offline");
  last_ok = get_property (client, "LastSuccessful");
  g_assert_cmpuint (g_variant_get_uint64 (last_ok), <,
                    g_variant_get_uint64 (entered_at) - THRESHOLD_MS * 1000);

  endpoints = call (client, HALE_DBUS_IFACE_DEGRADED, "GetEndpoints", NULL, "(a{sa{sv}})");
  g_variant_get (endpoints, "(@a{sa{sv}})", &after);
  ca = g_variant_lookup_value (after, "ca", G_VARIANT_TYPE_VARDICT);
  g_assert_nonnull (ca);
  g_assert_true (g_variant_lookup (ca, "reason", "&s", &reason));
  g_assert_cmpstr (reason, ==, "http status 503");
  {
    gboolean cached = FALSE;
    g_assert_true (g_variant_lookup (ca, "cached", "b", &cached));
    g_assert_true (cached);
  }
  check_halectl_degraded ();

  set_down (f, "/ca", FALSE);
  HALE_TEST_WAIT_UNTIL (has (seen.signals, "Exited") && has (seen.signals, "RecheckRequested"));
  HALE_TEST_WAIT_UNTIL (!seen.active);
  g_clear_pointer (&active, g_variant_unref);
  active = get_property (client, "Active");
  g_assert_false (g_variant_get_boolean (active));
  g_clear_pointer (&entered_at, g_variant_unref);
  entered_at = get_property (client, "EnteredAt");
  g_assert_cmpuint (g_variant_get_uint64 (entered_at), ==, 0);

  g_dbus_connection_signal_unsubscribe (client, sub);
  g_dbus_connection_close_sync (client, NULL, NULL);
  hale_connectivity_stop (f->conn);
  g_clear_object (&dbus);
  g_clear_object (&face);
  g_ptr_array_unref (seen.signals);
  g_ptr_array_unref (seen.changed);
  g_test_dbus_down (bus);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* GTestDBus sets the session bus address for the test that uses it. */
  g_test_dbus_unset ();

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/connectivity/healthy", test_healthy);
  ADD ("/connectivity/offline-and-degraded-mode", test_offline_and_degraded_mode);
  ADD ("/connectivity/non-critical", test_non_critical);
  ADD ("/connectivity/slow-target", test_slow_target);
  ADD ("/connectivity/reconfigure", test_reconfigure);
  ADD ("/connectivity/dbus", test_dbus);
#undef ADD
  return g_test_run ();
}
