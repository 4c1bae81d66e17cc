/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* halectl checks, categories, ack, unack, report: the aggregated checks
 * on org.hale.Hale1.Health.
 *
 * The changing commands let polkit ask for a password when run from a
 * terminal, and name the action when it says no.
 */
#include "config.h"

#include "halectl-commands.h"

#include "hale-error.h"
#include "hale-names.h"

#include <glib/gi18n.h>
#include <string.h>

/* Calls a method that changes something; prints why it failed. */
static int
change (const HalectlOptions *options, const char *method, GVariant *params, const char *action,
        const char *what)
{
  g_autoptr (GError) error = NULL;
  int exit_status;

  exit_status
      = halectl_call_change (options, HALE_DBUS_IFACE_HEALTH, method, params, action, &error);
  if (error == NULL)
    return exit_status;
  if (g_error_matches (error, HALE_ERROR, HALE_ERROR_UNKNOWN_CHECK))
    g_printerr (_ ("no check “%s” in haled's configuration ([Check NAME] groups)\n"), what);
  else if (g_error_matches (error, HALE_ERROR, HALE_ERROR_UNKNOWN_CATEGORY))
    g_printerr (_ ("no category “%s” in haled's configuration ([Category NAME] groups)\n"), what);
  else
    g_printerr ("%s\n", error->message);
  return exit_status;
}

static const char *
lookup_string (GVariant *dict, const char *key, const char *fallback)
{
  const char *value = NULL;

  if (!g_variant_lookup (dict, key, "&s", &value))
    return fallback;
  return value;
}

int
halectl_checks (const HalectlOptions *options, int argc, char **argv)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) checks = NULL;
  GVariantIter iter;
  const char *name;
  GVariant *dict;
  int exit_status = HALECTL_EXIT_OK;

  if (!halectl_check_no_arguments ("checks", argc, argv))
    return HALECTL_EXIT_USAGE;
  reply = halectl_call_haled (options, HALE_DBUS_IFACE_HEALTH, "GetChecks", NULL, "(a{sa{sv}})",
                              &exit_status);
  if (reply == NULL)
    return exit_status;
  checks = g_variant_get_child_value (reply, 0);
  if (options->json)
    {
      halectl_print_variant_json (checks);
      return HALECTL_EXIT_OK;
    }
  if (g_variant_n_children (checks) == 0)
    {
      g_print (_ ("No checks configured ([Check NAME] groups in hale.conf).\n"));
      return HALECTL_EXIT_OK;
    }

  g_print ("%-20s %-9s %-5s %9s %5s  %s\n", _ ("CHECK"), _ ("STATUS"), _ ("KIND"), _ ("DURATION"),
           _ ("QOS"), _ ("MESSAGE"));
  g_variant_iter_init (&iter, checks);
  while (g_variant_iter_next (&iter, "{&s@a{sv}}", &name, &dict))
    {
      g_autofree char *safe_name = halectl_sanitize (name);
      g_autofree char *status = halectl_sanitize (lookup_string (dict, "status", "unknown"));
      g_autofree char *kind = halectl_sanitize (lookup_string (dict, "kind", "-"));
      g_autofree char *message = halectl_sanitize (lookup_string (dict, "message", ""));
      g_autofree char *duration_text = NULL;
      gboolean acknowledged = FALSE;
      guint64 duration = 0;
      double qos = 0;

      g_variant_lookup (dict, "acknowledged", "b", &acknowledged);
      g_variant_lookup (dict, "qos", "d", &qos);
      if (g_variant_lookup (dict, "duration", "t", &duration))
        duration_text = g_strdup_printf ("%.0f ms", (double)duration / 1000);

      g_print ("%-20s ", safe_name);
      halectl_print_cell (options, status, halectl_status_color (status), 9);
      g_print (" %-5s %9s %5.2f  %s\n", kind, duration_text ? duration_text : "-", qos, message);
      if (acknowledged)
        {
          g_autofree char *ack = halectl_sanitize (lookup_string (dict, "ack_message", ""));
          g_autofree char *author = halectl_sanitize (lookup_string (dict, "ack_author", "?"));
          g_autofree char *when = NULL;
          guint64 time = 0;

          g_variant_lookup (dict, "ack_time", "t", &time);
          when = halectl_format_when (time);
          /* TRANSLATORS: under a check: the acknowledgement's message, who and when */
          g_print (_ ("%-20s   acknowledged: “%s” by %s, %s\n"), "", ack, author, when);
        }
      g_variant_unref (dict);
    }
  return HALECTL_EXIT_OK;
}

static int
categories_list (const HalectlOptions *options)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) categories = NULL;
  GVariantIter iter;
  const char *name;
  GVariant *dict;
  int exit_status = HALECTL_EXIT_OK;

  reply = halectl_call_haled (options, HALE_DBUS_IFACE_HEALTH, "GetCategories", NULL, "(a{sa{sv}})",
                              &exit_status);
  if (reply == NULL)
    return exit_status;
  categories = g_variant_get_child_value (reply, 0);
  if (options->json)
    {
      halectl_print_variant_json (categories);
      return HALECTL_EXIT_OK;
    }
  if (g_variant_n_children (categories) == 0)
    {
      g_print (_ ("No categories configured ([Category NAME] groups in hale.conf).\n"));
      return HALECTL_EXIT_OK;
    }

  g_print ("%-16s %-10s %-8s %-6s %s\n", _ ("CATEGORY"), _ ("STATUS"), _ ("ENABLED"), _ ("STICKY"),
           _ ("CHECKS"));
  g_variant_iter_init (&iter, categories);
  while (g_variant_iter_next (&iter, "{&s@a{sv}}", &name, &dict))
    {
      g_autofree char *safe_name = halectl_sanitize (name);
      g_autofree char *status = halectl_sanitize (lookup_string (dict, "status", "unknown"));
      g_autofree const char **checks = NULL;
      g_autofree char *list = NULL;
      g_autofree char *safe_list = NULL;
      gboolean enabled = TRUE, sticky = FALSE;

      g_variant_lookup (dict, "enabled", "b", &enabled);
      g_variant_lookup (dict, "sticky", "b", &sticky);
      if (g_variant_lookup (dict, "checks", "^a&s", &checks))
        list = g_strjoinv (", ", (char **)checks);
      safe_list = halectl_sanitize (list);

      g_print ("%-16s ", safe_name);
      halectl_print_cell (options, status, halectl_status_color (status), 10);
      g_print (" %-8s %-6s %s\n", enabled ? _ ("yes") : _ ("no"), sticky ? _ ("yes") : _ ("no"),
               safe_list);
      if (!enabled)
        {
          g_autofree char *reason = halectl_sanitize (lookup_string (dict, "disabled_reason", ""));
          g_autofree char *when = NULL;
          guint64 at = 0;

          g_variant_lookup (dict, "disabled_at", "t", &at);
          when = halectl_format_when (at);
          /* TRANSLATORS: under a disabled category: why and since when */
          g_print (_ ("%-16s   disabled: %s, %s\n"), "", reason, when);
        }
      g_variant_unref (dict);
    }
  return HALECTL_EXIT_OK;
}

int
halectl_categories (const HalectlOptions *options, int argc, char **argv)
{
  gboolean enable;

  if (argc == 0)
    return categories_list (options);
  enable = g_str_equal (argv[0], "enable");
  if ((!enable && !g_str_equal (argv[0], "disable")) || argc != 2)
    {
      g_printerr (_ ("Usage: halectl categories [enable|disable CATEGORY]\n"));
      return HALECTL_EXIT_USAGE;
    }
  return change (options, enable ? "EnableCategory" : "DisableCategory",
                 g_variant_new ("(s)", argv[1]), "org.hale.Hale1.manage-categories", argv[1]);
}

int
halectl_ack (const HalectlOptions *options, int argc, char **argv)
{
  g_autofree char *message = NULL;

  if (argc < 2)
    {
      g_printerr (_ ("Usage: halectl ack CHECK MESSAGE (say why the failure is known)\n"));
      return HALECTL_EXIT_USAGE;
    }
  /* `halectl ack api upstream outage` without quotes means the same. */
  message = g_strjoinv (" ", argv + 1);
  return change (options, "Acknowledge", g_variant_new ("(ss)", argv[0], message),
                 "org.hale.Hale1.acknowledge", argv[0]);
}

int
halectl_unack (const HalectlOptions *options, int argc, char **argv)
{
  if (argc != 1)
    {
      g_printerr (_ ("Usage: halectl unack CHECK\n"));
      return HALECTL_EXIT_USAGE;
    }
  return change (options, "RemoveAcknowledgement", g_variant_new ("(s)", argv[0]),
                 "org.hale.Hale1.acknowledge", argv[0]);
}

int
halectl_report (const HalectlOptions *options, int argc, char **argv)
{
  const char *name = NULL;
  const char *status = NULL;
  const char *message = "";

  /* The command's own options, after the name or before it. */
  for (int i = 0; i < argc; i++)
    {
      const char *arg = argv[i];
      const char **target = NULL;
      const char *value = NULL;

      if (g_str_has_prefix (arg, "--status"))
        target = &status;
      else if (g_str_has_prefix (arg, "--message"))
        target = &message;
      if (target != NULL)
        {
          const char *eq = strchr (arg, '=');
          const char *option = target == &status ? "--status" : "--message";

          if (eq != NULL && (size_t)(eq - arg) == strlen (option))
            value = eq + 1;
          else if (strlen (arg) == strlen (option) && i + 1 < argc)
            value = argv[++i];
          if (value == NULL)
            {
              g_printerr (_ ("%s needs a value\n"), option);
              return HALECTL_EXIT_USAGE;
            }
          *target = value;
        }
      else if (arg[0] == '-' || name != NULL)
        {
          g_printerr (_ ("Unexpected “%s”\n"), arg);
          return HALECTL_EXIT_USAGE;
        }
      else
        name = arg;
    }
  if (name == NULL || status == NULL
      || (!g_str_equal (status, "pass") && !g_str_equal (status, "warn")
          && !g_str_equal (status, "fail")))
    {
      g_printerr (_ ("Usage: halectl report NAME --status pass|warn|fail [--message TEXT]\n"));
      return HALECTL_EXIT_USAGE;
    }
  return change (options, "Report", g_variant_new ("(sss)", name, status, message),
                 "org.hale.Hale1.report-check", name);
}
