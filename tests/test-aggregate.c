/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for the aggregate: acknowledgements, categories, sticky
 * categories, the state file, and the reports (hale's JSON, FT's
 * __health, __gtg, HTML) through the real HTTP face.
 *
 * Outcomes come from the real check engine through push checks
 * (hale_checks_report), the one kind a test can drive without a server.
 */
#include "config.h"

#include "hale-aggregate-http.h"
#include "hale-aggregate-report.h"
#include "hale-aggregate.h"
#include "hale-names.h"
#include "hale-test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

static const char base_config[] = "[Monitoring]\n"
                                  "MetricsListen=127.0.0.1:0\n"
                                  "HealthListen=127.0.0.1:0\n"
                                  "[Check api]\n"
                                  "TTL=1h\n"
                                  "[Check db]\n"
                                  "TTL=1h\n"
                                  "[Check batch]\n"
                                  "TTL=1h\n"
                                  "Severity=2\n"
                                  "[Category web]\n"
                                  "Checks=api,db\n"
                                  "Sticky=true\n"
                                  "[Category jobs]\n"
                                  "Checks=batch\n"
                                  /* Nothing listens on port 9 (discard):
                                   * refused at once, and not a push check,
                                   * so forced runs are rate-limited. */
                                  "[Check remote]\n"
                                  "URL=http://127.0.0.1:9/health\n"
                                  "Interval=1h\n"
                                  "[Category ext]\n"
                                  "Checks=remote\n";

/* The same without Sticky=: failures do not disable anything. */
static const char plain_config[] = "[Check api]\nTTL=1h\n"
                                   "[Check db]\nTTL=1h\n"
                                   "[Check batch]\nTTL=1h\nSeverity=2\n"
                                   "[Category web]\nChecks=api,db\n"
                                   "[Category jobs]\nChecks=batch\n";

typedef struct
{
  char *dir;
  HaleConfig *config;
  HaleState *state;
  HaleMetrics *metrics;
  HaleChecks *checks;
  HaleAggregate *aggregate;
} Fixture;

static HaleConfig *
load_config (const char *dir, const char *text)
{
  g_autofree char *path = g_build_filename (dir, "hale.conf", NULL);
  g_autoptr (GError) error = NULL;
  HaleConfig *config;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  config = hale_config_load (path, &error);
  g_assert_no_error (error);
  return config;
}

static void
start_aggregate (Fixture *f)
{
  g_autofree char *state_dir = g_build_filename (f->dir, "state", NULL);

  f->state = hale_state_new ();
  f->metrics = hale_metrics_new ("hale");
  f->checks = hale_checks_new (f->metrics);
  f->aggregate = hale_aggregate_new (f->state, f->checks, f->metrics, NULL, state_dir);
  hale_checks_configure (f->checks, f->config);
  hale_aggregate_configure (f->aggregate, f->config);
}

static void
stop_aggregate (Fixture *f)
{
  if (f->aggregate != NULL)
    hale_aggregate_flush (f->aggregate);
  g_clear_object (&f->aggregate);
  g_clear_object (&f->checks);
  g_clear_object (&f->metrics);
  g_clear_object (&f->state);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("hale-test-aggregate-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->config = load_config (f->dir, data ? data : base_config);
  start_aggregate (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  stop_aggregate (f);
  g_clear_pointer (&f->config, hale_config_unref);
  hale_test_remove_tree (f->dir);
  g_free (f->dir);
}

static void
report (Fixture *f, const char *check, const char *status, const char *message)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (hale_checks_report (f->checks, check, status, message, &error));
  g_assert_no_error (error);
}

static double
metric (Fixture *f, const char *name, const char *label)
{
  g_autofree char *text = NULL;
  g_autofree char *series = NULL;
  g_autoptr (GBytes) bytes = hale_metrics_render (f->metrics, HALE_METRICS_FORMAT_TEXT);
  const char *line;

  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  series = label ? g_strdup_printf ("\nhale_%s{category=\"%s\"} ", name, label)
                 : g_strdup_printf ("\nhale_%s ", name);
  line = strstr (text, series);
  g_assert_nonnull (line);
  return g_ascii_strtod (line + strlen (series), NULL);
}

static JsonObject *
json_report (Fixture *f, const char *const *categories, guint *out_status, JsonParser **out_parser)
{
  HaleAggregateQuery query = { .categories = categories };
  g_autoptr (GBytes) bytes = hale_aggregate_report_json (f->aggregate, &query, out_status);
  g_autoptr (GError) error = NULL;
  JsonParser *parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                             g_bytes_get_size (bytes), &error));
  g_assert_no_error (error);
  *out_parser = parser;
  return json_node_get_object (json_parser_get_root (parser));
}

static const HaleAuditActor operator= {
  .identity = "uid:1000", .auth_method = "dbus+polkit", .uid = 1000, .pid = 42
};

/* An acknowledged failure no longer makes the host unhealthy, but stays
 * in every report with its message, author and time. */
static void
test_ack (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleCheckResult) result = NULL;
  g_autoptr (GVariant) ack = NULL;
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *root, *api, *ack_json;
  const char *message = NULL;
  guint status = 0;

  report (f, "api", "fail", "connection refused");
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_UNHEALTHY);
  g_assert_cmpuint (hale_aggregate_count_acknowledged (f->aggregate), ==, 0);

  g_assert_true (hale_aggregate_acknowledge (f->aggregate, "api", "upstream outage, INC-42",
                                             &operator, & error));
  g_assert_no_error (error);
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_HEALTHY);
  g_assert_cmpuint (hale_aggregate_count_acknowledged (f->aggregate), ==, 1);
  g_assert_cmpfloat (metric (f, "checks_acknowledged", NULL), ==, 1);

  /* Still failing, and says who knows of it. */
  result = hale_state_get_check (f->state, HALE_CHECK_PREFIX_CHECK "api");
  g_assert_nonnull (result);
  g_assert_cmpint (result->status, ==, HALE_CHECK_CRITICAL);
  g_assert_true (result->acknowledged);
  ack = g_variant_lookup_value (result->details, "acknowledged", G_VARIANT_TYPE_VARDICT);
  g_assert_nonnull (ack);
  g_assert_true (g_variant_lookup (ack, "message", "&s", &message));
  g_assert_cmpstr (message, ==, "upstream outage, INC-42");

  root = json_report (f, NULL, &status, &parser);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (root, "status"), ==, "healthy");
  g_assert_cmpint (json_object_get_int_member (root, "acknowledged"), ==, 1);
  api = json_object_get_object_member (json_object_get_object_member (root, "checks"), "api");
  g_assert_cmpstr (json_object_get_string_member (api, "status"), ==, "critical");
  ack_json = json_object_get_object_member (api, "acknowledged");
  g_assert_cmpstr (json_object_get_string_member (ack_json, "message"), ==,
                   "upstream outage, INC-42");
  g_assert_cmpstr (json_object_get_string_member (ack_json, "author"), ==, "uid:1000");
  g_assert_cmpint (json_object_get_int_member (ack_json, "uid"), ==, 1000);

  /* Unacknowledged, it counts again. */
  g_assert_true (hale_aggregate_remove_acknowledgement (f->aggregate, "api", &operator, & error));
  g_assert_no_error (error);
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_UNHEALTHY);
  g_assert_cmpuint (hale_aggregate_count_acknowledged (f->aggregate), ==, 0);
}

static void
test_ack_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *long_message = g_strnfill (HALE_AGGREGATE_ACK_MESSAGE_MAX + 1, 'x');

  g_assert_false (hale_aggregate_acknowledge (f->aggregate, "nope", "why", &operator, & error));
  g_assert_error (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CHECK);
  g_assert_nonnull (strstr (error->message, "nope"));
  g_clear_error (&error);
  g_assert_false (hale_aggregate_acknowledge (f->aggregate, "api", "  ", &operator, & error));
  g_assert_error (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (
      hale_aggregate_acknowledge (f->aggregate, "api", "two\nlines", &operator, & error));
  g_assert_error (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (
      hale_aggregate_acknowledge (f->aggregate, "api", long_message, &operator, & error));
  g_assert_error (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (hale_aggregate_remove_acknowledgement (f->aggregate, "api", &operator, & error));
  g_assert_error (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (
      hale_aggregate_set_category_enabled (f->aggregate, "nope", TRUE, &operator, & error));
  g_assert_error (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CATEGORY);
  g_assert_cmpuint (hale_aggregate_count_acknowledged (f->aggregate), ==, 0);
}

static HaleAggregateCategory *
category (Fixture *f, const char *name)
{
  const char *const names[] = { name, NULL };
  g_autoptr (GPtrArray) list = hale_aggregate_list_categories (f->aggregate, names);

  g_assert_cmpuint (list->len, ==, 1);
  return g_ptr_array_steal_index (list, 0);
}

/* A sticky category trips on the first failure and stays down through
 * recoveries until enabled. */
static void
test_sticky (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleAggregateCategory) before = NULL;
  g_autoptr (HaleAggregateCategory) tripped = NULL;
  g_autoptr (HaleAggregateCategory) still = NULL;
  g_autoptr (HaleAggregateCategory) enabled = NULL;
  g_autoptr (HaleCheckResult) marker = NULL;

  report (f, "api", "pass", "fine");
  before = category (f, "web");
  g_assert_true (before->enabled);
  g_assert_cmpint (before->status, ==, HALE_STATUS_HEALTHY);
  g_assert_cmpfloat (metric (f, "category_enabled", "web"), ==, 1);

  report (f, "api", "fail", "500 from /health");
  tripped = category (f, "web");
  g_assert_false (tripped->enabled);
  g_assert_cmpint (tripped->status, ==, HALE_STATUS_UNHEALTHY);
  g_assert_nonnull (strstr (tripped->disabled_reason, "500 from /health"));
  g_assert_cmpfloat (metric (f, "category_enabled", "web"), ==, 0);
  g_assert_cmpfloat (metric (f, "category_status", "web"), ==, 2);

  /* The check recovers; the category does not. */
  report (f, "api", "pass", "fine again");
  still = category (f, "web");
  g_assert_false (still->enabled);
  g_assert_cmpint (still->status, ==, HALE_STATUS_UNHEALTHY);
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_UNHEALTHY);
  marker = hale_state_get_check (f->state, HALE_CHECK_PREFIX_CATEGORY "web");
  g_assert_nonnull (marker);
  g_assert_cmpint (marker->status, ==, HALE_CHECK_CRITICAL);

  g_assert_true (
      hale_aggregate_set_category_enabled (f->aggregate, "web", TRUE, &operator, & error));
  g_assert_no_error (error);
  enabled = category (f, "web");
  g_assert_true (enabled->enabled);
  g_assert_cmpint (enabled->status, ==, HALE_STATUS_HEALTHY);
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_HEALTHY);
  g_assert_cmpfloat (metric (f, "category_status", "web"), ==, 0);

  /* An acknowledged failure is known: it does not trip the category. */
  g_assert_true (
      hale_aggregate_acknowledge (f->aggregate, "db", "replica rebuild", &operator, & error));
  report (f, "db", "fail", "lagging");
  g_clear_pointer (&enabled, hale_aggregate_category_free);
  enabled = category (f, "web");
  g_assert_true (enabled->enabled);
  g_assert_cmpint (enabled->status, ==, HALE_STATUS_HEALTHY);

  /* A non-sticky category only follows its checks: warning = degraded. */
  report (f, "batch", "fail", "late");
  g_clear_pointer (&before, hale_aggregate_category_free);
  before = category (f, "jobs");
  g_assert_true (before->enabled);
  g_assert_cmpint (before->status, ==, HALE_STATUS_DEGRADED);
  g_assert_cmpfloat (metric (f, "category_status", "jobs"), ==, 1);
}

/* DisableCategory for a failover: unhealthy and __gtg 503 until enabled. */
static void
test_disable (Fixture *f, gconstpointer data)
{
  const char *const jobs[] = { "jobs", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) gtg = NULL;
  g_autoptr (GBytes) gtg_ok = NULL;
  g_autofree char *text = NULL;
  guint status = 0;

  report (f, "api", "pass", "fine");
  g_assert_true (
      hale_aggregate_set_category_enabled (f->aggregate, "jobs", FALSE, &operator, & error));
  g_assert_no_error (error);
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_UNHEALTHY);

  gtg = hale_aggregate_report_gtg (f->aggregate, jobs, &status);
  g_assert_cmpuint (status, ==, 503);
  text = g_strndup (g_bytes_get_data (gtg, NULL), g_bytes_get_size (gtg));
  g_assert_nonnull (strstr (text, "category jobs is disabled"));
  g_assert_nonnull (strstr (text, "uid:1000"));

  g_assert_true (
      hale_aggregate_set_category_enabled (f->aggregate, "jobs", TRUE, &operator, & error));
  gtg_ok = hale_aggregate_report_gtg (f->aggregate, jobs, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpmem (g_bytes_get_data (gtg_ok, NULL), g_bytes_get_size (gtg_ok), "OK\n", 3);
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_HEALTHY);
}

/* Acks and category states are in the state file, and a new aggregate
 * on the same directory (a restart) has them. */
static void
test_state_file (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) checks = NULL;
  g_autoptr (HaleAggregateCategory) web = NULL;
  g_autofree char *path = g_build_filename (f->dir, "state", HALE_STATE_AGGREGATE, NULL);
  const HaleAggregateCheck *batch;

  report (f, "api", "fail", "down");
  g_assert_true (hale_aggregate_acknowledge (f->aggregate, "batch", "known: nightly job moved",
                                             &operator, & error));
  g_assert_no_error (error);
  hale_aggregate_flush (f->aggregate);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  stop_aggregate (f);
  start_aggregate (f);

  g_assert_cmpuint (hale_aggregate_count_acknowledged (f->aggregate), ==, 1);
  checks = hale_aggregate_list_checks (f->aggregate, NULL);
  g_assert_cmpuint (checks->len, ==, 4);
  batch = g_ptr_array_index (checks, 1);
  g_assert_cmpstr (batch->name, ==, "batch");
  g_assert_nonnull (batch->ack);
  g_assert_cmpstr (batch->ack->message, ==, "known: nightly job moved");
  g_assert_cmpstr (batch->ack->author, ==, "uid:1000");
  g_assert_cmpint (batch->ack->uid, ==, 1000);
  /* The tripped sticky category is still down, before any check ran. */
  web = category (f, "web");
  g_assert_false (web->enabled);
  g_assert_nonnull (strstr (web->disabled_reason, "down"));
  g_assert_cmpint (hale_state_get_status (f->state), ==, HALE_STATUS_UNHEALTHY);
}

/* Structured logging has no g_test_expect_message(): a writer that
 * swallows the one warning a test expects, and fails it if missing. */
static const char *expected_warning;

static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  for (gsize i = 0; expected_warning != NULL && i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0
        && g_pattern_match_simple (expected_warning, fields[i].value))
      {
        expected_warning = NULL;
        return G_LOG_WRITER_HANDLED;
      }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* A state file that does not parse is set aside, never fatal. */
static void
test_state_file_broken (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "state", HALE_STATE_AGGREGATE, NULL);
  g_autofree char *aside = g_strconcat (path, ".broken", NULL);

  stop_aggregate (f);
  {
    g_autofree char *state_dir = g_path_get_dirname (path);
    g_assert_cmpint (g_mkdir_with_parents (state_dir, 0755), ==, 0);
  }
  g_assert_true (g_file_set_contents (path, "this is [not a key file\n", -1, NULL));
  expected_warning = "*moved to*";
  start_aggregate (f);
  g_assert_null (expected_warning);
  g_assert_true (g_file_test (aside, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (hale_aggregate_count_acknowledged (f->aggregate), ==, 0);
}

/* ?categories= selects: status, checks and categories of those only. */
static void
test_filters (Fixture *f, gconstpointer data)
{
  const char *const web[] = { "web", NULL };
  const char *const jobs[] = { "jobs", NULL };
  g_autoptr (JsonParser) p1 = NULL;
  g_autoptr (JsonParser) p2 = NULL;
  JsonObject *root;
  guint status = 0;

  report (f, "api", "pass", "fine");
  report (f, "db", "pass", "fine");
  report (f, "batch", "fail", "late");

  root = json_report (f, web, &status, &p1);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (root, "status"), ==, "healthy");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (root, "checks")), ==, 2);
  g_assert_false (json_object_has_member (json_object_get_object_member (root, "checks"), "batch"));
  g_assert_true (
      json_object_has_member (json_object_get_object_member (root, "categories"), "web"));
  g_assert_false (
      json_object_has_member (json_object_get_object_member (root, "categories"), "jobs"));

  root = json_report (f, jobs, &status, &p2);
  g_assert_cmpuint (status, ==, 200); /* a warning: degraded, still serving */
  g_assert_cmpstr (json_object_get_string_member (root, "status"), ==, "degraded");
  g_assert_nonnull (strstr (json_object_get_string_member (root, "reason"), "batch"));
}

/* FT's __health: the fields its tools read, acks in "ack". */
static void
test_ft_format (Fixture *f, gconstpointer data)
{
  HaleAggregateQuery query = { 0 };
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  static const char *const fields[] = { "id",         "name",           "ok",
                                        "severity",   "businessImpact", "technicalSummary",
                                        "panicGuide", "checkOutput",    "lastUpdated" };
  JsonObject *root;
  JsonArray *checks;
  gboolean seen_api = FALSE;

  report (f, "api", "fail", "HTTP 500");
  report (f, "db", "pass", "fine");
  g_assert_true (hale_aggregate_acknowledge (f->aggregate, "api", "INC-7", &operator, NULL));
  g_assert_true (hale_aggregate_set_category_enabled (f->aggregate, "web", TRUE, &operator, NULL));

  bytes = hale_aggregate_report_ft (f->aggregate, &query);
  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                             g_bytes_get_size (bytes), &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (root, "schemaVersion"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (root, "name"), ==, "haled");
  g_assert_true (json_object_has_member (root, "systemCode"));
  g_assert_true (json_object_has_member (root, "description"));
  g_assert_true (json_object_get_boolean_member (root, "ok")); /* the failure is acked */
  checks = json_object_get_array_member (root, "checks");
  g_assert_cmpuint (json_array_get_length (checks), ==, 3);
  for (guint i = 0; i < json_array_get_length (checks); i++)
    {
      JsonObject *check = json_array_get_object_element (checks, i);
      for (gsize j = 0; j < G_N_ELEMENTS (fields); j++)
        g_assert_true (json_object_has_member (check, fields[j]));
      g_assert_cmpint (json_object_get_int_member (check, "severity"), >=, 1);
      g_assert_cmpint (json_object_get_int_member (check, "severity"), <=, 3);
      if (g_str_equal (json_object_get_string_member (check, "id"), "api"))
        {
          seen_api = TRUE;
          g_assert_false (json_object_get_boolean_member (check, "ok"));
          g_assert_cmpstr (json_object_get_string_member (check, "checkOutput"), ==, "HTTP 500");
          g_assert_nonnull (strstr (json_object_get_string_member (check, "ack"), "INC-7"));
        }
      else
        g_assert_false (json_object_has_member (check, "ack"));
    }
  g_assert_true (seen_api);
}

/* ---- through HTTP ------------------------------------------------------ */

static SoupMessage *
get (SoupSession *session, guint16 port, const char *path, const char *accept, char **out_body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  SoupMessage *msg = soup_message_new ("GET", uri);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;

  if (accept != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", accept);
  body = hale_test_send_and_read (session, msg, &error);
  g_assert_no_error (error);
  *out_body = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  return msg;
}

static const char *
response_header (SoupMessage *msg, const char *name)
{
  return soup_message_headers_get_one (soup_message_get_response_headers (msg), name);
}

static void
test_http (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleReport) report_ = hale_report_new (f->state);
  g_autoptr (HaleHttp) http = hale_http_new (report_, f->metrics);
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (GError) error = NULL;
  guint16 port;
  struct
  {
    const char *path;
    const char *accept;
    guint status;
    const char *type;
    const char *needle;
  } cases[] = {
    { "/health/services", NULL, 503, "application/json", "\"cache\":{\"refresh\":\"none\"}" },
    { "/health/services?categories=jobs", NULL, 200, "application/json", "\"batch\"" },
    { "/health/services?categories=nope", NULL, 404, "application/json", "unknown_category" },
    { "/health/services?categories=", NULL, 400, "application/json", "empty name" },
    { "/health/services?bogus=1", NULL, 400, "application/json", "bogus" },
    { "/health/services?cache=maybe", NULL, 400, "application/json", "cache=maybe" },
    { "/__gtg", NULL, 503, "text/plain", "refused" },
    { "/__gtg?categories=jobs", NULL, 200, "text/plain", "OK" },
    { "/__health", NULL, 200, "application/json", "\"schemaVersion\":1" },
    { "/__health?categories=web", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", 200,
      "text/html", "refused" },
    { "/health/services", "text/html", 503, "text/html", "<table id=\"checks\">" },
    { "/health/services", "application/json, text/html;q=0.5", 503, "application/json",
      "\"checks\"" },
  };

  report (f, "api", "fail", "refused");
  report (f, "batch", "pass", "on time");
  g_assert_true (hale_http_configure (http, f->config, &error));
  g_assert_no_error (error);
  hale_aggregate_http_register (f->aggregate, http);
  port = hale_http_get_health_port (http);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *body = NULL;
      g_autoptr (SoupMessage) msg = get (session, port, cases[i].path, cases[i].accept, &body);

      g_test_message ("GET %s (Accept: %s)", cases[i].path, cases[i].accept);
      g_assert_cmpuint (soup_message_get_status (msg), ==, cases[i].status);
      g_assert_true (g_str_has_prefix (response_header (msg, "Content-Type"), cases[i].type));
      g_assert_cmpstr (response_header (msg, "Cache-Control"), ==, "no-store");
      if (strstr (body, cases[i].needle) == NULL)
        g_error ("%s: no “%s” in %s", cases[i].path, cases[i].needle, body);
    }

  /* cache=false answers once the selected checks ran; asked again at
   * once, the round of a moment ago is fresh enough: no second run. */
  {
    g_autofree char *first = NULL;
    g_autofree char *second = NULL;
    HaleMetricFamily *runs = hale_metrics_lookup (f->metrics, "check_runs_total");
    const char *labels[] = { "remote", "fail", NULL };
    double before = 0, after_first = 0, after_second = 0;
    g_autoptr (SoupMessage) m1 = NULL;
    g_autoptr (SoupMessage) m2 = NULL;

    /* The run configure() started is over: a round does not share it. */
    while (!hale_metric_get (runs, labels, &before))
      g_main_context_iteration (NULL, TRUE);
    m1 = get (session, port, "/health/services?categories=ext&cache=false", NULL, &first);
    g_assert_true (hale_metric_get (runs, labels, &after_first));
    m2 = get (session, port, "/health/services?cache=false", NULL, &second);
    g_assert_true (hale_metric_get (runs, labels, &after_second));

    g_assert_nonnull (strstr (first, "\"refresh\":\"fresh\""));
    g_assert_nonnull (strstr (second, "\"refresh\":\"fresh\""));
    g_assert_cmpfloat (after_first, ==, before + 1);
    g_assert_cmpfloat (after_second, ==, after_first);
  }
}

/* GetReport("services") and GET /health/services answer the same. */
static void
test_report_section (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleReport) report_ = hale_report_new (f->state);
  HaleAggregateQuery query = { 0 };
  g_autoptr (GBytes) section = NULL;
  g_autoptr (GBytes) direct = NULL;
  guint section_status = 0, direct_status = 0;

  report (f, "api", "fail", "refused");
  hale_aggregate_report_install (f->aggregate, report_);
  /* Rendered twice within one second (the timestamp's resolution); a
   * second boundary in between is retried once. */
  for (int attempt = 0; attempt < 2; attempt++)
    {
      g_clear_pointer (&section, g_bytes_unref);
      g_clear_pointer (&direct, g_bytes_unref);
      section = hale_report_get_json (report_, HALE_REPORT_SERVICES, &section_status);
      direct = hale_aggregate_report_json (f->aggregate, &query, &direct_status);
      if (g_bytes_equal (section, direct))
        break;
    }
  g_assert_cmpmem (g_bytes_get_data (section, NULL), g_bytes_get_size (section),
                   g_bytes_get_data (direct, NULL), g_bytes_get_size (direct));
  g_assert_cmpuint (section_status, ==, 503);
  g_assert_cmpuint (direct_status, ==, 503);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (writer, NULL, NULL);

#define ADD(name, func)                                                                            \
  g_test_add ("/aggregate/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
#define ADD_PLAIN(name, func)                                                                      \
  g_test_add ("/aggregate/" name, Fixture, plain_config, fixture_setup, func, fixture_teardown)
  ADD_PLAIN ("ack", test_ack);
  ADD ("ack-errors", test_ack_errors);
  ADD ("sticky", test_sticky);
  ADD_PLAIN ("disable", test_disable);
  ADD ("state-file", test_state_file);
  ADD ("state-file-broken", test_state_file_broken);
  ADD ("filters", test_filters);
  ADD_PLAIN ("ft-format", test_ft_format);
  ADD ("http", test_http);
  ADD ("report-section", test_report_section);
#undef ADD
#undef ADD_PLAIN
  return g_test_run ();
}
