/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-aggregate.h: what the checks of other services mean for this host.
 *
 * hale-checks runs the [Check NAME] groups; this module turns their
 * outcomes into the host's view of them:
 *   - every outcome becomes a "check:NAME" result in the state model;
 *   - [Category NAME] groups hold checks; a category is healthy,
 *     degraded or unhealthy by its worst unacknowledged check, and
 *     unhealthy while disabled;
 *   - an acknowledgement (check -> message, author, time) keeps a known
 *     failure visible but no longer counts it against the host;
 *   - a sticky category that sees a failing check disables itself and
 *     stays down until someone enables it again.
 * Acknowledgements and category states live in STATE_DIR/aggregate.ini,
 * written atomically (and off the main loop) on every change and read
 * at start, so they survive a restart.
 *
 * The faces (HTTP, D-Bus) read snapshots from here; the renderers of
 * the reports are in hale-aggregate-report.h.
 */
#pragma once

#include "hale-audit.h"
#include "hale-checks.h"
#include "hale-config.h"
#include "hale-metrics.h"
#include "hale-state.h"

G_BEGIN_DECLS

#define HALE_AGGREGATE_ERROR (hale_aggregate_error_quark ())
GQuark
hale_aggregate_error_quark (void);

typedef enum
{
  HALE_AGGREGATE_ERROR_UNKNOWN_CHECK,    /* no [Check NAME] of that name */
  HALE_AGGREGATE_ERROR_UNKNOWN_CATEGORY, /* no [Category NAME] of that name */
  HALE_AGGREGATE_ERROR_INVALID,          /* an empty or oversized message, ... */
} HaleAggregateError;

/* The longest acknowledgement message, in bytes: a line for a human. */
#define HALE_AGGREGATE_ACK_MESSAGE_MAX 1024

#define HALE_STATE_AGGREGATE "aggregate.ini"

typedef struct
{
  char *check;
  char *message;
  char *author; /* the actor's identity: "uid:1000", "root", ... */
  gint64 uid;   /* -1: unknown */
  gint64 time;  /* g_get_real_time() of the acknowledgement */
} HaleAck;

/* What the faces show of one check: its latest outcome (NULL before
 * the first run), its acknowledgement (NULL when none) and the
 * categories it is in. */
typedef struct
{
  char *name;
  HaleCheckOutcome *outcome; /* may be NULL */
  HaleAck *ack;              /* may be NULL */
  GStrv categories;          /* never NULL */
  gboolean stale;            /* older than the RefreshRate of one of its categories */
} HaleAggregateCheck;

typedef struct
{
  char *name;
  GStrv checks;
  gint64 refresh_rate; /* usec */
  gboolean sticky;
  gboolean enabled;
  char *disabled_reason; /* NULL while enabled */
  gint64 disabled_at;    /* 0 while enabled */
  HaleStatus status;     /* unhealthy while disabled */
} HaleAggregateCategory;

void
hale_aggregate_check_free (HaleAggregateCheck *check);
void
hale_aggregate_category_free (HaleAggregateCategory *category);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleAggregateCheck, hale_aggregate_check_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleAggregateCategory, hale_aggregate_category_free)

#define HALE_TYPE_AGGREGATE (hale_aggregate_get_type ())
G_DECLARE_FINAL_TYPE (HaleAggregate, hale_aggregate, HALE, AGGREGATE, GObject)

/* Reads @state_dir/aggregate.ini when it exists (a broken file is
 * logged and set aside, never fatal). @audit: NULL for none. */
HaleAggregate *
hale_aggregate_new (HaleState *state, HaleChecks *checks, HaleMetrics *metrics, HaleAudit *audit,
                    const char *state_dir);

/* The [Check] names and [Category] groups of @config. */
void
hale_aggregate_configure (HaleAggregate *self, HaleConfig *config);

HaleChecks *
hale_aggregate_get_checks (HaleAggregate *self);
HaleState *
hale_aggregate_get_state (HaleAggregate *self);

/* @actor: who asked (NULL: haled). */
gboolean
hale_aggregate_acknowledge (HaleAggregate *self, const char *check, const char *message,
                            const HaleAuditActor *actor, GError **error);
gboolean
hale_aggregate_remove_acknowledgement (HaleAggregate *self, const char *check,
                                       const HaleAuditActor *actor, GError **error);
gboolean
hale_aggregate_set_category_enabled (HaleAggregate *self, const char *category, gboolean enabled,
                                     const HaleAuditActor *actor, GError **error);

gboolean
hale_aggregate_has_check (HaleAggregate *self, const char *check);
gboolean
hale_aggregate_has_category (HaleAggregate *self, const char *category);

/* Snapshots, sorted by name; transfer full (arrays that free their
 * elements). @categories: NULL for every check; else the checks of
 * those categories (every name must exist). */
GPtrArray *
hale_aggregate_list_checks (HaleAggregate *self, const char *const *categories);
GPtrArray *
hale_aggregate_list_categories (HaleAggregate *self, const char *const *categories);
guint
hale_aggregate_count_acknowledged (HaleAggregate *self);

/* Changes in what hale_aggregate_list_*() return grow this number. */
guint64
hale_aggregate_get_generation (HaleAggregate *self);

/* Waits (iterating the main context) until the state file is on disk.
 * For tests and for shutdown. */
void
hale_aggregate_flush (HaleAggregate *self);

/* Signal "changed": a check's outcome, an acknowledgement or a category
 * changed (not a re-run that changed nothing). */

G_END_DECLS
