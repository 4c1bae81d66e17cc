/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-check-kind.h: what a kind of check is, for hale-checks and the
 * kinds (hale-check-http.c, hale-check-unit.c, hale-check-push.c).
 *
 * A kind is a class: a static table of what it does differently (how a
 * run goes, what makes it due, whether it takes reports). hale-checks
 * holds the part every check shares (timers, the run in flight, the
 * last outcome, qos, metrics) and calls the class for the rest; it
 * never asks which kind a check is. A check of a kind is a HaleCheck
 * followed by the kind's own fields (instance_size), as GObject lays
 * out a subclass.
 */
#pragma once

#include "hale-checks.h"
#include "hale-systemd.h"

G_BEGIN_DECLS

/* qos is the share of passed outcomes among the last this many. */
#define HALE_CHECK_QOS_WINDOW 20

typedef struct _HaleCheck HaleCheck;
typedef struct _HaleCheckClass HaleCheckClass;

struct _HaleCheckClass
{
  HaleCheckKind kind;
  const char *name; /* "http", "unit", "push" */
  gsize instance_size;
  /* TRUE: the check runs, on Interval= and on demand, once at a time,
   * bounded by Timeout=, and a run has a duration; forced runs are
   * rate-limited. FALSE: it costs nothing to evaluate again. */
  gboolean runs;
  /* A run (or evaluation). @event: the checked thing said it changed.
   * Ends in hale_check_finish(), now or later, unless abandoned. */
  void (*run) (HaleCheck *c, gboolean event);
  /* What makes the check due on its own; NULL: the Interval= timer. */
  void (*arm) (HaleCheck *c);
  /* Stops watching (removed, or the bus changed); optional. */
  void (*stop) (HaleCheck *c);
  /* The bus changed: TRUE when the check should run again; optional. */
  gboolean (*connection_changed) (HaleCheck *c);
  /* A report (hale_checks_report()); NULL: the kind takes none. */
  gboolean (*report) (HaleCheck *c, const char *status, const char *message, GError **error);
  /* The last answer of instance @instance ("NAME@HOST:PORT"), or NULL;
   * optional (kinds without answers). */
  const HaleCheckAnswer *(*answer) (HaleCheck *c, const char *instance);
  /* Frees the kind's fields; optional. */
  void (*finalize) (HaleCheck *c);
};

extern const HaleCheckClass hale_check_http_class;
extern const HaleCheckClass hale_check_unit_class;
extern const HaleCheckClass hale_check_push_class;

struct _HaleCheck
{
  const HaleCheckClass *klass;
  gatomicrefcount ref;
  gboolean removed; /* set when the check or its owner is gone */
  HaleChecks *owner;

  /* configured */
  char *name;
  HaleCheckFormat format;
  char *url;
  char *unit;
  char *ca_file;
  gint64 ttl;
  guint severity;
  gint64 timeout;
  gint64 interval;

  GSource *timer;        /* Interval=, or the kind's own (arm) */
  gboolean due;          /* run at the next kick */
  GCancellable *running; /* the run in flight; NULL when idle */
  gint64 started;        /* monotonic, of the run in flight */
  gint64 last_forced;    /* monotonic; 0 never */
  gint64 watch_start;    /* monotonic: since when this is checked */

  HaleCheckOutcome *last;
  gboolean history[HALE_CHECK_QOS_WINDOW]; /* ok of the last outcomes, for qos */
  guint history_len;
  guint history_pos;
};

HaleCheck *
hale_check_ref (HaleCheck *c);
void
hale_check_unref (HaleCheck *c);

/* Whether the run of @cancellable still speaks for @c (not abandoned:
 * the check removed or reset, or another run started). */
gboolean
hale_check_is_current (HaleCheck *c, GCancellable *cancellable);

/* Ends a run (a report, an expiry) with its outcome and emits it; clears
 * the run in flight. @answer_severity: how bad a failure is by the
 * answer (1 or 2); Severity=2 makes any failure a warning at most. Takes
 * @details (a floating a{sv}, or NULL). */
void
hale_check_finish (HaleCheck *c, gboolean ok, guint answer_severity, const char *message,
                   GVariant *details);

/* Runs @c now, unless a run is in flight (kinds that run) or it is
 * removed. @event: as for HaleCheckClass.run. */
void
hale_check_run (HaleCheck *c, gboolean event);

/* Runs @c at the next turn of the main loop. */
void
hale_check_set_due (HaleCheck *c);

/* The bus of systemd's manager, and its proxy; NULL when none. */
GDBusConnection *
hale_check_get_connection (HaleCheck *c);
HaleSystemd *
hale_check_get_systemd (HaleCheck *c);

/* A span for messages: "5m", "1.5s"; whole seconds from a second on. */
char *
hale_check_format_span (gint64 usec);

/* Destroys and clears a timer. */
void
hale_check_source_clear (GSource **source);

G_END_DECLS
