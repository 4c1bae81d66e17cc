/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-aggregate-http.c: the aggregate's pages on the health listener. */
#include "config.h"

#include "hale-aggregate-http.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "hale-aggregate-report.h"

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

/* cache=false runs the selected checks; without it, checks older than
 * their category's RefreshRate are re-run. Either way the request does
 * not wait: it is answered from the results there are. */
static HaleRefresh
refresh (HaleAggregate *aggregate, const Request *request, char **out_message)
{
  g_autoptr (GPtrArray) checks
      = hale_aggregate_list_checks (aggregate, (const char *const *)request->categories);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) names = NULL;
  g_autoptr (GError) error = NULL;
  gboolean any = FALSE;

  for (guint i = 0; i < checks->len; i++)
    {
      const HaleAggregateCheck *check = g_ptr_array_index (checks, i);
      if (!request->cache || check->stale)
        {
          g_strv_builder_add (builder, check->name);
          any = TRUE;
        }
    }
  if (!any)
    return HALE_REFRESH_NONE;
  names = g_strv_builder_end (builder);
  if (hale_checks_run_now (hale_aggregate_get_checks (aggregate), (const char *const *)names,
                           &error))
    return HALE_REFRESH_STARTED;
  if (!request->cache)
    {
      *out_message = g_strdup (error->message);
      return HALE_REFRESH_RATE_LIMITED;
    }
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

static void
serve (HaleAggregate *aggregate, SoupServerMessage *msg, GHashTable *query, Page page)
{
  g_auto (Request) request = { 0 };
  g_autofree char *refresh_message = NULL;
  g_autoptr (GBytes) body = NULL;
  HaleAggregateQuery q = { 0 };
  guint status = 200;

  if (!parse_request (aggregate, msg, query, &request))
    return;
  q.categories = (const char *const *)request.categories;
  q.refresh = refresh (aggregate, &request, &refresh_message);
  q.refresh_message = refresh_message;

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

static void
handle_services (SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  serve (HALE_AGGREGATE (user_data), msg, query, PAGE_SERVICES);
}

static void
handle_ft (SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  serve (HALE_AGGREGATE (user_data), msg, query, PAGE_FT);
}

static void
handle_gtg (SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  serve (HALE_AGGREGATE (user_data), msg, query, PAGE_GTG);
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
  body = hale_aggregate_report_pods (HALE_AGGREGATE (user_data), service);
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
  HaleChecks *checks = hale_aggregate_get_checks (HALE_AGGREGATE (user_data));
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
  g_return_if_fail (HALE_IS_AGGREGATE (aggregate));
  g_return_if_fail (HALE_IS_HTTP (http));

  hale_http_add_route (http, "/health/services", handle_services, g_object_ref (aggregate),
                       g_object_unref);
  hale_http_add_route (http, "/__health", handle_ft, g_object_ref (aggregate), g_object_unref);
  hale_http_add_route (http, "/__gtg", handle_gtg, g_object_ref (aggregate), g_object_unref);
  hale_http_add_route (http, "/__pods-health", handle_pods, g_object_ref (aggregate),
                       g_object_unref);
  hale_http_add_route (http, "/__pod-individual-health", handle_pod, g_object_ref (aggregate),
                       g_object_unref);
}
