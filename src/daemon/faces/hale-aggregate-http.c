/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-aggregate-http.c: the aggregate's pages on the health listener. */
#include "config.h"

#include "hale-aggregate-http.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "hale-aggregate-report.h"
#include "hale-authority.h"

typedef enum
{
  PAGE_SERVICES,
  PAGE_FT,
  PAGE_GTG,
} Page;

/* What a request asked, once its query string is checked. */
typedef struct
{
  GStrv categories; /* NULL: all */
  gboolean cache;   /* FALSE: cache=false */
} Request;

static void
request_clear (Request *request)
{
  g_clear_pointer (&request->categories, g_strfreev);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Request, request_clear)

/* FALSE when the query is bad; the answer (400 or 404) is then set. */
static gboolean
parse_request (HaleAggregate *aggregate, SoupServerMessage *msg, GHashTable *query, Request *out)
{
  GHashTableIter iter;
  const char *key;
  const char *value;

  out->cache = TRUE;
  if (query == NULL)
    return TRUE;

  g_hash_table_iter_init (&iter, query);
  while (g_hash_table_iter_next (&iter, (gpointer *)&key, (gpointer *)&value))
    {
      if (g_str_equal (key, "cache"))
        {
          if (g_strcmp0 (value, "false") == 0)
            out->cache = FALSE;
          else if (g_strcmp0 (value, "true") != 0)
            {
              g_autofree char *m = g_strdup_printf (
                  "cache=%s: write cache=false to start a fresh run, or cache=true", value);
              hale_http_set_json_error (msg, SOUP_STATUS_BAD_REQUEST, "bad_request", m);
              return FALSE;
            }
        }
      else if (g_str_equal (key, "categories"))
        {
          /* "" splits into no names at all, which would select nothing. */
          g_auto (GStrv) parts = g_strsplit (value && value[0] ? value : " ", ",", -1);
          g_autoptr (GStrvBuilder) names = g_strv_builder_new ();

          for (guint i = 0; parts[i] != NULL; i++)
            {
              const char *name = g_strstrip (parts[i]);

              if (name[0] == '\0')
                {
                  hale_http_set_json_error (
                      msg, SOUP_STATUS_BAD_REQUEST, "bad_request",
                      "categories= has an empty name: write categories=NAME,NAME");
                  return FALSE;
                }
              if (!hale_aggregate_has_category (aggregate, name))
                {
                  g_autofree char *safe = g_utf8_make_valid (name, -1);
                  g_autofree char *m = g_strdup_printf (
                      "there is no category “%s” ([Category %s] in hale.conf)", safe, safe);
                  hale_http_set_json_error (msg, SOUP_STATUS_NOT_FOUND, "unknown_category", m);
                  return FALSE;
                }
              g_strv_builder_add (names, name);
            }
          g_clear_pointer (&out->categories, g_strfreev);
          out->categories = g_strv_builder_end (names);
        }
      else
        {
          g_autofree char *safe = g_utf8_make_valid (key, -1);
          g_autofree char *m
              = g_strdup_printf ("unknown query parameter “%s” (known: categories, cache)", safe);
          hale_http_set_json_error (msg, SOUP_STATUS_BAD_REQUEST, "bad_request", m);
          return FALSE;
        }
    }
  return TRUE;
}

/* Checks older than their category's RefreshRate are re-run; the
 * request does not wait for that: it is answered from the results there
 * are, and the next request sees the new ones. */
static HaleRefresh
refresh_stale (HaleAggregate *aggregate, const Request *request)
{
  g_autoptr (GPtrArray) checks
      = hale_aggregate_list_checks (aggregate, (const char *const *)request->categories);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) names = NULL;
  gboolean any = FALSE;

  for (guint i = 0; i < checks->len; i++)
    {
      const HaleAggregateCheck *check = g_ptr_array_index (checks, i);
      if (check->stale)
        {
          g_strv_builder_add (builder, check->name);
          any = TRUE;
        }
    }
  if (!any)
    return HALE_REFRESH_NONE;
  names = g_strv_builder_end (builder);
  /* Refused (rate-limited) means a run was forced a moment ago. */
  if (hale_checks_run_now (hale_aggregate_get_checks (aggregate), (const char *const *)names, NULL))
    return HALE_REFRESH_STARTED;
  return HALE_REFRESH_NONE;
}

/* Browsers put text/html first; curl, Prometheus' blackbox and load
 * balancers send * / * or nothing and get JSON. */
static gboolean
prefers_html (SoupServerMessage *msg)
{
  const char *accept
      = soup_message_headers_get_list (soup_server_message_get_request_headers (msg), "Accept");
  GSList *acceptable;
  gboolean html = FALSE;

  if (accept == NULL)
    return FALSE;
  acceptable = soup_header_parse_quality_list (accept, NULL);
  for (GSList *l = acceptable; l != NULL; l = l->next)
    {
      const char *type = l->data;
      if (g_ascii_strcasecmp (type, "text/html") == 0
          || g_ascii_strcasecmp (type, "application/xhtml+xml") == 0)
        {
          html = TRUE;
          break;
        }
      if (g_ascii_strcasecmp (type, "application/json") == 0
          || g_ascii_strcasecmp (type, "application/*") == 0 || g_str_equal (type, "*/*"))
        break;
    }
  soup_header_free_list (acceptable);
  return html;
}

static void
respond (SoupServerMessage *msg, guint status, const char *content_type, GBytes *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  /* A cached "healthy" seen by a load balancer after the fact would be
   * worse than none. */
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_replace (headers, "Vary", "Accept");
  soup_message_headers_replace (headers, "Content-Type", content_type);
  soup_server_message_set_status (msg, status, NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), body);
}

/* What a route's handler needs; each route has its own. */
typedef struct
{
  HaleAggregate *aggregate;
  HaleHttp *http; /* unowned: the route lives in it */
} Pages;

static void
pages_free (Pages *pages)
{
  g_object_unref (pages->aggregate);
  g_free (pages);
}

static void
answer (HaleAggregate *aggregate, const char *prefix, SoupServerMessage *msg, Page page,
        const Request *request, HaleRefresh refreshed, const char *refresh_message)
{
  g_autoptr (GBytes) body = NULL;
  HaleAggregateQuery q = { 0 };
  guint status = 200;

  q.categories = (const char *const *)request->categories;
  q.refresh = refreshed;
  q.refresh_message = refresh_message;
  q.path_prefix = prefix;

  if (page == PAGE_GTG)
    {
      body = hale_aggregate_report_gtg (aggregate, q.categories, &status);
      respond (msg, status, "text/plain; charset=utf-8", body);
      return;
    }
  if (prefers_html (msg))
    {
      body = hale_aggregate_report_html (
          aggregate, &q, page == PAGE_FT ? HALE_AGGREGATE_VIEW_FT : HALE_AGGREGATE_VIEW_SERVICES,
          &status);
      respond (msg, status, "text/html; charset=utf-8", body);
      return;
    }
  if (page == PAGE_FT)
    body = hale_aggregate_report_ft (aggregate, &q);
  else
    body = hale_aggregate_report_json (aggregate, &q, &status);
  respond (msg, status, "application/json", body);
}

/* A cache=false request waiting for its round. */
typedef struct
{
  HaleAggregate *aggregate;
  char *prefix; /* HealthPathPrefix= when asked */
  SoupServerMessage *msg;
  Page page;
  Request request;
  gboolean disconnected;
} Waiting;

static void
waiting_disconnected_cb (SoupServerMessage *msg, gpointer data)
{
  ((Waiting *)data)->disconnected = TRUE;
}

static void
round_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Waiting *w = data;
  g_autoptr (GError) error = NULL;
  gboolean fresh = hale_checks_refresh_finish (HALE_CHECKS (source), result, &error);

  g_signal_handlers_disconnect_by_func (w->msg, waiting_disconnected_cb, w);
  if (!w->disconnected)
    {
      answer (w->aggregate, w->prefix, w->msg, w->page, &w->request,
              fresh ? HALE_REFRESH_FRESH : HALE_REFRESH_TIMED_OUT, fresh ? NULL : error->message);
      soup_server_message_unpause (w->msg);
    }
  g_object_unref (w->msg);
  g_object_unref (w->aggregate);
  g_free (w->prefix);
  request_clear (&w->request);
  g_free (w);
}

static void
serve (Pages *pages, SoupServerMessage *msg, GHashTable *query, Page page)
{
  HaleAggregate *aggregate = pages->aggregate;
  g_auto (Request) request = { 0 };
  g_autoptr (GPtrArray) checks = NULL;
  g_autoptr (GStrvBuilder) names = NULL;
  g_auto (GStrv) selected = NULL;
  Waiting *w;

  if (!parse_request (aggregate, msg, query, &request))
    return;
  if (request.cache)
    {
      answer (aggregate, hale_http_get_path_prefix (pages->http), msg, page, &request,
              refresh_stale (aggregate, &request), NULL);
      return;
    }

  /* cache=false: as FT's aggregate-healthcheck, the answer waits for
   * fresh results, each run bounded by its Timeout= and shared with the
   * other requests that want it (hale_checks_refresh_async()). */
  checks = hale_aggregate_list_checks (aggregate, (const char *const *)request.categories);
  names = g_strv_builder_new ();
  for (guint i = 0; i < checks->len; i++)
    g_strv_builder_add (names, ((const HaleAggregateCheck *)g_ptr_array_index (checks, i))->name);
  selected = g_strv_builder_end (names);

  w = g_new0 (Waiting, 1);
  w->aggregate = g_object_ref (aggregate);
  w->prefix = g_strdup (hale_http_get_path_prefix (pages->http));
  w->msg = g_object_ref (msg);
  w->page = page;
  w->request = request;
  request = (Request){ 0 };
  g_signal_connect (msg, "disconnected", G_CALLBACK (waiting_disconnected_cb), w);
  soup_server_message_pause (msg);
  hale_checks_refresh_async (hale_aggregate_get_checks (aggregate), (const char *const *)selected,
                             round_done_cb, w);
}

static void
handle_services (SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  serve (user_data, msg, query, PAGE_SERVICES);
}

static void
handle_ft (SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  serve (user_data, msg, query, PAGE_FT);
}

static void
handle_gtg (SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  serve (user_data, msg, query, PAGE_GTG);
}

/* Changes, as FT's aggregate-healthcheck answers them: an
 * acknowledgement added or removed is a 301 to the __health page
 * (fresh), a category changed a 200. */

static void
change_done (SoupServerMessage *msg, Pages *pages, gboolean ok, const GError *error,
             gboolean redirect, const char *done)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  if (!ok)
    {
      gboolean unknown
          = g_error_matches (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CHECK)
            || g_error_matches (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CATEGORY);
      hale_http_set_json_error (msg, unknown ? SOUP_STATUS_NOT_FOUND : SOUP_STATUS_BAD_REQUEST,
                                unknown ? "not_found" : "bad_request", error->message);
      return;
    }
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  if (redirect)
    {
      g_autofree char *location
          = g_strconcat (hale_http_get_path_prefix (pages->http), "/__health?cache=false", NULL);
      soup_message_headers_replace (headers, "Location", location);
      soup_server_message_set_status (msg, SOUP_STATUS_MOVED_PERMANENTLY, NULL);
    }
  else
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, done,
                                    strlen (done));
}

static void
add_ack (SoupServerMessage *msg, const char *check, GHashTable *form, const HaleAuditActor *actor,
         gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  const char *message = g_hash_table_lookup (form, "ack-msg");
  g_autofree char *done = g_strdup_printf ("check %s acknowledged\n", check);
  gboolean ok;

  if (message == NULL)
    {
      hale_http_set_json_error (msg, SOUP_STATUS_BAD_REQUEST, "bad_request",
                                "the form has no ack-msg=: say why the failure is known "
                                "(--data-urlencode 'ack-msg=TEXT')");
      return;
    }
  ok = hale_aggregate_acknowledge (((Pages *)user_data)->aggregate, check, message, actor, &error);
  change_done (msg, user_data, ok, error, TRUE, done);
}

static void
rem_ack (SoupServerMessage *msg, const char *check, GHashTable *form, const HaleAuditActor *actor,
         gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *done = g_strdup_printf ("acknowledgement of check %s removed\n", check);
  gboolean ok = hale_aggregate_remove_acknowledgement (((Pages *)user_data)->aggregate, check,
                                                       actor, &error);

  change_done (msg, user_data, ok, error, TRUE, done);
}

static void
set_category (SoupServerMessage *msg, const char *category, const HaleAuditActor *actor,
              Pages *pages, gboolean enabled)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *done
      = g_strdup_printf ("category %s %s\n", category, enabled ? "enabled" : "disabled");
  gboolean ok
      = hale_aggregate_set_category_enabled (pages->aggregate, category, enabled, actor, &error);

  change_done (msg, pages, ok, error, FALSE, done);
}

static void
enable_category (SoupServerMessage *msg, const char *category, GHashTable *form,
                 const HaleAuditActor *actor, gpointer user_data)
{
  set_category (msg, category, actor, user_data, TRUE);
}

static void
disable_category (SoupServerMessage *msg, const char *category, GHashTable *form,
                  const HaleAuditActor *actor, gpointer user_data)
{
  set_category (msg, category, actor, user_data, FALSE);
}

static gboolean
check_exists (const char *check, gpointer user_data, GError **error)
{
  if (hale_aggregate_has_check (((Pages *)user_data)->aggregate, check))
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               "There is no check “%s” ([Check %s] in hale.conf)", check, check);
  return FALSE;
}

static gboolean
category_exists (const char *category, gpointer user_data, GError **error)
{
  if (hale_aggregate_has_category (((Pages *)user_data)->aggregate, category))
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               "There is no category “%s” ([Category %s] in hale.conf)", category, category);
  return FALSE;
}

/* The D-Bus twins (dbus/org.hale.Hale1.Health.xml), for the audit.
 * rem-ack, as RemoveAcknowledgement, may clear the acknowledgement of a
 * check since removed from hale.conf: the aggregate decides. */
static const HaleHttpChange ack_change
    = { HALE_ACTION_ACKNOWLEDGE, "Acknowledge", "check", "service-name", check_exists };
static const HaleHttpChange unack_change
    = { HALE_ACTION_ACKNOWLEDGE, "RemoveAcknowledgement", "check", "service-name", NULL };
static const HaleHttpChange enable_change = { HALE_ACTION_MANAGE_CATEGORIES, "EnableCategory",
                                              "category", "category-name", category_exists };
static const HaleHttpChange disable_change = { HALE_ACTION_MANAGE_CATEGORIES, "DisableCategory",
                                               "category", "category-name", category_exists };

static Pages *
pages_new (HaleAggregate *aggregate, HaleHttp *http)
{
  Pages *pages = g_new0 (Pages, 1);

  pages->aggregate = g_object_ref (aggregate);
  pages->http = http;
  return pages;
}

/* FT's answers: the text of an error is for a person, so plain text. */
static void
respond_text (SoupServerMessage *msg, guint status, const char *text)
{
  char *line = g_strdup_printf ("%s\n", text);
  g_autoptr (GBytes) body = g_bytes_new_take (line, strlen (line));

  respond (msg, status, "text/plain; charset=utf-8", body);
}

static void
handle_pods (SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  const char *service = query != NULL ? g_hash_table_lookup (query, "service-name") : NULL;
  g_autoptr (GBytes) body = NULL;

  if (service == NULL || service[0] == '\0')
    {
      respond_text (msg, SOUP_STATUS_BAD_REQUEST, "Couldn't get service name from url.");
      return;
    }
  body = hale_aggregate_report_pods (((Pages *)user_data)->aggregate, service);
  if (body == NULL)
    {
      g_autofree char *safe = g_utf8_make_valid (service, -1);
      g_autofree char *text = g_strdup_printf ("Cannot perform checks for service with name %s "
                                               "(there is no [Check %s])",
                                               safe, safe);
      respond_text (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, text);
      return;
    }
  respond (msg, SOUP_STATUS_OK, "application/json", body);
}

/* The instance's own answer as its last check got it: this page asks
 * nobody, so a burst of requests cannot become a burst on the pods. */
static void
handle_pod (SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  HaleChecks *checks = hale_aggregate_get_checks (((Pages *)user_data)->aggregate);
  const char *pod = query != NULL ? g_hash_table_lookup (query, "pod-name") : NULL;
  const HaleCheckAnswer *answer;

  if (pod == NULL || pod[0] == '\0')
    {
      respond_text (msg, SOUP_STATUS_BAD_REQUEST, "Cannot parse pod name from url.");
      return;
    }
  answer = hale_checks_get_answer (checks, pod);
  if (answer == NULL || answer->http_status != SOUP_STATUS_OK)
    {
      g_autofree char *safe = g_utf8_make_valid (pod, -1);
      g_autofree char *text = NULL;

      if (answer == NULL)
        text = g_strdup_printf ("Cannot get individual healthcheck for pod %s (no such pod, or "
                                "not asked yet)",
                                safe);
      else if (answer->http_status == 0)
        text = g_strdup_printf ("Cannot get individual healthcheck for pod %s (no answer)", safe);
      else
        text = g_strdup_printf ("Cannot get individual healthcheck for pod %s (it answered %u)",
                                safe, answer->http_status);
      respond_text (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, text);
      return;
    }
  respond (msg, SOUP_STATUS_OK,
           answer->content_type != NULL ? answer->content_type : "application/octet-stream",
           answer->body);
}

void
hale_aggregate_http_register (HaleAggregate *aggregate, HaleHttp *http)
{
  static const struct
  {
    const char *path;
    HaleHttpHandler handler;
  } ft_pages[] = {
    { "/__health", handle_ft },
    { "/__gtg", handle_gtg },
    { "/__pods-health", handle_pods },
    { "/__pod-individual-health", handle_pod },
  };
  static const struct
  {
    const char *path;
    const HaleHttpChange *change;
    HaleHttpChangeHandler handler;
  } ft_changes[] = {
    { "/add-ack", &ack_change, add_ack },
    { "/rem-ack", &unack_change, rem_ack },
    { "/enable-category", &enable_change, enable_category },
    { "/disable-category", &disable_change, disable_category },
  };
  g_return_if_fail (HALE_IS_AGGREGATE (aggregate));
  g_return_if_fail (HALE_IS_HTTP (http));

  hale_http_add_route (http, "/health/services", handle_services, pages_new (aggregate, http),
                       (GDestroyNotify)pages_free);
  for (gsize i = 0; i < G_N_ELEMENTS (ft_pages); i++)
    hale_http_add_ft_route (http, ft_pages[i].path, ft_pages[i].handler,
                            pages_new (aggregate, http), (GDestroyNotify)pages_free);
  for (gsize i = 0; i < G_N_ELEMENTS (ft_changes); i++)
    hale_http_add_ft_change (http, ft_changes[i].path, ft_changes[i].change, ft_changes[i].handler,
                             pages_new (aggregate, http), (GDestroyNotify)pages_free);
}
