/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-test-systemd.h: a private, real systemd --user and journald for tests.
 *
 * A user manager in its own
 * XDG_RUNTIME_DIR and XDG_CONFIG_HOME, its own dbus-daemon on
 * $XDG_RUNTIME_DIR/bus, units written by the test. It is killed by its
 * PID when freed, and by the kernel (PR_SET_PDEATHSIG) when the test
 * dies on a failed assertion.
 */
#pragma once

#include <gio/gio.h>

#include "hale-test-util.h"

G_BEGIN_DECLS

typedef struct _HaleTestSystemd HaleTestSystemd;

/* Makes the directories; nothing runs yet. */
HaleTestSystemd *
hale_test_systemd_new (GError **error);

/* Writes $XDG_CONFIG_HOME/systemd/user/@name. Before start. */
gboolean
hale_test_systemd_add_unit (HaleTestSystemd *ts, const char *name, const char *contents,
                            GError **error);

/* Starts systemd --user and waits (iterating the thread-default main
 * context) until org.freedesktop.systemd1 answers on its bus. */
gboolean
hale_test_systemd_start (HaleTestSystemd *ts, GError **error);

/* StartUnit(@name, "replace") and waits until its job is done. */
gboolean
hale_test_systemd_start_unit (HaleTestSystemd *ts, const char *name, GError **error);

GDBusConnection *
hale_test_systemd_get_connection (HaleTestSystemd *ts);
const char *
hale_test_systemd_get_tmpdir (HaleTestSystemd *ts);
/* The environment that reaches this systemd: XDG_RUNTIME_DIR,
 * DBUS_SESSION_BUS_ADDRESS, ... for `systemctl --user`. */
GStrv
hale_test_systemd_get_environ (HaleTestSystemd *ts);

/* Stops systemd (SIGTERM, then SIGKILL), removes what it made. */
void
hale_test_systemd_free (HaleTestSystemd *ts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleTestSystemd, hale_test_systemd_free)

/* A journald to write to: the one that owns /run/systemd/journal/socket
 * already, or one started here (as root). FALSE with a reason when
 * neither works. hale_test_journald_stop() stops only one started here. */
gboolean
hale_test_journald_ensure (GError **error);
void
hale_test_journald_stop (void);

/* What a test that cannot run says: a skip, but a failure under CI=true
 * (CI must not skip integration tests). */
void
hale_test_skip_or_fail (const char *what, const GError *error);

typedef struct
{
  const char *name;
  const char *contents;
  gboolean stopped; /* left stopped, not started */
} HaleTestUnit;

/* Writes @units, starts systemd and then each unit not marked stopped. */
gboolean
hale_test_systemd_start_with (HaleTestSystemd *ts, const HaleTestUnit *units, gsize n_units,
                              GError **error);

G_END_DECLS
