/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-checks.c: the health of other local services, checked.
 *
 * Every check runs on its own timer (Interval=) and never twice at once:
 * a run that is due while the last is still within its Timeout= is
 * skipped. Each run ends in one immutable HaleCheckOutcome, emitted as
 * "outcome"; what it means for the host (categories, acknowledgements)
 * is hale-aggregate's.
 *
 * What differs between the kinds is in their classes (hale-check-kind.h:
 * http, unit, push, one file each, found in the kinds[] table by the
 * configured kind); this file holds what every check shares and never
 * asks which kind a check is.
 *
 * qos is the share of passed runs (ok, so a warn counts as not passed)
 * among the last QOS_WINDOW outcomes of a check.
 */
#include "config.h"

#include "hale-check-kind.h"
#include "hale-checks.h"

#include "hale-units.h"

#include <string.h>

/* hale_checks_run_now(): a check is forced at most once per this. */
#define FORCE_MIN_INTERVAL (5 * G_USEC_PER_SEC)

G_DEFINE_QUARK (hale - checks - error - quark, hale_checks_error)

static const double duration_buckets[]
    = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };

/* The kinds of check, as power-profiles-daemon lists its drivers. */
static const HaleCheckClass *const kinds[] = {
  &hale_check_http_class,
  &hale_check_unit_class,
  &hale_check_push_class,
};

static const HaleCheckClass *
kind_class (HaleCheckKind kind)
{
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (kinds[i]->kind == kind)
      return kinds[i];
  g_return_val_if_reached (NULL);
}

const char *
hale_check_kind_to_string (HaleCheckKind kind)
{
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (kinds[i]->kind == kind)
      return kinds[i]->name;
  return "unknown";
}

char *
hale_check_format_span (gint64 usec)
{
  /* Whole seconds from a second on: "5m", not "5m0s12ms". */
  if (usec >= G_USEC_PER_SEC)
    usec -= usec % G_USEC_PER_SEC;
  else if (usec >= 1000)
    usec -= usec % 1000;
  return hale_duration_format (MAX (usec, 0));
}

/* ---- the checks --------------------------------------------------------- */

struct _HaleChecks
{
  GObject parent_instance;

  HaleMetrics *metrics;
  GDBusConnection *connection;
  HaleSystemd *systemd; /* on connection */

  GPtrArray *checks; /* HaleCheck, in configuration order */
  guint kick_idle;   /* runs the checks that are due */
  GPtrArray *rounds; /* Round: hale_checks_refresh_async() waiting for runs */

  HaleMetricFamily *m_status;
  HaleMetricFamily *m_duration;
  HaleMetricFamily *m_runs;
  HaleMetricFamily *m_qos;
};

G_DEFINE_TYPE (HaleChecks, hale_checks, G_TYPE_OBJECT)

enum
{
  SIGNAL_OUTCOME,
  SIGNAL_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *const results[] = { "pass", "warn", "fail" };

static void
schedule_kick (HaleChecks *self);
static void
rounds_release (HaleChecks *self, const char *name);

HaleCheck *
hale_check_ref (HaleCheck *c)
{
  g_atomic_ref_count_inc (&c->ref);
  return c;
}

void
hale_check_source_clear (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

void
hale_check_unref (HaleCheck *c)
{
  if (!g_atomic_ref_count_dec (&c->ref))
    return;
  if (c->klass->finalize != NULL)
    c->klass->finalize (c);
  g_free (c->name);
  g_free (c->url);
  g_free (c->unit);
  g_free (c->ca_file);
  hale_check_source_clear (&c->timer);
  g_clear_object (&c->running);
  g_clear_pointer (&c->last, hale_check_outcome_unref);
  g_free (c);
}

static HaleCheck *
check_new (HaleChecks *self, const HaleCheckConfig *cfg)
{
  const HaleCheckClass *klass = kind_class (cfg->kind);
  HaleCheck *c = g_malloc0 (klass->instance_size);

  c->klass = klass;
  g_atomic_ref_count_init (&c->ref);
  c->owner = self;
  c->name = g_strdup (cfg->name);
  c->watch_start = g_get_monotonic_time ();
  c->due = TRUE;
  return c;
}

gboolean
hale_check_is_current (HaleCheck *c, GCancellable *cancellable)
{
  return !c->removed && cancellable == c->running;
}

GDBusConnection *
hale_check_get_connection (HaleCheck *c)
{
  return c->owner->connection;
}

HaleSystemd *
hale_check_get_systemd (HaleCheck *c)
{
  return c->owner->systemd;
}

void
hale_check_set_due (HaleCheck *c)
{
  c->due = TRUE;
  schedule_kick (c->owner);
}

static double
check_qos (const HaleCheck *c)
{
  guint ok = 0;

  if (c->history_len == 0)
    return 0.0;
  for (guint i = 0; i < c->history_len; i++)
    ok += c->history[i] ? 1 : 0;
  return (double)ok / c->history_len;
}

void
hale_check_finish (HaleCheck *c, gboolean ok, guint answer_severity, const char *message,
                   GVariant *details)
{
  HaleChecks *self = c->owner;
  HaleCheckOutcome *out;
  const char *labels[] = { c->name, NULL };
  const char *run_labels[] = { c->name,
                               ok                     ? "pass"
                               : answer_severity >= 2 ? "warn"
                                                      : "fail",
                               NULL };

  g_clear_object (&c->running);
  out = hale_check_outcome_new (c->name, c->klass->kind, ok,
                                ok ? c->severity : MAX (c->severity, CLAMP (answer_severity, 1, 2)),
                                message, details);
  out->duration = c->klass->runs ? g_get_monotonic_time () - c->started : 0;

  c->history[c->history_pos] = ok;
  c->history_pos = (c->history_pos + 1) % HALE_CHECK_QOS_WINDOW;
  c->history_len = MIN (c->history_len + 1, HALE_CHECK_QOS_WINDOW);
  out->qos = check_qos (c);

  g_clear_pointer (&c->last, hale_check_outcome_unref);
  c->last = out;

  hale_metric_inc (self->m_runs, run_labels, 1);
  hale_metric_set (self->m_status, labels, out->status);
  hale_metric_set (self->m_qos, labels, out->qos);
  if (c->klass->runs)
    hale_metric_observe (self->m_duration, labels, (double)out->duration / G_USEC_PER_SEC);

  g_debug ("check %s: %s%s%s", c->name, hale_check_status_to_string (out->status),
           message ? ": " : "", message ? message : "");
  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_OUTCOME], 0, out);
  /* After the signal: who waits for the round reads what the handlers
   * (the aggregate) made of it. */
  rounds_release (self, c->name);
  g_object_unref (self);
}

gboolean
hale_checks_report (HaleChecks *self, const char *name, const char *status, const char *message,
                    GError **error)
{
  HaleCheck *c = NULL;

  g_return_val_if_fail (HALE_IS_CHECKS (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (status != NULL, FALSE);

  for (guint i = 0; i < self->checks->len && c == NULL; i++)
    if (g_str_equal (((HaleCheck *)g_ptr_array_index (self->checks, i))->name, name))
      c = g_ptr_array_index (self->checks, i);
  if (c == NULL)
    {
      g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_UNKNOWN_CHECK,
                   "there is no [Check %s]", name);
      return FALSE;
    }
  if (c->klass->report == NULL)
    {
      g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_NOT_PUSH,
                   "[Check %s] is a %s check: only push checks (TTL=) take reports", name,
                   c->klass->name);
      return FALSE;
    }
  return c->klass->report (c, status, message, error);
}

/* ---- running ------------------------------------------------------------ */

/* @event: the checked thing said it changed (a unit's
 * PropertiesChanged), as opposed to a timer, a forced run or the first
 * run. */
void
hale_check_run (HaleCheck *c, gboolean event)
{
  c->due = FALSE;
  if (c->removed)
    return;
  if (c->klass->runs)
    {
      if (c->running != NULL)
        {
          /* The last run is still within its Timeout=: never two at once. */
          g_debug ("check %s: previous run still going, this one skipped", c->name);
          return;
        }
      c->running = g_cancellable_new ();
      c->started = g_get_monotonic_time ();
    }
  c->klass->run (c, event);
}

static gboolean
interval_due (gpointer user_data)
{
  hale_check_run (user_data, FALSE);
  return G_SOURCE_CONTINUE;
}

static gboolean
kick (gpointer user_data)
{
  HaleChecks *self = user_data;
  g_autoptr (GPtrArray) due = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_check_unref);

  self->kick_idle = 0;
  /* A run may emit at once (a push check, a missing connection), and a
   * handler may reconfigure: walk a copy. */
  for (guint i = 0; i < self->checks->len; i++)
    {
      HaleCheck *c = g_ptr_array_index (self->checks, i);
      if (c->due)
        g_ptr_array_add (due, hale_check_ref (c));
    }
  for (guint i = 0; i < due->len; i++)
    hale_check_run (g_ptr_array_index (due, i), FALSE);
  return G_SOURCE_REMOVE;
}

static void
schedule_kick (HaleChecks *self)
{
  if (self->kick_idle == 0)
    self->kick_idle = g_idle_add (kick, self);
}

gboolean
hale_checks_run_now (HaleChecks *self, const char *const *names, GError **error)
{
  g_autoptr (GPtrArray) chosen = g_ptr_array_new ();
  gint64 now = g_get_monotonic_time ();

  g_return_val_if_fail (HALE_IS_CHECKS (self), FALSE);

  for (guint i = 0; i < self->checks->len; i++)
    {
      HaleCheck *c = g_ptr_array_index (self->checks, i);
      if (names == NULL || g_strv_contains (names, c->name))
        g_ptr_array_add (chosen, c);
    }
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      gboolean found = FALSE;
      for (guint j = 0; j < chosen->len; j++)
        found |= g_str_equal (((HaleCheck *)g_ptr_array_index (chosen, j))->name, names[i]);
      if (!found)
        {
          g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_UNKNOWN_CHECK,
                       "there is no [Check %s]", names[i]);
          return FALSE;
        }
    }

  /* All or nothing: a refused call runs none, so a client cannot get
   * around the limit by naming checks one at a time after a refusal.
   * Push checks cost the services nothing and are not limited. */
  for (guint i = 0; i < chosen->len; i++)
    {
      HaleCheck *c = g_ptr_array_index (chosen, i);
      if (c->klass->runs && c->last_forced != 0 && now - c->last_forced < FORCE_MIN_INTERVAL)
        {
          g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_RATE_LIMITED,
                       "check %s was run on demand %.1f s ago; at most once every %d s", c->name,
                       (double)(now - c->last_forced) / G_USEC_PER_SEC,
                       (int)(FORCE_MIN_INTERVAL / G_USEC_PER_SEC));
          return FALSE;
        }
    }
  for (guint i = 0; i < chosen->len; i++)
    {
      HaleCheck *c = g_ptr_array_index (chosen, i);
      if (c->klass->runs)
        c->last_forced = now;
      c->due = TRUE;
    }
  /* From the main loop, not from inside the caller (a request handler). */
  schedule_kick (self);
  return TRUE;
}

/* ---- fresh rounds (cache=false) ---------------------------------------- */

/* A request waiting for runs: the names of the checks whose run it
 * waits for, and a deadline in case a run is abandoned without an end. */
typedef struct
{
  HaleChecks *owner; /* unowned: the checks complete every round in dispose */
  GTask *task;
  GPtrArray *pending; /* char *: checks whose run has not ended */
  GSource *deadline;
} Round;

static void
round_free (Round *round)
{
  hale_check_source_clear (&round->deadline);
  g_ptr_array_unref (round->pending);
  g_clear_object (&round->task);
  g_free (round);
}

/* Off the round list, then answered. */
static void
round_complete (Round *round, GError *error)
{
  GTask *task = g_steal_pointer (&round->task);

  g_ptr_array_remove_fast (round->owner->rounds, round);
  round_free (round);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static gboolean
round_deadline_cb (gpointer data)
{
  Round *round = data;
  g_autoptr (GString) names = g_string_new (NULL);

  for (guint i = 0; i < round->pending->len; i++)
    g_string_append_printf (names, "%s%s", i > 0 ? ", " : "",
                            (const char *)g_ptr_array_index (round->pending, i));
  round_complete (round, g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                      "check(s) %s did not end within their Timeout=", names->str));
  return G_SOURCE_REMOVE;
}

/* The run of @name ended (or the check went): rounds that waited for
 * it alone are answered. */
static void
rounds_release (HaleChecks *self, const char *name)
{
  for (guint i = self->rounds->len; i > 0; i--)
    {
      Round *round = g_ptr_array_index (self->rounds, i - 1);

      for (guint j = 0; j < round->pending->len; j++)
        if (g_str_equal (g_ptr_array_index (round->pending, j), name))
          {
            g_ptr_array_remove_index_fast (round->pending, j);
            break;
          }
      if (round->pending->len == 0)
        round_complete (round, NULL);
    }
}

void
hale_checks_refresh_async (HaleChecks *self, const char *const *names, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  Round *round;
  gint64 now = g_get_monotonic_time ();
  gint64 longest = 0;

  g_return_if_fail (HALE_IS_CHECKS (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, hale_checks_refresh_async);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      gboolean found = FALSE;
      for (guint j = 0; j < self->checks->len && !found; j++)
        found = g_str_equal (((HaleCheck *)g_ptr_array_index (self->checks, j))->name, names[i]);
      if (!found)
        {
          g_task_return_new_error (task, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_UNKNOWN_CHECK,
                                   "there is no [Check %s]", names[i]);
          return;
        }
    }

  round = g_new0 (Round, 1);
  round->owner = self;
  round->task = g_steal_pointer (&task);
  round->pending = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < self->checks->len; i++)
    {
      HaleCheck *c = g_ptr_array_index (self->checks, i);

      /* A push check's outcome is current already. */
      if ((names != NULL && !g_strv_contains (names, c->name)) || !c->klass->runs)
        continue;
      if (c->running == NULL)
        {
          /* Forced within the limit: that run's result is fresh enough,
           * and the service is not asked again. */
          if (c->last_forced != 0 && now - c->last_forced < FORCE_MIN_INTERVAL && c->last != NULL)
            continue;
          c->last_forced = now;
          c->due = TRUE;
        }
      /* Else a run is in flight: this round shares it. */
      g_ptr_array_add (round->pending, g_strdup (c->name));
      longest = MAX (longest, c->timeout);
    }
  g_ptr_array_add (self->rounds, round);
  if (round->pending->len == 0)
    {
      round_complete (round, NULL);
      return;
    }
  /* Each run ends within its Timeout=; a second more covers a run
   * abandoned without an end (a check reset under it). */
  round->deadline = g_timeout_source_new ((guint)MIN (longest / 1000 + 1000, G_MAXUINT));
  g_source_set_callback (round->deadline, round_deadline_cb, round, NULL);
  g_source_set_static_name (round->deadline, "[hale] fresh round deadline");
  g_source_attach (round->deadline, g_main_context_get_thread_default ());
  schedule_kick (self);
}

gboolean
hale_checks_refresh_finish (HaleChecks *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

HaleCheckOutcome *
hale_checks_get_outcome (HaleChecks *self, const char *name)
{
  g_return_val_if_fail (HALE_IS_CHECKS (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < self->checks->len; i++)
    {
      HaleCheck *c = g_ptr_array_index (self->checks, i);
      if (g_str_equal (c->name, name))
        return c->last != NULL ? hale_check_outcome_ref (c->last) : NULL;
    }
  return NULL;
}

const HaleCheckAnswer *
hale_checks_get_answer (HaleChecks *self, const char *instance)
{
  const char *at;

  g_return_val_if_fail (HALE_IS_CHECKS (self), NULL);
  g_return_val_if_fail (instance != NULL, NULL);

  at = strrchr (instance, '@');
  if (at == NULL)
    return NULL;
  for (guint i = 0; i < self->checks->len; i++)
    {
      HaleCheck *c = g_ptr_array_index (self->checks, i);
      if (c->klass->answer != NULL && strlen (c->name) == (gsize)(at - instance)
          && strncmp (c->name, instance, (gsize)(at - instance)) == 0)
        return c->klass->answer (c, instance);
    }
  return NULL;
}

GStrv
hale_checks_list (HaleChecks *self)
{
  GStrv names;

  g_return_val_if_fail (HALE_IS_CHECKS (self), NULL);
  names = g_new0 (char *, self->checks->len + 1);
  for (guint i = 0; i < self->checks->len; i++)
    names[i] = g_strdup (((HaleCheck *)g_ptr_array_index (self->checks, i))->name);
  return names;
}

/* ---- configuration ------------------------------------------------------ */

static void
check_stop (HaleCheck *c)
{
  hale_check_source_clear (&c->timer);
  if (c->running != NULL)
    g_cancellable_cancel (c->running);
  g_clear_object (&c->running);
  if (c->klass->stop != NULL)
    c->klass->stop (c);
}

/* Stops @c for good, and its status series go. Its run counts and
 * durations stay for a check of the same name that replaces it (another
 * thing checked), so the counters do not restart. */
static void
check_forget (HaleChecks *self, HaleCheck *c)
{
  const char *labels[] = { c->name, NULL };

  c->removed = TRUE;
  check_stop (c);
  hale_metric_remove (self->m_status, labels);
  hale_metric_remove (self->m_qos, labels);
  rounds_release (self, c->name);
}

static void
check_set_config (HaleCheck *c, const HaleCheckConfig *cfg)
{
  g_free (c->url);
  c->url = g_strdup (cfg->url);
  g_free (c->unit);
  c->unit = g_strdup (cfg->unit);
  g_free (c->ca_file);
  c->ca_file = g_strdup (cfg->ca_file);
  c->format = cfg->format;
  c->ttl = cfg->ttl;
  c->severity = cfg->severity;
  c->timeout = cfg->timeout;
}

static gboolean
same_target (const HaleCheck *c, const HaleCheckConfig *cfg)
{
  return c->klass->kind == cfg->kind && c->format == cfg->format
         && g_strcmp0 (c->url, cfg->url) == 0 && g_strcmp0 (c->unit, cfg->unit) == 0
         && g_strcmp0 (c->ca_file, cfg->ca_file) == 0;
}

static void
check_arm (HaleCheck *c, gint64 interval)
{
  if (c->klass->arm != NULL)
    {
      c->interval = 0;
      c->klass->arm (c);
      return;
    }
  if (c->timer != NULL && c->interval == interval)
    return;
  hale_check_source_clear (&c->timer);
  c->interval = interval;
  c->timer = g_timeout_source_new ((guint)MIN (MAX (interval / 1000, 1), G_MAXUINT));
  g_source_set_callback (c->timer, interval_due, c, NULL);
  g_source_set_static_name (c->timer, "[hale] check interval");
  g_source_attach (c->timer, g_main_context_get_thread_default ());
}

/* @c is gone from the configuration: so are all its series. */
static void
check_remove (HaleChecks *self, HaleCheck *c)
{
  const char *labels[] = { c->name, NULL };

  check_forget (self, c);
  hale_metric_remove (self->m_duration, labels);
  for (gsize i = 0; i < G_N_ELEMENTS (results); i++)
    {
      const char *run_labels[] = { c->name, results[i], NULL };
      hale_metric_remove (self->m_runs, run_labels);
    }
}

void
hale_checks_configure (HaleChecks *self, HaleConfig *config)
{
  g_autoptr (GPtrArray) next = NULL;
  g_autoptr (GPtrArray) gone = NULL;

  g_return_if_fail (HALE_IS_CHECKS (self));
  g_return_if_fail (config != NULL);

  next = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_check_unref);
  for (guint i = 0; i < config->checks->len; i++)
    {
      const HaleCheckConfig *cfg = g_ptr_array_index (config->checks, i);
      HaleCheck *c = NULL;

      for (guint j = 0; j < self->checks->len && c == NULL; j++)
        if (g_str_equal (((HaleCheck *)g_ptr_array_index (self->checks, j))->name, cfg->name))
          c = g_ptr_array_steal_index (self->checks, j);

      if (c == NULL)
        {
          c = check_new (self, cfg);
          check_set_config (c, cfg);
          for (gsize k = 0; k < G_N_ELEMENTS (results); k++)
            {
              const char *run_labels[] = { c->name, results[k], NULL };
              hale_metric_touch (self->m_runs, run_labels);
            }
        }
      else if (!same_target (c, cfg))
        {
          /* Another thing is checked now: what was learnt goes. */
          HaleCheck *old = c;

          c = check_new (self, cfg);
          check_set_config (c, cfg);
          c->last_forced = old->last_forced;
          check_forget (self, old);
          hale_check_unref (old);
        }
      else
        {
          /* The same thing checked: its history stays. A new severity
           * shows at once. */
          if (c->severity != cfg->severity)
            c->due = TRUE;
          check_set_config (c, cfg);
        }
      check_arm (c, cfg->interval);
      g_ptr_array_add (next, c);
    }

  gone = g_steal_pointer (&self->checks);
  self->checks = g_steal_pointer (&next);
  for (guint i = 0; i < gone->len; i++)
    {
      HaleCheck *c = g_ptr_array_index (gone, i);
      check_remove (self, c);
      g_signal_emit (self, signals[SIGNAL_REMOVED], 0, c->name);
    }
  g_ptr_array_set_free_func (gone, (GDestroyNotify)hale_check_unref);
  schedule_kick (self);
}

void
hale_checks_set_connection (HaleChecks *self, GDBusConnection *connection)
{
  g_return_if_fail (HALE_IS_CHECKS (self));
  g_return_if_fail (connection == NULL || G_IS_DBUS_CONNECTION (connection));

  if (connection == self->connection)
    return;
  for (guint i = 0; i < self->checks->len; i++)
    {
      HaleCheck *c = g_ptr_array_index (self->checks, i);
      if (c->klass->connection_changed != NULL && c->klass->connection_changed (c))
        c->due = TRUE;
    }
  g_clear_object (&self->systemd);
  g_clear_object (&self->connection);
  self->connection = connection != NULL ? g_object_ref (connection) : NULL;
  self->systemd = connection != NULL ? hale_systemd_new (connection) : NULL;
  schedule_kick (self);
}

/* ---- object ------------------------------------------------------------- */

static void
register_metrics (HaleChecks *self)
{
  static const char *const check_label[] = { "check", NULL };
  static const char *const result_labels[] = { "check", "result", NULL };
  HaleMetrics *m = self->metrics;

  self->m_status = hale_metrics_add (
      m, HALE_METRIC_GAUGE, "check_status",
      "Last outcome of the check, before acknowledgements: 0 ok, 1 warning, 2 critical.", NULL,
      check_label, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_duration = hale_metrics_add (m, HALE_METRIC_HISTOGRAM, "check_duration_seconds",
                                       "How long runs of the check took.", "seconds", check_label,
                                       duration_buckets, G_N_ELEMENTS (duration_buckets),
                                       HALE_METRIC_FLAGS_NONE);
  self->m_runs = hale_metrics_add (m, HALE_METRIC_COUNTER, "check_runs_total",
                                   "Outcomes of the check by result (pass, warn, fail).", NULL,
                                   result_labels, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_qos
      = hale_metrics_add (m, HALE_METRIC_GAUGE, "check_qos",
                          "Share of passed outcomes among the last 20 of the check (0 to 1).", NULL,
                          check_label, NULL, 0, HALE_METRIC_FLAGS_NONE);
}

HaleChecks *
hale_checks_new (HaleMetrics *metrics)
{
  HaleChecks *self;

  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);

  self = g_object_new (HALE_TYPE_CHECKS, NULL);
  self->metrics = g_object_ref (metrics);
  register_metrics (self);
  return self;
}

static void
hale_checks_dispose (GObject *object)
{
  HaleChecks *self = HALE_CHECKS (object);

  if (self->kick_idle != 0)
    g_source_remove (self->kick_idle);
  self->kick_idle = 0;
  /* Runs in flight hold their check, not us. */
  for (guint i = 0; i < self->checks->len; i++)
    {
      HaleCheck *c = g_ptr_array_index (self->checks, i);
      c->removed = TRUE;
      check_stop (c);
    }
  g_ptr_array_set_size (self->checks, 0);
  while (self->rounds->len > 0)
    round_complete (g_ptr_array_index (self->rounds, 0),
                    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "haled is stopping"));
  g_clear_object (&self->systemd);
  g_clear_object (&self->connection);
  g_clear_object (&self->metrics);
  G_OBJECT_CLASS (hale_checks_parent_class)->dispose (object);
}

static void
hale_checks_finalize (GObject *object)
{
  HaleChecks *self = HALE_CHECKS (object);

  g_ptr_array_unref (self->checks);
  g_ptr_array_unref (self->rounds);
  G_OBJECT_CLASS (hale_checks_parent_class)->finalize (object);
}

static void
hale_checks_class_init (HaleChecksClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hale_checks_dispose;
  object_class->finalize = hale_checks_finalize;

  signals[SIGNAL_OUTCOME]
      = g_signal_new ("outcome", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, HALE_TYPE_CHECK_OUTCOME | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_REMOVED] = g_signal_new ("removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
hale_checks_init (HaleChecks *self)
{
  self->checks = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_check_unref);
  self->rounds = g_ptr_array_new ();
}
