/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-rotation.h: what the rotation agent reports that hale cannot see itself.
 *
 * hale watches certificate files, so it sees a renewal that succeeded
 * (a new serial on disk). It cannot see an attempt that failed, how long
 * an attempt took, the agent's JWT refreshes against its identity
 * provider, the provider's refusals, the agent's JWT cache, or whether
 * the agent bootstrapped. The agent reports those (org.hale.Hale1.Rotation,
 * `halectl record`); this module checks each report, moves the seed's
 * metrics and audits renewal attempts. It keeps only the latest values
 * (for the D-Bus properties): counters start again with haled, as every
 * Prometheus counter may.
 *
 * Who counts a renewal (docs/metrics.md): certificate_renewal_attempts_total
 * {result="success"} is the certificate watcher's alone (a new serial seen
 * on disk), so a renewal is counted once whether the agent reports it or
 * not; {result="failure"} is this module's alone (an agent's failed
 * attempt). A reported success moves the duration histogram and the
 * timestamps, not the counter.
 */
#pragma once

#include "hale-audit.h"
#include "hale-metrics.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_ROTATION_ERROR (hale_rotation_error_quark ())
GQuark
hale_rotation_error_quark (void);

typedef enum
{
  HALE_ROTATION_ERROR_INVALID, /* an empty, oversized or unprintable argument */
} HaleRotationError;

/* Limits of a report's arguments, in bytes; docs/dbus.md repeats them. */
#define HALE_ROTATION_MAX_NAME 255           /* certificate name */
#define HALE_ROTATION_MAX_TEXT 4096          /* error, reason, message */
#define HALE_ROTATION_MAX_DURATION_SEC 86400 /* a renewal attempt */
#define HALE_ROTATION_MAX_CACHE_HITS 1000000 /* per report */

typedef enum
{
  HALE_BOOTSTRAP_UNKNOWN, /* not reported since haled started */
  HALE_BOOTSTRAP_OK,
  HALE_BOOTSTRAP_FAILED,
} HaleBootstrapStatus;

/* "unknown", "ok", "failed". */
const char *
hale_bootstrap_status_to_string (HaleBootstrapStatus status);

/* The latest renewal attempt reported; certificate NULL before the first. */
typedef struct
{
  char *certificate;
  gboolean success;
  gint64 duration_usec;
  gint64 at_usec; /* when it was reported, microseconds since the epoch */
  char *error;    /* NULL on success or when none was given */
} HaleRenewalReport;

#define HALE_TYPE_ROTATION (hale_rotation_get_type ())
G_DECLARE_FINAL_TYPE (HaleRotation, hale_rotation, HALE, ROTATION, GObject)

/* Registers the families (docs/metrics.md, module "rotation") in
 * @metrics; certificate_renewal_attempts_total is shared with the
 * certificate watcher (hale_metrics_add returns the family of that name
 * whoever registered it first). Signal "changed" (no arguments) after
 * every accepted report, for the D-Bus properties. */
HaleRotation *
hale_rotation_new (HaleMetrics *metrics, HaleAudit *audit);

/* Every record function checks its arguments first and changes nothing
 * when they are bad (HALE_ROTATION_ERROR_INVALID, naming the argument).
 * @actor: who reported (the D-Bus caller), NULL for haled itself. */

/* Those checks alone, for a face that refuses bad arguments before it
 * asks polkit; each record function makes its own again. */
gboolean
hale_rotation_check_renewal (const char *certificate, gint64 duration_usec, const char *error,
                             GError **error_out);
gboolean
hale_rotation_check_reason (const char *reason, GError **error);
gboolean
hale_rotation_check_cache_hits (guint count, GError **error);
gboolean
hale_rotation_check_bootstrap_message (const char *message, GError **error);

/* A renewal attempt of the certificate @certificate (the agent's name
 * for it; it need not be a [Certificate] group: the agent may renew
 * certificates hale does not watch). @error: NULL or "" when none.
 * Audited as certificate_renewal_attempted. */
gboolean
hale_rotation_record_renewal (HaleRotation *self, const char *certificate, gboolean success,
                              gint64 duration_usec, const char *error, const HaleAuditActor *actor,
                              GError **error_out);
gboolean
hale_rotation_record_jwt_refresh (HaleRotation *self, gboolean success, GError **error);
/* @reason: why the identity provider refused (logged, not a label:
 * free text would make the series unbounded). */
gboolean
hale_rotation_record_auth_failure (HaleRotation *self, const char *reason,
                                   const HaleAuditActor *actor, GError **error);
/* @count: 1 to HALE_ROTATION_MAX_CACHE_HITS, so an agent can report in batches. */
gboolean
hale_rotation_record_jwt_cache_hits (HaleRotation *self, guint count, GError **error);
/* @message: NULL or "" when none. */
gboolean
hale_rotation_set_bootstrap_status (HaleRotation *self, gboolean ok, const char *message,
                                    const HaleAuditActor *actor, GError **error);

/* The latest values, for the faces. Transfer none: valid until the next
 * report. */
HaleBootstrapStatus
hale_rotation_get_bootstrap_status (HaleRotation *self, const char **out_message,
                                    gint64 *out_changed_usec);
const HaleRenewalReport *
hale_rotation_get_last_renewal (HaleRotation *self);

G_END_DECLS
