/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-http.h: the HTTP face: /metrics, /health and friends (libsoup 3).
 *
 * Only reads: the report and the metrics registry answer from memory, so
 * no request waits on a probe, a reload or the disk.
 */
#pragma once

#include "hale-config.h"
#include "hale-metrics.h"
#include "hale-report.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define HALE_TYPE_HTTP (hale_http_get_type ())
G_DECLARE_FINAL_TYPE (HaleHttp, hale_http, HALE, HTTP, GObject)

HaleHttp *hale_http_new (HaleReport *report, HaleMetrics *metrics);

/* Listens on MetricsListen and HealthListen (one socket when they are
 * the same), each with a large accept backlog. On a reload only
 * listeners whose address changed are re-opened; on failure the old ones
 * stay. */
gboolean hale_http_configure (HaleHttp *self, HaleConfig *config, GError **error);

/* The port actually bound for MetricsListen/HealthListen (useful with
 * port 0 in tests). */
guint16 hale_http_get_metrics_port (HaleHttp *self);
guint16 hale_http_get_health_port (HaleHttp *self);

/* Another module's page on the health listener(s): @path exactly (no
 * prefix match), GET and HEAD only (hale-http answers other methods),
 * taking precedence over a built-in path of the same name. The handler
 * answers @msg at once, from memory; @query is NULL without a query
 * string. @destroy frees @user_data when the HaleHttp goes. */
typedef void (*HaleHttpHandler) (SoupServerMessage *msg, const char *path, GHashTable *query,
                                 gpointer user_data);
void hale_http_add_route (HaleHttp *self, const char *path, HaleHttpHandler handler,
                          gpointer user_data, GDestroyNotify destroy);

/* Answers @msg with @status and the JSON error body of design.md
 * ({"error": @error, "message": @message}), not to be cached: for
 * routes' handlers as for hale-http's own answers. */
void
hale_http_set_json_error (SoupServerMessage *msg, guint status, const char *error,
                          const char *message);

G_END_DECLS
