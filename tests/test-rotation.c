/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for the rotation agent's reports: the model (hale-rotation: the
 * metrics each report moves, the audit event of a renewal, the checks of
 * its arguments) and its bus face (org.hale.Hale1.Rotation on a private
 * bus: authorised, audited, InvalidArgs, properties). The integration
 * test (tests/integration/test_rotation.py) runs the real haled, halectl
 * and a real Prometheus. */
#include "config.h"

#include "hale-cert-watch.h"
#include "hale-dbus-generated.h"
#include "hale-dbus-rotation.h"
#include "hale-names.h"
#include "hale-rotation.h"
#include "hale-test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  char *tmpdir;
  char *audit_path;
  HaleMetrics *metrics;
  HaleAudit *audit;
  HaleState *state;
  HaleCertWatch *certs;
  HaleRotation *rotation;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = hale_config_new_default ();

  f->tmpdir = g_dir_make_tmp ("hale-test-rotation-XXXXXX", &error);
  g_assert_no_error (error);
  f->audit_path = g_build_filename (f->tmpdir, "audit.log", NULL);
  f->metrics = hale_metrics_new ("hale");
  f->audit = hale_audit_new (f->metrics);
  g_free (config->audit_log);
  config->audit_log = g_strdup (f->audit_path);
  hale_audit_configure (f->audit, config);
  /* The watcher first, as in haled: the renewal counter is its family. */
  f->state = hale_state_new ();
  f->certs = hale_cert_watch_new (f->state, f->metrics, f->tmpdir);
  f->rotation = hale_rotation_new (f->metrics, f->audit);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->rotation);
  g_clear_object (&f->certs);
  g_clear_object (&f->state);
  g_clear_object (&f->audit);
  g_clear_object (&f->metrics);
  hale_test_remove_tree (f->tmpdir);
  g_free (f->tmpdir);
  g_free (f->audit_path);
}

/* The value of a series; -1 when it does not exist. */
static double
metric (Fixture *f, HaleMetricType type, const char *name, const char *result)
{
  HaleMetricFamily *family = hale_metrics_lookup (f->metrics, name);
  const char *labels[] = { result, NULL };
  double value = -1;

  if (!hale_metric_get (family, result ? labels : NULL, &value))
    return -1;
  return value;
}

/* The lines of the JSON audit file, parsed. */
static GPtrArray *
audit_lines (Fixture *f, const char *event_type)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);

  if (!g_file_get_contents (f->audit_path, &text, NULL, NULL))
    return found;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      JsonObject *o;

      if (lines[i][0] == '\0')
        continue;
      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      o = json_node_get_object (json_parser_get_root (parser));
      if (g_str_equal (json_object_get_string_member (o, "event_type"), event_type))
        g_ptr_array_add (found, json_node_copy (json_parser_get_root (parser)));
    }
  return found;
}

static void
test_renewal (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) events = NULL;
  HaleAuditActor actor = { "uid:1000", "dbus+polkit", 1000, 4242, NULL };
  const HaleRenewalReport *last;
  JsonObject *e;

  /* Both results exist at 0 from the start, for rate(). */
  g_assert_cmpfloat (
      metric (f, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total", "success"), ==, 0);
  g_assert_cmpfloat (
      metric (f, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total", "failure"), ==, 0);
  g_assert_null (hale_rotation_get_last_renewal (f->rotation)->certificate);

  g_assert_true (hale_rotation_record_renewal (f->rotation, "current", FALSE, 12500000,
                                               "ACME: rate limited", &actor, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (
      metric (f, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total", "failure"), ==, 1);
  g_assert_cmpfloat (
      metric (f, HALE_METRIC_HISTOGRAM, "certificate_renewal_duration_seconds", "failure"), ==, 1);
  g_assert_cmpfloat (
      metric (f, HALE_METRIC_GAUGE, "last_renewal_attempt_timestamp_seconds", "failure"), >, 1.6e9);

  /* A reported success does not count: the watcher counts the new
   * certificate when it lands on disk. It shows in the histogram. */
  g_assert_true (
      hale_rotation_record_renewal (f->rotation, "current", TRUE, 3000000, "", &actor, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (
      metric (f, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total", "success"), ==, 0);
  g_assert_cmpfloat (
      metric (f, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total", "failure"), ==, 1);
  g_assert_cmpfloat (
      metric (f, HALE_METRIC_HISTOGRAM, "certificate_renewal_duration_seconds", "success"), ==, 1);
  last = hale_rotation_get_last_renewal (f->rotation);
  g_assert_cmpstr (last->certificate, ==, "current");
  g_assert_true (last->success);
  g_assert_cmpint (last->duration_usec, ==, 3000000);
  g_assert_null (last->error);

  /* The render shows the histogram with its buckets. */
  {
    g_autoptr (GBytes) body = hale_metrics_render (f->metrics, HALE_METRICS_FORMAT_TEXT);
    g_autofree char *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));

    g_assert_nonnull (strstr (
        text,
        "hale_certificate_renewal_duration_seconds_bucket{result=\"failure\",le=\"30\"} 1\n"));
    g_assert_nonnull (strstr (
        text,
        "hale_certificate_renewal_duration_seconds_bucket{result=\"failure\",le=\"10\"} 0\n"));
    g_assert_nonnull (
        strstr (text, "hale_certificate_renewal_duration_seconds_sum{result=\"failure\"} 12.5\n"));
  }

  /* Each report is one audit event, with the reporter as actor. */
  events = audit_lines (f, HALE_EVENT_CERTIFICATE_RENEWAL_ATTEMPTED);
  g_assert_cmpuint (events->len, ==, 2);
  e = json_node_get_object (g_ptr_array_index (events, 0));
  g_assert_cmpstr (json_object_get_string_member (e, "outcome"), ==, "failure");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (e, "resource"), "identifier"),
      ==, "current");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (e, "resource"), "type"), ==,
      "certificate");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (e, "actor"), "uid"),
                   ==, 1000);
  {
    g_autofree char *line = json_to_string (g_ptr_array_index (events, 0), FALSE);

    g_assert_nonnull (strstr (line, "ACME: rate limited"));
  }
  e = json_node_get_object (g_ptr_array_index (events, 1));
  g_assert_cmpstr (json_object_get_string_member (e, "outcome"), ==, "success");
}

static void
test_jwt_auth_cache_bootstrap (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *message = NULL;
  gint64 changed = 0;

  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "jwt_refresh_total", "failure"), ==, 0);
  g_assert_true (hale_rotation_record_jwt_refresh (f->rotation, TRUE, &error));
  g_assert_true (hale_rotation_record_jwt_refresh (f->rotation, TRUE, &error));
  g_assert_true (hale_rotation_record_jwt_refresh (f->rotation, FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "jwt_refresh_total", "success"), ==, 2);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "jwt_refresh_total", "failure"), ==, 1);
  g_assert_cmpfloat (metric (f, HALE_METRIC_GAUGE, "last_jwt_refresh_timestamp_seconds", "success"),
                     >, 1.6e9);

  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "keycloak_auth_failures_total", NULL), ==, 0);
  g_assert_true (hale_rotation_record_auth_failure (f->rotation, "invalid_client", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "keycloak_auth_failures_total", NULL), ==, 1);

  g_assert_true (hale_rotation_record_jwt_cache_hits (f->rotation, 1, &error));
  g_assert_true (hale_rotation_record_jwt_cache_hits (f->rotation, 41, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "jwt_cache_hits_total", NULL), ==, 42);

  /* Absent until reported, then 1 / 0. */
  g_assert_cmpfloat (metric (f, HALE_METRIC_GAUGE, "bootstrap_status", NULL), ==, -1);
  g_assert_cmpint (hale_rotation_get_bootstrap_status (f->rotation, &message, &changed), ==,
                   HALE_BOOTSTRAP_UNKNOWN);
  g_assert_cmpint (changed, ==, 0);
  g_assert_true (
      hale_rotation_set_bootstrap_status (f->rotation, FALSE, "no enrolment token", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (metric (f, HALE_METRIC_GAUGE, "bootstrap_status", NULL), ==, 0);
  g_assert_cmpint (hale_rotation_get_bootstrap_status (f->rotation, &message, &changed), ==,
                   HALE_BOOTSTRAP_FAILED);
  g_assert_cmpstr (message, ==, "no enrolment token");
  g_assert_cmpint (changed, >, 0);
  g_assert_true (hale_rotation_set_bootstrap_status (f->rotation, TRUE, NULL, NULL, &error));
  g_assert_cmpfloat (metric (f, HALE_METRIC_GAUGE, "bootstrap_status", NULL), ==, 1);
  g_assert_cmpfloat (metric (f, HALE_METRIC_GAUGE, "bootstrap_status_timestamp_seconds", NULL), >,
                     1.6e9);
  g_assert_cmpint (hale_rotation_get_bootstrap_status (f->rotation, &message, NULL), ==,
                   HALE_BOOTSTRAP_OK);
  g_assert_cmpstr (message, ==, "");
}

static void
test_invalid (Fixture *f, gconstpointer data)
{
  g_autofree char *long_name = g_strnfill (HALE_ROTATION_MAX_NAME + 1, 'a');
  g_autofree char *long_text = g_strnfill (HALE_ROTATION_MAX_TEXT + 1, 'a');
  g_autoptr (GPtrArray) events = NULL;
  struct
  {
    const char *certificate;
    gint64 usec;
    const char *error;
    const char *says;
  } renewals[] = {
    { "", 0, NULL, "certificate name is empty" },
    { long_name, 0, NULL, "more than 255" },
    { "cur\nrent", 0, NULL, "control character" },
    { "current", -1, NULL, "duration" },
    { "current", (gint64)86401 * G_USEC_PER_SEC, NULL, "duration" },
    { "current", 0, long_text, "the error is" },
    { "current", 0, "bell\a", "control character" },
    { "current", 0, "\xff\xfe", "UTF-8" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (renewals); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (hale_rotation_record_renewal (f->rotation, renewals[i].certificate, FALSE,
                                                    renewals[i].usec, renewals[i].error, NULL,
                                                    &error));
      g_assert_error (error, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, renewals[i].says));
    }
  {
    g_autoptr (GError) e1 = NULL;
    g_autoptr (GError) e2 = NULL;
    g_autoptr (GError) e3 = NULL;
    g_autoptr (GError) e4 = NULL;
    g_autoptr (GError) e5 = NULL;

    g_assert_false (hale_rotation_record_auth_failure (f->rotation, "", NULL, &e1));
    g_assert_error (e1, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID);
    g_assert_false (hale_rotation_record_auth_failure (f->rotation, long_text, NULL, &e2));
    g_assert_error (e2, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID);
    g_assert_false (hale_rotation_record_jwt_cache_hits (f->rotation, 0, &e3));
    g_assert_error (e3, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID);
    g_assert_false (hale_rotation_record_jwt_cache_hits (f->rotation, 1000001, &e4));
    g_assert_error (e4, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID);
    g_assert_false (hale_rotation_set_bootstrap_status (f->rotation, TRUE, long_text, NULL, &e5));
    g_assert_error (e5, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID);
  }
  /* A multi-line error is an agent's output, not an attack: accepted. */
  g_assert_true (hale_rotation_record_renewal (f->rotation, "current", FALSE, 0,
                                               "line one\n\tline two", NULL, NULL));

  /* Nothing moved for the refused ones. */
  g_assert_cmpfloat (
      metric (f, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total", "failure"), ==, 1);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "keycloak_auth_failures_total", NULL), ==, 0);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "jwt_cache_hits_total", NULL), ==, 0);
  g_assert_cmpfloat (metric (f, HALE_METRIC_GAUGE, "bootstrap_status", NULL), ==, -1);
  events = audit_lines (f, HALE_EVENT_CERTIFICATE_RENEWAL_ATTEMPTED);
  g_assert_cmpuint (events->len, ==, 1);
}

/* ---- the face, on a private bus ----------------------------------------- */

typedef struct
{
  gboolean done;
  GVariant *reply;
  GError *error;
} Reply;

static void
on_reply (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Reply *r = user_data;

  r->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &r->error);
  r->done = TRUE;
}

/* Calls @method as a client of its own connection would, running the
 * main context (where the face answers) meanwhile. */
static GVariant *
call (GDBusConnection *client, const char *iface, const char *method, GVariant *params,
      GError **error)
{
  Reply r = { 0 };
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  g_dbus_connection_call (client, HALE_DBUS_NAME, HALE_DBUS_PATH, iface, method, params, NULL,
                          G_DBUS_CALL_FLAGS_NONE, 10000, NULL, on_reply, &r);
  while (!r.done)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  if (r.error != NULL)
    g_propagate_error (error, r.error);
  return r.reply;
}

static void
test_face (Fixture *f, gconstpointer data)
{
  g_autoptr (GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr (GDBusConnection) server = NULL;
  g_autoptr (GDBusConnection) client = NULL;
  g_autoptr (HaleAuthority) authority = NULL;
  g_autoptr (HaleRotationFace) face = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) last = NULL;
  g_autoptr (GPtrArray) granted = NULL;
  g_autoptr (GPtrArray) renewals = NULL;
  g_autofree char *status = NULL;
  const char *certificate, *err_text;
  gboolean success;
  guint64 usec, at;

  g_test_dbus_up (bus);
  server = g_dbus_connection_new_for_address_sync (
      g_test_dbus_get_bus_address (bus),
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);
  client = g_dbus_connection_new_for_address_sync (
      g_test_dbus_get_bus_address (bus),
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);

  /* As haled --user: the same uid is allowed without polkit. */
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/hale-test-bus", TRUE);
  authority = hale_authority_new (HALE_AUTHORITY_USER);
  face = hale_rotation_face_new (f->rotation, authority, f->audit);
  g_dbus_interface_skeleton_export (hale_rotation_face_get_skeleton (face), server, HALE_DBUS_PATH,
                                    &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (
      server, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "RequestName", g_variant_new ("(su)", HALE_DBUS_NAME, 0), NULL, 0, -1, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);

  props = call (client, "org.freedesktop.DBus.Properties", "GetAll",
                g_variant_new ("(s)", HALE_DBUS_IFACE_ROTATION), &error);
  g_assert_no_error (error);
  {
    g_autoptr (GVariant) dict = g_variant_get_child_value (props, 0);

    g_assert_true (g_variant_lookup (dict, "BootstrapStatus", "s", &status));
    g_assert_cmpstr (status, ==, "unknown");
  }
  g_clear_pointer (&props, g_variant_unref);

  reply = call (client, HALE_DBUS_IFACE_ROTATION, "RecordRenewal",
                g_variant_new ("(sbts)", "current", FALSE, (guint64)2500000, "timeout"), &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (client, HALE_DBUS_IFACE_ROTATION, "RecordJwtRefresh", g_variant_new ("(b)", TRUE),
                &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (client, HALE_DBUS_IFACE_ROTATION, "RecordAuthFailure",
                g_variant_new ("(s)", "invalid_grant"), &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (client, HALE_DBUS_IFACE_ROTATION, "RecordJwtCacheHits", g_variant_new ("(u)", 5),
                &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (client, HALE_DBUS_IFACE_ROTATION, "SetBootstrapStatus",
                g_variant_new ("(bs)", TRUE, "enrolled"), &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);

  g_assert_cmpfloat (
      metric (f, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total", "failure"), ==, 1);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "jwt_refresh_total", "success"), ==, 1);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "keycloak_auth_failures_total", NULL), ==, 1);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "jwt_cache_hits_total", NULL), ==, 5);
  g_assert_cmpfloat (metric (f, HALE_METRIC_GAUGE, "bootstrap_status", NULL), ==, 1);

  /* Bad arguments: InvalidArgs naming what was wrong, nothing moves. */
  reply = call (client, HALE_DBUS_IFACE_ROTATION, "RecordRenewal",
                g_variant_new ("(sbts)", "", TRUE, (guint64)0, ""), &error);
  g_assert_null (reply);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (error->message, "certificate name is empty"));
  g_clear_error (&error);
  reply = call (client, HALE_DBUS_IFACE_ROTATION, "RecordRenewal",
                g_variant_new ("(sbts)", "current", FALSE, G_MAXUINT64, ""), &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  reply = call (client, HALE_DBUS_IFACE_ROTATION, "RecordJwtCacheHits", g_variant_new ("(u)", 0),
                &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_assert_cmpfloat (
      metric (f, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total", "failure"), ==, 1);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "jwt_cache_hits_total", NULL), ==, 5);

  /* The properties follow. */
  props = call (client, "org.freedesktop.DBus.Properties", "GetAll",
                g_variant_new ("(s)", HALE_DBUS_IFACE_ROTATION), &error);
  g_assert_no_error (error);
  {
    g_autoptr (GVariant) dict = g_variant_get_child_value (props, 0);
    g_autofree char *message = NULL;
    guint64 changed = 0;

    g_clear_pointer (&status, g_free);
    g_assert_true (g_variant_lookup (dict, "BootstrapStatus", "s", &status));
    g_assert_cmpstr (status, ==, "ok");
    g_assert_true (g_variant_lookup (dict, "BootstrapMessage", "s", &message));
    g_assert_cmpstr (message, ==, "enrolled");
    g_assert_true (g_variant_lookup (dict, "BootstrapChangedAt", "t", &changed));
    g_assert_cmpuint (changed, >, 0);
    last = g_variant_lookup_value (dict, "LastRenewal", G_VARIANT_TYPE ("(sbtts)"));
    g_assert_nonnull (last);
    g_variant_get (last, "(&sbtt&s)", &certificate, &success, &usec, &at, &err_text);
    g_assert_cmpstr (certificate, ==, "current");
    g_assert_false (success);
    g_assert_cmpuint (usec, ==, 2500000);
    g_assert_cmpuint (at, >, 0);
    g_assert_cmpstr (err_text, ==, "timeout");
  }

  /* Every call audited with the caller, the renewal once more. */
  granted = audit_lines (f, HALE_EVENT_AUTHORIZATION_GRANTED);
  /* The three with bad arguments were refused before polkit was asked. */
  g_assert_cmpuint (granted->len, ==, 5);
  {
    JsonObject *e = json_node_get_object (g_ptr_array_index (granted, 0));
    JsonObject *actor = json_object_get_object_member (e, "actor");

    g_assert_cmpint (json_object_get_int_member (actor, "uid"), ==, (gint64)getuid ());
    g_assert_cmpstr (json_object_get_string_member (actor, "auth_method"), ==,
                     getuid () == 0 ? HALE_AUTH_METHOD_ROOT : HALE_AUTH_METHOD_SAME_USER);
  }
  renewals = audit_lines (f, HALE_EVENT_CERTIFICATE_RENEWAL_ATTEMPTED);
  g_assert_cmpuint (renewals->len, ==, 1);

  g_dbus_interface_skeleton_unexport (hale_rotation_face_get_skeleton (face));
  g_clear_object (&face);
  g_dbus_connection_close_sync (client, NULL, NULL);
  g_dbus_connection_close_sync (server, NULL, NULL);
  g_clear_object (&client);
  g_clear_object (&server);
  g_test_dbus_down (bus);
  g_unsetenv ("DBUS_SYSTEM_BUS_ADDRESS");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/rotation/renewal", Fixture, NULL, fixture_set_up, test_renewal, fixture_tear_down);
  g_test_add ("/rotation/jwt-auth-cache-bootstrap", Fixture, NULL, fixture_set_up,
              test_jwt_auth_cache_bootstrap, fixture_tear_down);
  g_test_add ("/rotation/invalid", Fixture, NULL, fixture_set_up, test_invalid, fixture_tear_down);
  g_test_add ("/rotation/face", Fixture, NULL, fixture_set_up, test_face, fixture_tear_down);
  return g_test_run ();
}
