/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-daemon.h: haled's modules, wired together.
 *
 * Owns the state model and every source and face; main() only parses
 * the command line and runs the loop.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char *config_path; /* NULL: the default for the mode */
  gboolean user;     /* session bus, user manager, XDG paths */
} HaleDaemonOptions;

#define HALE_TYPE_DAEMON (hale_daemon_get_type ())
G_DECLARE_FINAL_TYPE (HaleDaemon, hale_daemon, HALE, DAEMON, GObject)

/* The configuration file for the mode: /etc/hale/hale.conf, or
 * $XDG_CONFIG_HOME/hale/hale.conf with --user. */
char *hale_daemon_default_config_path (gboolean user);
/* /var/lib/hale ($STATE_DIRECTORY when systemd sets it), or
 * $XDG_STATE_HOME/hale with --user. */
char *hale_daemon_default_state_dir (gboolean user);

HaleDaemon *hale_daemon_new (const HaleDaemonOptions *options);

/* Loads the configuration, starts watching, listening and the bus.
 * Emits "ready" once everything serves (READY=1 is sent then). */
gboolean hale_daemon_start (HaleDaemon *self, GError **error);

/* SIGHUP: re-reads the configuration; an invalid one is logged and
 * the running one stays. Returns whether the new one was applied. */
gboolean hale_daemon_reload (HaleDaemon *self, GError **error);

void hale_daemon_stop (HaleDaemon *self);

G_END_DECLS
