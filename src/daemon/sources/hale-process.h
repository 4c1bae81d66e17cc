/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-process.h: haled's own process, as Prometheus client libraries
 * export it.
 *
 * A source like the others, except that it is sampled rather than
 * pushed: the registry calls it before a render that is not served from
 * its cache, at most once a second.
 */
#pragma once

#include "hale-metrics.h"

G_BEGIN_DECLS

/* Registers (once per registry) process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_start_time_seconds, process_open_fds and process_max_fds, read
 * from /proc/self, with client_golang's names and help texts. */
void
hale_process_collector_add (HaleMetrics *metrics);

G_END_DECLS
