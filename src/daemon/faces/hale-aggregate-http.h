/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-aggregate-http.h: the aggregate's pages on the health listener.
 *
 *   /health/services  hale's JSON (or HTML when the client prefers it)
 *   /__health         FT's __health JSON (or HTML)
 *   /__gtg            "OK" or 503 with the reason, text/plain
 *
 * Each takes ?categories=a,b (only those categories) and ?cache=false
 * (start a fresh run of the selected checks, rate-limited by
 * hale-checks). A request never waits for a run: it is answered at once
 * from the latest results and says, in "cache", whether it started a
 * run (whose results the next request sees) or was refused.
 */
#pragma once

#include "hale-aggregate.h"
#include "hale-http.h"

G_BEGIN_DECLS

void
hale_aggregate_http_register (HaleAggregate *aggregate, HaleHttp *http);

G_END_DECLS
