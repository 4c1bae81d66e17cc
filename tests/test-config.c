/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-config.c: hale.conf, its drop-ins, and every way to get them wrong. */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <string.h>

#include "hale-config.h"
#include "hale-test-util.h"

#define SEC G_GINT64_CONSTANT (1000000)
#define HOUR (3600 * SEC)

typedef struct
{
  char *dir;
  char *path; /* DIR/hale.conf */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("hale-test-config-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "hale.conf", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  hale_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

/* Writes @contents to @name under the fixture's directory ("hale.conf",
 * "hale.conf.d/10-a.conf") and returns the full path. */
static char *
write_file (Fixture *f, const char *name, const char *contents)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (f->dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static HaleConfig *
load_ok (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  HaleConfig *config = hale_config_load (f->path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

/* Loads the fixture's file, which must fail as INVALID; returns the
 * problem lines. */
static GStrv
load_problems (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = hale_config_load (f->path, &error);

  g_assert_null (config);
  g_assert_error (error, HALE_CONFIG_ERROR, HALE_CONFIG_ERROR_INVALID);
  g_test_message ("problems:\n%s", error->message);
  return g_strsplit (error->message, "\n", -1);
}

/* Asserts one of @lines is "@file:@where: ..." and contains @what. */
static void
assert_problem (GStrv lines, const char *file, const char *where, const char *what)
{
  g_autofree char *prefix = g_strdup_printf ("%s:%s: ", file, where);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix) && strstr (lines[i], what) != NULL)
      return;
  g_error ("no problem line \"%s...%s...\" among:\n%s", prefix, what, g_strjoinv ("\n", lines));
}

/* The example configuration of the design, as written there: operators copy
 * it, trailing annotations and all. */
static const char example[]
    = "[Monitoring]\n"
      "MetricsListen=127.0.0.1:9091      # seed: metrics_port 9091\n"
      "HealthListen=127.0.0.1:8081       # seed: health_port 8081 (may be the same)\n"
      "AuditLog=/var/log/hale/audit.log  # optional JSON-lines file, rotated\n"
      "AuditLogMaxSize=10M\n"
      "AuditLogKeep=5\n"
      "\n"
      "[Network]\n"
      "CheckInterval=30s                 # seed: health_check_interval\n"
      "Timeout=10s                       # seed: connectivity_timeout\n"
      "DegradedThreshold=5m              # seed: degraded_mode_threshold\n"
      "\n"
      "[Endpoint certificate-api]        # one group per endpoint\n"
      "URL=https://certificate-api.internal/health\n"
      "Critical=true\n"
      "\n"
      "[Certificate current]             # one group per certificate; the\n"
      "Path=/etc/certs/current.pem       # group name is the label \"type\"\n"
      "WarningBefore=72h\n"
      "CriticalBefore=24h\n"
      "\n"
      "[Service nginx]                   # one group per service to reload\n"
      "Unit=nginx.service\n"
      "HealthCheck=http://localhost/health\n"
      "Timeout=30s\n"
      "Critical=true\n";

static void
test_example (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_file (f, "hale.conf", example);
  g_autoptr (HaleConfig) config = load_ok (f);
  const HaleCertificateConfig *cert;
  const HaleServiceConfig *service;
  const HaleEndpointConfig *endpoint;

  g_assert_cmpuint (g_strv_length (config->files), ==, 1);
  g_assert_cmpstr (config->files[0], ==, path);

  g_assert_cmpstr (config->metrics_listen, ==, "127.0.0.1:9091");
  g_assert_cmpstr (config->health_listen, ==, "127.0.0.1:8081");
  g_assert_cmpstr (config->audit_log, ==, "/var/log/hale/audit.log");
  g_assert_cmpuint (config->audit_log_max_size, ==, 10 * 1024 * 1024);
  g_assert_cmpuint (config->audit_log_keep, ==, 5);
  g_assert_cmpint (config->certificate_recheck, ==, 60 * SEC);
  g_assert_cmpint (config->check_interval, ==, 30 * SEC);
  g_assert_cmpint (config->timeout, ==, 10 * SEC);
  g_assert_cmpint (config->degraded_threshold, ==, 300 * SEC);
  g_assert_cmpstr (config->metrics_namespace, ==, "hale");

  g_assert_cmpuint (config->endpoints->len, ==, 1);
  endpoint = g_ptr_array_index (config->endpoints, 0);
  g_assert_cmpstr (endpoint->name, ==, "certificate-api");
  g_assert_cmpstr (endpoint->url, ==, "https://certificate-api.internal/health");
  g_assert_true (endpoint->critical);

  g_assert_cmpuint (config->certificates->len, ==, 1);
  cert = hale_config_find_certificate (config, "current");
  g_assert_nonnull (cert);
  g_assert_true (cert == g_ptr_array_index (config->certificates, 0));
  g_assert_cmpstr (cert->name, ==, "current");
  g_assert_cmpstr (cert->path, ==, "/etc/certs/current.pem");
  g_assert_cmpint (cert->warning_before, ==, 72 * HOUR);
  g_assert_cmpint (cert->critical_before, ==, 24 * HOUR);

  g_assert_cmpuint (config->services->len, ==, 1);
  service = hale_config_find_service (config, "nginx");
  g_assert_nonnull (service);
  g_assert_cmpstr (service->name, ==, "nginx");
  g_assert_cmpstr (service->unit, ==, "nginx.service");
  g_assert_cmpstr (service->health_check, ==, "http://localhost/health");
  g_assert_cmpint (service->timeout, ==, 30 * SEC);
  g_assert_true (service->critical);

  g_assert_null (hale_config_find_certificate (config, "nginx"));
  g_assert_null (hale_config_find_service (config, "current"));
}

static void
assert_defaults (const HaleConfig *config)
{
  g_assert_cmpstr (config->metrics_listen, ==, "127.0.0.1:9091");
  g_assert_cmpstr (config->health_listen, ==, "127.0.0.1:8081");
  g_assert_null (config->audit_log);
  g_assert_cmpuint (config->audit_log_max_size, ==, 10 * 1024 * 1024);
  g_assert_cmpuint (config->audit_log_keep, ==, 5);
  g_assert_cmpint (config->certificate_recheck, ==, 60 * SEC);
  g_assert_cmpint (config->check_interval, ==, 30 * SEC);
  g_assert_cmpint (config->timeout, ==, 10 * SEC);
  g_assert_cmpint (config->degraded_threshold, ==, 300 * SEC);
  g_assert_cmpstr (config->metrics_namespace, ==, "hale");
  g_assert_cmpuint (config->certificates->len, ==, 0);
  g_assert_cmpuint (config->services->len, ==, 0);
  g_assert_cmpuint (config->endpoints->len, ==, 0);
}

static void
test_defaults (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleConfig) config = hale_config_new_default ();
  g_autoptr (HaleConfig) loaded = NULL;
  g_autofree char *path = NULL;
  const HaleCertificateConfig *cert;
  const HaleServiceConfig *service;
  const HaleEndpointConfig *endpoint;

  assert_defaults (config);
  g_assert_cmpuint (g_strv_length (config->files), ==, 0);

  /* An empty file, or one with only comments, is the defaults. */
  g_free (write_file (f, "hale.conf", "# nothing yet\n"));
  loaded = load_ok (f);
  assert_defaults (loaded);
  g_clear_pointer (&loaded, hale_config_unref);

  /* Named groups get their defaults for what they leave out. */
  g_free (write_file (f, "hale.conf",
                      "[Certificate c]\nPath=/c.pem\n"
                      "[Service s]\nUnit=s.service\n"
                      "[Endpoint e]\nURL=http://e/\n"));
  loaded = load_ok (f);
  cert = hale_config_find_certificate (loaded, "c");
  g_assert_cmpint (cert->warning_before, ==, 72 * HOUR);
  g_assert_cmpint (cert->critical_before, ==, 24 * HOUR);
  service = hale_config_find_service (loaded, "s");
  g_assert_null (service->health_check);
  g_assert_cmpint (service->timeout, ==, 30 * SEC);
  g_assert_false (service->critical);
  endpoint = g_ptr_array_index (loaded->endpoints, 0);
  g_assert_false (endpoint->critical);

  /* The reference keeps it alive. */
  path = g_strdup (loaded->files[0]);
  g_assert_true (hale_config_ref (loaded) == loaded);
  hale_config_unref (loaded);
  g_assert_cmpstr (loaded->files[0], ==, path);
}

static void
test_dropins (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleConfig) config = NULL;
  g_autofree char *main_path = write_file (f, "hale.conf",
                                           "[Network]\n"
                                           "CheckInterval=1m\n"
                                           "Timeout=20s\n"
                                           "[Monitoring]\n"
                                           "AuditLog=/var/log/hale/audit.log\n"
                                           "[Certificate a]\n"
                                           "Path=/a.pem\n");
  /* Written out of order: lexical order must win, not creation order. */
  g_autofree char *b = write_file (f, "hale.conf.d/20-b.conf",
                                   "[Network]\n"
                                   "Timeout=40s\n"
                                   "[Certificate a]\n"
                                   "WarningBefore=5d\n");
  g_autofree char *a = write_file (f, "hale.conf.d/10-a.conf",
                                   "[Network]\n"
                                   "Timeout=30s\n"
                                   "DegradedThreshold=2m\n"
                                   "[Monitoring]\n"
                                   "AuditLog=\n"
                                   "[Certificate b]\n"
                                   "Path=/b.pem\n");
  /* Not *.conf: never read, or these would fail the load. */
  g_free (write_file (f, "hale.conf.d/notes.txt", "this is not a key file\n"));
  g_free (write_file (f, "hale.conf.d/30-c.conf.dpkg-old", "[Bogus]\n"));
  g_free (write_file (f, "hale.conf.d/.hidden.conf", "[Bogus]\n"));
  const HaleCertificateConfig *cert;

  config = load_ok (f);
  g_assert_cmpuint (g_strv_length (config->files), ==, 3);
  g_assert_cmpstr (config->files[0], ==, main_path);
  g_assert_cmpstr (config->files[1], ==, a);
  g_assert_cmpstr (config->files[2], ==, b);

  g_assert_cmpint (config->check_interval, ==, 60 * SEC); /* main only */
  g_assert_cmpint (config->timeout, ==, 40 * SEC);        /* 20-b last */
  g_assert_cmpint (config->degraded_threshold, ==, 120 * SEC);
  g_assert_null (config->audit_log); /* turned off by an empty value */

  g_assert_cmpuint (config->certificates->len, ==, 2);
  cert = hale_config_find_certificate (config, "a");
  g_assert_cmpstr (cert->path, ==, "/a.pem");
  g_assert_cmpint (cert->warning_before, ==, 120 * HOUR);
  cert = hale_config_find_certificate (config, "b");
  g_assert_cmpstr (cert->path, ==, "/b.pem");
}

static void
test_group_order (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleConfig) config = NULL;
  static const char *const order[] = { "web", "api", "db", "cache" };

  g_free (write_file (f, "hale.conf",
                      "[Service web]\nUnit=nginx.service\n"
                      "[Certificate z]\nPath=/z.pem\n"
                      "[Service api]\nUnit=api.service\n"
                      "[Certificate y]\nPath=/y.pem\n"));
  g_free (write_file (f, "hale.conf.d/50-more.conf",
                      "[Service db]\nUnit=postgresql.service\n"
                      "[Service web]\nCritical=yes\n"
                      "[Certificate x]\nPath=/x.pem\n"));
  g_free (write_file (f, "hale.conf.d/60-last.conf",
                      "[Service cache]\nUnit=redis-server@main.service\n"
                      "[Service api]\nTimeout=1m\n"));

  config = load_ok (f);
  g_assert_cmpuint (config->services->len, ==, G_N_ELEMENTS (order));
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      const HaleServiceConfig *s = g_ptr_array_index (config->services, i);
      g_assert_cmpstr (s->name, ==, order[i]);
    }
  g_assert_true (hale_config_find_service (config, "web")->critical);
  g_assert_cmpint (hale_config_find_service (config, "api")->timeout, ==, 60 * SEC);
  g_assert_cmpstr (((HaleCertificateConfig *)g_ptr_array_index (config->certificates, 0))->name, ==,
                   "z");
  g_assert_cmpstr (((HaleCertificateConfig *)g_ptr_array_index (config->certificates, 1))->name, ==,
                   "y");
  g_assert_cmpstr (((HaleCertificateConfig *)g_ptr_array_index (config->certificates, 2))->name, ==,
                   "x");
}

typedef struct
{
  const char *name;
  const char *contents;
  const char *where; /* "GROUP:KEY" or "GROUP", or "" for the file itself */
  const char *what;
} ErrorCase;

static const ErrorCase error_cases[] = {
  { "unknown-group", "[Monitor]\nMetricsListen=:1\n", "Monitor", "unknown group" },
  { "unknown-key", "[Monitoring]\nMetricsPort=9091\n", "Monitoring:MetricsPort", "unknown key" },
  { "unknown-key-case", "[Network]\ntimeout=5s\n", "Network:timeout", "did you mean Timeout?" },
  { "unknown-key-named", "[Service a]\nUnit=a.service\nReload=yes\n", "Service a:Reload",
    "unknown key" },
  { "unnamed-named", "[Certificate]\nPath=/a.pem\n", "Certificate", "needs a name" },
  { "named-unnamed", "[Network main]\nTimeout=5s\n", "Network main", "takes no name" },
  { "bad-name", "[Certificate my cert]\nPath=/a.pem\n", "Certificate my cert",
    "\"my cert\" is not a valid name" },
  { "bad-name-slash", "[Service a/b]\nUnit=a.service\n", "Service a/b",
    "\"a/b\" is not a valid name" },
  { "listen", "[Monitoring]\nMetricsListen=localhost\n", "Monitoring:MetricsListen",
    "\"localhost\" has no port" },
  { "listen-port", "[Monitoring]\nHealthListen=127.0.0.1:70000\n", "Monitoring:HealthListen",
    "out of range" },
  { "path", "[Monitoring]\nAuditLog=log/audit.log\n", "Monitoring:AuditLog",
    "\"log/audit.log\" is not an absolute path" },
  { "size", "[Monitoring]\nAuditLogMaxSize=10MB\n", "Monitoring:AuditLogMaxSize",
    "\"10MB\" is ambiguous" },
  { "size-zero", "[Monitoring]\nAuditLogMaxSize=0\n", "Monitoring:AuditLogMaxSize", "more than 0" },
  { "uint", "[Monitoring]\nAuditLogKeep=-1\n", "Monitoring:AuditLogKeep",
    "\"-1\" is not a whole number" },
  { "uint-word", "[Monitoring]\nAuditLogKeep=five\n", "Monitoring:AuditLogKeep",
    "\"five\" is not a whole number" },
  { "duration", "[Monitoring]\nCertificateRecheckInterval=30\n",
    "Monitoring:CertificateRecheckInterval", "\"30\" has no unit (write 30s, 5m, 72h or 1d)" },
  { "duration-zero", "[Network]\nCheckInterval=0s\n", "Network:CheckInterval",
    "\"0s\" is too short" },
  { "duration-unit", "[Network]\nDegradedThreshold=5 minutes\n", "Network:DegradedThreshold",
    "unknown unit \"minutes\"" },
  { "namespace-digit", "[Metrics]\nNamespace=1hale\n", "Metrics:Namespace",
    "\"1hale\" is not a metric name prefix" },
  { "namespace-dash", "[Metrics]\nNamespace=hetzner-cert\n", "Metrics:Namespace",
    "\"hetzner-cert\" is not a metric name prefix" },
  { "certificate-path-missing", "[Certificate a]\nWarningBefore=10d\n", "Certificate a:Path",
    "required key is missing" },
  { "certificate-path-relative", "[Certificate a]\nPath=certs/a.pem\n", "Certificate a:Path",
    "\"certs/a.pem\" is not an absolute path" },
  { "certificate-warning", "[Certificate a]\nPath=/a.pem\nWarningBefore=3 days\n",
    "Certificate a:WarningBefore", "unknown unit \"days\"" },
  { "critical-not-before-warning", "[Certificate a]\nPath=/a.pem\nCriticalBefore=72h\n",
    "Certificate a:CriticalBefore", "CriticalBefore (3d) must be shorter than WarningBefore (3d)" },
  { "critical-after-warning", "[Certificate a]\nPath=/a.pem\nWarningBefore=1d\nCriticalBefore=2d\n",
    "Certificate a:CriticalBefore", "CriticalBefore (2d) must be shorter than WarningBefore (1d)" },
  { "warning-below-default-critical", "[Certificate a]\nPath=/a.pem\nWarningBefore=12h\n",
    "Certificate a:WarningBefore", "CriticalBefore (1d) must be shorter than WarningBefore (12h)" },
  { "certificate-same-path",
    "[Certificate a]\nPath=/etc/certs/x.pem\n[Certificate b]\nPath=/etc//certs/./x.pem\n",
    "Certificate b:Path", "/etc//certs/./x.pem is already watched by [Certificate a]" },
  { "check-urls-bad", "[Check api]\nURL=http://127.0.0.1:1/a ftp://127.0.0.1:2/b\n",
    "Check api:URL", "\"ftp://127.0.0.1:2/b\" is not an http:// or https:// URL" },
  { "check-urls-same-instance",
    "[Check api]\nURL=http://127.0.0.1:8080/a http://127.0.0.1:8080/b\n", "Check api:URL",
    "http://127.0.0.1:8080/b: another URL is on the same host and port 127.0.0.1:8080" },
  { "service-tls-address-no-port", "[Service a]\nUnit=a.service\nTLSAddress=127.0.0.1\n",
    "Service a:TLSAddress", "\"127.0.0.1\" has no port" },
  { "service-tls-address-bad", "[Service a]\nUnit=a.service\nTLSAddress=[::1:443\n",
    "Service a:TLSAddress", "\"[::1:443\" is not HOST:PORT" },
  { "service-tls-server-name",
    "[Service a]\nUnit=a.service\nTLSAddress=127.0.0.1:443\n"
    "TLSServerName=www example\n",
    "Service a:TLSServerName", "\"www example\" is not a DNS name" },
  { "service-tls-server-name-alone", "[Service a]\nUnit=a.service\nTLSServerName=www.example\n",
    "Service a:TLSServerName", "there is no TLSAddress= to send it to" },
  { "certificate-glob-depth", "[Certificate le]\nPath=/etc/letsencrypt/**/fullchain.pem\n",
    "Certificate le:Path", "** (any depth) is not supported" },
  { "certificate-glob-bracket", "[Certificate le]\nPath=/etc/live/[ab/fullchain.pem\n",
    "Certificate le:Path", "a [ is not closed" },
  { "certificate-glob-one-key",
    "[Certificate le]\nPath=/etc/live/*/fullchain.pem\nKeyPath=/etc/live/privkey.pem\n",
    "Certificate le:KeyPath", "/etc/live/privkey.pem is one file for every match of Path=" },
  { "certificate-glob-key-only",
    "[Certificate le]\nPath=/etc/live/a/fullchain.pem\nKeyPath=/etc/live/*/privkey.pem\n",
    "Certificate le:KeyPath", "has wildcards but Path= is one file" },
  { "certificate-glob-key-count",
    "[Certificate le]\nPath=/srv/*/tls/*.pem\nKeyPath=/srv/*/tls/key.pem\n",
    "Certificate le:KeyPath", "has 1 wildcards, Path=/srv/*/tls/*.pem has 2" },
  { "certificate-glob-key-bad", "[Certificate le]\nPath=/srv/*.pem\nKeyPath=/srv/[*.key\n",
    "Certificate le:KeyPath", "a [ is not closed" },
  { "unit-missing", "[Service a]\nTimeout=5s\n", "Service a:Unit", "required key is missing" },
  { "unit-path", "[Service a]\nUnit=/lib/systemd/system/nginx.service\n", "Service a:Unit",
    "is a path, not a unit name" },
  { "unit-no-type", "[Service a]\nUnit=nginx\n", "Service a:Unit", "\"nginx\" is not a unit name" },
  { "unit-bad-type", "[Service a]\nUnit=nginx.conf\n", "Service a:Unit",
    "\"nginx.conf\" is not a unit name" },
  { "unit-template", "[Service a]\nUnit=getty@.service\n", "Service a:Unit",
    "\"getty@.service\" is a template" },
  { "unit-chars", "[Service a]\nUnit=my app.service\n", "Service a:Unit", "' ' is not allowed" },
  { "health-check-scheme", "[Service a]\nUnit=a.service\nHealthCheck=ftp://host/x\n",
    "Service a:HealthCheck", "\"ftp://host/x\" is not an http:// or https:// URL" },
  { "health-check-garbage", "[Service a]\nUnit=a.service\nHealthCheck=localhost/health\n",
    "Service a:HealthCheck", "\"localhost/health\" is not a URL" },
  { "service-timeout", "[Service a]\nUnit=a.service\nTimeout=0ms\n", "Service a:Timeout",
    "too short" },
  { "service-critical", "[Service a]\nUnit=a.service\nCritical=maybe\n", "Service a:Critical",
    "\"maybe\" is not a boolean" },
  { "category-unknown-check", "[Check a]\nTTL=5m\n[Category web]\nChecks=a, b\n",
    "Category web:Checks", "there is no [Check b]" },
  { "category-no-checks", "[Category web]\nSticky=true\n", "Category web:Checks",
    "required key is missing" },
  { "category-empty-checks", "[Category web]\nChecks= , ;\n", "Category web:Checks",
    "names no group" },
  { "category-refresh-zero", "[Check a]\nTTL=5m\n[Category web]\nChecks=a\nRefreshRate=0s\n",
    "Category web:RefreshRate", "too short" },
  { "check-nothing", "[Check a]\nSeverity=2\n", "Check a", "says nothing to check" },
  { "check-two-kinds", "[Check a]\nURL=http://h/\nUnit=a.service\n", "Check a:Unit",
    "URL= and Unit= are both set, and a check has one kind" },
  { "check-kind-word", "[Check a]\nKind=tcp\nURL=http://h/\n", "Check a:Kind",
    "\"tcp\" is not one of http, unit, push" },
  { "check-kind-needs-key", "[Check a]\nKind=unit\n", "Check a:Unit", "required for Kind=unit" },
  { "check-kind-foreign-key", "[Check a]\nKind=push\nTTL=5m\nURL=http://h/\n", "Check a:URL",
    "not used by Kind=push checks (URL= is for Kind=http)" },
  { "check-format", "[Check a]\nURL=http://h/\nFormat=xml\n", "Check a:Format",
    "\"xml\" is not one of auto, ft, health+json, seed, status" },
  { "check-format-not-http", "[Check a]\nUnit=a.service\nFormat=ft\n", "Check a:Format",
    "only http checks read an answer; this is a unit check" },
  { "check-cafile-not-http", "[Check a]\nTTL=1m\nCAFile=/ca.pem\n", "Check a:CAFile",
    "only http checks" },
  { "check-severity", "[Check a]\nURL=http://h/\nSeverity=3\n", "Check a:Severity",
    "\"3\" is not 1 (critical) or 2 (warning)" },
  { "check-severity-zero", "[Check a]\nURL=http://h/\nSeverity=0\n", "Check a:Severity",
    "not a whole number" },
  { "check-url", "[Check a]\nURL=localhost:8080/health\n", "Check a:URL",
    "is not an http:// or https:// URL" },
  { "check-unit", "[Check a]\nUnit=nginx\n", "Check a:Unit", "\"nginx\" is not a unit name" },
  { "check-ttl-zero", "[Check a]\nTTL=0s\n", "Check a:TTL", "too short" },
  { "check-push-interval", "[Check a]\nTTL=5m\nInterval=1m\n", "Check a:Interval",
    "a push check runs nothing" },
  { "check-timeout", "[Check a]\nURL=http://h/\nTimeout=soon\n", "Check a:Timeout", "soon" },
  { "endpoint-url-missing", "[Endpoint ca]\nCritical=true\n", "Endpoint ca:URL",
    "required key is missing" },
  { "endpoint-url-scheme", "[Endpoint ca]\nURL=file:///etc/hosts\n", "Endpoint ca:URL",
    "is not an http:// or https:// URL" },
  { "endpoint-url-no-host", "[Endpoint ca]\nURL=http:///health\n", "Endpoint ca:URL",
    "has no host" },
  { "endpoint-critical", "[Endpoint ca]\nURL=https://ca/\nCritical=2\n", "Endpoint ca:Critical",
    "\"2\" is not a boolean" },
  { "endpoint-status-word", "[Endpoint ca]\nURL=https://ca/\nExpectedStatus=ok\n",
    "Endpoint ca:ExpectedStatus", "\"ok\" is not an HTTP status or range" },
  { "endpoint-status-range", "[Endpoint ca]\nURL=https://ca/\nExpectedStatus=299-200\n",
    "Endpoint ca:ExpectedStatus", "is an empty range" },
  { "endpoint-status-code", "[Endpoint ca]\nURL=https://ca/\nExpectedStatus=700\n",
    "Endpoint ca:ExpectedStatus", "codes from 100 to 599" },
  /* Found by fuzz-config: an empty value was a GLib critical. */
  { "endpoint-status-empty", "[Endpoint ca]\nURL=https://ca/\nExpectedStatus=\n",
    "Endpoint ca:ExpectedStatus", "is not an HTTP status or range" },
  { "endpoint-ca-relative", "[Endpoint ca]\nURL=https://ca/\nCAFile=ca.pem\n", "Endpoint ca:CAFile",
    "\"ca.pem\" is not an absolute path" },
  { "set-twice", "[Network]\nTimeout=5s\nCheckInterval=1m\nTimeout=6s\n", "Network:Timeout",
    "set twice in this file (lines 2 and 4)" },
  { "set-twice-reopened", "[Service a]\nUnit=a.service\n[Network]\n[Service a]\nUnit = b.service\n",
    "Service a:Unit", "set twice in this file (lines 2 and 5)" },
  { "listen-wildcard-v4", "[Monitoring]\nMetricsListen=0.0.0.0:9091\nHealthListen=127.0.0.1:9091\n",
    "Monitoring:HealthListen", "overlap on port 9091" },
  { "listen-wildcard-any", "[Monitoring]\nMetricsListen=127.0.0.1:9091\nHealthListen=:9091\n",
    "Monitoring:HealthListen", "overlap on port 9091" },
  { "listen-wildcard-v6", "[Monitoring]\nMetricsListen=[::]:8081\n", "Monitoring:MetricsListen",
    "overlap on port 8081" },
  { "syntax", "[Monitoring]\nthis line is not a key\n", "", "" },
  /* Values that would make haled work against itself. */
  { "audit-keep-huge", "[Monitoring]\nAuditLogKeep=4294967295\n", "Monitoring:AuditLogKeep",
    "not a whole number from 0 to 100" },
  { "recheck-too-often", "[Monitoring]\nCertificateRecheckInterval=500us\n",
    "Monitoring:CertificateRecheckInterval", "too short: at least 1s" },
  { "check-interval-too-often", "[Network]\nCheckInterval=1ms\n", "Network:CheckInterval",
    "too short: at least 100ms" },
  { "tls-version",
    "[Monitoring]\nMetricsTLSCertificate=/a.pem\nMetricsTLSKey=/a.key\nMetricsTLSMinVersion=1.1\n",
    "Monitoring:MetricsTLSMinVersion", "write 1.2 or 1.3" },
  { "tls-key-missing", "[Monitoring]\nMetricsTLSCertificate=/a.pem\n",
    "Monitoring:MetricsTLSCertificate", "MetricsTLSKey is not set" },
  { "tls-cert-missing", "[Monitoring]\nHealthTLSKey=/a.key\n", "Monitoring:HealthTLSKey",
    "without its certificate" },
  { "tls-key-is-cert", "[Monitoring]\nMetricsTLSCertificate=/a.pem\nMetricsTLSKey=/a.pem\n",
    "Monitoring:MetricsTLSKey", "same file as MetricsTLSCertificate" },
  { "tls-ca-without-cert", "[Monitoring]\nMetricsTLSClientCA=/ca.pem\n",
    "Monitoring:MetricsTLSClientCA", "needs MetricsTLSCertificate" },
  { "tls-shared-disagree",
    "[Monitoring]\nMetricsListen=127.0.0.1:9091\nHealthListen=127.0.0.1:9091\n"
    "MetricsTLSCertificate=/a.pem\nMetricsTLSKey=/a.key\nHealthTLSMinVersion=1.3\n"
    "HealthTLSCertificate=/a.pem\nHealthTLSKey=/a.key\n",
    "Monitoring:HealthTLSCertificate", "TLS settings must agree" },
  { "tls-path", "[Monitoring]\nMetricsBearerTokenFile=token\n", "Monitoring:MetricsBearerTokenFile",
    "not an absolute path" },
  { "health-auth", "[Monitoring]\nHealthAuth=yes\n", "Monitoring:HealthAuth",
    "write none (the health paths are open) or same" },
  { "health-auth-nothing", "[Monitoring]\nHealthAuth=same\n", "Monitoring:HealthAuth",
    "needs MetricsBearerTokenFile or MetricsBasicAuthUsers" },
  { "prefix-relative", "[Monitoring]\nHealthPathPrefix=__agg\n", "Monitoring:HealthPathPrefix",
    "does not start with /" },
  { "prefix-query", "[Monitoring]\nHealthPathPrefix=/a?b\n", "Monitoring:HealthPathPrefix",
    "has '?'" },
  { "prefix-empty-segment", "[Monitoring]\nHealthPathPrefix=/a//b\n", "Monitoring:HealthPathPrefix",
    "empty or \".\" segment" },
  { "syntax-no-group", "MetricsListen=:9091\n", "", "" },
  { "bad-escape", "[Monitoring]\nAuditLog=/var/log/a\\qb\n", "Monitoring:AuditLog", "" },
};

static void
test_error (Fixture *f, gconstpointer data)
{
  const ErrorCase *c = data;
  g_autofree char *path = write_file (f, "hale.conf", c->contents);
  g_auto (GStrv) lines = load_problems (f);

  if (c->where[0] == '\0')
    {
      /* A file that does not parse: "FILE: reason", nothing else. */
      g_autofree char *prefix = g_strdup_printf ("%s: ", path);
      g_assert_cmpuint (g_strv_length (lines), ==, 1);
      g_assert_true (g_str_has_prefix (lines[0], prefix));
      g_assert_cmpuint (strlen (lines[0]), >, strlen (prefix));
      return;
    }
  assert_problem (lines, path, c->where, c->what);
  /* One mistake, one line: no knock-on complaints. */
  g_assert_cmpuint (g_strv_length (lines), ==, 1);
}

/* Problems name the file that set the key, which may be a drop-in. */
static void
test_error_in_dropin (Fixture *f, gconstpointer data)
{
  g_autofree char *main_path = write_file (f, "hale.conf",
                                           "[Certificate a]\nPath=/a.pem\n"
                                           "[Network]\nTimeout=5s\n");
  g_autofree char *dropin = write_file (f, "hale.conf.d/10-override.conf",
                                        "[Network]\nTimeout=soon\n"
                                        "[Certificate a]\nCriticalBefore=100h\n");
  g_auto (GStrv) lines = load_problems (f);

  assert_problem (lines, dropin, "Network:Timeout", "\"soon\" is not a duration");
  assert_problem (lines, dropin, "Certificate a:CriticalBefore", "must be shorter");
  g_assert_cmpuint (g_strv_length (lines), ==, 2);

  /* A required key missing from a group is blamed on the file that
   * opened the group. */
  g_free (write_file (f, "hale.conf.d/10-override.conf", "[Service b]\nTimeout=5s\n"));
  g_strfreev (lines);
  lines = load_problems (f);
  assert_problem (lines, dropin, "Service b:Unit", "required key is missing");

  /* A later file can also fix what an earlier one got wrong. */
  g_free (write_file (f, "hale.conf", "[Network]\nTimeout=never\n"));
  g_free (write_file (f, "hale.conf.d/10-override.conf", "[Network]\nTimeout=5s\n"));
  {
    g_autoptr (HaleConfig) config = load_ok (f);
    g_assert_cmpint (config->timeout, ==, 5 * SEC);
  }
  (void)main_path;
}

static void
test_all_reported (Fixture *f, gconstpointer data)
{
  g_autofree char *main_path = write_file (f, "hale.conf",
                                           "[Monitoring]\n"
                                           "MetricsListen=nowhere\n"
                                           "Colour=blue\n"
                                           "[Network]\n"
                                           "Timeout=5\n"
                                           "Timeout=6\n"
                                           "[Certificate a]\n"
                                           "WarningBefore=1h\n"
                                           "[Services]\n"
                                           "Unit=x.service\n");
  g_autofree char *broken = write_file (f, "hale.conf.d/10-broken.conf", "[Network\n");
  g_autofree char *dropin = write_file (f, "hale.conf.d/20-more.conf",
                                        "[Endpoint ca]\nURL=gopher://ca\n"
                                        "[Metrics]\nNamespace=a.b\n");
  g_auto (GStrv) lines = load_problems (f);

  assert_problem (lines, main_path, "Monitoring:MetricsListen", "\"nowhere\" has no port");
  assert_problem (lines, main_path, "Monitoring:Colour", "unknown key");
  assert_problem (lines, main_path, "Network:Timeout", "set twice");
  assert_problem (lines, main_path, "Network:Timeout", "\"6\" has no unit");
  assert_problem (lines, main_path, "Certificate a:Path", "required key is missing");
  assert_problem (lines, main_path, "Services", "unknown group");
  {
    g_autofree char *prefix = g_strdup_printf ("%s: ", broken);
    gboolean found = FALSE;
    for (guint i = 0; lines[i] != NULL; i++)
      found |= g_str_has_prefix (lines[i], prefix);
    g_assert_true (found);
  }
  assert_problem (lines, dropin, "Endpoint ca:URL", "\"gopher://ca\"");
  assert_problem (lines, dropin, "Metrics:Namespace", "\"a.b\"");
  g_assert_cmpuint (g_strv_length (lines), ==, 9);
}

static void
test_listen_shared (Fixture *f, gconstpointer data)
{
  static const char *const allowed[] = {
    /* One listener serves both. */
    "MetricsListen=127.0.0.1:9091\nHealthListen=127.0.0.1:9091\n",
    "MetricsListen=:9091\nHealthListen=*:9091\n",
    "MetricsListen=[::1]:9091\nHealthListen=[::1]:9091\n",
    /* localhost is 127.0.0.1 to the HTTP face: the same listener. */
    "MetricsListen=localhost:8081\n",
    /* Two addresses, neither covering the other. */
    "MetricsListen=127.0.0.1:9091\nHealthListen=192.0.2.1:9091\n",
    "MetricsListen=localhost:9091\nHealthListen=[::1]:9091\n",
    /* Port 0: the kernel picks two different ports. */
    "MetricsListen=:0\nHealthListen=127.0.0.1:0\n",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (allowed); i++)
    {
      g_autofree char *contents = g_strconcat ("[Monitoring]\n", allowed[i], NULL);
      g_autoptr (HaleConfig) config = NULL;

      g_test_message ("%s", allowed[i]);
      g_free (write_file (f, "hale.conf", contents));
      config = load_ok (f);
    }
}

/* Patterns are accepted as they are written; what they match is the
 * watch's business, and matching nothing is no error. */
static void
test_certificate_patterns (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleConfig) config = NULL;
  const HaleCertificateConfig *le, *sites;

  g_free (write_file (f, "hale.conf",
                      "[Certificate le]\n"
                      "Path=/nonexistent/letsencrypt/live/*/fullchain.pem\n"
                      "KeyPath=/nonexistent/letsencrypt/live/*/privkey.pem\n"
                      "[Certificate sites]\n"
                      "Path=/srv/*/tls/[a-z]?.pem\n"
                      "[Certificate web]\n"
                      "Path=/srv/web.pem\n"
                      "[Service nginx]\n"
                      "Unit=nginx.service\n"
                      "ReloadOnChange=le\n"));
  config = load_ok (f);
  le = hale_config_find_certificate (config, "le");
  sites = hale_config_find_certificate (config, "sites");
  g_assert_cmpstr (le->path, ==, "/nonexistent/letsencrypt/live/*/fullchain.pem");
  g_assert_cmpstr (le->key_path, ==, "/nonexistent/letsencrypt/live/*/privkey.pem");
  g_assert_cmpstr (sites->path, ==, "/srv/*/tls/[a-z]?.pem");
  g_assert_null (sites->key_path);
}

static void
test_tls_and_auth (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleConfig) defaults = hale_config_new_default ();
  g_autoptr (HaleConfig) separate = NULL;
  g_autoptr (HaleConfig) shared = NULL;

  /* Plain HTTP, no auth, TLS 1.2 minimum when turned on. */
  g_assert_null (defaults->metrics_tls.certificate);
  g_assert_null (defaults->health_tls.certificate);
  g_assert_cmpuint (defaults->metrics_tls.min_version, ==, 12);
  g_assert_null (defaults->metrics_bearer_token_file);
  g_assert_false (defaults->health_auth);
  g_assert_cmpstr (defaults->health_path_prefix, ==, "");

  g_free (write_file (f, "hale.conf",
                      "[Monitoring]\nMetricsListen=127.0.0.1:9091\nHealthListen=127.0.0.1:8081\n"
                      "MetricsTLSCertificate=/etc/hale/tls/cert.pem\n"
                      "MetricsTLSKey=/etc/hale/tls/key.pem\n"
                      "MetricsTLSMinVersion=1.3\n"
                      "MetricsTLSClientCA=/etc/hale/tls/clients.pem\n"
                      "MetricsBearerTokenFile=/etc/hale/token\n"
                      "MetricsBasicAuthUsers=/etc/hale/users\n"
                      "HealthAuth=same\n"
                      "HealthPathPrefix=/__agg/\n"));
  separate = load_ok (f);
  g_assert_cmpstr (separate->health_path_prefix, ==, "/__agg");
  g_assert_cmpstr (separate->metrics_tls.certificate, ==, "/etc/hale/tls/cert.pem");
  g_assert_cmpstr (separate->metrics_tls.key, ==, "/etc/hale/tls/key.pem");
  g_assert_cmpstr (separate->metrics_tls.client_ca, ==, "/etc/hale/tls/clients.pem");
  g_assert_cmpuint (separate->metrics_tls.min_version, ==, 13);
  /* Another listener: plain unless its own keys say otherwise. */
  g_assert_null (separate->health_tls.certificate);
  g_assert_cmpuint (separate->health_tls.min_version, ==, 12);
  g_assert_cmpstr (separate->metrics_bearer_token_file, ==, "/etc/hale/token");
  g_assert_cmpstr (separate->metrics_basic_auth_users, ==, "/etc/hale/users");
  g_assert_true (separate->health_auth);

  /* One listener: the health face has the metrics face's TLS, whether
   * the Health keys are left out or repeat the Metrics ones. */
  for (guint i = 0; i < 2; i++)
    {
      g_free (write_file (f, "hale.conf",
                          i == 0 ? "[Monitoring]\nMetricsListen=127.0.0.1:9091\n"
                                   "HealthListen=127.0.0.1:9091\n"
                                   "MetricsTLSCertificate=/c.pem\nMetricsTLSKey=/k.pem\n"
                                   "MetricsTLSMinVersion=1.3\nHealthAuth=none\n"
                                 : "[Monitoring]\nMetricsListen=127.0.0.1:9091\n"
                                   "HealthListen=127.0.0.1:9091\n"
                                   "MetricsTLSCertificate=/c.pem\nMetricsTLSKey=/k.pem\n"
                                   "MetricsTLSMinVersion=1.3\nHealthTLSCertificate=/c.pem\n"
                                   "HealthTLSKey=/k.pem\nHealthTLSMinVersion=1.3\n"));
      g_clear_pointer (&shared, hale_config_unref);
      shared = load_ok (f);
      g_assert_cmpstr (shared->health_tls.certificate, ==, "/c.pem");
      g_assert_cmpstr (shared->health_tls.key, ==, "/k.pem");
      g_assert_cmpuint (shared->health_tls.min_version, ==, 13);
      g_assert_false (shared->health_auth);
    }

  /* A drop-in turns TLS off again with empty values. */
  g_free (write_file (f, "hale.conf.d/50-plain.conf",
                      "[Monitoring]\nMetricsTLSCertificate=\nMetricsTLSKey=\n"
                      "MetricsTLSMinVersion=1.2\nHealthTLSCertificate=\nHealthTLSKey=\n"
                      "HealthTLSMinVersion=1.2\n"));
  g_clear_pointer (&shared, hale_config_unref);
  shared = load_ok (f);
  g_assert_null (shared->metrics_tls.certificate);
  g_assert_null (shared->health_tls.certificate);
}

static void
test_not_found (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = NULL;

  /* Drop-ins without their main file do not count: the file named is missing. */
  g_free (write_file (f, "hale.conf.d/10-a.conf", "[Network]\nTimeout=5s\n"));
  config = hale_config_load (f->path, &error);
  g_assert_null (config);
  g_assert_error (error, HALE_CONFIG_ERROR, HALE_CONFIG_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, f->path));
}

static void
test_unreadable_dropin_dir (Fixture *f, gconstpointer data)
{
  g_autofree char *main_path = write_file (f, "hale.conf", "");
  g_autofree char *not_dir = write_file (f, "hale.conf.d", "a file, not a directory\n");
  g_auto (GStrv) lines = load_problems (f);

  g_assert_cmpuint (g_strv_length (lines), ==, 1);
  g_assert_true (g_str_has_prefix (lines[0], not_dir));
  g_assert_nonnull (strstr (lines[0], "cannot read"));
  (void)main_path;
}

static void
test_checks (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleConfig) config = NULL;
  const HaleCheckConfig *c;

  /* [Network] after the checks: its defaults still reach them. */
  g_free (write_file (f, "hale.conf",
                      "[Check api]\n"
                      "URL=https://127.0.0.1:8443/__health\n"
                      "Format=ft\n"
                      "CAFile=/etc/hale/ca.pem\n"
                      "Severity=2\n"
                      "Interval=10s\n"
                      "[Check db]\n"
                      "Unit=postgresql.service\n"
                      "Timeout=3s\n"
                      "[Check backup]\n"
                      "TTL=1d\n"
                      "[Check explicit]\n"
                      "Kind=http\n"
                      "URL=http://localhost/health\n"
                      "[Network]\n"
                      "CheckInterval=45s\n"
                      "Timeout=7s\n"));
  config = load_ok (f);
  g_assert_cmpuint (config->checks->len, ==, 4);

  c = hale_config_find_check (config, "api");
  g_assert_nonnull (c);
  g_assert_cmpint (c->kind, ==, HALE_CHECK_KIND_HTTP);
  g_assert_cmpint (c->format, ==, HALE_CHECK_FORMAT_FT);
  g_assert_cmpstr (c->url, ==, "https://127.0.0.1:8443/__health");
  g_assert_cmpstr (c->ca_file, ==, "/etc/hale/ca.pem");
  g_assert_cmpuint (c->severity, ==, 2);
  g_assert_cmpint (c->interval, ==, 10 * SEC);
  g_assert_cmpint (c->timeout, ==, 7 * SEC);

  c = hale_config_find_check (config, "db");
  g_assert_cmpint (c->kind, ==, HALE_CHECK_KIND_UNIT);
  g_assert_cmpstr (c->unit, ==, "postgresql.service");
  g_assert_cmpuint (c->severity, ==, 1);
  g_assert_cmpint (c->timeout, ==, 3 * SEC);
  g_assert_cmpint (c->interval, ==, 45 * SEC);

  c = hale_config_find_check (config, "backup");
  g_assert_cmpint (c->kind, ==, HALE_CHECK_KIND_PUSH);
  g_assert_cmpint (c->ttl, ==, 24 * HOUR);

  c = hale_config_find_check (config, "explicit");
  g_assert_cmpint (c->kind, ==, HALE_CHECK_KIND_HTTP);
  g_assert_cmpint (c->format, ==, HALE_CHECK_FORMAT_AUTO);
  g_assert_null (hale_config_find_check (config, "nope"));
}

static void
test_list_keys (void)
{
  g_auto (GStrv) keys = hale_config_list_keys ();
  static const char *const expected[] = {
    "Monitoring.MetricsListen",
    "Monitoring.HealthListen",
    "Monitoring.AuditLog",
    "Monitoring.AuditLogMaxSize",
    "Monitoring.AuditLogKeep",
    "Monitoring.CertificateRecheckInterval",
    "Network.CheckInterval",
    "Network.Timeout",
    "Network.DegradedThreshold",
    "Metrics.Namespace",
    "Certificate.Path",
    "Certificate.WarningBefore",
    "Certificate.CriticalBefore",
    "Service.Unit",
    "Service.HealthCheck",
    "Service.Timeout",
    "Service.Critical",
    "Endpoint.URL",
    "Endpoint.Critical",
    "Endpoint.ExpectedStatus",
    "Endpoint.CAFile",
    "Monitoring.BackupKeep",
    "Certificate.KeyPath",
    "Service.ReloadOnChange",
    "Service.TLSAddress",
    "Service.TLSServerName",
    "Check.Kind",
    "Check.URL",
    "Check.Format",
    "Check.Unit",
    "Check.TTL",
    "Check.Severity",
    "Check.Timeout",
    "Check.Interval",
    "Check.CAFile",
    "Category.Checks",
    "Category.RefreshRate",
    "Category.Sticky",
    "Category.Enabled",
    "Monitoring.MetricsTLSCertificate",
    "Monitoring.MetricsTLSKey",
    "Monitoring.MetricsTLSMinVersion",
    "Monitoring.MetricsTLSClientCA",
    "Monitoring.HealthTLSCertificate",
    "Monitoring.HealthTLSKey",
    "Monitoring.HealthTLSMinVersion",
    "Monitoring.HealthTLSClientCA",
    "Monitoring.MetricsBearerTokenFile",
    "Monitoring.MetricsBasicAuthUsers",
    "Monitoring.HealthAuth",
    "Monitoring.HealthPathPrefix",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_true (g_strv_contains ((const char *const *)keys, expected[i]));
  g_assert_cmpuint (g_strv_length (keys), ==, G_N_ELEMENTS (expected));
}

static void
test_categories (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleConfig) config = NULL;
  const HaleCategoryConfig *c;

  g_free (write_file (f, "hale.conf",
                      "[Check api]\nURL=http://127.0.0.1:1/health\n"
                      "[Check db]\nTTL=5m\n"
                      "[Category web]\nChecks=api, db;api\nRefreshRate=30s\nSticky=yes\n"
                      "[Category batch]\nChecks=db\nEnabled=false\n"));
  config = load_ok (f);
  g_assert_cmpuint (config->categories->len, ==, 2);
  c = hale_config_find_category (config, "web");
  g_assert_nonnull (c);
  g_assert_cmpstrv (c->checks, ((const char *const[]){ "api", "db", NULL }));
  g_assert_cmpint (c->refresh_rate, ==, 30 * G_TIME_SPAN_SECOND);
  g_assert_true (c->sticky);
  g_assert_true (c->enabled);
  c = hale_config_find_category (config, "batch");
  g_assert_cmpint (c->refresh_rate, ==, 60 * G_TIME_SPAN_SECOND);
  g_assert_false (c->sticky);
  g_assert_false (c->enabled);
  g_assert_null (hale_config_find_category (config, "nope"));
}

/* From memory, as the fuzzer reads it: the main file and a drop-in. A
 * NUL byte used to cut a file short without a word: what came after it
 * (here a second listener) was dropped. */
static void
test_from_data (void)
{
  static const char main_text[] = "[Monitoring]\nMetricsListen=127.0.0.1:9091\n";
  static const char dropin[] = "[Network]\nTimeout=3s\n";
  static const char with_nul[] = "[Network]\nTimeout=3s\n\0[Monitoring]\nHealthListen=:1\n";
  const char *names[] = { "/etc/hale/hale.conf", "/etc/hale/hale.conf.d/10-a.conf", NULL };
  g_autoptr (GBytes) a = g_bytes_new_static (main_text, sizeof main_text - 1);
  g_autoptr (GBytes) b = g_bytes_new_static (dropin, sizeof dropin - 1);
  g_autoptr (GBytes) c = g_bytes_new_static (with_nul, sizeof with_nul - 1);
  GBytes *good[] = { a, b };
  GBytes *bad[] = { a, c };
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = hale_config_load_from_data (names, good, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (config->metrics_listen, ==, "127.0.0.1:9091");
  g_assert_cmpint (config->timeout, ==, 3 * G_USEC_PER_SEC);
  g_assert_cmpstrv (config->files, names);

  g_assert_null (hale_config_load_from_data (names, bad, &error));
  g_assert_error (error, HALE_CONFIG_ERROR, HALE_CONFIG_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==,
                   "/etc/hale/hale.conf.d/10-a.conf: a NUL byte at offset 21: not a text file");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func)                                                                            \
  g_test_add ("/config/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("example", test_example);
  ADD ("defaults", test_defaults);
  ADD ("dropins", test_dropins);
  ADD ("group-order", test_group_order);
  ADD ("error-in-dropin", test_error_in_dropin);
  ADD ("all-reported", test_all_reported);
  ADD ("listen-shared", test_listen_shared);
  ADD ("certificate-patterns", test_certificate_patterns);
  ADD ("tls-and-auth", test_tls_and_auth);
  ADD ("not-found", test_not_found);
  ADD ("unreadable-dropin-dir", test_unreadable_dropin_dir);
  ADD ("checks", test_checks);
  ADD ("categories", test_categories);
#undef ADD
  for (gsize i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/config/error/%s", error_cases[i].name);
      g_test_add (name, Fixture, &error_cases[i], fixture_setup, test_error, fixture_teardown);
    }
  g_test_add_func ("/config/list-keys", test_list_keys);
  g_test_add_func ("/config/from-data", test_from_data);
  return g_test_run ();
}
