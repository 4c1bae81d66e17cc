/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-checks.c: http checks against loopback servers answering in every
 * format (and badly), push checks that expire, and unit checks against
 * a private systemd --user. */
#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "hale-checks.h"
#include "hale-test-systemd.h"

#define SEC G_USEC_PER_SEC
#define MS 1000

/* ---- the server --------------------------------------------------------- */

typedef struct
{
  guint status;
  char *content_type;
  GBytes *body;
} Answer;

typedef struct
{
  SoupServer *server;
  guint port;
  GHashTable *answers; /* path -> Answer */
  guint flap;
  guint requests;
  GPtrArray *paused;
} Server;

static Server *server;

static void
answer_free (gpointer data)
{
  Answer *a = data;
  g_free (a->content_type);
  g_bytes_unref (a->body);
  g_free (a);
}

static void
serve_len (const char *path, guint status, const char *content_type, const char *body, gsize len)
{
  Answer *a = g_new0 (Answer, 1);
  a->status = status;
  a->content_type = g_strdup (content_type);
  a->body = g_bytes_new (body, len);
  g_hash_table_replace (server->answers, g_strdup (path), a);
}

static void
serve (const char *path, guint status, const char *content_type, const char *body)
{
  serve_len (path, status, content_type, body, strlen (body));
}

#define STREAM_CHUNK (64 * 1024)

static void
stream_wrote_chunk (SoupServerMessage *msg, gpointer user_data)
{
  guint *left = g_object_get_data (G_OBJECT (msg), "left");
  SoupMessageBody *body = soup_server_message_get_response_body (msg);

  if (*left == 0)
    soup_message_body_complete (body);
  else
    {
      (*left)--;
      soup_message_body_append_take (body, (guchar *)g_strnfill (STREAM_CHUNK, ' '), STREAM_CHUNK);
    }
  soup_server_message_unpause (msg);
}

static void
handler (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  Answer *a = g_hash_table_lookup (server->answers, path);

  server->requests++;
  if (g_str_equal (path, "/flap"))
    {
      gboolean ok = server->flap++ % 2 == 0;
      soup_server_message_set_status (msg, ok ? 200 : 503, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "x", 1);
    }
  else if (g_str_equal (path, "/never"))
    {
      soup_server_message_pause (msg);
      g_ptr_array_add (server->paused, g_object_ref (msg));
    }
  else if (g_str_equal (path, "/stream"))
    {
      /* 2 MiB, chunked: no Content-Length to refuse it by. */
      guint *left = g_new (guint, 1);
      *left = 32;
      g_object_set_data_full (G_OBJECT (msg), "left", left, g_free);
      soup_message_headers_set_encoding (soup_server_message_get_response_headers (msg),
                                         SOUP_ENCODING_CHUNKED);
      soup_server_message_set_status (msg, 200, NULL);
      soup_message_headers_set_content_type (soup_server_message_get_response_headers (msg),
                                             "application/json", NULL);
      g_signal_connect (msg, "wrote-chunk", G_CALLBACK (stream_wrote_chunk), NULL);
      soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_STATIC,
                                "[", 1);
    }
  else if (a != NULL)
    {
      gsize len;
      const char *data = g_bytes_get_data (a->body, &len);
      soup_server_message_set_status (msg, a->status, NULL);
      soup_server_message_set_response (msg, a->content_type, SOUP_MEMORY_COPY, data, len);
    }
  else
    soup_server_message_set_status (msg, 404, NULL);
}

static void
server_start (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSList) uris = NULL;

  server = g_new0 (Server, 1);
  server->server = soup_server_new (NULL, NULL);
  server->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, answer_free);
  server->paused = g_ptr_array_new_with_free_func (g_object_unref);
  soup_server_add_handler (server->server, NULL, handler, NULL, NULL);
  soup_server_listen_local (server->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (server->server);
  server->port = g_uri_get_port (uris->data);
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify)g_uri_unref);
}

static void
server_stop (void)
{
  soup_server_disconnect (server->server);
  g_object_unref (server->server);
  g_hash_table_unref (server->answers);
  g_ptr_array_unref (server->paused);
  g_clear_pointer (&server, g_free);
}

static char *
url (const char *path)
{
  return g_strdup_printf ("http://127.0.0.1:%u%s", server->port, path);
}

/* ---- the checks under test ---------------------------------------------- */

typedef struct
{
  HaleMetrics *metrics;
  HaleChecks *checks;
  HaleConfig *config;
  GHashTable *outcomes; /* name -> last HaleCheckOutcome */
  GHashTable *counts;   /* name -> outcomes seen */
  GPtrArray *removed;
} Fixture;

static void
on_outcome (HaleChecks *checks, HaleCheckOutcome *outcome, Fixture *f)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (f->counts, outcome->name));
  g_autofree char *printed = g_variant_print (outcome->details, FALSE);

  g_assert_true (g_variant_is_of_type (outcome->details, G_VARIANT_TYPE_VARDICT));
  g_assert_nonnull (outcome->message);
  g_assert_true (g_utf8_validate (outcome->message, -1, NULL));
  g_test_message ("outcome %s: %s %s (%s)", outcome->name,
                  hale_check_status_to_string (outcome->status), outcome->message, printed);
  g_hash_table_replace (f->outcomes, g_strdup (outcome->name), hale_check_outcome_ref (outcome));
  g_hash_table_replace (f->counts, g_strdup (outcome->name), GUINT_TO_POINTER (n + 1));
}

static void
on_removed (HaleChecks *checks, const char *name, Fixture *f)
{
  g_ptr_array_add (f->removed, g_strdup (name));
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->metrics = hale_metrics_new ("hale");
  f->checks = hale_checks_new (f->metrics);
  f->config = hale_config_new_default ();
  f->outcomes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)hale_check_outcome_unref);
  f->counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  f->removed = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (f->checks, "outcome", G_CALLBACK (on_outcome), f);
  g_signal_connect (f->checks, "removed", G_CALLBACK (on_removed), f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->checks);
  g_clear_object (&f->metrics);
  hale_config_unref (f->config);
  g_hash_table_unref (f->outcomes);
  g_hash_table_unref (f->counts);
  g_ptr_array_unref (f->removed);
  /* Let cancelled runs wind down, so nothing leaks into the next test. */
  hale_test_spin (50);
}

static guint
count (Fixture *f, const char *name)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (f->counts, name));
}

static HaleCheckOutcome *
last (Fixture *f, const char *name)
{
  HaleCheckOutcome *o = g_hash_table_lookup (f->outcomes, name);
  g_assert_nonnull (o);
  return o;
}

/* Waits for the next outcome of @name. */
static HaleCheckOutcome *
next_outcome (Fixture *f, const char *name)
{
  guint before = count (f, name);
  HALE_TEST_WAIT_UNTIL (count (f, name) > before);
  return last (f, name);
}

/* A check of @kind; long interval, so only what the test does runs it. */
static HaleCheckConfig *
add_check (Fixture *f, const char *name, HaleCheckKind kind)
{
  HaleCheckConfig *c = g_new0 (HaleCheckConfig, 1);

  c->name = g_strdup (name);
  c->kind = kind;
  c->format = HALE_CHECK_FORMAT_AUTO;
  c->severity = 1;
  c->timeout = 5 * SEC;
  c->interval = 600 * SEC;
  g_ptr_array_add (f->config->checks, c);
  return c;
}

static HaleCheckConfig *
add_http (Fixture *f, const char *name, const char *path, HaleCheckFormat format)
{
  HaleCheckConfig *c = add_check (f, name, HALE_CHECK_KIND_HTTP);
  c->url = url (path);
  c->format = format;
  return c;
}

/* Serves @body at a fresh path and returns the first outcome of a check
 * of it. */
static HaleCheckOutcome *
check_answer (Fixture *f, guint status, const char *content_type, const char *body,
              HaleCheckFormat format)
{
  static guint n;
  g_autofree char *path = g_strdup_printf ("/answer%u", ++n);
  g_autofree char *name = g_strdup_printf ("c%u", n);

  serve (path, status, content_type, body);
  add_http (f, name, path, format);
  hale_checks_configure (f->checks, f->config);
  return next_outcome (f, name);
}

static const char *
detail_string (HaleCheckOutcome *o, const char *key)
{
  const char *value = NULL;
  if (!g_variant_lookup (o->details, key, "&s", &value))
    g_error ("no string %s in %s", key, g_variant_print (o->details, FALSE));
  return value;
}

static guint
detail_uint (HaleCheckOutcome *o, const char *key)
{
  guint32 value = 0;
  if (!g_variant_lookup (o->details, key, "u", &value))
    g_error ("no uint %s in %s", key, g_variant_print (o->details, FALSE));
  return value;
}

static void
assert_contains (const char *text, const char *part)
{
  if (strstr (text, part) == NULL)
    g_error ("\"%s\" does not contain \"%s\"", text, part);
}

static void
assert_outcome (HaleCheckOutcome *o, gboolean ok, HaleCheckStatus status, const char *part)
{
  g_assert_cmpint (o->ok, ==, ok);
  g_assert_cmpint (o->status, ==, status);
  if (part != NULL)
    assert_contains (o->message, part);
}

/* ---- formats ------------------------------------------------------------ */

static const char ft_pass[]
    = "{\"schemaVersion\":1,\"name\":\"api\",\"ok\":true,\"checks\":["
      "{\"name\":\"db\",\"ok\":true,\"severity\":1,\"businessImpact\":\"none\","
      "\"technicalSummary\":\"ping\",\"panicGuide\":\"-\",\"checkOutput\":\"fine\","
      "\"lastUpdated\":\"2024-01-01T00:00:00Z\"},"
      "{\"name\":\"cache\",\"ok\":true,\"severity\":2}]}";
static const char ft_warn[] = "{\"schemaVersion\":1,\"name\":\"api\",\"ok\":false,\"checks\":["
                              "{\"name\":\"db\",\"ok\":true,\"severity\":1},"
                              "{\"name\":\"cache\",\"ok\":false,\"severity\":2,"
                              "\"checkOutput\":\"cold\"}]}";
static const char ft_fail[] = "{\"schemaVersion\":1,\"name\":\"api\",\"ok\":false,\"checks\":["
                              "{\"name\":\"db\",\"ok\":false,\"severity\":1,"
                              "\"checkOutput\":\"connection refused\"},"
                              "{\"name\":\"cache\",\"ok\":false,\"severity\":3}]}";
static const char ft_sev3[] = "{\"schemaVersion\":1,\"checks\":["
                              "{\"name\":\"disk\",\"ok\":false,\"severity\":3}]}";

static void
test_ft (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;
  g_autoptr (GVariant) checks = NULL;
  g_autoptr (GVariant) first = NULL;
  const char *name = NULL;

  o = check_answer (f, 200, "application/json", ft_pass, HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, "2 check(s) ok");
  g_assert_cmpstr (detail_string (o, "format"), ==, "ft");
  g_assert_cmpuint (detail_uint (o, "http_status"), ==, 200);
  checks = g_variant_lookup_value (o->details, "checks", G_VARIANT_TYPE ("aa{sv}"));
  g_assert_cmpuint (g_variant_n_children (checks), ==, 2);
  first = g_variant_get_child_value (checks, 0);
  g_assert_true (g_variant_lookup (first, "name", "&s", &name));
  g_assert_cmpstr (name, ==, "db");
  g_assert_cmpfloat (o->qos, ==, 1.0);

  o = check_answer (f, 200, "application/json", ft_warn, HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_WARNING, "1 of 2 check(s) fail: cache");
  g_assert_cmpuint (o->severity, ==, 2);

  o = check_answer (f, 200, "application/json", ft_fail, HALE_CHECK_FORMAT_FT);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "2 of 2 check(s) fail: db, cache");
  g_assert_cmpuint (detail_uint (o, "checks_failing"), ==, 2);

  /* Severity 3 is a warning too. */
  o = check_answer (f, 200, "application/json", ft_sev3, HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_WARNING, "disk");
}

static void
test_health_json (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;

  o = check_answer (f, 200, "application/health+json",
                    "{\"status\":\"pass\",\"checks\":{\"db:responseTime\":[{\"componentId\":\"a\","
                    "\"status\":\"pass\",\"observedValue\":3}]}}",
                    HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, NULL);
  g_assert_cmpstr (detail_string (o, "format"), ==, "health+json");

  o = check_answer (f, 200, "application/health+json",
                    "{\"status\":\"warn\",\"output\":\"slow disk\",\"checks\":{\"disk\":[{"
                    "\"status\":\"warn\",\"output\":\"95%\"}]}}",
                    HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_WARNING, "slow disk");

  o = check_answer (f, 503, "application/health+json",
                    "{\"status\":\"fail\",\"output\":\"db down\",\"checks\":{\"db\":[{"
                    "\"status\":\"fail\"}]}}",
                    HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "db down");
  g_assert_cmpuint (detail_uint (o, "http_status"), ==, 503);

  /* Aliases, and the format found by shape with a plain JSON type. */
  o = check_answer (f, 200, "application/json", "{\"status\":\"up\"}", HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, NULL);
  g_assert_cmpstr (detail_string (o, "format"), ==, "health+json");
  o = check_answer (f, 200, "application/json", "{\"status\":\"down\"}",
                    HALE_CHECK_FORMAT_HEALTH_JSON);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, NULL);
}

static void
test_seed (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;
  double qos = 0;

  o = check_answer (f, 200, "application/json",
                    "{\"health\":\"passed\",\"qos\":0.98,\"state\":\"serving\",\"checks\":["
                    "{\"name\":\"disk\",\"status\":\"pass\"}]}",
                    HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, NULL);
  g_assert_cmpstr (detail_string (o, "format"), ==, "seed");
  g_assert_cmpstr (detail_string (o, "answer_state"), ==, "serving");
  g_assert_true (g_variant_lookup (o->details, "answer_qos", "d", &qos));
  g_assert_cmpfloat (qos, ==, 0.98);

  o = check_answer (f, 200, "application/json",
                    "{\"health\":\"warn\",\"checks\":{\"queue\":{\"ok\":false,\"severity\":2,"
                    "\"message\":\"backlog\"}}}",
                    HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_WARNING, "queue");

  o = check_answer (f, 200, "application/json", "{\"health\":\"fail\",\"checks\":{\"db\":false}}",
                    HALE_CHECK_FORMAT_SEED);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "db");
}

/* The rotation agent's report as it defines itself: state an object
 * (name, duration, blockers), qos null before it has a window, each
 * check with its data. */
static const char seed_report[]
    = "{\"health\":\"passed\",\"qos\":null,"
      "\"state\":{\"name\":\"idle\",\"duration\":\"3h2m\",\"blockers\":[]},"
      "\"checks\":[{\"name\":\"renewal\",\"status\":\"pass\","
      "\"data\":{\"next\":\"2026-12-01T00:00:00Z\",\"attempts\":3}},"
      "{\"name\":\"disk\",\"status\":\"pass\",\"data\":[1,\"two\",null]}]}";

static void
test_seed_report (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;
  g_autoptr (GVariant) checks = NULL;
  g_autoptr (GVariant) first = NULL;
  g_autoptr (GVariant) second = NULL;
  g_autoptr (GVariant) data_value = NULL;
  g_autofree const char **blockers = NULL;
  g_autoptr (GString) big = g_string_new (NULL);
  g_autofree char *big_report = NULL;
  gint64 attempts = 0;
  double seconds = 0;
  const char *omitted = NULL;

  o = check_answer (f, 200, "application/json", seed_report, HALE_CHECK_FORMAT_SEED);
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, "2 check(s) ok");
  g_assert_cmpstr (detail_string (o, "answer_state"), ==, "idle");
  g_assert_cmpstr (detail_string (o, "answer_state_duration"), ==, "3h2m");
  g_assert_true (g_variant_lookup (o->details, "answer_state_blockers", "^a&s", &blockers));
  g_assert_cmpuint (g_strv_length ((char **)blockers), ==, 0);
  g_assert_false (g_variant_lookup (o->details, "answer_qos", "d", NULL));

  /* Each check's data is kept as the report had it. */
  checks = g_variant_lookup_value (o->details, "checks", G_VARIANT_TYPE ("aa{sv}"));
  g_assert_nonnull (checks);
  first = g_variant_get_child_value (checks, 0);
  data_value = g_variant_lookup_value (first, "data", G_VARIANT_TYPE_VARDICT);
  g_assert_nonnull (data_value);
  g_assert_true (g_variant_lookup (data_value, "attempts", "x", &attempts));
  g_assert_cmpint (attempts, ==, 3);
  second = g_variant_get_child_value (checks, 1);
  g_clear_pointer (&data_value, g_variant_unref);
  data_value = g_variant_lookup_value (second, "data", NULL);
  g_assert_nonnull (data_value);
  /* D-Bus has no null: it is left out. */
  g_assert_cmpuint (g_variant_n_children (data_value), ==, 2);

  /* Found by its shape as well. */
  o = check_answer (f, 200, "application/json", seed_report, HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, NULL);
  g_assert_cmpstr (detail_string (o, "format"), ==, "seed");

  /* Blockers are shown; a numeric duration is seconds. */
  o = check_answer (f, 200, "application/json",
                    "{\"health\":\"warn\",\"qos\":0.5,\"state\":{\"name\":\"blocked\","
                    "\"duration\":90,\"blockers\":[\"ca unreachable\",\"disk full\"]},"
                    "\"checks\":[]}",
                    HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_WARNING,
                  "state blocked; blockers: ca unreachable, disk full");
  g_clear_pointer (&blockers, g_free);
  g_assert_true (g_variant_lookup (o->details, "answer_state_blockers", "^a&s", &blockers));
  g_assert_cmpuint (g_strv_length ((char **)blockers), ==, 2);
  g_assert_cmpstr (blockers[1], ==, "disk full");
  g_assert_true (g_variant_lookup (o->details, "answer_state_seconds", "d", &seconds));
  g_assert_cmpfloat (seconds, ==, 90);

  /* Data larger than the bound is left out, and the details say so. */
  g_string_append (big, "{\"health\":\"passed\",\"checks\":[{\"name\":\"log\",\"ok\":true,"
                        "\"data\":\"");
  for (guint i = 0; i < 2000; i++)
    g_string_append (big, "x");
  g_string_append (big, "\"}]}");
  big_report = g_string_free (g_steal_pointer (&big), FALSE);
  o = check_answer (f, 200, "application/json", big_report, HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, NULL);
  g_clear_pointer (&checks, g_variant_unref);
  g_clear_pointer (&first, g_variant_unref);
  checks = g_variant_lookup_value (o->details, "checks", G_VARIANT_TYPE ("aa{sv}"));
  first = g_variant_get_child_value (checks, 0);
  g_assert_false (g_variant_lookup (first, "data", "*", NULL));
  g_assert_true (g_variant_lookup (first, "data_omitted", "&s", &omitted));
  assert_contains (omitted, "more than 1 KiB");
}

static void
test_status (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;

  o = check_answer (f, 200, "text/plain", "OK", HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, "HTTP 200");
  g_assert_cmpstr (detail_string (o, "format"), ==, "status");

  o = check_answer (f, 503, "text/html", "<html>down</html>", HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "http status 503");

  /* Format=status ignores a body that would say otherwise. */
  o = check_answer (f, 200, "application/json", "{\"status\":\"fail\"}", HALE_CHECK_FORMAT_STATUS);
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, NULL);

  /* JSON in no known format: judged by the status, and said so. */
  o = check_answer (f, 200, "application/json", "{\"hello\":1}", HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, NULL);
  assert_contains (detail_string (o, "format_note"), "no health format");
}

/* Severity=2 caps a check at warning, whatever the answer says. */
static void
test_severity (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;

  serve ("/sev", 200, "application/json", ft_fail);
  add_http (f, "capped", "/sev", HALE_CHECK_FORMAT_AUTO)->severity = 2;
  hale_checks_configure (f->checks, f->config);
  o = next_outcome (f, "capped");
  assert_outcome (o, FALSE, HALE_CHECK_WARNING, "db");
  g_assert_cmpuint (o->severity, ==, 2);
}

/* ---- broken answers ----------------------------------------------------- */

static void
test_garbage (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *content_type;
    const char *body;
    HaleCheckFormat format;
    const char *reason;
  } cases[] = {
    { "application/json", "{\"status\": pass}", HALE_CHECK_FORMAT_AUTO, "not JSON: " },
    { "application/json", "", HALE_CHECK_FORMAT_AUTO, "not JSON" },
    { "text/plain", "OK", HALE_CHECK_FORMAT_FT, "not JSON" },
    { "application/json", "[1,2]", HALE_CHECK_FORMAT_AUTO, "the answer is an array" },
    { "application/health+json", "{\"status\":3}", HALE_CHECK_FORMAT_AUTO,
      "health+json: status is a number" },
    { "application/health+json", "{\"status\":\"maybe\"}", HALE_CHECK_FORMAT_AUTO,
      "health+json: unknown status \"maybe\"" },
    { "application/health+json", "{\"output\":\"x\"}", HALE_CHECK_FORMAT_AUTO,
      "health+json: no \"status\"" },
    { "application/health+json", "{\"status\":\"pass\",\"checks\":[]}", HALE_CHECK_FORMAT_AUTO,
      "health+json: checks is an array, not an object" },
    { "application/health+json", "{\"status\":\"pass\",\"checks\":{\"a\":[{\"status\":1}]}}",
      HALE_CHECK_FORMAT_AUTO, "health+json: status is a number (in checks[\"a\"][0])" },
    { "application/json", "{\"schemaVersion\":1,\"checks\":{}}", HALE_CHECK_FORMAT_AUTO,
      "ft: checks is an object, not an array" },
    { "application/json", "{\"checks\":[{\"ok\":\"yes\"}]}", HALE_CHECK_FORMAT_AUTO,
      "ft: checks[0].ok is a string, not a boolean" },
    { "application/json", "{\"checks\":[{\"ok\":false,\"severity\":9}]}", HALE_CHECK_FORMAT_AUTO,
      "ft: checks[0].severity is not 1, 2 or 3" },
    { "application/json", "{\"checks\":[null]}", HALE_CHECK_FORMAT_AUTO,
      "ft: checks[0] is null, not an object" },
    /* Found by fuzz-check-answer: the name came into the one-line
     * message as the service wrote it, newlines and all. */
    { "application/json",
      "{\"health\":\"passed\",\"checks\":[{\"name\":\"a\\nb\",\"status\":\"eue\"}]}",
      HALE_CHECK_FORMAT_AUTO, "seed: check a b: unknown status \"eue\"" },
    { "application/json", "{\"health\":\"passed\",\"qos\":\"high\"}", HALE_CHECK_FORMAT_AUTO,
      "seed: qos is a string, not a number" },
    { "application/json", "{\"health\":\"passed\",\"qos\":7}", HALE_CHECK_FORMAT_AUTO,
      "seed: qos is 7, not between 0 and 1" },
    { "application/json", "{\"health\":true}", HALE_CHECK_FORMAT_AUTO,
      "seed: health is a boolean" },
    { "application/json", "{\"health\":\"passed\",\"state\":5}", HALE_CHECK_FORMAT_AUTO,
      "seed: state is a number, not an object" },
    { "application/json", "{\"health\":\"passed\",\"state\":{\"blockers\":\"x\"}}",
      HALE_CHECK_FORMAT_AUTO, "seed: state.blockers is a string, not an array" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      HaleCheckOutcome *o
          = check_answer (f, 200, cases[i].content_type, cases[i].body, cases[i].format);
      assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, cases[i].reason);
      g_assert_cmpstr (detail_string (o, "reason"), ==, o->message);
    }
}

static void
test_hostile (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;
  g_autoptr (GString) deep = g_string_new (NULL);
  g_autoptr (GString) many = g_string_new ("{\"schemaVersion\":1,\"checks\":[");
  g_autoptr (GVariant) listed = NULL;
  static const char bad_utf8[] = "{\"status\":\"pass\",\"output\":\"\xff\xfe\"}";
  /* A lone surrogate and a control character in strings hale shows. */
  static const char odd_strings[]
      = "{\"schemaVersion\":1,\"checks\":[{\"name\":\"a\\ud800b\\u0007c\",\"ok\":false}]}";

  /* 100,000 levels of '[': json-glib never sees it. */
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  o = check_answer (f, 200, "application/json", deep->str, HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "nested deeper than 32 levels");

  o = check_answer (f, 200, "application/json", bad_utf8, HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "not JSON: invalid UTF-8 at byte 27");

  serve_len ("/nul", 200, "application/json", "{\"status\":\"pass\"}\0x", 19);
  add_http (f, "nul", "/nul", HALE_CHECK_FORMAT_AUTO);
  hale_checks_configure (f->checks, f->config);
  o = next_outcome (f, "nul");
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "NUL byte");

  o = check_answer (f, 200, "application/json", odd_strings, HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "1 of 1 check(s) fail");
  g_assert_null (strchr (o->message, '\a'));

  /* 50,000 sub-checks in well under 1 MiB: all judged, 64 listed. */
  for (guint i = 0; i < 50000; i++)
    g_string_append_printf (many, "%s{\"ok\":%s}", i > 0 ? "," : "", i == 49999 ? "false" : "true");
  g_string_append (many, "]}");
  o = check_answer (f, 200, "application/json", many->str, HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "1 of 50000 check(s) fail: checks[49999]");
  g_assert_cmpuint (detail_uint (o, "checks_total"), ==, 50000);
  listed = g_variant_lookup_value (o->details, "checks", G_VARIANT_TYPE ("aa{sv}"));
  g_assert_cmpuint (g_variant_n_children (listed), ==, 64);

  /* Passing JSON with an error status is not believed. */
  o = check_answer (f, 500, "application/health+json", "{\"status\":\"pass\"}",
                    HALE_CHECK_FORMAT_AUTO);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "http status 500, though the answer says");

  /* An error page where JSON was promised. */
  o = check_answer (f, 502, "text/html", "<h1>Bad Gateway</h1>", HALE_CHECK_FORMAT_FT);
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "http status 502 (not JSON");
}

static void
test_oversized (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;
  g_autofree char *big = g_strnfill (2 * 1024 * 1024, ' ');

  /* With a Content-Length: refused before the body is read. */
  serve ("/big", 200, "application/json", big);
  add_http (f, "big", "/big", HALE_CHECK_FORMAT_AUTO);
  /* Chunked: refused once 1 MiB has come. */
  add_http (f, "stream", "/stream", HALE_CHECK_FORMAT_AUTO);
  hale_checks_configure (f->checks, f->config);
  HALE_TEST_WAIT_UNTIL (count (f, "big") > 0 && count (f, "stream") > 0);
  assert_outcome (last (f, "big"), FALSE, HALE_CHECK_CRITICAL, "answer larger than 1 MiB");
  o = last (f, "stream");
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "answer larger than 1 MiB");
}

/* ---- timing ------------------------------------------------------------- */

static void
test_timeout (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;
  gint64 start = g_get_monotonic_time ();

  add_http (f, "slow", "/never", HALE_CHECK_FORMAT_AUTO)->timeout = 300 * MS;
  hale_checks_configure (f->checks, f->config);
  o = next_outcome (f, "slow");
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "timeout: no answer within 300ms");
  g_assert_cmpint (o->duration, >=, 300 * MS);
  g_assert_cmpint (o->duration, <, 3 * SEC);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * SEC);
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocketListener) l = g_socket_listener_new ();
  guint16 port = g_socket_listener_add_any_inet_port (l, NULL, NULL);
  HaleCheckConfig *c;

  /* A port that was free a moment ago. */
  g_socket_listener_close (l);
  c = add_check (f, "refused", HALE_CHECK_KIND_HTTP);
  c->url = g_strdup_printf ("http://127.0.0.1:%u/", port);
  hale_checks_configure (f->checks, f->config);
  assert_outcome (next_outcome (f, "refused"), FALSE, HALE_CHECK_CRITICAL, "connection refused");
}

static void
test_flapping (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;
  const char *pass[] = { "flap", "pass", NULL };
  const char *fail[] = { "flap", "fail", NULL };
  const char *labels[] = { "flap", NULL };
  double value = -1;

  server->flap = 0;
  add_http (f, "flap", "/flap", HALE_CHECK_FORMAT_AUTO)->interval = 100 * MS;
  hale_checks_configure (f->checks, f->config);
  HALE_TEST_WAIT_UNTIL (count (f, "flap") >= 6);
  o = last (f, "flap");
  /* ok, fail, ok, fail, ok, fail */
  g_assert_false (o->ok);
  g_assert_cmpfloat_with_epsilon (o->qos, 0.5, 1e-9);

  g_assert_true (
      hale_metric_get (hale_metrics_lookup (f->metrics, "check_runs_total"), pass, &value));
  g_assert_cmpfloat (value, ==, 3);
  g_assert_true (
      hale_metric_get (hale_metrics_lookup (f->metrics, "check_runs_total"), fail, &value));
  g_assert_cmpfloat (value, ==, 3);
  g_assert_true (hale_metric_get (hale_metrics_lookup (f->metrics, "check_qos"), labels, &value));
  g_assert_cmpfloat_with_epsilon (value, 0.5, 1e-9);
  g_assert_true (
      hale_metric_get (hale_metrics_lookup (f->metrics, "check_status"), labels, &value));
  g_assert_cmpfloat (value, ==, 2);
}

/* Runs never overlap: a run due while the last is in flight is skipped. */
static void
test_no_overlap (Fixture *f, gconstpointer data)
{
  HaleCheckConfig *c = add_http (f, "overlap", "/never", HALE_CHECK_FORMAT_AUTO);
  guint before;

  c->interval = 50 * MS;
  c->timeout = 1 * SEC;
  before = server->requests;
  hale_checks_configure (f->checks, f->config);
  next_outcome (f, "overlap");
  /* About 20 intervals passed during the one run. */
  g_assert_cmpuint (server->requests - before, ==, 1);
}

static void
test_rate_limit (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *one[] = { "a", NULL };
  const char *both[] = { "a", "b", NULL };
  const char *unknown[] = { "nope", NULL };
  const char *push[] = { "p", NULL };

  serve ("/ok", 200, "text/plain", "ok");
  add_http (f, "a", "/ok", HALE_CHECK_FORMAT_AUTO);
  add_http (f, "b", "/ok", HALE_CHECK_FORMAT_AUTO);
  add_check (f, "p", HALE_CHECK_KIND_PUSH)->ttl = 60 * SEC;
  hale_checks_configure (f->checks, f->config);
  HALE_TEST_WAIT_UNTIL (count (f, "a") == 1 && count (f, "b") == 1);

  g_assert_true (hale_checks_run_now (f->checks, one, &error));
  g_assert_no_error (error);
  HALE_TEST_WAIT_UNTIL (count (f, "a") == 2);

  /* Again at once: refused, and b is not run either (all or nothing). */
  g_assert_false (hale_checks_run_now (f->checks, both, &error));
  g_assert_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_RATE_LIMITED);
  assert_contains (error->message, "check a was run on demand");
  g_clear_error (&error);
  g_assert_false (hale_checks_run_now (f->checks, NULL, &error));
  g_assert_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_RATE_LIMITED);
  g_clear_error (&error);
  hale_test_spin (200);
  g_assert_cmpuint (count (f, "b"), ==, 1);

  g_assert_false (hale_checks_run_now (f->checks, unknown, &error));
  g_assert_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_UNKNOWN_CHECK);
  g_clear_error (&error);

  /* Push checks cost nothing to re-evaluate: never limited. */
  g_assert_true (hale_checks_run_now (f->checks, push, &error));
  g_assert_true (hale_checks_run_now (f->checks, push, &error));
  g_assert_no_error (error);
}

/* ---- push --------------------------------------------------------------- */

static void
test_push (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleCheckOutcome) none = NULL;
  HaleCheckOutcome *o;
  g_autofree char *long_message = g_strnfill (1025, 'x');
  gboolean expired = FALSE;

  add_check (f, "backup", HALE_CHECK_KIND_PUSH)->ttl = 1 * SEC;
  serve ("/ok", 200, "text/plain", "ok");
  add_http (f, "web", "/ok", HALE_CHECK_FORMAT_AUTO);
  hale_checks_configure (f->checks, f->config);

  /* Pending: nothing to say before a report or the TTL. */
  hale_test_spin (300);
  none = hale_checks_get_outcome (f->checks, "backup");
  g_assert_null (none);
  g_assert_cmpuint (count (f, "backup"), ==, 0);

  o = next_outcome (f, "backup");
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL,
                  "no report since the check started 1s ago (TTL 1s)");
  g_assert_true (g_variant_lookup (o->details, "expired", "b", &expired) && expired);

  g_assert_true (hale_checks_report (f->checks, "backup", "pass", "nightly\nbackup done", &error));
  g_assert_no_error (error);
  o = last (f, "backup");
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, "nightly backup done");
  g_assert_cmpfloat_with_epsilon (o->qos, 0.5, 1e-9);
  {
    g_autoptr (HaleCheckOutcome) got = hale_checks_get_outcome (f->checks, "backup");
    g_assert_true (got == o);
  }

  o = next_outcome (f, "backup");
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "no report for 1s (TTL 1s)");

  g_assert_true (hale_checks_report (f->checks, "backup", "warn", NULL, &error));
  assert_outcome (last (f, "backup"), FALSE, HALE_CHECK_WARNING, "reported warn");
  g_assert_true (hale_checks_report (f->checks, "backup", "fail", "disk full", &error));
  assert_outcome (last (f, "backup"), FALSE, HALE_CHECK_CRITICAL, "disk full");

  g_assert_false (hale_checks_report (f->checks, "backup", "ok", NULL, &error));
  g_assert_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (hale_checks_report (f->checks, "backup", "pass", long_message, &error));
  g_assert_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_INVALID);
  assert_contains (error->message, "1025 bytes");
  g_clear_error (&error);
  g_assert_false (hale_checks_report (f->checks, "backup", "pass", "\xc3\x28", &error));
  g_assert_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (hale_checks_report (f->checks, "web", "pass", NULL, &error));
  g_assert_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_NOT_PUSH);
  g_clear_error (&error);
  g_assert_false (hale_checks_report (f->checks, "nope", "pass", NULL, &error));
  g_assert_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_UNKNOWN_CHECK);
  g_clear_error (&error);
}

/* ---- configuration ------------------------------------------------------ */

static void
test_reconfigure (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleCheckOutcome) kept = NULL;
  g_autoptr (HaleCheckOutcome) gone = NULL;
  HaleConfig *second;
  HaleCheckConfig *c;
  g_auto (GStrv) names = NULL;
  const char *labels[] = { "b", NULL };
  double value;
  HaleMetricFamily *status;

  serve ("/ok", 200, "text/plain", "ok");
  serve ("/down", 503, "text/plain", "down");
  add_http (f, "a", "/ok", HALE_CHECK_FORMAT_AUTO);
  add_http (f, "b", "/down", HALE_CHECK_FORMAT_AUTO);
  hale_checks_configure (f->checks, f->config);
  HALE_TEST_WAIT_UNTIL (count (f, "a") == 1 && count (f, "b") == 1);
  kept = hale_checks_get_outcome (f->checks, "a");

  /* a unchanged but for its interval, b gone, c new. */
  second = hale_config_new_default ();
  hale_config_unref (f->config);
  f->config = second;
  add_http (f, "a", "/ok", HALE_CHECK_FORMAT_AUTO)->interval = 300 * SEC;
  add_http (f, "c", "/ok", HALE_CHECK_FORMAT_AUTO);
  hale_checks_configure (f->checks, f->config);
  g_assert_cmpuint (f->removed->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->removed, 0), ==, "b");
  names = hale_checks_list (f->checks);
  g_assert_cmpuint (g_strv_length (names), ==, 2);
  g_assert_cmpstr (names[0], ==, "a");
  g_assert_cmpstr (names[1], ==, "c");
  HALE_TEST_WAIT_UNTIL (count (f, "c") == 1);
  {
    g_autoptr (HaleCheckOutcome) still = hale_checks_get_outcome (f->checks, "a");
    g_assert_true (still == kept);
  }
  g_assert_cmpuint (count (f, "a"), ==, 1);
  gone = hale_checks_get_outcome (f->checks, "b");
  g_assert_null (gone);
  status = hale_metrics_lookup (f->metrics, "check_status");
  g_assert_false (hale_metric_get (status, labels, &value));

  /* Another URL: what was learnt goes. */
  c = g_ptr_array_index (f->config->checks, 0);
  g_free (c->url);
  c->url = url ("/down");
  hale_checks_configure (f->checks, f->config);
  {
    g_autoptr (HaleCheckOutcome) reset = hale_checks_get_outcome (f->checks, "a");
    g_assert_null (reset);
  }
  assert_outcome (next_outcome (f, "a"), FALSE, HALE_CHECK_CRITICAL, "503");
  g_assert_cmpfloat (last (f, "a")->qos, ==, 0.0);
}

/* ---- units -------------------------------------------------------------- */

static HaleTestSystemd *ts;
static GError *setup_error;
static char *flag_path;

static gboolean
need_systemd (void)
{
  if (ts != NULL)
    return TRUE;
  hale_test_skip_or_fail ("a private systemd --user", setup_error);
  return FALSE;
}

/* StartUnit without waiting for the job. */
static void
start_no_block (const char *unit)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret = g_dbus_connection_call_sync (
      hale_test_systemd_get_connection (ts), "org.freedesktop.systemd1",
      "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "StartUnit",
      g_variant_new ("(ss)", unit, "replace"), NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  g_assert_no_error (error);
}

static HaleCheckOutcome *
unit_outcome_until (Fixture *f, const char *name, const char *active_state)
{
  for (;;)
    {
      HaleCheckOutcome *o = next_outcome (f, name);
      const char *state = NULL;
      if (g_variant_lookup (o->details, "active_state", "&s", &state)
          && g_str_equal (state, active_state))
        return o;
    }
}

static void
test_unit_recovers (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  HaleCheckOutcome *o;
  g_auto (GStrv) blockers = NULL;

  if (!need_systemd ())
    return;
  hale_checks_set_connection (f->checks, hale_test_systemd_get_connection (ts));
  add_check (f, "flag", HALE_CHECK_KIND_UNIT)->unit = g_strdup ("flag.service");
  hale_checks_configure (f->checks, f->config);

  /* Fails without its flag file. */
  g_assert_false (hale_test_systemd_start_unit (ts, "flag.service", &error));
  g_clear_error (&error);
  o = unit_outcome_until (f, "flag", "failed");
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "failed (failed)");
  g_assert_cmpstr (detail_string (o, "unit"), ==, "flag.service");
  g_assert_true (g_variant_lookup (o->details, "blockers", "^as", &blockers));
  g_assert_cmpuint (g_strv_length (blockers), ==, 0);

  /* Recovers: seen from PropertiesChanged, not the 600 s interval. */
  g_assert_true (g_file_set_contents (flag_path, "", 0, NULL));
  g_assert_true (hale_test_systemd_start_unit (ts, "flag.service", &error));
  g_assert_no_error (error);
  o = unit_outcome_until (f, "flag", "active");
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, "active (exited)");
}

static void
test_unit_activating (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;

  if (!need_systemd ())
    return;
  hale_checks_set_connection (f->checks, hale_test_systemd_get_connection (ts));
  add_check (f, "slow", HALE_CHECK_KIND_UNIT)->unit = g_strdup ("slowstart.service");
  hale_checks_configure (f->checks, f->config);
  o = next_outcome (f, "slow");
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "inactive (dead)");

  start_no_block ("slowstart.service");
  o = unit_outcome_until (f, "slow", "activating");
  assert_outcome (o, FALSE, HALE_CHECK_WARNING, "activating (start-pre)");
  g_assert_cmpuint (o->severity, ==, 2);
  g_assert_true (g_variant_lookup_value (o->details, "state_seconds", G_VARIANT_TYPE_DOUBLE)
                 != NULL);
  o = unit_outcome_until (f, "slow", "active");
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, NULL);
}

static void
test_unit_blocker (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  HaleCheckOutcome *o;
  g_auto (GStrv) blockers = NULL;

  if (!need_systemd ())
    return;
  /* dependent.service Requires= broken.service, which fails. */
  g_assert_false (hale_test_systemd_start_unit (ts, "dependent.service", &error));
  g_clear_error (&error);
  hale_checks_set_connection (f->checks, hale_test_systemd_get_connection (ts));
  add_check (f, "dep", HALE_CHECK_KIND_UNIT)->unit = g_strdup ("dependent.service");
  hale_checks_configure (f->checks, f->config);
  o = next_outcome (f, "dep");
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "required unit(s) failed: broken.service");
  g_assert_true (g_variant_lookup (o->details, "blockers", "^as", &blockers));
  g_assert_cmpuint (g_strv_length (blockers), ==, 1);
  g_assert_cmpstr (blockers[0], ==, "broken.service");
}

static void
test_unit_missing (Fixture *f, gconstpointer data)
{
  HaleCheckOutcome *o;

  if (!need_systemd ())
    return;
  hale_checks_set_connection (f->checks, hale_test_systemd_get_connection (ts));
  add_check (f, "nope", HALE_CHECK_KIND_UNIT)->unit = g_strdup ("nope.service");
  add_check (f, "good", HALE_CHECK_KIND_UNIT)->unit = g_strdup ("good.service");
  hale_checks_configure (f->checks, f->config);
  HALE_TEST_WAIT_UNTIL (count (f, "nope") > 0 && count (f, "good") > 0);
  o = last (f, "nope");
  assert_outcome (o, FALSE, HALE_CHECK_CRITICAL, "no such unit");
  o = last (f, "good");
  assert_outcome (o, TRUE, HALE_CHECK_HEALTHY, "active (running) for ");
}

/* Needs no systemd: there is no bus. */
static void
test_unit_not_connected (Fixture *f, gconstpointer data)
{
  add_check (f, "u", HALE_CHECK_KIND_UNIT)->unit = g_strdup ("x.service");
  hale_checks_configure (f->checks, f->config);
  assert_outcome (next_outcome (f, "u"), FALSE, HALE_CHECK_CRITICAL,
                  "not connected to the service manager");
}

static gboolean
setup_systemd (GError **error)
{
  g_autoptr (HaleTestSystemd) t = hale_test_systemd_new (error);
  g_autofree char *flag_unit = NULL;
  HaleTestUnit units[] = {
    { "good.service", "[Service]\nExecStart=/bin/sleep infinity\n", FALSE },
    { "flag.service", NULL, TRUE },
    { "slowstart.service",
      "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStartPre=/bin/sleep 2\n"
      "ExecStart=/bin/true\n",
      TRUE },
    { "broken.service", "[Service]\nType=oneshot\nExecStart=/bin/false\n", TRUE },
    { "dependent.service",
      "[Unit]\nRequires=broken.service\nAfter=broken.service\n"
      "[Service]\nExecStart=/bin/sleep infinity\n",
      TRUE },
  };

  if (t == NULL)
    return FALSE;
  flag_path = g_build_filename (hale_test_systemd_get_tmpdir (t), "flag", NULL);
  flag_unit = g_strdup_printf ("[Service]\nType=oneshot\nRemainAfterExit=yes\n"
                               "ExecStart=/bin/test -e %s\n",
                               flag_path);
  units[1].contents = flag_unit;
  if (!hale_test_systemd_start_with (t, units, G_N_ELEMENTS (units), error))
    return FALSE;
  ts = g_steal_pointer (&t);
  return TRUE;
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server_start ();
  if (!setup_systemd (&setup_error))
    g_test_message ("no systemd --user: %s", setup_error->message);

#define ADD(name, func)                                                                            \
  g_test_add ("/checks/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("http/ft", test_ft);
  ADD ("http/health-json", test_health_json);
  ADD ("http/seed", test_seed);
  ADD ("http/seed-report", test_seed_report);
  ADD ("http/status", test_status);
  ADD ("http/severity", test_severity);
  ADD ("http/garbage", test_garbage);
  ADD ("http/hostile", test_hostile);
  ADD ("http/oversized", test_oversized);
  ADD ("http/timeout", test_timeout);
  ADD ("http/refused", test_refused);
  ADD ("http/flapping", test_flapping);
  ADD ("http/no-overlap", test_no_overlap);
  ADD ("rate-limit", test_rate_limit);
  ADD ("push", test_push);
  ADD ("reconfigure", test_reconfigure);
  ADD ("unit/recovers", test_unit_recovers);
  ADD ("unit/activating", test_unit_activating);
  ADD ("unit/blocker", test_unit_blocker);
  ADD ("unit/missing", test_unit_missing);
  ADD ("unit/not-connected", test_unit_not_connected);
#undef ADD

  ret = g_test_run ();
  g_clear_pointer (&ts, hale_test_systemd_free);
  g_clear_error (&setup_error);
  g_free (flag_path);
  server_stop ();
  return ret;
}
