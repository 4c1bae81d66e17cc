/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* halectl __complete KIND: the words the shell completion offers, one
 * a line. Internal: not in --help nor the man page, and its output is
 * for data/bash-completion/halectl only.
 *
 * KIND is "commands" or "options" (from halectl's own tables, so a new
 * command completes without touching the script), or "services",
 * "certificates", "endpoints", "checks" or "categories" (asked from the
 * running haled). A completion must never hang a shell nor write over
 * the command line: the call is short, starts no haled through bus
 * activation, and a failure prints nothing and exits 1.
 */
#include "config.h"

#include "halectl-commands.h"

#include "hale-names.h"

#include <string.h>

#define COMPLETE_TIMEOUT_MSEC 2000

static void
print_strv (char **words)
{
  for (guint i = 0; words[i] != NULL; i++)
    g_print ("%s\n", words[i]);
}

static char *
get_report (const HalectlOptions *options)
{
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GVariant) reply = NULL;
  char *report = NULL;

  bus = g_bus_get_sync (options->user ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, NULL);
  if (bus == NULL)
    return NULL;
  reply = g_dbus_connection_call_sync (bus, HALE_DBUS_NAME, HALE_DBUS_PATH, HALE_DBUS_IFACE_HEALTH,
                                       "GetReport", g_variant_new ("(s)", ""),
                                       G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       COMPLETE_TIMEOUT_MSEC, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(s)", &report);
  return report;
}

/* The members of @member of the report, those starting with @prefix
 * with it cut off (all of them when @prefix is NULL). */
static gboolean
print_report_names (const HalectlOptions *options, const char *member, const char *prefix)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *report = get_report (options);
  g_autoptr (GList) names = NULL;
  JsonNode *root;
  JsonNode *node;

  if (report == NULL || !json_parser_load_from_data (parser, report, -1, NULL))
    return FALSE;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  node = json_object_get_member (json_node_get_object (root), member);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return TRUE; /* nothing of the kind: no words */
  names = g_list_sort (json_object_get_members (json_node_get_object (node)),
                       (GCompareFunc)g_strcmp0);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;

      if (prefix != NULL && !g_str_has_prefix (name, prefix))
        continue;
      g_autofree char *clean = halectl_sanitize (name + (prefix ? strlen (prefix) : 0));
      g_print ("%s\n", clean);
    }
  return TRUE;
}

int
halectl_complete (const HalectlOptions *options, int argc, char **argv)
{
  const char *kind = argc > 0 ? argv[0] : "";
  gboolean ok;

  if (argc != 1)
    return HALECTL_EXIT_USAGE;
  if (g_str_equal (kind, "commands"))
    {
      g_auto (GStrv) words = halectl_list_commands ();
      print_strv (words);
      return HALECTL_EXIT_OK;
    }
  if (g_str_equal (kind, "options"))
    {
      g_auto (GStrv) words = halectl_list_options ();
      print_strv (words);
      return HALECTL_EXIT_OK;
    }
  if (g_str_equal (kind, "services"))
    ok = print_report_names (options, "checks", HALE_CHECK_PREFIX_SERVICE);
  else if (g_str_equal (kind, "certificates"))
    ok = print_report_names (options, "checks", HALE_CHECK_PREFIX_CERTIFICATE);
  else if (g_str_equal (kind, "endpoints"))
    ok = print_report_names (options, "checks", HALE_CHECK_PREFIX_ENDPOINT);
  else if (g_str_equal (kind, "checks"))
    ok = print_report_names (options, "checks", NULL);
  else if (g_str_equal (kind, "categories"))
    /* The aggregated checks' categories (issue 5), once the report has them. */
    ok = print_report_names (options, "categories", NULL);
  else
    return HALECTL_EXIT_USAGE;
  return ok ? HALECTL_EXIT_OK : HALECTL_EXIT_FAILED;
}
