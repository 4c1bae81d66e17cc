/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-notify.h: the service manager's side channel (sd_notify). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void
hale_notify_ready (const char *status);
void
hale_notify_reloading (void);
void
hale_notify_status (const char *status);
void
hale_notify_stopping (void);
/* Pings WATCHDOG=1 at half the WatchdogSec interval when it is set. */
void
hale_notify_start_watchdog (void);

G_END_DECLS
