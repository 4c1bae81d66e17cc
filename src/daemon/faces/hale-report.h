/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-report.h: the JSON health report, shared by HTTP and D-Bus.
 *
 * Built from the state model's snapshot and cached per state generation
 * and second, so /health answers from memory however often it is asked
 * and the D-Bus GetReport() returns the very same bytes.
 */
#pragma once

#include "hale-state.h"

G_BEGIN_DECLS

typedef enum
{
  HALE_REPORT_ALL,          /* /health */
  HALE_REPORT_CERTIFICATE,  /* /health/certificate */
  HALE_REPORT_CONNECTIVITY, /* /health/connectivity */
  HALE_REPORT_SERVICES,     /* /health/services */
} HaleReportSection;

#define HALE_TYPE_REPORT (hale_report_get_type ())
G_DECLARE_FINAL_TYPE (HaleReport, hale_report, HALE, REPORT, GObject)

HaleReport *hale_report_new (HaleState *state);

/* UTF-8 JSON. @out_http_status: 503 when the section is unhealthy
 * (critical), 200 otherwise. Transfer full. */
GBytes *hale_report_get_json (HaleReport *self, HaleReportSection section,
                              guint *out_http_status);

/* Another module renders @section (hale-aggregate: /health/services
 * with its checks and categories), so GetReport() and GET answer the
 * same bytes. The renderer answers from memory; it is called per
 * request, uncached. @destroy frees @user_data with the report. */
typedef GBytes *(*HaleReportRenderer) (gpointer user_data, guint *out_http_status);
void hale_report_set_renderer (HaleReport *self, HaleReportSection section,
                               HaleReportRenderer renderer, gpointer user_data,
                               GDestroyNotify destroy);

G_END_DECLS
