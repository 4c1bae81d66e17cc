/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-rotation.c: what the rotation agent reports that hale cannot see itself. */
#include "config.h"

#include "hale-rotation.h"
#include "hale-metric-families.h"
#include "hale-names.h"

#include <string.h>
#include <syslog.h>

G_DEFINE_QUARK (hale - rotation - error - quark, hale_rotation_error)

/* ACME renewals take from a second to a few minutes (a DNS-01 challenge
 * waits for propagation); the buckets cover that range. */
static const double renewal_buckets[] = { 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800 };

struct _HaleRotation
{
  GObject parent_instance;

  HaleAudit *audit;

  HaleMetricFamily *m_renewals; /* shared with hale-cert-watch: see the header */
  HaleMetricFamily *m_renewal_duration;
  HaleMetricFamily *m_last_attempt;
  HaleMetricFamily *m_jwt_refresh;
  HaleMetricFamily *m_last_jwt_refresh;
  HaleMetricFamily *m_auth_failures;
  HaleMetricFamily *m_last_auth_failure;
  HaleMetricFamily *m_cache_hits;
  HaleMetricFamily *m_bootstrap;
  HaleMetricFamily *m_bootstrap_time;

  HaleRenewalReport last_renewal;
  HaleBootstrapStatus bootstrap;
  char *bootstrap_message;
  gint64 bootstrap_changed_usec;
};

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (HaleRotation, hale_rotation, G_TYPE_OBJECT)

const char *
hale_bootstrap_status_to_string (HaleBootstrapStatus status)
{
  switch (status)
    {
      case HALE_BOOTSTRAP_OK:
        return "ok";
      case HALE_BOOTSTRAP_FAILED:
        return "failed";
      case HALE_BOOTSTRAP_UNKNOWN:
      default:
        return "unknown";
    }
}

/* The checks every text argument gets: a name is one printable line, a
 * text may span lines (an agent's error output often does) but holds no
 * other control characters, which would reach terminals and log files. */
static gboolean
check_text (const char *what, const char *text, gboolean required, gsize max, gboolean one_line,
            GError **error)
{
  gsize len = text != NULL ? strlen (text) : 0;

  if (len == 0)
    {
      if (!required)
        return TRUE;
      g_set_error (error, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID, "%s is empty", what);
      return FALSE;
    }
  if (len > max)
    {
      g_set_error (error, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID,
                   "%s is %" G_GSIZE_FORMAT " bytes long, more than %" G_GSIZE_FORMAT, what, len,
                   max);
      return FALSE;
    }
  if (!g_utf8_validate (text, (gssize)len, NULL))
    {
      g_set_error (error, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID, "%s is not valid UTF-8",
                   what);
      return FALSE;
    }
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar)*p;

      if ((c < 0x20 || c == 0x7f) && (one_line || (c != '\n' && c != '\t')))
        {
          g_set_error (error, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID,
                       "%s holds a control character (0x%02x)", what, c);
          return FALSE;
        }
    }
  return TRUE;
}

static double
now_seconds (void)
{
  /* Whole seconds: what a _timestamp_seconds gauge usually carries. */
  return (double)(g_get_real_time () / G_USEC_PER_SEC);
}

static void
audit_renewal (HaleRotation *self, const HaleAuditActor *actor)
{
  const HaleRenewalReport *r = &self->last_renewal;
  g_autofree char *message = NULL;
  g_autofree char *seconds = g_strdup_printf ("%.3f", (double)r->duration_usec / G_USEC_PER_SEC);
  const char *extra[] = { "reported_by", "rotation-agent", NULL };
  HaleAuditEvent event = { 0 };

  if (r->success)
    message = g_strdup_printf ("The rotation agent renewed certificate %s in %s s", r->certificate,
                               seconds);
  else
    message
        = g_strdup_printf ("The rotation agent failed to renew certificate %s after %s s%s%s",
                           r->certificate, seconds, r->error ? ": " : "", r->error ? r->error : "");
  event.event = HALE_EVENT_CERTIFICATE_RENEWAL_ATTEMPTED;
  event.message_id = HALE_MESSAGE_ID_CERTIFICATE_RENEWAL_ATTEMPTED;
  event.priority = r->success ? LOG_INFO : LOG_WARNING;
  event.message = message;
  event.outcome = r->success ? "success" : "failure";
  event.resource_type = "certificate";
  event.resource_id = r->certificate;
  event.duration_ms = r->duration_usec / 1000;
  event.error = r->error;
  event.actor = actor;
  event.extra = extra;
  hale_audit_emit (self->audit, &event);
}

gboolean
hale_rotation_check_renewal (const char *certificate, gint64 duration_usec, const char *error,
                             GError **error_out)
{
  if (!check_text ("the certificate name", certificate, TRUE, HALE_ROTATION_MAX_NAME, TRUE,
                   error_out)
      || !check_text ("the error", error, FALSE, HALE_ROTATION_MAX_TEXT, FALSE, error_out))
    return FALSE;
  if (duration_usec < 0 || duration_usec > (gint64)HALE_ROTATION_MAX_DURATION_SEC * G_USEC_PER_SEC)
    {
      g_set_error (error_out, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID,
                   "the duration %" G_GINT64_FORMAT " µs is outside 0 to %d s", duration_usec,
                   HALE_ROTATION_MAX_DURATION_SEC);
      return FALSE;
    }
  return TRUE;
}

gboolean
hale_rotation_check_reason (const char *reason, GError **error)
{
  return check_text ("the reason", reason, TRUE, HALE_ROTATION_MAX_TEXT, FALSE, error);
}

gboolean
hale_rotation_check_cache_hits (guint count, GError **error)
{
  if (count == 0 || count > HALE_ROTATION_MAX_CACHE_HITS)
    {
      g_set_error (error, HALE_ROTATION_ERROR, HALE_ROTATION_ERROR_INVALID,
                   "the count %u is outside 1 to %d", count, HALE_ROTATION_MAX_CACHE_HITS);
      return FALSE;
    }
  return TRUE;
}

gboolean
hale_rotation_check_bootstrap_message (const char *message, GError **error)
{
  return check_text ("the message", message, FALSE, HALE_ROTATION_MAX_TEXT, FALSE, error);
}

gboolean
hale_rotation_record_renewal (HaleRotation *self, const char *certificate, gboolean success,
                              gint64 duration_usec, const char *error, const HaleAuditActor *actor,
                              GError **error_out)
{
  const char *result[] = { success ? "success" : "failure", NULL };
  double seconds;

  g_return_val_if_fail (HALE_IS_ROTATION (self), FALSE);

  if (!hale_rotation_check_renewal (certificate, duration_usec, error, error_out))
    return FALSE;

  g_free (self->last_renewal.certificate);
  g_free (self->last_renewal.error);
  self->last_renewal.certificate = g_strdup (certificate);
  self->last_renewal.success = success;
  self->last_renewal.duration_usec = duration_usec;
  self->last_renewal.at_usec = g_get_real_time ();
  self->last_renewal.error = error != NULL && error[0] != '\0' ? g_strdup (error) : NULL;

  /* A success is counted by the certificate watcher when the new
   * certificate lands on disk; counting the report too would count one
   * renewal twice. */
  if (!success)
    hale_metric_inc (self->m_renewals, result, 1);
  seconds = (double)duration_usec / G_USEC_PER_SEC;
  hale_metric_observe (self->m_renewal_duration, result, seconds);
  hale_metric_set (self->m_last_attempt, result, now_seconds ());

  audit_renewal (self, actor);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

gboolean
hale_rotation_record_jwt_refresh (HaleRotation *self, gboolean success, GError **error)
{
  const char *result[] = { success ? "success" : "failure", NULL };

  g_return_val_if_fail (HALE_IS_ROTATION (self), FALSE);

  hale_metric_inc (self->m_jwt_refresh, result, 1);
  hale_metric_set (self->m_last_jwt_refresh, result, now_seconds ());
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

gboolean
hale_rotation_record_auth_failure (HaleRotation *self, const char *reason,
                                   const HaleAuditActor *actor, GError **error)
{
  g_return_val_if_fail (HALE_IS_ROTATION (self), FALSE);

  if (!hale_rotation_check_reason (reason, error))
    return FALSE;

  hale_metric_inc (self->m_auth_failures, NULL, 1);
  hale_metric_set (self->m_last_auth_failure, NULL, now_seconds ());
  /* The reason is for the operator reading the log; the counter has no
   * label for it (free text would make the series unbounded). */
  g_message ("The identity provider refused the rotation agent (reported by %s): %s",
             actor && actor->identity ? actor->identity : "haled", reason);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

gboolean
hale_rotation_record_jwt_cache_hits (HaleRotation *self, guint count, GError **error)
{
  g_return_val_if_fail (HALE_IS_ROTATION (self), FALSE);

  if (!hale_rotation_check_cache_hits (count, error))
    return FALSE;
  hale_metric_inc (self->m_cache_hits, NULL, count);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

gboolean
hale_rotation_set_bootstrap_status (HaleRotation *self, gboolean ok, const char *message,
                                    const HaleAuditActor *actor, GError **error)
{
  HaleBootstrapStatus status = ok ? HALE_BOOTSTRAP_OK : HALE_BOOTSTRAP_FAILED;

  g_return_val_if_fail (HALE_IS_ROTATION (self), FALSE);

  if (!hale_rotation_check_bootstrap_message (message, error))
    return FALSE;

  if (status != self->bootstrap)
    g_message ("The rotation agent's bootstrap is %s%s%s", hale_bootstrap_status_to_string (status),
               message && message[0] ? ": " : "", message ? message : "");
  self->bootstrap = status;
  g_free (self->bootstrap_message);
  self->bootstrap_message = g_strdup (message ? message : "");
  self->bootstrap_changed_usec = g_get_real_time ();
  hale_metric_set (self->m_bootstrap, NULL, ok ? 1 : 0);
  hale_metric_set (self->m_bootstrap_time, NULL, now_seconds ());
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

HaleBootstrapStatus
hale_rotation_get_bootstrap_status (HaleRotation *self, const char **out_message,
                                    gint64 *out_changed_usec)
{
  g_return_val_if_fail (HALE_IS_ROTATION (self), HALE_BOOTSTRAP_UNKNOWN);

  if (out_message != NULL)
    *out_message = self->bootstrap_message;
  if (out_changed_usec != NULL)
    *out_changed_usec = self->bootstrap_changed_usec;
  return self->bootstrap;
}

const HaleRenewalReport *
hale_rotation_get_last_renewal (HaleRotation *self)
{
  g_return_val_if_fail (HALE_IS_ROTATION (self), NULL);
  return &self->last_renewal;
}

#define FIELD(member) G_STRUCT_OFFSET (HaleRotation, member)

static const char *const result_label[] = { "result", NULL };

static const HaleMetricDesc families[] = {
  { FIELD (m_renewal_duration), HALE_METRIC_HISTOGRAM, "certificate_renewal_duration_seconds",
    "How long the rotation agent's renewal attempts took, as it reported them", "seconds",
    result_label, renewal_buckets, G_N_ELEMENTS (renewal_buckets), HALE_METRIC_FLAGS_NONE },
  { FIELD (m_last_attempt), HALE_METRIC_GAUGE, "last_renewal_attempt_timestamp_seconds",
    "When the rotation agent last reported a renewal attempt, by result, seconds since the epoch",
    "seconds", result_label, NULL, 0, HALE_METRIC_FLAGS_NONE },
  { FIELD (m_jwt_refresh), HALE_METRIC_COUNTER, "jwt_refresh_total",
    "JWT refreshes of the rotation agent, by result", NULL, result_label, NULL, 0,
    HALE_METRIC_FLAGS_NONE },
  { FIELD (m_last_jwt_refresh), HALE_METRIC_GAUGE, "last_jwt_refresh_timestamp_seconds",
    "When the rotation agent last reported a JWT refresh, by result, seconds since the epoch",
    "seconds", result_label, NULL, 0, HALE_METRIC_FLAGS_NONE },
  { FIELD (m_auth_failures), HALE_METRIC_COUNTER, "keycloak_auth_failures_total",
    "Authentication failures of the rotation agent at its identity provider (Keycloak)", NULL, NULL,
    NULL, 0, HALE_METRIC_FLAGS_NONE },
  { FIELD (m_last_auth_failure), HALE_METRIC_GAUGE, "last_keycloak_auth_failure_timestamp_seconds",
    "When the rotation agent last reported an identity provider authentication failure", "seconds",
    NULL, NULL, 0, HALE_METRIC_FLAGS_NONE },
  { FIELD (m_cache_hits), HALE_METRIC_COUNTER, "jwt_cache_hits_total",
    "JWTs the rotation agent took from its cache", NULL, NULL, NULL, 0, HALE_METRIC_FLAGS_NONE },
  { FIELD (m_bootstrap), HALE_METRIC_GAUGE, "bootstrap_status",
    "The rotation agent's bootstrap: 1 ok, 0 failed; absent until it reports", NULL, NULL, NULL, 0,
    HALE_METRIC_FLAGS_NONE },
  { FIELD (m_bootstrap_time), HALE_METRIC_GAUGE, "bootstrap_status_timestamp_seconds",
    "When the rotation agent last reported its bootstrap status, seconds since the epoch",
    "seconds", NULL, NULL, 0, HALE_METRIC_FLAGS_NONE },
};

static void
register_metrics (HaleRotation *self, HaleMetrics *m)
{
  const char *success[] = { "success", NULL };
  const char *failure[] = { "failure", NULL };

  self->m_renewals = hale_metric_family_renewal_attempts (m);
  hale_metrics_add_table (m, families, G_N_ELEMENTS (families), self);

  /* Rates need every series from the start, not from the first report:
   * rate() over a series that appears at 1 misses that first event. */
  hale_metric_touch (self->m_renewals, success);
  hale_metric_touch (self->m_renewals, failure);
  hale_metric_touch (self->m_jwt_refresh, success);
  hale_metric_touch (self->m_jwt_refresh, failure);
  hale_metric_touch (self->m_auth_failures, NULL);
  hale_metric_touch (self->m_cache_hits, NULL);
}

static void
hale_rotation_finalize (GObject *object)
{
  HaleRotation *self = HALE_ROTATION (object);

  g_clear_object (&self->audit);
  g_free (self->last_renewal.certificate);
  g_free (self->last_renewal.error);
  g_free (self->bootstrap_message);
  G_OBJECT_CLASS (hale_rotation_parent_class)->finalize (object);
}

static void
hale_rotation_class_init (HaleRotationClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hale_rotation_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
hale_rotation_init (HaleRotation *self)
{
  self->bootstrap_message = g_strdup ("");
}

HaleRotation *
hale_rotation_new (HaleMetrics *metrics, HaleAudit *audit)
{
  HaleRotation *self;

  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);
  g_return_val_if_fail (HALE_IS_AUDIT (audit), NULL);

  self = g_object_new (HALE_TYPE_ROTATION, NULL);
  self->audit = g_object_ref (audit);
  register_metrics (self, metrics);
  return self;
}
