/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-metric-families.c: the families more than one source writes. */
#include "config.h"

#include "hale-metric-families.h"

HaleMetricFamily *
hale_metric_family_renewal_attempts (HaleMetrics *metrics)
{
  static const char *const result[] = { "result", NULL };

  return hale_metrics_add (metrics, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total",
                           "Certificate renewals by result (success: a new serial was seen)", NULL,
                           result, NULL, 0, HALE_METRIC_FLAGS_NONE);
}
