/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-dbus.c: org.hale.Hale1 on a private bus, as a client sees it,
 * halectl against it, and the system bus policy in data/ parsed by a
 * real dbus-daemon. */
#include "config.h"

#include "hale-dbus.h"
#include "hale-names.h"
#include "hale-report.h"
#include "hale-state.h"
#include "hale-test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  GTestDBus *bus;
  HaleState *state;
  HaleReport *report;
  HaleDbus *dbus;
  GDBusConnection *client; /* a connection of its own, as another process has */

  gboolean acquired;
  char *lost_reason;
  GPtrArray *events; /* what the client saw, in order, as strings */
} Fixture;

static void
on_name_acquired (HaleDbus *dbus, Fixture *f)
{
  f->acquired = TRUE;
}

static void
on_name_lost (HaleDbus *dbus, const char *reason, Fixture *f)
{
  g_free (f->lost_reason);
  f->lost_reason = g_strdup (reason);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);

  f->state = hale_state_new ();
  f->report = hale_report_new (f->state);
  f->dbus = hale_dbus_new (f->state, f->report);
  g_signal_connect (f->dbus, "name-acquired", G_CALLBACK (on_name_acquired), f);
  g_signal_connect (f->dbus, "name-lost", G_CALLBACK (on_name_lost), f);
  f->events = g_ptr_array_new_with_free_func (g_free);

  f->client = g_dbus_connection_new_for_address_sync (
      g_test_dbus_get_bus_address (f->bus),
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->dbus);
  g_clear_object (&f->report);
  g_clear_object (&f->state);
  g_dbus_connection_close_sync (f->client, NULL, NULL);
  g_clear_object (&f->client);
  g_clear_pointer (&f->events, g_ptr_array_unref);
  g_clear_pointer (&f->lost_reason, g_free);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);
}

static void
start_and_wait (Fixture *f)
{
  hale_dbus_start (f->dbus, G_BUS_TYPE_SESSION);
  HALE_TEST_WAIT_UNTIL (f->acquired || f->lost_reason != NULL);
  g_assert_null (f->lost_reason);
  g_assert_true (f->acquired);
}

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* The daemon side runs on this thread's main loop, so a client call
 * must not block it: call asynchronously and iterate until answered. */
static GVariant *
call (Fixture *f, const char *dest, const char *path, const char *iface, const char *method,
      GVariant *params, const char *reply_type, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  g_dbus_connection_call (f->client, dest, path, iface, method, params,
                          reply_type ? G_VARIANT_TYPE (reply_type) : NULL, G_DBUS_CALL_FLAGS_NONE,
                          HALE_TEST_TIMEOUT_SECONDS * 1000, NULL, on_call_done, &result);
  HALE_TEST_WAIT_UNTIL (result != NULL);
  return g_dbus_connection_call_finish (f->client, result, error);
}

static char *
get_report (Fixture *f, const char *section, GError **error)
{
  g_autoptr (GVariant) reply = call (f, HALE_DBUS_NAME, HALE_DBUS_PATH, HALE_DBUS_IFACE_HEALTH,
                                     "GetReport", g_variant_new ("(s)", section), "(s)", error);
  char *report = NULL;

  if (reply != NULL)
    g_variant_get (reply, "(s)", &report);
  return report;
}

static GVariant *
get_property (Fixture *f, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = call (f, HALE_DBUS_NAME, HALE_DBUS_PATH, "org.freedesktop.DBus.Properties", "Get",
              g_variant_new ("(ss)", HALE_DBUS_IFACE_HEALTH, name), "(v)", &error);
  GVariant *value;

  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

static void
set_check (HaleState *state, const char *name, HaleCheckStatus status, const char *message,
           GVariant *details)
{
  g_autoptr (HaleCheckResult) result
      = hale_check_result_new (name, status, message, details, g_get_real_time (), 10);

  hale_state_set_check (state, result);
}

static gboolean
has_event (Fixture *f, const char *event)
{
  return g_ptr_array_find_with_equal_func (f->events, event, g_str_equal, NULL);
}

static guint
event_index (Fixture *f, const char *event)
{
  guint index = G_MAXUINT;

  g_assert_true (g_ptr_array_find_with_equal_func (f->events, event, g_str_equal, &index));
  return index;
}

static void
on_client_signal (GDBusConnection *connection, const char *sender, const char *path,
                  const char *iface, const char *signal, GVariant *params, gpointer user_data)
{
  Fixture *f = user_data;

  if (g_str_equal (signal, "PropertiesChanged"))
    {
      const char *changed_iface;
      g_autoptr (GVariant) changed = NULL;
      g_autofree const char **invalidated = NULL;
      GVariantIter iter;
      const char *key;
      GVariant *value;

      g_variant_get (params, "(&s@a{sv}^a&s)", &changed_iface, &changed, &invalidated);
      g_assert_cmpstr (changed_iface, ==, HALE_DBUS_IFACE_HEALTH);
      g_variant_iter_init (&iter, changed);
      while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
        {
          if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
            g_ptr_array_add (f->events, g_strdup_printf ("changed:%s=%s", key,
                                                         g_variant_get_string (value, NULL)));
          else
            g_ptr_array_add (f->events, g_strdup_printf ("changed:%s", key));
          g_variant_unref (value);
        }
    }
  else if (g_str_equal (signal, "StatusChanged"))
    {
      const char *old_status, *new_status;

      g_variant_get (params, "(&s&s)", &old_status, &new_status);
      g_ptr_array_add (f->events, g_strdup_printf ("StatusChanged:%s->%s", old_status, new_status));
    }
}

static guint
subscribe (Fixture *f, const char *iface, const char *member, const char *arg0)
{
  return g_dbus_connection_signal_subscribe (f->client, HALE_DBUS_NAME, iface, member,
                                             HALE_DBUS_PATH, arg0, G_DBUS_SIGNAL_FLAGS_NONE,
                                             on_client_signal, f, NULL);
}

static void
test_name (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) owner = NULL;
  const char *name;

  g_assert_null (hale_dbus_get_connection (f->dbus));
  start_and_wait (f);
  g_assert_nonnull (hale_dbus_get_connection (f->dbus));

  owner = call (f, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "GetNameOwner", g_variant_new ("(s)", HALE_DBUS_NAME), "(s)", &error);
  g_assert_no_error (error);
  g_variant_get (owner, "(&s)", &name);
  g_assert_cmpstr (name, ==,
                   g_dbus_connection_get_unique_name (hale_dbus_get_connection (f->dbus)));
}

static void
test_status (Fixture *f, gconstpointer data)
{
  g_autoptr (GVariant) status = NULL;
  guint props_id, status_id;

  start_and_wait (f);
  status = get_property (f, "Status");
  g_assert_cmpstr (g_variant_get_string (status, NULL), ==,
                   hale_status_to_string (hale_state_get_status (f->state)));
  g_assert_cmpstr (g_variant_get_string (status, NULL), ==, "healthy");
  g_clear_pointer (&status, g_variant_unref);

  props_id = subscribe (f, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                        HALE_DBUS_IFACE_HEALTH);
  status_id = subscribe (f, HALE_DBUS_IFACE_HEALTH, "StatusChanged", NULL);
  /* The bus answers in order: once it answered this, the match rules
   * sent before are in place. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GVariant) pong = call (f, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus.Peer", "Ping", NULL, NULL, &error);
    g_assert_no_error (error);
  }

  set_check (f->state, "certificate:current", HALE_CHECK_CRITICAL, "expired", NULL);
  HALE_TEST_WAIT_UNTIL (has_event (f, "changed:Status=unhealthy")
                        && has_event (f, "StatusChanged:healthy->unhealthy"));
  /* A client reacting to StatusChanged already has the new property. */
  g_assert_cmpuint (event_index (f, "changed:Status=unhealthy"), <,
                    event_index (f, "StatusChanged:healthy->unhealthy"));
  status = get_property (f, "Status");
  g_assert_cmpstr (g_variant_get_string (status, NULL), ==, "unhealthy");
  g_clear_pointer (&status, g_variant_unref);

  /* A warning alone: degraded, and the old value is the one before. */
  set_check (f->state, "certificate:current", HALE_CHECK_WARNING, "expires in 2 days", NULL);
  HALE_TEST_WAIT_UNTIL (has_event (f, "changed:Status=degraded")
                        && has_event (f, "StatusChanged:unhealthy->degraded"));
  status = get_property (f, "Status");
  g_assert_cmpstr (g_variant_get_string (status, NULL), ==, "degraded");

  /* A new message, or a healthy check more, is no status change. */
  g_ptr_array_set_size (f->events, 0);
  set_check (f->state, "certificate:current", HALE_CHECK_WARNING, "expires in 1 day", NULL);
  set_check (f->state, "connectivity", HALE_CHECK_HEALTHY, "ok", NULL);
  HALE_TEST_WAIT_UNTIL (has_event (f, "changed:Certificates"));
  for (guint i = 0; i < f->events->len; i++)
    {
      const char *event = g_ptr_array_index (f->events, i);

      g_assert_false (g_str_has_prefix (event, "StatusChanged:"));
      g_assert_false (g_str_has_prefix (event, "changed:Status="));
    }

  hale_state_remove_check (f->state, "certificate:current");
  HALE_TEST_WAIT_UNTIL (has_event (f, "changed:Status=healthy")
                        && has_event (f, "StatusChanged:degraded->healthy"));

  g_dbus_connection_signal_unsubscribe (f->client, props_id);
  g_dbus_connection_signal_unsubscribe (f->client, status_id);
}

static void
test_certificates (Fixture *f, gconstpointer data)
{
  g_autoptr (GVariant) certificates = NULL;
  g_autoptr (GVariant) current = NULL;
  g_autoptr (GVariant) details = NULL;
  const char *s;

  set_check (f->state, "certificate:current", HALE_CHECK_WARNING, "expires in 2 days", NULL);
  start_and_wait (f);

  certificates = get_property (f, "Certificates");
  g_assert_true (g_variant_is_of_type (certificates, G_VARIANT_TYPE ("a{sa{sv}}")));
  g_assert_cmpuint (g_variant_n_children (certificates), ==, 1);
  current = g_variant_lookup_value (certificates, "current", G_VARIANT_TYPE_VARDICT);
  g_assert_nonnull (current);
  g_assert_true (g_variant_lookup (current, "status", "&s", &s));
  g_assert_cmpstr (s, ==, "warning");
  g_assert_true (g_variant_lookup (current, "message", "&s", &s));
  g_assert_cmpstr (s, ==, "expires in 2 days");
  g_clear_pointer (&certificates, g_variant_unref);
  g_clear_pointer (&current, g_variant_unref);

  /* Details come along; other checks stay out; a "status" detail does
   * not hide the check's own. */
  details = g_variant_ref_sink (g_variant_new_parsed (
      "{'serial': <'0a1b'>, 'not_after': <int64 1700000000>, 'status': <'bogus'>}"));
  set_check (f->state, "certificate:current", HALE_CHECK_HEALTHY, "valid", details);
  set_check (f->state, "certificate:next", HALE_CHECK_CRITICAL, "cannot read", NULL);
  set_check (f->state, "service:nginx", HALE_CHECK_HEALTHY, "reloaded", NULL);

  certificates = get_property (f, "Certificates");
  g_assert_cmpuint (g_variant_n_children (certificates), ==, 2);
  current = g_variant_lookup_value (certificates, "current", G_VARIANT_TYPE_VARDICT);
  g_assert_true (g_variant_lookup (current, "status", "&s", &s));
  g_assert_cmpstr (s, ==, "healthy");
  g_assert_true (g_variant_lookup (current, "serial", "&s", &s));
  g_assert_cmpstr (s, ==, "0a1b");
  {
    gint64 not_after = 0;

    g_assert_true (g_variant_lookup (current, "not_after", "x", &not_after));
    g_assert_cmpint (not_after, ==, 1700000000);
  }
  g_assert_false (g_variant_lookup (certificates, "nginx", "@a{sv}", NULL));
  g_clear_pointer (&current, g_variant_unref);
  current = g_variant_lookup_value (certificates, "next", G_VARIANT_TYPE_VARDICT);
  g_assert_true (g_variant_lookup (current, "status", "&s", &s));
  g_assert_cmpstr (s, ==, "critical");
  g_clear_pointer (&current, g_variant_unref);
  g_clear_pointer (&certificates, g_variant_unref);

  hale_state_remove_check (f->state, "certificate:next");
  certificates = get_property (f, "Certificates");
  g_assert_cmpuint (g_variant_n_children (certificates), ==, 1);
}

/* The report carries a timestamp in seconds: compare only when the
 * local answers before and after the call agree. */
static void
assert_report_same (Fixture *f, const char *section_name, HaleReportSection section)
{
  for (int attempt = 0; attempt < 5; attempt++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) before = hale_report_get_json (f->report, section, NULL);
      g_autofree char *remote = get_report (f, section_name, &error);
      g_autoptr (GBytes) after = hale_report_get_json (f->report, section, NULL);
      g_autoptr (GBytes) remote_bytes = NULL;

      g_assert_no_error (error);
      g_assert_nonnull (remote);
      if (!g_bytes_equal (before, after))
        continue;
      remote_bytes = g_bytes_new (remote, strlen (remote));
      if (!g_bytes_equal (remote_bytes, before))
        g_error ("GetReport(\"%s\") differs from the local report:\n%s\n%.*s", section_name, remote,
                 (int)g_bytes_get_size (before), (const char *)g_bytes_get_data (before, NULL));
      return;
    }
  g_error ("The report kept changing; could not compare section \"%s\"", section_name);
}

static void
test_report (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *report = NULL;
  JsonObject *root;

  set_check (f->state, "certificate:current", HALE_CHECK_WARNING, "expires in 2 days",
             g_variant_new_parsed ("{'serial': <'0a1b'>}"));
  set_check (f->state, "service:nginx", HALE_CHECK_HEALTHY, "reloaded", NULL);
  set_check (f->state, "connectivity", HALE_CHECK_HEALTHY, "all endpoints answer", NULL);
  start_and_wait (f);

  assert_report_same (f, "", HALE_REPORT_ALL);
  assert_report_same (f, "certificate", HALE_REPORT_CERTIFICATE);
  assert_report_same (f, "connectivity", HALE_REPORT_CONNECTIVITY);
  assert_report_same (f, "services", HALE_REPORT_SERVICES);

  /* And it is the report a user expects. */
  report = get_report (f, "", &error);
  g_assert_no_error (error);
  json_parser_load_from_data (parser, report, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "status"), ==, "degraded");
  g_assert_true (
      json_object_has_member (json_object_get_object_member (root, "checks"), "service:nginx"));
}

static void
test_report_invalid (Fixture *f, gconstpointer data)
{
  const char *bad[] = { "bogus", "ALL", "certificates", "certificate ", "\xc3\xa9t\xc3\xa9" };

  start_and_wait (f);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *report = get_report (f, bad[i], &error);
      g_autofree char *remote = NULL;

      g_assert_null (report);
      g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
      remote = g_dbus_error_get_remote_error (error);
      g_assert_cmpstr (remote, ==, "org.freedesktop.DBus.Error.InvalidArgs");
      /* The message names what was wrong and what would be right. */
      g_assert_nonnull (strstr (error->message, bad[i]));
      g_assert_nonnull (strstr (error->message, "\"certificate\""));
      g_assert_nonnull (strstr (error->message, "\"services\""));
    }

  /* The daemon is still there and answers. */
  {
    g_autoptr (GError) error = NULL;
    g_autofree char *report = get_report (f, "", &error);

    g_assert_no_error (error);
    g_assert_nonnull (report);
  }
}

static void
test_introspect (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GDBusNodeInfo) node = NULL;
  GDBusInterfaceInfo *health;
  GDBusMethodInfo *method;
  GDBusPropertyInfo *property;
  GDBusSignalInfo *signal;
  const char *xml;

  start_and_wait (f);
  reply = call (f, HALE_DBUS_NAME, HALE_DBUS_PATH, "org.freedesktop.DBus.Introspectable",
                "Introspect", NULL, "(s)", &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(&s)", &xml);

  node = g_dbus_node_info_new_for_xml (xml, &error);
  g_assert_no_error (error);
  health = g_dbus_node_info_lookup_interface (node, HALE_DBUS_IFACE_HEALTH);
  g_assert_nonnull (health);

  property = g_dbus_interface_info_lookup_property (health, "Status");
  g_assert_nonnull (property);
  g_assert_cmpstr (property->signature, ==, "s");
  g_assert_cmpint (property->flags, ==, G_DBUS_PROPERTY_INFO_FLAGS_READABLE);
  property = g_dbus_interface_info_lookup_property (health, "Certificates");
  g_assert_nonnull (property);
  g_assert_cmpstr (property->signature, ==, "a{sa{sv}}");
  g_assert_cmpint (property->flags, ==, G_DBUS_PROPERTY_INFO_FLAGS_READABLE);

  method = g_dbus_interface_info_lookup_method (health, "GetReport");
  g_assert_nonnull (method);
  g_assert_cmpstr (method->in_args[0]->signature, ==, "s");
  g_assert_cmpstr (method->out_args[0]->signature, ==, "s");

  signal = g_dbus_interface_info_lookup_signal (health, "StatusChanged");
  g_assert_nonnull (signal);
  g_assert_cmpstr (signal->args[0]->signature, ==, "s");
  g_assert_cmpstr (signal->args[1]->signature, ==, "s");

  /* Read-only, as the docs promise: a client cannot set Status. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (
      f, HALE_DBUS_NAME, HALE_DBUS_PATH, "org.freedesktop.DBus.Properties", "Set",
      g_variant_new ("(ssv)", HALE_DBUS_IFACE_HEALTH, "Status", g_variant_new_string ("healthy")),
      NULL, &error);
  g_assert_null (reply);
  g_assert_nonnull (error);
}

static void
test_name_lost (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  guint32 result;

  /* Someone else has the name: we are told why, and queue for it. */
  reply = call (f, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "RequestName", g_variant_new ("(su)", HALE_DBUS_NAME, 0), "(u)", &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &result);
  g_assert_cmpuint (result, ==, 1); /* DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER */
  g_clear_pointer (&reply, g_variant_unref);

  hale_dbus_start (f->dbus, G_BUS_TYPE_SESSION);
  HALE_TEST_WAIT_UNTIL (f->lost_reason != NULL || f->acquired);
  g_assert_false (f->acquired);
  g_assert_nonnull (strstr (f->lost_reason, HALE_DBUS_NAME));
  g_assert_nonnull (strstr (f->lost_reason, "another process"));

  /* Once it is free, it is ours. */
  reply = call (f, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "ReleaseName", g_variant_new ("(s)", HALE_DBUS_NAME), "(u)", &error);
  g_assert_no_error (error);
  HALE_TEST_WAIT_UNTIL (f->acquired);
}

static void
on_name_owner_changed (GDBusConnection *connection, const char *sender, const char *path,
                       const char *iface, const char *signal, GVariant *params, gpointer user_data)
{
  gboolean *released = user_data;
  const char *name, *old_owner, *new_owner;

  g_variant_get (params, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (g_str_equal (name, HALE_DBUS_NAME) && new_owner[0] == '\0')
    *released = TRUE;
}

static void
test_shutdown (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  gboolean released = FALSE;
  gboolean has_owner = TRUE;
  guint id;

  start_and_wait (f);
  id = g_dbus_connection_signal_subscribe (
      f->client, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged", NULL,
      HALE_DBUS_NAME, G_DBUS_SIGNAL_FLAGS_NONE, on_name_owner_changed, &released, NULL);
  reply = call (f, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.Peer",
                "Ping", NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);

  g_clear_object (&f->dbus);
  HALE_TEST_WAIT_UNTIL (released);

  reply = call (f, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "NameHasOwner", g_variant_new ("(s)", HALE_DBUS_NAME), "(b)", &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(b)", &has_owner);
  g_assert_false (has_owner);
  g_dbus_connection_signal_unsubscribe (f->client, id);
}

static void
test_start_without_bus (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleReport) report = hale_report_new (state);
  g_autoptr (HaleDbus) dbus = hale_dbus_new (state, report);
  Fixture f = { 0 };

  /* No session bus at all: a reason, not a crash or a hang. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/hale-test-bus", TRUE);
  g_signal_connect (dbus, "name-lost", G_CALLBACK (on_name_lost), &f);
  g_signal_connect (dbus, "name-acquired", G_CALLBACK (on_name_acquired), &f);
  hale_dbus_start (dbus, G_BUS_TYPE_SESSION);
  HALE_TEST_WAIT_UNTIL (f.lost_reason != NULL);
  g_assert_false (f.acquired);
  g_assert_nonnull (strstr (f.lost_reason, "could not connect"));
  g_assert_null (hale_dbus_get_connection (dbus));
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_free (f.lost_reason);
}

/* halectl, run for real against the private bus. */

static const char *
halectl_path (void)
{
  const char *path = g_getenv ("HALE_HALECTL");

  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    return NULL;
  return path;
}

/* Runs halectl without blocking the loop that serves its call. */
static void
run_halectl (HaleTestRun *run, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer)halectl_path ());
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (gpointer)*args);
  g_ptr_array_add (argv, NULL);

  launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "NO_COLOR");
  hale_test_run (run, launcher, (const char *const *)argv->pdata);
}

static gboolean
skip_without_halectl (void)
{
  if (halectl_path () != NULL)
    return FALSE;
  g_test_skip ("halectl was not built (HALE_HALECTL unset): run through meson test");
  return TRUE;
}

static void
populate (HaleState *state)
{
  set_check (state, "certificate:current", HALE_CHECK_CRITICAL, "expired 2 days ago",
             g_variant_new_parsed ("{'serial': <'0a1b'>}"));
  /* Escapes from a certificate's subject must not reach a terminal. */
  set_check (state, "service:nginx", HALE_CHECK_HEALTHY, "reloaded \033[2J in 0.2 s", NULL);
  set_check (state, "connectivity", HALE_CHECK_WARNING, "certificate-api does not answer", NULL);
}

static void
test_halectl_json (Fixture *f, gconstpointer data)
{
  const char *args[] = { "--user", "status", "--json", NULL };
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  HaleTestRun run;
  JsonObject *root, *checks;

  if (skip_without_halectl ())
    return;
  populate (f->state);
  start_and_wait (f);

  run_halectl (&run, args);
  g_assert_cmpstr (run.err, ==, "");
  g_assert_cmpint (run.status, ==, 0);

  json_parser_load_from_data (parser, run.out, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "status"), ==, "unhealthy");
  checks = json_object_get_object_member (root, "checks");
  g_assert_true (json_object_has_member (checks, "certificate:current"));
  g_assert_true (json_object_has_member (checks, "service:nginx"));
  g_assert_true (json_object_has_member (checks, "connectivity"));
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (checks, "certificate:current"), "status"),
                   ==, "critical");

  hale_test_run_clear (&run);

  /* Into a pipe it is the daemon's report as is, plus a newline (when
   * the report's second did not tick meanwhile). */
  for (int attempt = 0; attempt < 5; attempt++)
    {
      g_autoptr (GBytes) before = hale_report_get_json (f->report, HALE_REPORT_ALL, NULL);
      g_autoptr (GBytes) after = NULL;
      g_autofree char *expected = NULL;

      run_halectl (&run, args);
      after = hale_report_get_json (f->report, HALE_REPORT_ALL, NULL);
      if (g_bytes_equal (before, after))
        {
          expected = g_strdup_printf ("%.*s\n", (int)g_bytes_get_size (before),
                                      (const char *)g_bytes_get_data (before, NULL));
          g_assert_cmpstr (run.out, ==, expected);
          hale_test_run_clear (&run);
          return;
        }
      hale_test_run_clear (&run);
    }
  g_error ("The report kept changing; could not compare halectl's output");
}

static void
test_halectl_table (Fixture *f, gconstpointer data)
{
  const char *args[] = { "--user", "status", NULL };
  const char *default_args[] = { "--user", NULL };
  g_auto (GStrv) lines = NULL;
  HaleTestRun run;

  if (skip_without_halectl ())
    return;
  populate (f->state);
  start_and_wait (f);

  run_halectl (&run, args);
  g_assert_cmpstr (run.err, ==, "");
  g_assert_cmpint (run.status, ==, 0);
  g_test_message ("halectl status:\n%s", run.out);

  lines = g_strsplit (run.out, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "Status: unhealthy");
  g_assert_true (g_regex_match_simple ("^CHECK +STATUS +MESSAGE$", run.out, G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^certificate:current +critical +expired 2 days ago$",
                                       run.out, G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^connectivity +warning +certificate-api does not answer$",
                                       run.out, G_REGEX_MULTILINE, 0));
  g_assert_true (
      g_regex_match_simple ("^service:nginx +healthy +reloaded", run.out, G_REGEX_MULTILINE, 0));
  /* Not a terminal: no colour, and no escape the daemon passed on. */
  g_assert_null (strchr (run.out, '\033'));
  hale_test_run_clear (&run);

  /* status is the default command. */
  run_halectl (&run, default_args);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (g_str_has_prefix (run.out, "Status: unhealthy\n"));
  hale_test_run_clear (&run);
}

static void
test_halectl_not_running (Fixture *f, gconstpointer data)
{
  const char *user_args[] = { "--user", "status", NULL };
  HaleTestRun run;

  if (skip_without_halectl ())
    return;

  /* Not started: the name has no owner on this bus. */
  run_halectl (&run, user_args);
  g_assert_cmpint (run.status, ==, 3);
  g_assert_cmpstr (run.out, ==, "");
  g_assert_cmpstr (run.err, ==,
                   "haled is not running on the session bus (org.hale.Hale1 not found)\n");
  hale_test_run_clear (&run);
}

static void
test_halectl_usage (void)
{
  const char *version[] = { "--version", NULL };
  const char *help[] = { "help", NULL };
  const char *unknown[] = { "frobnicate", NULL };
  const char *extra[] = { "status", "now", NULL };
  const char *bad_option[] = { "--frobnicate", NULL };
  g_autofree char *expected_version = g_strdup_printf ("halectl %s\n", PACKAGE_VERSION);
  HaleTestRun run;

  if (skip_without_halectl ())
    return;

  run_halectl (&run, version);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, expected_version);
  hale_test_run_clear (&run);

  run_halectl (&run, help);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "status"));
  g_assert_nonnull (strstr (run.out, "--user"));
  g_assert_nonnull (strstr (run.out, "Exit status"));
  hale_test_run_clear (&run);

  run_halectl (&run, unknown);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "frobnicate"));
  hale_test_run_clear (&run);

  run_halectl (&run, extra);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "now"));
  hale_test_run_clear (&run);

  run_halectl (&run, bad_option);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "frobnicate"));
  hale_test_run_clear (&run);
}

/* data/org.hale.Hale1.conf, read by a real dbus-daemon with a policy as
 * strict as the system bus's default one. */
static void
test_bus_policy (void)
{
  const char *daemon = g_getenv ("HALE_DBUS_DAEMON");
  const char *srcdir = g_getenv ("HALE_TEST_SRCDIR");
  g_autofree char *policy = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *config = NULL;
  g_autofree char *address = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GDBusConnection) owner = NULL;
  g_autoptr (GDBusConnection) caller = NULL;
  g_autoptr (GVariant) reply = NULL;
  guint32 result;

  if (daemon == NULL || srcdir == NULL)
    {
      g_test_skip ("dbus-daemon not found, or not run through meson test");
      return;
    }

  policy = g_build_filename (srcdir, "..", "data", "org.hale.Hale1.conf", NULL);
  g_assert_true (g_file_test (policy, G_FILE_TEST_EXISTS));
  dir = g_dir_make_tmp ("hale-test-bus-XXXXXX", &error);
  g_assert_no_error (error);
  config_path = g_build_filename (dir, "bus.conf", NULL);
  config = g_strdup_printf (
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig>\n"
      "  <type>custom</type>\n"
      "  <listen>unix:dir=%s</listen>\n"
      "  <auth>EXTERNAL</auth>\n"
      "  <policy context=\"default\">\n"
      "    <allow user=\"*\"/>\n"
      "    <deny own=\"*\"/>\n"
      "    <deny send_type=\"method_call\"/>\n"
      "    <allow send_type=\"signal\"/>\n"
      "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
      "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
      "    <allow receive_type=\"method_call\"/>\n"
      "    <allow receive_type=\"method_return\"/>\n"
      "    <allow receive_type=\"error\"/>\n"
      "    <allow receive_type=\"signal\"/>\n"
      "    <allow send_destination=\"org.freedesktop.DBus\"/>\n"
      "  </policy>\n"
      "  <include>%s</include>\n"
      "</busconfig>\n",
      dir, policy);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);

  /* A config that does not parse makes dbus-daemon exit before it
   * prints an address. */
  process
      = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, daemon, "--nofork", "--nopidfile",
                          "--print-address=1", "--config-file", config_path, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  address = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  if (address == NULL)
    g_error ("dbus-daemon rejected a configuration including %s", policy);

  owner = g_dbus_connection_new_for_address_sync (
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);

  /* The base policy denies owning names; the included file lets root
   * own ours and nobody else. */
  reply = g_dbus_connection_call_sync (
      owner, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
      g_variant_new ("(su)", HALE_DBUS_NAME, 0), NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  if (getuid () == 0)
    {
      g_assert_no_error (error);
      g_variant_get (reply, "(u)", &result);
      g_assert_cmpuint (result, ==, 1);
      g_clear_pointer (&reply, g_variant_unref);

      /* Root's rule is about our name only. */
      reply = g_dbus_connection_call_sync (owner, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "RequestName",
                                           g_variant_new ("(su)", "org.hale.NotHale", 0), NULL,
                                           G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED);
      g_clear_error (&error);

      /* Anyone may call it (here the caller is root too). */
      caller = g_dbus_connection_new_for_address_sync (
          address,
          G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
              | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
          NULL, NULL, &error);
      g_assert_no_error (error);
      g_clear_pointer (&reply, g_variant_unref);
      reply = g_dbus_connection_call_sync (caller, HALE_DBUS_NAME, "/", "org.freedesktop.DBus.Peer",
                                           "Ping", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                           &error);
      g_assert_no_error (error);
    }
  else
    {
      g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED);
    }

  g_clear_object (&caller);
  g_clear_object (&owner);
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
  g_remove (config_path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  /* Never the user's session bus: each test brings its own. */
  g_test_dbus_unset ();
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add ((path), Fixture, NULL, fixture_setup, (func), fixture_teardown)
  ADD ("/dbus/name", test_name);
  ADD ("/dbus/status", test_status);
  ADD ("/dbus/certificates", test_certificates);
  ADD ("/dbus/report", test_report);
  ADD ("/dbus/report-invalid", test_report_invalid);
  ADD ("/dbus/introspect", test_introspect);
  ADD ("/dbus/name-lost", test_name_lost);
  ADD ("/dbus/shutdown", test_shutdown);
  g_test_add_func ("/dbus/start-without-bus", test_start_without_bus);
  ADD ("/dbus/halectl/json", test_halectl_json);
  ADD ("/dbus/halectl/table", test_halectl_table);
  ADD ("/dbus/halectl/not-running", test_halectl_not_running);
  g_test_add_func ("/dbus/halectl/usage", test_halectl_usage);
  g_test_add_func ("/dbus/bus-policy", test_bus_policy);
#undef ADD

  return g_test_run ();
}
