/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-exposition.c: content negotiation and gzip for /metrics. */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "hale-exposition.h"

struct _HaleExposition
{
  GObject parent_instance;

  HaleMetrics *metrics;
  /* Per format: the registry's text the gzip form was made from (held,
   * so its address cannot be reused by another text) and that form. The
   * registry hands out the same GBytes until something changed. */
  struct
  {
    GBytes *plain;
    GBytes *gzip;
  } cache[2];
};

G_DEFINE_FINAL_TYPE (HaleExposition, hale_exposition, G_TYPE_OBJECT)

typedef enum
{
  RANGE_OTHER,
  RANGE_OPENMETRICS,
  RANGE_TEXT,     /* text/plain */
  RANGE_WILDCARD, /* text/ *, * / * */
} RangeKind;

/* Parses one media range of an Accept header: its kind and q-value (a
 * malformed q makes the range unacceptable rather than preferred). */
static RangeKind
parse_media_range (const char *range, double *q)
{
  g_auto (GStrv) parts = g_strsplit (range, ";", -1);
  g_autofree char *type = NULL;
  const char *version = NULL;
  RangeKind kind;

  *q = 1.0;
  if (parts[0] == NULL)
    return RANGE_OTHER;
  type = g_ascii_strdown (g_strstrip (parts[0]), -1);
  for (guint i = 1; parts[i] != NULL; i++)
    {
      char *param = g_strstrip (parts[i]);
      char *eq = strchr (param, '=');
      char *name, *val, *end = NULL;

      if (eq == NULL)
        continue;
      *eq = '\0';
      name = g_strstrip (param);
      val = g_strstrip (eq + 1);
      if (g_ascii_strcasecmp (name, "q") == 0)
        {
          *q = g_ascii_strtod (val, &end);
          if (end == val || *end != '\0' || !(*q >= 0.0 && *q <= 1.0))
            *q = 0.0;
        }
      else if (g_ascii_strcasecmp (name, "version") == 0)
        version = val;
    }

  if (g_strcmp0 (type, "application/openmetrics-text") == 0)
    {
      /* 0.0.1 is what Prometheus before 2.5x asked for, and the same
       * text; a version we don't speak is not us. */
      kind = version == NULL || g_strcmp0 (version, "1.0.0") == 0
                     || g_strcmp0 (version, "0.0.1") == 0
                 ? RANGE_OPENMETRICS
                 : RANGE_OTHER;
    }
  else if (g_strcmp0 (type, "text/plain") == 0)
    kind = RANGE_TEXT;
  else if (g_strcmp0 (type, "text/*") == 0 || g_strcmp0 (type, "*/*") == 0)
    kind = RANGE_WILDCARD;
  else
    kind = RANGE_OTHER;
  return kind;
}

HaleMetricsFormat
hale_exposition_negotiate (const char *accept)
{
  g_auto (GStrv) ranges = NULL;
  double q_openmetrics = 0, q_text = 0, q_wildcard = 0;
  gint pos_openmetrics = -1, pos_text = -1;

  if (accept == NULL)
    return HALE_METRICS_FORMAT_TEXT;

  ranges = g_strsplit (accept, ",", -1);
  for (gint i = 0; ranges[i] != NULL; i++)
    {
      double q;

      switch (parse_media_range (ranges[i], &q))
        {
          case RANGE_OPENMETRICS:
            if (q > q_openmetrics)
              q_openmetrics = q, pos_openmetrics = i;
            break;
          case RANGE_TEXT:
            if (q > q_text)
              q_text = q, pos_text = i;
            break;
          case RANGE_WILDCARD:
            q_wildcard = MAX (q_wildcard, q);
            break;
          case RANGE_OTHER:
          default:
            break;
        }
    }

  /* Highest q wins; an explicit OpenMetrics beats a wildcard of the same
   * q, and between OpenMetrics and text/plain of the same q the one
   * listed first wins. */
  if (q_openmetrics > 0 && q_openmetrics >= q_wildcard
      && (q_openmetrics > q_text || (q_openmetrics == q_text && pos_openmetrics < pos_text)))
    return HALE_METRICS_FORMAT_OPENMETRICS;
  return HALE_METRICS_FORMAT_TEXT;
}

const char *
hale_exposition_content_type (HaleMetricsFormat format)
{
  if (format == HALE_METRICS_FORMAT_OPENMETRICS)
    return "application/openmetrics-text; version=1.0.0; charset=utf-8";
  return "text/plain; version=0.0.4; charset=utf-8";
}

gboolean
hale_exposition_accepts_gzip (const char *accept_encoding)
{
  GSList *unacceptable = NULL;
  GSList *acceptable;
  gboolean gzip = FALSE;
  gboolean refused = FALSE;

  if (accept_encoding == NULL)
    return FALSE;

  acceptable = soup_header_parse_quality_list (accept_encoding, &unacceptable);
  for (GSList *l = unacceptable; l != NULL; l = l->next)
    if (g_ascii_strcasecmp (l->data, "gzip") == 0)
      refused = TRUE;
  for (GSList *l = acceptable; l != NULL; l = l->next)
    if (g_ascii_strcasecmp (l->data, "gzip") == 0 || g_ascii_strcasecmp (l->data, "x-gzip") == 0
        || g_str_equal (l->data, "*"))
      gzip = TRUE;
  soup_header_free_list (acceptable);
  soup_header_free_list (unacceptable);
  return gzip && !refused;
}

static GBytes *
compress_gzip (GBytes *plain)
{
  g_autoptr (GZlibCompressor) compressor
      = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);
  g_autoptr (GByteArray) out = g_byte_array_sized_new (g_bytes_get_size (plain) / 4 + 64);
  const guint8 *in = g_bytes_get_data (plain, NULL);
  gsize in_left = g_bytes_get_size (plain);
  guint8 buf[16384];

  for (;;)
    {
      gsize read = 0, written = 0;
      g_autoptr (GError) error = NULL;
      GConverterResult res
          = g_converter_convert (G_CONVERTER (compressor), in, in_left, buf, sizeof buf,
                                 G_CONVERTER_INPUT_AT_END, &read, &written, &error);

      if (res == G_CONVERTER_ERROR)
        {
          /* Only a bug in zlib or here gets us here: memory to memory. */
          g_critical ("gzip of the metrics failed: %s", error->message);
          return NULL;
        }
      in += read;
      in_left -= read;
      g_byte_array_append (out, buf, (guint)written);
      if (res == G_CONVERTER_FINISHED)
        break;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

GBytes *
hale_exposition_render (HaleExposition *self, HaleMetricsFormat format, gboolean gzip)
{
  g_autoptr (GBytes) plain = NULL;
  GBytes *compressed;

  g_return_val_if_fail (HALE_IS_EXPOSITION (self), NULL);
  g_return_val_if_fail (format < G_N_ELEMENTS (self->cache), NULL);

  plain = hale_metrics_render (self->metrics, format);
  if (!gzip)
    return g_steal_pointer (&plain);
  if (self->cache[format].plain == plain)
    return g_bytes_ref (self->cache[format].gzip);

  compressed = compress_gzip (plain);
  if (compressed == NULL)
    return NULL;
  g_clear_pointer (&self->cache[format].plain, g_bytes_unref);
  g_clear_pointer (&self->cache[format].gzip, g_bytes_unref);
  self->cache[format].plain = g_steal_pointer (&plain);
  self->cache[format].gzip = g_bytes_ref (compressed);
  return compressed;
}

static void
hale_exposition_finalize (GObject *object)
{
  HaleExposition *self = HALE_EXPOSITION (object);

  for (guint i = 0; i < G_N_ELEMENTS (self->cache); i++)
    {
      g_clear_pointer (&self->cache[i].plain, g_bytes_unref);
      g_clear_pointer (&self->cache[i].gzip, g_bytes_unref);
    }
  g_clear_object (&self->metrics);
  G_OBJECT_CLASS (hale_exposition_parent_class)->finalize (object);
}

static void
hale_exposition_class_init (HaleExpositionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hale_exposition_finalize;
}

static void
hale_exposition_init (HaleExposition *self)
{
}

HaleExposition *
hale_exposition_new (HaleMetrics *metrics)
{
  HaleExposition *self;

  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);
  self = g_object_new (HALE_TYPE_EXPOSITION, NULL);
  self->metrics = g_object_ref (metrics);
  return self;
}
