/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-connectivity.h: the [Endpoint] probes, the connectivity state
 * and degraded mode.
 *
 * Every CheckInterval each endpoint is probed (all at once, each bounded
 * by Timeout, never two probes of one endpoint at a time). From the
 * latest result of every endpoint follows the state:
 *
 *   healthy   every endpoint answers, or only non-critical ones fail and
 *             the last moment all answered is at most DegradedThreshold
 *             ago;
 *   offline   a critical endpoint fails;
 *   degraded  only non-critical endpoints fail, and the last moment all
 *             answered is older than DegradedThreshold.
 *
 * Degraded mode is entered once not every endpoint has answered for
 * longer than DegradedThreshold, and left as soon as all answer again.
 * Results go to the state model ("endpoint:NAME", "connectivity") and
 * the metrics registry; the D-Bus face binds to the properties below.
 */
#pragma once

#include "hale-audit.h"
#include "hale-config.h"
#include "hale-metrics.h"
#include "hale-probe.h"
#include "hale-state.h"

G_BEGIN_DECLS

typedef enum
{
  HALE_CONNECTIVITY_HEALTHY,  /* <ns>_connectivity_status 0 */
  HALE_CONNECTIVITY_DEGRADED, /* 1 */
  HALE_CONNECTIVITY_OFFLINE,  /* 2 */
} HaleConnectivityState;

const char *
hale_connectivity_state_to_string (HaleConnectivityState state);

#define HALE_TYPE_CONNECTIVITY (hale_connectivity_get_type ())
G_DECLARE_FINAL_TYPE (HaleConnectivity, hale_connectivity, HALE, CONNECTIVITY, GObject)

/* @audit may be NULL (no audit events, for tests of other faces). */
HaleConnectivity *
hale_connectivity_new (HaleState *state, HaleMetrics *metrics, HaleAudit *audit,
                       HaleProber *prober);

/* Adds, changes and removes endpoints to match @config and (re)starts
 * the rounds with its CheckInterval; the first round starts at once.
 * Endpoints that stay keep their history (qos, last success). */
void
hale_connectivity_configure (HaleConnectivity *self, HaleConfig *config);

/* Probes every endpoint not already being probed, now. */
void
hale_connectivity_check_now (HaleConnectivity *self);

/* Stops the rounds and cancels probes in flight (at shutdown). */
void
hale_connectivity_stop (HaleConnectivity *self);

HaleConnectivityState
hale_connectivity_get_state (HaleConnectivity *self);
gboolean
hale_connectivity_get_degraded (HaleConnectivity *self);
/* usec since the epoch; 0 when not in degraded mode / never. */
guint64
hale_connectivity_get_entered_at (HaleConnectivity *self);
guint64
hale_connectivity_get_last_successful (HaleConnectivity *self);

/* One entry per endpoint, in configuration order: NAME to a{sv} with
 * "url" (s), "critical" (b), "probed" (b: has a result), "success" (b),
 * "http_status" (u), "duration_seconds" (d), "dns_seconds",
 * "connect_seconds", "tls_seconds", "first_byte_seconds" (d, where
 * known), "reason" (s, on failure), "checked_at" (x, usec since the
 * epoch), "last_success_at" (x, usec, 0: never), "last_failure_reason"
 * (s), "last_failure_at" (x), "qos" (d), "probes" (t), "skipped" (t).
 * Floating a{sa{sv}}. */
GVariant *
hale_connectivity_get_endpoints (HaleConnectivity *self);

/* Properties (read-only, notify on change):
 *   "state"           (HaleConnectivityState as int)
 *   "connectivity"    (string: "healthy", "degraded", "offline")
 *   "degraded"        (boolean: degraded mode)
 *   "entered-at"      (uint64)
 *   "last-successful" (uint64: usec since the epoch all endpoints last answered)
 *
 * Signals:
 *   "entered"  (guint64 entered_at): degraded mode entered.
 *   "exited"   (guint64 entered_at, guint64 duration_usec): left.
 *   "recheck-requested" (): connectivity is back after degraded mode;
 *              the daemon re-reads the certificates (and the D-Bus face
 *              tells the rotation agent). The endpoints are re-probed by
 *              this object itself.
 *   "endpoint-probed" (const char *name, const HaleProbeResult *result)
 */

G_END_DECLS
