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

G_END_DECLS
