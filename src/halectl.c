/* halectl: ask haled how this host's certificates and services are.
 *
 * A plain bus client: it links none of the daemon and reads everything
 * through org.hale.Hale1, so it shows what any other client would see.
 */
#include "config.h"

#include "hale-names.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Exit statuses, as --help documents them. The health itself is in the
 * output: a script reads it with `halectl status --json | jq -r .status`
 * rather than from an exit status that would also have to mean "could
 * not ask". */
enum
{
  EXIT_OK = 0,          /* the report was read and printed */
  EXIT_FAILED = 1,      /* the call failed or the answer was unreadable */
  EXIT_USAGE = 2,       /* bad command line */
  EXIT_NOT_RUNNING = 3, /* nobody owns org.hale.Hale1 */
  EXIT_DENIED = 4,      /* polkit (or the bus) refused the call */
};

#define CALL_TIMEOUT_MSEC (10 * 1000)

typedef struct
{
  gboolean user;
  gboolean json;
  gboolean color;
} Options;

static const char *
bus_description (const Options *options)
{
  return options->user ? _ ("session bus") : _ ("system bus");
}

/* Names and messages come from certificates and services we do not
 * control: never let them move the cursor or recolour the terminal. */
static char *
sanitize (const char *text)
{
  char *copy = g_strdup (text ? text : "");

  for (char *p = copy; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      *p = ' ';
  return copy;
}

static const char *
status_color (const char *status)
{
  if (g_str_equal (status, "healthy"))
    return "\033[32m"; /* green */
  if (g_str_equal (status, "warning") || g_str_equal (status, "degraded"))
    return "\033[33m"; /* yellow */
  if (g_str_equal (status, "critical") || g_str_equal (status, "unhealthy"))
    return "\033[1;31m"; /* bold red */
  return NULL;
}

/* Prints @text padded to @width columns, coloured when asked; the
 * padding stays outside the colour so columns line up either way. */
static void
print_cell (const Options *options, const char *text, const char *color, int width)
{
  int pad = width - (int)g_utf8_strlen (text, -1);

  if (options->color && color != NULL)
    g_print ("%s%s\033[0m", color, text);
  else
    g_print ("%s", text);
  for (; pad > 0; pad--)
    g_print (" ");
}

static const char *
member_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static int
print_table (const Options *options, const char *report, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *status = NULL;
  g_autoptr (GList) names = NULL;
  JsonObject *root;
  JsonObject *checks = NULL;
  int name_width;
  int status_width;

  if (!json_parser_load_from_data (parser, report, -1, error))
    return EXIT_FAILED;

  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _ ("the report is not a JSON object"));
      return EXIT_FAILED;
    }
  root = json_node_get_object (json_parser_get_root (parser));

  if (member_string (root, "status") == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _ ("the report has no \"status\""));
      return EXIT_FAILED;
    }
  status = sanitize (member_string (root, "status"));

  if (json_object_has_member (root, "checks")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "checks")))
    checks = json_object_get_object_member (root, "checks");

  /* TRANSLATORS: the first line of `halectl status`, followed by
   * healthy, degraded or unhealthy, untranslated as the API says it. */
  g_print (_ ("Status: "));
  print_cell (options, status, status_color (status), 0);
  g_print ("\n");

  if (checks != NULL)
    names = json_object_get_members (checks);
  if (names == NULL)
    {
      g_print ("%s\n", _ ("No checks are configured."));
      return EXIT_OK;
    }
  names = g_list_sort (names, (GCompareFunc)g_strcmp0);

  /* TRANSLATORS: column headings of the `halectl status` table. */
  name_width = (int)g_utf8_strlen (_ ("CHECK"), -1);
  status_width = MAX ((int)g_utf8_strlen (_ ("STATUS"), -1), (int)strlen ("critical"));
  for (GList *l = names; l != NULL; l = l->next)
    name_width = MAX (name_width, (int)g_utf8_strlen (l->data, -1));

  g_print ("\n");
  print_cell (options, _ ("CHECK"), NULL, name_width + 2);
  print_cell (options, _ ("STATUS"), NULL, status_width + 2);
  g_print ("%s\n", _ ("MESSAGE"));

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (checks, l->data);
      g_autofree char *name = sanitize (l->data);
      g_autofree char *check_status = NULL;
      g_autofree char *message = NULL;

      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonObject *check = json_node_get_object (node);

          check_status = sanitize (member_string (check, "status"));
          message = sanitize (member_string (check, "message"));
        }
      else
        {
          check_status = g_strdup ("?");
          message = g_strdup ("");
        }

      print_cell (options, name, NULL, name_width + 2);
      print_cell (options, check_status, status_color (check_status), status_width + 2);
      g_print ("%s\n", message);
    }
  return EXIT_OK;
}

static int
print_json (const Options *options, const char *report, GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (JsonGenerator) generator = NULL;
  g_autofree char *pretty = NULL;

  /* Into a pipe: the very bytes haled (and GET /health) answered. */
  if (!isatty (STDOUT_FILENO))
    {
      g_print ("%s\n", report);
      return EXIT_OK;
    }

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, report, -1, error))
    return EXIT_FAILED;
  generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, json_parser_get_root (parser));
  pretty = json_generator_to_data (generator, NULL);
  g_print ("%s\n", pretty);
  return EXIT_OK;
}

static int
command_status (const Options *options)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GVariant) reply = NULL;
  const char *report;
  int ret;

  bus = g_bus_get_sync (options->user ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, &error);
  if (bus == NULL)
    {
      g_printerr (_ ("Could not connect to the %s: %s\n"), bus_description (options),
                  error->message);
      return EXIT_NOT_RUNNING;
    }

  reply
      = g_dbus_connection_call_sync (bus, HALE_DBUS_NAME, HALE_DBUS_PATH, HALE_DBUS_IFACE_HEALTH,
                                     "GetReport", g_variant_new ("(s)", ""), G_VARIANT_TYPE ("(s)"),
                                     G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MSEC, NULL, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN)
          || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        {
          if (options->user)
            g_printerr (_ ("haled is not running on the session bus (%s not found)\n"),
                        HALE_DBUS_NAME);
          else
            g_printerr (_ ("haled is not running on the system bus (%s not found); try --user?\n"),
                        HALE_DBUS_NAME);
          return EXIT_NOT_RUNNING;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
          || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT)
          || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY))
        {
          g_printerr (_ ("haled did not answer within %d seconds\n"), CALL_TIMEOUT_MSEC / 1000);
          return EXIT_FAILED;
        }
      g_dbus_error_strip_remote_error (error);
      g_printerr (_ ("Could not get the report from haled: %s\n"), error->message);
      return EXIT_FAILED;
    }

  g_variant_get (reply, "(&s)", &report);
  if (options->json)
    ret = print_json (options, report, &error);
  else
    ret = print_table (options, report, &error);
  if (ret != EXIT_OK)
    g_printerr (_ ("haled answered with a report halectl cannot read: %s\n"), error->message);
  return ret;
}

/* ---- degraded, endpoints: org.hale.Hale1.Degraded ---------------------- */

/* Calls @method on @iface of haled; prints why on failure and sets
 * *out_exit. */
static GVariant *
call_haled (const Options *options, const char *iface, const char *method, GVariant *params,
            const char *reply_type, int *out_exit)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  GVariant *reply;

  bus = g_bus_get_sync (options->user ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, &error);
  if (bus == NULL)
    {
      g_printerr (_ ("Could not connect to the %s: %s\n"), bus_description (options),
                  error->message);
      *out_exit = EXIT_NOT_RUNNING;
      return NULL;
    }
  reply = g_dbus_connection_call_sync (bus, HALE_DBUS_NAME, HALE_DBUS_PATH, iface, method, params,
                                       G_VARIANT_TYPE (reply_type), G_DBUS_CALL_FLAGS_NONE,
                                       CALL_TIMEOUT_MSEC, NULL, &error);
  if (reply != NULL)
    return reply;
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN)
      || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    {
      g_printerr (_ ("haled is not running on the %s (%s not found)\n"), bus_description (options),
                  HALE_DBUS_NAME);
      *out_exit = EXIT_NOT_RUNNING;
      return NULL;
    }
  g_dbus_error_strip_remote_error (error);
  g_printerr (_ ("Could not ask haled: %s\n"), error->message);
  *out_exit = EXIT_FAILED;
  return NULL;
}

/* "2026-11-21 06:04:40 UTC (3m 20s ago)", or "never". */
static char *
format_when (guint64 usec)
{
  g_autoptr (GDateTime) dt = NULL;
  g_autofree char *date = NULL;
  gint64 ago;

  if (usec == 0)
    return g_strdup (_ ("never"));
  dt = g_date_time_new_from_unix_utc ((gint64)(usec / G_USEC_PER_SEC));
  if (dt == NULL)
    return g_strdup ("?");
  date = g_date_time_format (dt, "%Y-%m-%d %H:%M:%S UTC");
  ago = MAX (0, (g_get_real_time () - (gint64)usec) / G_USEC_PER_SEC);
  return g_strdup_printf (_ ("%s (%" G_GINT64_FORMAT "m %02" G_GINT64_FORMAT "s ago)"), date,
                          ago / 60, ago % 60);
}

static void
print_variant_json (GVariant *value)
{
  g_autoptr (JsonNode) node = json_gvariant_serialize (value);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, isatty (STDOUT_FILENO));
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

static int
command_degraded (const Options *options)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autofree char *connectivity = NULL;
  g_autofree char *entered = NULL;
  g_autofree char *last = NULL;
  g_autofree char *word = NULL;
  gboolean active = FALSE;
  guint64 entered_at = 0, last_successful = 0;
  int exit_status = EXIT_OK;

  reply = call_haled (options, "org.freedesktop.DBus.Properties", "GetAll",
                      g_variant_new ("(s)", HALE_DBUS_IFACE_DEGRADED), "(a{sv})", &exit_status);
  if (reply == NULL)
    return exit_status;
  props = g_variant_get_child_value (reply, 0);
  if (!g_variant_lookup (props, "Active", "b", &active)
      || !g_variant_lookup (props, "EnteredAt", "t", &entered_at)
      || !g_variant_lookup (props, "Connectivity", "s", &connectivity)
      || !g_variant_lookup (props, "LastSuccessful", "t", &last_successful))
    {
      g_printerr (_ ("haled answered without the Degraded properties\n"));
      return EXIT_FAILED;
    }
  if (options->json)
    {
      print_variant_json (props);
      return EXIT_OK;
    }

  entered = format_when (entered_at);
  last = format_when (last_successful);
  word = sanitize (connectivity);
  g_print ("%-18s", _ ("Degraded mode:"));
  print_cell (options, active ? _ ("active") : _ ("inactive"),
              active ? status_color ("degraded") : status_color ("healthy"), 0);
  if (active)
    g_print (_ (", since %s"), entered);
  g_print ("\n%-18s", _ ("Connectivity:"));
  print_cell (options, word,
              g_str_equal (word, "offline") ? status_color ("critical") : status_color (word), 0);
  g_print ("\n%-18s%s\n", _ ("All answered:"), last);
  return EXIT_OK;
}

static int
command_endpoints (const Options *options)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) endpoints = NULL;
  GVariantIter iter;
  const char *name;
  GVariant *dict;
  int exit_status = EXIT_OK;

  reply = call_haled (options, HALE_DBUS_IFACE_DEGRADED, "GetEndpoints", NULL, "(a{sa{sv}})",
                      &exit_status);
  if (reply == NULL)
    return exit_status;
  endpoints = g_variant_get_child_value (reply, 0);
  if (options->json)
    {
      print_variant_json (endpoints);
      return EXIT_OK;
    }
  if (g_variant_n_children (endpoints) == 0)
    {
      g_print (_ ("No endpoints configured ([Endpoint NAME] groups in hale.conf).\n"));
      return EXIT_OK;
    }

  g_print ("%-20s %-9s %-8s %5s %9s %5s  %s\n", _ ("ENDPOINT"), _ ("STATUS"), _ ("CRITICAL"),
           _ ("HTTP"), _ ("DURATION"), _ ("QOS"), _ ("MESSAGE"));
  g_variant_iter_init (&iter, endpoints);
  while (g_variant_iter_next (&iter, "{&s@a{sv}}", &name, &dict))
    {
      g_autofree char *safe_name = sanitize (name);
      g_autofree char *raw_status = NULL;
      g_autofree char *status = NULL;
      g_autofree char *message = NULL;
      g_autofree char *safe_message = NULL;
      g_autofree char *duration_text = NULL;
      gboolean critical = FALSE;
      guint32 http = 0;
      double duration = -1, qos = 0;

      g_variant_lookup (dict, "status", "s", &raw_status);
      g_variant_lookup (dict, "message", "s", &message);
      g_variant_lookup (dict, "critical", "b", &critical);
      g_variant_lookup (dict, "http_status", "u", &http);
      g_variant_lookup (dict, "qos", "d", &qos);
      if (g_variant_lookup (dict, "duration_seconds", "d", &duration))
        duration_text = g_strdup_printf ("%.0f ms", duration * 1000);
      safe_message = sanitize (message);
      status = sanitize (raw_status);

      g_print ("%-20s ", safe_name);
      print_cell (options, status, status_color (status), 9);
      g_print (" %-8s %5u %9s %5.2f  %s\n", critical ? _ ("yes") : _ ("no"), http,
               duration_text ? duration_text : "-", qos, safe_message);
      g_variant_unref (dict);
    }
  return EXIT_OK;
}

/* halectl reload [SERVICE]: a sequence can take minutes (each service's
 * Timeout=, and again after a rollback), so the call waits long and the
 * ServiceReloaded signals show progress meanwhile. */
#define RELOAD_TIMEOUT_MSEC (10 * 60 * 1000)

typedef struct
{
  const Options *options;
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
  g_autofree char *clean_name = sanitize (name);
  g_autofree char *clean_error = sanitize (error);
  g_autofree char *seconds = g_strdup_printf ("%.3f s", (double)duration / G_USEC_PER_SEC);

  print_cell (run->options, clean_name, NULL, MAX (run->name_width, 16) + 2);
  /* TRANSLATORS: the result of one service in `halectl reload` */
  print_cell (run->options, success ? _ ("ok") : _ ("FAILED"), success ? "\033[32m" : "\033[1;31m",
              8);
  print_cell (run->options, seconds, NULL, 12);
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
reload_failed (const Options *options, GError *error, const char *service)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);

  g_dbus_error_strip_remote_error (error);
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN)
      || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    {
      g_printerr (_ ("haled is not running on the %s (%s not found)\n"), bus_description (options),
                  HALE_DBUS_NAME);
      return EXIT_NOT_RUNNING;
    }
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
    {
      /* TRANSLATORS: followed by haled's reason, naming the polkit action */
      g_printerr (_ ("not authorised: %s\n"), error->message);
      return EXIT_DENIED;
    }
  if (g_strcmp0 (remote, HALE_DBUS_ERROR_BUSY) == 0)
    g_printerr (_ ("haled is already reloading; try again when it is done: %s\n"), error->message);
  else if (g_strcmp0 (remote, HALE_DBUS_ERROR_UNKNOWN_SERVICE) == 0)
    g_printerr (_ ("no service “%s” in haled's configuration: %s\n"), service ? service : "",
                error->message);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
           || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT)
           || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY))
    g_printerr (_ ("haled did not finish the reload within %d minutes\n"),
                RELOAD_TIMEOUT_MSEC / 60000);
  else
    g_printerr (_ ("Could not reload: %s\n"), error->message);
  return EXIT_FAILED;
}

static int
command_reload (const Options *options, const char *service)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GHashTable) printed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GVariantIter) iter = NULL;
  ReloadRun run = { options, loop, printed, NULL, NULL, FALSE, 0 };
  GDBusCallFlags flags = G_DBUS_CALL_FLAGS_NONE;
  const char *name;
  const char *message;
  const char *unit;
  gboolean success;
  guint64 duration;
  guint n = 0;
  guint failed = 0;
  guint subscription;
  int ret;

  bus = g_bus_get_sync (options->user ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, &error);
  if (bus == NULL)
    {
      g_printerr (_ ("Could not connect to the %s: %s\n"), bus_description (options),
                  error->message);
      return EXIT_NOT_RUNNING;
    }

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
  return failed > 0 || run.rolled_back ? EXIT_FAILED : EXIT_OK;
}

static gboolean
want_color (void)
{
  const char *term = g_getenv ("TERM");
  const char *no_color = g_getenv ("NO_COLOR");

  /* https://no-color.org: any non-empty NO_COLOR turns colour off. */
  if (no_color != NULL && no_color[0] != '\0')
    return FALSE;
  if (term != NULL && g_str_equal (term, "dumb"))
    return FALSE;
  return isatty (STDOUT_FILENO);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *help = NULL;
  gboolean version = FALSE;
  Options options = { 0 };
  const char *command;
  const GOptionEntry entries[]
      = { { "user", 0, 0, G_OPTION_ARG_NONE, &options.user,
            N_ ("Ask the haled on the session bus (haled --user)"), NULL },
          { "json", 0, 0, G_OPTION_ARG_NONE, &options.json,
            N_ ("Print the report as JSON, as GET /health answers it"), NULL },
          { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_ ("Print the version and exit"), NULL },
          { NULL } };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* TRANSLATORS: the usage line after "halectl [OPTION…]". */
  context = g_option_context_new (_ ("[COMMAND]"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _ ("Show the health of this host's TLS certificates and of the\n"
                                   "services that use them, as haled reports it.\n"
                                   "\n"
                                   "Commands:\n"
                                   "  status    Show the overall status and every check (default)\n"
                                   "  degraded  Show degraded mode and the connectivity state\n"
                                   "  endpoints Show the latest probe of every endpoint\n"
                                   "  reload [SERVICE]\n"
                                   "            Reload every service (or one) through systemd and\n"
                                   "            show each result as it comes\n"
                                   "  help      Show this help"));
  g_option_context_set_description (
      context, _ ("Exit status:\n"
                  "  0  the report was read and printed, whatever the health "
                  "it shows\n"
                  "     (scripts: halectl status --json | jq -r .status)\n"
                  "  1  the call failed, or haled's answer could not be read\n"
                  "  2  bad command line\n"
                  "  3  haled is not running on the bus, or there is no bus\n"
                  "  4  not authorised (reload: polkit action org.hale.Hale1.reload)\n"
                  "  reload: 0 when every service reloaded and is healthy, 1 otherwise\n"));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      g_printerr (_ ("Try “%s --help” for more information.\n"), g_get_prgname ());
      return EXIT_USAGE;
    }

  if (version)
    {
      g_print ("halectl %s\n", PACKAGE_VERSION);
      return EXIT_OK;
    }

  command = argc > 1 ? argv[1] : "status";
  if (g_str_equal (command, "help"))
    {
      help = g_option_context_get_help (context, TRUE, NULL);
      g_print ("%s", help);
      return EXIT_OK;
    }
  if (g_str_equal (command, "reload"))
    {
      if (argc > 3)
        {
          g_printerr (_ ("“reload” takes at most one service, got “%s”\n"), argv[3]);
          return EXIT_USAGE;
        }
      options.color = want_color ();
      return command_reload (&options, argc > 2 ? argv[2] : NULL);
    }
  if (!g_str_equal (command, "status") && !g_str_equal (command, "degraded")
      && !g_str_equal (command, "endpoints"))
    {
      g_printerr (_ ("Unknown command “%s”\n"), command);
      g_printerr (_ ("Try “%s --help” for more information.\n"), g_get_prgname ());
      return EXIT_USAGE;
    }
  if (argc > 2)
    {
      g_printerr (_ ("“%s” takes no arguments, got “%s”\n"), command, argv[2]);
      return EXIT_USAGE;
    }

  options.color = want_color ();
  if (g_str_equal (command, "degraded"))
    return command_degraded (&options);
  if (g_str_equal (command, "endpoints"))
    return command_endpoints (&options);
  return command_status (&options);
}
