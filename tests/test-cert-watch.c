/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-cert-watch.c: certificate files watched as rotation tools
 * replace them, against the real main loop, inotify and GnuTLS. */
#include "config.h"

#include "hale-cert-watch.h"

#include <sys/stat.h>
#include "hale-names.h"
#include "hale-report.h"
#include "hale-test-cert.h"
#include "hale-test-util.h"

#include <json-glib/json-glib.h>

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DAY (24 * 3600)
/* Nothing here should take long; a failing test fails instead of
 * hanging. */
#define WAIT_MS 5000

typedef struct
{
  char *tmp;
  char *certs;
  char *state_dir;
  HaleState *state;
  HaleMetrics *metrics;
  HaleCertWatch *watch;

  guint renewals;
  char *renewed_name;
  char *renewed_previous;
  char *renewed_current;
} Fixture;

/* Helpers ----------------------------------------------------------------- */

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static gboolean
flag_cb (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static char *
detail_string (HaleCheckResult *result, const char *key)
{
  g_autoptr (GVariant) v = g_variant_lookup_value (result->details, key, G_VARIANT_TYPE_STRING);
  return v != NULL ? g_variant_dup_string (v, NULL) : NULL;
}

static gboolean
check_matches (Fixture *fx, const char *name, const char *serial, int status, const char *error)
{
  g_autofree char *check_name = g_strconcat (HALE_CHECK_PREFIX_CERTIFICATE, name, NULL);
  g_autoptr (HaleCheckResult) result = hale_state_get_check (fx->state, check_name);
  g_autofree char *s = NULL;
  g_autofree char *e = NULL;

  if (result == NULL)
    return FALSE;
  s = detail_string (result, "serial");
  e = detail_string (result, "error");
  if (serial != NULL && g_strcmp0 (s, serial) != 0)
    return FALSE;
  if (status >= 0 && (int)result->status != status)
    return FALSE;
  if (error != NULL && g_strcmp0 (e, error) != 0)
    return FALSE;
  if (error == NULL && serial != NULL && e != NULL)
    return FALSE;
  return TRUE;
}

/* Iterates the main loop until the check "certificate:NAME" shows
 * @serial (NULL: any), @status (-1: any) and @error (NULL: none when a
 * serial is asked for). FALSE after WAIT_MS. */
static gboolean
wait_check (Fixture *fx, const char *name, const char *serial, int status, const char *error)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (WAIT_MS, flag_cb, &timed_out);

  while (!check_matches (fx, name, serial, status, error) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return check_matches (fx, name, serial, status, error);
}

/* The details of certificate @name as /health/certificate shows them:
 * the state keeps only what the file says, the report adds what follows
 * from the clock. */
static JsonObject *
report_details (Fixture *fx, const char *name)
{
  g_autoptr (HaleReport) report = hale_report_new (fx->state);
  g_autoptr (GBytes) json = hale_report_get_json (report, HALE_REPORT_CERTIFICATE, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *certificates, *check;

  json_parser_load_from_data (parser, g_bytes_get_data (json, NULL), g_bytes_get_size (json),
                              &error);
  g_assert_no_error (error);
  certificates = json_object_get_object_member (
      json_node_get_object (json_parser_get_root (parser)), "certificates");
  check = json_object_get_object_member (certificates, name);
  g_assert_nonnull (check);
  return json_object_ref (json_object_get_object_member (check, "details"));
}

static HaleCheckResult *
get_check (Fixture *fx, const char *name)
{
  g_autofree char *check_name = g_strconcat (HALE_CHECK_PREFIX_CERTIFICATE, name, NULL);
  return hale_state_get_check (fx->state, check_name);
}

static gboolean
metric_get (HaleMetrics *metrics, const char *family_name, const char *const *labels, double *value)
{
  HaleMetricFamily *family = hale_metrics_lookup (metrics, family_name);
  return hale_metric_get (family, labels, value);
}

static double
renewals_total (HaleMetrics *metrics, const char *result)
{
  const char *labels[] = { result, NULL };
  double v = -1;

  g_assert_true (metric_get (metrics, "certificate_renewal_attempts_total", labels, &v));
  return v;
}

static HaleTestCert *
make_cert (const char *cn, const char *serial, gint64 not_before, gint64 not_after)
{
  g_autoptr (GError) error = NULL;
  HaleTestCert *cert = hale_test_cert_new_simple (cn, serial, not_before, not_after, &error);

  g_assert_no_error (error);
  return cert;
}

/* As rotation tools do: a temporary file, then rename over the old one. */
static void
write_atomic (const char *path, HaleTestCert *cert)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);

  g_assert_true (hale_test_cert_write (cert, NULL, tmp, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

static void
write_in_place (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");

  g_assert_nonnull (f);
  g_assert_cmpint (fputs (text, f), >=, 0);
  g_assert_cmpint (fclose (f), ==, 0);
}

static char *
cert_path (Fixture *fx, const char *name)
{
  g_autofree char *base = g_strconcat (name, ".pem", NULL);
  return g_build_filename (fx->certs, base, NULL);
}

/* hale.conf with one [Certificate] group per NAME, each at certs/NAME.pem;
 * @extra is appended to every group. */
static HaleConfig *
make_config (Fixture *fx, const char *const *names, const char *extra)
{
  g_autoptr (GString) text = g_string_new ("[Monitoring]\nCertificateRecheckInterval=60s\n");
  g_autofree char *path = g_build_filename (fx->tmp, "hale.conf", NULL);
  g_autoptr (GError) error = NULL;
  HaleConfig *config;

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *p = cert_path (fx, names[i]);
      g_string_append_printf (text, "\n[Certificate %s]\nPath=%s\n%s", names[i], p,
                              extra != NULL ? extra : "");
    }
  g_assert_true (g_file_set_contents (path, text->str, -1, &error));
  config = hale_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

static void
configure (Fixture *fx, const char *const *names, const char *extra)
{
  g_autoptr (HaleConfig) config = make_config (fx, names, extra);
  hale_cert_watch_configure (fx->watch, config);
}

static void
renewed_cb (HaleCertWatch *watch, const char *name, const HaleCertInfo *previous,
            const HaleCertInfo *current, Fixture *fx)
{
  fx->renewals++;
  g_free (fx->renewed_name);
  g_free (fx->renewed_previous);
  g_free (fx->renewed_current);
  fx->renewed_name = g_strdup (name);
  fx->renewed_previous = g_strdup (previous->serial);
  fx->renewed_current = g_strdup (current->serial);
}

static HaleCertWatch *
new_watch (Fixture *fx)
{
  HaleCertWatch *watch = hale_cert_watch_new (fx->state, fx->metrics, fx->state_dir);
  g_signal_connect (watch, "renewed", G_CALLBACK (renewed_cb), fx);
  return watch;
}

/* Drops @watch and waits until it is finalized: a state file write in
 * flight holds a reference, so afterwards the state is on disk. */
static void
drop_watch (HaleCertWatch **watch)
{
  gboolean timed_out = FALSE;
  guint id;
  gpointer weak = *watch;

  g_object_add_weak_pointer (G_OBJECT (*watch), &weak);
  g_clear_object (watch);
  id = g_timeout_add (WAIT_MS, flag_cb, &timed_out);
  while (weak != NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (weak);
  g_source_remove (id);
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->tmp = g_dir_make_tmp ("hale-test-cert-watch-XXXXXX", &error);
  g_assert_no_error (error);
  fx->certs = g_build_filename (fx->tmp, "certs", NULL);
  fx->state_dir = g_build_filename (fx->tmp, "state", NULL);
  g_assert_cmpint (g_mkdir (fx->certs, 0755), ==, 0);
  fx->state = hale_state_new ();
  fx->metrics = hale_metrics_new ("hale");
  fx->watch = new_watch (fx);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  hale_test_expect_warning (NULL);
  if (fx->watch != NULL)
    drop_watch (&fx->watch);
  g_clear_object (&fx->state);
  g_clear_object (&fx->metrics);
  hale_test_remove_tree (fx->tmp);
  g_free (fx->tmp);
  g_free (fx->certs);
  g_free (fx->state_dir);
  g_free (fx->renewed_name);
  g_free (fx->renewed_previous);
  g_free (fx->renewed_current);
}

static void
start_with (Fixture *fx, const char *name, HaleTestCert *cert, const char *extra)
{
  const char *names[] = { name, NULL };
  g_autofree char *path = cert_path (fx, name);

  write_atomic (path, cert);
  configure (fx, names, extra);
  g_assert_true (wait_check (fx, name, hale_test_cert_get_serial (cert), -1, NULL));
}

/* Tests ------------------------------------------------------------------- */

static void
test_initial (Fixture *fx, gconstpointer data)
{
  gint64 now = now_seconds ();
  g_autoptr (HaleTestCert) cert = make_cert ("www.example.test", "01aa", now - DAY, now + 30 * DAY);
  g_autoptr (HaleCheckResult) result = NULL;
  g_autofree char *path = cert_path (fx, "current");
  g_autofree char *expires_at = NULL;
  g_autofree char *not_before = NULL;
  g_autoptr (JsonObject) shown = NULL;
  g_autoptr (GDateTime) na = g_date_time_new_from_unix_utc (now + 30 * DAY);
  g_autofree char *na_text = g_date_time_format (na, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *fpr = NULL;
  const char *type[] = { "current", "", NULL };
  const char *info_labels[]
      = { "current", "", "01aa", "CN=www.example.test", "CN=www.example.test", NULL };
  gint64 remaining_seconds = 0, not_after = 0, lifetime = 0;
  double percentage = -1, v = 0;
  guint32 chain_length = 0;
  const HaleCertInfo *info;

  start_with (fx, "current", cert, NULL);

  result = get_check (fx, "current");
  g_assert_cmpstr (result->name, ==, "certificate:current");
  g_assert_cmpint (result->status, ==, HALE_CHECK_HEALTHY);
  /* Whole days: the message changes once a day, not at every re-check. */
  g_assert_true (g_str_equal (result->message, "expires in 29d")
                 || g_str_equal (result->message, "expires in 30d"));
  g_assert_cmpstr ((expires_at = detail_string (result, "expires_at")), ==, na_text);
  g_assert_nonnull ((not_before = detail_string (result, "not_before")));
  g_assert_true (g_str_has_suffix (not_before, "Z"));
  g_assert_cmpstr ((fpr = detail_string (result, "fingerprint_sha256")), !=, NULL);
  g_assert_cmpuint (strlen (fpr), ==, 64);
  {
    g_autofree char *p = detail_string (result, "path");
    g_autofree char *subject = detail_string (result, "subject");
    g_autofree char *issuer = detail_string (result, "issuer");
    g_autofree char *chain = detail_string (result, "chain_expires_at");
    g_assert_cmpstr (p, ==, path);
    g_assert_cmpstr (subject, ==, "CN=www.example.test");
    g_assert_cmpstr (issuer, ==, "CN=www.example.test");
    g_assert_cmpstr (chain, ==, na_text);
  }
  g_assert_true (g_variant_lookup (result->details, "not_after", "x", &not_after));
  g_assert_cmpint (not_after, ==, now + 30 * DAY);
  g_assert_true (g_variant_lookup (result->details, "lifetime_seconds", "x", &lifetime));
  g_assert_cmpint (lifetime, ==, 31 * DAY);
  /* Nothing in the state moves with the clock... */
  g_assert_false (g_variant_lookup (result->details, "remaining", "s", NULL));
  g_assert_false (g_variant_lookup (result->details, "remaining_seconds", "x", NULL));
  g_assert_false (g_variant_lookup (result->details, "percentage", "d", NULL));
  /* ...and /health/certificate still shows it, worked out when rendered. */
  shown = report_details (fx, "current");
  remaining_seconds = json_object_get_int_member (shown, "remaining_seconds");
  g_assert_cmpint (remaining_seconds, <=, 30 * DAY);
  g_assert_cmpint (remaining_seconds, >=, 30 * DAY - 10);
  g_assert_true (g_str_equal (json_object_get_string_member (shown, "remaining"), "29d23h")
                 || g_str_equal (json_object_get_string_member (shown, "remaining"), "30d0h"));
  percentage = json_object_get_double_member (shown, "percentage");
  g_assert_cmpfloat_with_epsilon (percentage, 100.0 / 31.0, 0.1);
  g_assert_cmpstr (json_object_get_string_member (shown, "expires_at"), ==, na_text);
  g_assert_true (g_variant_lookup (result->details, "chain_length", "u", &chain_length));
  g_assert_cmpuint (chain_length, ==, 1);
  g_assert_false (g_variant_lookup (result->details, "error", "s", NULL));
  g_assert_false (g_variant_lookup (result->details, "last_renewal", "s", NULL));

  /* metrics */
  g_assert_true (metric_get (fx->metrics, "certificate_expiry_seconds", type, &v));
  g_assert_cmpfloat (v, <=, 30.0 * DAY);
  g_assert_cmpfloat (v, >=, 30.0 * DAY - 10);
  g_assert_true (metric_get (fx->metrics, "certificate_age_seconds", type, &v));
  g_assert_cmpfloat (v, >=, DAY);
  g_assert_cmpfloat (v, <=, DAY + 10);
  g_assert_true (metric_get (fx->metrics, "certificate_not_after_timestamp_seconds", type, &v));
  g_assert_cmpfloat (v, ==, (double)(now + 30 * DAY));
  g_assert_true (metric_get (fx->metrics, "certificate_not_before_timestamp_seconds", type, &v));
  g_assert_cmpfloat (v, ==, (double)(now - DAY));
  g_assert_true (metric_get (fx->metrics, "certificate_chain_expiry_seconds", type, &v));
  g_assert_cmpfloat (v, >=, 30.0 * DAY - 10);
  g_assert_true (metric_get (fx->metrics, "certificate_valid", type, &v));
  g_assert_cmpfloat (v, ==, 1);
  g_assert_true (metric_get (fx->metrics, "certificate_info", info_labels, &v));
  g_assert_cmpfloat (v, ==, 1);
  g_assert_false (metric_get (fx->metrics, "last_renewal_timestamp_seconds", type, &v));
  /* Both results exist from the start, at 0: the first serial is not a
   * renewal. */
  g_assert_cmpfloat (renewals_total (fx->metrics, "success"), ==, 0);
  g_assert_cmpfloat (renewals_total (fx->metrics, "failure"), ==, 0);
  g_assert_cmpuint (fx->renewals, ==, 0);

  /* What a scrape shows. */
  {
    g_autoptr (GBytes) text = hale_metrics_render (fx->metrics, HALE_METRICS_FORMAT_TEXT);
    g_autofree char *s = g_strndup (g_bytes_get_data (text, NULL), g_bytes_get_size (text));
    g_test_message ("%s", s);
    g_assert_nonnull (strstr (s, "\nhale_certificate_expiry_seconds{type=\"current\"} "));
    g_assert_nonnull (
        strstr (s, "\nhale_certificate_renewal_attempts_total{result=\"failure\"} 0"));
    g_assert_nonnull (strstr (s, "\nhale_certificate_valid{type=\"current\"} 1"));
  }

  info = hale_cert_watch_get_info (fx->watch, "current");
  g_assert_nonnull (info);
  g_assert_cmpstr (info->serial, ==, "01aa");
  g_assert_null (hale_cert_watch_get_info (fx->watch, "other"));
}

static void
test_rename (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) old_cert = make_cert ("a.test", "01", 0, 0);
  g_autoptr (HaleTestCert) new_cert = make_cert ("a.test", "02", 0, 0);
  g_autofree char *path = cert_path (fx, "current");
  g_autoptr (HaleCheckResult) result = NULL;
  g_autofree char *last_renewal = NULL;
  const char *type[] = { "current", "", NULL };
  const char *old_info[] = { "current", "", "01", "CN=a.test", "CN=a.test", NULL };
  const char *new_info[] = { "current", "", "02", "CN=a.test", "CN=a.test", NULL };
  gint64 start, latency;
  double v = 0;

  start_with (fx, "current", old_cert, NULL);
  /* Let the first read's events settle: only the rename is measured. */
  hale_test_spin (150);

  start = g_get_monotonic_time ();
  write_atomic (path, new_cert);
  g_assert_true (wait_check (fx, "current", "02", HALE_CHECK_HEALTHY, NULL));
  latency = g_get_monotonic_time () - start;
  g_test_message ("rename to state update: %" G_GINT64_FORMAT " ms", latency / 1000);
  g_assert_cmpint (latency, <, G_USEC_PER_SEC);

  g_assert_cmpuint (fx->renewals, ==, 1);
  g_assert_cmpstr (fx->renewed_name, ==, "current");
  g_assert_cmpstr (fx->renewed_previous, ==, "01");
  g_assert_cmpstr (fx->renewed_current, ==, "02");
  g_assert_cmpfloat (renewals_total (fx->metrics, "success"), ==, 1);

  result = get_check (fx, "current");
  last_renewal = detail_string (result, "last_renewal");
  g_assert_nonnull (last_renewal);
  g_assert_true (g_str_has_suffix (last_renewal, "Z"));
  g_assert_true (metric_get (fx->metrics, "last_renewal_timestamp_seconds", type, &v));
  g_assert_cmpfloat (v, >=, (double)now_seconds () - 5);
  g_assert_cmpfloat (v, <=, (double)now_seconds ());

  /* The info series follows the serial. */
  g_assert_false (metric_get (fx->metrics, "certificate_info", old_info, &v));
  g_assert_true (metric_get (fx->metrics, "certificate_info", new_info, &v));
  g_assert_cmpstr (hale_cert_watch_get_info (fx->watch, "current")->serial, ==, "02");

  /* More events and a re-read of the same file: still one renewal. */
  hale_test_spin (300);
  hale_cert_watch_recheck (fx->watch);
  hale_test_spin (200);
  g_assert_cmpuint (fx->renewals, ==, 1);
  g_assert_cmpfloat (renewals_total (fx->metrics, "success"), ==, 1);
}

static void
test_in_place (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) old_cert = make_cert ("a.test", "0a", 0, 0);
  g_autoptr (HaleTestCert) new_cert = make_cert ("a.test", "0b", 0, 0);
  g_autofree char *path = cert_path (fx, "current");
  g_autofree char *pem = hale_test_cert_get_pem (new_cert);
  gint64 start;

  start_with (fx, "current", old_cert, NULL);
  hale_test_spin (150);

  start = g_get_monotonic_time ();
  write_in_place (path, pem);
  g_assert_true (wait_check (fx, "current", "0b", HALE_CHECK_HEALTHY, NULL));
  g_test_message ("in-place write to state update: %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  hale_test_spin (200);
  g_assert_cmpuint (fx->renewals, ==, 1);
}

static void
test_delete (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) cert = make_cert ("a.test", "0c", 0, 0);
  g_autofree char *path = cert_path (fx, "current");
  g_autoptr (HaleCheckResult) result = NULL;
  g_autofree char *error_message = NULL;
  g_autofree char *expected = NULL;
  const char *type[] = { "current", "", NULL };
  const char *not_found[] = { "current", "", "not_found", NULL };
  gint64 start;
  double v = -1;

  start_with (fx, "current", cert, NULL);
  hale_test_spin (150);

  start = g_get_monotonic_time ();
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_true (wait_check (fx, "current", NULL, HALE_CHECK_CRITICAL, "not_found"));
  g_test_message ("delete to state update: %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);

  result = get_check (fx, "current");
  expected = g_strdup_printf ("not_found: %s does not exist", path);
  g_assert_cmpstr (result->message, ==, expected);
  error_message = detail_string (result, "error_message");
  g_assert_nonnull (strstr (error_message, path));

  g_assert_true (metric_get (fx->metrics, "certificate_valid", type, &v));
  g_assert_cmpfloat (v, ==, 0);
  g_assert_true (metric_get (fx->metrics, "certificate_read_errors_total", not_found, &v));
  g_assert_cmpfloat (v, ==, 1);
  /* The last good certificate is still known: it is what is served. */
  g_assert_cmpstr (hale_cert_watch_get_info (fx->watch, "current")->serial, ==, "0c");
}

static void
test_garbage_then_recover (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) cert = make_cert ("a.test", "0d", 0, 0);
  g_autoptr (HaleTestCert) cert2 = make_cert ("a.test", "0e", 0, 0);
  g_autofree char *path = cert_path (fx, "current");
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);
  g_autoptr (HaleCheckResult) result = NULL;
  const char *type[] = { "current", "", NULL };
  const char *bad_pem[] = { "current", "", "bad_pem", NULL };
  double v = -1;

  start_with (fx, "current", cert, NULL);
  hale_test_spin (150);

  g_assert_true (g_file_set_contents (
      tmp, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", -1,
      NULL));
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
  g_assert_true (wait_check (fx, "current", NULL, HALE_CHECK_CRITICAL, "bad_pem"));
  result = get_check (fx, "current");
  g_assert_true (g_str_has_prefix (result->message, "bad_pem: "));
  g_assert_nonnull (strstr (result->message, path));
  g_assert_true (metric_get (fx->metrics, "certificate_valid", type, &v));
  g_assert_cmpfloat (v, ==, 0);
  g_assert_true (metric_get (fx->metrics, "certificate_read_errors_total", bad_pem, &v));
  g_assert_cmpfloat (v, >=, 1);

  /* A key where the certificate should be. */
  {
    g_autofree char *key = hale_test_cert_get_key_pem (cert);
    g_assert_true (g_file_set_contents (tmp, key, -1, NULL));
    g_assert_cmpint (g_rename (tmp, path), ==, 0);
    g_assert_true (wait_check (fx, "current", NULL, HALE_CHECK_CRITICAL, "no_certificate"));
  }

  write_atomic (path, cert2);
  g_assert_true (wait_check (fx, "current", "0e", HALE_CHECK_HEALTHY, NULL));
  g_assert_true (metric_get (fx->metrics, "certificate_valid", type, &v));
  g_assert_cmpfloat (v, ==, 1);
  g_assert_cmpuint (fx->renewals, ==, 1);
}

/* What is not a certificate file is said so, and blocks nothing: a FIFO
 * at one path (opening it would hang a GIO thread), a huge file at
 * another; the certificate beside them is still watched. */
static void
test_not_a_certificate_file (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) cert = make_cert ("a.test", "0a", 0, 0);
  g_autoptr (HaleTestCert) cert2 = make_cert ("a.test", "0b", 0, 0);
  const char *names[] = { "current", "fifo", "huge", NULL };
  g_autofree char *path = cert_path (fx, "current");
  g_autofree char *fifo = cert_path (fx, "fifo");
  g_autofree char *huge = cert_path (fx, "huge");
  g_autofree char *zeros = g_malloc0 (2 * 1024 * 1024);
  g_autoptr (HaleCheckResult) result = NULL;

  write_atomic (path, cert);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_true (g_file_set_contents (huge, zeros, 2 * 1024 * 1024, NULL));
  configure (fx, names, NULL);

  g_assert_true (wait_check (fx, "fifo", NULL, HALE_CHECK_CRITICAL, "read_failed"));
  result = get_check (fx, "fifo");
  g_assert_nonnull (strstr (result->message, "not a regular file"));
  g_clear_pointer (&result, hale_check_result_unref);
  g_assert_true (wait_check (fx, "huge", NULL, HALE_CHECK_CRITICAL, "read_failed"));
  result = get_check (fx, "huge");
  g_assert_nonnull (strstr (result->message, "larger than 1024 KiB"));

  /* Re-checks of the FIFO do not pile up blocked reads: the renewal
   * beside it is seen as quickly as ever. */
  g_assert_true (wait_check (fx, "current", "0a", HALE_CHECK_HEALTHY, NULL));
  for (int i = 0; i < 20; i++)
    hale_cert_watch_recheck (fx->watch);
  write_atomic (path, cert2);
  g_assert_true (wait_check (fx, "current", "0b", HALE_CHECK_HEALTHY, NULL));
}

/* The same certificate back after a broken file is no renewal. */
static void
test_same_serial_back (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) cert = make_cert ("a.test", "0f", 0, 0);
  g_autofree char *path = cert_path (fx, "current");

  start_with (fx, "current", cert, NULL);
  hale_test_spin (150);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_true (wait_check (fx, "current", NULL, HALE_CHECK_CRITICAL, "not_found"));
  write_atomic (path, cert);
  g_assert_true (wait_check (fx, "current", "0f", HALE_CHECK_HEALTHY, NULL));
  g_assert_cmpuint (fx->renewals, ==, 0);
  g_assert_cmpfloat (renewals_total (fx->metrics, "success"), ==, 0);
}

static void
test_thresholds (Fixture *fx, gconstpointer data)
{
  gint64 now = now_seconds ();
  const char *names[] = { "ok", "warn", "crit", "expired", "future", NULL };
  g_autoptr (HaleTestCert) ok = make_cert ("ok", "11", now - DAY, now + 10 * DAY);
  g_autoptr (HaleTestCert) warn = make_cert ("warn", "12", now - DAY, now + 2 * DAY);
  g_autoptr (HaleTestCert) crit = make_cert ("crit", "13", now - DAY, now + 12 * 3600);
  g_autoptr (HaleTestCert) expired = make_cert ("expired", "14", now - 90 * DAY, now - 2 * DAY);
  g_autoptr (HaleTestCert) future = make_cert ("future", "15", now + DAY, now + 90 * DAY);
  HaleTestCert *certs[] = { ok, warn, crit, expired, future };
  g_autoptr (HaleCheckResult) r_expired = NULL;
  g_autoptr (HaleCheckResult) r_future = NULL;
  g_autoptr (HaleCheckResult) r_warn = NULL;
  const char *type[] = { "expired", "", NULL };
  double v = -1;

  for (guint i = 0; i < G_N_ELEMENTS (certs); i++)
    {
      g_autofree char *p = cert_path (fx, names[i]);
      write_atomic (p, certs[i]);
    }
  configure (fx, names, "WarningBefore=72h\nCriticalBefore=1d\n");

  g_assert_true (wait_check (fx, "ok", "11", HALE_CHECK_HEALTHY, NULL));
  g_assert_true (wait_check (fx, "warn", "12", HALE_CHECK_WARNING, NULL));
  g_assert_true (wait_check (fx, "crit", "13", HALE_CHECK_CRITICAL, NULL));
  g_assert_true (wait_check (fx, "expired", "14", HALE_CHECK_CRITICAL, NULL));
  g_assert_true (wait_check (fx, "future", "15", HALE_CHECK_CRITICAL, NULL));

  r_warn = get_check (fx, "warn");
  g_assert_true (g_str_equal (r_warn->message, "expires in 1d")
                 || g_str_equal (r_warn->message, "expires in 2d"));
  r_expired = get_check (fx, "expired");
  g_assert_true (g_str_equal (r_expired->message, "expired 2d ago")
                 || g_str_equal (r_expired->message, "expired 1d ago"));
  g_assert_true (metric_get (fx->metrics, "certificate_valid", type, &v));
  g_assert_cmpfloat (v, ==, 0);
  g_assert_true (metric_get (fx->metrics, "certificate_expiry_seconds", type, &v));
  g_assert_cmpfloat (v, <, -2.0 * DAY + 10);
  r_future = get_check (fx, "future");
  g_assert_true (g_str_has_prefix (r_future->message, "not yet valid"));
  {
    g_autoptr (JsonObject) expired_shown = report_details (fx, "expired");
    g_autoptr (JsonObject) future_shown = report_details (fx, "future");
    g_assert_cmpfloat (json_object_get_double_member (expired_shown, "percentage"), ==, 100);
    g_assert_cmpint (json_object_get_int_member (expired_shown, "remaining_seconds"), <,
                     -2 * DAY + 10);
    g_assert_cmpfloat (json_object_get_double_member (future_shown, "percentage"), ==, 0);
  }
}

/* Status moves with the clock, not only with the file: crossing the
 * critical threshold changes the check without a read or a poll (the
 * periodic re-check is a minute away). */
static void
test_threshold_crossing (Fixture *fx, gconstpointer data)
{
  gint64 now = now_seconds ();
  g_autoptr (HaleTestCert) cert = make_cert ("soon", "21", now - DAY, now + 4);
  gint64 start;

  start_with (fx, "soon", cert, "WarningBefore=1h\nCriticalBefore=2s\n");
  g_assert_true (wait_check (fx, "soon", "21", HALE_CHECK_WARNING, NULL));
  start = g_get_monotonic_time ();
  g_assert_true (wait_check (fx, "soon", "21", HALE_CHECK_CRITICAL, NULL));
  g_test_message ("warning -> critical after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_true (wait_check (fx, "soon", "21", HALE_CHECK_CRITICAL, NULL));
  {
    g_autoptr (HaleCheckResult) r = get_check (fx, "soon");
    g_assert_true (g_str_has_prefix (r->message, "expires in"));
  }
}

static void
test_chain_expires_first (Fixture *fx, gconstpointer data)
{
  gint64 now = now_seconds ();
  HaleTestCertParams ca_params
      = { .cn = "Short CA", .not_before = now - DAY, .not_after = now + 2 * DAY, .is_ca = TRUE };
  HaleTestCertParams leaf_params
      = { .cn = "leaf", .serial_hex = "31", .not_before = now - DAY, .not_after = now + 60 * DAY };
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleTestCert) ca = hale_test_cert_new (&ca_params, NULL, &error);
  g_autoptr (HaleTestCert) leaf = NULL;
  g_autoptr (HaleCheckResult) r = NULL;
  g_autofree char *path = cert_path (fx, "chained");
  HaleTestCert *chain[] = { NULL, NULL };
  const char *names[] = { "chained", NULL };
  const char *type[] = { "chained", "", NULL };
  guint32 length = 0;
  double v = 0;

  g_assert_no_error (error);
  leaf = hale_test_cert_new (&leaf_params, ca, &error);
  g_assert_no_error (error);
  chain[0] = ca;
  g_assert_true (hale_test_cert_write (leaf, chain, path, NULL, &error));
  configure (fx, names, "WarningBefore=72h\nCriticalBefore=1d\n");

  g_assert_true (wait_check (fx, "chained", "31", HALE_CHECK_WARNING, NULL));
  r = get_check (fx, "chained");
  g_assert_nonnull (strstr (r->message, "CN=Short CA"));
  g_assert_true (g_variant_lookup (r->details, "chain_length", "u", &length));
  g_assert_cmpuint (length, ==, 2);
  g_assert_true (metric_get (fx->metrics, "certificate_chain_expiry_seconds", type, &v));
  g_assert_cmpfloat (v, <=, 2.0 * DAY);
  g_assert_true (metric_get (fx->metrics, "certificate_expiry_seconds", type, &v));
  g_assert_cmpfloat (v, >, 59.0 * DAY);
}

/* certbot: live/NAME/cert.pem -> ../../archive/NAME/certN.pem, and a
 * renewal swaps the link. */
static void
test_symlink_swap (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) c1 = make_cert ("s.test", "41", 0, 0);
  g_autoptr (HaleTestCert) c2 = make_cert ("s.test", "42", 0, 0);
  g_autoptr (HaleTestCert) c3 = make_cert ("s.test", "43", 0, 0);
  g_autofree char *archive = g_build_filename (fx->tmp, "archive", NULL);
  g_autofree char *a1 = g_build_filename (archive, "cert1.pem", NULL);
  g_autofree char *a2 = g_build_filename (archive, "cert2.pem", NULL);
  g_autofree char *link = cert_path (fx, "le");
  g_autofree char *link_tmp = g_strconcat (link, ".new", NULL);
  const char *names[] = { "le", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *pem3 = hale_test_cert_get_pem (c3);
  gint64 start;

  g_assert_cmpint (g_mkdir (archive, 0755), ==, 0);
  g_assert_true (hale_test_cert_write (c1, NULL, a1, NULL, &error));
  g_assert_true (hale_test_cert_write (c2, NULL, a2, NULL, &error));
  g_assert_cmpint (symlink ("../archive/cert1.pem", link), ==, 0);
  configure (fx, names, NULL);
  g_assert_true (wait_check (fx, "le", "41", HALE_CHECK_HEALTHY, NULL));
  hale_test_spin (150);

  start = g_get_monotonic_time ();
  g_assert_cmpint (symlink ("../archive/cert2.pem", link_tmp), ==, 0);
  g_assert_cmpint (g_rename (link_tmp, link), ==, 0);
  g_assert_true (wait_check (fx, "le", "42", HALE_CHECK_HEALTHY, NULL));
  g_test_message ("symlink swap to state update: %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  hale_test_spin (150);

  /* The link's target rewritten in place, in another directory. */
  write_in_place (a2, pem3);
  g_assert_true (wait_check (fx, "le", "43", HALE_CHECK_HEALTHY, NULL));
  g_assert_cmpuint (fx->renewals, ==, 2);
}

static void
test_reconfigure_removes (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) a = make_cert ("a", "51", 0, 0);
  g_autoptr (HaleTestCert) b = make_cert ("b", "52", 0, 0);
  g_autofree char *pa = cert_path (fx, "a");
  g_autofree char *pb = cert_path (fx, "b");
  const char *both[] = { "a", "b", NULL };
  const char *only_a[] = { "a", NULL };
  const char *type_a[] = { "a", "", NULL };
  const char *type_b[] = { "b", "", NULL };
  const char *info_b[] = { "b", "", "52", "CN=b", "CN=b", NULL };
  g_autoptr (HaleCheckResult) gone = NULL;
  g_autoptr (GPtrArray) checks = NULL;
  double v;

  write_atomic (pa, a);
  write_atomic (pb, b);
  configure (fx, both, NULL);
  g_assert_true (wait_check (fx, "a", "51", HALE_CHECK_HEALTHY, NULL));
  g_assert_true (wait_check (fx, "b", "52", HALE_CHECK_HEALTHY, NULL));
  g_assert_true (metric_get (fx->metrics, "certificate_expiry_seconds", type_b, &v));
  g_assert_true (metric_get (fx->metrics, "certificate_info", info_b, &v));

  configure (fx, only_a, NULL);
  gone = get_check (fx, "b");
  g_assert_null (gone);
  checks = hale_state_list_checks (fx->state, HALE_CHECK_PREFIX_CERTIFICATE);
  g_assert_cmpuint (checks->len, ==, 1);
  g_assert_false (metric_get (fx->metrics, "certificate_expiry_seconds", type_b, &v));
  g_assert_false (metric_get (fx->metrics, "certificate_valid", type_b, &v));
  g_assert_false (metric_get (fx->metrics, "certificate_info", info_b, &v));
  g_assert_true (metric_get (fx->metrics, "certificate_expiry_seconds", type_a, &v));
  g_assert_null (hale_cert_watch_get_info (fx->watch, "b"));

  /* b's file changing now is none of our business. */
  g_assert_cmpint (g_unlink (pb), ==, 0);
  hale_test_spin (400);
  g_assert_null (get_check (fx, "b"));
  g_assert_true (wait_check (fx, "a", "51", HALE_CHECK_HEALTHY, NULL));
}

/* What a haled that was down missed: a second watch on the same
 * state directory. */
/* More certificates than reads in flight (32): every one is read at
 * start and at a re-check, each keeps its own threshold behind the one
 * timer, and a renewal in the middle of a re-check is seen. */
static void
test_many (Fixture *fx, gconstpointer data)
{
  enum
  {
    N = 100
  };
  gint64 now = now_seconds ();
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (HaleTestCert) soon = make_cert ("soon", "7f", now - DAY, now + 8);
  g_autoptr (HaleTestCert) renewed = make_cert ("c50", "7e", now - DAY, now + 90 * DAY);

  for (guint i = 0; i < N; i++)
    {
      g_autofree char *serial = g_strdup_printf ("%02x", i + 1);
      char *name = g_strdup_printf ("c%u", i);
      g_autoptr (HaleTestCert) cert = make_cert (name, serial, now - DAY, now + (30 + i) * DAY);
      g_autofree char *path = cert_path (fx, name);

      write_atomic (path, i == 7 ? soon : cert);
      g_ptr_array_add (names, name);
    }
  g_ptr_array_add (names, NULL);
  configure (fx, (const char *const *)names->pdata, "WarningBefore=1h\nCriticalBefore=4s\n");

  for (guint i = 0; i < N; i++)
    {
      g_autofree char *serial = g_strdup_printf ("%02x", i + 1);
      const char *name = g_ptr_array_index (names, i);

      if (i == 7)
        g_assert_true (wait_check (fx, name, "7f", HALE_CHECK_WARNING, NULL));
      else
        g_assert_true (wait_check (fx, name, serial, HALE_CHECK_HEALTHY, NULL));
    }

  /* A re-check queues all of them; a renewal goes ahead. */
  hale_cert_watch_recheck (fx->watch);
  {
    g_autofree char *path = cert_path (fx, "c50");
    write_atomic (path, renewed);
  }
  g_assert_true (wait_check (fx, "c50", "7e", HALE_CHECK_HEALTHY, NULL));
  g_assert_cmpuint (fx->renewals, ==, 1);
  g_assert_true (wait_check (fx, "c99", "64", HALE_CHECK_HEALTHY, NULL));

  /* The one threshold a few seconds away is crossed, by the clock. */
  g_assert_true (wait_check (fx, "c7", "7f", HALE_CHECK_CRITICAL, NULL));
  g_assert_true (wait_check (fx, "c6", "07", HALE_CHECK_HEALTHY, NULL));
}

static void
test_persisted (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) x = make_cert ("p", "61", 0, 0);
  g_autoptr (HaleTestCert) y = make_cert ("p", "62", 0, 0);
  g_autofree char *path = cert_path (fx, "p");
  g_autofree char *state_file = g_build_filename (fx->state_dir, HALE_STATE_CERTIFICATES, NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *serial = NULL;
  g_autofree char *last_renewal = NULL;
  const char *type[] = { "p", "", NULL };
  double v;

  start_with (fx, "p", x, NULL);
  g_assert_cmpuint (fx->renewals, ==, 0);
  drop_watch (&fx->watch);

  g_assert_true (g_key_file_load_from_file (kf, state_file, 0, NULL));
  serial = g_key_file_get_string (kf, "Certificate p", "Serial", NULL);
  g_assert_cmpstr (serial, ==, "61");

  /* Same serial at the next start: nothing happened. */
  g_clear_object (&fx->metrics);
  g_clear_object (&fx->state);
  fx->metrics = hale_metrics_new ("hale");
  fx->state = hale_state_new ();
  fx->watch = new_watch (fx);
  start_with (fx, "p", x, NULL);
  hale_test_spin (100);
  g_assert_cmpuint (fx->renewals, ==, 0);
  g_assert_cmpfloat (renewals_total (fx->metrics, "success"), ==, 0);
  drop_watch (&fx->watch);

  /* Renewed while down: seen at start. */
  g_clear_object (&fx->metrics);
  g_clear_object (&fx->state);
  fx->metrics = hale_metrics_new ("hale");
  fx->state = hale_state_new ();
  fx->watch = new_watch (fx);
  start_with (fx, "p", y, NULL);
  g_assert_cmpuint (fx->renewals, ==, 1);
  g_assert_cmpstr (fx->renewed_previous, ==, "61");
  g_assert_cmpstr (fx->renewed_current, ==, "62");
  g_assert_cmpfloat (renewals_total (fx->metrics, "success"), ==, 1);
  g_assert_true (metric_get (fx->metrics, "last_renewal_timestamp_seconds", type, &v));
  drop_watch (&fx->watch);

  g_assert_true (g_key_file_load_from_file (kf, state_file, 0, NULL));
  g_clear_pointer (&serial, g_free);
  serial = g_key_file_get_string (kf, "Certificate p", "Serial", NULL);
  g_assert_cmpstr (serial, ==, "62");
  last_renewal = g_key_file_get_string (kf, "Certificate p", "LastRenewal", NULL);
  g_assert_nonnull (last_renewal);

  /* And last_renewal survives the next restart, without a renewal. */
  g_clear_object (&fx->metrics);
  g_clear_object (&fx->state);
  fx->metrics = hale_metrics_new ("hale");
  fx->state = hale_state_new ();
  fx->watch = new_watch (fx);
  start_with (fx, "p", y, NULL);
  g_assert_cmpuint (fx->renewals, ==, 1);
  g_assert_true (metric_get (fx->metrics, "last_renewal_timestamp_seconds", type, &v));
  {
    g_autoptr (HaleCheckResult) r = get_check (fx, "p");
    g_autofree char *lr = detail_string (r, "last_renewal");
    g_assert_cmpstr (lr, ==, last_renewal);
  }
}

/* Without a state directory, history lives in memory only. */
static void
test_no_state_dir (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) x = make_cert ("m", "71", 0, 0);
  g_autoptr (HaleTestCert) y = make_cert ("m", "72", 0, 0);
  g_autofree char *path = cert_path (fx, "m");

  drop_watch (&fx->watch);
  g_clear_pointer (&fx->state_dir, g_free);
  fx->watch = new_watch (fx);
  start_with (fx, "m", x, NULL);
  hale_test_spin (150);
  write_atomic (path, y);
  g_assert_true (wait_check (fx, "m", "72", HALE_CHECK_HEALTHY, NULL));
  g_assert_cmpuint (fx->renewals, ==, 1);
  fx->state_dir = g_build_filename (fx->tmp, "state", NULL);
  g_assert_false (g_file_test (fx->state_dir, G_FILE_TEST_EXISTS));
}

/* Patterns ---------------------------------------------------------------- */

static void
changed_cb (HaleCertWatch *watch, guint *count)
{
  (*count)++;
}

static void
configure_text (Fixture *fx, const char *text)
{
  g_autofree char *path = g_build_filename (fx->tmp, "hale.conf", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  config = hale_config_load (path, &error);
  g_assert_no_error (error);
  hale_cert_watch_configure (fx->watch, config);
}

/* A domain's directory as certbot leaves it, made elsewhere and moved
 * in (or made in place when @tmp is NULL). */
static char *
make_domain (Fixture *fx, const char *live, const char *domain, HaleTestCert *cert, gboolean moved)
{
  g_autofree char *where
      = moved ? g_build_filename (fx->tmp, domain, NULL) : g_build_filename (live, domain, NULL);
  g_autofree char *pem = g_build_filename (where, "fullchain.pem", NULL);
  char *dir = g_build_filename (live, domain, NULL);

  g_assert_cmpint (g_mkdir_with_parents (where, 0755), ==, 0);
  write_atomic (pem, cert);
  if (moved)
    g_assert_cmpint (g_rename (where, dir), ==, 0);
  return dir;
}

/* Waits until "certificate:NAME" is there (@present) or gone; the time
 * it took in ms, or -1 after WAIT_MS. */
static gint64
wait_presence (Fixture *fx, const char *name, gboolean present)
{
  gint64 start = g_get_monotonic_time ();

  while (g_get_monotonic_time () - start < WAIT_MS * 1000)
    {
      g_autoptr (HaleCheckResult) result = get_check (fx, name);
      if ((result != NULL) == present)
        return (g_get_monotonic_time () - start) / 1000;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return -1;
}

/* Path= with a wildcard: every file it matches is a certificate, seen
 * within 2 s of appearing (also in a directory that did not exist when
 * haled started), gone with its series when the file goes. */
static void
test_glob (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) a = make_cert ("a.test", "0a", 0, 0);
  g_autoptr (HaleTestCert) b = make_cert ("b.test", "0b", 0, 0);
  g_autoptr (HaleTestCert) b2 = make_cert ("b.test", "1b", 0, 0);
  g_autofree char *live = g_build_filename (fx->tmp, "letsencrypt", "live", NULL);
  g_autofree char *text = g_strdup_printf ("[Certificate le]\n"
                                           "Path=%s/*/fullchain.pem\n"
                                           "KeyPath=%s/*/privkey.pem\n"
                                           "[Certificate plain]\n"
                                           "Path=%s/plain.pem\n",
                                           live, live, fx->certs);
  g_autofree char *plain = cert_path (fx, "plain");
  g_autofree char *dir_a = NULL;
  g_autofree char *dir_b = NULL;
  g_autofree char *pem_a = NULL;
  g_autofree char *pem_b = NULL;
  g_autofree char *key_a = NULL;
  g_autoptr (GPtrArray) list = NULL;
  const HaleWatchedCertificate *wa;
  const char *plain_type[] = { "plain", "", NULL };
  guint changes = 0;
  double v;

  g_signal_connect (fx->watch, "certificates-changed", G_CALLBACK (changed_cb), &changes);
  write_atomic (plain, a);
  /* Nothing there yet, not even live/: the agent has not run. */
  hale_test_expect_warning ("Certificate le: Path=*/live/*/fullchain.pem matches no file yet*");
  configure_text (fx, text);
  g_assert_true (wait_check (fx, "plain", "0a", HALE_CHECK_HEALTHY, NULL));
  hale_test_spin (300);
  g_assert_cmpuint (hale_test_expect_warning (NULL), ==, 1);
  list = hale_cert_watch_list (fx->watch);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* The tree comes, a directory at a time. */
  g_assert_cmpint (g_mkdir_with_parents (live, 0755), ==, 0);
  dir_a = make_domain (fx, live, "a.test", a, FALSE);
  pem_a = g_build_filename (dir_a, "fullchain.pem", NULL);
  key_a = g_build_filename (dir_a, "privkey.pem", NULL);
  g_assert_cmpint (wait_presence (fx, "le:a.test", TRUE), >=, 0);
  g_assert_cmpint (wait_presence (fx, "le:a.test", TRUE), <, 2000);
  g_assert_true (wait_check (fx, "le:a.test", "0a", HALE_CHECK_HEALTHY, NULL));
  wa = hale_cert_watch_lookup (fx->watch, "le:a.test");
  g_assert_nonnull (wa);
  g_assert_cmpstr (wa->type, ==, "le");
  g_assert_cmpstr (wa->path, ==, pem_a);
  g_assert_cmpstr (wa->path_label, ==, pem_a);
  g_assert_cmpstr (wa->key_path, ==, key_a);
  {
    const char *labels[] = { "le", pem_a, NULL };
    const char *info[] = { "le", pem_a, "0a", "CN=a.test", "CN=a.test", NULL };
    g_assert_true (metric_get (fx->metrics, "certificate_expiry_seconds", labels, &v));
    g_assert_true (metric_get (fx->metrics, "certificate_valid", labels, &v));
    g_assert_cmpfloat (v, ==, 1);
    g_assert_true (metric_get (fx->metrics, "certificate_info", info, &v));
  }
  /* The plain one keeps its series as they were: no path label. */
  g_assert_true (metric_get (fx->metrics, "certificate_expiry_seconds", plain_type, &v));
  {
    g_autoptr (GBytes) text_bytes = hale_metrics_render (fx->metrics, HALE_METRICS_FORMAT_TEXT);
    g_autofree char *expo
        = g_strndup (g_bytes_get_data (text_bytes, NULL), g_bytes_get_size (text_bytes));
    g_autofree char *want
        = g_strdup_printf ("hale_certificate_expiry_seconds{type=\"le\",path=\"%s\"} ", pem_a);
    g_assert_nonnull (strstr (expo, want));
    g_assert_nonnull (strstr (expo, "hale_certificate_expiry_seconds{type=\"plain\"} "));
  }

  /* A directory moved in whole, as a restore from backup would. */
  dir_b = make_domain (fx, live, "b.test", b, TRUE);
  pem_b = g_build_filename (dir_b, "fullchain.pem", NULL);
  g_assert_cmpint (wait_presence (fx, "le:b.test", TRUE), <, 2000);
  g_assert_cmpint (wait_presence (fx, "le:b.test", TRUE), >=, 0);
  g_assert_true (wait_check (fx, "le:b.test", "0b", HALE_CHECK_HEALTHY, NULL));
  list = hale_cert_watch_list (fx->watch);
  g_assert_cmpuint (list->len, ==, 3);
  g_clear_pointer (&list, g_ptr_array_unref);
  g_assert_cmpuint (changes, >=, 2);

  /* A renewal of one match is a renewal of that one. */
  write_atomic (pem_b, b2);
  g_assert_true (wait_check (fx, "le:b.test", "1b", HALE_CHECK_HEALTHY, NULL));
  g_assert_cmpuint (fx->renewals, ==, 1);
  g_assert_cmpstr (fx->renewed_name, ==, "le:b.test");

  /* Gone: its check and every series with it, no stale ones. */
  hale_test_remove_tree (dir_a);
  g_assert_cmpint (wait_presence (fx, "le:a.test", FALSE), >=, 0);
  g_assert_cmpint (wait_presence (fx, "le:a.test", FALSE), <, 2000);
  {
    const char *labels[] = { "le", pem_a, NULL };
    const char *info[] = { "le", pem_a, "0a", "CN=a.test", "CN=a.test", NULL };
    g_assert_false (metric_get (fx->metrics, "certificate_expiry_seconds", labels, &v));
    g_assert_false (metric_get (fx->metrics, "certificate_valid", labels, &v));
    g_assert_false (metric_get (fx->metrics, "certificate_info", info, &v));
  }
  g_assert_null (hale_cert_watch_lookup (fx->watch, "le:a.test"));
  g_assert_true (wait_check (fx, "le:b.test", "1b", HALE_CHECK_HEALTHY, NULL));

  /* Only the file of a directory going is enough too. Then nothing
   * matches any more, which is said again. */
  hale_test_expect_warning ("Certificate le: Path=* matches no file yet*");
  g_assert_cmpint (g_unlink (pem_b), ==, 0);
  g_assert_cmpint (wait_presence (fx, "le:b.test", FALSE), <, 2000);
  g_assert_cmpint (wait_presence (fx, "le:b.test", FALSE), >=, 0);

  /* The pattern gone from the configuration: nothing of it stays. */
  dir_a = (g_free (dir_a), make_domain (fx, live, "a.test", a, FALSE));
  g_assert_cmpint (wait_presence (fx, "le:a.test", TRUE), >=, 0);
  configure (fx, (const char *const[]){ "plain", NULL }, NULL);
  g_assert_cmpint (wait_presence (fx, "le:a.test", FALSE), ==, 0);
  list = hale_cert_watch_list (fx->watch);
  g_assert_cmpuint (list->len, ==, 1);
}

/* Two wildcards in two levels, and files their names cannot hold. */
static void
test_glob_levels (Fixture *fx, gconstpointer data)
{
  g_autoptr (HaleTestCert) a = make_cert ("a", "0a", 0, 0);
  g_autofree char *srv = g_build_filename (fx->tmp, "srv", NULL);
  g_autofree char *text = g_strdup_printf ("[Certificate site]\n"
                                           "Path=%s/*/tls/*.pem\n"
                                           "KeyPath=%s/*/keys/*.key\n",
                                           srv, srv);
  g_autofree char *tls = g_build_filename (srv, "shop", "tls", NULL);
  g_autofree char *pem = g_build_filename (tls, "web.pem", NULL);
  g_autofree char *odd = g_build_filename (tls, "we[b].pem", NULL);
  g_autofree char *key = g_build_filename (srv, "shop", "keys", "web.key", NULL);
  g_autofree char *shop = g_build_filename (srv, "shop", NULL);
  const HaleWatchedCertificate *w;

  g_assert_cmpint (g_mkdir_with_parents (srv, 0755), ==, 0);
  hale_test_expect_warning ("Certificate site: *matches no file yet*");
  configure_text (fx, text);
  hale_test_spin (300);
  g_assert_cmpuint (hale_test_expect_warning (NULL), ==, 1);

  /* shop/, then shop/tls/, then the files: each level is watched as it
   * comes. */
  g_assert_cmpint (g_mkdir (shop, 0755), ==, 0);
  hale_test_spin (200);
  g_assert_cmpint (g_mkdir (tls, 0755), ==, 0);
  hale_test_spin (200);
  hale_test_expect_warning ("Certificate site: */we[b].pem is left out: *brackets");
  write_atomic (odd, a);
  write_atomic (pem, a);
  g_assert_true (wait_check (fx, "site:shop:web", "0a", HALE_CHECK_HEALTHY, NULL));
  hale_test_spin (300);
  g_assert_cmpuint (hale_test_expect_warning (NULL), >=, 1);
  w = hale_cert_watch_lookup (fx->watch, "site:shop:web");
  g_assert_nonnull (w);
  g_assert_cmpstr (w->key_path, ==, key);
  g_assert_null (hale_cert_watch_lookup (fx->watch, "site:shop:we[b]"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  hale_test_log_init ();

#define ADD(path, func)                                                                            \
  g_test_add ("/cert-watch/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("initial", test_initial);
  ADD ("rename", test_rename);
  ADD ("in-place", test_in_place);
  ADD ("delete", test_delete);
  ADD ("garbage-then-recover", test_garbage_then_recover);
  ADD ("same-serial-back", test_same_serial_back);
  ADD ("not-a-certificate-file", test_not_a_certificate_file);
  ADD ("thresholds", test_thresholds);
  ADD ("threshold-crossing", test_threshold_crossing);
  ADD ("chain-expires-first", test_chain_expires_first);
  ADD ("symlink-swap", test_symlink_swap);
  ADD ("reconfigure-removes", test_reconfigure_removes);
  ADD ("persisted", test_persisted);
  ADD ("many", test_many);
  ADD ("no-state-dir", test_no_state_dir);
  ADD ("glob", test_glob);
  ADD ("glob-levels", test_glob_levels);
#undef ADD

  return g_test_run ();
}
