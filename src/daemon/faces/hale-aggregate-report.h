/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-aggregate-report.h: the aggregate report in its four shapes.
 *
 * hale's JSON (/health/services), the FT __health JSON (/__health), the
 * __gtg line and an HTML page, all rendered from one snapshot of the
 * aggregate and the state model. Rendering only reads memory: no I/O.
 */
#pragma once

#include "hale-aggregate.h"
#include "hale-report.h"

G_BEGIN_DECLS

/* What a request asked of the cache, for the "cache" member. */
typedef enum
{
  HALE_REFRESH_NONE,      /* answered from the latest results */
  HALE_REFRESH_STARTED,   /* stale results: a run started; the next request sees its results */
  HALE_REFRESH_FRESH,     /* cache=false: answered once the checks ran */
  HALE_REFRESH_TIMED_OUT, /* cache=false: a run did not end in time; the latest results */
} HaleRefresh;

typedef struct
{
  const char *const *categories; /* NULL: everything (services, every check and category) */
  HaleRefresh refresh;
  const char *refresh_message; /* why a round timed out, or NULL */
  const char *path_prefix;     /* HealthPathPrefix= of the FT links; NULL: "" */
} HaleAggregateQuery;

typedef enum
{
  HALE_AGGREGATE_VIEW_SERVICES, /* the HTML of /health/services */
  HALE_AGGREGATE_VIEW_FT,       /* the HTML of /__health */
} HaleAggregateView;

/* The status of the selection and, when not healthy, why (one line,
 * the first problem an operator should look at). */
HaleStatus
hale_aggregate_report_status (HaleAggregate *aggregate, const char *const *categories,
                              char **out_reason);

/* @out_http_status: 503 when unhealthy, else 200. Transfer full. */
GBytes *
hale_aggregate_report_json (HaleAggregate *aggregate, const HaleAggregateQuery *query,
                            guint *out_http_status);
/* FT's __health: always 200 (the "ok" member says it). */
GBytes *
hale_aggregate_report_ft (HaleAggregate *aggregate, const HaleAggregateQuery *query);
/* FT's __pods-health?service-name=@service: the instances of [Check
 * @service] (its URLs) as FT checks, from its last run; NULL when there
 * is no such check. */
GBytes *
hale_aggregate_report_pods (HaleAggregate *aggregate, const char *service);
/* "OK\n" with 200, or the reason with 503. */
GBytes *
hale_aggregate_report_gtg (HaleAggregate *aggregate, const char *const *categories,
                           guint *out_http_status);
GBytes *
hale_aggregate_report_html (HaleAggregate *aggregate, const HaleAggregateQuery *query,
                            HaleAggregateView view, guint *out_http_status);

/* Makes @report's "services" section (GET /health/services without a
 * query, D-Bus GetReport("services")) this aggregate's JSON. */
void
hale_aggregate_report_install (HaleAggregate *aggregate, HaleReport *report);

G_END_DECLS
