/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-checks.h: the health of other local services, checked.
 *
 * One [Check NAME] group is one check of one of three kinds:
 *   - http: a service's own health endpoint, whose answer is understood
 *     in the common formats (FT __health, application/health+json, the
 *     rotation agent's report, Format=seed, or a plain status code);
 *   - unit: a systemd unit, read over D-Bus (ActiveState, SubState and the
 *     time of the last change, from PropertiesChanged, not polling);
 *   - push: something else reports (halectl report, the D-Bus method),
 *     and a missing report within TTL= is a failure.
 * Every check runs on its own timer, bounded by its own timeout, and keeps
 * its last result, its duration and a qos ratio. Answers of other
 * services are untrusted: size-limited, parsed defensively; a broken
 * answer is a failed check that says why.
 *
 * The kinds are classes, one file each (hale-check-kind.h); the answer
 * formats are hale-check-answer's. This module only checks. What the results mean for the host
 * (categories, acknowledgements, sticky categories) is hale-aggregate's.
 */
#pragma once

#include "hale-check-outcome.h"
#include "hale-config.h"
#include "hale-metrics.h"
#include "hale-state.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_CHECKS_ERROR (hale_checks_error_quark ())
GQuark
hale_checks_error_quark (void);

typedef enum
{
  HALE_CHECKS_ERROR_UNKNOWN_CHECK, /* no [Check NAME] of that name */
  HALE_CHECKS_ERROR_NOT_PUSH,      /* report to a check that is not a push check */
  HALE_CHECKS_ERROR_INVALID,       /* a bad status word, an oversized message, ... */
  HALE_CHECKS_ERROR_RATE_LIMITED,  /* a forced run asked too soon after the last */
} HaleChecksError;

/* HaleCheckKind and HaleCheckFormat are in hale-config.h: the
 * configuration says them. */

const char *
hale_check_kind_to_string (HaleCheckKind kind); /* "http", "unit", "push" */

#define HALE_TYPE_CHECKS (hale_checks_get_type ())
G_DECLARE_FINAL_TYPE (HaleChecks, hale_checks, HALE, CHECKS, GObject)

HaleChecks *
hale_checks_new (HaleMetrics *metrics);

/* Starts, stops and changes checks to match the [Check] groups. */
void
hale_checks_configure (HaleChecks *self, HaleConfig *config);

/* The bus systemd's manager is on, for unit checks (as for reloads). */
void
hale_checks_set_connection (HaleChecks *self, GDBusConnection *connection);

/* A push report: @status "pass", "warn" or "fail". */
gboolean
hale_checks_report (HaleChecks *self, const char *name, const char *status, const char *message,
                    GError **error);

/* Runs the named checks (NULL: all) now, for cache=false. Refused with
 * RATE_LIMITED when the same check was forced less than a few seconds
 * ago, so a client cannot make hale hammer the services. */
gboolean
hale_checks_run_now (HaleChecks *self, const char *const *names, GError **error);

/* cache=false: waits for a fresh run of the named checks (NULL: all)
 * and completes, in the main context, once every one has ended, after
 * the "outcome" handlers saw it. Rate-limited as hale_checks_run_now()
 * but never refused: a check whose run is in flight is not run again,
 * the round shares that run; one forced less than a few seconds ago is
 * not run again either, its result is fresh enough. Push checks are
 * current already and not waited for. Each run is bounded by its
 * Timeout=; FALSE with G_IO_ERROR_TIMED_OUT if one is abandoned, or
 * HALE_CHECKS_ERROR_UNKNOWN_CHECK for a name that is not a check. */
void
hale_checks_refresh_async (HaleChecks *self, const char *const *names, GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean
hale_checks_refresh_finish (HaleChecks *self, GAsyncResult *result, GError **error);

/* The names of the checks, in configuration order. */
GStrv
hale_checks_list (HaleChecks *self);

/* Transfer full; NULL before the first run or when unknown. */
HaleCheckOutcome *
hale_checks_get_outcome (HaleChecks *self, const char *name);

/* The last answer of one instance of an http check, as it came. */
typedef struct
{
  guint http_status;  /* 0: no answer (refused, timed out, ...) */
  char *content_type; /* NULL when it said none */
  GBytes *body;       /* the first 64 KiB; NULL without an answer */
} HaleCheckAnswer;

/* The last answer of @instance ("NAME@HOST:PORT",
 * hale_check_instance_name()); NULL when there is no such instance or
 * it has not been asked yet. Transfer none: valid until the next run. */
const HaleCheckAnswer *
hale_checks_get_answer (HaleChecks *self, const char *instance);

/* Signal "outcome" (HaleCheckOutcome *outcome): a check finished (also
 * when its result did not change); "removed" (const char *name). */

G_END_DECLS
