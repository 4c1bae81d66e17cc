/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* halectl status: the overall status and every check, from
 * org.hale.Hale1.Health.GetReport (the same JSON as GET /health). */
#include "config.h"

#include "halectl-commands.h"

#include "hale-names.h"

#include <glib/gi18n.h>
#include <string.h>

static gboolean
print_table (const HalectlOptions *options, const char *report, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *status = NULL;
  g_autoptr (GList) names = NULL;
  JsonObject *root;
  JsonObject *checks = NULL;
  int name_width;
  int status_width;

  if (!json_parser_load_from_data (parser, report, -1, error))
    return FALSE;

  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _ ("the report is not a JSON object"));
      return FALSE;
    }
  root = json_node_get_object (json_parser_get_root (parser));

  if (halectl_json_member_string (root, "status") == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _ ("the report has no \"status\""));
      return FALSE;
    }
  status = halectl_sanitize (halectl_json_member_string (root, "status"));

  if (json_object_has_member (root, "checks")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "checks")))
    checks = json_object_get_object_member (root, "checks");

  /* TRANSLATORS: the first line of `halectl status`, followed by
   * healthy, degraded or unhealthy, untranslated as the API says it. */
  g_print (_ ("Status: "));
  halectl_print_cell (options, status, halectl_status_color (status), 0);
  g_print ("\n");

  if (checks != NULL)
    names = json_object_get_members (checks);
  if (names == NULL)
    {
      g_print ("%s\n", _ ("No checks are configured."));
      return TRUE;
    }
  names = g_list_sort (names, (GCompareFunc)g_strcmp0);

  /* TRANSLATORS: column headings of the `halectl status` table. */
  name_width = (int)g_utf8_strlen (_ ("CHECK"), -1);
  status_width = MAX ((int)g_utf8_strlen (_ ("STATUS"), -1), (int)strlen ("critical"));
  for (GList *l = names; l != NULL; l = l->next)
    name_width = MAX (name_width, (int)g_utf8_strlen (l->data, -1));

  g_print ("\n");
  halectl_print_cell (options, _ ("CHECK"), NULL, name_width + 2);
  halectl_print_cell (options, _ ("STATUS"), NULL, status_width + 2);
  g_print ("%s\n", _ ("MESSAGE"));

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (checks, l->data);
      g_autofree char *name = halectl_sanitize (l->data);
      g_autofree char *check_status = NULL;
      g_autofree char *message = NULL;

      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonObject *check = json_node_get_object (node);

          check_status = halectl_sanitize (halectl_json_member_string (check, "status"));
          message = halectl_sanitize (halectl_json_member_string (check, "message"));
        }
      else
        {
          check_status = g_strdup ("?");
          message = g_strdup ("");
        }

      halectl_print_cell (options, name, NULL, name_width + 2);
      halectl_print_cell (options, check_status, halectl_status_color (check_status),
                          status_width + 2);
      g_print ("%s\n", message);
    }
  return TRUE;
}

int
halectl_status (const HalectlOptions *options, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GVariant) reply = NULL;
  const char *report;
  int exit_status = HALECTL_EXIT_OK;
  gboolean ok;

  if (!halectl_check_no_arguments ("status", argc, argv))
    return HALECTL_EXIT_USAGE;

  bus = halectl_bus_get (options, &exit_status);
  if (bus == NULL)
    return exit_status;

  reply = g_dbus_connection_call_sync (bus, HALE_DBUS_NAME, HALE_DBUS_PATH, HALE_DBUS_IFACE_HEALTH,
                                       "GetReport", g_variant_new ("(s)", ""),
                                       G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE,
                                       HALECTL_CALL_TIMEOUT_MSEC, NULL, &error);
  if (reply == NULL)
    {
      /* status is the command people try first: point at --user. */
      if (halectl_error_is_not_running (error) && !options->user)
        {
          g_printerr (_ ("haled is not running on the system bus (%s not found); try --user?\n"),
                      HALE_DBUS_NAME);
          return HALECTL_EXIT_NOT_RUNNING;
        }
      if (halectl_error_is_not_running (error))
        return halectl_not_running (options);
      if (halectl_error_is_timeout (error))
        {
          g_printerr (_ ("haled did not answer within %d seconds\n"),
                      HALECTL_CALL_TIMEOUT_MSEC / 1000);
          return HALECTL_EXIT_FAILED;
        }
      g_dbus_error_strip_remote_error (error);
      g_printerr (_ ("Could not get the report from haled: %s\n"), error->message);
      return HALECTL_EXIT_FAILED;
    }

  g_variant_get (reply, "(&s)", &report);
  if (options->json)
    ok = halectl_print_json_text (report, &error);
  else
    ok = print_table (options, report, &error);
  if (!ok)
    {
      g_printerr (_ ("haled answered with a report halectl cannot read: %s\n"), error->message);
      return HALECTL_EXIT_FAILED;
    }
  return HALECTL_EXIT_OK;
}
