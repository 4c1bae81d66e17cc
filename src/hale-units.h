/* hale-units.h: the units operators write in hale.conf. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HALE_UNITS_ERROR (hale_units_error_quark ())
GQuark hale_units_error_quark (void);

typedef enum
{
  HALE_UNITS_ERROR_INVALID,
  HALE_UNITS_ERROR_OUT_OF_RANGE,
} HaleUnitsError;

/* Durations as operators write them: "30s", "5m", "72h", "1d", "1h30m",
 * "250ms", "2w". A bare number is refused: "30" could be seconds or
 * minutes, and guessing wrong is worse than asking. Result in
 * microseconds (GLib's time unit). */
gboolean hale_duration_parse (const char *text, gint64 *out_usec, GError **error);

/* "3d4h", "72h", "250ms", "0s": the shortest form that round-trips
 * through hale_duration_parse(). */
char *hale_duration_format (gint64 usec);

/* Sizes: "10M", "512K", "1G", "4096" (bytes); powers of 1024, as
 * journald.conf and logrotate read them. */
gboolean hale_size_parse (const char *text, guint64 *out_bytes, GError **error);

/* "host:port", "[v6]:port", ":port" (all addresses). */
gboolean hale_listen_parse (const char *text, char **out_host, guint16 *out_port, GError **error);

G_END_DECLS
