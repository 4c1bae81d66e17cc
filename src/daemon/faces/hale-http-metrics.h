/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-http-metrics.h: what hale's own HTTP server counts of itself.
 *
 *   http_requests_total{handler,code}          every answer, by route and status
 *   http_request_duration_seconds{handler}     from the request read to its answer
 *   http_auth_attempts_total{endpoint,result}  credential checks, success|failure
 *
 * A handler is named once, when its route is made; its series are
 * resolved then. Counting a request builds no label and allocates
 * nothing once a (handler, code) pair was seen: the code's label is a
 * static string for the codes haled answers, and the series exists. */
#pragma once

#include "hale-metrics.h"

G_BEGIN_DECLS

typedef struct _HaleHttpMetrics HaleHttpMetrics;

/* The handler label of requests no route took (404, and the methods
 * refused before routing). */
#define HALE_HTTP_HANDLER_OTHER "other"

HaleHttpMetrics *
hale_http_metrics_new (HaleMetrics *metrics);
void
hale_http_metrics_free (HaleHttpMetrics *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleHttpMetrics, hale_http_metrics_free)

/* The index of handler @name ("/__gtg"), made on first use: its
 * duration series exists from then on, at 0. */
guint
hale_http_metrics_handler (HaleHttpMetrics *self, const char *name);

/* One answer of @handler with @status, @duration_usec after the request
 * was read. */
void
hale_http_metrics_count (HaleHttpMetrics *self, guint handler, guint status, gint64 duration_usec);

/* Makes the attempt series of @endpoint ("metrics", "health") exist. */
void
hale_http_metrics_touch_auth (HaleHttpMetrics *self, const char *endpoint);
void
hale_http_metrics_count_auth (HaleHttpMetrics *self, const char *endpoint, gboolean success);

G_END_DECLS
