/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-notify.c: the service manager's side channel (sd_notify). */
#include "config.h"

#include "hale-notify.h"

#include <systemd/sd-daemon.h>

static void
notify (const char *state)
{
  int r = sd_notify (0, state);

  /* Not started by systemd (r == 0) is the normal case outside a unit. */
  if (r < 0)
    g_debug ("sd_notify(%s) failed: %s", state, g_strerror (-r));
}

void
hale_notify_ready (const char *status)
{
  g_autofree char *msg = g_strdup_printf ("READY=1\nSTATUS=%s", status ? status : "Serving");
  notify (msg);
}

void
hale_notify_reloading (void)
{
  /* MONOTONIC_USEC lets a newer systemd (Type=notify-reload) match the
   * READY=1 that follows to this reload; 252 ignores it. */
  g_autofree char *msg
      = g_strdup_printf ("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time ());
  notify (msg);
}

void
hale_notify_status (const char *status)
{
  g_autofree char *msg = g_strdup_printf ("STATUS=%s", status);
  notify (msg);
}

void
hale_notify_stopping (void)
{
  notify ("STOPPING=1");
}

static gboolean
watchdog_ping (gpointer user_data)
{
  notify ("WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

void
hale_notify_start_watchdog (void)
{
  static guint source_id;
  guint64 usec = 0;

  if (source_id != 0 || sd_watchdog_enabled (0, &usec) <= 0 || usec == 0)
    return;

  /* Pinging from the main loop is the point: a stuck loop stops the
   * pings and systemd restarts us. Half the interval leaves room for a
   * busy moment without a false alarm. */
  source_id = g_timeout_add (MAX (usec / 2000, 1), watchdog_ping, NULL);
  g_source_set_name_by_id (source_id, "[haled] watchdog");
  notify ("WATCHDOG=1");
}
