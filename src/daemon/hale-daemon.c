/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-daemon.c: haled's modules, wired together.
 *
 * Data flows one way: the configuration drives the sources (the
 * certificate watch today), which write to the state model and the
 * metrics registry; the faces (HTTP, D-Bus) read those. This file only
 * creates the pieces, hands each its part of the configuration, and
 * tells systemd how it goes.
 */
#include "config.h"

#include "hale-daemon.h"

#include "hale-aggregate-http.h"
#include "hale-aggregate-report.h"
#include "hale-aggregate.h"
#include "hale-audit.h"
#include "hale-authority.h"
#include "hale-cert-watch.h"
#include "hale-checks.h"
#include "hale-config.h"
#include "hale-connectivity.h"
#include "hale-dbus-checks.h"
#include "hale-dbus-degraded.h"
#include "hale-dbus-reload.h"
#include "hale-dbus-rotation.h"
#include "hale-dbus.h"
#include "hale-http.h"
#include "hale-log.h"
#include "hale-metrics.h"
#include "hale-names.h"
#include "hale-notify.h"
#include "hale-probe.h"
#include "hale-process.h"
#include "hale-reload.h"
#include "hale-report.h"
#include "hale-rotation.h"
#include "hale-state.h"

#include <gnutls/gnutls.h>
#include <libsoup/soup.h>
#include <syslog.h>

struct _HaleDaemon
{
  GObject parent_instance;

  gboolean user;
  char *config_path;
  gboolean config_path_explicit;
  char *state_dir;

  HaleConfig *config;
  HaleState *state;
  HaleMetrics *metrics;
  HaleReport *report;
  HaleAudit *audit;
  HaleProber *prober;
  HaleCertWatch *certs;
  HaleConnectivity *connectivity;
  HaleChecks *checks;
  HaleAggregate *aggregate;
  HaleChecksFace *checks_face;
  HaleReload *reload;
  HaleAuthority *authority;
  HaleReloadFace *reload_face;
  HaleRotation *rotation;
  HaleRotationFace *rotation_face;
  HaleDegradedFace *degraded_face;
  HaleHttp *http;
  HaleDbus *dbus;

  HaleMetricFamily *up;
  HaleMetricFamily *config_reload_ok;
  HaleMetricFamily *config_reload_time;

  gboolean ready;
};

G_DEFINE_TYPE (HaleDaemon, hale_daemon, G_TYPE_OBJECT)

enum
{
  SIGNAL_READY,
  SIGNAL_FATAL,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

char *
hale_daemon_default_config_path (gboolean user)
{
  if (user)
    return g_build_filename (g_get_user_config_dir (), "hale", HALE_CONFIG_BASENAME, NULL);
  return g_build_filename (HALE_SYSCONFDIR, "hale", HALE_CONFIG_BASENAME, NULL);
}

char *
hale_daemon_default_state_dir (gboolean user)
{
  const char *from_systemd;

  if (user)
    return g_build_filename (g_get_user_state_dir (), "hale", NULL);

  /* StateDirectory=hale: systemd tells us where it made it. */
  from_systemd = g_getenv ("STATE_DIRECTORY");
  if (from_systemd != NULL && *from_systemd != '\0')
    {
      g_auto (GStrv) dirs = g_strsplit (from_systemd, ":", 2);
      return g_strdup (dirs[0]);
    }
  return g_build_filename (HALE_LOCALSTATEDIR, "lib", "hale", NULL);
}

HaleDaemon *
hale_daemon_new (const HaleDaemonOptions *options)
{
  HaleDaemon *self = g_object_new (HALE_TYPE_DAEMON, NULL);

  self->user = options->user;
  self->config_path_explicit = options->config_path != NULL;
  self->config_path = options->config_path ? g_strdup (options->config_path)
                                           : hale_daemon_default_config_path (options->user);
  self->state_dir = hale_daemon_default_state_dir (options->user);
  return self;
}

/* The default file is optional: a freshly installed haled runs on the
 * built-in defaults. A file named with --config must exist. */
static HaleConfig *
load_config (HaleDaemon *self, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  HaleConfig *config = hale_config_load (self->config_path, &local_error);

  if (config != NULL)
    return config;
  if (!self->config_path_explicit
      && g_error_matches (local_error, HALE_CONFIG_ERROR, HALE_CONFIG_ERROR_NOT_FOUND))
    {
      g_message ("%s does not exist: running on the built-in defaults", self->config_path);
      return hale_config_new_default ();
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

static void
register_daemon_metrics (HaleDaemon *self)
{
  static const char *const build_labels[] = { "version", "glib", "libsoup", "gnutls", NULL };
  HaleMetricFamily *build_info;
  g_autofree char *glib_version
      = g_strdup_printf ("%u.%u.%u", glib_major_version, glib_minor_version, glib_micro_version);
  g_autofree char *soup_version = g_strdup_printf (
      "%u.%u.%u", soup_get_major_version (), soup_get_minor_version (), soup_get_micro_version ());
  const char *build_values[]
      = { PACKAGE_VERSION, glib_version, soup_version, gnutls_check_version (NULL), NULL };

  self->up = hale_metrics_add (self->metrics, HALE_METRIC_GAUGE, "up", "1 while haled is serving.",
                               NULL, NULL, NULL, 0, HALE_METRIC_FLAGS_NONE);
  build_info = hale_metrics_add (self->metrics, HALE_METRIC_GAUGE, "build_info",
                                 "haled's version and the versions of the libraries it runs on.",
                                 NULL, build_labels, NULL, 0, HALE_METRIC_FLAGS_NONE);
  hale_metric_set (build_info, build_values, 1);
  self->config_reload_ok = hale_metrics_add (
      self->metrics, HALE_METRIC_GAUGE, "config_last_reload_successful",
      "Whether the last configuration (re)load succeeded (1) or was rejected (0).", NULL, NULL,
      NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->config_reload_time = hale_metrics_add (self->metrics, HALE_METRIC_GAUGE,
                                               "config_last_reload_success_timestamp_seconds",
                                               "When the running configuration was loaded.",
                                               "seconds", NULL, NULL, 0, HALE_METRIC_FLAGS_NONE);
  hale_process_collector_add (self->metrics);
}

static void
config_loaded (HaleDaemon *self)
{
  hale_metric_set (self->config_reload_ok, NULL, 1);
  hale_metric_set (self->config_reload_time, NULL, (double)(g_get_real_time () / G_USEC_PER_SEC));
}

/* Hands every module its part of @config. The HTTP listeners go first:
 * they are the one part that can fail (a port taken), and a
 * configuration that cannot be served is rejected whole. */
static gboolean
apply_config (HaleDaemon *self, HaleConfig *config, GError **error)
{
  if (!hale_http_configure (self->http, config, error))
    return FALSE;

  hale_metrics_set_namespace (self->metrics, config->metrics_namespace);
  hale_audit_configure (self->audit, config);
  hale_cert_watch_configure (self->certs, config);
  hale_reload_configure (self->reload, config);
  /* Checks before the aggregate: it learns of removed checks from both. */
  hale_checks_configure (self->checks, config);
  hale_aggregate_configure (self->aggregate, config);
  hale_connectivity_configure (self->connectivity, config);

  g_clear_pointer (&self->config, hale_config_unref);
  self->config = hale_config_ref (config);
  return TRUE;
}

/* An audit event, as every event is: a log line at info level would be
 * dropped by GLib's writer unless G_MESSAGES_DEBUG asked for it. */
static void
audit_started (HaleDaemon *self, const char *message)
{
  const char *const extra[] = { "config_file", self->config_path, NULL };
  const HaleAuditEvent event = {
    .event = HALE_EVENT_STARTED,
    .message_id = HALE_MESSAGE_ID_STARTED,
    .priority = LOG_INFO,
    .message = message,
    .outcome = "success",
    .resource_type = "daemon",
    .resource_id = HALE_DAEMON_NAME,
    .duration_ms = -1,
    .extra = extra,
  };

  hale_audit_emit (self->audit, &event);
}

static void
on_name_acquired (HaleDaemon *self)
{
  g_autofree char *status = NULL;

  if (self->ready)
    return;
  self->ready = TRUE;

  /* The service manager answers on the bus haled is on: the system
   * manager on the system bus, systemd --user on the session bus. */
  hale_reload_set_connection (self->reload, hale_dbus_get_connection (self->dbus));
  hale_checks_set_connection (self->checks, hale_dbus_get_connection (self->dbus));

  hale_metric_set (self->up, NULL, 1);
  status = g_strdup_printf ("Serving: metrics on %s, health on %s, %u certificate(s)",
                            self->config->metrics_listen, self->config->health_listen,
                            self->config->certificates->len);
  hale_notify_ready (status);
  hale_notify_start_watchdog ();
  audit_started (self, status);
  g_signal_emit (self, signals[SIGNAL_READY], 0);
}

static void
on_name_lost (HaleDaemon *self, const char *reason)
{
  g_autofree char *message = g_strdup_printf ("cannot own %s on the %s bus: %s", HALE_DBUS_NAME,
                                              self->user ? "session" : "system", reason);

  g_warning ("%s", message);
  g_signal_emit (self, signals[SIGNAL_FATAL], 0, message);
}

gboolean
hale_daemon_start (HaleDaemon *self, GError **error)
{
  g_autoptr (HaleConfig) config = NULL;

  g_return_val_if_fail (HALE_IS_DAEMON (self), FALSE);
  g_return_val_if_fail (self->config == NULL, FALSE);

  config = load_config (self, error);
  if (config == NULL)
    return FALSE;

  self->metrics = hale_metrics_new (config->metrics_namespace);
  register_daemon_metrics (self);
  self->state = hale_state_new ();
  self->report = hale_report_new (self->state);
  self->audit = hale_audit_new (self->metrics);
  self->prober = hale_prober_new ();
  self->certs = hale_cert_watch_new (self->state, self->metrics, self->state_dir);
  hale_cert_watch_set_audit (self->certs, self->audit);
  self->connectivity
      = hale_connectivity_new (self->state, self->metrics, self->audit, self->prober);
  /* Back from degraded mode: what may have changed meanwhile is read
   * again at once. */
  g_signal_connect_swapped (self->connectivity, "recheck-requested",
                            G_CALLBACK (hale_cert_watch_recheck), self->certs);
  self->checks = hale_checks_new (self->metrics);
  self->aggregate
      = hale_aggregate_new (self->state, self->checks, self->metrics, self->audit, self->state_dir);
  self->reload = hale_reload_new (self->state, self->metrics, self->audit, self->certs,
                                  self->prober, self->state_dir);
  /* After the certificate watcher: they share the renewal counter. */
  self->rotation = hale_rotation_new (self->metrics, self->audit);
  self->authority = hale_authority_new (self->user ? HALE_AUTHORITY_USER : HALE_AUTHORITY_SYSTEM);
  hale_authority_set_metrics (self->authority, self->metrics);
  self->http = hale_http_new (self->report, self->metrics);
  hale_http_set_audit (self->http, self->audit);
  hale_aggregate_http_register (self->aggregate, self->http);
  hale_aggregate_report_install (self->aggregate, self->report);
  self->dbus = hale_dbus_new (self->state, self->report);
  self->checks_face
      = hale_checks_face_new (self->aggregate, self->checks, self->authority, self->audit,
                              hale_dbus_get_health_skeleton (self->dbus));
  self->reload_face = hale_reload_face_new (self->reload, self->authority, self->audit);
  hale_dbus_add_interface (self->dbus, hale_reload_face_get_skeleton (self->reload_face));
  self->rotation_face = hale_rotation_face_new (self->rotation, self->authority, self->audit);
  hale_dbus_add_interface (self->dbus, hale_rotation_face_get_skeleton (self->rotation_face));
  self->degraded_face = hale_degraded_face_new (self->connectivity);
  hale_dbus_add_interface (self->dbus, hale_degraded_face_get_skeleton (self->degraded_face));

  if (!apply_config (self, config, error))
    return FALSE;
  config_loaded (self);

  g_signal_connect_swapped (self->dbus, "name-acquired", G_CALLBACK (on_name_acquired), self);
  g_signal_connect_swapped (self->dbus, "name-lost", G_CALLBACK (on_name_lost), self);
  hale_dbus_start (self->dbus, self->user ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM);
  return TRUE;
}

static void
audit_config_event (HaleDaemon *self, gboolean success, const char *message, const char *error)
{
  const char *const extra[] = { "config_file", self->config_path, NULL };
  const HaleAuditEvent event = {
    .event = success ? HALE_EVENT_CONFIG_RELOADED : HALE_EVENT_CONFIG_REJECTED,
    .message_id = success ? HALE_MESSAGE_ID_CONFIG_RELOADED : HALE_MESSAGE_ID_CONFIG_REJECTED,
    .priority = success ? LOG_INFO : LOG_WARNING,
    .message = message,
    .outcome = success ? "success" : "failure",
    .resource_type = "configuration",
    .resource_id = self->config_path,
    .duration_ms = -1,
    .error = error,
    .extra = extra,
  };

  hale_audit_emit (self->audit, &event);
}

gboolean
hale_daemon_reload (HaleDaemon *self, GError **error)
{
  g_autoptr (HaleConfig) config = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (HALE_IS_DAEMON (self), FALSE);

  hale_notify_reloading ();
  /* SIGHUP is also logrotate's "reopen your files", and must be so even
   * when the new configuration is rejected. */
  hale_audit_reopen (self->audit);
  config = load_config (self, &local_error);
  if (config == NULL || !apply_config (self, config, &local_error))
    {
      g_autofree char *message = g_strdup_printf (
          "configuration rejected, the running one stays:\n%s", local_error->message);

      hale_metric_set (self->config_reload_ok, NULL, 0);
      audit_config_event (self, FALSE, message, local_error->message);
      /* READY=1 is the answer to RELOADING=1, but never before the
       * first one: that one means the bus name is ours. */
      if (self->ready)
        hale_notify_ready ("Serving (the last reload was rejected; see the journal)");
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  config_loaded (self);
  audit_config_event (self, TRUE, "configuration reloaded", NULL);
  if (self->ready)
    hale_notify_ready ("Serving");
  return TRUE;
}

void
hale_daemon_stop (HaleDaemon *self)
{
  g_return_if_fail (HALE_IS_DAEMON (self));

  hale_notify_stopping ();
  if (self->connectivity != NULL)
    hale_connectivity_stop (self->connectivity);
  if (self->up != NULL)
    hale_metric_set (self->up, NULL, 0);
}

static void
hale_daemon_dispose (GObject *object)
{
  HaleDaemon *self = HALE_DAEMON (object);

  /* Faces first, so nothing reads a source that is going away. */
  g_clear_object (&self->dbus);
  g_clear_object (&self->reload_face);
  g_clear_object (&self->checks_face);
  g_clear_object (&self->rotation_face);
  g_clear_object (&self->degraded_face);
  g_clear_object (&self->http);
  g_clear_object (&self->authority);
  g_clear_object (&self->reload);
  g_clear_object (&self->rotation);
  g_clear_object (&self->connectivity);
  if (self->aggregate != NULL)
    hale_aggregate_flush (self->aggregate);
  g_clear_object (&self->aggregate);
  g_clear_object (&self->checks);
  g_clear_object (&self->certs);
  g_clear_object (&self->prober);
  g_clear_object (&self->audit);
  g_clear_object (&self->report);
  g_clear_object (&self->state);
  g_clear_object (&self->metrics);
  G_OBJECT_CLASS (hale_daemon_parent_class)->dispose (object);
}

static void
hale_daemon_finalize (GObject *object)
{
  HaleDaemon *self = HALE_DAEMON (object);

  g_clear_pointer (&self->config, hale_config_unref);
  g_free (self->config_path);
  g_free (self->state_dir);
  G_OBJECT_CLASS (hale_daemon_parent_class)->finalize (object);
}

static void
hale_daemon_class_init (HaleDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hale_daemon_dispose;
  object_class->finalize = hale_daemon_finalize;

  /* ::ready: everything serves and the bus name is ours. */
  signals[SIGNAL_READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* ::fatal (const char *message): haled cannot go on (the bus name). */
  signals[SIGNAL_FATAL] = g_signal_new ("fatal", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
hale_daemon_init (HaleDaemon *self)
{
}
