/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-exposition.h: /metrics as HTTP serves it.
 *
 * The registry (model/hale-metrics.h) renders its series in a format;
 * which format a scraper asked for (Accept), whether it takes gzip
 * (Accept-Encoding), the Content-Type and the compressed bytes are HTTP's
 * business and live here. The gzip form is made once per new text and
 * then served as the same bytes, like the text itself.
 */
#pragma once

#include "hale-metrics.h"

G_BEGIN_DECLS

#define HALE_TYPE_EXPOSITION (hale_exposition_get_type ())
G_DECLARE_FINAL_TYPE (HaleExposition, hale_exposition, HALE, EXPOSITION, GObject)

HaleExposition *
hale_exposition_new (HaleMetrics *metrics);

/* The format an Accept header asks for (NULL: text). */
HaleMetricsFormat
hale_exposition_negotiate (const char *accept);
/* Whether an Accept-Encoding header takes gzip ("gzip", "x-gzip" or "*"
 * with a quality above zero, and gzip not refused). */
gboolean
hale_exposition_accepts_gzip (const char *accept_encoding);
const char *
hale_exposition_content_type (HaleMetricsFormat format);

/* The body to send: the registry's text, or its gzip form. Transfer full;
 * NULL only if compressing failed, which memory-to-memory it cannot. */
GBytes *
hale_exposition_render (HaleExposition *self, HaleMetricsFormat format, gboolean gzip);

G_END_DECLS
