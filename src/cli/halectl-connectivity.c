/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* halectl degraded, halectl endpoints: org.hale.Hale1.Degraded. */
#include "config.h"

#include "halectl-commands.h"

#include "hale-names.h"

#include <glib/gi18n.h>

int
halectl_degraded (const HalectlOptions *options, int argc, char **argv)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autofree char *connectivity = NULL;
  g_autofree char *entered = NULL;
  g_autofree char *last = NULL;
  g_autofree char *word = NULL;
  gboolean active = FALSE;
  guint64 entered_at = 0, last_successful = 0;
  int exit_status = HALECTL_EXIT_OK;

  if (!halectl_check_no_arguments ("degraded", argc, argv))
    return HALECTL_EXIT_USAGE;

  reply = halectl_call_haled (options, "org.freedesktop.DBus.Properties", "GetAll",
                              g_variant_new ("(s)", HALE_DBUS_IFACE_DEGRADED), "(a{sv})",
                              &exit_status);
  if (reply == NULL)
    return exit_status;
  props = g_variant_get_child_value (reply, 0);
  if (!g_variant_lookup (props, "Active", "b", &active)
      || !g_variant_lookup (props, "EnteredAt", "t", &entered_at)
      || !g_variant_lookup (props, "Connectivity", "s", &connectivity)
      || !g_variant_lookup (props, "LastSuccessful", "t", &last_successful))
    {
      g_printerr (_ ("haled answered without the Degraded properties\n"));
      return HALECTL_EXIT_FAILED;
    }
  if (options->json)
    {
      halectl_print_variant_json (props);
      return HALECTL_EXIT_OK;
    }

  entered = halectl_format_when (entered_at);
  last = halectl_format_when (last_successful);
  word = halectl_sanitize (connectivity);
  g_print ("%-18s", _ ("Degraded mode:"));
  halectl_print_cell (options, active ? _ ("active") : _ ("inactive"),
                      halectl_status_color (active ? "degraded" : "healthy"), 0);
  if (active)
    g_print (_ (", since %s"), entered);
  g_print ("\n%-18s", _ ("Connectivity:"));
  halectl_print_cell (options, word,
                      halectl_status_color (g_str_equal (word, "offline") ? "critical" : word), 0);
  g_print ("\n%-18s%s\n", _ ("All answered:"), last);
  return HALECTL_EXIT_OK;
}

int
halectl_endpoints (const HalectlOptions *options, int argc, char **argv)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) endpoints = NULL;
  GVariantIter iter;
  const char *name;
  GVariant *dict;
  int exit_status = HALECTL_EXIT_OK;

  if (!halectl_check_no_arguments ("endpoints", argc, argv))
    return HALECTL_EXIT_USAGE;

  reply = halectl_call_haled (options, HALE_DBUS_IFACE_DEGRADED, "GetEndpoints", NULL,
                              "(a{sa{sv}})", &exit_status);
  if (reply == NULL)
    return exit_status;
  endpoints = g_variant_get_child_value (reply, 0);
  if (options->json)
    {
      halectl_print_variant_json (endpoints);
      return HALECTL_EXIT_OK;
    }
  if (g_variant_n_children (endpoints) == 0)
    {
      g_print (_ ("No endpoints configured ([Endpoint NAME] groups in hale.conf).\n"));
      return HALECTL_EXIT_OK;
    }

  g_print ("%-20s %-9s %-8s %5s %9s %5s  %s\n", _ ("ENDPOINT"), _ ("STATUS"), _ ("CRITICAL"),
           _ ("HTTP"), _ ("DURATION"), _ ("QOS"), _ ("MESSAGE"));
  g_variant_iter_init (&iter, endpoints);
  while (g_variant_iter_next (&iter, "{&s@a{sv}}", &name, &dict))
    {
      g_autofree char *safe_name = halectl_sanitize (name);
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
      safe_message = halectl_sanitize (message);
      status = halectl_sanitize (raw_status);

      g_print ("%-20s ", safe_name);
      halectl_print_cell (options, status, halectl_status_color (status), 9);
      g_print (" %-8s %5u %9s %5.2f  %s\n", critical ? _ ("yes") : _ ("no"), http,
               duration_text ? duration_text : "-", qos, safe_message);
      g_variant_unref (dict);
    }
  return HALECTL_EXIT_OK;
}
