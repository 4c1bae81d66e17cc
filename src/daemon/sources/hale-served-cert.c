/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-served-cert.c: the certificate a service serves, against the file.
 *
 * The connection is a fresh one each time, as the probes' are, and
 * hale_probe_init_tls() has already made every handshake of the process
 * a full one: a resumed TLS session would show no certificate at all.
 */
#include "config.h"

#include "hale-served-cert.h"

#include "hale-units.h"

#include <string.h>

#define DEFAULT_TLS_PORT 443
/* The first look after a (re)configuration: soon, but after the files
 * had a chance to be read. */
#define FIRST_CHECK_MS 1000

/* Fetching ---------------------------------------------------------------- */

typedef struct
{
  char *address;
  char *server_name;
  gint64 timeout;
  GCancellable *cancellable; /* ours: cancelled by the caller's and by the timeout */
  GCancellable *caller;
  gulong caller_id;
  GSource *timer;
  gboolean timed_out;
  GIOStream *tls;
} Fetch;

static void
fetch_free (Fetch *f)
{
  if (f->caller_id != 0)
    g_cancellable_disconnect (f->caller, f->caller_id);
  g_clear_object (&f->caller);
  if (f->timer != NULL)
    {
      g_source_destroy (f->timer);
      g_source_unref (f->timer);
    }
  if (f->tls != NULL)
    g_io_stream_close_async (f->tls, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&f->tls);
  g_clear_object (&f->cancellable);
  g_free (f->address);
  g_free (f->server_name);
  g_free (f);
}

static gboolean
fetch_timeout_cb (gpointer user_data)
{
  Fetch *f = user_data;

  f->timed_out = TRUE;
  g_cancellable_cancel (f->cancellable);
  return G_SOURCE_REMOVE;
}

static void
caller_cancelled_cb (GCancellable *caller, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

/* Our cancellation by the timer is a timeout to the caller, not a
 * cancellation. */
static void
fetch_fail (GTask *task, GError *error)
{
  Fetch *f = g_task_get_task_data (task);

  if (f->timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *span = hale_duration_format (f->timeout);
      g_clear_error (&error);
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no TLS handshake within %s", span);
    }
  g_task_return_error (task, error);
}

static gboolean
accept_any_cb (GTlsConnection *conn, GTlsCertificate *peer, GTlsCertificateFlags errors,
               gpointer user_data)
{
  /* What is served is compared with the file, not judged. */
  return TRUE;
}

static void
handshake_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  GTlsCertificate *peer;
  g_autofree char *pem = NULL;
  g_autoptr (GBytes) bytes = NULL;
  HaleCertInfo *info;
  gsize len;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), res, &error))
    {
      g_prefix_error (&error, "TLS handshake: ");
      fetch_fail (task, error);
      return;
    }
  peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (source));
  if (peer == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "presents no certificate");
      return;
    }
  g_object_get (peer, "certificate-pem", &pem, NULL);
  len = pem != NULL ? strlen (pem) : 0;
  bytes = g_bytes_new_take (g_steal_pointer (&pem), len);
  info = hale_cert_info_parse (bytes, &error);
  if (info == NULL)
    {
      g_prefix_error (&error, "the certificate it presents: ");
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, info, (GDestroyNotify)hale_cert_info_free);
}

static void
connect_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Fetch *f = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GSocketConnectable) identity = NULL;

  conn = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), res, &error);
  if (conn == NULL)
    {
      fetch_fail (task, error);
      return;
    }
  if (f->server_name != NULL)
    identity = g_network_address_new (f->server_name, DEFAULT_TLS_PORT);
  else
    identity = g_network_address_parse (f->address, DEFAULT_TLS_PORT, NULL);
  f->tls = g_tls_client_connection_new (G_IO_STREAM (conn), identity, &error);
  if (f->tls == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_signal_connect (f->tls, "accept-certificate", G_CALLBACK (accept_any_cb), NULL);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (f->tls), G_PRIORITY_DEFAULT, f->cancellable,
                                    handshake_cb, g_steal_pointer (&task));
}

void
hale_served_cert_fetch_async (const char *address, const char *server_name, gint64 timeout_usec,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GSocketClient) client = NULL;
  Fetch *f;

  g_return_if_fail (address != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, hale_served_cert_fetch_async);
  f = g_new0 (Fetch, 1);
  f->address = g_strdup (address);
  f->server_name = g_strdup (server_name);
  f->timeout = timeout_usec;
  f->cancellable = g_cancellable_new ();
  g_task_set_task_data (task, f, (GDestroyNotify)fetch_free);
  if (cancellable != NULL)
    {
      f->caller = g_object_ref (cancellable);
      f->caller_id = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb),
                                            f->cancellable, NULL);
    }
  f->timer = g_timeout_source_new ((guint)MAX (timeout_usec / 1000, 1));
  g_source_set_callback (f->timer, fetch_timeout_cb, f, NULL);
  g_source_attach (f->timer, g_task_get_context (task));

  client = g_socket_client_new ();
  g_socket_client_connect_to_host_async (client, address, DEFAULT_TLS_PORT, f->cancellable,
                                         connect_cb, g_steal_pointer (&task));
}

HaleCertInfo *
hale_served_cert_fetch_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Comparing --------------------------------------------------------------- */

HaleServedVerdict
hale_served_cert_compare (HaleCertWatch *certs, const HaleServiceConfig *svc,
                          const HaleCertInfo *served, char **out_why)
{
  g_autoptr (GPtrArray) list = hale_cert_watch_list (certs);
  const HaleWatchedCertificate *same_subject = NULL, *only = NULL, *which;
  const HaleCertInfo *info;
  gboolean unread = FALSE;
  guint n = 0;

  for (guint i = 0; i < list->len; i++)
    {
      const HaleWatchedCertificate *w = g_ptr_array_index (list, i);

      if (svc->reload_on_change.names != NULL
          && !g_strv_contains ((const char *const *)svc->reload_on_change.names, w->type))
        continue;
      n++;
      only = w;
      info = hale_cert_watch_get_info (certs, w->name);
      if (info == NULL)
        {
          unread = TRUE;
          continue;
        }
      if (g_str_equal (info->fingerprint_sha256, served->fingerprint_sha256))
        return HALE_SERVED_CURRENT;
      if (same_subject == NULL && g_str_equal (info->subject, served->subject))
        same_subject = w;
    }
  if (unread)
    return HALE_SERVED_UNKNOWN;

  /* Which file it should have come from: the one for the same name,
   * or the only one there is. */
  which = same_subject != NULL ? same_subject : (n == 1 ? only : NULL);
  info = which != NULL ? hale_cert_watch_get_info (certs, which->name) : NULL;
  if (info != NULL && !g_str_equal (info->serial, served->serial))
    *out_why = g_strdup_printf ("serves serial %s, the file has %s (%s)", served->serial,
                                info->serial, which->path);
  else if (info != NULL)
    *out_why = g_strdup_printf ("serves serial %s, as the file has, but not its certificate (%s)",
                                served->serial, which->path);
  else
    *out_why = g_strdup_printf ("serves serial %s (%s), which no file of %s has", served->serial,
                                served->subject, svc->name);
  return HALE_SERVED_OTHER;
}

/* Checking every CheckInterval --------------------------------------------- */

typedef struct
{
  HaleServedCert *self; /* unowned: targets live inside it */
  char *service;
  GSource *timer;
  GCancellable *cancellable; /* of the fetch in flight */
} Target;

struct _HaleServedCert
{
  GObject parent_instance;

  HaleCertWatch *certs;
  HaleConfig *config;
  GHashTable *targets; /* service name -> Target */
  GHashTable *current; /* service name -> GINT_TO_POINTER (1 + current): what the series says */
  HaleMetricFamily *m_current;
};

G_DEFINE_TYPE (HaleServedCert, hale_served_cert, G_TYPE_OBJECT)

static void
target_free (Target *t)
{
  if (t->timer != NULL)
    {
      g_source_destroy (t->timer);
      g_source_unref (t->timer);
    }
  if (t->cancellable != NULL)
    {
      g_cancellable_cancel (t->cancellable);
      g_object_unref (t->cancellable);
    }
  g_free (t->service);
  g_free (t);
}

void
hale_served_cert_record (HaleServedCert *self, const char *service, gboolean current,
                         const char *why)
{
  const char *labels[] = { service, NULL };
  gpointer was = g_hash_table_lookup (self->current, service);

  g_return_if_fail (HALE_IS_SERVED_CERT (self));

  hale_metric_set (self->m_current, labels, current ? 1 : 0);
  if (was == GINT_TO_POINTER (1 + current))
    return;
  if (current)
    g_message ("%s serves its current certificate%s", service, was != NULL ? " again" : "");
  else
    g_warning ("%s does not serve its current certificate: it %s", service, why);
  g_hash_table_replace (self->current, g_strdup (service), GINT_TO_POINTER (1 + current));
}

static void
target_check (Target *t);

static void
target_fetched_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleCertInfo) served = hale_served_cert_fetch_finish (res, &error);
  g_autofree char *why = NULL;
  const HaleServiceConfig *svc;
  Target *t;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* reconfigured or gone: the target may be freed */
  t = user_data;
  g_clear_object (&t->cancellable);
  svc = hale_config_find_service (t->self->config, t->service);
  if (served == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("cannot be asked at TLSAddress %s: %s",
                                              svc->tls_address, error->message);
      hale_served_cert_record (t->self, t->service, FALSE, msg);
      return;
    }
  switch (hale_served_cert_compare (t->self->certs, svc, served, &why))
    {
      case HALE_SERVED_CURRENT:
        hale_served_cert_record (t->self, t->service, TRUE, NULL);
        break;
      case HALE_SERVED_OTHER:
        hale_served_cert_record (t->self, t->service, FALSE, why);
        break;
      case HALE_SERVED_UNKNOWN:
        break; /* the next look, when the files are read */
    }
}

static void
target_check (Target *t)
{
  const HaleServiceConfig *svc = hale_config_find_service (t->self->config, t->service);

  if (t->cancellable != NULL)
    return; /* the one in flight answers */
  t->cancellable = g_cancellable_new ();
  hale_served_cert_fetch_async (svc->tls_address, svc->tls_server_name, t->self->config->timeout,
                                t->cancellable, target_fetched_cb, t);
}

static gboolean
target_timer_cb (gpointer user_data)
{
  Target *t = user_data;
  guint interval_ms = (guint)MAX (t->self->config->check_interval / 1000, 1);

  g_source_unref (t->timer);
  t->timer = g_timeout_source_new (interval_ms);
  g_source_set_callback (t->timer, target_timer_cb, t, NULL);
  g_source_attach (t->timer, NULL);
  target_check (t);
  return G_SOURCE_REMOVE;
}

void
hale_served_cert_configure (HaleServedCert *self, HaleConfig *config)
{
  GHashTableIter iter;
  gpointer key;

  g_return_if_fail (HALE_IS_SERVED_CERT (self));

  hale_config_ref (config);
  g_clear_pointer (&self->config, hale_config_unref);
  self->config = config;
  g_hash_table_remove_all (self->targets);

  /* Not checked any more: no series that would go stale. */
  g_hash_table_iter_init (&iter, self->current);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      const HaleServiceConfig *svc = hale_config_find_service (config, key);
      if (svc == NULL || svc->tls_address == NULL)
        {
          const char *labels[] = { key, NULL };
          hale_metric_remove (self->m_current, labels);
          g_hash_table_iter_remove (&iter);
        }
    }

  for (guint i = 0; i < config->services->len; i++)
    {
      const HaleServiceConfig *svc = g_ptr_array_index (config->services, i);
      Target *t;

      if (svc->tls_address == NULL)
        continue;
      t = g_new0 (Target, 1);
      t->self = self;
      t->service = g_strdup (svc->name);
      t->timer = g_timeout_source_new (
          (guint)MIN ((gint64)FIRST_CHECK_MS, MAX (config->check_interval / 1000, 1)));
      g_source_set_callback (t->timer, target_timer_cb, t, NULL);
      g_source_attach (t->timer, NULL);
      g_hash_table_insert (self->targets, t->service, t);
    }
}

HaleServedCert *
hale_served_cert_new (HaleMetrics *metrics, HaleCertWatch *certs)
{
  static const char *const labels[] = { "service", NULL };
  HaleServedCert *self;

  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);
  g_return_val_if_fail (HALE_IS_CERT_WATCH (certs), NULL);

  self = g_object_new (HALE_TYPE_SERVED_CERT, NULL);
  self->certs = g_object_ref (certs);
  self->m_current = hale_metrics_add (
      metrics, HALE_METRIC_GAUGE, "service_serves_current_certificate",
      "1 when the service's TLSAddress serves the leaf of its certificate file, else 0", NULL,
      labels, NULL, 0, HALE_METRIC_FLAGS_NONE);
  return self;
}

static void
hale_served_cert_dispose (GObject *object)
{
  HaleServedCert *self = HALE_SERVED_CERT (object);

  g_hash_table_remove_all (self->targets);
  g_clear_object (&self->certs);
  g_clear_pointer (&self->config, hale_config_unref);

  G_OBJECT_CLASS (hale_served_cert_parent_class)->dispose (object);
}

static void
hale_served_cert_finalize (GObject *object)
{
  HaleServedCert *self = HALE_SERVED_CERT (object);

  g_hash_table_unref (self->targets);
  g_hash_table_unref (self->current);

  G_OBJECT_CLASS (hale_served_cert_parent_class)->finalize (object);
}

static void
hale_served_cert_class_init (HaleServedCertClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hale_served_cert_dispose;
  object_class->finalize = hale_served_cert_finalize;
}

static void
hale_served_cert_init (HaleServedCert *self)
{
  self->targets
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)target_free);
  self->current = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}
