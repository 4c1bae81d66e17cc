/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-reload.c: the reload sequence against a real systemd --user,
 * a real local HTTP health endpoint and a real journald.
 *
 * One systemd --user for the whole file (started in main); each test
 * builds the modules haled would (state, metrics, audit, certificate
 * watch, prober, reload) around its own directory and configuration.
 */
#include "config.h"

#include "hale-names.h"
#include "hale-reload.h"
#include "hale-test-cert.h"
#include "hale-test-systemd.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <syslog.h>

static HaleTestSystemd *ts;
static GError *setup_error;
static gboolean have_journal;
static GError *journal_error;
static SoupServer *server;
static char *base_url;
static guint flaky_left;
static guint flaky_requests;
static char *picky_flag; /* picky.service's ExecReload fails while it exists */

/* ---- the health endpoint ---------------------------------------------- */

static void
health_handler (SoupServer *srv, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer user_data)
{
  guint status = 404;

  if (g_str_equal (path, "/healthy"))
    status = 200;
  else if (g_str_equal (path, "/broken"))
    status = 500;
  else if (g_str_equal (path, "/flaky"))
    {
      flaky_requests++;
      if (flaky_left > 0)
        {
          flaky_left--;
          status = 503;
        }
      else
        status = 200;
    }
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "x", 1);
}

static void
start_server (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSList) uris = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);

  server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server, NULL, health_handler, NULL, NULL);
  g_assert_true (soup_server_listen (server, addr, 0, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  base_url = g_uri_to_string_partial (uris->data, G_URI_HIDE_PASSWORD);
  if (g_str_has_suffix (base_url, "/"))
    base_url[strlen (base_url) - 1] = '\0';
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify)g_uri_unref);
}

/* ---- fixture ------------------------------------------------------------ */

typedef struct
{
  char *tmp;
  char *conf;
  char *cert_path;
  char *key_path;
  char *state_dir;
  char *cert_name; /* unique per test: journal queries find only ours */
  HaleConfig *config;
  HaleState *state;
  HaleMetrics *metrics;
  HaleAudit *audit;
  HaleCertWatch *certs;
  HaleProber *prober;
  HaleReload *reload;

  GPtrArray *reloaded; /* "name" or "rollback:name", in signal order */
  guint renewals;
  guint sequences;
  gboolean finished;
} Fixture;

static void
on_service_reloaded (HaleReload *reload, const HaleReloadResult *r, Fixture *f)
{
  g_ptr_array_add (f->reloaded, r->rollback ? g_strconcat ("rollback:", r->service, NULL)
                                            : g_strdup (r->service));
}

static void
on_sequence_finished (HaleReload *reload, GPtrArray *results, gboolean rolled_back, Fixture *f)
{
  f->sequences++;
  f->finished = TRUE;
}

static void
on_renewed (HaleCertWatch *certs, const char *name, gpointer prev, gpointer cur, Fixture *f)
{
  f->renewals++;
}

static gboolean
need_systemd (void)
{
  if (ts != NULL)
    return TRUE;
  hale_test_skip_or_fail ("a private systemd --user", setup_error);
  return FALSE;
}

/* Writes a certificate with @serial (and its key) like a rotation tool. */
static HaleTestCert *
write_cert (Fixture *f, const char *serial)
{
  g_autoptr (GError) error = NULL;
  HaleTestCert *cert = hale_test_cert_new_simple ("hale test", serial, 0, 0, &error);

  g_assert_no_error (error);
  g_assert_true (hale_test_cert_write (cert, NULL, f->cert_path, f->key_path, &error));
  g_assert_no_error (error);
  return cert;
}

typedef gboolean (*Condition) (Fixture *f, gconstpointer data);

static gboolean
wait_until (Fixture *f, Condition cond, gconstpointer data, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  gboolean never = FALSE;

  while (!cond (f, data) && g_get_monotonic_time () < end)
    hale_test_wait_for (&never, 20);
  return cond (f, data);
}

static gboolean
serial_seen (Fixture *f, gconstpointer serial)
{
  const HaleCertInfo *info = hale_cert_watch_get_info (f->certs, f->cert_name);
  return info != NULL && g_str_equal (info->serial, serial);
}

static gboolean
serial_kept (Fixture *f, gconstpointer serial)
{
  g_autofree char *base = g_strconcat (serial, ".pem", NULL);
  g_autofree char *path = g_build_filename (f->state_dir, "backup", f->cert_name, base, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static gboolean
sequences_at_least (Fixture *f, gconstpointer n)
{
  return f->sequences >= GPOINTER_TO_UINT (n) && !hale_reload_is_busy (f->reload);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleTestCert) cert = NULL;

  f->tmp = g_dir_make_tmp ("hale-test-reload-XXXXXX", NULL);
  f->conf = g_build_filename (f->tmp, "hale.conf", NULL);
  f->cert_path = g_build_filename (f->tmp, "cert.pem", NULL);
  f->key_path = g_build_filename (f->tmp, "cert.key", NULL);
  f->state_dir = g_build_filename (f->tmp, "state", NULL);
  f->cert_name = g_strdup_printf ("web%08x", g_random_int ());
  f->reloaded = g_ptr_array_new_with_free_func (g_free);
  g_assert_cmpint (g_mkdir (f->state_dir, 0700), ==, 0);

  f->state = hale_state_new ();
  f->metrics = hale_metrics_new ("hale");
  f->audit = hale_audit_new (f->metrics);
  f->certs = hale_cert_watch_new (f->state, f->metrics, f->state_dir);
  f->prober = hale_prober_new ();
  f->reload = hale_reload_new (f->state, f->metrics, f->audit, f->certs, f->prober, f->state_dir);
  g_signal_connect (f->reload, "service-reloaded", G_CALLBACK (on_service_reloaded), f);
  g_signal_connect (f->reload, "sequence-finished", G_CALLBACK (on_sequence_finished), f);
  g_signal_connect (f->certs, "renewed", G_CALLBACK (on_renewed), f);

  cert = write_cert (f, "01");
}

/* @services: the [Service] groups; @CERT@ and @URL@ are replaced. */
static void
reconfigure (Fixture *f, const char *services)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);

  g_string_append_printf (text,
                          "[Certificate @CERT@]\nPath=%s\nKeyPath=%s\n"
                          "[Monitoring]\nCertificateRecheckInterval=1s\n",
                          f->cert_path, f->key_path);
  g_string_append (text, services);
  g_string_replace (text, "@CERT@", f->cert_name, 0);
  g_string_replace (text, "@URL@", base_url, 0);
  g_assert_true (g_file_set_contents (f->conf, text->str, -1, NULL));
  g_clear_pointer (&f->config, hale_config_unref);
  f->config = hale_config_load (f->conf, &error);
  g_assert_no_error (error);

  hale_audit_configure (f->audit, f->config);
  hale_reload_configure (f->reload, f->config);
  hale_cert_watch_configure (f->certs, f->config);
  if (ts != NULL)
    hale_reload_set_connection (f->reload, hale_test_systemd_get_connection (ts));
}

static void
configure (Fixture *f, const char *services)
{
  reconfigure (f, services);
  /* The first serial is read and kept before anything else happens. */
  g_assert_true (wait_until (f, serial_seen, "01", 5000));
  g_assert_true (wait_until (f, serial_kept, "01", 5000));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GSubprocess) rm = NULL;

  g_signal_handlers_disconnect_by_data (f->certs, f);
  g_clear_object (&f->reload);
  g_clear_object (&f->prober);
  g_clear_object (&f->certs);
  g_clear_object (&f->audit);
  g_clear_object (&f->metrics);
  g_clear_object (&f->state);
  g_clear_pointer (&f->config, hale_config_unref);
  g_ptr_array_unref (f->reloaded);
  rm = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, NULL, "rm", "-rf", f->tmp, NULL);
  g_subprocess_wait (rm, NULL, NULL);
  g_free (f->tmp);
  g_free (f->conf);
  g_free (f->cert_path);
  g_free (f->key_path);
  g_free (f->state_dir);
  g_free (f->cert_name);
}

typedef struct
{
  gboolean done;
  GPtrArray *results;
  gboolean rolled_back;
  GError *error;
} Run;

static void
run_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Run *run = user_data;
  run->results = hale_reload_run_finish (HALE_RELOAD (source), res, &run->rolled_back, &run->error);
  run->done = TRUE;
}

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->results, g_ptr_array_unref);
  g_clear_error (&run->error);
}

static void
run (Fixture *f, const char *service, const HaleAuditActor *actor, Run *out)
{
  hale_reload_run_async (f->reload, service, actor, NULL, run_cb, out);
  g_assert_true (hale_test_wait_for (&out->done, 40000));
}

static const HaleReloadResult *
result_at (Run *r, guint i)
{
  g_assert_nonnull (r->results);
  g_assert_cmpuint (i, <, r->results->len);
  return g_ptr_array_index (r->results, i);
}

static double
metric (Fixture *f, HaleMetricType type, const char *name, const char *const *labels)
{
  HaleMetricFamily *family = hale_metrics_lookup (f->metrics, name);
  double value = -1;

  if (!hale_metric_get (family, labels, &value))
    return -1;
  return value;
}

static HaleCheckStatus
check_status (Fixture *f, const char *service, GVariant **out_details)
{
  g_autofree char *name = g_strconcat (HALE_CHECK_PREFIX_SERVICE, service, NULL);
  g_autoptr (HaleCheckResult) check = hale_state_get_check (f->state, name);

  g_assert_nonnull (check);
  if (out_details != NULL)
    *out_details = g_variant_ref (check->details);
  return check->status;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_order (Fixture *f, gconstpointer data)
{
  Run r = { 0 };
  g_autoptr (GVariant) details = NULL;
  g_autoptr (GPtrArray) last = NULL;
  const char *names[] = { "c", "a", "b" };
  const char *success[] = { "a", "success", NULL };
  const char *failure[] = { "a", "failure", NULL };
  const char *a[] = { "a", NULL };
  gint64 duration_ms = -1;
  gboolean ok = FALSE;

  if (!need_systemd ())
    return;
  /* Not alphabetical, not by unit: the order of the groups. */
  configure (f, "[Service c]\nUnit=ok3.service\n"
                "[Service a]\nUnit=ok.service\nHealthCheck=@URL@/healthy\n"
                "[Service b]\nUnit=ok2.service\n");
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "service_reload_total", success), ==, 0);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "service_reload_total", failure), ==, 0);
  g_assert_cmpint (check_status (f, "a", NULL), ==, HALE_CHECK_HEALTHY);

  run (f, NULL, NULL, &r);
  g_assert_no_error (r.error);
  g_assert_false (r.rolled_back);
  g_assert_cmpuint (r.results->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      const HaleReloadResult *res = result_at (&r, i);
      g_assert_cmpstr (res->service, ==, names[i]);
      g_assert_cmpstr (g_ptr_array_index (f->reloaded, i), ==, names[i]);
      g_assert_true (res->success);
      g_assert_null (res->error);
      g_assert_cmpint (res->duration, >, 0);
      g_assert_cmpint (res->finished_at, >, 0);
    }
  g_assert_cmpstr (result_at (&r, 1)->unit, ==, "ok.service");

  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "service_reload_total", success), ==, 1);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "service_reload_total", failure), ==, 0);
  g_assert_cmpfloat (metric (f, HALE_METRIC_HISTOGRAM, "service_reload_duration_seconds", a), ==,
                     1);
  g_assert_cmpfloat (metric (f, HALE_METRIC_GAUGE, "service_last_reload_timestamp_seconds", a), >,
                     (double)(g_get_real_time () / G_USEC_PER_SEC - 60));

  g_assert_cmpint (check_status (f, "a", &details), ==, HALE_CHECK_HEALTHY);
  g_assert_true (g_variant_lookup (details, "success", "b", &ok));
  g_assert_true (ok);
  g_assert_true (g_variant_lookup (details, "duration_ms", "x", &duration_ms));
  g_assert_cmpint (duration_ms, >=, 0);

  last = hale_reload_get_last_results (f->reload);
  g_assert_cmpuint (last->len, ==, 3);
  g_assert_cmpstr (((HaleReloadResult *)g_ptr_array_index (last, 0))->service, ==, "c");

  /* One service alone. */
  run_clear (&r);
  r.done = FALSE;
  run (f, "b", NULL, &r);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.results->len, ==, 1);
  g_assert_cmpstr (result_at (&r, 0)->service, ==, "b");
  run_clear (&r);
}

static void
test_failures (Fixture *f, gconstpointer data)
{
  Run r = { 0 };
  const char *failure[] = { "missing", "failure", NULL };
  g_autoptr (GVariant) details = NULL;
  const char *error = NULL;

  if (!need_systemd ())
    return;
  configure (f, "[Service missing]\nUnit=nope.service\n"
                "[Service failing]\nUnit=fail.service\n"
                "[Service slow]\nUnit=slow.service\nTimeout=2s\n"
                "[Service unhealthy]\nUnit=ok.service\nHealthCheck=@URL@/broken\nTimeout=2s\n"
                "[Service fine]\nUnit=ok2.service\n");
  run (f, NULL, NULL, &r);
  g_assert_no_error (r.error);
  g_assert_false (r.rolled_back);
  /* Nothing critical: every service was attempted. */
  g_assert_cmpuint (r.results->len, ==, 5);

  g_assert_false (result_at (&r, 0)->success);
  g_assert_true (
      g_str_has_prefix (result_at (&r, 0)->error, "org.freedesktop.systemd1.NoSuchUnit: "));
  g_assert_false (result_at (&r, 1)->success);
  g_assert_cmpstr (result_at (&r, 1)->error, ==, "failed");
  g_assert_false (result_at (&r, 2)->success);
  g_assert_true (g_str_has_prefix (result_at (&r, 2)->error, "timeout"));
  g_assert_cmpint (result_at (&r, 2)->duration, >=, 2 * G_USEC_PER_SEC);
  g_assert_cmpint (result_at (&r, 2)->duration, <, 4 * G_USEC_PER_SEC);
  g_assert_false (result_at (&r, 3)->success);
  g_test_message ("unhealthy: %s", result_at (&r, 3)->error);
  g_assert_true (g_str_has_prefix (result_at (&r, 3)->error, "health check "));
  g_assert_nonnull (strstr (result_at (&r, 3)->error, "500"));
  g_assert_cmpint (result_at (&r, 3)->duration, >=, 2 * G_USEC_PER_SEC - 100000);
  g_assert_cmpint (result_at (&r, 3)->duration, <, 4 * G_USEC_PER_SEC);
  g_assert_true (result_at (&r, 4)->success);

  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "service_reload_total", failure), ==, 1);
  g_assert_cmpint (check_status (f, "failing", &details), ==, HALE_CHECK_WARNING);
  g_assert_true (g_variant_lookup (details, "error", "&s", &error));
  g_assert_cmpstr (error, ==, "failed");
  g_assert_cmpint (check_status (f, "fine", NULL), ==, HALE_CHECK_HEALTHY);
  run_clear (&r);
}

static void
test_health_retry (Fixture *f, gconstpointer data)
{
  Run r = { 0 };

  if (!need_systemd ())
    return;
  configure (f, "[Service flaky]\nUnit=ok.service\nHealthCheck=@URL@/flaky\nTimeout=5s\n");
  flaky_left = 3;
  flaky_requests = 0;
  run (f, NULL, NULL, &r);
  g_assert_no_error (r.error);
  g_assert_true (result_at (&r, 0)->success);
  g_assert_cmpuint (flaky_requests, ==, 4);
  /* Back-off 100 + 200 + 400 ms before the fourth probe. */
  g_assert_cmpint (result_at (&r, 0)->duration, >=, 700 * 1000);
  g_assert_cmpint (result_at (&r, 0)->duration, <, 3 * G_USEC_PER_SEC);
  run_clear (&r);
}

static void
test_critical_rollback (Fixture *f, gconstpointer data)
{
  Run r = { 0 };
  g_autofree char *before_cert = NULL;
  g_autofree char *before_key = NULL;
  g_autofree char *after_cert = NULL;
  g_autofree char *after_key = NULL;
  g_autofree char *rollback_error = NULL;
  g_autoptr (HaleTestCert) renewed = NULL;
  g_autoptr (GVariant) details = NULL;
  const char *rb_success[] = { "success", NULL };
  gboolean success = FALSE;
  gboolean rolled_back = FALSE;

  if (!need_systemd ())
    return;
  configure (f, "[Service first]\nUnit=ok.service\n"
                "[Service critical]\nUnit=ok2.service\nHealthCheck=@URL@/broken\nTimeout=1s\n"
                "Critical=true\n"
                "[Service never]\nUnit=ok3.service\n");
  g_assert_true (g_file_get_contents (f->cert_path, &before_cert, NULL, NULL));
  g_assert_true (g_file_get_contents (f->key_path, &before_key, NULL, NULL));

  /* A renewal the services will not like. */
  renewed = write_cert (f, "02");
  g_assert_true (wait_until (f, serial_seen, "02", 5000));
  g_assert_true (wait_until (f, serial_kept, "02", 5000));
  g_assert_cmpuint (f->renewals, ==, 1);

  run (f, NULL, NULL, &r);
  g_assert_no_error (r.error);
  g_assert_true (r.rolled_back);
  /* The critical failure stopped the sequence: "never" was not tried. */
  g_assert_cmpuint (r.results->len, ==, 2);
  g_assert_true (result_at (&r, 0)->success);
  g_assert_false (result_at (&r, 1)->success);
  g_assert_true (result_at (&r, 1)->critical);

  /* The previous certificate and key, byte for byte. */
  g_assert_true (g_file_get_contents (f->cert_path, &after_cert, NULL, NULL));
  g_assert_true (g_file_get_contents (f->key_path, &after_key, NULL, NULL));
  g_assert_cmpstr (after_cert, ==, before_cert);
  g_assert_cmpstr (after_key, ==, before_key);

  /* Reloaded again: what this sequence reloaded, in order, once. */
  g_assert_cmpuint (f->reloaded->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (f->reloaded, 0), ==, "first");
  g_assert_cmpstr (g_ptr_array_index (f->reloaded, 1), ==, "critical");
  g_assert_cmpstr (g_ptr_array_index (f->reloaded, 2), ==, "rollback:first");
  g_assert_cmpstr (g_ptr_array_index (f->reloaded, 3), ==, "rollback:critical");

  /* The rollback's own outcome: the health check still fails (it is the
   * service, not the certificate), and that is reported, not retried. */
  g_assert_true (hale_reload_get_last_rollback (f->reload, &success, &rollback_error, NULL));
  g_assert_false (success);
  g_assert_nonnull (strstr (rollback_error, "reload of critical: health check"));
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "rollbacks_total", rb_success), ==, 0);

  g_assert_cmpint (check_status (f, "critical", &details), ==, HALE_CHECK_CRITICAL);
  g_assert_true (g_variant_lookup (details, "rolled_back", "b", &rolled_back));
  g_assert_true (rolled_back);

  /* The watch sees serial 01 again: not a renewal. */
  g_assert_true (wait_until (f, serial_seen, "01", 5000));
  {
    gboolean never = FALSE;
    hale_test_wait_for (&never, 500);
  }
  g_assert_cmpuint (f->renewals, ==, 1);
  g_assert_cmpuint (f->sequences, ==, 1);
  run_clear (&r);
}

static void
test_rollback_success (Fixture *f, gconstpointer data)
{
  Run r = { 0 };
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr (HaleTestCert) renewed = NULL;
  const char *rb_success[] = { "success", NULL };
  gboolean success = FALSE;

  if (!need_systemd ())
    return;
  /* ExecReload fails while the flag file exists: as a service that
   * cannot load the new certificate, and can the old. */
  configure (f, "[Service picky]\nUnit=picky.service\nCritical=true\nTimeout=5s\n");
  g_assert_true (g_file_get_contents (f->cert_path, &before, NULL, NULL));
  renewed = write_cert (f, "03");
  g_assert_true (wait_until (f, serial_kept, "03", 5000));
  g_assert_true (g_file_set_contents (picky_flag, "", -1, NULL));

  hale_reload_run_async (f->reload, NULL, NULL, NULL, run_cb, &r);
  /* Once the first reload failed, the flag goes: the rollback's reload
   * then succeeds. */
  while (f->reloaded->len == 0)
    g_main_context_iteration (NULL, TRUE);
  g_unlink (picky_flag);
  g_assert_true (hale_test_wait_for (&r.done, 20000));
  g_assert_no_error (r.error);
  g_assert_true (r.rolled_back);
  g_assert_true (hale_reload_get_last_rollback (f->reload, &success, NULL, NULL));
  g_assert_true (success);
  g_assert_cmpfloat (metric (f, HALE_METRIC_COUNTER, "rollbacks_total", rb_success), ==, 1);
  g_assert_true (g_file_get_contents (f->cert_path, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, before);
  run_clear (&r);
}

static void
test_busy (Fixture *f, gconstpointer data)
{
  Run r = { 0 };
  Run second = { 0 };

  if (!need_systemd ())
    return;
  configure (f, "[Service slow]\nUnit=slow.service\nTimeout=1s\n");
  hale_reload_run_async (f->reload, NULL, NULL, NULL, run_cb, &r);
  g_assert_true (hale_reload_is_busy (f->reload));
  run (f, NULL, NULL, &second);
  g_assert_error (second.error, HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_BUSY);
  g_assert_false (r.done);
  g_assert_true (hale_test_wait_for (&r.done, 10000));
  g_assert_false (hale_reload_is_busy (f->reload));
  g_assert_cmpuint (r.results->len, ==, 1);
  run_clear (&r);
  run_clear (&second);
}

static void
test_errors (Fixture *f, gconstpointer data)
{
  Run r = { 0 };
  Run r2 = { 0 };
  g_autoptr (HaleReload) unconnected = NULL;

  configure (f, "[Service a]\nUnit=ok.service\n");
  if (ts != NULL)
    {
      run (f, "nope", NULL, &r);
      g_assert_error (r.error, HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_UNKNOWN_SERVICE);
    }
  unconnected = hale_reload_new (f->state, f->metrics, f->audit, f->certs, f->prober, NULL);
  hale_reload_configure (unconnected, f->config);
  hale_reload_run_async (unconnected, NULL, NULL, NULL, run_cb, &r2);
  g_assert_true (hale_test_wait_for (&r2.done, 1000));
  g_assert_error (r2.error, HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_NOT_CONNECTED);
  run_clear (&r);
  run_clear (&r2);
}

/* ---- what a rollback may undo --------------------------------------------- */

static char *
read_file (const char *path)
{
  char *contents = NULL;
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  return contents;
}

/* One sequence whose last (critical) service fails and rolls nothing
 * back, saying @why; the certificate and key files stay as they are. */
static void
run_expect_left (Fixture *f, const char *why)
{
  Run r = { 0 };
  g_autofree char *cert = read_file (f->cert_path);
  g_autofree char *key = read_file (f->key_path);
  g_autofree char *now_cert = NULL;
  g_autofree char *now_key = NULL;
  const char *error;

  run (f, NULL, NULL, &r);
  g_assert_no_error (r.error);
  g_assert_false (r.rolled_back);
  g_assert_false (result_at (&r, r.results->len - 1)->success);
  error = result_at (&r, r.results->len - 1)->error;
  g_test_message ("%s", error);
  g_assert_nonnull (strstr (error, "; certificates not rolled back: "));
  g_assert_nonnull (strstr (error, why));
  now_cert = read_file (f->cert_path);
  now_key = read_file (f->key_path);
  g_assert_cmpstr (now_cert, ==, cert);
  g_assert_cmpstr (now_key, ==, key);
  run_clear (&r);
}

/* A renewal (serial 02 over 01), then a critical failure the
 * certificate cannot have caused: the files stay as they are, twice. */
static void
assert_left_alone (Fixture *f, const char *services, const char *why)
{
  g_autoptr (HaleTestCert) renewed = NULL;
  g_autoptr (GVariant) details = NULL;
  const char *skipped = NULL;

  configure (f, services);
  renewed = write_cert (f, "02");
  g_assert_true (wait_until (f, serial_seen, "02", 5000));
  g_assert_true (wait_until (f, serial_kept, "02", 5000));
  for (guint round = 0; round < 2; round++)
    {
      run_expect_left (f, why);
      g_assert_true (serial_seen (f, "02"));
    }
  g_assert_cmpint (check_status (f, "crit", &details), ==, HALE_CHECK_CRITICAL);
  g_assert_true (g_variant_lookup (details, "rollback_skipped", "&s", &skipped));
  g_assert_nonnull (strstr (skipped, why));
}

/* The reported case: a reload after a renewal whose critical service
 * does not exist put the older certificate back, and again on the next
 * reload. NoSuchUnit comes from the real systemd. */
static void
test_no_rollback_no_such_unit (Fixture *f, gconstpointer data)
{
  if (!need_systemd ())
    return;
  assert_left_alone (f,
                     "[Service first]\nUnit=ok.service\n"
                     "[Service crit]\nUnit=nope.service\nCritical=true\n",
                     "systemd refused the reload");
}

/* A unit that is not running: systemd ends the reload job "invalid"
 * without running ExecReload. */
static void
test_no_rollback_inactive (Fixture *f, gconstpointer data)
{
  if (!need_systemd ())
    return;
  assert_left_alone (f, "[Service crit]\nUnit=stopped.service\nCritical=true\n",
                     "ended without running");
}

static gint64
manager_pid (GDBusConnection *bus)
{
  g_autoptr (GVariant) ret = g_dbus_connection_call_sync (
      bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "GetConnectionUnixProcessID", g_variant_new ("(s)", "org.freedesktop.systemd1"),
      G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
  guint32 pid = 0;

  g_assert_nonnull (ret);
  g_variant_get (ret, "(u)", &pid);
  g_assert_cmpuint (pid, >, 1);
  return pid;
}

/* A manager that takes no job in time: the real one, stopped
 * (SIGSTOP) while the call waits, and continued afterwards. */
static void
test_no_rollback_not_taken (Fixture *f, gconstpointer data)
{
  gint64 pid;

  if (!need_systemd ())
    return;
  pid = manager_pid (hale_test_systemd_get_connection (ts));
  g_assert_cmpint (kill ((pid_t)pid, SIGSTOP), ==, 0);
  assert_left_alone (f, "[Service crit]\nUnit=ok.service\nCritical=true\nTimeout=1s\n",
                     "did not take the reload job");
  g_assert_cmpint (kill ((pid_t)pid, SIGCONT), ==, 0);
}

/* A manager that is gone: a private systemd --user of this test's own,
 * terminated; its bus goes with it. */
static void
test_no_rollback_unreachable (Fixture *f, gconstpointer data)
{
  HaleTestUnit units[]
      = { { "ok.service", "[Service]\nExecStart=/bin/sleep infinity\nExecReload=/bin/true\n" } };
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleTestSystemd) gone = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  gint64 end;

  if (!need_systemd ())
    return;
  gone = hale_test_systemd_new (&error);
  g_assert_no_error (error);
  g_assert_true (hale_test_systemd_start_with (gone, units, G_N_ELEMENTS (units), &error));
  g_assert_no_error (error);
  bus = g_object_ref (hale_test_systemd_get_connection (gone));

  reconfigure (f, "[Service crit]\nUnit=ok.service\nCritical=true\nTimeout=5s\n");
  hale_reload_set_connection (f->reload, bus);
  g_assert_true (wait_until (f, serial_seen, "01", 5000));
  g_assert_true (wait_until (f, serial_kept, "01", 5000));
  g_assert_cmpint (kill ((pid_t)manager_pid (bus), SIGTERM), ==, 0);
  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (!g_dbus_connection_is_closed (bus) && g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (20000);
    }
  g_assert_true (g_dbus_connection_is_closed (bus));

  /* configure() again would reconnect to the shared manager. */
  {
    g_autoptr (HaleTestCert) renewed = write_cert (f, "02");

    g_assert_true (wait_until (f, serial_seen, "02", 5000));
    g_assert_true (wait_until (f, serial_kept, "02", 5000));
    run_expect_left (f, "no service manager answered");
  }
}

/* A failure that may be the certificate's, but nothing changed since
 * the last good reload: nothing to put back. */
static void
test_no_rollback_no_change (Fixture *f, gconstpointer data)
{
  if (!need_systemd ())
    return;
  configure (f, "[Service crit]\nUnit=fail.service\nCritical=true\n");
  run_expect_left (f, "failed; certificates not rolled back: no certificate changed");
}

/* Renewed twice, the first applied fine: a rollback goes back to that
 * one (02), never to the first serial (01). */
static void
test_rollback_to_last_applied (Fixture *f, gconstpointer data)
{
  Run r = { 0 };
  g_autoptr (HaleTestCert) c2 = NULL;
  g_autoptr (HaleTestCert) c3 = NULL;
  g_autofree char *applied = NULL;
  g_autofree char *now = NULL;

  if (!need_systemd ())
    return;
  configure (f, "[Service crit]\nUnit=picky.service\nCritical=true\n");
  c2 = write_cert (f, "02");
  g_assert_true (wait_until (f, serial_seen, "02", 5000));
  run (f, NULL, NULL, &r);
  g_assert_true (result_at (&r, 0)->success);
  run_clear (&r);
  applied = read_file (f->cert_path);

  c3 = write_cert (f, "03");
  g_assert_true (wait_until (f, serial_kept, "03", 5000));
  g_assert_true (g_file_set_contents (picky_flag, "", -1, NULL));
  r.done = FALSE;
  run (f, NULL, NULL, &r);
  g_unlink (picky_flag);
  g_assert_true (r.rolled_back);
  now = read_file (f->cert_path);
  g_assert_cmpstr (now, ==, applied);
  run_clear (&r);

  /* And again, once the watch read the restored file: nothing changed
   * since, nothing further back. */
  g_assert_true (wait_until (f, serial_seen, "02", 5000));
  g_assert_true (g_file_set_contents (picky_flag, "", -1, NULL));
  r.done = FALSE;
  run (f, NULL, NULL, &r);
  g_unlink (picky_flag);
  g_assert_false (r.rolled_back);
  g_clear_pointer (&now, g_free);
  now = read_file (f->cert_path);
  g_assert_cmpstr (now, ==, applied);
  run_clear (&r);
}

/* Renewals that start their own reload (ReloadOnChange=): the sequence
 * must see the renewed serial. The booted system test found the watch
 * announcing a renewal before it stored it: the sequence then took the
 * old serial for what it applied, so the renewal it reloaded fine never
 * became the good one, and the next failing reload put back the
 * certificate before it and left the failing one in place. */
static gboolean
picky_failed (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) last = hale_reload_get_last_results (f->reload);

  return !hale_reload_is_busy (f->reload) && last != NULL && last->len > 0
         && !((HaleReloadResult *)g_ptr_array_index (last, 0))->success
         && f->sequences >= GPOINTER_TO_UINT (data);
}

static void
test_rollback_on_change (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleTestCert) c2 = NULL;
  g_autoptr (HaleTestCert) c3 = NULL;
  g_autofree char *applied = NULL;
  g_autofree char *now = NULL;

  if (!need_systemd ())
    return;
  configure (f, "[Service crit]\nUnit=picky.service\nCritical=true\nReloadOnChange=@CERT@\n");
  c2 = write_cert (f, "02");
  g_assert_true (wait_until (f, sequences_at_least, GUINT_TO_POINTER (1), 10000));
  g_assert_cmpuint (f->reloaded->len, ==, 1);
  applied = read_file (f->cert_path);

  g_assert_true (g_file_set_contents (picky_flag, "", -1, NULL));
  c3 = write_cert (f, "03");
  g_assert_true (wait_until (f, picky_failed, GUINT_TO_POINTER (2), 20000));
  g_unlink (picky_flag);
  now = read_file (f->cert_path);
  g_assert_cmpstr (now, ==, applied);
  g_assert_true (wait_until (f, serial_seen, "02", 5000));
}

/* Each restore is in the audit file as soon as the file is back, not
 * after the services were reloaded again (here 2 s of failing health
 * checks later). */
static void
test_rollback_recorded_at_restore (Fixture *f, gconstpointer data)
{
  Run r = { 0 };
  g_autoptr (HaleTestCert) renewed = NULL;
  g_autofree char *before = NULL;
  g_autofree char *audit = g_build_filename (f->tmp, "audit.log", NULL);
  g_autofree char *services = g_strdup_printf (
      "AuditLog=%s\n[Service crit]\nUnit=ok.service\nHealthCheck=@URL@/broken\nTimeout=2s\n"
      "Critical=true\n",
      audit);
  g_autofree char *log = NULL;
  gint64 restored_at;

  if (!need_systemd ())
    return;
  configure (f, services);
  before = read_file (f->cert_path);
  renewed = write_cert (f, "02");
  g_assert_true (wait_until (f, serial_kept, "02", 5000));

  hale_reload_run_async (f->reload, NULL, NULL, NULL, run_cb, &r);
  while (!r.done)
    {
      g_autofree char *now = NULL;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
      if (g_file_get_contents (f->cert_path, &now, NULL, NULL) && g_str_equal (now, before))
        break;
    }
  g_assert_false (r.done);
  restored_at = g_get_monotonic_time ();
  {
    gboolean never = FALSE;
    hale_test_wait_for (&never, 300);
  }
  log = read_file (audit);
  g_assert_false (r.done);
  g_assert_nonnull (strstr (log, "\"event_type\":\"rollback\""));
  g_assert_nonnull (strstr (log, "\"step\":\"restore\""));
  g_assert_nonnull (strstr (log, "\"serial\":\"01\""));
  g_assert_nonnull (strstr (log, "\"previous_serial\":\"02\""));
  g_assert_null (strstr (log, "\"step\":\"finished\""));
  g_assert_true (hale_test_wait_for (&r.done, 20000));
  g_assert_cmpint (g_get_monotonic_time () - restored_at, >, G_USEC_PER_SEC);
  g_clear_pointer (&log, g_free);
  log = read_file (audit);
  g_assert_nonnull (strstr (log, "\"step\":\"finished\""));
  run_clear (&r);
}

static void
test_reload_on_change (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleTestCert) c2 = NULL;
  g_autoptr (HaleTestCert) c3 = NULL;
  g_autoptr (HaleTestCert) c4 = NULL;
  g_autoptr (GPtrArray) last = NULL;

  if (!need_systemd ())
    return;
  configure (f, "[Service named]\nUnit=ok.service\nReloadOnChange=@CERT@\n"
                "[Service off]\nUnit=ok2.service\n"
                "[Service slowish]\nUnit=sleep1.service\nReloadOnChange=true\n");
  g_assert_cmpuint (f->sequences, ==, 0);

  c2 = write_cert (f, "02");
  g_assert_true (wait_until (f, sequences_at_least, GUINT_TO_POINTER (1), 10000));
  g_assert_cmpuint (f->reloaded->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->reloaded, 0), ==, "named");
  g_assert_cmpstr (g_ptr_array_index (f->reloaded, 1), ==, "slowish");
  last = hale_reload_get_last_results (f->reload);
  g_assert_cmpuint (last->len, ==, 2);

  /* Two renewals while a sequence runs: one follow-up, not two, and
   * never two at once. */
  f->sequences = 0;
  g_ptr_array_set_size (f->reloaded, 0);
  c3 = write_cert (f, "03");
  g_assert_true (wait_until (f, serial_seen, "03", 5000));
  g_assert_true (hale_reload_is_busy (f->reload));
  c4 = write_cert (f, "04");
  g_assert_true (wait_until (f, serial_seen, "04", 5000));
  g_assert_true (wait_until (f, sequences_at_least, GUINT_TO_POINTER (2), 15000));
  {
    gboolean never = FALSE;
    hale_test_wait_for (&never, 1500);
  }
  g_assert_cmpuint (f->sequences, ==, 2);
  g_assert_cmpuint (f->reloaded->len, ==, 4);
}

/* ---- the journal ---------------------------------------------------------- */

static JsonArray *
journal_read (const char *event, const char *resource_id, guint expected)
{
  g_autofree char *match_event = g_strconcat ("HALE_EVENT=", event, NULL);
  g_autofree char *match_id = g_strconcat ("HALE_RESOURCE_ID=", resource_id, NULL);

  for (int attempt = 0; attempt < 50; attempt++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSubprocess) p = NULL;
      g_autofree char *out = NULL;
      JsonArray *entries = json_array_new ();
      g_auto (GStrv) lines = NULL;

      p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                            &error, "journalctl", "-o", "json", "--no-pager", match_event, match_id,
                            NULL);
      g_assert_no_error (error);
      g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &error));
      lines = g_strsplit (out ? out : "", "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          g_autoptr (JsonNode) node = NULL;
          if (lines[i][0] == '\0')
            continue;
          node = json_from_string (lines[i], &error);
          g_assert_no_error (error);
          json_array_add_element (entries, g_steal_pointer (&node));
        }
      if (json_array_get_length (entries) >= expected)
        return entries;
      json_array_unref (entries);
      g_usleep (100 * 1000);
    }
  return json_array_new ();
}

static const char *
field (JsonArray *entries, guint i, const char *name)
{
  JsonObject *o = json_array_get_object_element (entries, i);
  return json_object_has_member (o, name) ? json_object_get_string_member (o, name) : NULL;
}

static void
test_journal (Fixture *f, gconstpointer data)
{
  Run r = { 0 };
  g_autofree char *ok_name = g_strdup_printf ("jok%08x", g_random_int ());
  g_autofree char *fail_name = g_strdup_printf ("jfail%08x", g_random_int ());
  g_autofree char *services = g_strdup_printf ("[Service %s]\nUnit=ok.service\n"
                                               "[Service %s]\nUnit=fail.service\n",
                                               ok_name, fail_name);
  g_autoptr (JsonArray) ok = NULL;
  g_autoptr (JsonArray) failed = NULL;
  g_autoptr (JsonArray) renewed = NULL;
  g_autoptr (HaleTestCert) c2 = NULL;
  g_autofree char *priority = NULL;
  HaleAuditActor actor = { "uid:0", "dbus+root", 0, 4242, NULL };
  gint64 ms;

  if (!need_systemd ())
    return;
  if (!have_journal)
    {
      hale_test_skip_or_fail ("a journald to read back", journal_error);
      return;
    }
  configure (f, services);
  run (f, NULL, &actor, &r);
  g_assert_no_error (r.error);

  ok = journal_read (HALE_EVENT_SERVICE_RELOADED, ok_name, 1);
  g_assert_cmpuint (json_array_get_length (ok), ==, 1);
  g_assert_cmpstr (field (ok, 0, "MESSAGE_ID"), ==, HALE_MESSAGE_ID_SERVICE_RELOADED);
  priority = g_strdup_printf ("%d", LOG_INFO);
  g_assert_cmpstr (field (ok, 0, "PRIORITY"), ==, priority);
  g_assert_cmpstr (field (ok, 0, "SYSLOG_IDENTIFIER"), ==, "haled");
  g_assert_cmpstr (field (ok, 0, "HALE_OUTCOME"), ==, "success");
  g_assert_cmpstr (field (ok, 0, "HALE_UNIT"), ==, "ok.service");
  g_assert_cmpstr (field (ok, 0, "HALE_RESOURCE_TYPE"), ==, "service");
  g_assert_cmpstr (field (ok, 0, "HALE_RESOURCE_ID"), ==, ok_name);
  g_assert_nonnull (field (ok, 0, "HALE_DURATION_MS"));
  g_assert_true (
      g_ascii_string_to_signed (field (ok, 0, "HALE_DURATION_MS"), 10, 0, 60000, &ms, NULL));
  g_assert_null (field (ok, 0, "HALE_ERROR"));
  g_assert_cmpstr (field (ok, 0, "HALE_ACTOR_IDENTITY"), ==, "uid:0");
  g_assert_cmpstr (field (ok, 0, "HALE_ACTOR_AUTH_METHOD"), ==, "dbus+root");
  g_assert_cmpstr (field (ok, 0, "HALE_ACTOR_UID"), ==, "0");
  g_assert_cmpstr (field (ok, 0, "HALE_ACTOR_PID"), ==, "4242");
  g_assert_nonnull (strstr (field (ok, 0, "MESSAGE"), ok_name));

  failed = journal_read (HALE_EVENT_SERVICE_RELOADED, fail_name, 1);
  g_assert_cmpuint (json_array_get_length (failed), ==, 1);
  g_clear_pointer (&priority, g_free);
  priority = g_strdup_printf ("%d", LOG_WARNING);
  g_assert_cmpstr (field (failed, 0, "PRIORITY"), ==, priority);
  g_assert_cmpstr (field (failed, 0, "HALE_OUTCOME"), ==, "failure");
  g_assert_cmpstr (field (failed, 0, "HALE_UNIT"), ==, "fail.service");
  g_assert_cmpstr (field (failed, 0, "HALE_ERROR"), ==, "failed");
  g_assert_cmpstr (field (failed, 0, "HALE_CRITICAL"), ==, "false");

  /* A renewal seen is an event of its own, with both serials. */
  c2 = write_cert (f, "0abc");
  g_assert_true (wait_until (f, serial_seen, "0abc", 5000));
  renewed = journal_read (HALE_EVENT_CERTIFICATE_RENEWED, f->cert_name, 1);
  g_assert_cmpuint (json_array_get_length (renewed), ==, 1);
  g_assert_cmpstr (field (renewed, 0, "MESSAGE_ID"), ==, HALE_MESSAGE_ID_CERTIFICATE_RENEWED);
  g_assert_cmpstr (field (renewed, 0, "HALE_RESOURCE_TYPE"), ==, "certificate");
  g_assert_cmpstr (field (renewed, 0, "HALE_SERIAL"), ==, "0abc");
  g_assert_cmpstr (field (renewed, 0, "HALE_PREVIOUS_SERIAL"), ==, "01");
  g_assert_cmpstr (field (renewed, 0, "HALE_OUTCOME"), ==, "success");
  run_clear (&r);
}

static void
test_journal_rollback (Fixture *f, gconstpointer data)
{
  Run r = { 0 };
  g_autoptr (HaleTestCert) c2 = NULL;
  g_autoptr (JsonArray) rb = NULL;

  if (!need_systemd ())
    return;
  if (!have_journal)
    {
      hale_test_skip_or_fail ("a journald to read back", journal_error);
      return;
    }
  configure (f, "[Service crit]\nUnit=fail.service\nCritical=true\n");
  c2 = write_cert (f, "02");
  g_assert_true (wait_until (f, serial_kept, "02", 5000));
  run (f, NULL, NULL, &r);
  g_assert_true (r.rolled_back);

  /* The restore, as it happened, then the end of the rollback. */
  rb = journal_read (HALE_EVENT_ROLLBACK, f->cert_name, 2);
  g_assert_cmpuint (json_array_get_length (rb), ==, 2);
  g_assert_cmpstr (field (rb, 0, "HALE_STEP"), ==, "restore");
  g_assert_cmpstr (field (rb, 0, "HALE_OUTCOME"), ==, "success");
  g_assert_cmpstr (field (rb, 0, "HALE_SERIAL"), ==, "01");
  g_assert_cmpstr (field (rb, 0, "HALE_PREVIOUS_SERIAL"), ==, "02");
  g_assert_cmpstr (field (rb, 0, "HALE_SERVICE"), ==, "crit");
  g_assert_cmpstr (field (rb, 1, "HALE_STEP"), ==, "finished");
  g_assert_cmpstr (field (rb, 1, "MESSAGE_ID"), ==, HALE_MESSAGE_ID_ROLLBACK);
  /* fail.service fails again after the rollback: a failed rollback. */
  g_assert_cmpstr (field (rb, 1, "HALE_OUTCOME"), ==, "failure");
  g_assert_cmpstr (field (rb, 1, "HALE_RESOURCE_TYPE"), ==, "certificate");
  g_assert_cmpstr (field (rb, 1, "HALE_UNIT"), ==, "fail.service");
  g_assert_cmpstr (field (rb, 1, "HALE_SERVICE"), ==, "crit");
  g_assert_nonnull (strstr (field (rb, 1, "HALE_RESTORED"), "=01"));
  g_assert_nonnull (strstr (field (rb, 1, "HALE_ERROR"), "reload of crit: failed"));
  run_clear (&r);
}

/* ---- benchmark (-m perf; bench/reload-run) --------------------------------- */

#define BENCH_ROUNDS 15

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return x < y ? -1 : x > y;
}

static double
median_ms (GArray *samples)
{
  g_array_sort (samples, compare_gint64);
  return g_array_index (samples, gint64, samples->len / 2) / 1000.0;
}

/* From the rename of a new certificate into place to the end of the
 * sequence it triggers (ReloadOnChange=true on every service). */
static double
bench_hale (Fixture *f, guint *serial)
{
  g_autoptr (GArray) samples = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < BENCH_ROUNDS; i++)
    {
      g_autofree char *hex = g_strdup_printf ("%04x", ++*serial);
      g_autoptr (GError) error = NULL;
      g_autoptr (HaleTestCert) cert = hale_test_cert_new_simple ("hale bench", hex, 0, 0, &error);
      guint before = f->sequences;
      gint64 start;

      g_assert_no_error (error);
      start = g_get_monotonic_time ();
      g_assert_true (hale_test_cert_write (cert, NULL, f->cert_path, f->key_path, &error));
      g_assert_true (wait_until (f, sequences_at_least, GUINT_TO_POINTER (before + 1), 20000));
      start = g_get_monotonic_time () - start;
      g_array_append_val (samples, start);
      g_assert_cmpuint (f->reloaded->len % 3, ==, 0);
    }
  return median_ms (samples);
}

static double
bench_systemctl (void)
{
  g_autoptr (GArray) samples = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto (GStrv) env = hale_test_systemd_get_environ (ts);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);

  g_subprocess_launcher_set_environ (launcher, env);
  for (guint i = 0; i < BENCH_ROUNDS; i++)
    {
      const char *units[] = { "ok.service", "ok2.service", "ok3.service" };
      gint64 start = g_get_monotonic_time ();

      for (guint u = 0; u < G_N_ELEMENTS (units); u++)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (GSubprocess) p = g_subprocess_launcher_spawn (
              launcher, &error, "systemctl", "--user", "reload", units[u], NULL);
          g_assert_no_error (error);
          g_assert_true (g_subprocess_wait_check (p, NULL, &error));
          g_assert_no_error (error);
        }
      start = g_get_monotonic_time () - start;
      g_array_append_val (samples, start);
    }
  return median_ms (samples);
}

/* The sequence alone, as ReloadAll() runs it: no file, no watch. */
static double
bench_run (Fixture *f)
{
  g_autoptr (GArray) samples = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < BENCH_ROUNDS; i++)
    {
      Run r = { 0 };
      gint64 start = g_get_monotonic_time ();

      run (f, NULL, NULL, &r);
      start = g_get_monotonic_time () - start;
      g_assert_no_error (r.error);
      g_array_append_val (samples, start);
      run_clear (&r);
    }
  return median_ms (samples);
}

static void
test_bench (Fixture *f, gconstpointer data)
{
  guint serial = 0x100;
  double by_hand, hale_jobs, hale_verified, hale_run, hale_run_verified;

  if (!need_systemd ())
    return;
  configure (f, "[Service a]\nUnit=ok.service\nReloadOnChange=true\n"
                "[Service b]\nUnit=ok2.service\nReloadOnChange=true\n"
                "[Service c]\nUnit=ok3.service\nReloadOnChange=true\n");
  hale_jobs = bench_hale (f, &serial);
  hale_run = bench_run (f);
  by_hand = bench_systemctl ();

  reconfigure (f,
               "[Service a]\nUnit=ok.service\nReloadOnChange=true\nHealthCheck=@URL@/healthy\n"
               "[Service b]\nUnit=ok2.service\nReloadOnChange=true\nHealthCheck=@URL@/healthy\n"
               "[Service c]\nUnit=ok3.service\nReloadOnChange=true\nHealthCheck=@URL@/healthy\n");
  hale_verified = bench_hale (f, &serial);
  hale_run_verified = bench_run (f);

  g_print ("median of %d rounds, 3 units (ExecReload=/bin/true)\n", BENCH_ROUNDS);
  g_print ("systemctl --user reload x3, in sequence:            %8.1f ms\n", by_hand);
  g_print ("hale, certificate renamed -> last reload done:        %8.1f ms\n", hale_jobs);
  g_print ("hale, certificate renamed -> last service verified:   %8.1f ms "
           "(+ HTTP health check each)\n",
           hale_verified);
  g_print ("hale sequence alone (ReloadAll, no file change):      %8.1f ms\n", hale_run);
  g_print ("hale sequence alone, each verified by HTTP:            %8.1f ms\n", hale_run_verified);
  g_print ("per service, hale sequence minus systemctl by hand:    %8.1f ms\n",
           (hale_run - by_hand) / 3);
  g_print ("(the file-to-verified figures include the certificate watch: its\n"
           " %d ms debounce of inotify events and the read and parse, once)\n",
           50);
}

/* ---- set-up ---------------------------------------------------------------- */

static const char ok_unit[] = "[Service]\nExecStart=/bin/sleep infinity\nExecReload=/bin/true\n";

static gboolean
setup (GError **error)
{
  HaleTestUnit units[] = {
    { "ok.service", ok_unit },
    { "ok2.service", ok_unit },
    { "ok3.service", ok_unit },
    { "fail.service", "[Service]\nExecStart=/bin/sleep infinity\nExecReload=/bin/false\n" },
    { "slow.service", "[Service]\nExecStart=/bin/sleep infinity\nExecReload=/bin/sleep 30\n" },
    { "sleep1.service", "[Service]\nExecStart=/bin/sleep infinity\nExecReload=/bin/sleep 1\n" },
    { "stopped.service", ok_unit, TRUE },
    { "picky.service", NULL },
  };
  g_autoptr (HaleTestSystemd) t = hale_test_systemd_new (error);
  g_autofree char *picky = NULL;

  if (t == NULL)
    return FALSE;
  picky_flag = g_build_filename (hale_test_systemd_get_tmpdir (t), "picky-fail", NULL);
  picky = g_strdup_printf ("[Service]\nExecStart=/bin/sleep infinity\n"
                           "ExecReload=/bin/sh -c 'test ! -e %s'\n",
                           picky_flag);
  units[G_N_ELEMENTS (units) - 1].contents = picky;
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

  if (!setup (&setup_error))
    g_test_message ("no systemd --user: %s", setup_error->message);
  have_journal = hale_test_journald_ensure (&journal_error);
  start_server ();

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/reload/order", test_order);
  ADD ("/reload/failures", test_failures);
  ADD ("/reload/health-retry", test_health_retry);
  ADD ("/reload/critical-rollback", test_critical_rollback);
  ADD ("/reload/rollback-success", test_rollback_success);
  ADD ("/reload/busy", test_busy);
  ADD ("/reload/errors", test_errors);
  ADD ("/reload/reload-on-change", test_reload_on_change);
  ADD ("/reload/no-rollback/no-such-unit", test_no_rollback_no_such_unit);
  ADD ("/reload/no-rollback/inactive", test_no_rollback_inactive);
  ADD ("/reload/no-rollback/not-taken", test_no_rollback_not_taken);
  ADD ("/reload/no-rollback/unreachable", test_no_rollback_unreachable);
  ADD ("/reload/no-rollback/no-change", test_no_rollback_no_change);
  ADD ("/reload/rollback-to-last-applied", test_rollback_to_last_applied);
  ADD ("/reload/rollback-recorded-at-restore", test_rollback_recorded_at_restore);
  ADD ("/reload/rollback-on-change", test_rollback_on_change);
  ADD ("/reload/journal", test_journal);
  ADD ("/reload/journal-rollback", test_journal_rollback);
  /* Only with -m perf: bench/reload-run. */
  if (g_test_perf ())
    ADD ("/reload/bench", test_bench);
#undef ADD

  ret = g_test_run ();
  g_clear_object (&server);
  g_free (base_url);
  g_clear_pointer (&ts, hale_test_systemd_free);
  hale_test_journald_stop ();
  g_clear_error (&setup_error);
  g_clear_error (&journal_error);
  g_free (picky_flag);
  return ret;
}
