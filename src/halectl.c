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
                                   "  help      Show this help"));
  g_option_context_set_description (
      context, _ ("Exit status:\n"
                  "  0  the report was read and printed, whatever the health "
                  "it shows\n"
                  "     (scripts: halectl status --json | jq -r .status)\n"
                  "  1  the call failed, or haled's answer could not be read\n"
                  "  2  bad command line\n"
                  "  3  haled is not running on the bus, or there is no bus\n"));

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
  if (!g_str_equal (command, "status"))
    {
      g_printerr (_ ("Unknown command “%s”\n"), command);
      g_printerr (_ ("Try “%s --help” for more information.\n"), g_get_prgname ());
      return EXIT_USAGE;
    }
  if (argc > 2)
    {
      g_printerr (_ ("“status” takes no arguments, got “%s”\n"), argv[2]);
      return EXIT_USAGE;
    }

  options.color = want_color ();
  return command_status (&options);
}
