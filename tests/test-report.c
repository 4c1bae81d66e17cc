/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-report.c: the JSON health report's shapes, statuses and cache. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "hale-names.h"
#include "hale-report.h"

/* Parses what the report says, asserting it is one line of JSON. */
static JsonObject *
get_report (HaleReport *report, HaleReportSection section, guint *out_status,
            JsonParser **out_parser)
{
  g_autoptr (GBytes) bytes = hale_report_get_json (report, section, out_status);
  g_autoptr (GError) error = NULL;
  JsonParser *parser = json_parser_new ();
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  JsonNode *root;

  g_assert_cmpuint (len, >, 2);
  g_assert_cmpint (data[len - 1], ==, '\n');
  g_assert_null (memchr (data, '\n', len - 1)); /* compact: one line */
  g_assert_true (g_utf8_validate (data, len, NULL));

  json_parser_load_from_data (parser, data, len, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  *out_parser = parser;
  return json_node_get_object (root);
}

/* "2026-11-21T05:54:09Z" and close to now. */
static void
assert_rfc3339_now (const char *text)
{
  g_autoptr (GDateTime) dt = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GRegex) regex
      = g_regex_new ("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", 0, 0, NULL);

  g_assert_nonnull (text);
  g_assert_true (g_regex_match (regex, text, 0, NULL));
  dt = g_date_time_new_from_iso8601 (text, NULL);
  g_assert_nonnull (dt);
  g_assert_cmpint (ABS (g_date_time_difference (now, dt)), <, 5 * G_USEC_PER_SEC);
}

static GVariant *
cert_details (const char *serial, const char *expires_at, gint64 not_after, const char *remaining,
              double percentage)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "serial", g_variant_new_string (serial));
  g_variant_builder_add (&b, "{sv}", "expires_at", g_variant_new_string (expires_at));
  g_variant_builder_add (&b, "{sv}", "not_after", g_variant_new_int64 (not_after));
  g_variant_builder_add (&b, "{sv}", "remaining", g_variant_new_string (remaining));
  g_variant_builder_add (&b, "{sv}", "percentage", g_variant_new_double (percentage));
  return g_variant_builder_end (&b);
}

static void
set_check (HaleState *state, const char *name, HaleCheckStatus status, const char *message,
           GVariant *details)
{
  g_autoptr (HaleCheckResult) result
      = hale_check_result_new (name, status, message, details, g_get_real_time (), 1500);

  hale_state_set_check (state, result);
}

static void
test_report_empty (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleReport) report = hale_report_new (state);
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *o;
  guint status = 0;

  o = get_report (report, HALE_REPORT_ALL, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "healthy");
  g_assert_false (json_object_get_boolean_member (o, "degraded_mode"));
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (o, "checks")), ==, 0);
  assert_rfc3339_now (json_object_get_string_member (o, "timestamp"));
  g_clear_object (&parser);

  o = get_report (report, HALE_REPORT_CERTIFICATE, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "healthy");
  g_assert_cmpstr (json_object_get_string_member (o, "message"), ==, "no certificates configured");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (o, "details")), ==, 0);
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (o, "certificates")), ==,
                    0);
  assert_rfc3339_now (json_object_get_string_member (o, "timestamp"));
  g_clear_object (&parser);

  o = get_report (report, HALE_REPORT_CONNECTIVITY, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "healthy");
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "unknown");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (o, "endpoints")), ==, 0);
  g_assert_false (json_object_get_boolean_member (o, "degraded_mode"));
  g_clear_object (&parser);

  o = get_report (report, HALE_REPORT_SERVICES, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "healthy");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (o, "services")), ==, 0);
}

static void
test_report_one_certificate (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleReport) report = hale_report_new (state);
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *o, *details, *check;
  guint status = 0;

  set_check (state, HALE_CHECK_PREFIX_CERTIFICATE "current", HALE_CHECK_HEALTHY,
             "certificate valid for 30 days",
             cert_details ("0a1b2c", "2026-12-21T00:00:00Z", 1797811200, "720h0m0s", 50.0));

  o = get_report (report, HALE_REPORT_CERTIFICATE, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "healthy");
  g_assert_cmpstr (json_object_get_string_member (o, "message"), ==,
                   "certificate valid for 30 days");
  /* The seed's shape: the certificate's details at the top level. */
  details = json_object_get_object_member (o, "details");
  g_assert_cmpstr (json_object_get_string_member (details, "serial"), ==, "0a1b2c");
  g_assert_cmpstr (json_object_get_string_member (details, "expires_at"), ==,
                   "2026-12-21T00:00:00Z");
  g_assert_cmpstr (json_object_get_string_member (details, "remaining"), ==, "720h0m0s");
  g_assert_cmpfloat (json_object_get_double_member (details, "percentage"), ==, 50.0);
  g_assert_cmpint (json_object_get_int_member (details, "not_after"), ==, 1797811200);

  check = json_object_get_object_member (json_object_get_object_member (o, "certificates"),
                                         "current");
  g_assert_nonnull (check);
  g_assert_cmpstr (json_object_get_string_member (check, "status"), ==, "healthy");
  assert_rfc3339_now (json_object_get_string_member (check, "checked_at"));
  g_assert_cmpint (json_object_get_int_member (check, "duration_ms"), ==, 2);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (check, "details"), "serial"),
      ==, "0a1b2c");
  g_clear_object (&parser);

  /* The whole report names it in full, with the same shape. */
  o = get_report (report, HALE_REPORT_ALL, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "healthy");
  check = json_object_get_object_member (json_object_get_object_member (o, "checks"),
                                         "certificate:current");
  g_assert_nonnull (check);
  g_assert_cmpstr (json_object_get_string_member (check, "message"), ==,
                   "certificate valid for 30 days");
  assert_rfc3339_now (json_object_get_string_member (check, "checked_at"));
  g_assert_true (json_object_has_member (check, "duration_ms"));
}

static void
test_report_worst_wins (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleReport) report = hale_report_new (state);
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *o, *details, *certs;
  guint status = 0;

  set_check (state, HALE_CHECK_PREFIX_CERTIFICATE "api", HALE_CHECK_WARNING, "expires in 2 days",
             cert_details ("aa", "2026-11-23T00:00:00Z", 1795392000, "48h0m0s", 97.0));
  set_check (state, HALE_CHECK_PREFIX_CERTIFICATE "current", HALE_CHECK_CRITICAL,
             "expires in 3 hours",
             cert_details ("bb", "2026-11-21T09:00:00Z", 1795251600, "3h0m0s", 99.5));
  set_check (state, HALE_CHECK_PREFIX_SERVICE "nginx", HALE_CHECK_HEALTHY, "reloaded", NULL);

  o = get_report (report, HALE_REPORT_CERTIFICATE, &status, &parser);
  g_assert_cmpuint (status, ==, 503);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "critical");
  g_assert_cmpstr (json_object_get_string_member (o, "message"), ==, "expires in 3 hours");
  details = json_object_get_object_member (o, "details");
  g_assert_cmpstr (json_object_get_string_member (details, "serial"), ==, "bb");
  certs = json_object_get_object_member (o, "certificates");
  g_assert_cmpuint (json_object_get_size (certs), ==, 2);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (certs, "api"), "status"), ==,
      "warning");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (certs, "current"), "status"),
      ==, "critical");
  g_clear_object (&parser);

  o = get_report (report, HALE_REPORT_ALL, &status, &parser);
  g_assert_cmpuint (status, ==, 503);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "unhealthy");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (o, "checks")), ==, 3);
  g_clear_object (&parser);

  /* Services only see services. */
  o = get_report (report, HALE_REPORT_SERVICES, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "healthy");
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (json_object_get_object_member (o, "services"), "nginx"),
          "message"),
      ==, "reloaded");
  g_clear_object (&parser);

  /* The critical one renewed: the warning one is now the most urgent,
   * and the whole report is degraded, not unhealthy. */
  set_check (state, HALE_CHECK_PREFIX_CERTIFICATE "current", HALE_CHECK_HEALTHY, "renewed",
             cert_details ("cc", "2027-02-19T00:00:00Z", 1803340800, "2160h0m0s", 1.0));
  o = get_report (report, HALE_REPORT_CERTIFICATE, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "warning");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (o, "details"), "serial"), ==,
      "aa");
  g_clear_object (&parser);

  o = get_report (report, HALE_REPORT_ALL, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "degraded");
}

/* What the certificate watch puts in the state: the file's facts only.
 * The report works out what follows from the clock when it renders. */
static GVariant *
watch_details (const char *serial, gint64 not_after, gint64 lifetime)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "serial", g_variant_new_string (serial));
  g_variant_builder_add (&b, "{sv}", "not_after", g_variant_new_int64 (not_after));
  g_variant_builder_add (&b, "{sv}", "lifetime_seconds", g_variant_new_int64 (lifetime));
  g_variant_builder_add (&b, "{sv}", "chain_length", g_variant_new_uint32 (1));
  return g_variant_builder_end (&b);
}

static void
test_report_remaining_computed (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleReport) report = hale_report_new (state);
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GList) members = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  JsonObject *o, *details;
  gint64 remaining;
  const char *text;
  guint status = 0;

  /* Two healthy certificates: the one expiring first is the most urgent,
   * whatever their names (not the first by name, "alpha"). */
  set_check (state, HALE_CHECK_PREFIX_CERTIFICATE "alpha", HALE_CHECK_HEALTHY, "expires in 89d",
             watch_details ("aa", now + 90 * 86400, 90 * 86400));
  set_check (state, HALE_CHECK_PREFIX_CERTIFICATE "zulu", HALE_CHECK_HEALTHY, "expires in 9d",
             watch_details ("zz", now + 10 * 86400 - 1, 90 * 86400));

  o = get_report (report, HALE_REPORT_CERTIFICATE, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "message"), ==, "expires in 9d");
  details = json_object_get_object_member (o, "details");
  g_assert_cmpstr (json_object_get_string_member (details, "serial"), ==, "zz");

  /* The clock's part: a second or two may have passed since @now. */
  remaining = json_object_get_int_member (details, "remaining_seconds");
  g_assert_cmpint (remaining, <=, 10 * 86400 - 1);
  g_assert_cmpint (remaining, >=, 10 * 86400 - 5);
  text = json_object_get_string_member (details, "remaining");
  g_assert_true (g_str_equal (text, "9d23h"));
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (details, "percentage"),
                                  80.0 * 100.0 / 90.0, 0.01);

  /* Next to what they come from, in the order /health always had. */
  members = json_object_get_members (details);
  g_assert_cmpstr (g_list_nth_data (members, 1), ==, "not_after");
  g_assert_cmpstr (g_list_nth_data (members, 2), ==, "remaining");
  g_assert_cmpstr (g_list_nth_data (members, 3), ==, "remaining_seconds");
  g_assert_cmpstr (g_list_nth_data (members, 4), ==, "percentage");

  /* The same in the whole report, for every certificate. */
  g_clear_object (&parser);
  o = get_report (report, HALE_REPORT_ALL, &status, &parser);
  details = json_object_get_object_member (
      json_object_get_object_member (json_object_get_object_member (o, "checks"),
                                     HALE_CHECK_PREFIX_CERTIFICATE "alpha"),
      "details");
  g_assert_cmpint (json_object_get_int_member (details, "remaining_seconds"), >=, 90 * 86400 - 5);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (details, "percentage"), 0.0, 0.01);

  /* A new result for a certificate is shown, not the details written
   * for the one before; a removed one is gone. */
  set_check (state, HALE_CHECK_PREFIX_CERTIFICATE "zulu", HALE_CHECK_HEALTHY, "expires in 9d",
             watch_details ("zz2", now + 10 * 86400 - 1, 90 * 86400));
  hale_state_remove_check (state, HALE_CHECK_PREFIX_CERTIFICATE "alpha");
  g_clear_object (&parser);
  o = get_report (report, HALE_REPORT_CERTIFICATE, &status, &parser);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (o, "details"), "serial"), ==,
      "zz2");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (o, "certificates")), ==,
                    1);

  /* Other kinds of checks are left as they are. */
  set_check (state, HALE_CHECK_PREFIX_SERVICE "nginx", HALE_CHECK_HEALTHY, "reloaded",
             watch_details ("x", now, 1));
  g_clear_object (&parser);
  o = get_report (report, HALE_REPORT_SERVICES, &status, &parser);
  details = json_object_get_object_member (
      json_object_get_object_member (json_object_get_object_member (o, "services"), "nginx"),
      "details");
  g_assert_false (json_object_has_member (details, "remaining"));
}

static void
test_report_connectivity (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleReport) report = hale_report_new (state);
  g_autoptr (JsonParser) parser = NULL;
  GVariantBuilder b;
  JsonObject *o, *endpoint;
  guint status = 0;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "state", g_variant_new_string ("offline"));
  set_check (state, HALE_CHECK_CONNECTIVITY, HALE_CHECK_CRITICAL, "all endpoints down",
             g_variant_builder_end (&b));

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "url", g_variant_new_string ("https://ca.internal/health"));
  g_variant_builder_add (&b, "{sv}", "http_status", g_variant_new_uint32 (502));
  g_variant_builder_add (&b, "{sv}", "critical", g_variant_new_boolean (TRUE));
  set_check (state, HALE_CHECK_PREFIX_ENDPOINT "ca", HALE_CHECK_CRITICAL, "502 Bad Gateway",
             g_variant_builder_end (&b));
  hale_state_set_degraded (state, TRUE);

  o = get_report (report, HALE_REPORT_CONNECTIVITY, &status, &parser);
  g_assert_cmpuint (status, ==, 503);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "critical");
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "offline");
  g_assert_true (json_object_get_boolean_member (o, "degraded_mode"));
  endpoint = json_object_get_object_member (json_object_get_object_member (o, "endpoints"), "ca");
  g_assert_nonnull (endpoint);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (endpoint, "details"),
                                               "http_status"),
                   ==, 502);
  g_assert_true (json_object_get_boolean_member (
      json_object_get_object_member (endpoint, "details"), "critical"));
  g_clear_object (&parser);

  o = get_report (report, HALE_REPORT_ALL, &status, &parser);
  g_assert_true (json_object_get_boolean_member (o, "degraded_mode"));
}

/* Nested dictionaries, odd numbers and non-ASCII text come out as JSON
 * readers expect. */
static void
test_report_details_types (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleReport) report = hale_report_new (state);
  g_autoptr (JsonParser) parser = NULL;
  GVariantBuilder b, inner;
  JsonObject *o, *details;
  JsonArray *array;
  guint status = 0;
  const char *const names[] = { "a", "b", NULL };

  g_variant_builder_init (&inner, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&inner, "{sv}", "depth", g_variant_new_int32 (2));
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "nested", g_variant_builder_end (&inner));
  g_variant_builder_add (&b, "{sv}", "nan", g_variant_new_double (NAN));
  g_variant_builder_add (&b, "{sv}", "big", g_variant_new_uint64 (G_MAXUINT64));
  g_variant_builder_add (&b, "{sv}", "names", g_variant_new_strv (names, -1));
  g_variant_builder_add (&b, "{sv}", "subject", g_variant_new_string ("CN=Zürich \"quoted\""));
  set_check (state, "service:x", HALE_CHECK_WARNING, "line\nbreak", g_variant_builder_end (&b));

  o = get_report (report, HALE_REPORT_ALL, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "degraded");
  o = json_object_get_object_member (json_object_get_object_member (o, "checks"), "service:x");
  g_assert_cmpstr (json_object_get_string_member (o, "message"), ==, "line\nbreak");
  details = json_object_get_object_member (o, "details");
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (details, "nested"), "depth"), ==,
      2);
  g_assert_true (json_object_get_null_member (details, "nan"));
  g_assert_cmpfloat (json_object_get_double_member (details, "big"), >, 1e19);
  array = json_object_get_array_member (details, "names");
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (array, 1), ==, "b");
  g_assert_cmpstr (json_object_get_string_member (details, "subject"), ==, "CN=Zürich \"quoted\"");
}

static void
test_report_cache (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleReport) report = hale_report_new (state);
  g_autoptr (GBytes) a = NULL;
  g_autoptr (GBytes) b = NULL;
  g_autoptr (GBytes) c = NULL;
  gboolean same_second = FALSE;

  /* The cache is per wall-clock second too: try again if the second
   * ticked between the two calls. */
  for (guint attempt = 0; attempt < 5 && !same_second; attempt++)
    {
      gint64 before = g_get_real_time () / G_USEC_PER_SEC;

      g_clear_pointer (&a, g_bytes_unref);
      g_clear_pointer (&b, g_bytes_unref);
      a = hale_report_get_json (report, HALE_REPORT_ALL, NULL);
      b = hale_report_get_json (report, HALE_REPORT_ALL, NULL);
      same_second = g_get_real_time () / G_USEC_PER_SEC == before;
    }
  g_assert_true (same_second);
  g_assert_true (a == b);

  /* Another section is another document. */
  c = hale_report_get_json (report, HALE_REPORT_SERVICES, NULL);
  g_assert_true (c != a);
  g_clear_pointer (&c, g_bytes_unref);

  /* A change of state is a new document. */
  set_check (state, HALE_CHECK_PREFIX_SERVICE "nginx", HALE_CHECK_HEALTHY, "ok", NULL);
  c = hale_report_get_json (report, HALE_REPORT_ALL, NULL);
  g_assert_true (c != a);
  g_assert_false (g_bytes_equal (c, a));
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (c, NULL), g_bytes_get_size (c), "nginx"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/report/empty", test_report_empty);
  g_test_add_func ("/report/one-certificate", test_report_one_certificate);
  g_test_add_func ("/report/worst-wins", test_report_worst_wins);
  g_test_add_func ("/report/remaining-computed", test_report_remaining_computed);
  g_test_add_func ("/report/connectivity", test_report_connectivity);
  g_test_add_func ("/report/details-types", test_report_details_types);
  g_test_add_func ("/report/cache", test_report_cache);

  return g_test_run ();
}
