/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* halectl reload [SERVICE]: org.hale.Hale1.Reload.
 *
 * A sequence can take minutes (each service's Timeout=, and again after
 * a rollback), so the call waits long and the ServiceReloaded signals
 * show progress meanwhile.
 */
#include "config.h"

#include "halectl-commands.h"

#include "hale-error.h"
#include "hale-names.h"

#include <glib/gi18n.h>
#include <unistd.h>

#define RELOAD_TIMEOUT_MSEC (10 * 60 * 1000)

typedef struct
{
  const HalectlOptions *options;
  GMainLoop *loop;
  GHashTable *printed; /* service names already shown from a signal */
  GVariant *reply;
  GError *error;
  gboolean rolled_back;
  int name_width;
} ReloadRun;

static void
print_reload_result (ReloadRun *run, const char *name, gboolean success, guint64 duration,
                     const char *error)
{
  g_autofree char *clean_name = halectl_sanitize (name);
  g_autofree char *clean_error = halectl_sanitize (error);
  g_autofree char *seconds = g_strdup_printf ("%.3f s", (double)duration / G_USEC_PER_SEC);

  halectl_print_cell (run->options, clean_name, NULL, MAX (run->name_width, 16) + 2);
  /* TRANSLATORS: the result of one service in `halectl reload` */
  halectl_print_cell (run->options, success ? _ ("ok") : _ ("FAILED"),
                      halectl_status_color (success ? "healthy" : "critical"), 8);
  halectl_print_cell (run->options, seconds, NULL, 12);
  g_print ("%s\n", clean_error);
  g_hash_table_add (run->printed, g_strdup (name));
}

static void
on_reload_signal (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                  const char *signal, GVariant *parameters, gpointer user_data)
{
  ReloadRun *run = user_data;

  if (g_str_equal (signal, "ServiceReloaded")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sbts)")))
    {
      const char *name;
      const char *error;
      gboolean success;
      guint64 duration;

      g_variant_get (parameters, "(&sbt&s)", &name, &success, &duration, &error);
      print_reload_result (run, name, success, duration, error);
    }
  else if (g_str_equal (signal, "SequenceFinished")
           && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(a(sbtss)b)")))
    {
      g_variant_get_child (parameters, 1, "b", &run->rolled_back);
    }
}

static void
on_reload_reply (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ReloadRun *run = user_data;

  run->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &run->error);
  g_main_loop_quit (run->loop);
}

static int
reload_failed (const HalectlOptions *options, GError *error, const char *service)
{
  g_dbus_error_strip_remote_error (error);
  if (halectl_error_is_not_running (error))
    return halectl_not_running (options);
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
    {
      /* TRANSLATORS: followed by haled's reason, naming the polkit action */
      g_printerr (_ ("not authorised: %s\n"), error->message);
      return HALECTL_EXIT_DENIED;
    }
  if (g_error_matches (error, HALE_ERROR, HALE_ERROR_BUSY))
    g_printerr (_ ("haled is already reloading; try again when it is done: %s\n"), error->message);
  else if (g_error_matches (error, HALE_ERROR, HALE_ERROR_UNKNOWN_SERVICE))
    g_printerr (_ ("no service “%s” in haled's configuration: %s\n"), service ? service : "",
                error->message);
  else if (halectl_error_is_timeout (error))
    g_printerr (_ ("haled did not finish the reload within %d minutes\n"),
                RELOAD_TIMEOUT_MSEC / 60000);
  else
    g_printerr (_ ("Could not reload: %s\n"), error->message);
  return HALECTL_EXIT_FAILED;
}

int
halectl_reload (const HalectlOptions *options, int argc, char **argv)
{
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (GHashTable) printed = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  ReloadRun run = { 0 };
  GDBusCallFlags flags = G_DBUS_CALL_FLAGS_NONE;
  const char *service = argc > 0 ? argv[0] : NULL;
  const char *name;
  const char *message;
  const char *unit;
  gboolean success;
  guint64 duration;
  guint n = 0;
  guint failed = 0;
  guint subscription;
  int ret = HALECTL_EXIT_OK;

  if (argc > 1)
    {
      g_printerr (_ ("“reload” takes at most one service, got “%s”\n"), argv[1]);
      return HALECTL_EXIT_USAGE;
    }

  bus = halectl_bus_get (options, &ret);
  if (bus == NULL)
    return ret;
  /* Registered first, so haled's error names come back as HALE_ERROR. */
  (void)hale_error_quark ();

  loop = g_main_loop_new (NULL, FALSE);
  printed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run.options = options;
  run.loop = loop;
  run.printed = printed;

  /* Subscribed before the call, so no service's signal is missed. */
  subscription = g_dbus_connection_signal_subscribe (
      bus, HALE_DBUS_NAME, HALE_DBUS_IFACE_RELOAD, NULL, HALE_DBUS_PATH, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, on_reload_signal, &run, NULL);
  /* At a terminal polkit may ask for a password. */
  if (isatty (STDIN_FILENO))
    flags |= G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;
  g_dbus_connection_call (
      bus, HALE_DBUS_NAME, HALE_DBUS_PATH, HALE_DBUS_IFACE_RELOAD,
      service ? "ReloadService" : "ReloadAll", service ? g_variant_new ("(s)", service) : NULL,
      G_VARIANT_TYPE ("(a(sbtss))"), flags, RELOAD_TIMEOUT_MSEC, NULL, on_reload_reply, &run);
  g_main_loop_run (loop);
  g_dbus_connection_signal_unsubscribe (bus, subscription);

  if (run.reply == NULL)
    {
      ret = reload_failed (options, run.error, service);
      g_clear_error (&run.error);
      return ret;
    }

  /* Signals tell progress; the reply is the record. Show any result
   * whose signal did not come (another client's sequence interleaved
   * with ours cannot happen: haled runs one at a time). */
  g_variant_get (run.reply, "(a(sbtss))", &iter);
  while (g_variant_iter_next (iter, "(&sbt&s&s)", &name, &success, &duration, &message, &unit))
    {
      if (!g_hash_table_contains (printed, name))
        print_reload_result (&run, name, success, duration, message);
      n++;
      if (!success)
        failed++;
    }
  g_clear_pointer (&run.reply, g_variant_unref);

  g_print ("\n");
  if (n == 0)
    g_print ("%s\n", _ ("No services are configured: nothing was reloaded."));
  else
    /* TRANSLATORS: the summary line of `halectl reload` */
    g_print (g_dngettext (GETTEXT_PACKAGE, "%u service reloaded, %u failed.\n",
                          "%u services reloaded, %u failed.\n", n),
             n, failed);
  if (run.rolled_back)
    g_print ("%s\n", _ ("A critical service failed: the certificates were rolled back to the "
                        "previous ones."));
  return failed > 0 || run.rolled_back ? HALECTL_EXIT_FAILED : HALECTL_EXIT_OK;
}
