/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-units.h: the units operators write in hale.conf. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HALE_UNITS_ERROR (hale_units_error_quark ())
GQuark
hale_units_error_quark (void);

typedef enum
{
  HALE_UNITS_ERROR_INVALID,
  HALE_UNITS_ERROR_OUT_OF_RANGE,
} HaleUnitsError;

/* Durations as operators write them: "30s", "5m", "72h", "1d", "1h30m",
 * "250ms", "2w". A bare number is refused: "30" could be seconds or
 * minutes, and guessing wrong is worse than asking. Result in
 * microseconds (GLib's time unit).
 *
 * Units: us, ms, s, m, h, d (24h), w (7d); components may repeat and
 * may be separated by whitespace ("1d 2h", "5 m"). Fractions ("1.5h") and
 * negative values are refused; a sum beyond G_MAXINT64 microseconds is
 * HALE_UNITS_ERROR_OUT_OF_RANGE. Messages quote @text. */
gboolean
hale_duration_parse (const char *text, gint64 *out_usec, GError **error);

/* "3d4h", "1h30m", "250ms", "0s": largest units first (w, d, h, m, s,
 * ms, us), so 72h is written "3d"; round-trips through
 * hale_duration_parse(). A negative duration gets a leading "-", which
 * hale_duration_parse() refuses: there is none in a valid config. */
char *
hale_duration_format (gint64 usec);

/* A span for people, in whole seconds, of @n_units units at most, the
 * largest first and the rest dropped (not rounded): with 2, "29d23h",
 * "5h12m", "3m20s", "42s"; with 1, "29d", "5h", "3m", "42s". A negative
 * span gets a leading "-" ("-2d3h"). The details' "remaining" uses 2;
 * certificate messages use 1, so they change once a day, not once an
 * hour. */
char *
hale_span_format (gint64 seconds, guint n_units);

/* Sizes: "10M", "512K", "1G", "4096" (bytes); powers of 1024, as
 * journald.conf and logrotate read them. "10MiB" and "4096B" are the
 * same; "10MB" is refused as ambiguous (1000 or 1024?). */
gboolean
hale_size_parse (const char *text, guint64 *out_bytes, GError **error);

/* "host:port", "[v6]:port", ":port" (all addresses).
 *
 * @out_host is set to NULL for ":port" and "*:port": NULL means every
 * address, IPv4 and IPv6, which is what GSocketListener and
 * soup_server_listen_all() bind; an empty string is never returned.
 * "0.0.0.0" and "[::]" are returned as written (the caller may treat them
 * as wildcards of one family). The host is a name or an IP address,
 * without brackets. Port 0 is allowed: it asks the kernel for a free
 * port, which the tests rely on. @out_host and @out_port may be NULL. */
gboolean
hale_listen_parse (const char *text, char **out_host, guint16 *out_port, GError **error);

/* A point in time as the health report, D-Bus and the audit trail write
 * it: RFC 3339 in UTC to the second, "2026-11-21T06:00:00Z" (Go's
 * time.RFC3339, what jq's fromdate reads). "" when out of range. */
char *
hale_rfc3339_format (gint64 unix_seconds);

G_END_DECLS
