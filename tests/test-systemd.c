/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-systemd.c: ReloadUnit and JobRemoved against a real systemd --user. */
#include "config.h"

#include "hale-systemd.h"
#include "hale-test-systemd.h"

static HaleTestSystemd *ts;
static GError *setup_error;

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
  gint64 started;
  gint64 took;
} Wait;

static void
reload_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;
  w->ok = hale_systemd_reload_unit_finish (HALE_SYSTEMD (source), res, &w->error);
  w->took = g_get_monotonic_time () - w->started;
  w->done = TRUE;
}

static gboolean
need_systemd (void)
{
  if (ts != NULL)
    return TRUE;
  hale_test_skip_or_fail ("a private systemd --user", setup_error);
  return FALSE;
}

static void
reload (HaleSystemd *sd, const char *unit, gint64 timeout, GCancellable *cancellable, Wait *w)
{
  w->started = g_get_monotonic_time ();
  hale_systemd_reload_unit_async (sd, unit, timeout, cancellable, reload_cb, w);
  g_assert_true (hale_test_wait_for (&w->done, 40000));
}

static void
test_reload_ok (void)
{
  g_autoptr (HaleSystemd) sd = NULL;
  Wait w = { 0 };

  if (!need_systemd ())
    return;
  sd = hale_systemd_new (hale_test_systemd_get_connection (ts));
  reload (sd, "ok.service", 10 * G_USEC_PER_SEC, NULL, &w);
  g_assert_no_error (w.error);
  g_assert_true (w.ok);
}

static void
test_reload_failed (void)
{
  g_autoptr (HaleSystemd) sd = NULL;
  Wait w = { 0 };

  if (!need_systemd ())
    return;
  sd = hale_systemd_new (hale_test_systemd_get_connection (ts));
  reload (sd, "fail.service", 10 * G_USEC_PER_SEC, NULL, &w);
  g_assert_error (w.error, HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_JOB_FAILED);
  g_assert_cmpstr (w.error->message, ==, "failed");
  g_clear_error (&w.error);
}

static void
test_reload_no_such_unit (void)
{
  g_autoptr (HaleSystemd) sd = NULL;
  Wait w = { 0 };

  if (!need_systemd ())
    return;
  sd = hale_systemd_new (hale_test_systemd_get_connection (ts));
  reload (sd, "nope.service", 10 * G_USEC_PER_SEC, NULL, &w);
  g_assert_error (w.error, HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_BUS);
  g_assert_true (g_str_has_prefix (w.error->message, "org.freedesktop.systemd1.NoSuchUnit: "));
  g_assert_nonnull (strstr (w.error->message, "nope.service"));
  g_clear_error (&w.error);
}

static void
test_reload_inactive (void)
{
  g_autoptr (HaleSystemd) sd = NULL;
  Wait w = { 0 };

  if (!need_systemd ())
    return;
  sd = hale_systemd_new (hale_test_systemd_get_connection (ts));
  /* Loaded, never started: the job is refused as "invalid" (systemctl
   * says "cannot be reloaded because it is inactive" on its own). */
  reload (sd, "stopped.service", 10 * G_USEC_PER_SEC, NULL, &w);
  g_assert_error (w.error, HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_JOB_FAILED);
  g_assert_cmpstr (w.error->message, ==, "invalid");
  g_clear_error (&w.error);
}

static void
test_reload_not_reloadable (void)
{
  g_autoptr (HaleSystemd) sd = NULL;
  Wait w = { 0 };

  if (!need_systemd ())
    return;
  sd = hale_systemd_new (hale_test_systemd_get_connection (ts));
  reload (sd, "noreload.service", 10 * G_USEC_PER_SEC, NULL, &w);
  g_assert_error (w.error, HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_BUS);
  g_test_message ("not reloadable: %s", w.error->message);
  g_assert_true (
      g_str_has_prefix (w.error->message, "org.freedesktop.systemd1.JobTypeNotApplicable: "));
  g_clear_error (&w.error);
}

static void
test_reload_timeout (void)
{
  g_autoptr (HaleSystemd) sd = NULL;
  Wait w = { 0 };
  Wait after = { 0 };

  if (!need_systemd ())
    return;
  sd = hale_systemd_new (hale_test_systemd_get_connection (ts));
  reload (sd, "slow.service", 1 * G_USEC_PER_SEC, NULL, &w);
  g_assert_error (w.error, HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_TIMEOUT);
  g_assert_true (g_str_has_prefix (w.error->message, "timeout"));
  g_assert_cmpint (w.took, >=, 1 * G_USEC_PER_SEC);
  g_assert_cmpint (w.took, <, 3 * G_USEC_PER_SEC);
  g_clear_error (&w.error);

  /* The job was cancelled: it does not linger in systemd's queue (where
   * the next reload of the unit would wait behind it). */
  for (int i = 0; i < 100; i++)
    {
      g_autoptr (GVariant) jobs = NULL;
      g_autoptr (GVariantIter) iter = NULL;
      const char *unit;
      gboolean found = FALSE;

      jobs = g_dbus_connection_call_sync (
          hale_test_systemd_get_connection (ts), "org.freedesktop.systemd1",
          "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "ListJobs", NULL,
          G_VARIANT_TYPE ("(a(usssoo))"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
      g_assert_nonnull (jobs);
      g_variant_get (jobs, "(a(usssoo))", &iter);
      while (g_variant_iter_loop (iter, "(u&s&s&s&o&o)", NULL, &unit, NULL, NULL, NULL, NULL))
        if (g_str_equal (unit, "slow.service"))
          found = TRUE;
      if (!found)
        {
          after.done = TRUE;
          break;
        }
      g_usleep (20 * 1000);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_true (after.done);
}

static void
test_reload_cancel (void)
{
  g_autoptr (HaleSystemd) sd = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Wait w = { 0 };

  if (!need_systemd ())
    return;
  sd = hale_systemd_new (hale_test_systemd_get_connection (ts));
  w.started = g_get_monotonic_time ();
  hale_systemd_reload_unit_async (sd, "slow.service", 20 * G_USEC_PER_SEC, cancellable, reload_cb,
                                  &w);
  g_timeout_add_once (300, (GSourceOnceFunc)g_cancellable_cancel, cancellable);
  g_assert_true (hale_test_wait_for (&w.done, 5000));
  g_assert_error (w.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (w.took, <, 2 * G_USEC_PER_SEC);
  g_clear_error (&w.error);
}

/* Many jobs at once: every call gets its own job's result, including
 * those whose JobRemoved overtakes the method reply. */
static void
test_reload_many (void)
{
  g_autoptr (HaleSystemd) sd = NULL;
  const char *units[] = { "ok.service", "fail.service", "ok2.service", "nope.service" };
  Wait w[24] = { { 0 } };

  if (!need_systemd ())
    return;
  sd = hale_systemd_new (hale_test_systemd_get_connection (ts));
  for (guint i = 0; i < G_N_ELEMENTS (w); i++)
    hale_systemd_reload_unit_async (sd, units[i % G_N_ELEMENTS (units)], 20 * G_USEC_PER_SEC, NULL,
                                    reload_cb, &w[i]);
  for (guint i = 0; i < G_N_ELEMENTS (w); i++)
    g_assert_true (hale_test_wait_for (&w[i].done, 30000));
  for (guint i = 0; i < G_N_ELEMENTS (w); i++)
    {
      switch (i % G_N_ELEMENTS (units))
        {
          case 0:
          case 2:
            g_assert_no_error (w[i].error);
            break;
          case 1:
            g_assert_error (w[i].error, HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_JOB_FAILED);
            break;
          default:
            g_assert_error (w[i].error, HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_BUS);
        }
      g_clear_error (&w[i].error);
    }
}

static void
test_disconnected (void)
{
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (HaleSystemd) sd = NULL;
  g_autofree char *address = NULL;
  Wait w = { 0 };

  if (!need_systemd ())
    return;
  address = g_strdup_printf ("unix:path=%s/run/bus", hale_test_systemd_get_tmpdir (ts));
  connection = g_dbus_connection_new_for_address_sync (
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, NULL);
  g_assert_nonnull (connection);
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  sd = hale_systemd_new (connection);
  g_dbus_connection_close_sync (connection, NULL, NULL);
  reload (sd, "ok.service", 5 * G_USEC_PER_SEC, NULL, &w);
  g_assert_error (w.error, HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_DISCONNECTED);
  g_clear_error (&w.error);
}

static const char ok_unit[] = "[Service]\n"
                              "ExecStart=/bin/sleep infinity\n"
                              "ExecReload=/bin/true\n";
static const char fail_unit[] = "[Service]\n"
                                "ExecStart=/bin/sleep infinity\n"
                                "ExecReload=/bin/false\n";
static const char slow_unit[] = "[Service]\n"
                                "ExecStart=/bin/sleep infinity\n"
                                "ExecReload=/bin/sleep 30\n";
static const char noreload_unit[] = "[Service]\n"
                                    "ExecStart=/bin/sleep infinity\n";

static gboolean
setup (GError **error)
{
  HaleTestUnit units[] = {
    { "ok.service", ok_unit, FALSE },
    { "ok2.service", ok_unit, FALSE },
    { "fail.service", fail_unit, FALSE },
    { "slow.service", slow_unit, FALSE },
    { "noreload.service", noreload_unit, FALSE },
    { "stopped.service", ok_unit, TRUE },
  };
  g_autoptr (HaleTestSystemd) t = hale_test_systemd_new (error);

  if (t == NULL)
    return FALSE;
  if (!hale_test_systemd_start_with (t, units, G_N_ELEMENTS (units), error))
    return FALSE;
  ts = g_steal_pointer (&t);
  return TRUE;
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  if (!setup (&setup_error))
    g_test_message ("no systemd --user: %s", setup_error->message);

  g_test_add_func ("/systemd/reload/ok", test_reload_ok);
  g_test_add_func ("/systemd/reload/failed", test_reload_failed);
  g_test_add_func ("/systemd/reload/no-such-unit", test_reload_no_such_unit);
  g_test_add_func ("/systemd/reload/inactive", test_reload_inactive);
  g_test_add_func ("/systemd/reload/not-reloadable", test_reload_not_reloadable);
  g_test_add_func ("/systemd/reload/timeout", test_reload_timeout);
  g_test_add_func ("/systemd/reload/cancel", test_reload_cancel);
  g_test_add_func ("/systemd/reload/many", test_reload_many);
  g_test_add_func ("/systemd/disconnected", test_disconnected);

  ret = g_test_run ();
  g_clear_pointer (&ts, hale_test_systemd_free);
  g_clear_error (&setup_error);
  return ret;
}
