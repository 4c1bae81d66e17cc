/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-aggregate-http.h: the aggregate's pages on the health listener.
 *
 *   /health/services         hale's JSON (or HTML when the client prefers it)
 *   PREFIX/__health          FT's __health JSON (or HTML)
 *   PREFIX/__gtg             "OK" or 503 with the reason, text/plain
 *   POST PREFIX/add-ack, rem-ack, enable-category, disable-category
 *                            FT's changes, as commands to the aggregate
 *
 * PREFIX is HealthPathPrefix=: every FT path is registered with
 * hale_http_add_ft_route() or hale_http_add_ft_change(). The pages take
 * ?categories=a,b (only those categories) and ?cache=false, which waits
 * for a fresh round of the selected checks (hale_checks_refresh_async())
 * without blocking the loop: the message is paused until the round ends.
 */
#pragma once

#include "hale-aggregate.h"
#include "hale-http.h"

G_BEGIN_DECLS

void
hale_aggregate_http_register (HaleAggregate *aggregate, HaleHttp *http);

G_END_DECLS
