/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-metric-families.h: the families more than one source writes.
 *
 * A family belongs to the table of the one module that exports it
 * (hale_metrics_add_table()). The few that several sources feed (a
 * renewal is seen by the certificate watcher and reported by the rotation
 * agent) are declared here once, so that their help text and labels
 * cannot differ between the two.
 */
#pragma once

#include "hale-metrics.h"

G_BEGIN_DECLS

/* certificate_renewal_attempts_total{result}: result "success" (a new
 * serial) or "failure". */
HaleMetricFamily *
hale_metric_family_renewal_attempts (HaleMetrics *metrics);

/* state_write_failures_total{file}: writes under the state directory
 * that failed (a full disk, a read-only one): file "certificate_serials"
 * (certificates.ini) or "backup" (the kept certificates and keys, and
 * their "good" record). What was there before stays whole. */
HaleMetricFamily *
hale_metric_family_state_write_failures (HaleMetrics *metrics);

/* Counts one failure of @file; for the main thread. */
void
hale_metric_family_count_state_failure (HaleMetricFamily *family, const char *file);

G_END_DECLS
