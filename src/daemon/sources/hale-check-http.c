/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-check-http.c: the http kind of check.
 *
 * A GET on a fresh connection (as the probes do: a kept-alive one would
 * hide a broken listener), never through a proxy, bounded by Timeout=;
 * the body is read up to BODY_CAP and judged by hale-check-answer.
 *
 * A URL= with several URLs is one service's instances (FT's pods): each
 * is asked at once, on its own connection and timeout, and the check
 * passes when every one does. The last answer of each is kept (up to
 * ANSWER_KEEP), for /__pod-individual-health.
 */
#include "config.h"

#include "hale-check-answer.h"
#include "hale-check-kind.h"

#include <libsoup/soup.h>

/* An answer larger than this is a failed check: health pages are a few
 * KiB, and this bounds json-glib's work (it parses all of it). */
#define BODY_CAP (1024 * 1024)
#define BODY_CAP_TEXT "1 MiB"
#define READ_SIZE (16 * 1024)
#define ANSWER_KEEP (64 * 1024)

typedef struct
{
  HaleCheck parent;
  SoupSession *session;
  gint64 ca_mtime;
  GHashTable *answers; /* instance name -> HaleCheckAnswer: its last answer */
} HttpCheck;

/* The instances of one run; a run of one URL has none. */
typedef struct
{
  HaleCheck *c;
  GCancellable *cancellable; /* c->running: the run */
  guint pending;
  guint n;
  gboolean *ok;
  guint *severity;
  char **message;
  GVariant **details;
} Group;

typedef struct
{
  HaleCheck *c;
  Group *group; /* NULL: the check's only URL */
  guint index;  /* in group */
  char *url;
  char *instance;            /* "NAME@HOST:PORT" */
  GCancellable *cancellable; /* c->running; in a group, our own, cancelled with it */
  gulong group_cancel_id;
  SoupMessage *msg;
  GInputStream *body;
  GByteArray *data;
  GSource *timeout_source;
  gboolean timed_out;
  guint8 buffer[READ_SIZE];
} HttpRun;

static void
http_run_free (HttpRun *run)
{
  if (run->group_cancel_id != 0)
    g_cancellable_disconnect (run->group->cancellable, run->group_cancel_id);
  g_free (run->url);
  g_free (run->instance);
  hale_check_source_clear (&run->timeout_source);
  g_clear_object (&run->body);
  g_clear_object (&run->msg);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->data, g_byte_array_unref);
  hale_check_unref (run->c);
  g_free (run);
}

static char *
error_reason (HttpRun *run, const GError *error)
{
  if (run->timed_out)
    {
      g_autofree char *span = hale_check_format_span (run->c->timeout);
      return g_strdup_printf ("timeout: no answer within %s", span);
    }
  if (error->domain == G_TLS_ERROR)
    return g_strdup_printf ("tls: %s", error->message);
  if (error->domain == G_RESOLVER_ERROR)
    return g_strdup_printf ("dns: %s", error->message);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_strdup ("connection refused");
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
    return g_strdup ("connection closed");
  return g_strdup_printf ("error: %s", error->message);
}

static void
http_details_begin (HttpRun *run, GVariantBuilder *b)
{
  guint status = run->msg != NULL ? soup_message_get_status (run->msg) : 0;

  g_variant_builder_init (b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (b, "{sv}", "url", g_variant_new_string (run->url));
  /* libsoup says its own failures with codes below 100. */
  g_variant_builder_add (b, "{sv}", "http_status",
                         g_variant_new_uint32 (status >= 100 ? status : 0));
}

static void
answer_free (gpointer data)
{
  HaleCheckAnswer *a = data;

  g_clear_pointer (&a->body, g_bytes_unref);
  g_free (a->content_type);
  g_free (a);
}

/* What @run's instance said last, for /__pod-individual-health. */
static void
keep_answer (HttpRun *run, gboolean answered)
{
  HttpCheck *h = (HttpCheck *)run->c;
  HaleCheckAnswer *a = g_new0 (HaleCheckAnswer, 1);

  if (answered)
    {
      SoupMessageHeaders *headers = soup_message_get_response_headers (run->msg);
      a->http_status = soup_message_get_status (run->msg);
      a->content_type = g_strdup (soup_message_headers_get_one (headers, "Content-Type"));
      a->body = g_bytes_new (run->data->data, MIN (run->data->len, ANSWER_KEEP));
    }
  if (h->answers == NULL)
    h->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, answer_free);
  g_hash_table_replace (h->answers, g_strdup (run->instance), a);
}

static void
group_free (Group *g)
{
  for (guint i = 0; i < g->n; i++)
    {
      g_free (g->message[i]);
      g_clear_pointer (&g->details[i], g_variant_unref);
    }
  g_free (g->ok);
  g_free (g->severity);
  g_free (g->message);
  g_free (g->details);
  g_object_unref (g->cancellable);
  hale_check_unref (g->c);
  g_free (g);
}

/* Every instance answered (or failed): the check passes when all pass,
 * and fails as badly as the worst. */
static void
group_finish (Group *g)
{
  g_autoptr (GString) message = g_string_new (NULL);
  GVariantBuilder b, instances;
  gboolean ok = TRUE;
  guint severity = 2, failed = 0;

  g_variant_builder_init (&instances, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < g->n; i++)
    {
      g_variant_builder_add_value (&instances, g->details[i]);
      if (g->ok[i])
        continue;
      ok = FALSE;
      severity = MIN (severity, g->severity[i]);
      failed++;
    }
  if (ok)
    g_string_printf (message, "all %u instances healthy", g->n);
  else
    {
      g_string_printf (message, "%u of %u instances unhealthy", failed, g->n);
      for (guint i = 0, shown = 0; i < g->n; i++)
        if (!g->ok[i])
          {
            g_autoptr (GVariant) name = g_variant_lookup_value (g->details[i], "instance", NULL);
            g_string_append_printf (message, "%s %s: %s", shown++ ? ";" : ":",
                                    g_variant_get_string (name, NULL), g->message[i]);
          }
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "url", g_variant_new_string (g->c->url));
  g_variant_builder_add (&b, "{sv}", "instances", g_variant_builder_end (&instances));
  if (hale_check_is_current (g->c, g->cancellable))
    hale_check_finish (g->c, ok, ok ? 1 : severity, message->str, g_variant_builder_end (&b));
  else
    g_variant_builder_clear (&b);
  group_free (g);
}

/* One URL's outcome: the check's, or its instance's in the group.
 * Takes @details (floating). */
static void
http_done (HttpRun *run, gboolean ok, guint severity, const char *message, GVariant *details)
{
  Group *g = run->group;

  if (g == NULL)
    {
      /* Abandoned runs (the check removed or reset) say nothing. */
      if (hale_check_is_current (run->c, run->cancellable))
        hale_check_finish (run->c, ok, severity, message, details);
      else
        g_variant_unref (g_variant_ref_sink (details));
      return;
    }
  /* The group may go with the last of its instances. */
  g_cancellable_disconnect (g->cancellable, run->group_cancel_id);
  run->group_cancel_id = 0;
  run->group = NULL;
  g->ok[run->index] = ok;
  g->severity[run->index] = severity;
  g->message[run->index] = g_strdup (message);
  g->details[run->index] = g_variant_ref_sink (details);
  if (--g->pending == 0)
    group_finish (g);
}

static GVariant *
http_details_end (HttpRun *run, GVariantBuilder *b, gboolean ok, guint severity,
                  const char *message)
{
  if (run->group != NULL)
    {
      g_variant_builder_add (b, "{sv}", "instance", g_variant_new_string (run->instance));
      g_variant_builder_add (b, "{sv}", "ok", g_variant_new_boolean (ok));
      g_variant_builder_add (b, "{sv}", "severity",
                             g_variant_new_uint32 (MAX (run->c->severity, CLAMP (severity, 1, 2))));
      g_variant_builder_add (b, "{sv}", "message", g_variant_new_string (message ? message : ""));
    }
  return g_variant_builder_end (b);
}

/* The run failed before an answer could be judged. */
static void
http_fail (HttpRun *run, const char *reason)
{
  GVariantBuilder b;

  keep_answer (run, FALSE);
  http_details_begin (run, &b);
  g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (reason));
  http_done (run, FALSE, 1, reason, http_details_end (run, &b, FALSE, 1, reason));
  /* Stop whatever libsoup still does for it (a body not read to its
   * end would otherwise be drained on close). */
  g_cancellable_cancel (run->cancellable);
  if (run->body != NULL)
    g_input_stream_close_async (run->body, G_PRIORITY_DEFAULT, run->cancellable, NULL, NULL);
  http_run_free (run);
}

static void
http_answered (HttpRun *run)
{
  HaleCheck *c = run->c;
  SoupMessageHeaders *headers = soup_message_get_response_headers (run->msg);
  const char *content_type = soup_message_headers_get_content_type (headers, NULL);
  guint http_status = soup_message_get_status (run->msg);
  g_autofree char *message = NULL;
  gboolean ok = FALSE;
  guint severity = 1;
  GVariantBuilder b;

  keep_answer (run, TRUE);
  http_details_begin (run, &b);
  if (content_type != NULL)
    {
      g_autofree char *clean = hale_check_text_clean (content_type, HALE_CHECK_TEXT_MAX);
      g_variant_builder_add (&b, "{sv}", "content_type", g_variant_new_string (clean));
    }
  hale_check_answer_judge (c->format, http_status, content_type, (const char *)run->data->data,
                           run->data->len, &b, &ok, &severity, &message);
  http_done (run, ok, severity, message, http_details_end (run, &b, ok, severity, message));
  g_input_stream_close_async (run->body, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  http_run_free (run);
}

static void
http_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  HttpRun *run = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);
  g_autofree char *reason = NULL;

  if (n < 0)
    {
      reason = error_reason (run, error);
      http_fail (run, reason);
      return;
    }
  if (n == 0)
    {
      http_answered (run);
      return;
    }
  if (run->data->len + (gsize)n > BODY_CAP)
    {
      http_fail (run, "answer larger than " BODY_CAP_TEXT);
      return;
    }
  g_byte_array_append (run->data, run->buffer, (guint)n);
  g_input_stream_read_async (run->body, run->buffer, sizeof run->buffer, G_PRIORITY_DEFAULT,
                             run->cancellable, http_read, run);
}

static void
http_sent (GObject *source, GAsyncResult *res, gpointer user_data)
{
  HttpRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  SoupMessageHeaders *headers;

  run->body = soup_session_send_finish (SOUP_SESSION (source), res, &error);
  if (run->body == NULL)
    {
      reason = error_reason (run, error);
      http_fail (run, reason);
      return;
    }
  headers = soup_message_get_response_headers (run->msg);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (headers) > BODY_CAP)
    {
      http_fail (run, "answer larger than " BODY_CAP_TEXT);
      return;
    }
  g_input_stream_read_async (run->body, run->buffer, sizeof run->buffer, G_PRIORITY_DEFAULT,
                             run->cancellable, http_read, run);
}

static gboolean
http_timeout (gpointer user_data)
{
  HttpRun *run = user_data;

  run->timed_out = TRUE;
  g_clear_pointer (&run->timeout_source, g_source_unref);
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_REMOVE;
}

static gint64
file_mtime (const char *path)
{
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GFile) file = g_file_new_for_path (path);

  info = g_file_query_info (file,
                            G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                            G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (info == NULL)
    return -1;
  return (gint64)g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED)
             * G_USEC_PER_SEC
         + g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);
}

/* The check's session, made again when its CA file changed. */
static SoupSession *
http_session (HaleCheck *c, char **out_reason)
{
  HttpCheck *h = (HttpCheck *)c;
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *agent = NULL;
  gint64 mtime = c->ca_file != NULL ? file_mtime (c->ca_file) : 0;

  if (h->session != NULL && mtime == h->ca_mtime && mtime >= 0)
    return h->session;
  g_clear_object (&h->session);
  if (c->ca_file != NULL)
    {
      database = g_tls_file_database_new (c->ca_file, &error);
      if (database == NULL)
        {
          *out_reason
              = g_strdup_printf ("tls: cannot read CA file %s: %s", c->ca_file, error->message);
          return NULL;
        }
    }
  agent = g_strdup_printf ("haled/%s", PACKAGE_VERSION);
  /* Direct, never through a proxy: what is checked is the service. */
  h->session = g_object_new (SOUP_TYPE_SESSION, "user-agent", agent, "proxy-resolver", NULL,
                             "timeout", 0, "idle-timeout", 0, NULL);
  if (database != NULL)
    soup_session_set_tls_database (h->session, database);
  h->ca_mtime = mtime;
  return h->session;
}

static void
cancel_cb (GCancellable *group, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
http_run_one (HaleCheck *c, Group *group, guint index, const char *url)
{
  HttpRun *run = g_new0 (HttpRun, 1);
  g_autofree char *reason = NULL;
  SoupSession *session;
  SoupMessageHeaders *headers;

  run->c = hale_check_ref (c);
  run->group = group;
  run->index = index;
  run->url = g_strdup (url);
  run->instance = hale_check_instance_name (c->name, url);
  if (group == NULL)
    run->cancellable = g_object_ref (c->running);
  else
    {
      /* One instance's timeout or failure stops it alone; the run's
       * end (a reset, the check gone) stops them all. */
      run->cancellable = g_cancellable_new ();
      run->group_cancel_id = g_cancellable_connect (group->cancellable, G_CALLBACK (cancel_cb),
                                                    run->cancellable, NULL);
    }
  run->data = g_byte_array_new ();

  session = http_session (c, &reason);
  if (session == NULL)
    {
      http_fail (run, reason);
      return;
    }
  run->msg = soup_message_new (SOUP_METHOD_GET, url);
  if (run->msg == NULL)
    {
      reason = g_strdup_printf ("\"%s\" is not a URL hale can ask", url);
      http_fail (run, reason);
      return;
    }
  soup_message_add_flags (run->msg, SOUP_MESSAGE_NEW_CONNECTION);
  headers = soup_message_get_request_headers (run->msg);
  soup_message_headers_replace (headers, "Connection", "close");
  soup_message_headers_replace (headers, "Accept",
                                "application/health+json, application/json;q=0.9, */*;q=0.5");

  run->timeout_source = g_timeout_source_new ((guint)MIN (MAX (c->timeout / 1000, 1), G_MAXUINT));
  g_source_set_callback (run->timeout_source, http_timeout, run, NULL);
  g_source_set_static_name (run->timeout_source, "[hale] check timeout");
  g_source_attach (run->timeout_source, g_main_context_get_thread_default ());

  soup_session_send_async (session, run->msg, G_PRIORITY_DEFAULT, run->cancellable, http_sent, run);
}

static void
http_run (HaleCheck *c, gboolean event)
{
  g_auto (GStrv) urls = hale_check_config_urls (c->url);
  guint n = g_strv_length (urls);
  Group *g;

  if (n <= 1)
    {
      http_run_one (c, NULL, 0, n == 1 ? urls[0] : c->url);
      return;
    }
  g = g_new0 (Group, 1);
  g->c = hale_check_ref (c);
  g->cancellable = g_object_ref (c->running);
  g->n = g->pending = n;
  g->ok = g_new0 (gboolean, n);
  g->severity = g_new0 (guint, n);
  g->message = g_new0 (char *, n);
  g->details = g_new0 (GVariant *, n);
  for (guint i = 0; i < n; i++)
    http_run_one (c, g, i, urls[i]);
}

static const HaleCheckAnswer *
http_answer (HaleCheck *c, const char *instance)
{
  HttpCheck *h = (HttpCheck *)c;
  return h->answers != NULL ? g_hash_table_lookup (h->answers, instance) : NULL;
}

static void
http_finalize (HaleCheck *c)
{
  g_clear_object (&((HttpCheck *)c)->session);
  g_clear_pointer (&((HttpCheck *)c)->answers, g_hash_table_unref);
}

const HaleCheckClass hale_check_http_class = {
  .kind = HALE_CHECK_KIND_HTTP,
  .name = "http",
  .instance_size = sizeof (HttpCheck),
  .runs = TRUE,
  .run = http_run,
  .answer = http_answer,
  .finalize = http_finalize,
};
