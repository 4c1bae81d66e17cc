/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-metrics.h: a small Prometheus registry and its exposition.
 *
 * Families are registered once (name without the namespace, help, label
 * names); series are created on first use and removed when their source
 * goes away. Rendering is cached: the text is built once per change of
 * any series, and at most once a second while a series depends on the
 * clock (set_until/set_since, collectors such as sources/hale-process.h),
 * then served as the same bytes to every scrape.
 *
 * The registry is not thread-safe: use it from the main context only.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  HALE_METRIC_COUNTER, /* name ends in _total */
  HALE_METRIC_GAUGE,
  HALE_METRIC_HISTOGRAM, /* buckets given at registration */
  /* A gauge rendered as "untyped" in the text format (a gauge in
   * OpenMetrics): only for a name the contract fixes that promtool's lint
   * reserves for another type (a gauge ending in _count). */
  HALE_METRIC_UNTYPED,
} HaleMetricType;

typedef enum
{
  HALE_METRIC_FLAGS_NONE = 0,
  HALE_METRIC_NO_NAMESPACE = 1 << 0, /* process_* keep their standard names */
  /* A label whose value is empty is left out of the sample line (to
   * Prometheus an empty label is no label): a label only some series
   * have, added without changing the others. */
  HALE_METRIC_EMPTY_LABELS_OMITTED = 1 << 1,
} HaleMetricFlags;

typedef enum
{
  HALE_METRICS_FORMAT_TEXT,        /* text/plain; version=0.0.4 */
  HALE_METRICS_FORMAT_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
} HaleMetricsFormat;

typedef struct _HaleMetricFamily HaleMetricFamily;

#define HALE_TYPE_METRICS (hale_metrics_get_type ())
G_DECLARE_FINAL_TYPE (HaleMetrics, hale_metrics, HALE, METRICS, GObject)

/* @metrics_namespace: NULL or "" for none; otherwise must pass
 * hale_metrics_name_is_valid() (the config module checks Namespace=). */
HaleMetrics *
hale_metrics_new (const char *metrics_namespace);
void
hale_metrics_set_namespace (HaleMetrics *self, const char *metrics_namespace);
const char *
hale_metrics_get_namespace (HaleMetrics *self);

/* Whether @name is a valid Prometheus metric name (or namespace):
 * [a-zA-Z_:][a-zA-Z0-9_:]*. */
gboolean
hale_metrics_name_is_valid (const char *name);

/* @name without namespace, e.g. "certificate_expiry_seconds". @unit may
 * be NULL (OpenMetrics' # UNIT line). @label_names is NULL-terminated
 * (NULL: no labels). @buckets: upper bounds ascending, for histograms
 * only (+Inf is implied). The family belongs to @self; registering a name
 * again returns the family it already has, and is a programming error
 * unless type and label names are the same. */
HaleMetricFamily *
hale_metrics_add (HaleMetrics *self, HaleMetricType type, const char *name, const char *help,
                  const char *unit, const char *const *label_names, const double *buckets,
                  gsize n_buckets, HaleMetricFlags flags);

/* One family as a module declares it: its modules keep a static table of
 * these (one place that lists every series the module exports, as a
 * D-Bus vtable lists members), registered with hale_metrics_add_table().
 * @field is where the family goes in the owner's struct
 * (G_STRUCT_OFFSET (Owner, member), a HaleMetricFamily * member). */
typedef struct
{
  gsize field;
  HaleMetricType type;
  const char *name;
  const char *help;
  const char *unit;
  const char *const *labels;
  const double *buckets;
  gsize n_buckets;
  HaleMetricFlags flags;
} HaleMetricDesc;

/* Registers every family of @table and stores each in @owner at its
 * @field. A family that several modules export (one name, one meaning)
 * is declared once in hale-metric-families.h and named in each table. */
void
hale_metrics_add_table (HaleMetrics *self, const HaleMetricDesc *table, gsize n_table,
                        gpointer owner);

/* The family registered as @name (without namespace), or NULL: for faces
 * and tests that read a value. */
HaleMetricFamily *
hale_metrics_lookup (HaleMetrics *self, const char *name);

/* @label_values: NULL-terminated, as many as the family has label names
 * (NULL for a family without labels). */
void
hale_metric_set (HaleMetricFamily *family, const char *const *label_values, double value);
void
hale_metric_inc (HaleMetricFamily *family, const char *const *label_values, double delta);
void
hale_metric_observe (HaleMetricFamily *family, const char *const *label_values, double value);
/* Value rendered as (@timestamp - now) / (now - @timestamp) seconds, at
 * render time: seconds left until expiry, age since issue. Gauges only.
 * "now" is the wall clock in whole seconds (g_get_real_time() rounded
 * down), the same granularity as the render cache, so two scrapes within
 * one second agree and whole-second timestamps give whole numbers. */
void
hale_metric_set_until (HaleMetricFamily *family, const char *const *label_values,
                       double timestamp_seconds);
void
hale_metric_set_since (HaleMetricFamily *family, const char *const *label_values,
                       double timestamp_seconds);
/* Makes the series exist at 0 (counters that have not counted yet). */
void
hale_metric_touch (HaleMetricFamily *family, const char *const *label_values);
void
hale_metric_remove (HaleMetricFamily *family, const char *const *label_values);
void
hale_metric_clear (HaleMetricFamily *family);
/* Current value, for tests and for faces that show a number; for a
 * time-relative series its value now, for a histogram its _count.
 * FALSE when the series does not exist. */
gboolean
hale_metric_get (HaleMetricFamily *family, const char *const *label_values, double *out_value);

/* Called before a render that is not served from the cache, to refresh
 * series that are sampled rather than pushed (process_*). A registry
 * with a collector re-renders at most once a second. */
typedef void (*HaleMetricsCollector) (HaleMetrics *metrics, gpointer user_data);
void
hale_metrics_add_collector (HaleMetrics *self, HaleMetricsCollector collector, gpointer user_data);

/* Every registered family, sorted by name, whether it has series or not:
 * what docs/metrics.md is checked against (tests/test-metrics-doc.c).
 * @name is without the namespace; @label_names NULL-terminated (never
 * NULL). The registry must not change during the walk. */
typedef void (*HaleMetricsFamilyFunc) (const char *name, HaleMetricType type, const char *unit,
                                       const char *const *label_names, HaleMetricFlags flags,
                                       gpointer user_data);
void
hale_metrics_foreach_family (HaleMetrics *self, HaleMetricsFamilyFunc func, gpointer user_data);

/* The exposition in @format, from the cache when it is current: the same
 * bytes (the same GBytes) until a series changes or, for a registry with
 * clocked series or collectors, the second turns. Transfer full. Which
 * format a scraper wants, and gzip, are the HTTP face's
 * (faces/hale-exposition.h). */
GBytes *
hale_metrics_render (HaleMetrics *self, HaleMetricsFormat format);

G_END_DECLS
