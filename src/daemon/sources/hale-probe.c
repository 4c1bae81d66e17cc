/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-probe.c: one HTTP(S) GET that says whether a thing is up.
 *
 * Every probe is a fresh connection (SOUP_MESSAGE_NEW_CONNECTION, and
 * "Connection: close" so libsoup keeps no idle socket afterwards): a
 * kept-alive connection would hide a broken TLS or DNS. The whole probe,
 * from resolving the name to the end of the body, is bounded by one
 * deadline that cancels it (one timer for all probes: a source per probe
 * would make every main loop iteration walk a thousand of them); the
 * body is read and thrown away, at most
 * HALE_PROBE_BODY_CAP bytes, so a target that streams forever costs a
 * fixed amount of memory and time.
 *
 * Probes verified against the system's CAs share a pool of SoupSessions;
 * each distinct CAFile gets a pool of its own whose sessions carry a
 * GTlsFileDatabase, kept until the file changes. A pool rather than one
 * session because libsoup 3.2 looks a message up in its session's queue
 * by walking it: with a thousand probes in one session every step of
 * every probe walks a thousand entries, and a round costs O(n^2) (4.5 ms
 * of CPU per probe at 1,000 endpoints, and timeouts). Lanes of at most
 * LANE_DEPTH probes keep that walk short.
 *
 * Every handshake is a full one, verified: hale_probe_init_tls() keeps
 * glib-networking from resuming TLS sessions (see hale-probe.h).
 *
 * Probes go directly to the target, never through a proxy (as
 * blackbox_exporter's http prober does unless told otherwise): what is
 * probed is the path hale's host has to the target.
 *
 * Failure reasons are short, stable words an operator can grep for and
 * alert on; docs/connectivity.md lists them.
 */
#include "config.h"

#include "hale-probe.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>

/* Read and discarded; a health page is a few bytes, 64 KiB is plenty to
 * see that the target answers without buffering what it sends. */
#define HALE_PROBE_BODY_CAP (64 * 1024)
#define HALE_PROBE_READ_SIZE (16 * 1024)
#define HALE_PROBE_DEFAULT_TIMEOUT (10 * G_USEC_PER_SEC)

/* Probes in flight per session before another session is opened, and
 * sessions per pool before lanes take more (see above). */
#define LANE_DEPTH 16
#define MAX_LANES 128

typedef struct
{
  SoupSession *session;
  guint in_flight;
} Lane;

typedef struct
{
  GPtrArray *lanes;       /* Lane, shared with the probes using them */
  GTlsDatabase *database; /* NULL: the system's CAs */
  gint64 mtime;           /* of the CA file when its database was read */
} Pool;

struct _HaleProber
{
  GObject parent_instance;

  Pool *system;      /* system CAs */
  GHashTable *pools; /* CA file path -> Pool */

  /* Where every probe reads the body it throws away. Libsoup's body
   * streams are pollable, so reads happen on this thread, one at a time;
   * one buffer rather than one per probe spares a thousand probes in
   * flight 16 MiB, and the heap the fragmentation that came with it. */
  guint8 discard[HALE_PROBE_READ_SIZE];

  GSequence *deadlines; /* Probe, borrowed, by deadline */
  GSource *deadline_timer;
};

G_DEFINE_TYPE (HaleProber, hale_prober, G_TYPE_OBJECT)

typedef struct
{
  Lane *lane;
  SoupMessage *msg;
  GCancellable *cancellable; /* ours: cancelled by the timer or the caller's */
  GCancellable *caller;
  gulong caller_handler;
  GSequenceIter *deadline_iter; /* NULL once off the deadline list */
  gint64 deadline;              /* monotonic */
  gboolean timed_out;
  gboolean capped;
  GInputStream *body;
  guint8 *buffer; /* the prober's discard buffer */
  gsize body_read;
  guint status_min;
  guint status_max;
  GTlsCertificateFlags tls_errors;
  gint64 start; /* monotonic */
  HaleProbeResult *result;
} Probe;

static void
probe_free (gpointer data)
{
  Probe *p = data;

  if (p->caller_handler != 0)
    g_cancellable_disconnect (p->caller, p->caller_handler);
  if (p->deadline_iter != NULL)
    g_sequence_remove (p->deadline_iter);
  g_clear_object (&p->caller);
  g_clear_object (&p->cancellable);
  g_clear_object (&p->body);
  g_clear_object (&p->msg);
  if (p->lane != NULL)
    {
      p->lane->in_flight--;
      g_rc_box_release (p->lane);
    }
  g_clear_pointer (&p->result, hale_probe_result_free);
  g_free (p);
}

void
hale_probe_result_free (HaleProbeResult *result)
{
  if (result == NULL)
    return;
  g_free (result->reason);
  g_free (result);
}

static HaleProbeResult *
probe_result_new (void)
{
  HaleProbeResult *r = g_new0 (HaleProbeResult, 1);

  r->dns = r->connect = r->tls = r->first_byte = -1;
  return r;
}

/* ---- reasons ------------------------------------------------------------ */

static char *
tls_reason (GTlsCertificateFlags flags)
{
  static const struct
  {
    GTlsCertificateFlags flag;
    const char *word;
    const char *headline;
  } table[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, "unknown-ca", "certificate not trusted" },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, "bad-identity", "certificate does not match the host" },
    { G_TLS_CERTIFICATE_EXPIRED, "expired", "certificate expired" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, "not-activated", "certificate not yet valid" },
    { G_TLS_CERTIFICATE_REVOKED, "revoked", "certificate revoked" },
    { G_TLS_CERTIFICATE_INSECURE, "insecure", "certificate insecure" },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, "generic-error", "certificate rejected" },
  };
  g_autoptr (GString) words = g_string_new (NULL);
  const char *headline = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (flags & table[i].flag)
      {
        if (headline == NULL)
          headline = table[i].headline;
        if (words->len > 0)
          g_string_append (words, ", ");
        g_string_append (words, table[i].word);
      }
  if (headline == NULL)
    return g_strdup ("tls: certificate rejected");
  return g_strdup_printf ("tls: %s (%s)", headline, words->str);
}

static char *
error_reason (Probe *p, const GError *error)
{
  if (p->timed_out)
    return g_strdup ("timeout");
  if (p->tls_errors != 0)
    return tls_reason (p->tls_errors);
  if (error->domain == G_TLS_ERROR)
    {
      if (error->code == G_TLS_ERROR_BAD_CERTIFICATE)
        return tls_reason (soup_message_get_tls_peer_certificate_errors (p->msg));
      return g_strdup_printf ("tls: handshake failed: %s", error->message);
    }
  if (error->domain == G_RESOLVER_ERROR)
    return g_strdup_printf ("dns: %s", error->message);
  if (error->domain == G_IO_ERROR)
    switch (error->code)
      {
        case G_IO_ERROR_CONNECTION_REFUSED:
          return g_strdup ("connection refused");
        case G_IO_ERROR_TIMED_OUT:
          return g_strdup ("timeout");
        case G_IO_ERROR_HOST_UNREACHABLE:
          return g_strdup ("host unreachable");
        case G_IO_ERROR_NETWORK_UNREACHABLE:
          return g_strdup ("network unreachable");
        case G_IO_ERROR_CONNECTION_CLOSED: /* also G_IO_ERROR_BROKEN_PIPE */
          return g_strdup ("connection closed");
        default:
          break;
      }
  return g_strdup_printf ("error: %s", error->message);
}

/* ---- completion --------------------------------------------------------- */

static gint64
span (guint64 from, guint64 to)
{
  if (from == 0 || to == 0 || to < from)
    return -1;
  return (gint64)(to - from);
}

static void
fill_phases (HaleProbeResult *r, SoupMessage *msg)
{
  SoupMessageMetrics *m = soup_message_get_metrics (msg);
  guint64 tls_start;

  if (m == NULL)
    return;
  tls_start = soup_message_metrics_get_tls_start (m);
  r->dns = span (soup_message_metrics_get_dns_start (m), soup_message_metrics_get_dns_end (m));
  /* connect_end comes after the TLS handshake: split it there. */
  r->connect = span (soup_message_metrics_get_connect_start (m),
                     tls_start != 0 ? tls_start : soup_message_metrics_get_connect_end (m));
  r->tls = tls_start != 0 ? span (tls_start, soup_message_metrics_get_connect_end (m)) : -1;
  r->first_byte = span (soup_message_metrics_get_request_start (m),
                        soup_message_metrics_get_response_start (m));
}

/* @error: what ended the probe early, or NULL. */
static void
probe_complete (GTask *task, const GError *error)
{
  Probe *p = g_task_get_task_data (task);
  HaleProbeResult *r = p->result;

  r->duration = g_get_monotonic_time () - p->start;
  r->finished_at = g_get_real_time ();
  r->http_status = p->msg != NULL ? soup_message_get_status (p->msg) : 0;
  /* libsoup reports its own failures as status 0 or below 100. */
  if (r->http_status < 100)
    r->http_status = 0;
  if (p->msg != NULL)
    fill_phases (r, p->msg);

  if (error != NULL && !p->capped)
    {
      r->success = FALSE;
      r->reason = error_reason (p, error);
    }
  else if (r->http_status < p->status_min || r->http_status > p->status_max)
    {
      r->success = FALSE;
      r->reason = g_strdup_printf ("http status %u", r->http_status);
    }
  else
    r->success = TRUE;

  /* Stop the timer and drop the link to the caller now: the task's data
   * lives until its callback returns. */
  if (p->deadline_iter != NULL)
    {
      g_sequence_remove (p->deadline_iter);
      p->deadline_iter = NULL;
    }
  g_task_return_pointer (task, g_steal_pointer (&p->result),
                         (GDestroyNotify)hale_probe_result_free);
  g_object_unref (task);
}

static void
body_closed (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;

  /* A stream closed early reports nothing useful: the probe has
   * already decided. */
  g_input_stream_close_finish (G_INPUT_STREAM (source), res, NULL);
  probe_complete (g_steal_pointer (&task), NULL);
}

static void
body_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Probe *p = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);

  if (n < 0)
    {
      probe_complete (task, error);
      return;
    }
  p->body_read += n;
  if (n > 0 && p->body_read < HALE_PROBE_BODY_CAP)
    {
      g_input_stream_read_async (p->body, p->buffer, HALE_PROBE_READ_SIZE, G_PRIORITY_DEFAULT,
                                 p->cancellable, body_read, task);
      return;
    }
  if (n > 0)
    {
      /* Enough: abort the rest rather than let a close drain it. */
      p->capped = TRUE;
      g_cancellable_cancel (p->cancellable);
    }
  g_input_stream_close_async (p->body, G_PRIORITY_DEFAULT, p->cancellable, body_closed, task);
}

static void
sent (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Probe *p = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  p->body = soup_session_send_finish (SOUP_SESSION (source), res, &error);
  if (p->body == NULL)
    {
      probe_complete (task, error);
      return;
    }
  p->buffer = HALE_PROBER (g_task_get_source_object (task))->discard;
  g_input_stream_read_async (p->body, p->buffer, HALE_PROBE_READ_SIZE, G_PRIORITY_DEFAULT,
                             p->cancellable, body_read, task);
}

static gint
compare_deadline (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Probe *pa = a, *pb = b;

  return pa->deadline < pb->deadline ? -1 : pa->deadline > pb->deadline ? 1 : 0;
}

/* A source that is only a ready time (a GTimeoutSource would reset it
 * after each dispatch). */
static gboolean
deadline_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  return callback (user_data);
}

static GSourceFuncs deadline_source_funcs = {
  .dispatch = deadline_dispatch,
};

static void
deadline_rearm (HaleProber *self)
{
  GSequenceIter *first = g_sequence_get_begin_iter (self->deadlines);

  if (g_sequence_iter_is_end (first))
    g_source_set_ready_time (self->deadline_timer, -1);
  else
    g_source_set_ready_time (self->deadline_timer, ((Probe *)g_sequence_get (first))->deadline);
}

/* Cancels every probe whose time is up. Cancelling completes nothing at
 * once (the callbacks come from the main loop), so the list is stable. */
static gboolean
deadline_due (gpointer user_data)
{
  HaleProber *self = user_data;
  gint64 now = g_get_monotonic_time ();

  for (;;)
    {
      GSequenceIter *first = g_sequence_get_begin_iter (self->deadlines);
      Probe *p;

      if (g_sequence_iter_is_end (first))
        break;
      p = g_sequence_get (first);
      if (p->deadline > now)
        break;
      g_sequence_remove (first);
      p->deadline_iter = NULL;
      p->timed_out = TRUE;
      g_cancellable_cancel (p->cancellable);
    }
  deadline_rearm (self);
  return G_SOURCE_CONTINUE;
}

static void
caller_cancelled (GCancellable *caller, gpointer user_data)
{
  GCancellable *ours = user_data;

  g_cancellable_cancel (ours);
}

static gboolean
accept_certificate (SoupMessage *msg, GTlsCertificate *certificate, GTlsCertificateFlags errors,
                    gpointer user_data)
{
  Probe *p = user_data;

  /* Never accept: only remember why, for the reason. */
  p->tls_errors = errors;
  return FALSE;
}

/* ---- sessions ----------------------------------------------------------- */

static SoupSession *
session_new (GTlsDatabase *database)
{
  g_autofree char *agent = g_strdup_printf ("haled/%s", PACKAGE_VERSION);
  SoupSession *session = g_object_new (
      SOUP_TYPE_SESSION, "max-conns", LANE_DEPTH * 4, "max-conns-per-host", LANE_DEPTH * 4,
      "user-agent", agent, "proxy-resolver", NULL, "timeout", 0, "idle-timeout", 0, NULL);

  if (database != NULL)
    soup_session_set_tls_database (session, database);
  return session;
}

static void
lane_clear (gpointer data)
{
  Lane *lane = data;

  g_object_unref (lane->session);
}

static void
lane_release (gpointer data)
{
  g_rc_box_release_full (data, lane_clear);
}

static Pool *
pool_new (GTlsDatabase *database, gint64 mtime)
{
  Pool *pool = g_new0 (Pool, 1);

  pool->lanes = g_ptr_array_new_with_free_func (lane_release);
  pool->database = database != NULL ? g_object_ref (database) : NULL;
  pool->mtime = mtime;
  return pool;
}

static void
pool_free (gpointer data)
{
  Pool *pool = data;

  g_ptr_array_unref (pool->lanes);
  g_clear_object (&pool->database);
  g_free (pool);
}

/* The least busy lane, or a new one when all are LANE_DEPTH deep. */
static Lane *
pool_pick (Pool *pool)
{
  Lane *best = NULL;

  for (guint i = 0; i < pool->lanes->len; i++)
    {
      Lane *lane = g_ptr_array_index (pool->lanes, i);
      if (best == NULL || lane->in_flight < best->in_flight)
        best = lane;
    }
  if (best == NULL || (best->in_flight >= LANE_DEPTH && pool->lanes->len < MAX_LANES))
    {
      best = g_rc_box_new0 (Lane);
      best->session = session_new (pool->database);
      g_ptr_array_add (pool->lanes, best);
    }
  return best;
}

static gint64
file_mtime (const char *path)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return -1;
  return (gint64)st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
}

/* The pool for @ca_file, made or remade when the file changed. A stat
 * per probe is cheap next to a TCP handshake. */
static Pool *
pool_for (HaleProber *self, const char *ca_file, char **out_reason)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) database = NULL;
  Pool *pool;
  gint64 mtime;

  if (ca_file == NULL)
    return self->system;

  mtime = file_mtime (ca_file);
  pool = g_hash_table_lookup (self->pools, ca_file);
  if (pool != NULL && pool->mtime == mtime && mtime >= 0)
    return pool;

  database = g_tls_file_database_new (ca_file, &error);
  if (database == NULL)
    {
      g_hash_table_remove (self->pools, ca_file);
      *out_reason = g_strdup_printf ("tls: cannot read CA file %s: %s", ca_file, error->message);
      return NULL;
    }
  /* Probes in flight keep their lanes of the old pool. */
  pool = pool_new (database, mtime);
  g_hash_table_replace (self->pools, g_strdup (ca_file), pool);
  return pool;
}

/* ---- process-wide TLS ---------------------------------------------------- */

#define PRIORITY_VARIABLE "G_TLS_GNUTLS_PRIORITY"
#define NO_TICKETS "%NO_TICKETS"

static gboolean
priority_has_no_tickets (const char *priority)
{
  g_auto (GStrv) words = g_strsplit (priority, ":", -1);

  for (guint i = 0; words[i] != NULL; i++)
    if (g_ascii_strcasecmp (g_strstrip (words[i]), NO_TICKETS) == 0)
      return TRUE;
  return FALSE;
}

void
hale_probe_init_tls (void)
{
  const char *priority = g_getenv (PRIORITY_VARIABLE);
  g_autofree char *with = NULL;

  /* An empty value would be taken as a priority string, and rejected. */
  if (priority == NULL || *priority == '\0')
    with = g_strdup ("NORMAL:%COMPAT:" NO_TICKETS);
  else if (!priority_has_no_tickets (priority))
    with = g_strconcat (priority, ":" NO_TICKETS, NULL);
  else
    return;
  g_setenv (PRIORITY_VARIABLE, with, TRUE);
}

/* ---- the probe ---------------------------------------------------------- */

void
hale_prober_probe_async (HaleProber *self, const char *url, const HaleProbeOptions *options,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  GTask *task;
  Probe *p;
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  Pool *pool;
  const char *scheme;
  gint64 timeout;

  g_return_if_fail (HALE_IS_PROBER (self));
  g_return_if_fail (url != NULL);
  g_return_if_fail (options != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hale_prober_probe_async);

  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, &error);
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL
      || (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "\"%s\" is not an http:// or https:// URL%s%s", url,
                               error != NULL ? ": " : "", error != NULL ? error->message : "");
      g_object_unref (task);
      return;
    }

  p = g_new0 (Probe, 1);
  p->start = g_get_monotonic_time ();
  p->result = probe_result_new ();
  p->status_min = options->status_min;
  p->status_max = options->status_max;
  if (p->status_min == 0 && p->status_max == 0)
    {
      p->status_min = 200;
      p->status_max = 299;
    }
  g_task_set_task_data (task, p, probe_free);

  pool = pool_for (self, options->ca_file, &reason);
  if (pool == NULL)
    {
      p->result->success = FALSE;
      p->result->reason = g_steal_pointer (&reason);
      p->result->finished_at = g_get_real_time ();
      g_task_return_pointer (task, g_steal_pointer (&p->result),
                             (GDestroyNotify)hale_probe_result_free);
      g_object_unref (task);
      return;
    }

  p->msg = soup_message_new_from_uri (SOUP_METHOD_GET, uri);
  soup_message_add_flags (p->msg, SOUP_MESSAGE_NEW_CONNECTION | SOUP_MESSAGE_COLLECT_METRICS);
  soup_message_headers_replace (soup_message_get_request_headers (p->msg), "Connection", "close");
  g_signal_connect (p->msg, "accept-certificate", G_CALLBACK (accept_certificate), p);

  p->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      p->caller = g_object_ref (cancellable);
      p->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled),
                                                 p->cancellable, NULL);
    }

  timeout = options->timeout > 0 ? options->timeout : HALE_PROBE_DEFAULT_TIMEOUT;
  p->deadline = p->start + timeout;
  p->deadline_iter = g_sequence_insert_sorted (self->deadlines, p, compare_deadline, NULL);
  if (g_sequence_iter_is_begin (p->deadline_iter))
    deadline_rearm (self);

  p->lane = g_rc_box_acquire (pool_pick (pool));
  p->lane->in_flight++;
  soup_session_send_async (p->lane->session, p->msg, G_PRIORITY_DEFAULT, p->cancellable, sent,
                           task);
}

HaleProbeResult *
hale_prober_probe_finish (HaleProber *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- object ------------------------------------------------------------- */

HaleProber *
hale_prober_new (void)
{
  return g_object_new (HALE_TYPE_PROBER, NULL);
}

static void
hale_prober_finalize (GObject *object)
{
  HaleProber *self = HALE_PROBER (object);

  g_hash_table_unref (self->pools);
  pool_free (self->system);
  g_source_destroy (self->deadline_timer);
  g_source_unref (self->deadline_timer);
  g_sequence_free (self->deadlines);
  G_OBJECT_CLASS (hale_prober_parent_class)->finalize (object);
}

static void
hale_prober_class_init (HaleProberClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hale_prober_finalize;
}

static void
hale_prober_init (HaleProber *self)
{
  self->system = pool_new (NULL, 0);
  self->deadlines = g_sequence_new (NULL);
  self->deadline_timer = g_source_new (&deadline_source_funcs, sizeof (GSource));
  g_source_set_ready_time (self->deadline_timer, -1);
  g_source_set_callback (self->deadline_timer, deadline_due, self, NULL);
  g_source_set_static_name (self->deadline_timer, "[hale] probe deadlines");
  g_source_attach (self->deadline_timer, g_main_context_get_thread_default ());
  self->pools = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, pool_free);
}
