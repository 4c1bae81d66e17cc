/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-http.h: the HTTP face: /metrics, /health and friends (libsoup 3).
 *
 * Reads: the report and the metrics registry answer from memory, so no
 * request waits on a probe, a reload or the disk (a route may pause its
 * request for a round of checks: cache=false). FT's changes (POST
 * PREFIX/add-ack, ...) are commands to the aggregate, served only with
 * credentials and audited as their D-Bus twins.
 */
#pragma once

#include "hale-audit.h"
#include "hale-config.h"
#include "hale-metrics.h"
#include "hale-report.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define HALE_TYPE_HTTP (hale_http_get_type ())
G_DECLARE_FINAL_TYPE (HaleHttp, hale_http, HALE, HTTP, GObject)

HaleHttp *
hale_http_new (HaleReport *report, HaleMetrics *metrics);

/* Listens on MetricsListen and HealthListen (one socket when they are
 * the same), each with a large accept backlog. On a reload only
 * listeners whose address changed are re-opened; on failure the old ones
 * stay. */
gboolean
hale_http_configure (HaleHttp *self, HaleConfig *config, GError **error);

/* The port actually bound for MetricsListen/HealthListen (useful with
 * port 0 in tests). */
guint16
hale_http_get_metrics_port (HaleHttp *self);
guint16
hale_http_get_health_port (HaleHttp *self);

/* Another module's page on the health listener(s): @path exactly (no
 * prefix match), GET and HEAD only (hale-http answers other methods),
 * taking precedence over a built-in path of the same name. The handler
 * answers @msg, at once from memory or, when it must wait for
 * something (cache=false), later: it pauses @msg, keeps a reference and
 * unpauses it once answered (the client may have gone meanwhile: see
 * SoupServerMessage::disconnected). @query is NULL without a query
 * string. @destroy frees @user_data when the HaleHttp goes. */
typedef void (*HaleHttpHandler) (SoupServerMessage *msg, const char *path, GHashTable *query,
                                 gpointer user_data);
void
hale_http_add_route (HaleHttp *self, const char *path, HaleHttpHandler handler, gpointer user_data,
                     GDestroyNotify destroy);

/* One of FT's aggregate-healthcheck paths ("/__gtg", "/__health", ...):
 * as hale_http_add_route(), served under HealthPathPrefix= (at
 * PREFIX/__gtg), which a reload may change. Every FT path is registered
 * here, so each takes the prefix. */
void
hale_http_add_ft_route (HaleHttp *self, const char *path, HaleHttpHandler handler,
                        gpointer user_data, GDestroyNotify destroy);

/* An FT path that changes something (POST PREFIX/add-ack, ...), and
 * what its D-Bus twin is called, for the audit event of the decision
 * (the same event as the D-Bus call's: hale_authority_audit()). */
typedef struct
{
  const char *action;         /* the polkit action of the D-Bus twin: HALE_ACTION */
  const char *method;         /* the D-Bus twin: "Acknowledge", HALE_METHOD */
  const char *resource_type;  /* "check", "category" */
  const char *resource_param; /* the query parameter naming it: "service-name" */
  /* Refuses a resource that does not exist before the decision is
   * audited, as the D-Bus twin's argument check does: G_IO_ERROR_NOT_FOUND
   * is a 404, anything else a 400. NULL: nothing to check. */
  gboolean (*check) (const char *resource, gpointer user_data, GError **error);
} HaleHttpChange;

/* Called once the caller is allowed: POST, credentials valid
 * (HealthAuth=same), @resource the non-empty value of the change's
 * query parameter, @form the decoded application/x-www-form-urlencoded
 * body (never NULL), @actor who asked (with ip_address). Answers at
 * once. Refusals (405, 403 without credentials configured, 401, 400
 * without the parameter, the change's check) are hale-http's; the
 * decision (403, 401, allowed) is audited by it. */
typedef void (*HaleHttpChangeHandler) (SoupServerMessage *msg, const char *resource,
                                       GHashTable *form, const HaleAuditActor *actor,
                                       gpointer user_data);
void
hale_http_add_ft_change (HaleHttp *self, const char *path, const HaleHttpChange *change,
                         HaleHttpChangeHandler handler, gpointer user_data, GDestroyNotify destroy);

/* Where the decisions on changes are audited. */
void
hale_http_set_audit (HaleHttp *self, HaleAudit *audit);

/* HealthPathPrefix= as configured: "" or "/a/b". */
const char *
hale_http_get_path_prefix (HaleHttp *self);

/* Answers @msg with @status and the JSON error body of design.md
 * ({"error": @error, "message": @message}), not to be cached: for
 * routes' handlers as for hale-http's own answers. */
void
hale_http_set_json_error (SoupServerMessage *msg, guint status, const char *error,
                          const char *message);

G_END_DECLS
