/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-push: a push report (a script's pass, warn or fail, and its message).
 *
 * Input: the check name, the status and the message, separated by NUL
 * bytes (as D-Bus carries three strings). The checks are configured
 * from a hale.conf with two push checks. */
#include "fuzz-common.h"
#include "hale-checks.h"
#include "hale-config.h"
#include "hale-metrics.h"

#include <string.h>

static HaleChecks *checks;
static gboolean seen;

static void
outcome_cb (HaleChecks *c, HaleCheckOutcome *outcome, gpointer data)
{
  /* What every face shows of it: one valid UTF-8 line. */
  if (outcome->message == NULL || !g_utf8_validate (outcome->message, -1, NULL)
      || strchr (outcome->message, '\n') != NULL)
    __builtin_trap ();
  seen = TRUE;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  static const char text[] = "[Check backup]\nKind=push\nTTL=1h\n"
                             "[Check cron]\nTTL=10m\nSeverity=2\n";
  g_autoptr (GBytes) bytes = g_bytes_new_static (text, sizeof text - 1);
  const char *names[] = { "hale.conf", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = NULL;

  config = hale_config_load_from_data (names, &bytes, &error);
  if (config == NULL)
    g_error ("%s", error->message);
  checks = hale_checks_new (hale_metrics_new ("hale"));
  hale_checks_configure (checks, config);
  g_signal_connect (checks, "outcome", G_CALLBACK (outcome_cb), NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *copy = g_malloc (size + 2);
  const char *name, *status, *message;
  g_autoptr (GError) error = NULL;
  gboolean accepted;

  memcpy (copy, data, size);
  copy[size] = copy[size + 1] = '\0';
  name = copy;
  status = name + strlen (name) + 1;
  message = status <= copy + size ? status + strlen (status) + 1 : NULL;
  if (status > copy + size)
    status = "";
  if (message != NULL && message > copy + size)
    message = NULL;

  seen = FALSE;
  accepted = hale_checks_report (checks, name, status, message, &error);
  if (accepted == (error != NULL))
    __builtin_trap ();
  while (g_main_context_iteration (NULL, FALSE))
    ;
  if (accepted)
    {
      g_autoptr (HaleCheckOutcome) outcome = hale_checks_get_outcome (checks, name);
      if (outcome == NULL)
        __builtin_trap ();
    }
  return 0;
}
