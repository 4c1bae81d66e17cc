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

HaleMetricFamily *
hale_metric_family_state_write_failures (HaleMetrics *metrics)
{
  static const char *const file[] = { "file", NULL };
  static const char *const files[][2] = { { "certificate_serials", NULL }, { "backup", NULL } };
  HaleMetricFamily *family = hale_metrics_add (
      metrics, HALE_METRIC_COUNTER, "state_write_failures_total",
      "Writes under the state directory that failed (disk full, read-only), by file: "
      "certificate_serials or backup. The previous contents stay whole.",
      NULL, file, NULL, 0, HALE_METRIC_FLAGS_NONE);

  /* Both series from the start: an alert on increase() needs them. */
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    hale_metric_touch (family, files[i]);
  return family;
}

void
hale_metric_family_count_state_failure (HaleMetricFamily *family, const char *file)
{
  const char *labels[] = { file, NULL };

  hale_metric_inc (family, labels, 1);
}
