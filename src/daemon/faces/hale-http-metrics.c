/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-http-metrics.c: what hale's own HTTP server counts of itself. */
#include "config.h"

#include "hale-http-metrics.h"

struct _HaleHttpMetrics
{
  HaleMetricFamily *requests;
  HaleMetricFamily *duration;
  HaleMetricFamily *auth_attempts;
  GPtrArray *handlers; /* char *: the handler labels, by index */
};

#define FIELD(member) G_STRUCT_OFFSET (HaleHttpMetrics, member)

/* Prometheus' client default buckets: a health answer from memory is
 * in the first, a cache=false round or a bcrypt in the later ones. */
static const double duration_buckets[]
    = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

static const HaleMetricDesc families[] = {
  { FIELD (requests), HALE_METRIC_COUNTER, "http_requests_total",
    "HTTP requests hale's own server answered, by handler (the route; other for none) and "
    "status code.",
    NULL, (const char *const[]){ "handler", "code", NULL }, NULL, 0, HALE_METRIC_FLAGS_NONE },
  { FIELD (duration), HALE_METRIC_HISTOGRAM, "http_request_duration_seconds",
    "Time from a request read to its answer, by handler.", "seconds",
    (const char *const[]){ "handler", NULL }, duration_buckets, G_N_ELEMENTS (duration_buckets),
    HALE_METRIC_FLAGS_NONE },
  { FIELD (auth_attempts), HALE_METRIC_COUNTER, "http_auth_attempts_total",
    "Credential checks of requests to an endpoint that takes credentials (metrics, health), by "
    "result (success, failure).",
    NULL, (const char *const[]){ "endpoint", "result", NULL }, NULL, 0, HALE_METRIC_FLAGS_NONE },
};

/* The codes haled answers, as label values that need no formatting. */
static const struct
{
  guint code;
  const char *text;
} known_codes[] = {
  { 200, "200" }, { 301, "301" }, { 304, "304" }, { 400, "400" }, { 401, "401" },
  { 403, "403" }, { 404, "404" }, { 405, "405" }, { 411, "411" }, { 413, "413" },
  { 415, "415" }, { 500, "500" }, { 503, "503" }, { 505, "505" },
};

HaleHttpMetrics *
hale_http_metrics_new (HaleMetrics *metrics)
{
  HaleHttpMetrics *self = g_new0 (HaleHttpMetrics, 1);

  hale_metrics_add_table (metrics, families, G_N_ELEMENTS (families), self);
  self->handlers = g_ptr_array_new_with_free_func (g_free);
  return self;
}

void
hale_http_metrics_free (HaleHttpMetrics *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->handlers);
  g_free (self);
}

guint
hale_http_metrics_handler (HaleHttpMetrics *self, const char *name)
{
  const char *labels[] = { name, NULL };

  for (guint i = 0; i < self->handlers->len; i++)
    if (g_str_equal (g_ptr_array_index (self->handlers, i), name))
      return i;
  g_ptr_array_add (self->handlers, g_strdup (name));
  hale_metric_touch (self->duration, labels);
  return self->handlers->len - 1;
}

void
hale_http_metrics_count (HaleHttpMetrics *self, guint handler, guint status, gint64 duration_usec)
{
  char buf[12];
  const char *code = NULL;
  const char *labels[] = { NULL, NULL, NULL };

  g_return_if_fail (handler < self->handlers->len);

  for (gsize i = 0; i < G_N_ELEMENTS (known_codes) && code == NULL; i++)
    if (known_codes[i].code == status)
      code = known_codes[i].text;
  if (code == NULL)
    {
      g_snprintf (buf, sizeof buf, "%u", status);
      code = buf;
    }
  labels[0] = g_ptr_array_index (self->handlers, handler);
  labels[1] = code;
  hale_metric_inc (self->requests, labels, 1);
  labels[1] = NULL;
  hale_metric_observe (self->duration, labels, (double)MAX (duration_usec, 0) / G_USEC_PER_SEC);
}

void
hale_http_metrics_touch_auth (HaleHttpMetrics *self, const char *endpoint)
{
  const char *success[] = { endpoint, "success", NULL };
  const char *failure[] = { endpoint, "failure", NULL };

  hale_metric_touch (self->auth_attempts, success);
  hale_metric_touch (self->auth_attempts, failure);
}

void
hale_http_metrics_count_auth (HaleHttpMetrics *self, const char *endpoint, gboolean success)
{
  const char *labels[] = { endpoint, success ? "success" : "failure", NULL };

  hale_metric_inc (self->auth_attempts, labels, 1);
}
