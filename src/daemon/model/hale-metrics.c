/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-metrics.c: a small Prometheus registry and its exposition.
 *
 * Scrape cost is rendering, not HTTP, so everything here is arranged
 * around rendering rarely and cheaply:
 *
 * - every change that can alter the output bumps a generation counter;
 *   a set() that writes the value a series already had does not, so
 *   periodic rechecks that find nothing new keep the cache warm;
 * - the rendered bytes are kept per format together with the
 *   generation (and, when the output depends on the clock, the wall-clock
 *   second) they were made at, and handed out as the same GBytes;
 * - the label part of each sample line is escaped once, when the series
 *   is created; the le="..." strings of histograms once per family;
 * - series live in a hash table keyed by their joined label values, with
 *   a sorted view rebuilt only when series come or go.
 */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <gio/gio.h>

#include "hale-metrics.h"

/* Separates label values in a series' key: 0xff never occurs in UTF-8,
 * and label values are made valid UTF-8 before they get here. */
#define KEY_SEPARATOR '\xff'

typedef enum
{
  SERIES_VALUE,
  SERIES_UNTIL, /* value holds a timestamp; rendered as (timestamp - now) */
  SERIES_SINCE, /* value holds a timestamp; rendered as (now - timestamp) */
} SeriesKind;

typedef struct
{
  char *key;     /* joined label values; also the hash table's key */
  char **values; /* label values, for sorting */
  char *labels;  /* a="x",b="y" escaped, without braces */
  gsize labels_len;
  SeriesKind kind;
  double value;    /* counters and gauges */
  guint64 *counts; /* histograms: cumulative, one per bucket */
  guint64 count;   /* histograms: all observations (the +Inf bucket) */
  double sum;      /* histograms */
} Series;

struct _HaleMetricFamily
{
  HaleMetrics *owner; /* unowned: the registry owns its families */
  HaleMetricType type;
  HaleMetricFlags flags;
  char *name; /* without namespace */
  char *unit;
  char **label_names;
  guint n_labels;
  double *buckets;
  gsize n_buckets;
  char **le_text;         /* bucket bounds as 0.0.4 le values ("+Inf" last) */
  char **le_openmetrics;  /* canonical OpenMetrics le values ("1.0") */
  char *help_text;        /* escaped for 0.0.4: \\ and \n */
  char *help_openmetrics; /* escaped for OpenMetrics: \\, \n and \" */

  char *full_name;        /* with namespace, rebuilt when it changes */
  char *openmetrics_name; /* family name in OpenMetrics: counters without _total */

  GHashTable *series; /* key -> Series */
  GPtrArray *sorted;  /* Series, sorted by label values; NULL when stale */
  GString *keybuf;    /* reused for lookups, so set() does not allocate */
};

typedef struct
{
  HaleMetricsCollector func;
  gpointer user_data;
} Collector;

typedef struct
{
  GBytes *bytes;
  guint64 generation;
  gint64 second;
} CacheEntry;

struct _HaleMetrics
{
  GObject parent_instance;

  char *ns;
  GHashTable *families;       /* name without namespace -> HaleMetricFamily */
  GPtrArray *sorted_families; /* by full name; NULL when stale */
  GArray *collectors;         /* Collector */
  gint64 collected_second;

  guint64 generation;
  guint n_clocked;     /* series whose value depends on the clock */
  CacheEntry cache[2]; /* [format] */
};

G_DEFINE_FINAL_TYPE (HaleMetrics, hale_metrics, G_TYPE_OBJECT)

static void
changed (HaleMetrics *self)
{
  self->generation++;
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Names ------------------------------------------------------------------ */

gboolean
hale_metrics_name_is_valid (const char *name)
{
  if (name == NULL || *name == '\0')
    return FALSE;
  if (!(g_ascii_isalpha (*name) || *name == '_' || *name == ':'))
    return FALSE;
  for (const char *p = name + 1; *p; p++)
    if (!(g_ascii_isalnum (*p) || *p == '_' || *p == ':'))
      return FALSE;
  return TRUE;
}

static gboolean
label_name_is_valid (const char *name)
{
  if (name == NULL || *name == '\0' || g_str_has_prefix (name, "__"))
    return FALSE;
  if (!(g_ascii_isalpha (*name) || *name == '_'))
    return FALSE;
  for (const char *p = name + 1; *p; p++)
    if (!(g_ascii_isalnum (*p) || *p == '_'))
      return FALSE;
  return TRUE;
}

static void
family_update_names (HaleMetricFamily *family)
{
  const char *ns = family->owner->ns;

  g_free (family->full_name);
  g_free (family->openmetrics_name);
  if ((family->flags & HALE_METRIC_NO_NAMESPACE) || ns == NULL)
    family->full_name = g_strdup (family->name);
  else
    family->full_name = g_strconcat (ns, "_", family->name, NULL);

  if (family->type == HALE_METRIC_COUNTER)
    family->openmetrics_name
        = g_strndup (family->full_name, strlen (family->full_name) - strlen ("_total"));
  else
    family->openmetrics_name = g_strdup (family->full_name);
}

/* Numbers ---------------------------------------------------------------- */

static void
append_int (GString *out, gint64 v)
{
  char buf[24];
  char *p = buf + sizeof buf;
  guint64 u = v < 0 ? (guint64)(-(v + 1)) + 1 : (guint64)v;

  do
    {
      *--p = (char)('0' + u % 10);
      u /= 10;
    }
  while (u != 0);
  if (v < 0)
    *--p = '-';
  g_string_append_len (out, p, buf + sizeof buf - p);
}

/* Shortest of %.15g, %.16g, %.17g that reads back as @v. */
static void
format_shortest_g (char *buf, gsize len, double v)
{
  static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, len, formats[i], v);
      if (g_ascii_strtod (buf, NULL) == v)
        return;
    }
}

/* Sample values: integers without exponent or decimal point while they
 * are exact in a double, anything else as the shortest text that reads
 * back to the same double; Inf and NaN spelled as Prometheus parses them. */
static void
append_value (GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (v))
    g_string_append_len (out, "NaN", 3);
  else if (isinf (v))
    g_string_append_len (out, v > 0 ? "+Inf" : "-Inf", 4);
  else if (v == floor (v) && fabs (v) <= 9007199254740992.0) /* 2^53 */
    append_int (out, (gint64)v);
  else
    {
      format_shortest_g (buf, sizeof buf, v);
      g_string_append (out, buf);
    }
}

/* A bucket bound the way Go's strconv.FormatFloat(v, 'g', -1, 64)
 * writes it (what client_golang puts in le=""): the shortest digits that
 * read back, in exponent form when the exponent is < -4 or >= 6. With
 * @openmetrics, ".0" is appended to numbers without '.' or exponent, the
 * canonical form the OpenMetrics spec asks for in le values. */
static char *
format_le (double v, gboolean openmetrics)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char fmt[16];
  int exponent = 0;
  guint digits;
  const char *e;
  GString *s;

  if (isinf (v))
    return g_strdup (v > 0 ? "+Inf" : "-Inf");
  if (isnan (v))
    return g_strdup ("NaN");

  for (digits = 1; digits <= 17; digits++)
    {
      g_snprintf (fmt, sizeof fmt, "%%.%ue", digits - 1);
      g_ascii_formatd (buf, sizeof buf, fmt, v);
      if (g_ascii_strtod (buf, NULL) == v)
        break;
    }
  e = strchr (buf, 'e');
  if (e != NULL)
    exponent = atoi (e + 1);

  if (exponent < -4 || exponent >= 6)
    {
      /* C's %e writes "1e+06" and "1.5e-05" as Go does. */
      s = g_string_new (buf);
    }
  else
    {
      int decimals = MAX (0, (int)digits - 1 - exponent);

      g_snprintf (fmt, sizeof fmt, "%%.%df", decimals);
      g_ascii_formatd (buf, sizeof buf, fmt, v);
      s = g_string_new (buf);
      if (openmetrics && strchr (buf, '.') == NULL)
        g_string_append (s, ".0");
    }
  return g_string_free (s, FALSE);
}

/* Escaping --------------------------------------------------------------- */

/* Backslash and newline always; the double quote in label values (both
 * formats) and in OpenMetrics' HELP, whose grammar forbids a bare one,
 * but not in 0.0.4's HELP, whose parser rejects \" there. */
static void
append_escaped (GString *out, const char *s, gboolean quote)
{
  const char *reject = quote ? "\\\n\"" : "\\\n";

  for (;;)
    {
      gsize n = strcspn (s, reject);

      g_string_append_len (out, s, n);
      s += n;
      if (*s == '\0')
        return;
      g_string_append_c (out, '\\');
      g_string_append_c (out, *s == '\n' ? 'n' : *s);
      s++;
    }
}

static char *
escape (const char *s, gboolean quote)
{
  GString *out = g_string_new (NULL);

  append_escaped (out, s, quote);
  return g_string_free (out, FALSE);
}

/* Series ----------------------------------------------------------------- */

static void
series_free (Series *series)
{
  g_free (series->key);
  g_strfreev (series->values);
  g_free (series->labels);
  g_free (series->counts);
  g_free (series);
}

static gboolean
series_is_clocked (const Series *series)
{
  return series->kind == SERIES_UNTIL || series->kind == SERIES_SINCE;
}

static double
series_value_at (const Series *series, gint64 now)
{
  switch (series->kind)
    {
      case SERIES_UNTIL:
        return series->value - (double)now;
      case SERIES_SINCE:
        return (double)now - series->value;
      case SERIES_VALUE:
      default:
        return series->value;
    }
}

/* Checks the number of label values (a wrong number is a programming
 * error in the caller) and puts the key for them into family->keybuf.
 * Returns FALSE, after a critical, when the number is wrong. */
static gboolean
family_build_key (HaleMetricFamily *family, const char *const *label_values)
{
  guint n = label_values != NULL ? g_strv_length ((char **)label_values) : 0;

  if (n != family->n_labels)
    {
      g_critical ("metric %s has %u labels but was given %u label values", family->full_name,
                  family->n_labels, n);
      return FALSE;
    }

  g_string_truncate (family->keybuf, 0);
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (family->keybuf, KEY_SEPARATOR);
      if (G_LIKELY (g_utf8_validate (label_values[i], -1, NULL)))
        g_string_append (family->keybuf, label_values[i]);
      else
        {
          g_autofree char *valid = g_utf8_make_valid (label_values[i], -1);
          g_string_append (family->keybuf, valid);
        }
    }
  return TRUE;
}

static Series *
family_lookup (HaleMetricFamily *family, const char *const *label_values)
{
  if (!family_build_key (family, label_values))
    return NULL;
  return g_hash_table_lookup (family->series, family->keybuf->str);
}

/* The series for @label_values, created (at zero) when it does not
 * exist yet. NULL only after a critical about the label values. */
static Series *
family_ensure (HaleMetricFamily *family, const char *const *label_values)
{
  Series *series;
  GString *labels;

  if (!family_build_key (family, label_values))
    return NULL;
  series = g_hash_table_lookup (family->series, family->keybuf->str);
  if (series != NULL)
    return series;

  series = g_new0 (Series, 1);
  series->key = g_strndup (family->keybuf->str, family->keybuf->len);
  if (family->n_labels > 0)
    series->values = g_strsplit (series->key, (const char[]){ KEY_SEPARATOR, '\0' }, -1);
  else
    series->values = g_new0 (char *, 1);

  labels = g_string_new (NULL);
  for (guint i = 0; i < family->n_labels; i++)
    {
      if ((family->flags & HALE_METRIC_EMPTY_LABELS_OMITTED) && series->values[i][0] == '\0')
        continue;
      if (labels->len > 0)
        g_string_append_c (labels, ',');
      g_string_append (labels, family->label_names[i]);
      g_string_append (labels, "=\"");
      append_escaped (labels, series->values[i], TRUE);
      g_string_append_c (labels, '"');
    }
  series->labels_len = labels->len;
  series->labels = g_string_free (labels, FALSE);

  if (family->type == HALE_METRIC_HISTOGRAM)
    series->counts = g_new0 (guint64, MAX (family->n_buckets, 1));

  g_hash_table_insert (family->series, series->key, series);
  g_clear_pointer (&family->sorted, g_ptr_array_unref);
  changed (family->owner);
  return series;
}

static void
series_set_kind (HaleMetricFamily *family, Series *series, SeriesKind kind)
{
  if (series_is_clocked (series))
    family->owner->n_clocked--;
  series->kind = kind;
  if (series_is_clocked (series))
    family->owner->n_clocked++;
}

static gint
series_compare (gconstpointer a, gconstpointer b)
{
  const Series *sa = *(const Series *const *)a;
  const Series *sb = *(const Series *const *)b;

  for (guint i = 0; sa->values[i] != NULL && sb->values[i] != NULL; i++)
    {
      int r = strcmp (sa->values[i], sb->values[i]);
      if (r != 0)
        return r;
    }
  return 0;
}

static GPtrArray *
family_get_sorted (HaleMetricFamily *family)
{
  GHashTableIter iter;
  gpointer value;

  if (family->sorted != NULL)
    return family->sorted;

  family->sorted = g_ptr_array_sized_new (g_hash_table_size (family->series));
  g_hash_table_iter_init (&iter, family->series);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (family->sorted, value);
  g_ptr_array_sort (family->sorted, series_compare);
  return family->sorted;
}

/* Families --------------------------------------------------------------- */

static void
family_free (HaleMetricFamily *family)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, family->series);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (series_is_clocked (value))
      family->owner->n_clocked--;
  g_hash_table_unref (family->series);
  g_clear_pointer (&family->sorted, g_ptr_array_unref);
  g_string_free (family->keybuf, TRUE);
  g_free (family->name);
  g_free (family->unit);
  g_strfreev (family->label_names);
  g_free (family->buckets);
  g_strfreev (family->le_text);
  g_strfreev (family->le_openmetrics);
  g_free (family->help_text);
  g_free (family->help_openmetrics);
  g_free (family->full_name);
  g_free (family->openmetrics_name);
  g_free (family);
}

HaleMetricFamily *
hale_metrics_add (HaleMetrics *self, HaleMetricType type, const char *name, const char *help,
                  const char *unit, const char *const *label_names, const double *buckets,
                  gsize n_buckets, HaleMetricFlags flags)
{
  HaleMetricFamily *family;
  guint n_labels = label_names != NULL ? g_strv_length ((char **)label_names) : 0;

  g_return_val_if_fail (HALE_IS_METRICS (self), NULL);
  g_return_val_if_fail (hale_metrics_name_is_valid (name), NULL);
  g_return_val_if_fail (help != NULL, NULL);
  g_return_val_if_fail (type == HALE_METRIC_COUNTER || type == HALE_METRIC_GAUGE
                            || type == HALE_METRIC_HISTOGRAM || type == HALE_METRIC_UNTYPED,
                        NULL);
  g_return_val_if_fail (type != HALE_METRIC_COUNTER || g_str_has_suffix (name, "_total"), NULL);
  g_return_val_if_fail (type == HALE_METRIC_HISTOGRAM || n_buckets == 0, NULL);
  g_return_val_if_fail (n_buckets == 0 || buckets != NULL, NULL);

  family = g_hash_table_lookup (self->families, name);
  if (family != NULL)
    {
      /* Two modules that export one family must mean the same one. */
      if (family->type != type || family->n_labels != n_labels
          || (n_labels > 0
              && !g_strv_equal ((const char *const *)family->label_names, label_names)))
        g_critical ("metric family %s registered twice with different types or labels", name);
      return family;
    }

  for (guint i = 0; i < n_labels; i++)
    {
      g_return_val_if_fail (label_name_is_valid (label_names[i]), NULL);
      g_return_val_if_fail (type != HALE_METRIC_HISTOGRAM || g_strcmp0 (label_names[i], "le") != 0,
                            NULL);
    }
  for (gsize i = 0; i < n_buckets; i++)
    {
      g_return_val_if_fail (!isnan (buckets[i]), NULL);
      g_return_val_if_fail (i == 0 || buckets[i - 1] < buckets[i], NULL);
    }
  if (unit != NULL && *unit != '\0')
    {
      /* OpenMetrics: the family name (a counter's without _total) must
       * end in _<unit>. */
      g_autofree char *base = type == HALE_METRIC_COUNTER
                                  ? g_strndup (name, strlen (name) - strlen ("_total"))
                                  : g_strdup (name);
      g_autofree char *suffix = g_strconcat ("_", unit, NULL);
      g_return_val_if_fail (g_str_has_suffix (base, suffix), NULL);
    }

  family = g_new0 (HaleMetricFamily, 1);
  family->owner = self;
  family->type = type;
  family->flags = flags;
  family->name = g_strdup (name);
  family->unit = unit != NULL && *unit != '\0' ? g_strdup (unit) : NULL;
  family->label_names = g_strdupv ((char **)label_names);
  if (family->label_names == NULL)
    family->label_names = g_new0 (char *, 1);
  family->n_labels = n_labels;
  family->help_text = escape (help, FALSE);
  family->help_openmetrics = escape (help, TRUE);

  if (type == HALE_METRIC_HISTOGRAM)
    {
      /* A +Inf given explicitly is the implied one. */
      if (n_buckets > 0 && isinf (buckets[n_buckets - 1]) && buckets[n_buckets - 1] > 0)
        n_buckets--;
      family->buckets = g_memdup2 (buckets, n_buckets * sizeof (double));
      family->n_buckets = n_buckets;
      family->le_text = g_new0 (char *, n_buckets + 2);
      family->le_openmetrics = g_new0 (char *, n_buckets + 2);
      for (gsize i = 0; i < n_buckets; i++)
        {
          family->le_text[i] = format_le (buckets[i], FALSE);
          family->le_openmetrics[i] = format_le (buckets[i], TRUE);
        }
      family->le_text[n_buckets] = g_strdup ("+Inf");
      family->le_openmetrics[n_buckets] = g_strdup ("+Inf");
    }

  family->series
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)series_free);
  family->keybuf = g_string_new (NULL);
  family_update_names (family);

  g_hash_table_insert (self->families, family->name, family);
  g_clear_pointer (&self->sorted_families, g_ptr_array_unref);
  changed (self);
  return family;
}

/* Updates ---------------------------------------------------------------- */

HaleMetricFamily *
hale_metrics_lookup (HaleMetrics *self, const char *name)
{
  g_return_val_if_fail (HALE_IS_METRICS (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->families, name);
}

void
hale_metrics_add_table (HaleMetrics *self, const HaleMetricDesc *table, gsize n_table,
                        gpointer owner)
{
  g_return_if_fail (HALE_IS_METRICS (self));
  g_return_if_fail (owner != NULL);

  for (gsize i = 0; i < n_table; i++)
    {
      const HaleMetricDesc *d = &table[i];

      G_STRUCT_MEMBER (HaleMetricFamily *, owner, d->field) = hale_metrics_add (
          self, d->type, d->name, d->help, d->unit, d->labels, d->buckets, d->n_buckets, d->flags);
    }
}

static gboolean
same_value (double a, double b)
{
  return a == b || (isnan (a) && isnan (b));
}

void
hale_metric_set (HaleMetricFamily *family, const char *const *label_values, double value)
{
  Series *series;

  g_return_if_fail (family != NULL);
  g_return_if_fail (family->type != HALE_METRIC_HISTOGRAM);

  series = family_ensure (family, label_values);
  if (series == NULL)
    return;
  if (series->kind == SERIES_VALUE && same_value (series->value, value))
    return;
  series_set_kind (family, series, SERIES_VALUE);
  series->value = value;
  changed (family->owner);
}

void
hale_metric_inc (HaleMetricFamily *family, const char *const *label_values, double delta)
{
  Series *series;

  g_return_if_fail (family != NULL);
  g_return_if_fail (family->type != HALE_METRIC_HISTOGRAM);
  g_return_if_fail (family->type != HALE_METRIC_COUNTER || delta >= 0);

  series = family_ensure (family, label_values);
  if (series == NULL || delta == 0)
    return;
  /* On a time-relative series, move the timestamp so that the rendered
   * value grows by @delta. */
  if (series->kind == SERIES_SINCE)
    series->value -= delta;
  else
    series->value += delta;
  changed (family->owner);
}

void
hale_metric_observe (HaleMetricFamily *family, const char *const *label_values, double value)
{
  Series *series;

  g_return_if_fail (family != NULL);
  g_return_if_fail (family->type == HALE_METRIC_HISTOGRAM);

  series = family_ensure (family, label_values);
  if (series == NULL)
    return;
  for (gsize i = 0; i < family->n_buckets; i++)
    if (value <= family->buckets[i])
      series->counts[i]++;
  series->count++;
  series->sum += value;
  changed (family->owner);
}

static void
set_clocked (HaleMetricFamily *family, const char *const *label_values, SeriesKind kind,
             double timestamp)
{
  Series *series;

  g_return_if_fail (family != NULL);
  g_return_if_fail (family->type == HALE_METRIC_GAUGE || family->type == HALE_METRIC_UNTYPED);

  series = family_ensure (family, label_values);
  if (series == NULL)
    return;
  if (series->kind == kind && same_value (series->value, timestamp))
    return;
  series_set_kind (family, series, kind);
  series->value = timestamp;
  changed (family->owner);
}

void
hale_metric_set_until (HaleMetricFamily *family, const char *const *label_values,
                       double timestamp_seconds)
{
  set_clocked (family, label_values, SERIES_UNTIL, timestamp_seconds);
}

void
hale_metric_set_since (HaleMetricFamily *family, const char *const *label_values,
                       double timestamp_seconds)
{
  set_clocked (family, label_values, SERIES_SINCE, timestamp_seconds);
}

void
hale_metric_touch (HaleMetricFamily *family, const char *const *label_values)
{
  g_return_if_fail (family != NULL);
  family_ensure (family, label_values);
}

void
hale_metric_remove (HaleMetricFamily *family, const char *const *label_values)
{
  Series *series;

  g_return_if_fail (family != NULL);

  series = family_lookup (family, label_values);
  if (series == NULL)
    return;
  if (series_is_clocked (series))
    family->owner->n_clocked--;
  g_hash_table_remove (family->series, series->key);
  g_clear_pointer (&family->sorted, g_ptr_array_unref);
  changed (family->owner);
}

void
hale_metric_clear (HaleMetricFamily *family)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (family != NULL);

  if (g_hash_table_size (family->series) == 0)
    return;
  g_hash_table_iter_init (&iter, family->series);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (series_is_clocked (value))
      family->owner->n_clocked--;
  g_hash_table_remove_all (family->series);
  g_clear_pointer (&family->sorted, g_ptr_array_unref);
  changed (family->owner);
}

gboolean
hale_metric_get (HaleMetricFamily *family, const char *const *label_values, double *out_value)
{
  Series *series;

  g_return_val_if_fail (family != NULL, FALSE);

  series = family_lookup (family, label_values);
  if (series == NULL)
    return FALSE;
  if (out_value != NULL)
    {
      if (family->type == HALE_METRIC_HISTOGRAM)
        *out_value = (double)series->count;
      else
        *out_value = series_value_at (series, now_seconds ());
    }
  return TRUE;
}

/* Registry --------------------------------------------------------------- */

void
hale_metrics_set_namespace (HaleMetrics *self, const char *metrics_namespace)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (HALE_IS_METRICS (self));
  g_return_if_fail (metrics_namespace == NULL || *metrics_namespace == '\0'
                    || hale_metrics_name_is_valid (metrics_namespace));

  if (metrics_namespace != NULL && *metrics_namespace == '\0')
    metrics_namespace = NULL;
  if (g_strcmp0 (self->ns, metrics_namespace) == 0)
    return;

  g_free (self->ns);
  self->ns = g_strdup (metrics_namespace);
  g_hash_table_iter_init (&iter, self->families);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    family_update_names (value);
  g_clear_pointer (&self->sorted_families, g_ptr_array_unref);
  changed (self);
}

const char *
hale_metrics_get_namespace (HaleMetrics *self)
{
  g_return_val_if_fail (HALE_IS_METRICS (self), NULL);
  return self->ns;
}

void
hale_metrics_add_collector (HaleMetrics *self, HaleMetricsCollector collector, gpointer user_data)
{
  Collector c = { collector, user_data };

  g_return_if_fail (HALE_IS_METRICS (self));
  g_return_if_fail (collector != NULL);

  g_array_append_val (self->collectors, c);
  changed (self);
}

/* Rendering -------------------------------------------------------------- */

static gint
family_compare (gconstpointer a, gconstpointer b)
{
  const HaleMetricFamily *fa = *(HaleMetricFamily *const *)a;
  const HaleMetricFamily *fb = *(HaleMetricFamily *const *)b;

  return strcmp (fa->full_name, fb->full_name);
}

static GPtrArray *
get_sorted_families (HaleMetrics *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self->sorted_families != NULL)
    return self->sorted_families;

  self->sorted_families = g_ptr_array_sized_new (g_hash_table_size (self->families));
  g_hash_table_iter_init (&iter, self->families);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (self->sorted_families, value);
  g_ptr_array_sort (self->sorted_families, family_compare);
  return self->sorted_families;
}

void
hale_metrics_foreach_family (HaleMetrics *self, HaleMetricsFamilyFunc func, gpointer user_data)
{
  static const char *const no_labels[] = { NULL };
  GPtrArray *families;

  g_return_if_fail (HALE_IS_METRICS (self));
  g_return_if_fail (func != NULL);

  families = get_sorted_families (self);
  for (guint i = 0; i < families->len; i++)
    {
      HaleMetricFamily *f = g_ptr_array_index (families, i);

      func (f->name, f->type, f->unit,
            f->label_names != NULL ? (const char *const *)f->label_names : no_labels, f->flags,
            user_data);
    }
}

static void
append_metadata (GString *out, const char *keyword, const char *name, const char *text)
{
  g_string_append_len (out, "# ", 2);
  g_string_append (out, keyword);
  g_string_append_c (out, ' ');
  g_string_append (out, name);
  g_string_append_c (out, ' ');
  g_string_append (out, text);
  g_string_append_c (out, '\n');
}

/* name{labels[,extra_name="extra_value"]} */
static void
append_sample_start (GString *out, const char *name, gsize name_len, const char *suffix,
                     const Series *series, const char *le)
{
  g_string_append_len (out, name, name_len);
  if (suffix != NULL)
    g_string_append (out, suffix);
  if (series->labels_len > 0 || le != NULL)
    {
      g_string_append_c (out, '{');
      g_string_append_len (out, series->labels, series->labels_len);
      if (le != NULL)
        {
          if (series->labels_len > 0)
            g_string_append_c (out, ',');
          g_string_append_len (out, "le=\"", 4);
          g_string_append (out, le);
          g_string_append_c (out, '"');
        }
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ' ');
}

static void
render_family (GString *out, HaleMetricFamily *family, HaleMetricsFormat format, gint64 now)
{
  static const char *const type_names[] = { "counter", "gauge", "histogram", "untyped" };
  /* OpenMetrics has no reserved-suffix lint, and the tools that read it
   * know a gauge better than "unknown": the untyped family is a gauge. */
  static const char *const om_type_names[] = { "counter", "gauge", "histogram", "gauge" };
  gboolean om = format == HALE_METRICS_FORMAT_OPENMETRICS;
  GPtrArray *sorted = family_get_sorted (family);
  const char *name = family->full_name;
  gsize name_len = strlen (name);
  char **le = om ? family->le_openmetrics : family->le_text;

  /* A family without series says nothing, as client_golang does. */
  if (sorted->len == 0)
    return;

  if (om)
    {
      /* TYPE, UNIT, HELP is the order the OpenMetrics spec suggests. */
      append_metadata (out, "TYPE", family->openmetrics_name, om_type_names[family->type]);
      if (family->unit != NULL)
        append_metadata (out, "UNIT", family->openmetrics_name, family->unit);
      append_metadata (out, "HELP", family->openmetrics_name, family->help_openmetrics);
    }
  else
    {
      append_metadata (out, "HELP", name, family->help_text);
      append_metadata (out, "TYPE", name, type_names[family->type]);
    }

  for (guint i = 0; i < sorted->len; i++)
    {
      const Series *series = g_ptr_array_index (sorted, i);

      if (family->type != HALE_METRIC_HISTOGRAM)
        {
          append_sample_start (out, name, name_len, NULL, series, NULL);
          append_value (out, series_value_at (series, now));
          g_string_append_c (out, '\n');
          continue;
        }

      for (gsize b = 0; b <= family->n_buckets; b++)
        {
          append_sample_start (out, name, name_len, "_bucket", series, le[b]);
          append_int (out, (gint64)(b < family->n_buckets ? series->counts[b] : series->count));
          g_string_append_c (out, '\n');
        }
      append_sample_start (out, name, name_len, "_sum", series, NULL);
      append_value (out, series->sum);
      g_string_append_c (out, '\n');
      append_sample_start (out, name, name_len, "_count", series, NULL);
      append_int (out, (gint64)series->count);
      g_string_append_c (out, '\n');
    }
}

static GBytes *
render_plain (HaleMetrics *self, HaleMetricsFormat format, gint64 now)
{
  GPtrArray *families = get_sorted_families (self);
  GString *out;
  gsize guess = 256;

  /* Size the buffer once from the series count, so a render of many
   * series does not spend its time reallocating. */
  for (guint i = 0; i < families->len; i++)
    {
      HaleMetricFamily *family = g_ptr_array_index (families, i);
      guint n = g_hash_table_size (family->series);
      guess += 256 + (gsize)n * (64 + (family->n_buckets + 2) * 64);
    }
  out = g_string_sized_new (guess);

  for (guint i = 0; i < families->len; i++)
    render_family (out, g_ptr_array_index (families, i), format, now);
  if (format == HALE_METRICS_FORMAT_OPENMETRICS)
    g_string_append (out, "# EOF\n");
  return g_string_free_to_bytes (out);
}

static gboolean
cache_is_current (HaleMetrics *self, const CacheEntry *entry, gint64 now)
{
  gboolean clocked = self->n_clocked > 0 || self->collectors->len > 0;

  return entry->bytes != NULL && entry->generation == self->generation
         && (!clocked || entry->second == now);
}

static void
cache_store (CacheEntry *entry, GBytes *bytes, guint64 generation, gint64 second)
{
  g_clear_pointer (&entry->bytes, g_bytes_unref);
  entry->bytes = g_bytes_ref (bytes);
  entry->generation = generation;
  entry->second = second;
}

GBytes *
hale_metrics_render (HaleMetrics *self, HaleMetricsFormat format)
{
  gint64 now = now_seconds ();
  CacheEntry *entry;

  g_return_val_if_fail (HALE_IS_METRICS (self), NULL);
  g_return_val_if_fail (
      format == HALE_METRICS_FORMAT_TEXT || format == HALE_METRICS_FORMAT_OPENMETRICS, NULL);

  entry = &self->cache[format];
  if (cache_is_current (self, entry, now))
    return g_bytes_ref (entry->bytes);

  /* Collectors sample at most once a second, whatever the number of
   * formats asked for in that second. */
  if (self->collectors->len > 0 && self->collected_second != now)
    {
      self->collected_second = now;
      for (guint i = 0; i < self->collectors->len; i++)
        {
          Collector *c = &g_array_index (self->collectors, Collector, i);
          c->func (self, c->user_data);
        }
    }
  if (!cache_is_current (self, entry, now))
    {
      g_autoptr (GBytes) bytes = render_plain (self, format, now);
      cache_store (entry, bytes, self->generation, now);
    }
  return g_bytes_ref (entry->bytes);
}

/* GObject ---------------------------------------------------------------- */

static void
hale_metrics_finalize (GObject *object)
{
  HaleMetrics *self = HALE_METRICS (object);

  for (guint i = 0; i < G_N_ELEMENTS (self->cache); i++)
    g_clear_pointer (&self->cache[i].bytes, g_bytes_unref);
  g_clear_pointer (&self->sorted_families, g_ptr_array_unref);
  g_hash_table_unref (self->families);
  g_array_unref (self->collectors);
  g_free (self->ns);

  G_OBJECT_CLASS (hale_metrics_parent_class)->finalize (object);
}

static void
hale_metrics_class_init (HaleMetricsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hale_metrics_finalize;
}

static void
hale_metrics_init (HaleMetrics *self)
{
  self->families
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)family_free);
  self->collectors = g_array_new (FALSE, FALSE, sizeof (Collector));
  self->collected_second = -1;
}

HaleMetrics *
hale_metrics_new (const char *metrics_namespace)
{
  HaleMetrics *self = g_object_new (HALE_TYPE_METRICS, NULL);

  hale_metrics_set_namespace (self, metrics_namespace);
  return self;
}
