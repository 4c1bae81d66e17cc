/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-state.h: the one model of what hale knows.
 *
 * Sources (certificate watch, probes, reloads, aggregated checks) write
 * check results here; the faces (HTTP, D-Bus, halectl through D-Bus)
 * only read. Results are immutable and reference counted, so a face
 * holding one never sees it change under it, and all faces read the same
 * snapshot: they cannot disagree.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  HALE_CHECK_HEALTHY,
  HALE_CHECK_WARNING,
  HALE_CHECK_CRITICAL,
} HaleCheckStatus;

/* The overall status of /health and the Health.Status property. */
typedef enum
{
  HALE_STATUS_HEALTHY,
  HALE_STATUS_DEGRADED,
  HALE_STATUS_UNHEALTHY,
} HaleStatus;

const char *hale_check_status_to_string (HaleCheckStatus status); /* "healthy", ... */
const char *hale_status_to_string (HaleStatus status);            /* "healthy", ... */

/* The one status rule, for the host (Status, /health) and for every
 * part of it a report selects (a category, ?categories=): what one
 * result counts for the whole. Critical makes it unhealthy, a warning
 * degraded; a healthy result, or one an operator acknowledged, does not
 * count. The whole is the worst of what its results count for. */
HaleStatus hale_status_of_check (HaleCheckStatus status, gboolean acknowledged);

typedef struct
{
  char *name; /* "certificate:current", "service:nginx", "connectivity" */
  HaleCheckStatus status;
  char *message;     /* one readable line */
  GVariant *details; /* a{sv}, never NULL; floating refs are sunk */
  gint64 checked_at; /* g_get_real_time() of the check */
  gint64 duration;   /* usec the check took */
  /* An operator knows of this failure (hale-aggregate): it stays in the
   * report but does not count towards the overall status. Set it before
   * hale_state_set_check(); FALSE from hale_check_result_new(). */
  gboolean acknowledged;
} HaleCheckResult;

/* Takes ownership of nothing; copies @name and @message, refs @details
 * (NULL means an empty a{sv}). */
HaleCheckResult *hale_check_result_new (const char *name, HaleCheckStatus status,
                                        const char *message, GVariant *details,
                                        gint64 checked_at, gint64 duration);
HaleCheckResult *hale_check_result_ref (HaleCheckResult *result);
void hale_check_result_unref (HaleCheckResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleCheckResult, hale_check_result_unref)

#define HALE_TYPE_STATE (hale_state_get_type ())
G_DECLARE_FINAL_TYPE (HaleState, hale_state, HALE, STATE, GObject)

HaleState *hale_state_new (void);

/* Replaces the result of the same name. Emits ::check-changed when the
 * status, message or details differ from before (not for a new time
 * alone), and notify::status when the overall status changes. The
 * generation grows on every call so caches can tell they are stale. */
void hale_state_set_check (HaleState *self, HaleCheckResult *result);
void hale_state_remove_check (HaleState *self, const char *name);

/* Transfer full; NULL when unknown. */
HaleCheckResult *hale_state_get_check (HaleState *self, const char *name);

/* Results whose name starts with @prefix (NULL: all), sorted by name.
 * Transfer container: a new array holding new references. */
GPtrArray *hale_state_list_checks (HaleState *self, const char *prefix);

/* Critical anywhere: unhealthy; warning anywhere or degraded mode:
 * degraded; otherwise healthy. Acknowledged results do not count. */
HaleStatus hale_state_get_status (HaleState *self);

/* Degraded mode is decided by the connectivity source, shown by all. */
void hale_state_set_degraded (HaleState *self, gboolean degraded);
gboolean hale_state_get_degraded (HaleState *self);

/* Grows on every change; for caches of rendered output. */
guint64 hale_state_get_generation (HaleState *self);

G_END_DECLS
