/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-http.c: the HTTP face: /metrics, /health and friends (libsoup 3).
 *
 * Listeners. MetricsListen and HealthListen each name one address; when
 * they name the same one there is one listener serving every path. When
 * they differ, each listener serves what it was configured for, like
 * node_exporter: the metrics listener answers / and /metrics, the health
 * listener / and /health*, and anything else is a 404. So a firewall rule
 * or a Prometheus scrape config that names one port sees only that face.
 *
 * Each listener is its own SoupServer on a socket we make ourselves:
 * soup_server_listen_local() would leave GSocket's backlog of 10, which
 * drops connections when a hundred health checkers arrive at once, and
 * libsoup cannot close one listener of a server without closing all of
 * them, which a reload that moves one address needs.
 *
 * Addresses are literal IPs, "localhost" (127.0.0.1) or empty for all
 * addresses: the IPv6 wildcard with dual stack (so IPv4 clients reach it
 * too), or 0.0.0.0 on a host without IPv6. Names are refused: a daemon
 * that resolves at start-up hangs or binds the wrong address when DNS is
 * down, which is exactly when the health endpoint matters.
 *
 * Requests are answered from memory only: the report and the metrics
 * registry hand out cached bytes, which go onto the wire uncopied.
 *
 * TLS. Each listener accepts connections itself (a GSocketService on
 * its socket) and hands them to its SoupServer with
 * soup_server_accept_iostream(), after a TLS handshake when the listener
 * has a certificate. Doing the handshake here rather than through
 * soup_server_set_tls_certificate() gives what libsoup does not: the
 * negotiated protocol version can be checked against
 * MetricsTLSMinVersion (GLib 2.74 has no API to set a minimum; see
 * docs/http.md), a renewed certificate is simply the one the next
 * handshake uses, and a reload can turn TLS on or off on a listener
 * without closing its socket.
 *
 * Auth. /metrics, and the health paths with HealthAuth=same, need the
 * credentials of hale-http-auth.c. The message is paused while a bcrypt
 * runs in a thread; a refusal is a bare 401 with WWW-Authenticate, the
 * same for every cause, counted in http_auth_failures_total.
 *
 * Routes. FT's paths live under HealthPathPrefix= (ft_routes); those
 * that change something take POST and a small form, and only with
 * HealthAuth=same and credentials. Every answer is counted by handler
 * and code (hale-http-metrics.h).
 */
#include "config.h"

#include "hale-http.h"

#include <errno.h>
#include <gio/gnetworking.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "hale-exposition.h"
#include "hale-file-watch.h"
#include "hale-authority.h"
#include "hale-http-auth.h"
#include "hale-http-gate.h"
#include "hale-http-metrics.h"
#include "hale-units.h"

/* What the kernel may queue before we accept; it caps it at
 * net.core.somaxconn (4096 on current kernels). */
#define LISTEN_BACKLOG 4096

/* A client that connects and never finishes its handshake is dropped. */
#define HANDSHAKE_TIMEOUT_SECONDS 10

/* TLS on one listener: what the configuration said and what was loaded
 * from it. The certificate is replaced in place when its files change. */
typedef struct
{
  HaleTlsConfig config; /* owned copies */
  const char *prefix;   /* "Metrics" or "Health", for messages */
  GTlsCertificate *certificate;
  GTlsDatabase *client_ca; /* NULL: no client certificate asked for */
  HaleFileWatch *watch;
  guint generation; /* a renewal read started before a newer one is stale */
} ServingTls;

typedef enum
{
  ROLE_METRICS = 1 << 0,
  ROLE_HEALTH = 1 << 1,
} ListenerRole;

typedef struct
{
  char *key; /* the address as bound, "127.0.0.1:9091", "[::]:0" */
  SoupServer *server;
  guint16 port; /* as bound: the real one when 0 was asked for */
  guint roles;  /* ListenerRole; changed in place by a reload */
  GSocketService *service;
  GSocket *anchor_peer; /* see listener_open() */
  ServingTls *tls;      /* NULL: plain HTTP; replaced in place by a reload */
  GPtrArray *shaking;   /* Handshake in progress */
  /* "address:port" of the client -> GSocket, for the connections handed
   * to libsoup, which cannot tell us their sockets (see message_socket()) */
  GHashTable *connections;
  HaleHttp *http;
} Listener;

/* The paths hale-http serves itself, for their handler label. */
typedef enum
{
  BUILTIN_LANDING,
  BUILTIN_METRICS,
  BUILTIN_HEALTH,
  BUILTIN_HEALTH_CERTIFICATE,
  BUILTIN_HEALTH_CONNECTIVITY,
  BUILTIN_HEALTH_SERVICES,
  BUILTIN_OTHER,
  N_BUILTIN
} Builtin;

static const char *const builtin_names[N_BUILTIN] = {
  "/",
  "/metrics",
  "/health",
  "/health/certificate",
  "/health/connectivity",
  "/health/services",
  HALE_HTTP_HANDLER_OTHER,
};

struct _HaleHttp
{
  GObject parent_instance;

  HaleReport *report;
  HaleMetrics *metrics;
  HaleExposition *exposition;
  GPtrArray *listeners; /* Listener */
  HaleHttpAuth *auth;
  gboolean health_auth; /* HealthAuth=same */
  HaleMetricFamily *auth_failures;
  GHashTable *routes;    /* path -> ExtraRoute: hale_http_add_route() */
  GHashTable *ft_routes; /* path under the prefix -> ExtraRoute: hale_http_add_ft_*() */
  char *path_prefix;     /* HealthPathPrefix=: "" or "/a/b" */
  HaleAudit *audit;      /* NULL: changes are not served */
  HaleHttpMetrics *http_metrics;
  guint builtin_handlers[N_BUILTIN]; /* hale_http_metrics_handler() of each */
  HaleHttpGate *gate;                /* plain connections until their request head is in */
};

typedef struct
{
  HaleHttpHandler handler;
  HaleHttpChangeHandler change_handler; /* set for a change, with @change */
  const HaleHttpChange *change;
  gpointer user_data;
  GDestroyNotify destroy;
  guint handler_id; /* hale_http_metrics_handler() of the path */
} ExtraRoute;

static void
extra_route_free (ExtraRoute *route)
{
  if (route->destroy != NULL)
    route->destroy (route->user_data);
  g_free (route);
}

G_DEFINE_TYPE (HaleHttp, hale_http, G_TYPE_OBJECT)

static void
tls_config_copy (HaleTlsConfig *to, const HaleTlsConfig *from)
{
  to->certificate = g_strdup (from->certificate);
  to->key = g_strdup (from->key);
  to->client_ca = g_strdup (from->client_ca);
  to->min_version = from->min_version != 0 ? from->min_version : 12;
}

static void
serving_tls_free (ServingTls *tls)
{
  if (tls == NULL)
    return;
  g_clear_pointer (&tls->watch, hale_file_watch_free);
  g_free (tls->config.certificate);
  g_free (tls->config.key);
  g_free (tls->config.client_ca);
  g_clear_object (&tls->certificate);
  g_clear_object (&tls->client_ca);
  g_free (tls);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ServingTls, serving_tls_free)

typedef struct
{
  Listener *listener; /* NULL once the listener went away */
  GTlsConnection *tls;
  GCancellable *cancellable;
  guint timeout_id;
  guint min_version;
} Handshake;

static void
handshake_free (Handshake *h)
{
  g_clear_handle_id (&h->timeout_id, g_source_remove);
  g_clear_object (&h->tls);
  g_clear_object (&h->cancellable);
  g_free (h);
}

static void
listener_free (Listener *listener)
{
  if (listener->service != NULL)
    {
      g_signal_handlers_disconnect_by_data (listener->service, listener);
      g_socket_service_stop (listener->service);
      g_socket_listener_close (G_SOCKET_LISTENER (listener->service));
      g_clear_object (&listener->service);
    }
  /* Handshakes in flight finish on their own, as failures. */
  for (guint i = 0; listener->shaking != NULL && i < listener->shaking->len; i++)
    {
      Handshake *h = g_ptr_array_index (listener->shaking, i);
      h->listener = NULL;
      g_cancellable_cancel (h->cancellable);
    }
  g_clear_pointer (&listener->shaking, g_ptr_array_unref);
  if (listener->http != NULL)
    hale_http_gate_drop_owner (listener->http->gate, listener);
  g_clear_pointer (&listener->connections, g_hash_table_unref);
  g_clear_pointer (&listener->tls, serving_tls_free);
  if (listener->server != NULL)
    {
      /* The handler points at @listener: remove it first, since a
       * request already read may still be completed after the
       * disconnect (libsoup answers it with a 404 then). Then close the
       * listening socket and the clients still connected. */
      soup_server_remove_handler (listener->server, "/");
      soup_server_disconnect (listener->server);
      g_object_unref (listener->server);
    }
  g_clear_object (&listener->anchor_peer);
  g_free (listener->key);
  g_free (listener);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Listener, listener_free)

/* Requests */

/* {"error": ..., "message": ...} and a newline. */
static char *
json_error_text (const char *error, const char *message)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, error);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  return g_strconcat (text, "\n", NULL);
}

void
hale_http_set_json_error (SoupServerMessage *msg, guint status, const char *error,
                          const char *message)
{
  char *line = json_error_text (error, message);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, line, strlen (line));
}

static void
set_bytes (SoupServerMessage *msg, guint status, const char *content_type, GBytes *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (headers, "Content-Type", content_type);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), body);
}

static void
serve_metrics (HaleHttp *self, SoupServerMessage *msg)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  HaleMetricsFormat format
      = hale_exposition_negotiate (soup_message_headers_get_list (request, "Accept"));
  gboolean gzip
      = hale_exposition_accepts_gzip (soup_message_headers_get_list (request, "Accept-Encoding"));
  g_autoptr (GBytes) body = hale_exposition_render (self->exposition, format, gzip);

  /* libsoup's server does not compress: the exposition keeps the gzip
   * form of each text, so it is compressed once per change. */
  if (gzip)
    soup_message_headers_replace (response, "Content-Encoding", "gzip");
  soup_message_headers_replace (response, "Vary", "Accept, Accept-Encoding");
  set_bytes (msg, SOUP_STATUS_OK, hale_exposition_content_type (format), body);
}

static void
serve_report (HaleHttp *self, SoupServerMessage *msg, HaleReportSection section)
{
  guint status = SOUP_STATUS_OK;
  g_autoptr (GBytes) body = hale_report_get_json (self->report, section, &status);

  /* A cached "healthy" seen by a load balancer after the fact would be
   * worse than none. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                "no-store");
  set_bytes (msg, status, "application/json", body);
}

static const char landing_head[]
    = "<!DOCTYPE html>\n"
      "<html><head><meta charset=\"utf-8\"><title>haled</title></head>\n"
      "<body>\n<h1>haled " PACKAGE_VERSION "</h1>\n"
      "<p>TLS certificate health: expiry, renewals and the services that use them.</p>\n<ul>\n";
static const char landing_metrics[] = "<li><a href=\"/metrics\">Metrics</a></li>\n";
static const char landing_health[] = "<li><a href=\"/health\">Health</a>: "
                                     "<a href=\"/health/certificate\">certificate</a>, "
                                     "<a href=\"/health/connectivity\">connectivity</a>, "
                                     "<a href=\"/health/services\">services</a></li>\n";
static const char landing_tail[] = "</ul>\n</body></html>\n";

static void
serve_landing (Listener *listener, SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_response_body (msg);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Content-Type",
                                "text/html; charset=utf-8");
  soup_message_body_append (body, SOUP_MEMORY_STATIC, landing_head, strlen (landing_head));
  if (listener->roles & ROLE_METRICS)
    soup_message_body_append (body, SOUP_MEMORY_STATIC, landing_metrics, strlen (landing_metrics));
  if (listener->roles & ROLE_HEALTH)
    soup_message_body_append (body, SOUP_MEMORY_STATIC, landing_health, strlen (landing_health));
  soup_message_body_append (body, SOUP_MEMORY_STATIC, landing_tail, strlen (landing_tail));
}

typedef enum
{
  ROUTE_NONE,
  ROUTE_LANDING,
  ROUTE_METRICS,
  ROUTE_HEALTH,
  ROUTE_EXTRA,
} Route;

/* Where a path goes on a listener, and its handler label. */
typedef struct
{
  Route route;
  HaleReportSection section; /* ROUTE_HEALTH */
  ExtraRoute *extra;         /* ROUTE_EXTRA */
  guint handler;
} Match;

static Match
route_for (Listener *listener, const char *path)
{
  static const struct
  {
    const char *path;
    HaleReportSection section;
    Builtin builtin;
  } health_paths[] = {
    { "/health", HALE_REPORT_ALL, BUILTIN_HEALTH },
    { "/health/certificate", HALE_REPORT_CERTIFICATE, BUILTIN_HEALTH_CERTIFICATE },
    { "/health/connectivity", HALE_REPORT_CONNECTIVITY, BUILTIN_HEALTH_CONNECTIVITY },
    { "/health/services", HALE_REPORT_SERVICES, BUILTIN_HEALTH_SERVICES },
  };
  HaleHttp *self = listener->http;
  Match m = { ROUTE_NONE, HALE_REPORT_ALL, NULL, self->builtin_handlers[BUILTIN_OTHER] };
  gsize prefix_len = strlen (self->path_prefix);

  if (g_str_equal (path, "/"))
    {
      m.route = ROUTE_LANDING;
      m.handler = self->builtin_handlers[BUILTIN_LANDING];
      return m;
    }
  if ((listener->roles & ROLE_METRICS) && g_str_equal (path, "/metrics"))
    {
      m.route = ROUTE_METRICS;
      m.handler = self->builtin_handlers[BUILTIN_METRICS];
      return m;
    }
  if (!(listener->roles & ROLE_HEALTH))
    return m;
  m.extra = g_hash_table_lookup (self->routes, path);
  if (m.extra == NULL && strncmp (path, self->path_prefix, prefix_len) == 0
      && path[prefix_len] == '/')
    m.extra = g_hash_table_lookup (self->ft_routes, path + prefix_len);
  if (m.extra != NULL)
    {
      m.route = ROUTE_EXTRA;
      m.handler = m.extra->handler_id;
      return m;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (health_paths); i++)
    if (g_str_equal (path, health_paths[i].path))
      {
        m.route = ROUTE_HEALTH;
        m.section = health_paths[i].section;
        m.handler = self->builtin_handlers[health_paths[i].builtin];
        return m;
      }
  return m;
}

/* Request metrics. An answer set by the time its handler returns (all
 * but a few) is counted then, without allocating; one that comes later
 * (credentials checked in a thread, a cache=false round) when the
 * message is finished. */
typedef struct
{
  HaleHttp *http; /* unowned: the listeners, hence their messages, go first */
  guint handler;
  gint64 start;
} Deferred;

static void
deferred_finished_cb (SoupServerMessage *msg, gpointer data)
{
  Deferred d = *(Deferred *)data;
  guint status = soup_server_message_get_status (msg);

  /* Once (this frees @data after the emission). */
  g_signal_handlers_disconnect_by_data (msg, data);
  if (status != SOUP_STATUS_NONE)
    hale_http_metrics_count (d.http->http_metrics, d.handler, status,
                             g_get_monotonic_time () - d.start);
}

static void
account (HaleHttp *self, SoupServerMessage *msg, guint handler, gint64 start)
{
  guint status = soup_server_message_get_status (msg);
  Deferred *d;

  if (status != SOUP_STATUS_NONE)
    {
      hale_http_metrics_count (self->http_metrics, handler, status,
                               g_get_monotonic_time () - start);
      return;
    }
  d = g_new0 (Deferred, 1);
  d->http = self;
  d->handler = handler;
  d->start = start;
  g_signal_connect_data (msg, "finished", G_CALLBACK (deferred_finished_cb), d,
                         (GClosureNotify)(void (*) (void))g_free, 0);
}

/* Changes (POST PREFIX/add-ack, ...) */

/* The user name of a Basic Authorization header that was accepted. */
static char *
basic_user (const char *authorization)
{
  g_autofree guchar *decoded = NULL;
  gsize len = 0;
  const char *colon;

  if (authorization == NULL || g_ascii_strncasecmp (authorization, "Basic ", 6) != 0)
    return NULL;
  decoded = g_base64_decode (authorization + 6, &len);
  colon = decoded != NULL ? memchr (decoded, ':', len) : NULL;
  if (colon == NULL)
    return NULL;
  return g_utf8_make_valid ((const char *)decoded, colon - (const char *)decoded);
}

/* Who asked over HTTP: the client's address, and once authenticated
 * the user (basic) or the token (bearer). Owns its strings. */
typedef struct
{
  HaleAuditActor actor;
  char *identity;
  char *ip;
} HttpCaller;

static void
http_caller_init (HttpCaller *caller, SoupServerMessage *msg, gboolean authenticated)
{
  const char *authorization = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "Authorization");
  g_autofree char *user = authenticated ? basic_user (authorization) : NULL;

  memset (caller, 0, sizeof *caller);
  caller->ip = g_strdup (soup_server_message_get_remote_host (msg));
  if (user != NULL)
    {
      caller->identity = g_strconcat ("http:", user, NULL);
      caller->actor.auth_method = "http+basic";
    }
  else if (authenticated)
    {
      caller->identity = g_strdup ("http:bearer");
      caller->actor.auth_method = "http+bearer";
    }
  else
    {
      caller->identity = g_strdup ("http");
      caller->actor.auth_method = "http";
    }
  caller->actor.identity = caller->identity;
  caller->actor.uid = -1;
  caller->actor.pid = -1;
  caller->actor.ip_address = caller->ip;
}

static void
http_caller_clear (HttpCaller *caller)
{
  g_clear_pointer (&caller->identity, g_free);
  g_clear_pointer (&caller->ip, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HttpCaller, http_caller_clear)

static const char *
change_resource (const ExtraRoute *route, GHashTable *query)
{
  const char *value
      = query != NULL ? g_hash_table_lookup (query, route->change->resource_param) : NULL;
  return value != NULL && value[0] != '\0' ? value : NULL;
}

/* A change refused before its handler: answered and audited as the
 * D-Bus twin's denial would be. */
static void
refuse_change (HaleHttp *self, SoupServerMessage *msg, const ExtraRoute *route, GHashTable *query,
               guint status, const char *error, const char *reason)
{
  g_auto (HttpCaller) caller = { 0 };
  g_autofree char *resource = g_utf8_make_valid (change_resource (route, query) ?: "", -1);

  http_caller_init (&caller, msg, FALSE);
  if (self->audit != NULL)
    hale_authority_audit_actor (self->audit, &caller.actor, route->change->action,
                                route->change->method, route->change->resource_type,
                                resource[0] != '\0' ? resource : NULL, reason);
  hale_http_set_json_error (msg, status, error, reason);
}

/* Credentials are valid: the caller is allowed, as polkit would have
 * said yes to the D-Bus call. */
static void
serve_change (HaleHttp *self, SoupServerMessage *msg, const ExtraRoute *route, GHashTable *query)
{
  g_auto (HttpCaller) caller = { 0 };
  g_autoptr (GHashTable) form = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;
  const char *resource = change_resource (route, query);
  const char *type
      = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);

  if (resource == NULL || !g_utf8_validate (resource, -1, NULL))
    {
      g_autofree char *m = g_strdup_printf (
          "%s= is missing or not UTF-8: POST %s?%s=NAME", route->change->resource_param,
          g_uri_get_path (soup_server_message_get_uri (msg)), route->change->resource_param);
      hale_http_set_json_error (msg, SOUP_STATUS_BAD_REQUEST, "bad_request", m);
      return;
    }
  body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  if (g_bytes_get_size (body) > 0 && g_strcmp0 (type, "application/x-www-form-urlencoded") != 0)
    {
      hale_http_set_json_error (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                                "the body must be application/x-www-form-urlencoded "
                                "(curl --data-urlencode 'ack-msg=TEXT')");
      return;
    }
  if (route->change->check != NULL && !route->change->check (resource, route->user_data, &error))
    {
      gboolean missing = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
      hale_http_set_json_error (msg, missing ? SOUP_STATUS_NOT_FOUND : SOUP_STATUS_BAD_REQUEST,
                                missing ? "not_found" : "bad_request", error->message);
      return;
    }
  form = soup_form_decode (g_bytes_get_size (body) > 0 ? g_bytes_get_data (body, NULL) : "");
  http_caller_init (&caller, msg, TRUE);
  if (self->audit != NULL)
    hale_authority_audit_actor (self->audit, &caller.actor, route->change->action,
                                route->change->method, route->change->resource_type, resource,
                                NULL);
  route->change_handler (msg, resource, form, &caller.actor, route->user_data);
}

/* For HEAD libsoup sends the headers, Content-Length included, and
 * leaves the body out. */
static void
serve_route (HaleHttp *self, SoupServerMessage *msg, const Match *m, const char *path,
             GHashTable *query)
{
  if (m->route == ROUTE_METRICS)
    serve_metrics (self, msg);
  else if (m->route == ROUTE_EXTRA && m->extra->change != NULL)
    serve_change (self, msg, m->extra, query);
  else if (m->route == ROUTE_EXTRA)
    m->extra->handler (msg, path, query, m->extra->user_data);
  else
    serve_report (self, msg, m->section);
}

/* libsoup frees the query when the handler returns: a request that
 * waits for its credentials keeps a copy. */
static GHashTable *
query_copy (GHashTable *query)
{
  GHashTable *copy;
  GHashTableIter iter;
  gpointer key, value;

  if (query == NULL)
    return NULL;
  copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&iter, query);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy, g_strdup (key), g_strdup (value));
  return copy;
}

/* A request waiting for its credentials to be checked. */
typedef struct
{
  HaleHttp *http;
  SoupServerMessage *msg;
  Match match; /* its extra route lives as long as the HaleHttp */
  char *path;
  GHashTable *query;     /* a copy, or NULL */
  gboolean disconnected; /* the client went away: nothing to unpause */
} PendingAuth;

static void
pending_disconnected_cb (SoupServerMessage *msg, gpointer data)
{
  ((PendingAuth *)data)->disconnected = TRUE;
}

static void
auth_checked_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  PendingAuth *pending = data;
  HaleHttpAuth *auth = HALE_HTTP_AUTH (source);
  HaleHttpAuthResult outcome = hale_http_auth_check_finish (auth, result);
  HaleHttp *self = pending->http;
  SoupServerMessage *msg = pending->msg;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  const char *endpoint = pending->match.route == ROUTE_METRICS ? "metrics" : "health";
  const char *face[] = { endpoint, NULL };
  const ExtraRoute *extra = pending->match.extra;

  g_signal_handlers_disconnect_by_func (msg, pending_disconnected_cb, pending);
  switch (outcome)
    {
      case HALE_HTTP_AUTH_OK:
        hale_http_metrics_count_auth (self->http_metrics, endpoint, TRUE);
        serve_route (self, msg, &pending->match, pending->path, pending->query);
        break;
      case HALE_HTTP_AUTH_BUSY:
        soup_message_headers_replace (headers, "Retry-After", "1");
        hale_http_set_json_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "busy",
                                  "too many credential checks at once; try again");
        break;
      case HALE_HTTP_AUTH_MISSING:
      case HALE_HTTP_AUTH_DENIED:
      default:
        /* The same bare answer whatever was wrong: which part of a
         * guess was right is not for the guesser to learn. */
        hale_metric_inc (self->auth_failures, face, 1);
        hale_http_metrics_count_auth (self->http_metrics, endpoint, FALSE);
        soup_message_headers_replace (headers, "WWW-Authenticate",
                                      hale_http_auth_get_challenge (auth));
        if (extra != NULL && extra->change != NULL)
          refuse_change (self, msg, extra, pending->query, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                         "authentication required");
        else
          hale_http_set_json_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                                    "authentication required");
        break;
    }
  /* A handler that waits in turn (cache=false) paused @msg itself and
   * unpauses it once it answered. */
  if (!pending->disconnected && soup_server_message_get_status (msg) != SOUP_STATUS_NONE)
    soup_server_message_unpause (msg);
  g_object_unref (pending->msg);
  g_object_unref (pending->http);
  g_free (pending->path);
  g_clear_pointer (&pending->query, g_hash_table_unref);
  g_free (pending);
}

static void
authenticate (HaleHttp *self, SoupServerMessage *msg, const Match *m, const char *path,
              GHashTable *query)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  PendingAuth *pending = g_new0 (PendingAuth, 1);

  pending->http = g_object_ref (self);
  pending->msg = g_object_ref (msg);
  pending->match = *m;
  pending->path = g_strdup (path);
  pending->query = query_copy (query);
  g_signal_connect (msg, "disconnected", G_CALLBACK (pending_disconnected_cb), pending);
  soup_server_message_pause (msg);
  hale_http_auth_check_async (self->auth, soup_message_headers_get_one (request, "Authorization"),
                              auth_checked_cb, pending);
}

/* One handler for every path: routing depends on the listener's roles,
 * which a reload may change without re-opening the socket. The query
 * string is ignored, except by hale_http_add_route() handlers. */
static void
handle_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer user_data)
{
  Listener *listener = user_data;
  HaleHttp *self = listener->http;
  Match m = route_for (listener, path);
  gint64 start = g_get_monotonic_time ();

  if (m.route == ROUTE_NONE)
    {
      /* The path is the client's: %ff decodes to bytes that are not
       * UTF-8, and the answer is JSON. */
      g_autofree char *clean = g_utf8_make_valid (path, -1);
      g_autofree char *message = g_strdup_printf ("no such path: %s", clean);
      hale_http_set_json_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", message);
    }
  /* handle_early() let only GET and HEAD through, and POST to a change. */
  else if (m.route == ROUTE_LANDING)
    serve_landing (listener, msg);
  else if (m.route == ROUTE_EXTRA && m.extra->change != NULL
           && (!self->health_auth || !hale_http_auth_is_enabled (self->auth)))
    /* A change open to anyone who reaches the port would let any local
     * user silence a failing check. */
    refuse_change (self, msg, m.extra, query, SOUP_STATUS_FORBIDDEN, "forbidden",
                   "changes over HTTP need credentials: set HealthAuth=same with "
                   "MetricsBearerTokenFile= or MetricsBasicAuthUsers= in [Monitoring], or use "
                   "halectl or D-Bus");
  else if ((m.route == ROUTE_METRICS || self->health_auth)
           && hale_http_auth_is_enabled (self->auth))
    authenticate (self, msg, &m, path, query);
  else
    serve_route (self, msg, &m, path, query);
  account (self, msg, m.handler, start);
}

/* A request refused before its body. libsoup 3.2 sends an early
 * handler's answer only once the declared body has been read (or on
 * Expect: 100-continue), so a client that declares 99999999 bytes and
 * sends none would wait for the request timeout. haled instead takes the
 * connection from libsoup, writes the answer itself and hangs up: the
 * body is never read. */
typedef struct
{
  SoupServerMessage *msg;
  GIOStream *stream;
  char *answer;
} Refusal;

static void
refusal_free (Refusal *r)
{
  g_clear_object (&r->msg);
  g_clear_object (&r->stream);
  g_free (r->answer);
  g_free (r);
}

static void
refusal_closed_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  refusal_free (data);
}

static void
refusal_written_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Refusal *r = data;

  /* A client that is gone already is no one to tell. */
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);
  g_io_stream_close_async (r->stream, G_PRIORITY_DEFAULT, NULL, refusal_closed_cb, r);
}

/* Out of the early handler's signal emission: libsoup's reader must not
 * lose its stream under its feet. */
static gboolean
refusal_send_cb (gpointer data)
{
  Refusal *r = data;

  r->stream = soup_server_message_steal_connection (r->msg);
  if (r->stream == NULL)
    {
      refusal_free (r);
      return G_SOURCE_REMOVE;
    }
  g_output_stream_write_all_async (g_io_stream_get_output_stream (r->stream), r->answer,
                                   strlen (r->answer), G_PRIORITY_DEFAULT, NULL, refusal_written_cb,
                                   r);
  return G_SOURCE_REMOVE;
}

static void
refuse_now (SoupServerMessage *msg, guint status, const char *error, const char *message,
            const char *allow)
{
  g_autofree char *body = json_error_text (error, message);
  Refusal *r = g_new0 (Refusal, 1);
  gboolean head = soup_server_message_get_method (msg) == SOUP_METHOD_HEAD;

  r->msg = g_object_ref (msg);
  r->answer
      = g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                         "Server: haled/" PACKAGE_VERSION "\r\n"
                         "Content-Type: application/json\r\n"
                         "Cache-Control: no-store\r\n"
                         "%s%s%s"
                         "Connection: close\r\n"
                         "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s",
                         status, soup_status_get_phrase (status), allow ? "Allow: " : "",
                         allow ? allow : "", allow ? "\r\n" : "", strlen (body), head ? "" : body);
  soup_server_message_pause (msg);
  g_idle_add (refusal_send_cb, r);
}

/* A change takes POST and a small form body, of a declared length, so
 * that what is read is bounded before it is read. */
#define CHANGE_BODY_MAX 8192

static void
early_change (HaleHttp *self, SoupServerMessage *msg, const char *path, const Match *m)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);
  guint status = SOUP_STATUS_NONE;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST)
    {
      g_autofree char *clean = g_utf8_make_valid (path, -1);
      g_autofree char *message = g_strdup_printf ("method %s is not allowed on %s; use POST",
                                                  soup_server_message_get_method (msg), clean);
      status = SOUP_STATUS_METHOD_NOT_ALLOWED;
      refuse_now (msg, status, "method_not_allowed", message, "POST");
    }
  else if (encoding == SOUP_ENCODING_CHUNKED)
    {
      status = SOUP_STATUS_LENGTH_REQUIRED;
      refuse_now (msg, status, "length_required",
                  "send the form with a Content-Length, not chunked", NULL);
    }
  else if (encoding == SOUP_ENCODING_CONTENT_LENGTH
           && soup_message_headers_get_content_length (headers) > CHANGE_BODY_MAX)
    {
      g_autofree char *message = g_strdup_printf (
          "the form is %" G_GINT64_FORMAT " bytes; at most %d are read",
          (gint64)soup_message_headers_get_content_length (headers), CHANGE_BODY_MAX);
      status = SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE;
      refuse_now (msg, status, "body_too_large", message, NULL);
    }
  if (status != SOUP_STATUS_NONE)
    hale_http_metrics_count (self->http_metrics, m->handler, status, 0);
  else
    soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), TRUE);
}

/* Runs when the request headers are in, before any body is read: a
 * method haled does not serve or a body it never reads is answered now,
 * so no client can make haled buffer (or wait for) a body of any size. */
static void
handle_early (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
              gpointer user_data)
{
  Listener *listener = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);
  Match m = route_for (listener, path);

  /* Defence: whatever body gets read is read into nothing. */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);

  if (m.route == ROUTE_EXTRA && m.extra->change != NULL)
    {
      early_change (listener->http, msg, path, &m);
      return;
    }
  /* Methods are interned by libsoup: pointer comparison is enough. */
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      g_autofree char *clean = g_utf8_make_valid (path, -1);
      g_autofree char *message
          = g_strdup_printf ("method %s is not allowed on %s; use GET or HEAD", method, clean);
      refuse_now (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed", message, "GET, HEAD");
      hale_http_metrics_count (listener->http->http_metrics, m.handler,
                               SOUP_STATUS_METHOD_NOT_ALLOWED, 0);
      return;
    }
  /* A chunked body has no length (libsoup says 0): it is a body all
   * the same. */
  if (encoding == SOUP_ENCODING_CHUNKED
      || (encoding == SOUP_ENCODING_CONTENT_LENGTH
          && soup_message_headers_get_content_length (headers) != 0))
    {
      refuse_now (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body_not_allowed",
                  "GET and HEAD requests to haled carry no body", NULL);
      hale_http_metrics_count (listener->http->http_metrics, m.handler,
                               SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, 0);
    }
}

/* Connections. A client that stops mid-request (or a slow loris) would
 * hold its connection, and a file descriptor, for ever: every read and
 * write on a connection gives up after this long without progress. */
#define CONNECTION_IO_TIMEOUT_S 10

static char *
address_key (GSocketAddress *address);

/* The socket of @msg's connection. libsoup 3.2 knows it only for the
 * connections it accepted itself; haled accepts its own (to do TLS its
 * way) and hands them over as streams, so it keeps them by the client's
 * address, which is unique among open connections. */
static GSocket *
message_socket (Listener *listener, SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  GSocketAddress *remote;
  g_autofree char *key = NULL;

  if (socket != NULL || listener->connections == NULL)
    return socket;
  remote = soup_server_message_get_remote_address (msg);
  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    return NULL;
  key = address_key (remote);
  return g_hash_table_lookup (listener->connections, key);
}

static gboolean
socket_is_closed (gpointer key, gpointer value, gpointer user_data)
{
  return g_socket_is_closed (value);
}

static void
track_connection (Listener *listener, GSocketConnection *connection, GSocketAddress *remote)
{
  /* Connections libsoup closed are forgotten here, lazily. */
  g_hash_table_foreach_remove (listener->connections, socket_is_closed, NULL);
  if (remote != NULL && G_IS_INET_SOCKET_ADDRESS (remote))
    {
      GSocket *socket = g_socket_connection_get_socket (connection);

      if (listener->tls != NULL)
        g_object_set_data (G_OBJECT (socket), "hale-tls", GINT_TO_POINTER (TRUE));
      g_hash_table_replace (listener->connections, address_key (remote), g_object_ref (socket));
    }
}

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  GSocket *socket = message_socket (user_data, msg);

  if (socket != NULL)
    g_socket_set_timeout (socket, CONNECTION_IO_TIMEOUT_S);
}

/* libsoup before 3.3 never notices a client closing a kept-alive
 * connection between two requests (fixed upstream by commit d20c6601):
 * the socket stays in CLOSE-WAIT and its descriptor is lost, until
 * accept() fails and the listener stops for good. So between requests
 * haled watches the socket itself: new bytes are the next request, for
 * libsoup; an end of stream means the client is gone, and the socket is
 * closed here. (libsoup still keeps its small connection object.) */
/* On TLS the bytes that arrive on an idle connection may be the next
 * request or the client's close_notify alert followed by its FIN, and
 * peeking cannot tell them apart (TLS 1.3 encrypts alerts). So bytes
 * must turn into a request within the I/O timeout, or the client is
 * taken to have gone and the socket is closed. */
#define PENDING_REQUEST "hale-pending-request"

static gboolean
close_unless_read_cb (gpointer data)
{
  GSocket *socket = data;

  g_object_set_data (G_OBJECT (socket), PENDING_REQUEST, NULL);
  if (!g_socket_is_closed (socket))
    g_socket_close (socket, NULL);
  return G_SOURCE_REMOVE;
}

static void
expect_request (GSocket *socket)
{
  guint id
      = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, CONNECTION_IO_TIMEOUT_S,
                                    close_unless_read_cb, g_object_ref (socket), g_object_unref);
  g_object_set_data (G_OBJECT (socket), PENDING_REQUEST, GUINT_TO_POINTER (id));
}

static void
on_request_read (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  GSocket *socket = message_socket (user_data, msg);
  guint id = socket != NULL
                 ? GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (socket), PENDING_REQUEST))
                 : 0;

  if (id != 0)
    {
      g_source_remove (id);
      g_object_set_data (G_OBJECT (socket), PENDING_REQUEST, NULL);
    }
}

static gboolean
on_idle_socket (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  char byte;
  gssize n = recv (g_socket_get_fd (socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);

  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (condition & (G_IO_HUP | G_IO_ERR)))
    g_socket_close (socket, NULL);
  else if (n > 0 && g_object_get_data (G_OBJECT (socket), "hale-tls") != NULL)
    expect_request (socket);
  return G_SOURCE_REMOVE;
}

/* As libsoup decides whether a connection outlives its request. */
static gboolean
is_keepalive (SoupServerMessage *msg)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);

  if (soup_message_headers_header_contains (response, "Connection", "close")
      || soup_message_headers_header_contains (request, "Connection", "close"))
    return FALSE;
  if (soup_server_message_get_http_version (msg) == SOUP_HTTP_1_0)
    return soup_message_headers_header_contains (request, "Connection", "Keep-Alive");
  return TRUE;
}

static void
on_request_finished (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  GSocket *socket = message_socket (user_data, msg);
  g_autoptr (GSource) source = NULL;

  if (socket == NULL || g_socket_is_closed (socket) || !is_keepalive (msg))
    return;
  source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (on_idle_socket), g_object_ref (socket),
                         g_object_unref);
  g_source_set_static_name (source, "[haled] idle connection");
  g_source_attach (source, NULL);
}

/* libsoup 3.2 also keeps about 2 KB for every kept-alive connection the
 * client closes, for ever (the same upstream fix): 15 MB a day for one
 * checker every 10 s. A connection libsoup closes itself after its
 * answer is freed whole, so with libsoup < 3.3 every answer says
 * "Connection: close". What it costs a client is one TCP handshake on
 * loopback or the LAN per request (docs/http.md). */
static void
on_request_started_close (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
}

static void
guard_connections (SoupServer *server, Listener *listener)
{
  g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), listener);
  if (soup_get_major_version () == 3 && soup_get_minor_version () < 3)
    {
      g_signal_connect (server, "request-finished", G_CALLBACK (on_request_finished), listener);
      g_signal_connect (server, "request-read", G_CALLBACK (on_request_read), listener);
      g_signal_connect (server, "request-started", G_CALLBACK (on_request_started_close), NULL);
    }
}

/* Listening */

/* "host:port" as operators write it, to the address to bind. */
static GSocketAddress *
resolve_listen (const char *key_name, const char *text, GError **error)
{
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) address = NULL;
  guint16 port = 0;
  const char *literal;

  if (text == NULL || !hale_listen_parse (text, &host, &port, error))
    {
      if (text == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s is not set", key_name);
      else
        g_prefix_error (error, "%s=%s: ", key_name, text);
      return NULL;
    }

  literal = host ? host : "";
  /* Accept "[::1]" whether or not the parser kept the brackets. */
  if (literal[0] == '[' && g_str_has_suffix (literal, "]"))
    {
      char *inner = g_strndup (literal + 1, strlen (literal) - 2);
      g_free (host);
      host = inner;
      literal = inner;
    }

  if (literal[0] == '\0')
    address = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  else if (g_ascii_strcasecmp (literal, "localhost") == 0)
    address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  else
    address = g_inet_address_new_from_string (literal);

  /* hale_listen_parse() lets only IP literals and localhost through. */
  g_return_val_if_fail (address != NULL, NULL);
  return g_inet_socket_address_new (address, port);
}

static char *
address_key (GSocketAddress *address)
{
  GInetAddress *inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  g_autofree char *host = g_inet_address_to_string (inet);
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));

  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

static GSocket *
open_socket (GSocketAddress *address, GError **error)
{
  g_autoptr (GSocket) socket = NULL;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  /* allow_reuse sets SO_REUSEADDR: a restart must not be refused for
   * the old process's connections in TIME_WAIT. On Linux it still
   * refuses a port another socket listens on. */
  if (!g_socket_bind (socket, address, TRUE, error))
    return NULL;
  /* As libsoup's own listener does; accepted sockets inherit it. */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_listen (socket, error))
    return NULL;
  return g_steal_pointer (&socket);
}

/* Connections ------------------------------------------------------------ */

static void
hand_to_soup (Listener *listener, GIOStream *stream, GSocketConnection *connection)
{
  g_autoptr (GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr (GError) error = NULL;

  track_connection (listener, connection, remote);
  if (!soup_server_accept_iostream (listener->server, stream, local, remote, &error))
    g_debug ("%s: cannot serve a connection: %s", listener->key, error->message);
}

static gboolean
handshake_timeout_cb (gpointer data)
{
  Handshake *h = data;

  h->timeout_id = 0;
  g_cancellable_cancel (h->cancellable);
  return G_SOURCE_REMOVE;
}

static guint
protocol_version_number (GTlsProtocolVersion version)
{
  switch (version)
    {
      case G_TLS_PROTOCOL_VERSION_TLS_1_2:
        return 12;
      case G_TLS_PROTOCOL_VERSION_TLS_1_3:
        return 13;
      case G_TLS_PROTOCOL_VERSION_UNKNOWN: /* newer than GLib knows */
        return 99;
      default:
        return 0; /* SSL 3, TLS 1.0, 1.1, DTLS */
    }
}

static void
handshake_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Handshake *h = data;
  Listener *listener = h->listener;
  g_autoptr (GError) error = NULL;
  GIOStream *base = NULL;

  g_clear_handle_id (&h->timeout_id, g_source_remove);
  if (listener != NULL)
    g_ptr_array_remove_fast (listener->shaking, h);
  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      /* Scanners, clients without the right certificate, clients that
       * do not trust ours: theirs to log, not ours. */
      if (listener != NULL)
        g_debug ("%s: TLS handshake failed: %s", listener->key, error->message);
      handshake_free (h);
      return;
    }
  if (listener == NULL)
    {
      handshake_free (h);
      return;
    }
  if (protocol_version_number (g_tls_connection_get_protocol_version (h->tls)) < h->min_version)
    {
      /* GLib 2.74 cannot refuse an old version during the handshake:
       * hang up before reading a byte of the request instead. */
      g_autofree char *suite = g_tls_connection_get_ciphersuite_name (h->tls);

      g_debug ("%s: refusing %s: the listener's minimum is TLS 1.%u", listener->key,
               suite ? suite : "?", h->min_version - 10);
      g_io_stream_close_async (G_IO_STREAM (h->tls), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      handshake_free (h);
      return;
    }
  g_object_get (h->tls, "base-io-stream", &base, NULL);
  hand_to_soup (listener, G_IO_STREAM (h->tls), G_SOCKET_CONNECTION (base));
  g_object_unref (base);
  handshake_free (h);
}

/* glib-networking verifies the client's certificate against the
 * connection's database (MetricsTLSClientCA) and then asks the server,
 * even when verification found nothing wrong: accept exactly then, and
 * say why otherwise, for the operator chasing a scrape that fails. */
static gboolean
accept_client_certificate_cb (GTlsConnection *connection, GTlsCertificate *peer,
                              GTlsCertificateFlags errors, gpointer data)
{
  Listener *listener = data;
  g_autofree char *subject = NULL;

  if (errors == 0)
    return TRUE;
  subject = g_tls_certificate_get_subject_name (peer);
  g_debug ("%s: client certificate \"%s\" refused (GTlsCertificateFlags 0x%x)", listener->key,
           subject ? subject : "?", errors);
  return FALSE;
}

/* A plain connection whose request head passed hale-http-gate.c. */
static void
head_complete (GSocketConnection *connection, gpointer data)
{
  Listener *listener = data;

  g_socket_set_timeout (g_socket_connection_get_socket (connection), CONNECTION_IO_TIMEOUT_S);
  hand_to_soup (listener, G_IO_STREAM (connection), connection);
}

static gboolean
incoming_cb (GSocketService *service, GSocketConnection *connection, GObject *source_object,
             gpointer data)
{
  Listener *listener = data;
  ServingTls *tls = listener->tls;
  g_autoptr (GError) error = NULL;
  GIOStream *stream;
  Handshake *h;

  if (tls == NULL)
    {
      hale_http_gate_admit (listener->http->gate, connection, head_complete, listener);
      return TRUE;
    }
  /* From the first byte, handshake included: a client that stalls is
   * dropped (on_request_started() sets the same once libsoup has it). */
  g_socket_set_timeout (g_socket_connection_get_socket (connection), CONNECTION_IO_TIMEOUT_S);

  /* The certificate as it is now: a renewal swaps it for the handshakes
   * after this one. */
  stream = g_tls_server_connection_new (G_IO_STREAM (connection), tls->certificate, &error);
  if (stream == NULL)
    {
      g_warning ("%s: cannot start TLS: %s", listener->key, error->message);
      return TRUE;
    }
  if (tls->client_ca != NULL)
    {
      g_tls_connection_set_database (G_TLS_CONNECTION (stream), tls->client_ca);
      g_object_set (stream, "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED, NULL);
      g_signal_connect (stream, "accept-certificate", G_CALLBACK (accept_client_certificate_cb),
                        listener);
    }
  h = g_new0 (Handshake, 1);
  h->listener = listener;
  h->tls = G_TLS_CONNECTION (stream);
  h->min_version = tls->config.min_version;
  h->cancellable = g_cancellable_new ();
  h->timeout_id = g_timeout_add_seconds (HANDSHAKE_TIMEOUT_SECONDS, handshake_timeout_cb, h);
  g_ptr_array_add (listener->shaking, h);
  g_tls_connection_handshake_async (h->tls, G_PRIORITY_DEFAULT, h->cancellable, handshake_done_cb,
                                    h);
  return TRUE;
}

/* Serving certificates ------------------------------------------------------ */

/* Reads the pair once and checks it with GnuTLS (which refuses a key
 * that does not match the certificate: GLib would accept the pair and
 * every handshake would then fail). Runs at configure time and in a
 * worker thread on renewal. */
static GTlsCertificate *
load_certificate (const HaleTlsConfig *config, const char *prefix, GError **error)
{
  g_autofree char *cert_pem = NULL;
  g_autofree char *key_pem = NULL;
  g_autofree char *both = NULL;
  gsize cert_len = 0, key_len = 0;
  gnutls_certificate_credentials_t credentials = NULL;
  gnutls_datum_t cert_datum, key_datum;
  g_autoptr (GError) local_error = NULL;
  GTlsCertificate *certificate;
  int ret;

  if (!g_file_get_contents (config->certificate, &cert_pem, &cert_len, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%sTLSCertificate=%s: %s", prefix,
                   config->certificate, local_error->message);
      return NULL;
    }
  if (!g_file_get_contents (config->key, &key_pem, &key_len, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%sTLSKey=%s: %s", prefix, config->key,
                   local_error->message);
      return NULL;
    }

  cert_datum = (gnutls_datum_t){ (unsigned char *)cert_pem, (unsigned int)cert_len };
  key_datum = (gnutls_datum_t){ (unsigned char *)key_pem, (unsigned int)key_len };
  ret = gnutls_certificate_allocate_credentials (&credentials);
  if (ret >= 0)
    ret = gnutls_certificate_set_x509_key_mem2 (credentials, &cert_datum, &key_datum,
                                                GNUTLS_X509_FMT_PEM, NULL, 0);
  if (credentials != NULL)
    gnutls_certificate_free_credentials (credentials);
  if (ret < 0)
    {
      g_set_error (
          error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%sTLSCertificate=%s with %sTLSKey=%s: %s",
          prefix, config->certificate, prefix, config->key,
          ret == GNUTLS_E_CERTIFICATE_KEY_MISMATCH ? "the key does not belong to the certificate"
                                                   : gnutls_strerror (ret));
      explicit_bzero (key_pem, key_len);
      return NULL;
    }

  both = g_strconcat (cert_pem, "\n", key_pem, NULL);
  explicit_bzero (key_pem, key_len);
  certificate = g_tls_certificate_new_from_pem (both, -1, &local_error);
  explicit_bzero (both, strlen (both));
  if (certificate == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%sTLSCertificate=%s: %s", prefix,
                 config->certificate, local_error->message);
  return certificate;
}

typedef struct
{
  Listener *listener; /* checked against the listeners still open */
  ServingTls *tls;
  guint generation;
  HaleTlsConfig config;
  const char *prefix;
} Renewal;

static void
renewal_free (Renewal *r)
{
  g_free (r->config.certificate);
  g_free (r->config.key);
  g_free (r->config.client_ca);
  g_free (r);
}

static void
renewal_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Renewal *r = data;
  GError *error = NULL;
  GTlsCertificate *certificate = load_certificate (&r->config, r->prefix, &error);

  if (certificate == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, certificate, g_object_unref);
}

static void
renewal_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  HaleHttp *self = HALE_HTTP (source);
  Renewal *r = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = g_task_propagate_pointer (G_TASK (result), &error);
  Listener *listener = NULL;

  /* The listener, and its TLS, may have gone with a reload meanwhile. */
  for (guint i = 0; i < self->listeners->len; i++)
    if (g_ptr_array_index (self->listeners, i) == r->listener)
      listener = r->listener;
  if (listener == NULL || listener->tls != r->tls || r->tls->generation != r->generation)
    return;
  if (certificate == NULL)
    {
      g_warning ("%s: serving certificate not renewed, the previous one stays: %s", listener->key,
                 error->message);
      return;
    }
  g_set_object (&listener->tls->certificate, certificate);
  g_message ("%s: serving certificate %s reloaded; new connections use it", listener->key,
             listener->tls->config.certificate);
}

static void
serving_files_changed (gpointer data)
{
  Listener *listener = data;
  g_autoptr (GTask) task = NULL;
  Renewal *r = g_new0 (Renewal, 1);

  r->listener = listener;
  r->tls = listener->tls;
  r->generation = ++listener->tls->generation;
  r->prefix = listener->tls->prefix;
  tls_config_copy (&r->config, &listener->tls->config);
  task = g_task_new (listener->http, NULL, renewal_done_cb, NULL);
  g_task_set_source_tag (task, serving_files_changed);
  g_task_set_task_data (task, r, (GDestroyNotify)renewal_free);
  g_task_run_in_thread (task, renewal_thread);
}

/* NULL with @error unset for a plain listener. */
static ServingTls *
serving_tls_new (const HaleTlsConfig *config, const char *prefix, GError **error)
{
  g_autoptr (ServingTls) tls = NULL;
  g_autoptr (GError) local_error = NULL;

  if (config->certificate == NULL)
    return NULL;
  tls = g_new0 (ServingTls, 1);
  tls->prefix = prefix;
  tls_config_copy (&tls->config, config);
  tls->certificate = load_certificate (&tls->config, prefix, error);
  if (tls->certificate == NULL)
    return NULL;
  if (config->client_ca != NULL)
    {
      tls->client_ca = g_tls_file_database_new (config->client_ca, &local_error);
      if (tls->client_ca == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%sTLSClientCA=%s: %s", prefix,
                       config->client_ca, local_error->message);
          return NULL;
        }
    }
  return g_steal_pointer (&tls);
}

static void
listener_set_tls (Listener *listener, ServingTls *tls)
{
  const char *paths[3] = { NULL };

  serving_tls_free (listener->tls);
  listener->tls = tls;
  if (tls == NULL)
    return;
  paths[0] = tls->config.certificate;
  paths[1] = tls->config.key;
  tls->watch = hale_file_watch_new (paths, serving_files_changed, listener);
}

static Listener *
listener_open (HaleHttp *self, const char *key_name, const char *text, GSocketAddress *address,
               GError **error)
{
  g_autoptr (Listener) listener = g_new0 (Listener, 1);
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GSocket) anchor = NULL;
  g_autoptr (GError) local_error = NULL;
  GInetAddress *inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  int pair[2];

  socket = open_socket (address, &local_error);
  /* The wildcard on a host without IPv6: IPv4 only. */
  if (socket == NULL && g_inet_address_get_is_any (inet)
      && g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6
      && !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
    {
      g_autoptr (GInetAddress) any4 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
      g_autoptr (GSocketAddress) address4 = g_inet_socket_address_new (
          any4, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
      g_clear_error (&local_error);
      socket = open_socket (address4, &local_error);
    }
  if (socket == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "%s=%s: cannot listen: ", key_name, text);
      return NULL;
    }

  local = g_socket_get_local_address (socket, error);
  if (local == NULL)
    return NULL;

  listener->http = self;
  listener->key = address_key (address);
  listener->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  listener->server = soup_server_new ("server-header", "haled/" PACKAGE_VERSION, NULL);
  soup_server_add_early_handler (listener->server, NULL, handle_early, listener, NULL);
  soup_server_add_handler (listener->server, NULL, handle_request, listener, NULL);
  guard_connections (listener->server, listener);
  /* libsoup 3.2 keeps a connection alive only while the server has a
   * listener of its own (request_finished() checks priv->listeners);
   * connections handed over with soup_server_accept_iostream() would
   * all be closed after one request. Its listener here is one end of a
   * socket pair whose other end we hold and never write to: it never
   * becomes readable, so it never accepts anything, and nobody else can
   * connect to it. */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s=%s: socketpair: %s",
                   key_name, text, g_strerror (saved));
      return NULL;
    }
  anchor = g_socket_new_from_fd (pair[0], &local_error);
  if (anchor == NULL)
    close (pair[0]);
  listener->anchor_peer = g_socket_new_from_fd (pair[1], local_error ? NULL : &local_error);
  if (listener->anchor_peer == NULL)
    close (pair[1]);
  if (anchor == NULL || listener->anchor_peer == NULL
      || !soup_server_listen_socket (listener->server, anchor, 0, &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "%s=%s: cannot listen: ", key_name, text);
      return NULL;
    }

  listener->shaking = g_ptr_array_new ();
  listener->connections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  listener->service = g_socket_service_new ();
  if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (listener->service), socket, NULL,
                                     &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "%s=%s: cannot listen: ", key_name, text);
      return NULL;
    }
  g_signal_connect (listener->service, "incoming", G_CALLBACK (incoming_cb), listener);
  g_socket_service_start (listener->service);
  g_debug ("listening on %s (port %u) for %s", listener->key, listener->port, key_name);
  return g_steal_pointer (&listener);
}

static Listener *
find_listener (GPtrArray *listeners, const char *key)
{
  for (guint i = 0; i < listeners->len; i++)
    {
      Listener *listener = g_ptr_array_index (listeners, i);
      if (g_str_equal (listener->key, key))
        return listener;
    }
  return NULL;
}

/* Opens what is new first and only then closes what went away, so a
 * reload that fails to bind changes nothing. The price: moving onto an
 * address that overlaps the old one on the same port (127.0.0.1:9091 to
 * :9091) fails while the old socket is open; a restart does it. */
gboolean
hale_http_configure (HaleHttp *self, HaleConfig *config, GError **error)
{
  const struct
  {
    const char *key_name;
    const char *text;
    ListenerRole role;
    const HaleTlsConfig *tls;
    const char *prefix;
  } wanted[] = {
    { "MetricsListen", config->metrics_listen, ROLE_METRICS, &config->metrics_tls, "Metrics" },
    { "HealthListen", config->health_listen, ROLE_HEALTH, &config->health_tls, "Health" },
  };
  g_autoptr (GPtrArray) next = g_ptr_array_new ();
  g_autoptr (GPtrArray) opened = g_ptr_array_new_with_free_func ((GDestroyNotify)listener_free);
  g_autoptr (HaleHttpAuth) auth = hale_http_auth_new ();
  guint roles[G_N_ELEMENTS (wanted)] = { 0 };
  const HaleTlsConfig *tls_of[G_N_ELEMENTS (wanted)] = { NULL };
  const char *prefix_of[G_N_ELEMENTS (wanted)] = { NULL };
  gboolean change_tls[G_N_ELEMENTS (wanted)] = { FALSE };
  ServingTls *loaded_tls[G_N_ELEMENTS (wanted)] = { NULL };

  g_return_val_if_fail (HALE_IS_HTTP (self), FALSE);
  g_return_val_if_fail (config != NULL, FALSE);

  /* Everything that reads a file first, into new objects: a reload that
   * fails changes nothing. */
  if (!hale_http_auth_configure (auth, config->metrics_bearer_token_file,
                                 config->metrics_basic_auth_users, error))
    return FALSE;

  for (gsize i = 0; i < G_N_ELEMENTS (wanted); i++)
    {
      g_autoptr (GSocketAddress) address
          = resolve_listen (wanted[i].key_name, wanted[i].text, error);
      g_autofree char *key = NULL;
      Listener *listener;
      guint index;

      if (address == NULL)
        return FALSE;
      key = address_key (address);

      listener = find_listener (next, key);
      if (listener == NULL)
        listener = find_listener (self->listeners, key);
      if (listener == NULL)
        {
          listener = listener_open (self, wanted[i].key_name, wanted[i].text, address, error);
          if (listener == NULL)
            return FALSE; /* @opened closes what this reload opened */
          g_ptr_array_add (opened, listener);
        }
      if (!g_ptr_array_find (next, listener, &index))
        {
          g_ptr_array_add (next, listener);
          index = next->len - 1;
          /* One listener, one TLS setting: the first face's (the
           * configuration makes both agree). */
          tls_of[index] = wanted[i].tls;
          prefix_of[index] = wanted[i].prefix;
        }
      roles[index] |= wanted[i].role;
    }

  /* Certificates are read again on every reload, as a web server does
   * on SIGHUP: a renewal the file monitor missed is picked up, and a
   * file gone bad fails the reload instead of the next handshake. */
  for (guint i = 0; i < next->len; i++)
    {
      Listener *listener = g_ptr_array_index (next, i);
      g_autoptr (GError) local_error = NULL;

      if (listener->tls == NULL && tls_of[i]->certificate == NULL)
        continue;
      change_tls[i] = TRUE;
      loaded_tls[i] = serving_tls_new (tls_of[i], prefix_of[i], &local_error);
      if (loaded_tls[i] == NULL && local_error != NULL)
        {
          for (guint j = 0; j < i; j++)
            serving_tls_free (loaded_tls[j]);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }

  /* Everything is bound and loaded: switch over. */
  for (guint i = 0; i < next->len; i++)
    {
      Listener *listener = g_ptr_array_index (next, i);

      listener->roles = roles[i];
      if (change_tls[i])
        listener_set_tls (listener, loaded_tls[i]);
    }
  g_set_object (&self->auth, auth);
  self->health_auth = config->health_auth;
  g_free (self->path_prefix);
  self->path_prefix = g_strdup (config->health_path_prefix ? config->health_path_prefix : "");
  if (hale_http_auth_is_enabled (self->auth))
    {
      const char *metrics[] = { "metrics", NULL };
      const char *health[] = { "health", NULL };
      hale_metric_touch (self->auth_failures, metrics);
      hale_http_metrics_touch_auth (self->http_metrics, "metrics");
      if (self->health_auth)
        {
          hale_metric_touch (self->auth_failures, health);
          hale_http_metrics_touch_auth (self->http_metrics, "health");
        }
    }
  g_ptr_array_set_free_func (opened, NULL);
  for (guint i = 0; i < self->listeners->len; i++)
    {
      Listener *old = g_ptr_array_index (self->listeners, i);
      if (!g_ptr_array_find (next, old, NULL))
        listener_free (old);
    }
  g_ptr_array_set_size (self->listeners, 0);
  g_ptr_array_extend (self->listeners, next, NULL, NULL);
  return TRUE;
}

static guint16
port_for_role (HaleHttp *self, ListenerRole role)
{
  for (guint i = 0; i < self->listeners->len; i++)
    {
      Listener *listener = g_ptr_array_index (self->listeners, i);
      if (listener->roles & role)
        return listener->port;
    }
  return 0;
}

guint16
hale_http_get_metrics_port (HaleHttp *self)
{
  g_return_val_if_fail (HALE_IS_HTTP (self), 0);
  return port_for_role (self, ROLE_METRICS);
}

guint16
hale_http_get_health_port (HaleHttp *self)
{
  g_return_val_if_fail (HALE_IS_HTTP (self), 0);
  return port_for_role (self, ROLE_HEALTH);
}

static void
hale_http_finalize (GObject *object)
{
  HaleHttp *self = HALE_HTTP (object);

  /* Listeners first: their servers' handlers use the report and the
   * metrics. */
  for (guint i = 0; i < self->listeners->len; i++)
    listener_free (g_ptr_array_index (self->listeners, i));
  g_ptr_array_unref (self->listeners);
  g_clear_pointer (&self->gate, hale_http_gate_free);
  g_clear_object (&self->auth);
  g_hash_table_unref (self->routes);
  g_hash_table_unref (self->ft_routes);
  g_free (self->path_prefix);
  g_clear_object (&self->audit);
  hale_http_metrics_free (self->http_metrics);
  g_clear_object (&self->report);
  g_clear_object (&self->exposition);
  g_clear_object (&self->metrics);
  G_OBJECT_CLASS (hale_http_parent_class)->finalize (object);
}

static void
hale_http_class_init (HaleHttpClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hale_http_finalize;
}

static void
hale_http_init (HaleHttp *self)
{
  /* No free function: hale_http_configure() moves listeners between
   * arrays and frees only those that went away. */
  self->listeners = g_ptr_array_new ();
  self->routes
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)extra_route_free);
  self->ft_routes
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)extra_route_free);
  self->path_prefix = g_strdup ("");
}

/* @route into @table at @path, with its handler label. */
static void
add_route (HaleHttp *self, GHashTable *table, const char *path, HaleHttpHandler handler,
           gpointer user_data, GDestroyNotify destroy)
{
  ExtraRoute *route = g_new0 (ExtraRoute, 1);

  route->handler = handler;
  route->user_data = user_data;
  route->destroy = destroy;
  route->handler_id = hale_http_metrics_handler (self->http_metrics, path);
  g_hash_table_replace (table, g_strdup (path), route);
}

void
hale_http_add_route (HaleHttp *self, const char *path, HaleHttpHandler handler, gpointer user_data,
                     GDestroyNotify destroy)
{
  g_return_if_fail (HALE_IS_HTTP (self));
  g_return_if_fail (path != NULL && path[0] == '/');
  g_return_if_fail (handler != NULL);

  add_route (self, self->routes, path, handler, user_data, destroy);
}

void
hale_http_add_ft_route (HaleHttp *self, const char *path, HaleHttpHandler handler,
                        gpointer user_data, GDestroyNotify destroy)
{
  g_return_if_fail (HALE_IS_HTTP (self));
  g_return_if_fail (path != NULL && path[0] == '/');
  g_return_if_fail (handler != NULL);

  add_route (self, self->ft_routes, path, handler, user_data, destroy);
}

void
hale_http_add_ft_change (HaleHttp *self, const char *path, const HaleHttpChange *change,
                         HaleHttpChangeHandler handler, gpointer user_data, GDestroyNotify destroy)
{
  ExtraRoute *route;

  g_return_if_fail (HALE_IS_HTTP (self));
  g_return_if_fail (path != NULL && path[0] == '/');
  g_return_if_fail (change != NULL && handler != NULL);

  add_route (self, self->ft_routes, path, NULL, user_data, destroy);
  route = g_hash_table_lookup (self->ft_routes, path);
  route->change_handler = handler;
  route->change = change;
}

void
hale_http_set_audit (HaleHttp *self, HaleAudit *audit)
{
  g_return_if_fail (HALE_IS_HTTP (self));
  g_set_object (&self->audit, audit);
}

const char *
hale_http_get_path_prefix (HaleHttp *self)
{
  g_return_val_if_fail (HALE_IS_HTTP (self), "");
  return self->path_prefix;
}

HaleHttp *
hale_http_new (HaleReport *report, HaleMetrics *metrics)
{
  HaleHttp *self;

  g_return_val_if_fail (HALE_IS_REPORT (report), NULL);
  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);

  self = g_object_new (HALE_TYPE_HTTP, NULL);
  self->report = g_object_ref (report);
  self->metrics = g_object_ref (metrics);
  self->exposition = hale_exposition_new (metrics);
  self->auth = hale_http_auth_new ();
  self->http_metrics = hale_http_metrics_new (metrics);
  for (guint i = 0; i < N_BUILTIN; i++)
    self->builtin_handlers[i] = hale_http_metrics_handler (self->http_metrics, builtin_names[i]);
  self->auth_failures = hale_metrics_add (
      metrics, HALE_METRIC_COUNTER, "http_auth_failures_total",
      "Requests refused with 401 for missing or wrong credentials, by listener (metrics or "
      "health).",
      NULL, (const char *const[]){ "listener", NULL }, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->gate = hale_http_gate_new (metrics, 0);
  return self;
}
