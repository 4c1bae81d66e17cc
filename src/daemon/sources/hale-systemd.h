/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-systemd.h: an asynchronous client of systemd's Manager, for reloads.
 *
 * ReloadUnit(unit, "replace") on org.freedesktop.systemd1.Manager, then
 * the JobRemoved signal of the job it returned: the same pattern as
 * timedated's StartUnit. The system manager on the system bus, the
 * user manager (systemd --user) on the session bus.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_SYSTEMD_ERROR (hale_systemd_error_quark ())
GQuark
hale_systemd_error_quark (void);

typedef enum
{
  /* The job ended with a result other than "done"; the message is that
   * word: "failed", "timeout", "canceled", "dependency", "skipped", ... */
  HALE_SYSTEMD_ERROR_JOB_FAILED,
  /* systemd answered the call with an error; the message is
   * "org.freedesktop.systemd1.NoSuchUnit: Unit x.service not found." */
  HALE_SYSTEMD_ERROR_BUS,
  /* No result within the timeout; the job (if any) was cancelled. The
   * message starts with "timeout". */
  HALE_SYSTEMD_ERROR_TIMEOUT,
  /* The connection is closed. */
  HALE_SYSTEMD_ERROR_DISCONNECTED,
  /* No answer to ReloadUnit within the timeout: systemd never took the
   * job, so nothing of the unit ran. The message starts with
   * "timeout". */
  HALE_SYSTEMD_ERROR_NOT_TAKEN,
} HaleSystemdError;

#define HALE_TYPE_SYSTEMD (hale_systemd_get_type ())
G_DECLARE_FINAL_TYPE (HaleSystemd, hale_systemd, HALE, SYSTEMD, GObject)

/* @connection: the bus the manager is on. Subscribes to the manager's
 * job signals at once (Subscribe() is called the first time a reload
 * is asked for). */
HaleSystemd *
hale_systemd_new (GDBusConnection *connection);

GDBusConnection *
hale_systemd_get_connection (HaleSystemd *self);

/* Reloads @unit and waits for its job to finish. @timeout (usec, > 0)
 * covers the call and the job; when it runs out the job is cancelled
 * (Job.Cancel) so it does not linger in systemd's queue, and the error
 * is HALE_SYSTEMD_ERROR_TIMEOUT, or HALE_SYSTEMD_ERROR_NOT_TAKEN when
 * systemd had not answered the call yet. Cancelling @cancellable stops waiting
 * (G_IO_ERROR_CANCELLED) but leaves the job to systemd. */
void
hale_systemd_reload_unit_async (HaleSystemd *self, const char *unit, gint64 timeout,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
gboolean
hale_systemd_reload_unit_finish (HaleSystemd *self, GAsyncResult *result, GError **error);

/* Asks systemd to send its signals to this connection (Subscribe),
 * once: the ends of jobs, units' PropertiesChanged. A failure is
 * logged; AlreadySubscribed (another user of the connection) is as
 * good. */
void
hale_systemd_subscribe (HaleSystemd *self);

/* LoadUnit(@unit): the unit's object path, also for a unit that is not
 * loaded (stopped and collected). Errors are those of the bus call
 * (G_IO_ERROR_TIMED_OUT after @timeout_ms, remote errors such as
 * org.freedesktop.systemd1.NoSuchUnit as GDBus maps them). */
void
hale_systemd_load_unit_async (HaleSystemd *self, const char *unit, int timeout_ms,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data);
char *
hale_systemd_load_unit_finish (HaleSystemd *self, GAsyncResult *result, GError **error);

/* The org.freedesktop.systemd1.Unit properties of the unit at @path,
 * an a{sv}. Errors as hale_systemd_load_unit_async(). */
void
hale_systemd_get_unit_properties_async (HaleSystemd *self, const char *path, int timeout_ms,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
GVariant *
hale_systemd_get_unit_properties_finish (HaleSystemd *self, GAsyncResult *result, GError **error);

G_END_DECLS
