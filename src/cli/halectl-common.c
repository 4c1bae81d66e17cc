/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* halectl-common.c: the bus, errors and output every command shares. */
#include "config.h"

#include "halectl-common.h"

#include "hale-error.h"
#include "hale-names.h"

#include <glib/gi18n.h>
#include <unistd.h>

/* Prints why and returns FALSE when @command got arguments it does not take. */
gboolean
halectl_check_no_arguments (const char *command, int argc, char **argv)
{
  if (argc == 0)
    return TRUE;
  g_printerr (_ ("“%s” takes no arguments, got “%s”\n"), command, argv[0]);
  return FALSE;
}

const char *
halectl_bus_description (const HalectlOptions *options)
{
  return options->user ? _ ("session bus") : _ ("system bus");
}

/* The bus --user chose; prints why and sets *out_exit when there is none. */
GDBusConnection *
halectl_bus_get (const HalectlOptions *options, int *out_exit)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus;

  bus = g_bus_get_sync (options->user ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, &error);
  if (bus == NULL)
    {
      g_printerr (_ ("Could not connect to the %s: %s\n"), halectl_bus_description (options),
                  error->message);
      *out_exit = HALECTL_EXIT_NOT_RUNNING;
    }
  return bus;
}

/* Nobody owns org.hale.Hale1: haled is not running (or not on this bus). */
gboolean
halectl_error_is_not_running (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN)
         || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER);
}

gboolean
halectl_error_is_timeout (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
         || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT)
         || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY);
}

/* Says haled is not running on the bus asked and returns the exit status. */
int
halectl_not_running (const HalectlOptions *options)
{
  g_printerr (_ ("haled is not running on the %s (%s not found)\n"),
              halectl_bus_description (options), HALE_DBUS_NAME);
  return HALECTL_EXIT_NOT_RUNNING;
}

/* Calls @method on @iface of haled; prints why on failure and sets
 * *out_exit. */
GVariant *
halectl_call_haled (const HalectlOptions *options, const char *iface, const char *method,
                    GVariant *params, const char *reply_type, int *out_exit)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  GVariant *reply;

  bus = halectl_bus_get (options, out_exit);
  if (bus == NULL)
    {
      /* Floating: the call that would have consumed it never happens. */
      if (params != NULL)
        g_variant_unref (g_variant_ref_sink (params));
      return NULL;
    }
  reply = g_dbus_connection_call_sync (bus, HALE_DBUS_NAME, HALE_DBUS_PATH, iface, method, params,
                                       G_VARIANT_TYPE (reply_type), G_DBUS_CALL_FLAGS_NONE,
                                       HALECTL_CALL_TIMEOUT_MSEC, NULL, &error);
  if (reply != NULL)
    return reply;
  if (halectl_error_is_not_running (error))
    {
      *out_exit = halectl_not_running (options);
      return NULL;
    }
  g_dbus_error_strip_remote_error (error);
  g_printerr (_ ("Could not ask haled: %s\n"), error->message);
  *out_exit = HALECTL_EXIT_FAILED;
  return NULL;
}

/* Calls @method of @iface, one that changes something: at a terminal
 * polkit may ask for a password (a hook never waits). Prints why when
 * haled is not running or refused (naming @action, or NULL when haled's
 * reason names it); any other failure is in @error, as HALE_ERROR when
 * it has one of haled's names, for the command to explain. */
int
halectl_call_change (const HalectlOptions *options, const char *iface, const char *method,
                     GVariant *params, const char *action, GError **error)
{
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) local = NULL;
  GDBusCallFlags flags = G_DBUS_CALL_FLAGS_NONE;
  int exit_status = HALECTL_EXIT_OK;

  g_variant_ref_sink (params);
  bus = halectl_bus_get (options, &exit_status);
  if (bus == NULL)
    {
      g_variant_unref (params);
      return exit_status;
    }
  /* Registered first, so haled's error names come back as HALE_ERROR. */
  (void)hale_error_quark ();
  if (isatty (STDIN_FILENO))
    flags |= G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;
  reply = g_dbus_connection_call_sync (bus, HALE_DBUS_NAME, HALE_DBUS_PATH, iface, method, params,
                                       G_VARIANT_TYPE ("()"), flags, HALECTL_CALL_TIMEOUT_MSEC,
                                       NULL, &local);
  g_variant_unref (params);
  if (reply != NULL)
    return HALECTL_EXIT_OK;

  if (halectl_error_is_not_running (local))
    return halectl_not_running (options);
  g_dbus_error_strip_remote_error (local);
  if (g_error_matches (local, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
    {
      if (action != NULL)
        /* TRANSLATORS: %s is a polkit action id, then haled's reason */
        g_printerr (_ ("not authorised (polkit action %s): %s\n"), action, local->message);
      else
        /* TRANSLATORS: followed by haled's reason, naming the polkit action */
        g_printerr (_ ("not authorised: %s\n"), local->message);
      return HALECTL_EXIT_DENIED;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return HALECTL_EXIT_FAILED;
}

gboolean
halectl_want_color (void)
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

/* Names and messages come from certificates and services we do not
 * control: never let them move the cursor or recolour the terminal. */
char *
halectl_sanitize (const char *text)
{
  char *copy = g_strdup (text ? text : "");

  for (char *p = copy; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      *p = ' ';
  return copy;
}

const char *
halectl_status_color (const char *status)
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
void
halectl_print_cell (const HalectlOptions *options, const char *text, const char *color, int width)
{
  int pad = width - (int)g_utf8_strlen (text, -1);

  if (options->color && color != NULL)
    g_print ("%s%s\033[0m", color, text);
  else
    g_print ("%s", text);
  for (; pad > 0; pad--)
    g_print (" ");
}

/* "2026-11-21 06:04:40 UTC (3m 20s ago)", or "never". */
char *
halectl_format_when (guint64 usec)
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
  /* Plain %d, not G_GINT64_FORMAT: xgettext cannot see through a macro
   * inside a string, so that msgid could never be translated. Minutes
   * since the epoch still fit an int. */
  /* TRANSLATORS: a point in time, then how long ago: "… (3m 20s ago)" */
  return g_strdup_printf (_ ("%s (%dm %02ds ago)"), date, (int)(ago / 60), (int)(ago % 60));
}

/* @name of @object when it is a string, NULL otherwise. */
const char *
halectl_json_member_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* Prints the JSON document @text: as is into a pipe (the very bytes
 * haled answered), indented at a terminal. */
gboolean
halectl_print_json_text (const char *text, GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (JsonGenerator) generator = NULL;
  g_autofree char *pretty = NULL;

  if (!isatty (STDOUT_FILENO))
    {
      g_print ("%s\n", text);
      return TRUE;
    }

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, -1, error))
    return FALSE;
  generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, json_parser_get_root (parser));
  pretty = json_generator_to_data (generator, NULL);
  g_print ("%s\n", pretty);
  return TRUE;
}

/* Prints @value as JSON, indented at a terminal. */
void
halectl_print_variant_json (GVariant *value)
{
  g_autoptr (JsonNode) node = json_gvariant_serialize (value);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, isatty (STDOUT_FILENO));
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}
