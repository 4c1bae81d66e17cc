/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-reload.h: services reloaded through systemd, verified, rolled back.
 *
 * A sequence reloads the [Service] groups one after another, in the
 * order they appear in the configuration: ReloadUnit(unit, "replace")
 * on the service manager's D-Bus API, the job's JobRemoved result, then
 * the HealthCheck URL until it answers 2xx or the service's Timeout
 * runs out. A failed critical service stops the sequence and rolls the
 * certificates back to their previous files, then reloads again. Never a
 * shell.
 */
#pragma once

#include "hale-audit.h"
#include "hale-cert-watch.h"
#include "hale-config.h"
#include "hale-metrics.h"
#include "hale-probe.h"
#include "hale-state.h"

G_BEGIN_DECLS

#define HALE_RELOAD_ERROR (hale_reload_error_quark ())
GQuark hale_reload_error_quark (void);

typedef enum
{
  HALE_RELOAD_ERROR_BUSY,            /* a sequence is running */
  HALE_RELOAD_ERROR_UNKNOWN_SERVICE, /* no [Service NAME] of that name */
  HALE_RELOAD_ERROR_NOT_CONNECTED,   /* no bus to the service manager yet */
} HaleReloadError;

typedef struct
{
  char *service; /* the group name: "nginx" */
  char *unit;    /* "nginx.service" */
  gboolean success;
  gint64 duration;    /* usec: job and health check */
  char *error;        /* NULL on success; systemd's error name and message, the
                         job result ("failed", "timeout", ...), or the health check's reason */
  gint64 finished_at; /* g_get_real_time() */
  gboolean critical;  /* the service's Critical= */
  gboolean rollback;  /* a reload of the rollback, after the certificates were put back */
} HaleReloadResult;

HaleReloadResult *hale_reload_result_copy (const HaleReloadResult *result);
void hale_reload_result_free (HaleReloadResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleReloadResult, hale_reload_result_free)

#define HALE_TYPE_RELOAD (hale_reload_get_type ())
G_DECLARE_FINAL_TYPE (HaleReload, hale_reload, HALE, RELOAD, GObject)

/* @state_dir: backups of the previous certificate files live in
 * @state_dir/backup/. */
HaleReload *hale_reload_new (HaleState *state, HaleMetrics *metrics, HaleAudit *audit,
                             HaleCertWatch *certs, HaleProber *prober, const char *state_dir);

void hale_reload_configure (HaleReload *self, HaleConfig *config);

/* The bus the service manager is on: the system bus, or the session
 * bus with --user (systemd --user's manager answers there). */
void hale_reload_set_connection (HaleReload *self, GDBusConnection *connection);

/* @service: one [Service] group, or NULL for all in order. @actor: who
 * asked (NULL: haled itself, e.g. a renewal). Fails with BUSY while
 * another sequence runs. The result is a GPtrArray of HaleReloadResult,
 * one per service attempted (a critical failure stops the sequence, so
 * those after it are not attempted); *@out_rolled_back says whether the
 * certificates were put back (hale_reload_get_last_rollback() for how
 * that went).
 *
 * Automatic runs (ReloadOnChange=) never fail with BUSY: a renewal seen
 * during a sequence queues one follow-up run of the services it
 * concerns, coalesced with any other queued renewal. */
void hale_reload_run_async (HaleReload *self, const char *service, const HaleAuditActor *actor,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
GPtrArray *hale_reload_run_finish (HaleReload *self, GAsyncResult *result,
                                   gboolean *out_rolled_back, GError **error);

gboolean hale_reload_is_busy (HaleReload *self);

/* The rollback of the last sequence that needed one: TRUE when one ran.
 * @out_success: the certificates were put back and every service
 * reloaded again fine; @out_error (transfer full): why not, else NULL. */
gboolean hale_reload_get_last_rollback (HaleReload *self, gboolean *out_success, char **out_error,
                                        gint64 *out_finished_at);

/* The last result of every service, in configuration order. Transfer
 * container. */
GPtrArray *hale_reload_get_last_results (HaleReload *self);

/* Signals:
 * "service-reloaded" (const HaleReloadResult *result): one service done,
 *   also the reloads of a rollback (result->rollback TRUE).
 * "rollback-finished" (gboolean success, const char *error): the
 *   certificates put back and the services reloaded again; error NULL on
 *   success.
 * "sequence-finished" (GPtrArray *results, gboolean rolled_back): results
 *   are those of hale_reload_run_finish(), without the rollback's. */

G_END_DECLS
