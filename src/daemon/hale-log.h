/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-log.h: haled's log lines, structured, to the journal or stderr. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Installs the writer: the journal when stderr is connected to it (as
 * under systemd), stderr otherwise; every entry carries
 * SYSLOG_IDENTIFIER=haled so `journalctl -t haled` finds it. */
void
hale_log_init (void);

/* A log line with a MESSAGE_ID and HALE_EVENT, for the events an
 * operator searches for (config reloaded, started, ...). @fields:
 * NULL-terminated "KEY", "value" pairs added as they are. */
void
hale_log_event (GLogLevelFlags level, const char *message_id, const char *event,
                const char *message, ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
