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
 */
#include "config.h"

#include "hale-http.h"

#include <errno.h>
#include <gio/gnetworking.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "hale-units.h"

/* What the kernel may queue before we accept; it caps it at
 * net.core.somaxconn (4096 on current kernels). */
#define LISTEN_BACKLOG 4096

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
  HaleHttp *http;
} Listener;

struct _HaleHttp
{
  GObject parent_instance;

  HaleReport *report;
  HaleMetrics *metrics;
  GPtrArray *listeners; /* Listener */
  GHashTable *routes;   /* path -> ExtraRoute: hale_http_add_route() */
};

typedef struct
{
  HaleHttpHandler handler;
  gpointer user_data;
  GDestroyNotify destroy;
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
listener_free (Listener *listener)
{
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
  g_free (listener->key);
  g_free (listener);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Listener, listener_free)

/* Requests */

static void
set_json_error (SoupServerMessage *msg, guint status, const char *error, const char *message)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  gsize len;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, error);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  line = g_strconcat (text, "\n", NULL);
  len = strlen (line);

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&line), len);
}

static void
set_bytes (SoupServerMessage *msg, guint status, const char *content_type, GBytes *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (headers, "Content-Type", content_type);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), body);
}

/* "gzip" (or "*") with a quality above zero, and not refused. */
static gboolean
accepts_gzip (const char *accept_encoding)
{
  GSList *unacceptable = NULL;
  GSList *acceptable;
  gboolean gzip = FALSE;
  gboolean refused = FALSE;

  if (accept_encoding == NULL)
    return FALSE;

  acceptable = soup_header_parse_quality_list (accept_encoding, &unacceptable);
  for (GSList *l = unacceptable; l != NULL; l = l->next)
    if (g_ascii_strcasecmp (l->data, "gzip") == 0)
      refused = TRUE;
  for (GSList *l = acceptable; l != NULL; l = l->next)
    if (g_ascii_strcasecmp (l->data, "gzip") == 0 || g_ascii_strcasecmp (l->data, "x-gzip") == 0
        || g_str_equal (l->data, "*"))
      gzip = TRUE;
  soup_header_free_list (acceptable);
  soup_header_free_list (unacceptable);
  return gzip && !refused;
}

static void
serve_metrics (HaleHttp *self, SoupServerMessage *msg)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  HaleMetricsFormat format
      = hale_metrics_negotiate (soup_message_headers_get_list (request, "Accept"));
  gboolean gzip = accepts_gzip (soup_message_headers_get_list (request, "Accept-Encoding"));
  g_autoptr (GBytes) body = hale_metrics_render (self->metrics, format, gzip);

  /* libsoup's server does not compress: the registry caches the gzip
   * form next to the text, so it is compressed once per change. */
  if (gzip)
    soup_message_headers_replace (response, "Content-Encoding", "gzip");
  soup_message_headers_replace (response, "Vary", "Accept, Accept-Encoding");
  set_bytes (msg, SOUP_STATUS_OK, hale_metrics_content_type (format), body);
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

static Route
route_for (Listener *listener, const char *path, HaleReportSection *out_section)
{
  static const struct
  {
    const char *path;
    HaleReportSection section;
  } health_paths[] = {
    { "/health", HALE_REPORT_ALL },
    { "/health/certificate", HALE_REPORT_CERTIFICATE },
    { "/health/connectivity", HALE_REPORT_CONNECTIVITY },
    { "/health/services", HALE_REPORT_SERVICES },
  };

  if (g_str_equal (path, "/"))
    return ROUTE_LANDING;
  if ((listener->roles & ROLE_METRICS) && g_str_equal (path, "/metrics"))
    return ROUTE_METRICS;
  if ((listener->roles & ROLE_HEALTH) && g_hash_table_contains (listener->http->routes, path))
    return ROUTE_EXTRA;
  if (listener->roles & ROLE_HEALTH)
    for (gsize i = 0; i < G_N_ELEMENTS (health_paths); i++)
      if (g_str_equal (path, health_paths[i].path))
        {
          *out_section = health_paths[i].section;
          return ROUTE_HEALTH;
        }
  return ROUTE_NONE;
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
  HaleReportSection section = HALE_REPORT_ALL;
  Route route = route_for (listener, path, &section);

  if (route == ROUTE_NONE)
    {
      /* The path is the client's: %ff decodes to bytes that are not
       * UTF-8, and the answer is JSON. */
      g_autofree char *clean = g_utf8_make_valid (path, -1);
      g_autofree char *message = g_strdup_printf ("no such path: %s", clean);
      set_json_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", message);
      return;
    }

  /* handle_early() let only GET and HEAD through. */
  /* For HEAD libsoup sends the headers, Content-Length included, and
   * leaves the body out. */
  switch (route)
    {
      case ROUTE_LANDING:
        serve_landing (listener, msg);
        break;
      case ROUTE_METRICS:
        serve_metrics (self, msg);
        break;
      case ROUTE_HEALTH:
        serve_report (self, msg, section);
        break;
      case ROUTE_EXTRA:
        {
          ExtraRoute *extra = g_hash_table_lookup (self->routes, path);
          extra->handler (msg, path, query, extra->user_data);
        }
        break;
      case ROUTE_NONE:
        g_assert_not_reached ();
    }
}

/* Runs when the request headers are in, before any body is read: a
 * method haled does not serve or a body it never reads is answered now,
 * so no client can make haled buffer a body of any size. */
static void
handle_early (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
              gpointer user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  const char *method = soup_server_message_get_method (msg);

  /* A client that sends its body without waiting for "100 Continue"
   * has it read off the connection anyway: into nothing, never into
   * memory. */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);

  /* Methods are interned by libsoup: pointer comparison is enough. */
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_message_headers_replace (response, "Connection", "close");
      g_autofree char *clean = g_utf8_make_valid (path, -1);
      g_autofree char *message
          = g_strdup_printf ("method %s is not allowed on %s; use GET or HEAD", method, clean);
      soup_message_headers_replace (response, "Allow", "GET, HEAD");
      set_json_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed", message);
      return;
    }
  if (soup_message_headers_get_encoding (headers) != SOUP_ENCODING_NONE
      && soup_message_headers_get_content_length (headers) != 0)
    {
      soup_message_headers_replace (response, "Connection", "close");
      set_json_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body_not_allowed",
                      "GET and HEAD requests to haled carry no body");
    }
}

/* Connections. A client that stops mid-request (or a slow loris) would
 * hold its connection, and a file descriptor, for ever: every read and
 * write on a connection gives up after this long without progress. */
#define CONNECTION_IO_TIMEOUT_S 10

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  GSocket *socket = soup_server_message_get_socket (msg);

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
static gboolean
on_idle_socket (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  char byte;
  gssize n = recv (g_socket_get_fd (socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);

  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (condition & (G_IO_HUP | G_IO_ERR)))
    g_socket_close (socket, NULL);
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
  GSocket *socket = soup_server_message_get_socket (msg);
  g_autoptr (GSource) source = NULL;

  if (socket == NULL || g_socket_is_closed (socket) || !is_keepalive (msg))
    return;
  source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (on_idle_socket), g_object_ref (socket),
                         g_object_unref);
  g_source_set_static_name (source, "[haled] idle connection");
  g_source_attach (source, NULL);
}

static void
guard_connections (SoupServer *server)
{
  g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), NULL);
  if (soup_get_major_version () == 3 && soup_get_minor_version () < 3)
    g_signal_connect (server, "request-finished", G_CALLBACK (on_request_finished), NULL);
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

  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s=%s: “%s” is not an IP address; use a literal address (127.0.0.1, "
                   "[::1]), localhost, or nothing for all addresses (:%u); haled does not "
                   "look names up",
                   key_name, text, literal, port);
      return NULL;
    }
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
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_listen (socket, error))
    return NULL;
  return g_steal_pointer (&socket);
}

static Listener *
listener_open (HaleHttp *self, const char *key_name, const char *text, GSocketAddress *address,
               GError **error)
{
  g_autoptr (Listener) listener = g_new0 (Listener, 1);
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GError) local_error = NULL;
  GInetAddress *inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));

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
  guard_connections (listener->server);
  if (!soup_server_listen_socket (listener->server, socket, 0, &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "%s=%s: cannot listen: ", key_name, text);
      return NULL;
    }
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
  } wanted[] = {
    { "MetricsListen", config->metrics_listen, ROLE_METRICS },
    { "HealthListen", config->health_listen, ROLE_HEALTH },
  };
  g_autoptr (GPtrArray) next = g_ptr_array_new ();
  g_autoptr (GPtrArray) opened = g_ptr_array_new_with_free_func ((GDestroyNotify)listener_free);
  guint roles[G_N_ELEMENTS (wanted)] = { 0 };

  g_return_val_if_fail (HALE_IS_HTTP (self), FALSE);
  g_return_val_if_fail (config != NULL, FALSE);

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
        }
      roles[index] |= wanted[i].role;
    }

  /* Everything is bound: switch over. */
  for (guint i = 0; i < next->len; i++)
    ((Listener *)g_ptr_array_index (next, i))->roles = roles[i];
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
  g_hash_table_unref (self->routes);
  g_clear_object (&self->report);
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
}

void
hale_http_add_route (HaleHttp *self, const char *path, HaleHttpHandler handler, gpointer user_data,
                     GDestroyNotify destroy)
{
  ExtraRoute *route;

  g_return_if_fail (HALE_IS_HTTP (self));
  g_return_if_fail (path != NULL && path[0] == '/');
  g_return_if_fail (handler != NULL);

  route = g_new0 (ExtraRoute, 1);
  route->handler = handler;
  route->user_data = user_data;
  route->destroy = destroy;
  g_hash_table_replace (self->routes, g_strdup (path), route);
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
  return self;
}
