/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-check-http.c: the http kind of check.
 *
 * A GET on a fresh connection (as the probes do: a kept-alive one would
 * hide a broken listener), never through a proxy, bounded by Timeout=;
 * the body is read up to BODY_CAP and judged by hale-check-answer.
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

typedef struct
{
  HaleCheck parent;
  SoupSession *session;
  gint64 ca_mtime;
} HttpCheck;

typedef struct
{
  HaleCheck *c;
  GCancellable *cancellable; /* c->running */
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
  g_variant_builder_add (b, "{sv}", "url", g_variant_new_string (run->c->url));
  /* libsoup says its own failures with codes below 100. */
  g_variant_builder_add (b, "{sv}", "http_status",
                         g_variant_new_uint32 (status >= 100 ? status : 0));
}

/* The run failed before an answer could be judged. */
static void
http_fail (HttpRun *run, const char *reason)
{
  GVariantBuilder b;

  /* Abandoned runs (the check removed or reset) say nothing. */
  if (hale_check_is_current (run->c, run->cancellable))
    {
      http_details_begin (run, &b);
      g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (reason));
      hale_check_finish (run->c, FALSE, 1, reason, g_variant_builder_end (&b));
    }
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

  if (hale_check_is_current (c, run->cancellable))
    {
      http_details_begin (run, &b);
      if (content_type != NULL)
        {
          g_autofree char *clean = hale_check_text_clean (content_type, HALE_CHECK_TEXT_MAX);
          g_variant_builder_add (&b, "{sv}", "content_type", g_variant_new_string (clean));
        }
      hale_check_answer_judge (c->format, http_status, content_type, (const char *)run->data->data,
                               run->data->len, &b, &ok, &severity, &message);
      hale_check_finish (c, ok, severity, message, g_variant_builder_end (&b));
    }
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
http_run (HaleCheck *c, gboolean event)
{
  HttpRun *run = g_new0 (HttpRun, 1);
  g_autofree char *reason = NULL;
  SoupSession *session;
  SoupMessageHeaders *headers;

  run->c = hale_check_ref (c);
  run->cancellable = g_object_ref (c->running);
  run->data = g_byte_array_new ();

  session = http_session (c, &reason);
  if (session == NULL)
    {
      http_fail (run, reason);
      return;
    }
  run->msg = soup_message_new (SOUP_METHOD_GET, c->url);
  if (run->msg == NULL)
    {
      reason = g_strdup_printf ("\"%s\" is not a URL hale can ask", c->url);
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
http_finalize (HaleCheck *c)
{
  g_clear_object (&((HttpCheck *)c)->session);
}

const HaleCheckClass hale_check_http_class = {
  .kind = HALE_CHECK_KIND_HTTP,
  .name = "http",
  .instance_size = sizeof (HttpCheck),
  .runs = TRUE,
  .run = http_run,
  .finalize = http_finalize,
};
