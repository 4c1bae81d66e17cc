/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-metrics.c: the Prometheus registry and its exposition. */

#include "config.h"

#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "hale-exposition.h"
#include "hale-metrics.h"
#include "hale-process.h"

static const char *const RESULT[] = { "result", NULL };
static const char *const SUCCESS[] = { "success", NULL };
static const char *const FAILURE[] = { "failure", NULL };

static char *
golden_path (const char *name)
{
  const char *srcdir = g_getenv ("HALE_TEST_SRCDIR");

  if (srcdir != NULL)
    return g_build_filename (srcdir, "golden", name, NULL);
  return g_test_build_filename (G_TEST_DIST, "golden", name, NULL);
}

static char *
render_string (HaleMetrics *metrics, HaleMetricsFormat format)
{
  g_autoptr (GBytes) bytes = hale_metrics_render (metrics, format);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  g_assert_nonnull (bytes);
  return g_strndup (data, len);
}

/* The sample line for @prefix ("name{labels} "), or NULL. */
static char *
find_sample (const char *text, const char *prefix)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return g_strdup (lines[i] + strlen (prefix));
  return NULL;
}

/* A registry with one of everything the renderer must get right:
 * labels needing escaping, help with a backslash, a newline and a
 * quote, units, a histogram, odd values, a family without namespace,
 * and a family without series (which must not show). */
static HaleMetrics *
golden_registry (void)
{
  HaleMetrics *metrics = hale_metrics_new ("hale");
  const char *const escaping_labels[] = { "path", "note", NULL };
  const char *const type_label[] = { "type", NULL };
  const char *const service_label[] = { "service", NULL };
  const double buckets[] = { 0.005, 0.25, 1, 2.5, 10 };
  HaleMetricFamily *f;

  f = hale_metrics_add (metrics, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total",
                        "Certificate renewal attempts, by result.", NULL, RESULT, NULL, 0,
                        HALE_METRIC_FLAGS_NONE);
  hale_metric_touch (f, FAILURE);
  hale_metric_inc (f, SUCCESS, 1);
  hale_metric_inc (f, SUCCESS, 2);

  f = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "label_escaping",
                        "Label values with \\ and \"quotes\"\nand a second line.", NULL,
                        escaping_labels, NULL, 0, HALE_METRIC_FLAGS_NONE);
  hale_metric_set (f, (const char *const[]){ "C:\\certs\\a.pem", "say \"hi\"", NULL }, 1);
  hale_metric_set (f, (const char *const[]){ "/etc/ssl/b.pem", "line1\nline2", NULL }, -2.5);
  hale_metric_set (f, (const char *const[]){ "/etc/ssl/\xc3\xa9.pem", "", NULL }, NAN);

  f = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "certificate_expiry_seconds",
                        "Seconds until the certificate expires.", "seconds", type_label, NULL, 0,
                        HALE_METRIC_FLAGS_NONE);
  hale_metric_set (f, (const char *const[]){ "current", NULL }, 2592000);
  hale_metric_set (f, (const char *const[]){ "next", NULL }, 1e21);
  hale_metric_set (f, (const char *const[]){ "old", NULL }, -INFINITY);
  hale_metric_set (f, (const char *const[]){ "third", NULL }, 1.0 / 3);
  hale_metric_set (f, (const char *const[]){ "tiny", NULL }, 1e-7);
  hale_metric_set (f, (const char *const[]){ "tenth", NULL }, 0.1);

  f = hale_metrics_add (metrics, HALE_METRIC_HISTOGRAM, "reload_duration_seconds",
                        "How long service reloads took.", "seconds", service_label, buckets,
                        G_N_ELEMENTS (buckets), HALE_METRIC_FLAGS_NONE);
  hale_metric_observe (f, (const char *const[]){ "nginx", NULL }, 0.003);
  hale_metric_observe (f, (const char *const[]){ "nginx", NULL }, 0.5);
  hale_metric_observe (f, (const char *const[]){ "nginx", NULL }, 1);
  hale_metric_observe (f, (const char *const[]){ "nginx", NULL }, 30);
  hale_metric_touch (f, (const char *const[]){ "haproxy", NULL });

  f = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "up", "1 while serving.", NULL, NULL, NULL, 0,
                        HALE_METRIC_FLAGS_NONE);
  hale_metric_set (f, NULL, 1);

  f = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "process_test_threads",
                        "A family that keeps its name.", NULL, NULL, NULL, 0,
                        HALE_METRIC_NO_NAMESPACE);
  hale_metric_set (f, NULL, 4);

  hale_metrics_add (metrics, HALE_METRIC_GAUGE, "empty", "Never set.", NULL, NULL, NULL, 0,
                    HALE_METRIC_FLAGS_NONE);
  return metrics;
}

static void
check_golden (HaleMetrics *metrics, HaleMetricsFormat format, const char *file)
{
  g_autofree char *path = golden_path (file);
  g_autofree char *actual = render_string (metrics, format);
  g_autofree char *expected = NULL;
  g_autoptr (GError) error = NULL;

  /* HALE_UPDATE_GOLDEN=1 rewrites the file; review the diff. */
  if (g_strcmp0 (g_getenv ("HALE_UPDATE_GOLDEN"), "1") == 0)
    {
      g_file_set_contents (path, actual, -1, &error);
      g_assert_no_error (error);
    }
  g_file_get_contents (path, &expected, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (actual, ==, expected);
}

static void
test_golden (void)
{
  g_autoptr (HaleMetrics) metrics = golden_registry ();

  check_golden (metrics, HALE_METRICS_FORMAT_TEXT, "metrics.prom");
  check_golden (metrics, HALE_METRICS_FORMAT_OPENMETRICS, "metrics.openmetrics");
}

/* A registry shaped like the daemon's: what promtool must accept. */
static HaleMetrics *
daemon_like_registry (void)
{
  HaleMetrics *metrics = hale_metrics_new ("hale");
  const char *const service_result[] = { "service", "result", NULL };
  const char *const type_label[] = { "type", NULL };
  const double buckets[] = { 0.1, 0.5, 1, 5, 30 };
  HaleMetricFamily *f;

  f = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "certificate_expiry_seconds",
                        "Seconds until the certificate expires (negative: expired).\n"
                        "Path in C:\\certs.",
                        "seconds", type_label, NULL, 0, HALE_METRIC_FLAGS_NONE);
  hale_metric_set_until (f, (const char *const[]){ "current", NULL },
                         (double)(g_get_real_time () / G_USEC_PER_SEC) + 86400);
  hale_metric_set (f, (const char *const[]){ "we\"ird\\\nname", NULL }, -5);
  f = hale_metrics_add (metrics, HALE_METRIC_COUNTER, "certificate_renewal_attempts_total",
                        "Certificate renewal attempts, by result.", NULL, RESULT, NULL, 0,
                        HALE_METRIC_FLAGS_NONE);
  hale_metric_inc (f, SUCCESS, 4);
  hale_metric_touch (f, FAILURE);
  f = hale_metrics_add (metrics, HALE_METRIC_COUNTER, "service_reload_total",
                        "Service reloads, by service and result.", NULL, service_result, NULL, 0,
                        HALE_METRIC_FLAGS_NONE);
  hale_metric_inc (f, (const char *const[]){ "nginx", "success", NULL }, 1);
  f = hale_metrics_add (metrics, HALE_METRIC_HISTOGRAM, "service_reload_duration_seconds",
                        "How long service reloads took.", "seconds",
                        (const char *const[]){ "service", NULL }, buckets, G_N_ELEMENTS (buckets),
                        HALE_METRIC_FLAGS_NONE);
  hale_metric_observe (f, (const char *const[]){ "nginx", NULL }, 0.7);
  f = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "up", "1 while serving.", NULL, NULL, NULL, 0,
                        HALE_METRIC_FLAGS_NONE);
  hale_metric_set (f, NULL, 1);
  hale_process_collector_add (metrics);
  return metrics;
}

/* promtool's verdict (stdout and stderr) on @text; FALSE when promtool
 * is not there. */
static gboolean
run_promtool (const char *text, int *out_status, char **out_output)
{
  g_autofree char *promtool = g_find_program_in_path ("promtool");
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = NULL;
  int fd;

  if (promtool == NULL)
    return FALSE;

  fd = g_file_open_tmp ("hale-metrics-XXXXXX", &tmp, &error);
  g_assert_no_error (error);
  close (fd);
  g_file_set_contents (tmp, text, -1, &error);
  g_assert_no_error (error);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdin_file_path (launcher, tmp);
  proc = g_subprocess_launcher_spawn (launcher, &error, promtool, "check", "metrics", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, out_output, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  *out_status = g_subprocess_get_exit_status (proc);
  g_unlink (tmp);
  return TRUE;
}

static void
test_promtool (void)
{
  g_autoptr (HaleMetrics) metrics = daemon_like_registry ();
  g_autoptr (HaleMetrics) golden = golden_registry ();
  g_autofree char *text = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  g_autofree char *golden_text = render_string (golden, HALE_METRICS_FORMAT_TEXT);
  g_autofree char *openmetrics = render_string (metrics, HALE_METRICS_FORMAT_OPENMETRICS);
  g_autofree char *output = NULL;
  g_auto (GStrv) lines = NULL;
  int status = -1;

  if (!run_promtool (text, &status, &output))
    {
      if (g_strcmp0 (g_getenv ("CI"), "true") == 0)
        g_test_fail_printf ("promtool is not in PATH, and CI=true: install prometheus");
      else
        g_test_skip ("promtool is not in PATH: cannot lint the exposition");
      return;
    }
  g_assert_cmpstr (output, ==, "");
  g_assert_cmpint (status, ==, 0);
  g_clear_pointer (&output, g_free);

  run_promtool (golden_text, &status, &output);
  g_assert_cmpstr (output, ==, "");
  g_assert_cmpint (status, ==, 0);
  g_clear_pointer (&output, g_free);

  /* promtool 2.42 parses only the 0.0.4 format. OpenMetrics output must
   * still parse with it (# UNIT and # EOF read as comments), and the only
   * complaints allowed are those OpenMetrics causes by design: a counter
   * family is "foo" while its samples are "foo_total", which the 0.0.4
   * parser sees as a second family without help. */
  run_promtool (openmetrics, &status, &output);
  g_test_message ("promtool on OpenMetrics (exit %d):\n%s", status, output);
  lines = g_strsplit (output, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (*lines[i] == '\0')
        continue;
      if (g_strcmp0 (lines[i], "hale_certificate_renewal_attempts_total no help text") != 0
          && g_strcmp0 (lines[i], "hale_service_reload_total no help text") != 0
          && g_strcmp0 (lines[i], "process_cpu_seconds_total no help text") != 0)
        g_error ("promtool on OpenMetrics: unexpected: %s", lines[i]);
    }
}

static void
test_namespace (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
  HaleMetricFamily *up = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "up", "Up.", NULL, NULL,
                                           NULL, 0, HALE_METRIC_FLAGS_NONE);
  HaleMetricFamily *fixed = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "process_fixed", "Fixed.",
                                              NULL, NULL, NULL, 0, HALE_METRIC_NO_NAMESPACE);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *none = NULL;
  g_autoptr (GBytes) cached = NULL;
  g_autoptr (GBytes) renamed = NULL;

  hale_metric_set (up, NULL, 1);
  hale_metric_set (fixed, NULL, 2);
  /* Registering the same name again gives the first family. */
  g_assert_true (hale_metrics_add (metrics, HALE_METRIC_GAUGE, "up", "Other.", NULL, NULL, NULL, 0,
                                   HALE_METRIC_FLAGS_NONE)
                 == up);

  before = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_nonnull (strstr (before, "\nhale_up 1\n"));
  g_assert_nonnull (strstr (before, "\nprocess_fixed 2\n"));

  cached = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
  hale_metrics_set_namespace (metrics, "hetzner_cert_rotation");
  g_assert_cmpstr (hale_metrics_get_namespace (metrics), ==, "hetzner_cert_rotation");
  renamed = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_false (g_bytes_equal (cached, renamed));

  after = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_nonnull (strstr (after, "# TYPE hetzner_cert_rotation_up gauge\n"));
  g_assert_nonnull (strstr (after, "\nhetzner_cert_rotation_up 1\n"));
  g_assert_null (strstr (after, "hale_up"));
  g_assert_nonnull (strstr (after, "\nprocess_fixed 2\n"));
  g_assert_null (strstr (after, "hetzner_cert_rotation_process_fixed"));

  hale_metrics_set_namespace (metrics, NULL);
  none = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_true (g_str_has_prefix (none, "# HELP process_fixed"));
  g_assert_nonnull (strstr (none, "\nup 1\n"));

  g_assert_true (hale_metrics_name_is_valid ("hale"));
  g_assert_true (hale_metrics_name_is_valid ("a:b_c9"));
  g_assert_false (hale_metrics_name_is_valid (""));
  g_assert_false (hale_metrics_name_is_valid ("9lives"));
  g_assert_false (hale_metrics_name_is_valid ("hale-metrics"));
  g_assert_false (hale_metrics_name_is_valid (NULL));
}

static void
test_clocked (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
  const char *const type_label[] = { "type", NULL };
  const char *const current[] = { "current", NULL };
  const char *const issued[] = { "issued", NULL };
  HaleMetricFamily *f = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "clock_seconds", "Clock.",
                                          NULL, type_label, NULL, 0, HALE_METRIC_FLAGS_NONE);
  double now = (double)g_get_real_time () / G_USEC_PER_SEC;
  double value = 0;
  g_autofree char *text = NULL;
  g_autofree char *sample = NULL;

  hale_metric_set_until (f, current, floor (now) + 3600);
  hale_metric_set_since (f, issued, floor (now) - 60);

  g_assert_true (hale_metric_get (f, current, &value));
  g_assert_cmpfloat (value, <=, 3600);
  g_assert_cmpfloat (value, >=, 3598);
  g_assert_cmpfloat (value, ==, floor (value)); /* whole seconds */
  g_assert_true (hale_metric_get (f, issued, &value));
  g_assert_cmpfloat (value, >=, 60);
  g_assert_cmpfloat (value, <=, 62);

  text = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  sample = find_sample (text, "hale_clock_seconds{type=\"current\"} ");
  g_assert_nonnull (sample);
  g_assert_cmpfloat (g_ascii_strtod (sample, NULL), >=, 3598);
  g_assert_cmpfloat (g_ascii_strtod (sample, NULL), <=, 3600);

  /* inc moves a time-relative value by delta. */
  hale_metric_inc (f, issued, 10);
  g_assert_true (hale_metric_get (f, issued, &value));
  g_assert_cmpfloat (value, >=, 70);
  g_assert_cmpfloat (value, <=, 72);

  /* Back to a plain value. */
  hale_metric_set (f, current, 5);
  g_assert_true (hale_metric_get (f, current, &value));
  g_assert_cmpfloat (value, ==, 5);
}

static void
test_cache (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
  g_autoptr (HaleExposition) exposition = hale_exposition_new (metrics);
  HaleMetricFamily *f = hale_metrics_add (metrics, HALE_METRIC_COUNTER, "things_total", "Things.",
                                          NULL, RESULT, NULL, 0, HALE_METRIC_FLAGS_NONE);
  g_autoptr (GBytes) a = NULL;
  g_autoptr (GBytes) b = NULL;
  g_autoptr (GBytes) c = NULL;
  g_autoptr (GBytes) d = NULL;
  g_autoptr (GBytes) gz1 = NULL;
  g_autoptr (GBytes) gz2 = NULL;
  g_autoptr (GBytes) om = NULL;
  g_autofree char *text = NULL;

  hale_metric_set (f, SUCCESS, 1);
  a = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
  b = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_true (g_bytes_get_data (a, NULL) == g_bytes_get_data (b, NULL));

  /* Writing the value it already has changes nothing. */
  hale_metric_set (f, SUCCESS, 1);
  g_clear_pointer (&b, g_bytes_unref);
  b = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_true (g_bytes_get_data (a, NULL) == g_bytes_get_data (b, NULL));

  gz1 = hale_exposition_render (exposition, HALE_METRICS_FORMAT_TEXT, TRUE);
  gz2 = hale_exposition_render (exposition, HALE_METRICS_FORMAT_TEXT, TRUE);
  g_assert_true (g_bytes_get_data (gz1, NULL) == g_bytes_get_data (gz2, NULL));
  om = hale_metrics_render (metrics, HALE_METRICS_FORMAT_OPENMETRICS);
  g_assert_false (g_bytes_equal (a, om));

  /* A change gives new bytes with the new value. */
  hale_metric_inc (f, SUCCESS, 1);
  c = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_false (g_bytes_get_data (a, NULL) == g_bytes_get_data (c, NULL));
  text = g_strndup (g_bytes_get_data (c, NULL), g_bytes_get_size (c));
  g_assert_nonnull (strstr (text, "\nhale_things_total{result=\"success\"} 2\n"));
  g_clear_pointer (&gz2, g_bytes_unref);
  gz2 = hale_exposition_render (exposition, HALE_METRICS_FORMAT_TEXT, TRUE);
  g_assert_false (g_bytes_get_data (gz1, NULL) == g_bytes_get_data (gz2, NULL));

  /* A new series is a change too. */
  hale_metric_touch (f, FAILURE);
  d = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_false (g_bytes_equal (c, d));
}

/* With a clock-dependent series the cache still holds within one
 * wall-clock second. Retried when the second turns in between. */
static void
test_cache_clocked (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
  HaleMetricFamily *f = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "until_seconds", "Until.",
                                          NULL, NULL, NULL, 0, HALE_METRIC_FLAGS_NONE);
  gboolean checked = FALSE;

  hale_metric_set_until (f, NULL, 4102444800.0); /* 2100-01-01 */
  hale_process_collector_add (metrics);
  for (guint attempt = 0; attempt < 5 && !checked; attempt++)
    {
      gint64 before = g_get_real_time () / G_USEC_PER_SEC;
      g_autoptr (GBytes) a = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
      g_autoptr (GBytes) om = hale_metrics_render (metrics, HALE_METRICS_FORMAT_OPENMETRICS);
      g_autoptr (GBytes) b = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
      gint64 after = g_get_real_time () / G_USEC_PER_SEC;

      if (before != after)
        continue;
      /* The collector ran for the OpenMetrics render, but only once a
       * second, so the text render is still current. */
      g_assert_true (g_bytes_get_data (a, NULL) == g_bytes_get_data (b, NULL));
      checked = TRUE;
    }
  g_assert_true (checked);
}

static void
test_remove (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
  HaleMetricFamily *f = hale_metrics_add (metrics, HALE_METRIC_COUNTER, "things_total", "Things.",
                                          NULL, RESULT, NULL, 0, HALE_METRIC_FLAGS_NONE);
  HaleMetricFamily *g = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "until_seconds", "Until.",
                                          NULL, NULL, NULL, 0, HALE_METRIC_FLAGS_NONE);
  g_autofree char *text1 = NULL;
  g_autofree char *text2 = NULL;
  g_autofree char *text3 = NULL;
  double value;

  hale_metric_inc (f, SUCCESS, 1);
  hale_metric_inc (f, FAILURE, 1);
  hale_metric_set_until (g, NULL, 4102444800.0);
  text1 = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_nonnull (strstr (text1, "result=\"failure\""));
  g_assert_nonnull (strstr (text1, "\nhale_until_seconds "));

  hale_metric_remove (f, FAILURE);
  hale_metric_remove (f, FAILURE); /* gone already: nothing happens */
  g_assert_false (hale_metric_get (f, FAILURE, &value));
  g_assert_true (hale_metric_get (f, SUCCESS, &value));
  g_assert_cmpfloat (value, ==, 1);
  text2 = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_null (strstr (text2, "result=\"failure\""));
  g_assert_nonnull (strstr (text2, "result=\"success\""));

  /* A family without series says nothing at all. */
  hale_metric_clear (f);
  hale_metric_clear (g);
  g_assert_false (hale_metric_get (f, SUCCESS, &value));
  text3 = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_cmpstr (text3, ==, "");
}

static void
test_histogram (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
  const double buckets[] = { 1, 5, INFINITY };
  HaleMetricFamily *h
      = hale_metrics_add (metrics, HALE_METRIC_HISTOGRAM, "wait_seconds", "Waits.", "seconds", NULL,
                          buckets, G_N_ELEMENTS (buckets), HALE_METRIC_FLAGS_NONE);
  g_autofree char *text = NULL;
  double count = 0;

  hale_metric_observe (h, NULL, 0.5);
  hale_metric_observe (h, NULL, 1);
  hale_metric_observe (h, NULL, 3);
  hale_metric_observe (h, NULL, 100);
  g_assert_true (hale_metric_get (h, NULL, &count));
  g_assert_cmpfloat (count, ==, 4);

  /* An explicit +Inf is the implied one, not a second. */
  text = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_cmpstr (text, ==,
                   "# HELP hale_wait_seconds Waits.\n"
                   "# TYPE hale_wait_seconds histogram\n"
                   "hale_wait_seconds_bucket{le=\"1\"} 2\n"
                   "hale_wait_seconds_bucket{le=\"5\"} 3\n"
                   "hale_wait_seconds_bucket{le=\"+Inf\"} 4\n"
                   "hale_wait_seconds_sum 104.5\n"
                   "hale_wait_seconds_count 4\n");
}

static void
test_values (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new (NULL);
  HaleMetricFamily *f
      = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "v", "Values.", NULL,
                          (const char *const[]){ "i", NULL }, NULL, 0, HALE_METRIC_FLAGS_NONE);
  static const struct
  {
    double value;
    const char *text;
  } cases[] = {
    { 0, "0" },
    { -0.0, "0" },
    { 42, "42" },
    { -7, "-7" },
    { 1712345678, "1712345678" },
    { 9007199254740992.0, "9007199254740992" },
    { 1e21, "1e+21" },
    { 0.1, "0.1" },
    { 1712345678.25, "1712345678.25" },
    { 1e-7, "1e-07" },
    { 2.5e-300, "2.5e-300" },
    { 123456.789, "123456.789" },
    { INFINITY, "+Inf" },
    { -INFINITY, "-Inf" },
    { NAN, "NaN" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *label = g_strdup_printf ("%02u", i);
      hale_metric_set (f, (const char *const[]){ label, NULL }, cases[i].value);
    }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
      g_autofree char *prefix = g_strdup_printf ("v{i=\"%02u\"} ", i);
      g_autofree char *sample = find_sample (text, prefix);

      g_assert_cmpstr (sample, ==, cases[i].text);
      /* Whatever the spelling, it reads back as the same double. */
      if (!isnan (cases[i].value))
        g_assert_cmpfloat (g_ascii_strtod (sample, NULL), ==, cases[i].value);
    }
}

static void
test_gzip (void)
{
  g_autoptr (HaleMetrics) metrics = golden_registry ();
  g_autoptr (HaleExposition) exposition = hale_exposition_new (metrics);
  g_autoptr (GBytes) plain = hale_metrics_render (metrics, HALE_METRICS_FORMAT_OPENMETRICS);
  g_autoptr (GBytes) gz
      = hale_exposition_render (exposition, HALE_METRICS_FORMAT_OPENMETRICS, TRUE);
  g_autoptr (GZlibDecompressor) decompressor
      = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr (GInputStream) base = g_memory_input_stream_new_from_bytes (gz);
  g_autoptr (GInputStream) in = g_converter_input_stream_new (base, G_CONVERTER (decompressor));
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GBytes) unpacked = NULL;
  g_autoptr (GError) error = NULL;
  const guint8 *magic = g_bytes_get_data (gz, NULL);

  g_assert_cmpuint (g_bytes_get_size (gz), >, 2);
  g_assert_cmpuint (magic[0], ==, 0x1f);
  g_assert_cmpuint (magic[1], ==, 0x8b);
  g_assert_cmpuint (g_bytes_get_size (gz), <, g_bytes_get_size (plain));

  g_output_stream_splice (out, in,
                          G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                          NULL, &error);
  g_assert_no_error (error);
  unpacked = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
  g_assert_true (g_bytes_equal (unpacked, plain));
}

static void
test_negotiate (void)
{
  static const struct
  {
    const char *accept;
    HaleMetricsFormat format;
  } cases[] = {
    { NULL, HALE_METRICS_FORMAT_TEXT },
    { "", HALE_METRICS_FORMAT_TEXT },
    { "*/*", HALE_METRICS_FORMAT_TEXT },
    { "text/plain", HALE_METRICS_FORMAT_TEXT },
    { "application/json", HALE_METRICS_FORMAT_TEXT },
    { "application/openmetrics-text", HALE_METRICS_FORMAT_OPENMETRICS },
    /* What Prometheus 2.4x sends. */
    { "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
      "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      HALE_METRICS_FORMAT_OPENMETRICS },
    { "Application/OpenMetrics-Text; Version=1.0.0; Charset=utf-8",
      HALE_METRICS_FORMAT_OPENMETRICS },
    { "application/openmetrics-text;q=0", HALE_METRICS_FORMAT_TEXT },
    { "application/openmetrics-text; q=0.0, text/plain", HALE_METRICS_FORMAT_TEXT },
    { "text/plain;q=0.9, application/openmetrics-text;q=0.5", HALE_METRICS_FORMAT_TEXT },
    { "text/plain;q=0.5, application/openmetrics-text;q=0.9", HALE_METRICS_FORMAT_OPENMETRICS },
    { "text/plain, application/openmetrics-text", HALE_METRICS_FORMAT_TEXT },
    { "application/openmetrics-text, text/plain", HALE_METRICS_FORMAT_OPENMETRICS },
    { "*/*, application/openmetrics-text", HALE_METRICS_FORMAT_OPENMETRICS },
    { "application/openmetrics-text;version=2.0.0", HALE_METRICS_FORMAT_TEXT },
    { "application/openmetrics-text;q=bogus", HALE_METRICS_FORMAT_TEXT },
    { "application/openmetrics-text;q=2", HALE_METRICS_FORMAT_TEXT },
    { ",,;;=,application/openmetrics-text", HALE_METRICS_FORMAT_OPENMETRICS },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("Accept: %s", cases[i].accept ? cases[i].accept : "(none)");
      g_assert_cmpint (hale_exposition_negotiate (cases[i].accept), ==, cases[i].format);
    }
  g_assert_cmpstr (hale_exposition_content_type (HALE_METRICS_FORMAT_TEXT), ==,
                   "text/plain; version=0.0.4; charset=utf-8");
  g_assert_cmpstr (hale_exposition_content_type (HALE_METRICS_FORMAT_OPENMETRICS), ==,
                   "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

static double
sample_value (const char *text, const char *name)
{
  g_autofree char *prefix = g_strconcat (name, " ", NULL);
  g_autofree char *sample = find_sample (text, prefix);

  if (sample == NULL)
    g_error ("no sample %s in:\n%s", name, text);
  return g_ascii_strtod (sample, NULL);
}

static void
test_process (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
  g_autofree char *text = NULL;
  g_autofree char *om = NULL;
  double now = (double)g_get_real_time () / G_USEC_PER_SEC;
  double start, resident, virt, open_fds, max_fds, cpu;

  hale_process_collector_add (metrics);
  hale_process_collector_add (metrics); /* once is enough */
  text = render_string (metrics, HALE_METRICS_FORMAT_TEXT);

  g_assert_nonnull (strstr (text, "# HELP process_cpu_seconds_total Total user and system CPU "
                                  "time spent in seconds.\n# TYPE process_cpu_seconds_total "
                                  "counter\n"));
  g_assert_null (strstr (text, "hale_process"));
  cpu = sample_value (text, "process_cpu_seconds_total");
  resident = sample_value (text, "process_resident_memory_bytes");
  virt = sample_value (text, "process_virtual_memory_bytes");
  start = sample_value (text, "process_start_time_seconds");
  open_fds = sample_value (text, "process_open_fds");
  max_fds = sample_value (text, "process_max_fds");

  g_assert_cmpfloat (cpu, >=, 0);
  g_assert_cmpfloat (cpu, <, 3600);
  g_assert_cmpfloat (resident, >, 1024 * 1024);
  g_assert_cmpfloat (virt, >=, resident);
  /* Started before now, and not long ago (a test run). */
  g_assert_cmpfloat (start, <=, now + 1);
  g_assert_cmpfloat (start, >, now - 3600);
  g_assert_cmpfloat (open_fds, >=, 3);
  g_assert_cmpfloat (open_fds, <=, max_fds);
  g_assert_cmpfloat (max_fds, >=, 64);

  /* In OpenMetrics the counter's family drops _total and units show. */
  om = render_string (metrics, HALE_METRICS_FORMAT_OPENMETRICS);
  g_assert_nonnull (strstr (om, "# TYPE process_cpu_seconds counter\n"
                                "# UNIT process_cpu_seconds seconds\n"));
  g_assert_nonnull (strstr (om, "\nprocess_cpu_seconds_total "));
  g_assert_nonnull (strstr (om, "# UNIT process_resident_memory_bytes bytes\n"));
  g_assert_true (g_str_has_suffix (om, "\n# EOF\n"));
}

static void
test_label_count (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
      const char *const names[] = { "a", "b", NULL };
      HaleMetricFamily *f = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "two", "Two.", NULL,
                                              names, NULL, 0, HALE_METRIC_FLAGS_NONE);
      g_autofree char *text = NULL;

      /* Criticals are fatal in tests; here we want to see that the
       * caller survives one. */
      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      hale_metric_set (f, (const char *const[]){ "x", NULL }, 1);
      hale_metric_set (f, NULL, 1);
      hale_metric_set (f, (const char *const[]){ "x", "y", "z", NULL }, 1);
      g_assert_false (hale_metric_get (f, (const char *const[]){ "x", NULL }, NULL));
      text = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
      g_assert_cmpstr (text, ==, "");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*CRITICAL*hale_two has 2 labels but was given 1 label values*"
                             "*CRITICAL*given 0 label values*"
                             "*CRITICAL*given 3 label values*");
}

static void
test_invalid_utf8 (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
  HaleMetricFamily *f
      = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "g", "G.", NULL,
                          (const char *const[]){ "cn", NULL }, NULL, 0, HALE_METRIC_FLAGS_NONE);
  g_autofree char *text = NULL;

  /* A certificate's subject is not ours to trust: invalid UTF-8 in a
   * label value must not make the exposition invalid. */
  hale_metric_set (f, (const char *const[]){ "bad\xff\xfe", NULL }, 1);
  text = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_nonnull (strstr (text, "hale_g{cn=\"bad\xef\xbf\xbd\xef\xbf\xbd\"} 1\n"));
}

static void
test_performance (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
  const char *const names[] = { "type", "path", NULL };
  HaleMetricFamily *f = hale_metrics_add (metrics, HALE_METRIC_GAUGE, "certificate_expiry_seconds",
                                          "Seconds until expiry.", "seconds", names, NULL, 0,
                                          HALE_METRIC_FLAGS_NONE);
  g_autoptr (HaleExposition) exposition = hale_exposition_new (metrics);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GBytes) again = NULL;
  g_autoptr (GBytes) gz = NULL;
  g_auto (GStrv) lines = NULL;
  g_autofree char *text = NULL;
  gint64 start, rendered, zipped;
  guint samples = 0;

  for (guint i = 0; i < 10000; i++)
    {
      g_autofree char *type = g_strdup_printf ("cert%05u", i);
      g_autofree char *path = g_strdup_printf ("/etc/ssl/private/cert%05u.pem", i);

      if (i % 2 == 0)
        hale_metric_set (f, (const char *const[]){ type, path, NULL }, 86400.0 * i + 0.5);
      else
        hale_metric_set_until (f, (const char *const[]){ type, path, NULL }, 4102444800.0 - i);
    }

  start = g_get_monotonic_time ();
  bytes = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
  rendered = g_get_monotonic_time ();
  gz = hale_exposition_render (exposition, HALE_METRICS_FORMAT_TEXT, TRUE);
  zipped = g_get_monotonic_time ();
  g_test_message ("10,000 series: first render (sorts) %.2f ms (%" G_GSIZE_FORMAT
                  " bytes), gzip %.2f ms (%" G_GSIZE_FORMAT " bytes)",
                  (rendered - start) / 1000.0, g_bytes_get_size (bytes),
                  (zipped - rendered) / 1000.0, g_bytes_get_size (gz));

  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "hale_certificate_expiry_seconds{"))
      samples++;
  g_assert_cmpuint (samples, ==, 10000);
  /* Sorted by label values. */
  g_assert_true (g_str_has_prefix (lines[2], "hale_certificate_expiry_seconds{type=\"cert00000\""));
  g_assert_true (
      g_str_has_prefix (lines[10001], "hale_certificate_expiry_seconds{type=\"cert09999\""));

  /* Half the series depend on the clock: the cache holds within the
   * second (a slow, sanitized build may cross into the next one). */
  start = g_get_monotonic_time ();
  again = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
  g_test_message ("10,000 series: %s render %.3f ms",
                  g_bytes_get_data (again, NULL) == g_bytes_get_data (bytes, NULL) ? "cached"
                                                                                   : "second",
                  (g_get_monotonic_time () - start) / 1000.0);

  /* One value changes: a full render, without the sort of the first. */
  hale_metric_set (f, (const char *const[]){ "cert00000", "/etc/ssl/private/cert00000.pem", NULL },
                   1);
  g_clear_pointer (&again, g_bytes_unref);
  start = g_get_monotonic_time ();
  again = hale_metrics_render (metrics, HALE_METRICS_FORMAT_TEXT);
  g_test_message ("10,000 series: render after one change %.2f ms",
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_false (g_bytes_equal (again, bytes));
}

typedef struct
{
  HaleMetricFamily *attempts;
  HaleMetricFamily *last;
} Owner;

static const char *const result_label[] = { "result", NULL };

static const HaleMetricDesc owner_families[] = {
  { G_STRUCT_OFFSET (Owner, attempts), HALE_METRIC_COUNTER, "attempts_total", "Attempts.", NULL,
    result_label, NULL, 0, HALE_METRIC_FLAGS_NONE },
  { G_STRUCT_OFFSET (Owner, last), HALE_METRIC_GAUGE, "last_attempt_timestamp_seconds",
    "Last attempt.", "seconds", NULL, NULL, 0, HALE_METRIC_FLAGS_NONE },
};

/* A module's table fills its fields; a second module naming the same
 * family in its table gets the same one. */
static void
test_table (void)
{
  g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
  Owner a = { 0 }, b = { 0 };
  g_autofree char *text = NULL;

  hale_metrics_add_table (metrics, owner_families, G_N_ELEMENTS (owner_families), &a);
  hale_metrics_add_table (metrics, owner_families, 1, &b);
  g_assert_nonnull (a.attempts);
  g_assert_nonnull (a.last);
  g_assert_true (a.attempts == b.attempts);
  g_assert_null (b.last);

  hale_metric_inc (b.attempts, SUCCESS, 1);
  hale_metric_set (a.last, NULL, 1700000000);
  text = render_string (metrics, HALE_METRICS_FORMAT_TEXT);
  g_assert_nonnull (strstr (text, "\nhale_attempts_total{result=\"success\"} 1\n"));
  g_assert_nonnull (strstr (text, "\nhale_last_attempt_timestamp_seconds 1700000000\n"));
}

/* One name with two meanings is a programming error, said loudly. */
static void
test_table_conflict (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");

      hale_metrics_add (metrics, HALE_METRIC_COUNTER, "attempts_total", "Attempts.", NULL, NULL,
                        NULL, 0, HALE_METRIC_FLAGS_NONE);
      hale_metrics_add (metrics, HALE_METRIC_COUNTER, "attempts_total", "Attempts.", NULL,
                        result_label, NULL, 0, HALE_METRIC_FLAGS_NONE);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*attempts_total registered twice with different types or labels*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/metrics/golden", test_golden);
  g_test_add_func ("/metrics/promtool", test_promtool);
  g_test_add_func ("/metrics/namespace", test_namespace);
  g_test_add_func ("/metrics/clocked", test_clocked);
  g_test_add_func ("/metrics/cache", test_cache);
  g_test_add_func ("/metrics/cache-clocked", test_cache_clocked);
  g_test_add_func ("/metrics/remove", test_remove);
  g_test_add_func ("/metrics/histogram", test_histogram);
  g_test_add_func ("/metrics/values", test_values);
  g_test_add_func ("/metrics/table", test_table);
  g_test_add_func ("/metrics/table-conflict", test_table_conflict);
  g_test_add_func ("/metrics/gzip", test_gzip);
  g_test_add_func ("/metrics/negotiate", test_negotiate);
  g_test_add_func ("/metrics/process", test_process);
  g_test_add_func ("/metrics/label-count", test_label_count);
  g_test_add_func ("/metrics/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/metrics/performance", test_performance);

  return g_test_run ();
}
