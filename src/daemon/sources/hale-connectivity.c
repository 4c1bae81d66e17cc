/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-connectivity.c: endpoint rounds, the connectivity state and
 * degraded mode.
 *
 * Probes run on their own: the state is worked out again each time
 * probes end (once per main loop iteration in which any did), from the
 * latest result of every endpoint, so a slow target
 * delays nothing but its own result. An endpoint not probed yet counts
 * as answering (there is nothing against it); the clock of the threshold
 * starts at the last moment all endpoints answered, or when the
 * endpoints were first configured, whichever is later. A one-shot timer
 * at that moment plus DegradedThreshold makes the switch to degraded on
 * time rather than at the next probe.
 *
 * qos is the share of successful probes among the last QOS_WINDOW of an
 * endpoint (20: ten minutes at the default interval of 30 s).
 */
#include "config.h"

#include "hale-units.h"
#include "hale-connectivity.h"

#include "hale-names.h"

#include <syslog.h>

#define QOS_WINDOW 20

static const double duration_buckets[]
    = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };

typedef struct
{
  gatomicrefcount ref;
  gboolean removed; /* set when the endpoint or its owner is gone */
  HaleConnectivity *owner;

  char *name;
  char *check_name; /* "endpoint:NAME" */
  char *url;
  gboolean critical;
  HaleStatusRange expected_status;
  char *ca_file;

  GCancellable *in_flight; /* NULL when idle */
  HaleProbeResult *last;   /* NULL until the first probe ends */
  gint64 last_success_at;  /* usec, 0: never */
  gint64 last_failure_at;
  char *last_failure_reason;
  GVariant *url_variant;       /* cached for the details */
  GVariant *last_success_text; /* RFC 3339 of last_success_text_at */
  gint64 last_success_text_at;
  gboolean history[QOS_WINDOW];
  guint history_len;
  guint history_pos;
  guint64 probes;
  guint64 skipped;
} Endpoint;

struct _HaleConnectivity
{
  GObject parent_instance;

  HaleState *state;
  HaleMetrics *metrics;
  HaleAudit *audit;
  HaleProber *prober;

  GPtrArray *endpoints; /* Endpoint, in configuration order */
  gint64 interval;
  gint64 timeout;
  gint64 threshold;

  GSource *round_timer;
  GSource *threshold_timer;
  guint recheck_idle;
  guint evaluate_idle;

  HaleConnectivityState conn_state;
  gboolean degraded;
  gint64 entered_at;      /* usec, 0 when not degraded */
  gint64 last_successful; /* usec: all endpoints last answered; 0: never */
  gint64 watch_start;     /* usec: endpoints first configured */

  HaleMetricFamily *m_status;
  HaleMetricFamily *m_degraded;
  HaleMetricFamily *m_entered;
  HaleMetricFamily *m_last_successful;
  HaleMetricFamily *m_up;
  HaleMetricFamily *m_duration;
  HaleMetricFamily *m_phase;
  HaleMetricFamily *m_last_success;
  HaleMetricFamily *m_qos;
  HaleMetricFamily *m_http_status;
  HaleMetricFamily *m_probes;
  HaleMetricFamily *m_skipped;
};

G_DEFINE_TYPE (HaleConnectivity, hale_connectivity, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_STATE,
  PROP_CONNECTIVITY,
  PROP_DEGRADED,
  PROP_ENTERED_AT,
  PROP_LAST_SUCCESSFUL,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_ENTERED,
  SIGNAL_EXITED,
  SIGNAL_RECHECK_REQUESTED,
  SIGNAL_ENDPOINT_PROBED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
evaluate (HaleConnectivity *self);
static void
schedule_evaluate (HaleConnectivity *self);

const char *
hale_connectivity_state_to_string (HaleConnectivityState state)
{
  switch (state)
    {
      case HALE_CONNECTIVITY_HEALTHY:
        return "healthy";
      case HALE_CONNECTIVITY_DEGRADED:
        return "degraded";
      case HALE_CONNECTIVITY_OFFLINE:
        return "offline";
    }
  return "unknown";
}

/* ---- endpoints ---------------------------------------------------------- */

static Endpoint *
endpoint_ref (Endpoint *e)
{
  g_atomic_ref_count_inc (&e->ref);
  return e;
}

static void
endpoint_unref (Endpoint *e)
{
  if (!g_atomic_ref_count_dec (&e->ref))
    return;
  g_free (e->name);
  g_free (e->check_name);
  g_free (e->url);
  g_free (e->ca_file);
  g_clear_object (&e->in_flight);
  hale_probe_result_free (e->last);
  g_free (e->last_failure_reason);
  g_clear_pointer (&e->url_variant, g_variant_unref);
  g_clear_pointer (&e->last_success_text, g_variant_unref);
  g_free (e);
}

static void
endpoint_set_config (Endpoint *e, const HaleEndpointConfig *c)
{
  /* Another target: what was learnt of the old one says nothing. */
  if (e->url != NULL && !g_str_equal (e->url, c->url))
    {
      g_clear_pointer (&e->last, hale_probe_result_free);
      e->last_success_at = e->last_failure_at = 0;
      g_clear_pointer (&e->last_failure_reason, g_free);
      e->history_len = e->history_pos = 0;
    }
  g_free (e->url);
  e->url = g_strdup (c->url);
  g_clear_pointer (&e->url_variant, g_variant_unref);
  e->critical = c->critical;
  e->expected_status = c->expected_status;
  g_free (e->ca_file);
  e->ca_file = g_strdup (c->ca_file);
}

static Endpoint *
endpoint_new (HaleConnectivity *owner, const HaleEndpointConfig *c)
{
  Endpoint *e = g_new0 (Endpoint, 1);

  g_atomic_ref_count_init (&e->ref);
  e->owner = owner;
  e->name = g_strdup (c->name);
  e->check_name = g_strconcat (HALE_CHECK_PREFIX_ENDPOINT, c->name, NULL);
  endpoint_set_config (e, c);
  return e;
}

static double
endpoint_qos (const Endpoint *e)
{
  guint ok = 0;

  if (e->history_len == 0)
    return 0.0;
  for (guint i = 0; i < e->history_len; i++)
    ok += e->history[i] ? 1 : 0;
  return (double)ok / e->history_len;
}

#define ADD(b, key, format, ...)                                                                   \
  g_variant_builder_add (b, "{sv}", key, g_variant_new (format, __VA_ARGS__))

static void
add_seconds (GVariantBuilder *b, const char *key, gint64 usec)
{
  if (usec >= 0)
    ADD (b, key, "d", (double)usec / G_USEC_PER_SEC);
}

/* The details of "endpoint:NAME", also what GetEndpoints() answers.
 * Built once per probe of every endpoint, so with a builder rather than
 * a GVariantDict (which hashes every key first). */
static GVariant *
endpoint_details (HaleConnectivity *self, Endpoint *e, gint64 now)
{
  GVariantBuilder b;
  const HaleProbeResult *r = e->last;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (e->url_variant == NULL)
    e->url_variant = g_variant_ref_sink (g_variant_new_string (e->url));
  g_variant_builder_add (&b, "{sv}", "url", e->url_variant);
  ADD (&b, "critical", "b", e->critical);
  ADD (&b, "probed", "b", r != NULL);
  if (r != NULL)
    {
      ADD (&b, "success", "b", r->success);
      ADD (&b, "http_status", "u", r->http_status);
      add_seconds (&b, "duration_seconds", r->duration);
      add_seconds (&b, "dns_seconds", r->dns);
      add_seconds (&b, "connect_seconds", r->connect);
      add_seconds (&b, "tls_seconds", r->tls);
      add_seconds (&b, "first_byte_seconds", r->first_byte);
      if (r->reason != NULL)
        ADD (&b, "reason", "s", r->reason);
    }
  ADD (&b, "last_success_at", "x", e->last_success_at / G_USEC_PER_SEC);
  if (e->last_success_at > 0)
    {
      /* The same second as last time, most probes: keep its text. */
      if (e->last_success_text == NULL
          || e->last_success_text_at != e->last_success_at / G_USEC_PER_SEC)
        {
          g_autofree char *text = hale_rfc3339_format ((e->last_success_at) / G_USEC_PER_SEC);
          g_clear_pointer (&e->last_success_text, g_variant_unref);
          e->last_success_text = g_variant_ref_sink (g_variant_new_string (text));
          e->last_success_text_at = e->last_success_at / G_USEC_PER_SEC;
        }
      g_variant_builder_add (&b, "{sv}", "last_success", e->last_success_text);
    }
  if (e->last_failure_reason != NULL)
    {
      ADD (&b, "last_failure_reason", "s", e->last_failure_reason);
      ADD (&b, "last_failure_at", "x", e->last_failure_at / G_USEC_PER_SEC);
    }
  ADD (&b, "qos", "d", endpoint_qos (e));
  ADD (&b, "probes", "t", e->probes);
  ADD (&b, "skipped", "t", e->skipped);
  /* In degraded mode what hale acts on is what it learnt when the
   * endpoint last answered: say so, and how old that is. */
  ADD (&b, "cached", "b", self->degraded);
  if (self->degraded)
    {
      gint64 since = e->last_success_at > 0 ? e->last_success_at : self->watch_start;
      ADD (&b, "age_seconds", "x", MAX (0, now - since) / G_USEC_PER_SEC);
    }
  return g_variant_builder_end (&b);
}

#undef ADD

static char *
endpoint_message (const Endpoint *e)
{
  const HaleProbeResult *r = e->last;

  if (r == NULL)
    return g_strdup ("not probed yet");
  if (r->success)
    return g_strdup_printf ("answers: HTTP %u in %" G_GINT64_FORMAT " ms", r->http_status,
                            r->duration / 1000);
  return g_strdup_printf ("%s endpoint fails: %s", e->critical ? "critical" : "non-critical",
                          r->reason);
}

static void
endpoint_publish (HaleConnectivity *self, Endpoint *e, gint64 now)
{
  g_autoptr (HaleCheckResult) check = NULL;
  g_autofree char *message = NULL;

  if (e->last == NULL)
    return;
  message = endpoint_message (e);
  /* A failing endpoint is a warning, never critical: losing the CA or
   * the identity provider is what hale rides out on what it has; it
   * must not make load balancers pull a host that serves fine. */
  check = hale_check_result_new (
      e->check_name, e->last->success ? HALE_CHECK_HEALTHY : HALE_CHECK_WARNING, message,
      endpoint_details (self, e, now), e->last->finished_at, e->last->duration);
  hale_state_set_check (self->state, check);
}

static void
endpoint_remove (HaleConnectivity *self, Endpoint *e)
{
  const char *labels[] = { e->name, NULL };
  const char *ok_labels[] = { e->name, "success", NULL };
  const char *fail_labels[] = { e->name, "failure", NULL };
  static const char *const phases[] = { "dns", "connect", "tls", "first_byte" };

  e->removed = TRUE;
  if (e->in_flight != NULL)
    g_cancellable_cancel (e->in_flight);
  hale_state_remove_check (self->state, e->check_name);
  hale_metric_remove (self->m_up, labels);
  hale_metric_remove (self->m_duration, labels);
  hale_metric_remove (self->m_last_success, labels);
  hale_metric_remove (self->m_qos, labels);
  hale_metric_remove (self->m_http_status, labels);
  hale_metric_remove (self->m_skipped, labels);
  hale_metric_remove (self->m_probes, ok_labels);
  hale_metric_remove (self->m_probes, fail_labels);
  for (gsize i = 0; i < G_N_ELEMENTS (phases); i++)
    {
      const char *phase_labels[] = { e->name, phases[i], NULL };
      hale_metric_remove (self->m_phase, phase_labels);
    }
}

/* ---- probing ------------------------------------------------------------ */

static void
record (HaleConnectivity *self, Endpoint *e, HaleProbeResult *result)
{
  const char *labels[] = { e->name, NULL };
  const char *result_labels[] = { e->name, result->success ? "success" : "failure", NULL };
  const struct
  {
    const char *phase;
    gint64 usec;
  } phases[] = {
    { "dns", result->dns },
    { "connect", result->connect },
    { "tls", result->tls },
    { "first_byte", result->first_byte },
  };

  e->probes++;
  e->history[e->history_pos] = result->success;
  e->history_pos = (e->history_pos + 1) % QOS_WINDOW;
  e->history_len = MIN (e->history_len + 1, QOS_WINDOW);
  if (result->success)
    e->last_success_at = result->finished_at;
  else
    {
      e->last_failure_at = result->finished_at;
      g_free (e->last_failure_reason);
      e->last_failure_reason = g_strdup (result->reason);
    }
  hale_probe_result_free (e->last);
  e->last = result;

  hale_metric_set (self->m_up, labels, result->success ? 1 : 0);
  hale_metric_observe (self->m_duration, labels, (double)result->duration / G_USEC_PER_SEC);
  hale_metric_set (self->m_qos, labels, endpoint_qos (e));
  hale_metric_set (self->m_http_status, labels, result->http_status);
  hale_metric_inc (self->m_probes, result_labels, 1);
  if (e->last_success_at > 0)
    hale_metric_set (self->m_last_success, labels, (double)(e->last_success_at / G_USEC_PER_SEC));
  for (gsize i = 0; i < G_N_ELEMENTS (phases); i++)
    {
      const char *phase_labels[] = { e->name, phases[i].phase, NULL };
      if (phases[i].usec >= 0)
        hale_metric_set (self->m_phase, phase_labels, (double)phases[i].usec / G_USEC_PER_SEC);
      else
        hale_metric_remove (self->m_phase, phase_labels);
    }

  endpoint_publish (self, e, g_get_real_time ());
}

static void
probed (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Endpoint *e = user_data;
  g_autoptr (GError) error = NULL;
  HaleProbeResult *result = hale_prober_probe_finish (HALE_PROBER (source), res, &error);
  HaleConnectivity *self = e->owner;

  if (e->removed)
    {
      hale_probe_result_free (result);
      endpoint_unref (e);
      return;
    }
  g_clear_object (&e->in_flight);
  if (result == NULL)
    {
      /* Cancelled by hale_connectivity_stop(), or a URL the prober
       * refuses (the configuration checks URLs, so hardly ever). */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          endpoint_unref (e);
          return;
        }
      result = g_new0 (HaleProbeResult, 1);
      result->dns = result->connect = result->tls = result->first_byte = -1;
      result->reason = g_strdup_printf ("error: %s", error->message);
      result->finished_at = g_get_real_time ();
    }

  g_object_ref (self);
  record (self, e, result);
  g_signal_emit (self, signals[SIGNAL_ENDPOINT_PROBED], 0, e->name, e->last);
  schedule_evaluate (self);
  g_object_unref (self);
  endpoint_unref (e);
}

static void
probe_endpoint (HaleConnectivity *self, Endpoint *e)
{
  HaleProbeOptions options = {
    .timeout = self->timeout,
    .status_min = e->expected_status.min,
    .status_max = e->expected_status.max,
    .ca_file = e->ca_file,
  };

  if (e->in_flight != NULL)
    {
      /* The last probe is still within its Timeout: never two at once. */
      const char *labels[] = { e->name, NULL };
      e->skipped++;
      hale_metric_inc (self->m_skipped, labels, 1);
      g_debug ("endpoint %s: previous probe still running, round skipped", e->name);
      return;
    }
  e->in_flight = g_cancellable_new ();
  hale_prober_probe_async (self->prober, e->url, &options, e->in_flight, probed, endpoint_ref (e));
}

void
hale_connectivity_check_now (HaleConnectivity *self)
{
  g_return_if_fail (HALE_IS_CONNECTIVITY (self));

  for (guint i = 0; i < self->endpoints->len; i++)
    probe_endpoint (self, g_ptr_array_index (self->endpoints, i));
}

static gboolean
round_due (gpointer user_data)
{
  hale_connectivity_check_now (user_data);
  return G_SOURCE_CONTINUE;
}

/* ---- state -------------------------------------------------------------- */

static void
audit (HaleConnectivity *self, const char *event, const char *message_id, int priority,
       const char *message, gint64 duration_usec)
{
  const char *extra[]
      = { "CONNECTIVITY", hale_connectivity_state_to_string (self->conn_state), NULL };
  HaleAuditEvent ev = {
    .event = event,
    .message_id = message_id,
    .priority = priority,
    .message = message,
    .outcome = "success",
    .resource_type = "connectivity",
    .resource_id = "connectivity",
    .duration_ms = duration_usec >= 0 ? duration_usec / 1000 : -1,
    .extra = extra,
  };

  if (self->audit != NULL)
    hale_audit_emit (self->audit, &ev);
}

/* "ca (connection refused), idp (timeout)" */
static char *
failing_list (HaleConnectivity *self, gboolean critical_only)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < self->endpoints->len; i++)
    {
      Endpoint *e = g_ptr_array_index (self->endpoints, i);
      if (e->last == NULL || e->last->success || (critical_only && !e->critical))
        continue;
      if (s->len > 0)
        g_string_append (s, ", ");
      g_string_append_printf (s, "%s (%s)", e->name, e->last->reason);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
publish_connectivity (HaleConnectivity *self, gint64 now)
{
  g_autoptr (HaleCheckResult) check = NULL;
  g_autofree char *message = NULL;
  g_autofree char *failing = failing_list (self, FALSE);
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "state", "s", hale_connectivity_state_to_string (self->conn_state));
  g_variant_dict_insert (&d, "endpoints", "u", self->endpoints->len);
  g_variant_dict_insert (&d, "last_successful_at", "x", self->last_successful / G_USEC_PER_SEC);
  if (self->last_successful > 0)
    {
      g_autofree char *text = hale_rfc3339_format ((self->last_successful) / G_USEC_PER_SEC);
      g_variant_dict_insert (&d, "last_successful", "s", text);
    }
  g_variant_dict_insert (&d, "degraded_mode", "b", self->degraded);
  g_variant_dict_insert (&d, "entered_at", "x", self->entered_at / G_USEC_PER_SEC);
  g_variant_dict_insert (&d, "degraded_threshold_seconds", "x", self->threshold / G_USEC_PER_SEC);
  g_variant_dict_insert (&d, "cached", "b", self->degraded);
  if (self->degraded)
    {
      gint64 since = self->last_successful > 0 ? self->last_successful : self->watch_start;
      g_variant_dict_insert (&d, "age_seconds", "x", MAX (0, now - since) / G_USEC_PER_SEC);
    }

  if (self->endpoints->len == 0)
    message = g_strdup ("no endpoints configured");
  else if (*failing == '\0')
    message = g_strdup_printf ("all %u endpoint(s) answer", self->endpoints->len);
  else
    message = g_strdup_printf ("%s%s: failing: %s",
                               hale_connectivity_state_to_string (self->conn_state),
                               self->degraded ? ", degraded mode" : "", failing);

  check = hale_check_result_new (HALE_CHECK_CONNECTIVITY,
                                 self->conn_state == HALE_CONNECTIVITY_HEALTHY ? HALE_CHECK_HEALTHY
                                                                               : HALE_CHECK_WARNING,
                                 message, g_variant_dict_end (&d), now, 0);
  hale_state_set_check (self->state, check);
}

static void
publish_all (HaleConnectivity *self, gint64 now)
{
  for (guint i = 0; i < self->endpoints->len; i++)
    endpoint_publish (self, g_ptr_array_index (self->endpoints, i), now);
  publish_connectivity (self, now);
}

static gboolean
recheck_idle (gpointer user_data)
{
  HaleConnectivity *self = user_data;

  self->recheck_idle = 0;
  hale_connectivity_check_now (self);
  return G_SOURCE_REMOVE;
}

static void
enter_degraded (HaleConnectivity *self, gint64 now, gint64 since)
{
  g_autofree char *failing = failing_list (self, FALSE);
  g_autofree char *since_text = hale_rfc3339_format ((since) / G_USEC_PER_SEC);
  g_autofree char *message = NULL;

  self->degraded = TRUE;
  self->entered_at = now;
  hale_metric_set (self->m_degraded, NULL, 1);
  hale_metric_set (self->m_entered, NULL, (double)(now / G_USEC_PER_SEC));
  hale_state_set_degraded (self->state, TRUE);

  message
      = g_strdup_printf ("degraded mode entered: connectivity %s, not every endpoint has "
                         "answered since %s; failing: %s",
                         hale_connectivity_state_to_string (self->conn_state), since_text, failing);
  audit (self, HALE_EVENT_DEGRADED_ENTERED, HALE_MESSAGE_ID_DEGRADED_ENTERED, LOG_WARNING, message,
         -1);
  g_message ("%s", message);

  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DEGRADED]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ENTERED_AT]);
  g_signal_emit (self, signals[SIGNAL_ENTERED], 0, (guint64)now);
}

static void
exit_degraded (HaleConnectivity *self, gint64 now)
{
  gint64 entered_at = self->entered_at;
  gint64 spent = MAX (0, now - entered_at);
  g_autofree char *spent_text = NULL;
  g_autofree char *message = NULL;

  self->degraded = FALSE;
  self->entered_at = 0;
  hale_metric_set (self->m_degraded, NULL, 0);
  hale_metric_set (self->m_entered, NULL, 0);
  hale_state_set_degraded (self->state, FALSE);

  spent_text = g_strdup_printf ("%" G_GINT64_FORMAT ".%03" G_GINT64_FORMAT " s",
                                spent / G_USEC_PER_SEC, (spent / 1000) % 1000);
  message
      = g_strdup_printf ("degraded mode left after %s: every endpoint answers again", spent_text);
  audit (self, HALE_EVENT_DEGRADED_EXITED, HALE_MESSAGE_ID_DEGRADED_EXITED, LOG_NOTICE, message,
         spent);
  g_message ("%s", message);

  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DEGRADED]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ENTERED_AT]);
  g_signal_emit (self, signals[SIGNAL_EXITED], 0, (guint64)entered_at, (guint64)spent);
  /* The seed's "trigger immediate renewal check": the certificates
   * (through the daemon) and the endpoints, now that they answer. */
  g_signal_emit (self, signals[SIGNAL_RECHECK_REQUESTED], 0);
  if (self->recheck_idle == 0)
    self->recheck_idle = g_idle_add (recheck_idle, self);
}

static gboolean
threshold_reached (gpointer user_data)
{
  HaleConnectivity *self = user_data;

  g_clear_pointer (&self->threshold_timer, g_source_unref);
  evaluate (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_threshold (HaleConnectivity *self, gint64 due_usec_from_now)
{
  if (self->threshold_timer != NULL)
    {
      g_source_destroy (self->threshold_timer);
      g_clear_pointer (&self->threshold_timer, g_source_unref);
    }
  if (due_usec_from_now < 0)
    return;
  /* One millisecond past: "longer than DegradedThreshold". */
  self->threshold_timer = g_timeout_source_new (due_usec_from_now / 1000 + 1);
  g_source_set_callback (self->threshold_timer, threshold_reached, self, NULL);
  g_source_set_static_name (self->threshold_timer, "[hale] degraded threshold");
  g_source_attach (self->threshold_timer, g_main_context_get_thread_default ());
}

/* From the latest result of every endpoint: the state, degraded mode,
 * and their faces. */
static void
evaluate (HaleConnectivity *self)
{
  gint64 now = g_get_real_time ();
  gboolean all_answer = TRUE;
  gboolean all_probed = TRUE;
  gboolean critical_fails = FALSE;
  HaleConnectivityState new_state;
  gboolean was_degraded = self->degraded;
  gint64 since;

  for (guint i = 0; i < self->endpoints->len; i++)
    {
      Endpoint *e = g_ptr_array_index (self->endpoints, i);
      if (e->last == NULL)
        all_probed = FALSE;
      else if (!e->last->success)
        {
          all_answer = FALSE;
          critical_fails |= e->critical;
        }
    }

  if (all_answer && all_probed && self->endpoints->len > 0)
    {
      self->last_successful = now;
      hale_metric_set (self->m_last_successful, NULL, (double)(now / G_USEC_PER_SEC));
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LAST_SUCCESSFUL]);
    }
  since = MAX (self->last_successful, self->watch_start);

  if (all_answer)
    new_state = HALE_CONNECTIVITY_HEALTHY;
  else if (critical_fails)
    new_state = HALE_CONNECTIVITY_OFFLINE;
  else if (now - since > self->threshold)
    new_state = HALE_CONNECTIVITY_DEGRADED;
  else
    new_state = HALE_CONNECTIVITY_HEALTHY;

  if (new_state != self->conn_state)
    {
      HaleConnectivityState old_state = self->conn_state;
      g_autofree char *failing = failing_list (self, FALSE);

      self->conn_state = new_state;
      hale_metric_set (self->m_status, NULL, new_state);
      g_message ("connectivity: %s -> %s%s%s", hale_connectivity_state_to_string (old_state),
                 hale_connectivity_state_to_string (new_state), *failing ? "; failing: " : "",
                 failing);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CONNECTIVITY]);
    }

  if (!all_answer && !self->degraded && now - since > self->threshold)
    enter_degraded (self, now, since);
  else if (all_answer && self->degraded)
    exit_degraded (self, now);

  /* Not everyone answers and the threshold is ahead: look again when it
   * passes, whatever the probes are doing then. */
  if (!all_answer && !self->degraded)
    schedule_threshold (self, since + self->threshold - now);
  else
    schedule_threshold (self, -1);

  if (was_degraded != self->degraded)
    publish_all (self, now);
  else
    publish_connectivity (self, now);
}

static gboolean
evaluate_idle (gpointer user_data)
{
  HaleConnectivity *self = user_data;

  self->evaluate_idle = 0;
  evaluate (self);
  return G_SOURCE_REMOVE;
}

/* Probes that end in one main loop iteration (a round of a thousand
 * ends in bursts) are weighed together, once. */
static void
schedule_evaluate (HaleConnectivity *self)
{
  if (self->evaluate_idle == 0)
    self->evaluate_idle = g_idle_add_full (G_PRIORITY_DEFAULT, evaluate_idle, self, NULL);
}

/* ---- configuration ------------------------------------------------------ */

static Endpoint *
find_endpoint (HaleConnectivity *self, const char *name, guint *out_index)
{
  for (guint i = 0; i < self->endpoints->len; i++)
    {
      Endpoint *e = g_ptr_array_index (self->endpoints, i);
      if (g_str_equal (e->name, name))
        {
          if (out_index != NULL)
            *out_index = i;
          return e;
        }
    }
  return NULL;
}

void
hale_connectivity_configure (HaleConnectivity *self, HaleConfig *config)
{
  g_autoptr (GPtrArray) next = NULL;

  g_return_if_fail (HALE_IS_CONNECTIVITY (self));
  g_return_if_fail (config != NULL);

  next = g_ptr_array_new_with_free_func ((GDestroyNotify)endpoint_unref);
  for (guint i = 0; i < config->endpoints->len; i++)
    {
      const HaleEndpointConfig *c = g_ptr_array_index (config->endpoints, i);
      guint index;
      Endpoint *e = find_endpoint (self, c->name, &index);

      if (e != NULL)
        {
          endpoint_set_config (e, c);
          g_ptr_array_add (next, g_ptr_array_steal_index (self->endpoints, index));
        }
      else
        g_ptr_array_add (next, endpoint_new (self, c));
    }
  for (guint i = 0; i < self->endpoints->len; i++)
    endpoint_remove (self, g_ptr_array_index (self->endpoints, i));
  g_ptr_array_unref (self->endpoints);
  self->endpoints = g_steal_pointer (&next);

  if (self->watch_start == 0 && self->endpoints->len > 0)
    self->watch_start = g_get_real_time ();

  self->timeout = config->timeout;
  self->threshold = config->degraded_threshold;
  if (self->round_timer == NULL || self->interval != config->check_interval)
    {
      if (self->round_timer != NULL)
        {
          g_source_destroy (self->round_timer);
          g_clear_pointer (&self->round_timer, g_source_unref);
        }
      self->interval = config->check_interval;
      self->round_timer = g_timeout_source_new (MAX (1, self->interval / 1000));
      g_source_set_callback (self->round_timer, round_due, self, NULL);
      g_source_set_static_name (self->round_timer, "[hale] endpoint round");
      g_source_attach (self->round_timer, g_main_context_get_thread_default ());
    }

  evaluate (self);
  hale_connectivity_check_now (self);
}

void
hale_connectivity_stop (HaleConnectivity *self)
{
  g_return_if_fail (HALE_IS_CONNECTIVITY (self));

  if (self->round_timer != NULL)
    {
      g_source_destroy (self->round_timer);
      g_clear_pointer (&self->round_timer, g_source_unref);
    }
  schedule_threshold (self, -1);
  if (self->recheck_idle != 0)
    {
      g_source_remove (self->recheck_idle);
      self->recheck_idle = 0;
    }
  if (self->evaluate_idle != 0)
    {
      g_source_remove (self->evaluate_idle);
      self->evaluate_idle = 0;
    }
  for (guint i = 0; i < self->endpoints->len; i++)
    {
      Endpoint *e = g_ptr_array_index (self->endpoints, i);
      if (e->in_flight != NULL)
        g_cancellable_cancel (e->in_flight);
    }
}

/* ---- getters ------------------------------------------------------------ */

HaleConnectivityState
hale_connectivity_get_state (HaleConnectivity *self)
{
  g_return_val_if_fail (HALE_IS_CONNECTIVITY (self), HALE_CONNECTIVITY_HEALTHY);
  return self->conn_state;
}

gboolean
hale_connectivity_get_degraded (HaleConnectivity *self)
{
  g_return_val_if_fail (HALE_IS_CONNECTIVITY (self), FALSE);
  return self->degraded;
}

guint64
hale_connectivity_get_entered_at (HaleConnectivity *self)
{
  g_return_val_if_fail (HALE_IS_CONNECTIVITY (self), 0);
  return (guint64)self->entered_at;
}

guint64
hale_connectivity_get_last_successful (HaleConnectivity *self)
{
  g_return_val_if_fail (HALE_IS_CONNECTIVITY (self), 0);
  return (guint64)self->last_successful;
}

GVariant *
hale_connectivity_get_endpoints (HaleConnectivity *self)
{
  GVariantBuilder b;
  gint64 now = g_get_real_time ();

  g_return_val_if_fail (HALE_IS_CONNECTIVITY (self), NULL);

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sa{sv}}"));
  for (guint i = 0; i < self->endpoints->len; i++)
    {
      Endpoint *e = g_ptr_array_index (self->endpoints, i);
      g_autoptr (GVariant) details = g_variant_ref_sink (endpoint_details (self, e, now));
      g_autofree char *message = endpoint_message (e);
      GVariantDict d;
      const char *status = e->last == NULL ? "unknown" : e->last->success ? "healthy" : "warning";

      g_variant_dict_init (&d, details);
      g_variant_dict_insert (&d, "status", "s", status);
      g_variant_dict_insert (&d, "message", "s", message);
      g_variant_builder_add (&b, "{s@a{sv}}", e->name, g_variant_dict_end (&d));
    }
  return g_variant_builder_end (&b);
}

/* ---- object ------------------------------------------------------------- */

static void
register_metrics (HaleConnectivity *self)
{
  static const char *const endpoint_label[] = { "endpoint", NULL };
  static const char *const result_labels[] = { "endpoint", "result", NULL };
  static const char *const phase_labels[] = { "endpoint", "phase", NULL };
  HaleMetrics *m = self->metrics;

  self->m_status
      = hale_metrics_add (m, HALE_METRIC_GAUGE, "connectivity_status",
                          "Connectivity to the endpoints: 0 healthy, 1 degraded, 2 offline.", NULL,
                          NULL, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_degraded = hale_metrics_add (m, HALE_METRIC_GAUGE, "degraded_mode",
                                       "1 while hale is in degraded mode.", NULL, NULL, NULL, 0,
                                       HALE_METRIC_FLAGS_NONE);
  self->m_entered = hale_metrics_add (
      m, HALE_METRIC_GAUGE, "degraded_mode_entered_timestamp_seconds",
      "When the current degraded mode was entered; 0 when not in degraded mode.", "seconds", NULL,
      NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_last_successful = hale_metrics_add (
      m, HALE_METRIC_GAUGE, "connectivity_last_success_timestamp_seconds",
      "The last time every endpoint answered.", "seconds", NULL, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_up = hale_metrics_add (m, HALE_METRIC_GAUGE, "endpoint_up",
                                 "Whether the last probe of the endpoint succeeded.", NULL,
                                 endpoint_label, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_duration = hale_metrics_add (
      m, HALE_METRIC_HISTOGRAM, "endpoint_probe_duration_seconds",
      "How long probes of the endpoint took, from the start to the end of the body.", "seconds",
      endpoint_label, duration_buckets, G_N_ELEMENTS (duration_buckets), HALE_METRIC_FLAGS_NONE);
  self->m_phase = hale_metrics_add (m, HALE_METRIC_GAUGE, "endpoint_probe_phase_seconds",
                                    "Phases of the last probe: dns, connect, tls, first_byte.",
                                    "seconds", phase_labels, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_last_success
      = hale_metrics_add (m, HALE_METRIC_GAUGE, "endpoint_last_success_timestamp_seconds",
                          "When the endpoint last answered as expected.", "seconds", endpoint_label,
                          NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_qos
      = hale_metrics_add (m, HALE_METRIC_GAUGE, "endpoint_qos",
                          "Share of successful probes among the last 20 of the endpoint (0 to 1).",
                          NULL, endpoint_label, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_http_status
      = hale_metrics_add (m, HALE_METRIC_GAUGE, "endpoint_http_status",
                          "HTTP status of the last probe of the endpoint; 0 when it got no answer.",
                          NULL, endpoint_label, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_probes = hale_metrics_add (m, HALE_METRIC_COUNTER, "endpoint_probes_total",
                                     "Probes of the endpoint by result (success, failure).", NULL,
                                     result_labels, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_skipped = hale_metrics_add (
      m, HALE_METRIC_COUNTER, "endpoint_probes_skipped_total",
      "Rounds skipped because the previous probe of the endpoint was still running.", NULL,
      endpoint_label, NULL, 0, HALE_METRIC_FLAGS_NONE);

  hale_metric_set (self->m_status, NULL, HALE_CONNECTIVITY_HEALTHY);
  hale_metric_set (self->m_degraded, NULL, 0);
  hale_metric_set (self->m_entered, NULL, 0);
}

HaleConnectivity *
hale_connectivity_new (HaleState *state, HaleMetrics *metrics, HaleAudit *audit, HaleProber *prober)
{
  HaleConnectivity *self;

  g_return_val_if_fail (HALE_IS_STATE (state), NULL);
  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);
  g_return_val_if_fail (audit == NULL || HALE_IS_AUDIT (audit), NULL);
  g_return_val_if_fail (HALE_IS_PROBER (prober), NULL);

  self = g_object_new (HALE_TYPE_CONNECTIVITY, NULL);
  self->state = g_object_ref (state);
  self->metrics = g_object_ref (metrics);
  self->audit = audit != NULL ? g_object_ref (audit) : NULL;
  self->prober = g_object_ref (prober);
  register_metrics (self);
  return self;
}

static void
hale_connectivity_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  HaleConnectivity *self = HALE_CONNECTIVITY (object);

  switch (prop_id)
    {
      case PROP_STATE:
        g_value_set_int (value, self->conn_state);
        break;
      case PROP_CONNECTIVITY:
        g_value_set_string (value, hale_connectivity_state_to_string (self->conn_state));
        break;
      case PROP_DEGRADED:
        g_value_set_boolean (value, self->degraded);
        break;
      case PROP_ENTERED_AT:
        g_value_set_uint64 (value, (guint64)self->entered_at);
        break;
      case PROP_LAST_SUCCESSFUL:
        g_value_set_uint64 (value, (guint64)self->last_successful);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hale_connectivity_dispose (GObject *object)
{
  HaleConnectivity *self = HALE_CONNECTIVITY (object);

  hale_connectivity_stop (self);
  /* Probes still in flight hold their endpoint, not us. */
  for (guint i = 0; i < self->endpoints->len; i++)
    ((Endpoint *)g_ptr_array_index (self->endpoints, i))->removed = TRUE;
  g_ptr_array_set_size (self->endpoints, 0);
  g_clear_object (&self->prober);
  g_clear_object (&self->audit);
  g_clear_object (&self->metrics);
  g_clear_object (&self->state);
  G_OBJECT_CLASS (hale_connectivity_parent_class)->dispose (object);
}

static void
hale_connectivity_finalize (GObject *object)
{
  HaleConnectivity *self = HALE_CONNECTIVITY (object);

  g_ptr_array_unref (self->endpoints);
  G_OBJECT_CLASS (hale_connectivity_parent_class)->finalize (object);
}

static void
hale_connectivity_class_init (HaleConnectivityClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = hale_connectivity_get_property;
  object_class->dispose = hale_connectivity_dispose;
  object_class->finalize = hale_connectivity_finalize;

  props[PROP_STATE]
      = g_param_spec_int ("state", NULL, NULL, HALE_CONNECTIVITY_HEALTHY, HALE_CONNECTIVITY_OFFLINE,
                          HALE_CONNECTIVITY_HEALTHY,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_CONNECTIVITY]
      = g_param_spec_string ("connectivity", NULL, NULL, "healthy",
                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_DEGRADED]
      = g_param_spec_boolean ("degraded", NULL, NULL, FALSE,
                              G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_ENTERED_AT]
      = g_param_spec_uint64 ("entered-at", NULL, NULL, 0, G_MAXUINT64, 0,
                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_LAST_SUCCESSFUL]
      = g_param_spec_uint64 ("last-successful", NULL, NULL, 0, G_MAXUINT64, 0,
                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_ENTERED] = g_signal_new ("entered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);
  signals[SIGNAL_EXITED]
      = g_signal_new ("exited", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_UINT64);
  signals[SIGNAL_RECHECK_REQUESTED]
      = g_signal_new ("recheck-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_ENDPOINT_PROBED]
      = g_signal_new ("endpoint-probed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_POINTER);
}

static void
hale_connectivity_init (HaleConnectivity *self)
{
  self->endpoints = g_ptr_array_new_with_free_func ((GDestroyNotify)endpoint_unref);
  self->conn_state = HALE_CONNECTIVITY_HEALTHY;
}
