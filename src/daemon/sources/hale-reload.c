/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-reload.c: services reloaded through systemd, verified, rolled back.
 *
 * One sequence at a time. Each service: ReloadUnit and its job's
 * result (hale-systemd), then the HealthCheck URL until it answers 2xx,
 * retried after 100 ms, 200 ms, ... up to 1 s apart; the service's
 * Timeout= covers both. A failure of a non-critical service is recorded
 * and the sequence goes on; a failure of a critical one stops it and
 * rolls back.
 *
 * What a rollback restores. Each [Certificate] has a "good" serial:
 * the one in place when the last sequence ran to its end with at least
 * one service reloaded and no critical failure (before any, the first
 * serial hale kept). A rollback undoes only the change the failing
 * reload was applying: for every certificate whose serial when the
 * sequence started is not its good one, and is still in place, the
 * good serial's kept files go back; then the services this sequence
 * reloaded, the failed one included, are reloaded again. That is done
 * once: a failure then is reported, never rolled back again.
 *
 * No rollback runs, and the failed result says why, when the failure
 * cannot be the certificate's (systemd refused the call, no manager
 * answered, it never took the job, the job did not run) or when
 * nothing changed since the good serials. Since the good serial only
 * moves forward with a sequence that went fine, repeated reloads never
 * go back further than that.
 *
 * The watch is told the restored serial beforehand
 * (hale_cert_watch_expect_serial), so putting it back is neither a
 * renewal nor a trigger of ReloadOnChange=.
 */
#include "config.h"

#include "hale-reload.h"

#include "hale-backup.h"
#include "hale-names.h"
#include "hale-served-cert.h"
#include "hale-systemd.h"
#include "hale-units.h"

#include <syslog.h>

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 1000
#define LAST_PROBE_MIN_MS 100

G_DEFINE_QUARK (hale - reload - error - quark, hale_reload_error)

typedef struct _Sequence Sequence;

struct _HaleReload
{
  GObject parent_instance;

  HaleState *state;
  HaleMetrics *metrics;
  HaleAudit *audit;
  HaleCertWatch *certs;
  HaleProber *prober;
  HaleBackup *backup; /* NULL without a state directory: no rollback */
  HaleServedCert *served;
  HaleSystemd *systemd;
  HaleConfig *config;

  Sequence *running;
  GPtrArray *queued;        /* service names for the automatic follow-up, or NULL */
  GHashTable *last_results; /* service name -> HaleReloadResult */
  GCancellable *cancellable;

  gboolean have_rollback;
  gboolean rollback_success;
  char *rollback_error;
  gint64 rollback_finished_at;

  gulong renewed_id;
  gulong changed_id;
  gulong read_id;

  HaleMetricFamily *m_total;
  HaleMetricFamily *m_duration;
  HaleMetricFamily *m_last;
  HaleMetricFamily *m_rollbacks;
};

G_DEFINE_TYPE (HaleReload, hale_reload, G_TYPE_OBJECT)

enum
{
  SIGNAL_SERVICE_RELOADED,
  SIGNAL_ROLLBACK_FINISHED,
  SIGNAL_SEQUENCE_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _Sequence
{
  HaleReload *self; /* NULL once self is disposed: then only unwinds */
  GTask *task;
  HaleConfig *config;
  GPtrArray *services; /* const HaleServiceConfig *, owned by config */
  guint index;
  GCancellable *cancellable;
  gulong task_cancel_id;
  gulong self_cancel_id;

  /* Who asked, copied. */
  gboolean has_actor;
  HaleAuditActor actor;
  char *actor_identity;
  char *actor_auth_method;
  char *actor_unit;

  GPtrArray *results; /* HaleReloadResult: the first pass */
  gboolean critical_failed;
  gboolean any_success;
  /* [Certificate] name -> the serial in place when the sequence
   * started: what its reloads are applying. */
  GHashTable *start_serials;

  /* The service in progress. */
  gint64 started;  /* monotonic */
  gint64 deadline; /* monotonic */
  guint backoff_ms;
  char *probe_reason;
  GSource *timer;
  gboolean serving; /* healthy; now asking TLSAddress= what it serves */

  /* The rollback. */
  gboolean rollback;
  gboolean rolled_back;
  gint64 rollback_started;
  GPtrArray *restore_names; /* char* */
  GPtrArray *restore_serials;
  GPtrArray *restore_replaced; /* char*: the serial each restore replaces */
  guint restore_index;
  GPtrArray *rollback_errors; /* char* */
  GPtrArray *rollback_services;
  const HaleServiceConfig *failed;
};

/* ---- results ------------------------------------------------------------ */

HaleReloadResult *
hale_reload_result_copy (const HaleReloadResult *result)
{
  HaleReloadResult *copy = g_new0 (HaleReloadResult, 1);

  *copy = *result;
  copy->service = g_strdup (result->service);
  copy->unit = g_strdup (result->unit);
  copy->error = g_strdup (result->error);
  return copy;
}

void
hale_reload_result_free (HaleReloadResult *result)
{
  if (result == NULL)
    return;
  g_free (result->service);
  g_free (result->unit);
  g_free (result->error);
  g_free (result);
}

/* ---- sequence bookkeeping -------------------------------------------- */

static void
sequence_free (Sequence *seq)
{
  g_assert (seq->timer == NULL);
  g_clear_pointer (&seq->config, hale_config_unref);
  g_clear_pointer (&seq->services, g_ptr_array_unref);
  g_clear_object (&seq->cancellable);
  g_free (seq->actor_identity);
  g_free (seq->actor_auth_method);
  g_free (seq->actor_unit);
  g_clear_pointer (&seq->results, g_ptr_array_unref);
  g_free (seq->probe_reason);
  g_clear_pointer (&seq->restore_names, g_ptr_array_unref);
  g_clear_pointer (&seq->restore_serials, g_ptr_array_unref);
  g_clear_pointer (&seq->restore_replaced, g_ptr_array_unref);
  g_clear_pointer (&seq->start_serials, g_hash_table_unref);
  g_clear_pointer (&seq->rollback_errors, g_ptr_array_unref);
  g_clear_pointer (&seq->rollback_services, g_ptr_array_unref);
  g_free (seq);
}

static const HaleAuditActor *
sequence_actor (Sequence *seq)
{
  return seq->has_actor ? &seq->actor : NULL;
}

static void
timer_clear (Sequence *seq)
{
  if (seq->timer == NULL)
    return;
  g_source_destroy (seq->timer);
  g_clear_pointer (&seq->timer, g_source_unref);
}

/* @skipped: why a failed critical service rolled nothing back, or NULL. */
static void
publish_check (HaleReload *self, const HaleReloadResult *r, gboolean rolled_back,
               const char *rollback_error, const char *skipped)
{
  g_autofree char *check = g_strconcat (HALE_CHECK_PREFIX_SERVICE, r->service, NULL);
  g_autofree char *finished = hale_rfc3339_format ((r->finished_at) / G_USEC_PER_SEC);
  g_autofree char *message = NULL;
  g_autoptr (HaleCheckResult) result = NULL;
  GVariantBuilder b;
  HaleCheckStatus status;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "unit", g_variant_new_string (r->unit));
  g_variant_builder_add (&b, "{sv}", "success", g_variant_new_boolean (r->success));
  g_variant_builder_add (&b, "{sv}", "duration_ms", g_variant_new_int64 (r->duration / 1000));
  g_variant_builder_add (&b, "{sv}", "error", g_variant_new_string (r->error ? r->error : ""));
  g_variant_builder_add (&b, "{sv}", "finished_at", g_variant_new_string (finished));
  g_variant_builder_add (&b, "{sv}", "critical", g_variant_new_boolean (r->critical));
  if (rolled_back)
    {
      g_variant_builder_add (&b, "{sv}", "rolled_back", g_variant_new_boolean (TRUE));
      g_variant_builder_add (&b, "{sv}", "rollback_error",
                             g_variant_new_string (rollback_error ? rollback_error : ""));
    }
  else if (skipped != NULL)
    {
      g_variant_builder_add (&b, "{sv}", "rolled_back", g_variant_new_boolean (FALSE));
      g_variant_builder_add (&b, "{sv}", "rollback_skipped", g_variant_new_string (skipped));
    }

  if (r->success)
    {
      status = HALE_CHECK_HEALTHY;
      message = g_strdup_printf ("reloaded in %" G_GINT64_FORMAT " ms", r->duration / 1000);
    }
  else
    {
      status = r->critical ? HALE_CHECK_CRITICAL : HALE_CHECK_WARNING;
      if (rolled_back)
        message = g_strdup_printf ("reload failed: %s; certificates rolled back%s%s", r->error,
                                   rollback_error ? ", but: " : "",
                                   rollback_error ? rollback_error : "");
      else
        message = g_strdup_printf ("reload failed: %s", r->error);
    }
  result = hale_check_result_new (check, status, message, g_variant_builder_end (&b),
                                  r->finished_at, r->duration);
  hale_state_set_check (self->state, result);
}

static void
publish_idle_check (HaleReload *self, const HaleServiceConfig *svc)
{
  g_autofree char *check = g_strconcat (HALE_CHECK_PREFIX_SERVICE, svc->name, NULL);
  g_autoptr (HaleCheckResult) result = NULL;
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "unit", g_variant_new_string (svc->unit));
  g_variant_builder_add (&b, "{sv}", "critical", g_variant_new_boolean (svc->critical));
  result = hale_check_result_new (check, HALE_CHECK_HEALTHY, "not reloaded yet",
                                  g_variant_builder_end (&b), g_get_real_time (), 0);
  hale_state_set_check (self->state, result);
}

static void
audit_service (HaleReload *self, Sequence *seq, const HaleReloadResult *r, const char *skipped)
{
  g_autofree char *message = NULL;
  const char *extra[] = { "critical",
                          r->critical ? "true" : "false",
                          "rollback",
                          r->rollback ? "true" : "false",
                          skipped ? "rollback_skipped" : NULL,
                          skipped,
                          NULL };
  HaleAuditEvent ev = { 0 };
  gint64 ms = r->duration / 1000;

  if (r->success)
    message = g_strdup_printf ("%sReloaded %s (%s) in %" G_GINT64_FORMAT " ms",
                               r->rollback ? "Rollback: " : "", r->service, r->unit, ms);
  else
    message = g_strdup_printf ("%sReload of %s (%s) failed after %" G_GINT64_FORMAT " ms: %s",
                               r->rollback ? "Rollback: " : "", r->service, r->unit, ms, r->error);
  ev.event = HALE_EVENT_SERVICE_RELOADED;
  ev.message_id = HALE_MESSAGE_ID_SERVICE_RELOADED;
  ev.priority = r->success ? LOG_INFO : r->critical ? LOG_ERR : LOG_WARNING;
  ev.message = message;
  ev.outcome = r->success ? "success" : "failure";
  ev.resource_type = "service";
  ev.resource_id = r->service;
  ev.unit = r->unit;
  ev.duration_ms = ms;
  ev.error = r->error;
  ev.actor = sequence_actor (seq);
  ev.extra = extra;
  hale_audit_emit (self->audit, &ev);
}

static void
record_result (HaleReload *self, Sequence *seq, const HaleReloadResult *r, const char *skipped)
{
  const char *total[] = { r->service, r->success ? "success" : "failure", NULL };
  const char *labels[] = { r->service, NULL };

  hale_metric_inc (self->m_total, total, 1);
  hale_metric_observe (self->m_duration, labels, (double)r->duration / G_USEC_PER_SEC);
  hale_metric_set (self->m_last, labels, (double)r->finished_at / G_USEC_PER_SEC);
  audit_service (self, seq, r, skipped);
  if (!r->rollback)
    {
      g_hash_table_replace (self->last_results, g_strdup (r->service), hale_reload_result_copy (r));
      publish_check (self, r, FALSE, NULL, skipped);
    }
  if (r->success)
    g_debug ("%s", r->rollback ? "Rollback reload done" : "Reload done");
  else
    g_message ("Reload of %s (%s) failed: %s", r->service, r->unit, r->error);
  g_signal_emit (self, signals[SIGNAL_SERVICE_RELOADED], 0, r);
}

/* ---- the sequence ------------------------------------------------------- */

static void
service_start (Sequence *seq);
static void
rollback_start (Sequence *seq);
static void
sequence_start (HaleReload *self, GPtrArray *services, const HaleAuditActor *actor, GTask *task);

static void
start_queued (HaleReload *self)
{
  g_autoptr (GPtrArray) names = g_steal_pointer (&self->queued);
  g_autoptr (GPtrArray) services = g_ptr_array_new ();
  g_autoptr (GTask) task = NULL;

  if (names == NULL || self->config == NULL || self->systemd == NULL)
    {
      self->queued = g_steal_pointer (&names);
      return;
    }
  for (guint i = 0; i < self->config->services->len; i++)
    {
      HaleServiceConfig *svc = g_ptr_array_index (self->config->services, i);
      if (g_ptr_array_find_with_equal_func (names, svc->name, g_str_equal, NULL))
        g_ptr_array_add (services, svc);
    }
  if (services->len == 0)
    return;
  task = g_task_new (NULL, self->cancellable, NULL, NULL);
  sequence_start (self, services, NULL, task);
}

/* Ends the sequence; @error for a cancellation only (every service's
 * failure is a result, not an error). */
static void
sequence_finish (Sequence *seq, GError *error)
{
  HaleReload *self = seq->self;
  GTask *task = g_steal_pointer (&seq->task);

  timer_clear (seq);
  if (seq->task_cancel_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), seq->task_cancel_id);
  if (self != NULL && seq->self_cancel_id != 0)
    g_cancellable_disconnect (self->cancellable, seq->self_cancel_id);
  seq->task_cancel_id = seq->self_cancel_id = 0;

  if (self != NULL)
    {
      g_assert (self->running == seq);
      self->running = NULL;
    }

  if (error != NULL)
    {
      g_task_return_error (task, error);
    }
  else
    {
      /* What the services now run with and did fine with is what a
       * future rollback goes back to: the serials this sequence
       * applied, also while their backup is still being written (a
       * renewal's reload can finish first), never one that came in
       * during the sequence (the follow-up reload applies that). */
      if (!seq->critical_failed && seq->any_success && self->backup != NULL)
        {
          GHashTableIter iter;
          gpointer name, serial;

          g_hash_table_iter_init (&iter, seq->start_serials);
          while (g_hash_table_iter_next (&iter, &name, &serial))
            hale_backup_set_good (self->backup, name, serial);
        }
      g_signal_emit (self, signals[SIGNAL_SEQUENCE_FINISHED], 0, seq->results, seq->rolled_back);
      g_task_return_pointer (task, g_ptr_array_ref (seq->results),
                             (GDestroyNotify)g_ptr_array_unref);
    }
  g_object_unref (task); /* frees seq, the task data */

  /* The caller's callback may have started the next sequence. */
  if (self != NULL && self->queued != NULL && self->running == NULL)
    start_queued (self);
}

/* A callback found the sequence cancelled (dispose, or the caller). */
static gboolean
sequence_check_cancelled (Sequence *seq, GError *error)
{
  if (seq->self != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      && !g_cancellable_is_cancelled (seq->cancellable))
    return FALSE;
  sequence_finish (seq, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                             "the reload sequence was cancelled"));
  return TRUE;
}

static void
sequence_next (Sequence *seq)
{
  seq->index++;
  if (seq->rollback)
    {
      if (seq->index < seq->rollback_services->len)
        service_start (seq);
      else
        {
          HaleReload *self = seq->self;
          const char *labels[2] = { NULL, NULL };
          g_autofree char *errors = NULL;
          g_autofree char *restored = NULL;
          g_autofree char *message = NULL;
          g_autofree char *certs = NULL;
          const char *extra[]
              = { "step", "finished", "service", seq->failed->name, "restored", NULL, NULL };
          HaleAuditEvent ev = { 0 };
          gboolean ok = seq->rollback_errors->len == 0;

          g_ptr_array_add (seq->rollback_errors, NULL);
          errors = ok ? NULL : g_strjoinv ("; ", (char **)seq->rollback_errors->pdata);
          {
            g_autoptr (GString) s = g_string_new (NULL);
            for (guint i = 0; i < seq->restore_names->len; i++)
              g_string_append_printf (s, "%s%s=%s", i ? "," : "",
                                      (char *)g_ptr_array_index (seq->restore_names, i),
                                      (char *)g_ptr_array_index (seq->restore_serials, i));
            restored = g_string_free (g_steal_pointer (&s), FALSE);
          }
          g_ptr_array_add (seq->restore_names, NULL);
          certs = g_strjoinv (",", (char **)seq->restore_names->pdata);
          g_ptr_array_remove_index (seq->restore_names, seq->restore_names->len - 1);
          extra[5] = restored;

          labels[0] = ok ? "success" : "failure";
          hale_metric_inc (self->m_rollbacks, labels, 1);
          self->have_rollback = TRUE;
          self->rollback_success = ok;
          g_free (self->rollback_error);
          self->rollback_error = g_strdup (errors);
          self->rollback_finished_at = g_get_real_time ();

          message = ok ? g_strdup_printf ("Rolled back %s after %s failed: previous certificates "
                                          "restored and services reloaded",
                                          certs, seq->failed->name)
                       : g_strdup_printf ("Rollback of %s after %s failed did not succeed: %s",
                                          certs, seq->failed->name, errors);
          ev.event = HALE_EVENT_ROLLBACK;
          ev.message_id = HALE_MESSAGE_ID_ROLLBACK;
          ev.priority = ok ? LOG_WARNING : LOG_CRIT;
          ev.message = message;
          ev.outcome = ok ? "success" : "failure";
          ev.resource_type = "certificate";
          ev.resource_id = certs;
          ev.unit = seq->failed->unit;
          ev.duration_ms = (g_get_monotonic_time () - seq->rollback_started) / 1000;
          ev.error = errors;
          ev.actor = sequence_actor (seq);
          ev.extra = extra;
          hale_audit_emit (self->audit, &ev);
          /* The audit event is the record; this is the log line. */
          g_message ("%s", message);

          /* The failed service's check says it was rolled back. */
          for (guint i = 0; i < seq->results->len; i++)
            {
              HaleReloadResult *r = g_ptr_array_index (seq->results, i);
              if (!r->success && r->critical)
                publish_check (self, r, TRUE, errors, NULL);
            }
          g_signal_emit (self, signals[SIGNAL_ROLLBACK_FINISHED], 0, ok, errors);
          sequence_finish (seq, NULL);
        }
      return;
    }
  if (seq->index < seq->services->len)
    service_start (seq);
  else
    sequence_finish (seq, NULL);
}

static const HaleServiceConfig *
current_service (Sequence *seq)
{
  GPtrArray *list = seq->rollback ? seq->rollback_services : seq->services;
  return g_ptr_array_index (list, seq->index);
}

static char *
plan_rollback (Sequence *seq, const char *not_the_certificate);

/* @not_the_certificate: for a failure, why the certificate cannot have
 * caused it, or NULL when it may have. */
static void
service_done (Sequence *seq, gboolean success, const char *error, const char *not_the_certificate)
{
  HaleReload *self = seq->self;
  const HaleServiceConfig *svc = current_service (seq);
  HaleReloadResult r = { 0 };
  g_autofree char *skipped = NULL;
  g_autofree char *shown = NULL;

  timer_clear (seq);
  r.service = svc->name;
  r.unit = svc->unit;
  r.success = success;
  r.duration = g_get_monotonic_time () - seq->started;
  r.error = (char *)error;
  r.finished_at = g_get_real_time ();
  r.critical = svc->critical;
  r.rollback = seq->rollback;

  if (!seq->rollback && !success && svc->critical)
    {
      seq->critical_failed = TRUE;
      seq->failed = svc;
      /* Decided before the result goes out, so that every reader of it
       * (D-Bus, halectl, /health, the journal) learns why the files
       * stayed as they are. */
      skipped = plan_rollback (seq, not_the_certificate);
      if (skipped != NULL)
        r.error = shown = g_strdup_printf ("%s; certificates not rolled back: %s", error, skipped);
    }
  record_result (self, seq, &r, skipped);

  if (seq->rollback)
    {
      if (!success)
        g_ptr_array_add (seq->rollback_errors,
                         g_strdup_printf ("reload of %s: %s", svc->name, error));
      sequence_next (seq);
      return;
    }

  seq->any_success |= success;
  g_ptr_array_add (seq->results, hale_reload_result_copy (&r));
  if (seq->critical_failed)
    {
      rollback_start (seq);
      return;
    }
  sequence_next (seq);
}

static void
probe_start (Sequence *seq);
static void
served_start (Sequence *seq);

static gboolean
backoff_cb (gpointer user_data)
{
  Sequence *seq = user_data;

  g_clear_pointer (&seq->timer, g_source_unref);
  if (seq->serving)
    served_start (seq);
  else
    probe_start (seq);
  return G_SOURCE_REMOVE;
}

/* Tries again after the next back-off step, or gives up (@failed) when
 * the service's time is up. The last try comes just before the
 * deadline, with a little time of its own, rather than giving up a
 * back-off step early. */
static void
retry_or (Sequence *seq, void (*failed) (Sequence *))
{
  gint64 remaining_ms = (seq->deadline - g_get_monotonic_time ()) / 1000;
  guint delay;

  if (remaining_ms < LAST_PROBE_MIN_MS)
    {
      failed (seq);
      return;
    }
  delay = (guint)MIN ((gint64)seq->backoff_ms, remaining_ms - LAST_PROBE_MIN_MS);
  seq->backoff_ms = MIN (seq->backoff_ms * 2, BACKOFF_MAX_MS);
  seq->timer = g_timeout_source_new (delay);
  g_source_set_callback (seq->timer, backoff_cb, seq, NULL);
  g_source_attach (seq->timer, g_task_get_context (seq->task));
}

/* The served certificate ------------------------------------------------ */

static void
served_failed (Sequence *seq)
{
  const HaleServiceConfig *svc = current_service (seq);
  g_autofree char *span = hale_duration_format (svc->timeout);
  g_autofree char *error = g_strdup_printf ("TLSAddress %s %s (still after %s)", svc->tls_address,
                                            seq->probe_reason, span);

  hale_served_cert_record (seq->self->served, svc->name, FALSE, seq->probe_reason);
  /* Reloaded, and still serving the old certificate: what the rollback
   * is for, as an unhealthy service is. */
  service_done (seq, FALSE, error, NULL);
}

static void
served_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Sequence *seq = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleCertInfo) served = hale_served_cert_fetch_finish (res, &error);
  const HaleServiceConfig *svc;
  g_autofree char *why = NULL;

  if (sequence_check_cancelled (seq, error))
    return;
  svc = current_service (seq);
  if (served == NULL)
    why = g_strdup_printf ("cannot be asked: %s", error->message);
  else
    switch (hale_served_cert_compare (seq->self->certs, svc, served, &why))
      {
        case HALE_SERVED_CURRENT:
          hale_served_cert_record (seq->self->served, svc->name, TRUE, NULL);
          service_done (seq, TRUE, NULL, NULL);
          return;
        case HALE_SERVED_UNKNOWN:
          why = g_strdup ("cannot be compared yet: a file it uses has not been read");
          break;
        case HALE_SERVED_OTHER:
          break;
      }
  /* A reloaded service may take a moment to switch (nginx's old workers
   * finish their connections): asked again until its time is up. */
  g_free (seq->probe_reason);
  seq->probe_reason = g_steal_pointer (&why);
  retry_or (seq, served_failed);
}

static void
served_start (Sequence *seq)
{
  const HaleServiceConfig *svc = current_service (seq);
  gint64 remaining = seq->deadline - g_get_monotonic_time ();

  if (remaining <= 0)
    {
      served_failed (seq);
      return;
    }
  hale_served_cert_fetch_async (svc->tls_address, svc->tls_server_name, remaining, seq->cancellable,
                                served_cb, seq);
}

/* Reloaded and healthy: done, unless it must show that it serves the
 * new certificate too. */
static void
service_healthy (Sequence *seq)
{
  const HaleServiceConfig *svc = current_service (seq);

  if (svc->tls_address == NULL)
    {
      service_done (seq, TRUE, NULL, NULL);
      return;
    }
  seq->serving = TRUE;
  seq->backoff_ms = BACKOFF_FIRST_MS;
  g_clear_pointer (&seq->probe_reason, g_free);
  served_start (seq);
}

static void
health_failed (Sequence *seq)
{
  const HaleServiceConfig *svc = current_service (seq);
  g_autofree char *span = hale_duration_format (svc->timeout);
  g_autofree char *error
      = g_strdup_printf ("health check %s: %s (no healthy answer within %s)", svc->health_check,
                         seq->probe_reason ? seq->probe_reason : "no answer", span);
  /* Reloaded, then unhealthy: what the rollback is for. */
  service_done (seq, FALSE, error, NULL);
}

static void
probe_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Sequence *seq = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleProbeResult) result = hale_prober_probe_finish (HALE_PROBER (source), res, &error);

  if (sequence_check_cancelled (seq, error))
    return;
  if (result == NULL)
    {
      /* A URL that does not parse: waiting will not fix it. */
      g_free (seq->probe_reason);
      seq->probe_reason = g_strdup (error->message);
      health_failed (seq);
      return;
    }
  if (result->success)
    {
      service_healthy (seq);
      return;
    }
  g_free (seq->probe_reason);
  seq->probe_reason = g_strdup (result->reason ? result->reason : "unhealthy");
  retry_or (seq, health_failed);
}

static void
probe_start (Sequence *seq)
{
  const HaleServiceConfig *svc = current_service (seq);
  HaleProbeOptions options = { 0 };
  gint64 remaining = seq->deadline - g_get_monotonic_time ();

  if (remaining <= 0)
    {
      health_failed (seq);
      return;
    }
  options.timeout = remaining;
  hale_prober_probe_async (seq->self->prober, svc->health_check, &options, seq->cancellable,
                           probe_cb, seq);
}

/* Why a failed reload job cannot be the certificate's doing, or NULL
 * when it may be: systemd ran the reload and it failed or hung (job
 * result "failed" or "timeout"), or took the job and gave no result in
 * time. Every other failure happened before anything of the service
 * could read a certificate. */
static const char *
not_the_certificate (const GError *error)
{
  if (error->domain != HALE_SYSTEMD_ERROR)
    return NULL;
  switch ((HaleSystemdError)error->code)
    {
      case HALE_SYSTEMD_ERROR_BUS:
        return "systemd refused the reload, so it never ran and the certificate cannot have "
               "caused the failure";
      case HALE_SYSTEMD_ERROR_DISCONNECTED:
        return "no service manager answered, so the reload never ran and the certificate cannot "
               "have caused the failure";
      case HALE_SYSTEMD_ERROR_NOT_TAKEN:
        return "systemd did not take the reload job in time, so it never ran and the certificate "
               "cannot have caused the failure";
      case HALE_SYSTEMD_ERROR_JOB_FAILED:
        if (g_str_equal (error->message, "failed") || g_str_equal (error->message, "timeout"))
          return NULL;
        /* invalid (the unit is not active), dependency, skipped,
         * canceled: the reload did not run its course. */
        return "the reload job ended without running, so the certificate cannot have caused the "
               "failure";
      case HALE_SYSTEMD_ERROR_TIMEOUT:
      default:
        return NULL;
    }
}

static void
job_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Sequence *seq = user_data;
  g_autoptr (GError) error = NULL;
  const HaleServiceConfig *svc;

  hale_systemd_reload_unit_finish (HALE_SYSTEMD (source), res, &error);
  if (sequence_check_cancelled (seq, error))
    return;
  if (error != NULL)
    {
      service_done (seq, FALSE, error->message, not_the_certificate (error));
      return;
    }
  svc = current_service (seq);
  if (svc->health_check == NULL)
    {
      service_healthy (seq);
      return;
    }
  seq->backoff_ms = BACKOFF_FIRST_MS;
  g_clear_pointer (&seq->probe_reason, g_free);
  probe_start (seq);
}

static void
service_start (Sequence *seq)
{
  const HaleServiceConfig *svc = current_service (seq);

  seq->started = g_get_monotonic_time ();
  seq->deadline = seq->started + svc->timeout;
  seq->serving = FALSE;
  g_debug ("%sReloading %s (%s)", seq->rollback ? "Rollback: " : "", svc->name, svc->unit);
  hale_systemd_reload_unit_async (seq->self->systemd, svc->unit, svc->timeout, seq->cancellable,
                                  job_cb, seq);
}

/* ---- rollback ---------------------------------------------------------- */

static void
restore_next (Sequence *seq);

/* One certificate put back (or not): recorded at once, so that a crash
 * before the services are reloaded again still leaves the record of
 * what was done to the files. */
static void
audit_restore (Sequence *seq, const char *name, const char *serial, const char *replaced,
               const GError *error)
{
  HaleReload *self = seq->self;
  g_autofree char *message = NULL;
  const char *extra[] = { "step",   "restore", "serial",          serial, "previous_serial",
                          replaced, "service", seq->failed->name, NULL };
  HaleAuditEvent ev = { 0 };

  if (error == NULL)
    message = g_strdup_printf ("Rollback: certificate %s restored to serial %s (was %s) after %s "
                               "failed",
                               name, serial, replaced, seq->failed->name);
  else
    message = g_strdup_printf ("Rollback: certificate %s could not be restored to serial %s: %s",
                               name, serial, error->message);
  ev.event = HALE_EVENT_ROLLBACK;
  ev.message_id = HALE_MESSAGE_ID_ROLLBACK;
  ev.priority = error == NULL ? LOG_WARNING : LOG_CRIT;
  ev.message = message;
  ev.outcome = error == NULL ? "success" : "failure";
  ev.resource_type = "certificate";
  ev.resource_id = name;
  ev.unit = seq->failed->unit;
  ev.duration_ms = -1;
  ev.error = error ? error->message : NULL;
  ev.actor = sequence_actor (seq);
  ev.extra = extra;
  hale_audit_emit (self->audit, &ev);
}

static void
restore_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Sequence *seq = user_data;
  g_autoptr (GError) error = NULL;

  if (!hale_backup_restore_finish (HALE_BACKUP (source), res, &error)
      && sequence_check_cancelled (seq, error))
    return;
  if (seq->self == NULL)
    {
      sequence_check_cancelled (seq, NULL);
      return;
    }
  audit_restore (seq, g_ptr_array_index (seq->restore_names, seq->restore_index),
                 g_ptr_array_index (seq->restore_serials, seq->restore_index),
                 g_ptr_array_index (seq->restore_replaced, seq->restore_index), error);
  if (error != NULL)
    g_ptr_array_add (seq->rollback_errors, g_strdup (error->message));
  seq->restore_index++;
  restore_next (seq);
}

static void
restore_next (Sequence *seq)
{
  HaleReload *self = seq->self;

  if (seq->restore_index < seq->restore_names->len)
    {
      const char *name = g_ptr_array_index (seq->restore_names, seq->restore_index);
      const char *serial = g_ptr_array_index (seq->restore_serials, seq->restore_index);

      hale_cert_watch_expect_serial (self->certs, name, serial);
      hale_backup_restore_async (self->backup, name, serial, seq->cancellable, restore_cb, seq);
      return;
    }

  /* Reload again what this sequence reloaded, the failed one included:
   * they may hold the new certificate now. */
  seq->rollback = TRUE;
  seq->rollback_services = g_ptr_array_new ();
  for (guint i = 0; i <= seq->index; i++)
    g_ptr_array_add (seq->rollback_services, g_ptr_array_index (seq->services, i));
  seq->index = 0;
  service_start (seq);
}

/* What a rollback after the failure of seq->failed would put back: the
 * change this sequence was applying, and only that. Fills
 * restore_names/serials/replaced; returns why nothing is put back
 * (transfer full), or NULL when something is. */
static char *
plan_rollback (Sequence *seq, const char *not_the_certificate)
{
  HaleReload *self = seq->self;
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) renewed = g_string_new (NULL);
  g_autoptr (GPtrArray) certificates = NULL;

  seq->restore_names = g_ptr_array_new_with_free_func (g_free);
  seq->restore_serials = g_ptr_array_new_with_free_func (g_free);
  seq->restore_replaced = g_ptr_array_new_with_free_func (g_free);
  seq->rollback_errors = g_ptr_array_new_with_free_func (g_free);

  if (not_the_certificate != NULL)
    return g_strdup (not_the_certificate);
  if (self->backup == NULL)
    return g_strdup ("haled keeps no backups without a state directory");

  certificates = hale_cert_watch_list (self->certs);
  for (guint i = 0; i < certificates->len; i++)
    {
      const HaleWatchedCertificate *c = g_ptr_array_index (certificates, i);
      const HaleCertInfo *info = hale_cert_watch_get_info (self->certs, c->name);
      const char *applying = g_hash_table_lookup (seq->start_serials, c->name);
      const char *good = hale_backup_get_good (self->backup, c->name);

      if (info == NULL || applying == NULL || good == NULL || g_str_equal (applying, good))
        continue;
      if (!g_str_equal (info->serial, applying))
        {
          /* Renewed again while this sequence ran: not what the failed
           * reload was applying. The reload that follows the renewal
           * decides about it. */
          g_string_append_printf (renewed, "%s%s", renewed->len ? ", " : "", c->name);
          continue;
        }
      if (!hale_backup_has (self->backup, c->name, good))
        {
          g_ptr_array_add (problems,
                           g_strdup_printf ("no backup of %s serial %s to restore", c->name, good));
          continue;
        }
      g_ptr_array_add (seq->restore_names, g_strdup (c->name));
      g_ptr_array_add (seq->restore_serials, g_strdup (good));
      g_ptr_array_add (seq->restore_replaced, g_strdup (applying));
    }

  if (renewed->len > 0)
    g_message ("%s failed; %s renewed during the sequence: left for the reload that follows",
               seq->failed->name, renewed->str);
  if (seq->restore_names->len > 0)
    return NULL;
  if (problems->len > 0)
    {
      g_ptr_array_add (problems, NULL);
      return g_strjoinv ("; ", (char **)problems->pdata);
    }
  if (renewed->len > 0)
    return g_strdup_printf ("%s renewed again during the reload; the reload that follows applies "
                            "it",
                            renewed->str);
  return g_strdup ("no certificate changed since the last good reload");
}

static void
rollback_start (Sequence *seq)
{
  if (seq->restore_names->len == 0)
    {
      sequence_finish (seq, NULL);
      return;
    }

  g_message ("%s failed: rolling back %u certificate(s)", seq->failed->name,
             seq->restore_names->len);
  seq->rolled_back = TRUE;
  seq->rollback_started = g_get_monotonic_time ();
  seq->restore_index = 0;
  restore_next (seq);
}

/* ---- starting ---------------------------------------------------------- */

static void
cancel_sequence_cb (GCancellable *cancellable, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
sequence_start (HaleReload *self, GPtrArray *services, const HaleAuditActor *actor, GTask *task)
{
  Sequence *seq = g_new0 (Sequence, 1);
  GCancellable *task_cancellable = g_task_get_cancellable (task);
  g_autoptr (GPtrArray) certificates = NULL;

  g_assert (self->running == NULL);
  seq->self = self;
  seq->task = g_object_ref (task);
  seq->config = hale_config_ref (self->config);
  seq->services = g_ptr_array_ref (services);
  seq->cancellable = g_cancellable_new ();
  seq->results = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_reload_result_free);
  seq->start_serials = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  certificates = hale_cert_watch_list (self->certs);
  for (guint i = 0; i < certificates->len; i++)
    {
      const HaleWatchedCertificate *c = g_ptr_array_index (certificates, i);
      const HaleCertInfo *info = hale_cert_watch_get_info (self->certs, c->name);
      if (info != NULL && info->serial != NULL)
        g_hash_table_insert (seq->start_serials, g_strdup (c->name), g_strdup (info->serial));
    }
  if (actor != NULL)
    {
      seq->has_actor = TRUE;
      seq->actor = *actor;
      seq->actor.identity = seq->actor_identity = g_strdup (actor->identity);
      seq->actor.auth_method = seq->actor_auth_method = g_strdup (actor->auth_method);
      seq->actor.unit = seq->actor_unit = g_strdup (actor->unit);
    }
  g_task_set_task_data (task, seq, (GDestroyNotify)sequence_free);
  self->running = seq;

  if (task_cancellable != NULL && task_cancellable != self->cancellable)
    seq->task_cancel_id = g_cancellable_connect (task_cancellable, G_CALLBACK (cancel_sequence_cb),
                                                 seq->cancellable, NULL);
  seq->self_cancel_id = g_cancellable_connect (self->cancellable, G_CALLBACK (cancel_sequence_cb),
                                               seq->cancellable, NULL);
  seq->index = 0;
  service_start (seq);
}

void
hale_reload_run_async (HaleReload *self, const char *service, const HaleAuditActor *actor,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GPtrArray) services = g_ptr_array_new ();

  g_return_if_fail (HALE_IS_RELOAD (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hale_reload_run_async);

  if (self->running != NULL)
    {
      g_task_return_new_error (task, HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_BUSY,
                               "a reload sequence is running already");
      return;
    }
  if (self->systemd == NULL)
    {
      g_task_return_new_error (task, HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_NOT_CONNECTED,
                               "not connected to the service manager yet");
      return;
    }
  if (service != NULL)
    {
      const HaleServiceConfig *svc
          = self->config ? hale_config_find_service (self->config, service) : NULL;
      if (svc == NULL)
        {
          g_task_return_new_error (task, HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_UNKNOWN_SERVICE,
                                   "no [Service %s] is configured", service);
          return;
        }
      g_ptr_array_add (services, (gpointer)svc);
    }
  else if (self->config != NULL)
    for (guint i = 0; i < self->config->services->len; i++)
      g_ptr_array_add (services, g_ptr_array_index (self->config->services, i));

  if (services->len == 0)
    {
      g_autoptr (GPtrArray) none
          = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_reload_result_free);
      g_task_return_pointer (task, g_steal_pointer (&none), (GDestroyNotify)g_ptr_array_unref);
      return;
    }
  sequence_start (self, services, actor, task);
}

GPtrArray *
hale_reload_run_finish (HaleReload *self, GAsyncResult *result, gboolean *out_rolled_back,
                        GError **error)
{
  Sequence *seq;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  seq = g_task_get_task_data (G_TASK (result));
  if (out_rolled_back != NULL)
    *out_rolled_back = seq != NULL && seq->rolled_back;
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
hale_reload_is_busy (HaleReload *self)
{
  g_return_val_if_fail (HALE_IS_RELOAD (self), FALSE);
  return self->running != NULL;
}

gboolean
hale_reload_get_last_rollback (HaleReload *self, gboolean *out_success, char **out_error,
                               gint64 *out_finished_at)
{
  g_return_val_if_fail (HALE_IS_RELOAD (self), FALSE);
  if (out_success != NULL)
    *out_success = self->rollback_success;
  if (out_error != NULL)
    *out_error = g_strdup (self->rollback_error);
  if (out_finished_at != NULL)
    *out_finished_at = self->rollback_finished_at;
  return self->have_rollback;
}

GPtrArray *
hale_reload_get_last_results (HaleReload *self)
{
  GPtrArray *list;

  g_return_val_if_fail (HALE_IS_RELOAD (self), NULL);
  list = g_ptr_array_new ();
  for (guint i = 0; self->config != NULL && i < self->config->services->len; i++)
    {
      const HaleServiceConfig *svc = g_ptr_array_index (self->config->services, i);
      HaleReloadResult *r = g_hash_table_lookup (self->last_results, svc->name);
      if (r != NULL)
        g_ptr_array_add (list, r);
    }
  return list;
}

/* ---- renewals ------------------------------------------------------------ */

static void
read_cb (HaleCertWatch *certs, const char *name, GBytes *pem, const HaleCertInfo *info,
         gpointer user_data);

static void
store_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!hale_backup_store_finish (HALE_BACKUP (source), res, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Cannot keep a backup of a certificate: %s", error->message);
}

static void
read_cb (HaleCertWatch *certs, const char *name, GBytes *pem, const HaleCertInfo *info,
         gpointer user_data)
{
  HaleReload *self = user_data;

  /* No cancellable: a thread's task connects to it until it is done,
   * and ten thousand tasks on one cancellable make each disconnect walk
   * ten thousand handlers. Cancelling would not stop the write anyway,
   * and store_cb holds nothing of ours. */
  if (self->backup != NULL)
    hale_backup_store_async (self->backup, name, info->serial, pem, NULL, store_cb, NULL);
}

/* @type: the [Certificate] group, also of a file its pattern matched. */
static gboolean
service_wants (const HaleServiceConfig *svc, const char *type)
{
  return svc->reload_on_change.all
         || (svc->reload_on_change.names != NULL
             && g_strv_contains ((const char *const *)svc->reload_on_change.names, type));
}

/* Every file watched has its backups, matches of a pattern as they come. */
static void
certificates_changed_cb (HaleCertWatch *certs, gpointer user_data)
{
  HaleReload *self = user_data;
  g_autoptr (GPtrArray) certificates = NULL;

  if (self->backup == NULL || self->config == NULL)
    return;
  certificates = hale_cert_watch_list (certs);
  hale_backup_configure (self->backup, self->config->backup_keep, certificates);
}

static void
renewed_cb (HaleCertWatch *certs, const char *name, const HaleCertInfo *previous,
            const HaleCertInfo *current, gpointer user_data)
{
  HaleReload *self = user_data;
  const HaleWatchedCertificate *watched = hale_cert_watch_lookup (certs, name);
  g_autofree char *message = NULL;
  const char *extra[] = { "serial", current->serial, "previous_serial",
                          previous && previous->serial ? previous->serial : "", NULL };
  HaleAuditEvent ev = { 0 };

  message = g_strdup_printf ("Certificate %s renewed: serial %s, was %s", name, current->serial,
                             extra[3][0] ? extra[3] : "unknown");
  ev.event = HALE_EVENT_CERTIFICATE_RENEWED;
  ev.message_id = HALE_MESSAGE_ID_CERTIFICATE_RENEWED;
  ev.priority = LOG_NOTICE;
  ev.message = message;
  ev.outcome = "success";
  ev.resource_type = "certificate";
  ev.resource_id = name;
  ev.duration_ms = -1;
  ev.extra = extra;
  hale_audit_emit (self->audit, &ev);

  for (guint i = 0; self->config != NULL && i < self->config->services->len; i++)
    {
      const HaleServiceConfig *svc = g_ptr_array_index (self->config->services, i);
      if (watched == NULL || !service_wants (svc, watched->type))
        continue;
      if (self->queued == NULL)
        self->queued = g_ptr_array_new_with_free_func (g_free);
      if (!g_ptr_array_find_with_equal_func (self->queued, svc->name, g_str_equal, NULL))
        g_ptr_array_add (self->queued, g_strdup (svc->name));
    }
  if (self->queued != NULL && self->running == NULL)
    start_queued (self);
  else if (self->queued != NULL)
    g_debug ("Renewal of %s during a reload sequence: queued", name);
}

/* ---- configuration --------------------------------------------------------- */

void
hale_reload_configure (HaleReload *self, HaleConfig *config)
{
  g_return_if_fail (HALE_IS_RELOAD (self));
  g_return_if_fail (config != NULL);

  /* Services gone: their series, checks and results go too. */
  if (self->config != NULL)
    for (guint i = 0; i < self->config->services->len; i++)
      {
        const HaleServiceConfig *old = g_ptr_array_index (self->config->services, i);
        const char *success[] = { old->name, "success", NULL };
        const char *failure[] = { old->name, "failure", NULL };
        const char *labels[] = { old->name, NULL };
        g_autofree char *check = NULL;

        if (hale_config_find_service (config, old->name) != NULL)
          continue;
        hale_metric_remove (self->m_total, success);
        hale_metric_remove (self->m_total, failure);
        hale_metric_remove (self->m_duration, labels);
        hale_metric_remove (self->m_last, labels);
        check = g_strconcat (HALE_CHECK_PREFIX_SERVICE, old->name, NULL);
        hale_state_remove_check (self->state, check);
        g_hash_table_remove (self->last_results, old->name);
      }

  for (guint i = 0; i < config->services->len; i++)
    {
      const HaleServiceConfig *svc = g_ptr_array_index (config->services, i);
      const char *success[] = { svc->name, "success", NULL };
      const char *failure[] = { svc->name, "failure", NULL };
      HaleReloadResult *last = g_hash_table_lookup (self->last_results, svc->name);

      hale_metric_touch (self->m_total, success);
      hale_metric_touch (self->m_total, failure);
      if (last == NULL)
        publish_idle_check (self, svc);
    }

  g_clear_pointer (&self->config, hale_config_unref);
  self->config = hale_config_ref (config);
  if (self->backup != NULL)
    certificates_changed_cb (self->certs, self);
  hale_served_cert_configure (self->served, config);
}

void
hale_reload_set_connection (HaleReload *self, GDBusConnection *connection)
{
  g_return_if_fail (HALE_IS_RELOAD (self));

  g_clear_object (&self->systemd);
  if (connection != NULL)
    self->systemd = hale_systemd_new (connection);
  if (self->queued != NULL && self->running == NULL)
    start_queued (self);
}

/* ---- object -------------------------------------------------------------- */

HaleReload *
hale_reload_new (HaleState *state, HaleMetrics *metrics, HaleAudit *audit, HaleCertWatch *certs,
                 HaleProber *prober, const char *state_dir)
{
  static const char *const service_result[] = { "service", "result", NULL };
  static const char *const service[] = { "service", NULL };
  static const char *const result[] = { "result", NULL };
  static const double buckets[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
  const char *success[] = { "success", NULL };
  const char *failure[] = { "failure", NULL };
  HaleReload *self;

  g_return_val_if_fail (HALE_IS_STATE (state), NULL);
  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);
  g_return_val_if_fail (HALE_IS_AUDIT (audit), NULL);
  g_return_val_if_fail (HALE_IS_CERT_WATCH (certs), NULL);
  g_return_val_if_fail (HALE_IS_PROBER (prober), NULL);

  self = g_object_new (HALE_TYPE_RELOAD, NULL);
  self->state = g_object_ref (state);
  self->metrics = g_object_ref (metrics);
  self->audit = g_object_ref (audit);
  self->certs = g_object_ref (certs);
  self->prober = g_object_ref (prober);
  self->served = hale_served_cert_new (metrics, certs);
  if (state_dir != NULL)
    {
      g_autofree char *dir = g_build_filename (state_dir, "backup", NULL);
      self->backup = hale_backup_new (metrics, dir);
    }

  self->m_total = hale_metrics_add (metrics, HALE_METRIC_COUNTER, "service_reload_total",
                                    "Service reloads through systemd, by outcome (job and health "
                                    "check)",
                                    NULL, service_result, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_duration
      = hale_metrics_add (metrics, HALE_METRIC_HISTOGRAM, "service_reload_duration_seconds",
                          "Time from ReloadUnit to a healthy (or failed) service", "seconds",
                          service, buckets, G_N_ELEMENTS (buckets), HALE_METRIC_FLAGS_NONE);
  self->m_last
      = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "service_last_reload_timestamp_seconds",
                          "When the last reload of the service finished", "seconds", service, NULL,
                          0, HALE_METRIC_FLAGS_NONE);
  self->m_rollbacks = hale_metrics_add (metrics, HALE_METRIC_COUNTER, "rollbacks_total",
                                        "Certificate rollbacks after a critical service failed "
                                        "to reload, by outcome",
                                        NULL, result, NULL, 0, HALE_METRIC_FLAGS_NONE);
  hale_metric_touch (self->m_rollbacks, success);
  hale_metric_touch (self->m_rollbacks, failure);

  self->read_id = g_signal_connect (certs, "read", G_CALLBACK (read_cb), self);
  self->renewed_id = g_signal_connect (certs, "renewed", G_CALLBACK (renewed_cb), self);
  self->changed_id = g_signal_connect (certs, "certificates-changed",
                                       G_CALLBACK (certificates_changed_cb), self);
  return self;
}

static void
hale_reload_dispose (GObject *object)
{
  HaleReload *self = HALE_RELOAD (object);

  if (self->certs != NULL)
    {
      g_clear_signal_handler (&self->read_id, self->certs);
      g_clear_signal_handler (&self->renewed_id, self->certs);
      g_clear_signal_handler (&self->changed_id, self->certs);
    }
  g_cancellable_cancel (self->cancellable);
  /* A running sequence unwinds on its own when its call in flight
   * returns cancelled; it must not touch us then. */
  if (self->running != NULL)
    {
      Sequence *seq = g_steal_pointer (&self->running);
      if (seq->self_cancel_id != 0)
        g_cancellable_disconnect (self->cancellable, seq->self_cancel_id);
      seq->self_cancel_id = 0;
      seq->self = NULL;
      g_cancellable_cancel (seq->cancellable);
      if (seq->timer != NULL)
        {
          /* Waiting between probes: nothing in flight will call back. */
          sequence_check_cancelled (seq, NULL);
        }
    }
  g_clear_pointer (&self->queued, g_ptr_array_unref);
  g_clear_object (&self->systemd);
  g_clear_object (&self->backup);
  g_clear_object (&self->served);
  g_clear_object (&self->certs);
  g_clear_object (&self->prober);
  g_clear_object (&self->audit);
  g_clear_object (&self->state);
  g_clear_object (&self->metrics);
  g_clear_pointer (&self->config, hale_config_unref);

  G_OBJECT_CLASS (hale_reload_parent_class)->dispose (object);
}

static void
hale_reload_finalize (GObject *object)
{
  HaleReload *self = HALE_RELOAD (object);

  g_hash_table_unref (self->last_results);
  g_object_unref (self->cancellable);
  g_free (self->rollback_error);

  G_OBJECT_CLASS (hale_reload_parent_class)->finalize (object);
}

static void
hale_reload_class_init (HaleReloadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hale_reload_dispose;
  object_class->finalize = hale_reload_finalize;

  signals[SIGNAL_SERVICE_RELOADED]
      = g_signal_new ("service-reloaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_ROLLBACK_FINISHED]
      = g_signal_new ("rollback-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
  signals[SIGNAL_SEQUENCE_FINISHED]
      = g_signal_new ("sequence-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_BOOLEAN);
}

static void
hale_reload_init (HaleReload *self)
{
  self->cancellable = g_cancellable_new ();
  self->last_results = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify)hale_reload_result_free);
}
