/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* halectl record KIND ...: org.hale.Hale1.Rotation, for rotation agents
 * that are shell scripts (a certbot deploy hook, a cron job).
 *
 *   record renewal --certificate NAME --result success|failure
 *                  [--duration 12.5s] [--error TEXT]
 *   record jwt-refresh --result success|failure
 *   record auth-failure --reason TEXT
 *   record cache-hit [--count N]
 *   record bootstrap --status ok|failed [--message TEXT]
 *
 * Prints nothing on success (a hook's log stays quiet); exit 4 when
 * polkit refuses, 2 for a bad command line, 1 when haled refused the
 * report (its reason is printed).
 */
#include "config.h"

#include "halectl-commands.h"

#include "hale-names.h"

#include <glib/gi18n.h>
#include <stdlib.h>

#define RECORD_USAGE                                                                               \
  "record renewal --certificate NAME --result success|failure [--duration 12.5s] "                 \
  "[--error TEXT]\n"                                                                               \
  "       record jwt-refresh --result success|failure\n"                                           \
  "       record auth-failure --reason TEXT\n"                                                     \
  "       record cache-hit [--count N]\n"                                                          \
  "       record bootstrap --status ok|failed [--message TEXT]\n"

static int
usage_error (const char *message)
{
  g_printerr ("%s\n", message);
  g_printerr (_ ("Usage: halectl %s"), RECORD_USAGE);
  return HALECTL_EXIT_USAGE;
}

/* "12.5s", "1500ms", "2m", "1h", or plain seconds ("12.5"). */
static gboolean
parse_duration (const char *text, guint64 *out_usec)
{
  char *end = NULL;
  double value, scale = 1;

  if (text == NULL || !g_ascii_isdigit (text[0]))
    return FALSE;
  value = g_ascii_strtod (text, &end);
  if (end == text)
    return FALSE;
  if (g_str_equal (end, "") || g_str_equal (end, "s"))
    scale = 1;
  else if (g_str_equal (end, "ms"))
    scale = 0.001;
  else if (g_str_equal (end, "m"))
    scale = 60;
  else if (g_str_equal (end, "h"))
    scale = 3600;
  else
    return FALSE;
  value *= scale;
  /* haled refuses more than a day; this only keeps the conversion sane. */
  if (!(value >= 0) || value > 1e9)
    return FALSE;
  *out_usec = (guint64)(value * G_USEC_PER_SEC + 0.5);
  return TRUE;
}

/* Whether @word is "success"/"ok" (TRUE) or "failure"/"failed" (FALSE). */
static gboolean
parse_outcome (const char *word, const char *yes, const char *no, gboolean *out)
{
  if (g_strcmp0 (word, yes) == 0)
    *out = TRUE;
  else if (g_strcmp0 (word, no) == 0)
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

static int
send_report (const HalectlOptions *options, const char *method, GVariant *params)
{
  g_autoptr (GError) error = NULL;
  int exit_status;

  /* haled's reason for a refusal names the action. */
  exit_status
      = halectl_call_change (options, HALE_DBUS_IFACE_ROTATION, method, params, NULL, &error);
  if (error == NULL)
    return exit_status;
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS))
    g_printerr (_ ("haled refused the report: %s\n"), error->message);
  else if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD)
           || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE))
    g_printerr (_ ("this haled does not take rotation reports (%s)\n"), error->message);
  else
    g_printerr (_ ("Could not report to haled: %s\n"), error->message);
  return exit_status;
}

int
halectl_record (const HalectlOptions *options, int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *certificate = NULL;
  g_autofree char *result = NULL;
  g_autofree char *duration = NULL;
  g_autofree char *error_text = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *status = NULL;
  g_autofree char *message = NULL;
  g_autofree char *count_text = NULL;
  g_autofree char **args = NULL;
  const char *kind;
  gboolean outcome = FALSE;
  int n_args;
  const GOptionEntry entries[] = {
    { "certificate", 0, 0, G_OPTION_ARG_STRING, &certificate,
      N_ ("renewal: the certificate's name ([Certificate NAME])"), N_ ("NAME") },
    { "result", 0, 0, G_OPTION_ARG_STRING, &result, N_ ("renewal, jwt-refresh: success or failure"),
      N_ ("RESULT") },
    { "duration", 0, 0, G_OPTION_ARG_STRING, &duration,
      N_ ("renewal: how long it took (12.5s, 1500ms, 2m)"), N_ ("DURATION") },
    { "error", 0, 0, G_OPTION_ARG_STRING, &error_text, N_ ("renewal: why it failed"), N_ ("TEXT") },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &reason,
      N_ ("auth-failure: why the identity provider refused"), N_ ("TEXT") },
    { "count", 0, 0, G_OPTION_ARG_STRING, &count_text, N_ ("cache-hit: how many hits (default 1)"),
      N_ ("N") },
    { "status", 0, 0, G_OPTION_ARG_STRING, &status, N_ ("bootstrap: ok or failed"), N_ ("STATUS") },
    { "message", 0, 0, G_OPTION_ARG_STRING, &message, N_ ("bootstrap: a message"), N_ ("TEXT") },
    { NULL }
  };

  if (argc < 1)
    return usage_error (_ ("“record” needs what to record"));
  kind = argv[0];
  if (g_str_equal (kind, "help"))
    {
      g_print (_ ("Usage: halectl %s"), RECORD_USAGE);
      g_print ("%s", _ ("\nEach report needs the polkit action org.hale.Hale1.report-rotation.\n"
                        "Nothing is printed on success.\n"));
      return HALECTL_EXIT_OK;
    }

  /* GOptionContext wants a program name first and may reorder: a copy. */
  args = g_new0 (char *, argc + 2);
  args[0] = (char *)"halectl record";
  for (int i = 0; i < argc; i++)
    args[i + 1] = argv[i];
  n_args = argc + 1;
  context = g_option_context_new (NULL);
  g_option_context_set_help_enabled (context, FALSE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  {
    char **parse_argv = args;

    if (!g_option_context_parse (context, &n_args, &parse_argv, &error))
      return usage_error (error->message);
  }
  /* Left: "halectl record" and KIND. */
  if (n_args != 2)
    {
      g_autofree char *text
          = g_strdup_printf (_ ("“record %s” takes no argument “%s”"), kind, args[2]);
      return usage_error (text);
    }

#define REFUSE(option, allowed)                                                                    \
  if ((option) != NULL && !(allowed))                                                              \
    {                                                                                              \
      g_autofree char *text = g_strdup_printf (_ ("“record %s” takes no --%s"), kind, #option);    \
      return usage_error (text);                                                                   \
    }
  {
    gboolean renewal = g_str_equal (kind, "renewal");
    gboolean jwt = g_str_equal (kind, "jwt-refresh");
    gboolean auth = g_str_equal (kind, "auth-failure");
    gboolean cache = g_str_equal (kind, "cache-hit");
    gboolean bootstrap = g_str_equal (kind, "bootstrap");

    if (!renewal && !jwt && !auth && !cache && !bootstrap)
      {
        g_autofree char *text = g_strdup_printf (_ ("Unknown kind of record “%s”"), kind);
        return usage_error (text);
      }
    REFUSE (certificate, renewal);
    REFUSE (result, renewal || jwt);
    REFUSE (duration, renewal);
    REFUSE (reason, auth);
    REFUSE (status, bootstrap);
    REFUSE (message, bootstrap);
    if (error_text != NULL && !renewal)
      return usage_error (_ ("only “record renewal” takes --error"));
    if (count_text != NULL && !cache)
      return usage_error (_ ("only “record cache-hit” takes --count"));

    if (renewal)
      {
        guint64 usec = 0;

        if (certificate == NULL)
          return usage_error (_ ("“record renewal” needs --certificate NAME"));
        if (!parse_outcome (result, "success", "failure", &outcome))
          return usage_error (_ ("“record renewal” needs --result success or --result failure"));
        if (duration != NULL && !parse_duration (duration, &usec))
          {
            g_autofree char *text = g_strdup_printf (
                _ ("--duration “%s” is not a duration (12.5s, 1500ms, 2m, 1h)"), duration);
            return usage_error (text);
          }
        return send_report (
            options, "RecordRenewal",
            g_variant_new ("(sbts)", certificate, outcome, usec, error_text ? error_text : ""));
      }
    if (jwt)
      {
        if (!parse_outcome (result, "success", "failure", &outcome))
          return usage_error (
              _ ("“record jwt-refresh” needs --result success or --result failure"));
        return send_report (options, "RecordJwtRefresh", g_variant_new ("(b)", outcome));
      }
    if (auth)
      {
        if (reason == NULL)
          return usage_error (_ ("“record auth-failure” needs --reason TEXT"));
        return send_report (options, "RecordAuthFailure", g_variant_new ("(s)", reason));
      }
    if (cache)
      {
        guint64 count = 1;

        if (count_text != NULL
            && !g_ascii_string_to_unsigned (count_text, 10, 1, G_MAXUINT32, &count, NULL))
          {
            g_autofree char *text
                = g_strdup_printf (_ ("--count “%s” is not a positive number"), count_text);
            return usage_error (text);
          }
        return send_report (options, "RecordJwtCacheHits", g_variant_new ("(u)", (guint32)count));
      }
    if (!parse_outcome (status, "ok", "failed", &outcome))
      return usage_error (_ ("“record bootstrap” needs --status ok or --status failed"));
    return send_report (options, "SetBootstrapStatus",
                        g_variant_new ("(bs)", outcome, message ? message : ""));
  }
#undef REFUSE
}
