/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-http-gate.c: the request head, read before libsoup gets the
 * connection (see the header for why).
 *
 * The gate only peeks (MSG_PEEK): libsoup then reads the same bytes as
 * if it had accepted the connection itself. To be woken only when more
 * bytes arrive, and not at every turn of the main loop while an
 * incomplete head sits in the socket, the socket's SO_RCVLOWAT is set
 * one above what was seen; poll() honours it for TCP, and it goes back
 * to 1 before libsoup has the socket.
 */
/* POLLRDHUP */
#define _GNU_SOURCE
#include "config.h"

#include "hale-http-gate.h"

#include <errno.h>
#include <libsoup/soup.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* After a refusal, what the client still sends is read and dropped
 * for this long (or this much) before the socket is closed: closing
 * with unread bytes would send a reset, and the client could lose the
 * answer before reading it (nginx's lingering close). */
#define LINGER_S 2
#define LINGER_MAX_BYTES (1024 * 1024)

typedef enum
{
  ENTRY_WAITING,
  ENTRY_LINGERING,
} EntryKind;

typedef struct
{
  HaleHttpGate *gate;
  EntryKind kind;
  GSocketConnection *connection;
  GSource *source;
  guint timeout_id;
  gsize seen;    /* WAITING: bytes peeked so far */
  gsize drained; /* LINGERING: bytes dropped so far */
  gboolean queued;
  HaleHttpGatePass pass;
  gpointer owner;
  GList link; /* in gate->entries, oldest first */
} Entry;

struct _HaleHttpGate
{
  HaleMetricFamily *refused;
  GQueue entries;
  guint max_waiting;
  char buffer[HALE_HTTP_HEAD_MAX + 1];
};

/* The head ------------------------------------------------------------- */

static gboolean
is_tchar (char c)
{
  return g_ascii_isalnum (c) || strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

/* 0 for "METHOD SP TARGET SP HTTP/1.x", else the status to answer. */
static guint
check_request_line (const char *line, gsize len)
{
  const char *end = line + len;
  const char *space1 = memchr (line, ' ', len);
  const char *space2;
  const char *version;
  gsize version_len;

  if (space1 == NULL || space1 == line)
    return SOUP_STATUS_BAD_REQUEST;
  for (const char *p = line; p < space1; p++)
    if (!is_tchar (*p))
      return SOUP_STATUS_BAD_REQUEST;
  space2 = memchr (space1 + 1, ' ', end - (space1 + 1));
  /* "GET /" alone is HTTP/0.9, which has no headers to answer with. */
  if (space2 == NULL || space2 == space1 + 1)
    return SOUP_STATUS_BAD_REQUEST;
  version = space2 + 1;
  version_len = end - version;
  if (version_len < 6 || strncmp (version, "HTTP/", 5) != 0)
    return SOUP_STATUS_BAD_REQUEST;
  for (gsize i = 5; i < version_len; i++)
    if (!g_ascii_isdigit (version[i]) && version[i] != '.')
      return SOUP_STATUS_BAD_REQUEST;
  if (version_len == 8
      && (strncmp (version, "HTTP/1.1", 8) == 0 || strncmp (version, "HTTP/1.0", 8) == 0))
    return 0;
  return SOUP_STATUS_HTTP_VERSION_NOT_SUPPORTED;
}

/* The length of the line at @data (without its CR LF), or -1 when its
 * LF is not in the @len bytes yet. */
static gssize
line_length (const char *data, gsize len, gsize *next)
{
  const char *lf = memchr (data, '\n', len);
  gsize n;

  if (lf == NULL)
    return -1;
  n = lf - data;
  *next = n + 1;
  if (n > 0 && data[n - 1] == '\r')
    n--;
  return n;
}

HaleHttpHeadVerdict
hale_http_head_check (const char *data, gsize len, guint *status)
{
  gsize pos = 0, next = 0;
  guint headers = 0;
  gssize n;

  *status = 0;
  /* Empty lines before the request line are allowed (RFC 9112, 2.2). */
  while (pos < len && (data[pos] == '\r' || data[pos] == '\n'))
    pos++;
  if (pos > HALE_HTTP_LINE_MAX)
    goto bad_request;

  n = line_length (data + pos, len - pos, &next);
  if (n < 0)
    {
      if (len - pos > HALE_HTTP_LINE_MAX)
        goto uri_too_long;
      return HALE_HTTP_HEAD_INCOMPLETE;
    }
  if (n > HALE_HTTP_LINE_MAX)
    goto uri_too_long;
  *status = check_request_line (data + pos, n);
  if (*status != 0)
    return HALE_HTTP_HEAD_REFUSED;
  pos += next;

  for (;;)
    {
      n = line_length (data + pos, len - pos, &next);
      if (n < 0)
        {
          if (len - pos > HALE_HTTP_LINE_MAX || len > HALE_HTTP_HEAD_MAX)
            goto too_large;
          return HALE_HTTP_HEAD_INCOMPLETE;
        }
      pos += next;
      if (pos > HALE_HTTP_HEAD_MAX || n > HALE_HTTP_LINE_MAX)
        goto too_large;
      if (n == 0)
        return HALE_HTTP_HEAD_COMPLETE;
      if (++headers > HALE_HTTP_HEADERS_MAX)
        goto too_large;
    }

bad_request:
  *status = SOUP_STATUS_BAD_REQUEST;
  return HALE_HTTP_HEAD_REFUSED;
uri_too_long:
  *status = SOUP_STATUS_REQUEST_URI_TOO_LONG;
  return HALE_HTTP_HEAD_REFUSED;
too_large:
  *status = 431; /* Request Header Fields Too Large; libsoup 3.2 has no name for it */
  return HALE_HTTP_HEAD_REFUSED;
}

/* Answers ---------------------------------------------------------------- */

static const struct
{
  guint status;
  const char *phrase;
  const char *reason; /* the metric's label, and the JSON "error" */
  const char *message;
} answers[] = {
  { 400, "Bad Request", "bad_request", "malformed request line; haled speaks HTTP/1.0 and 1.1" },
  { 408, "Request Timeout", "header_timeout", "the request head did not arrive in time" },
  { 414, "URI Too Long", "uri_too_long", "the request line is longer than 8192 bytes" },
  { 431, "Request Header Fields Too Large", "header_too_large",
    "the request head is longer than 32768 bytes, a header line longer than 8192, or there are "
    "more than 100 headers" },
  { 505, "HTTP Version Not Supported", "version_not_supported",
    "haled speaks HTTP/1.0 and HTTP/1.1" },
};

static guint
answer_index (guint status)
{
  for (guint i = 0; i < G_N_ELEMENTS (answers); i++)
    if (answers[i].status == status)
      return i;
  return 0;
}

/* Entries ----------------------------------------------------------------- */

static void
set_lowat (Entry *e, int value)
{
  int fd = g_socket_get_fd (g_socket_connection_get_socket (e->connection));

  /* Only a hint for waking up: a failure costs a few more wake-ups. */
  (void)setsockopt (fd, SOL_SOCKET, SO_RCVLOWAT, &value, sizeof value);
}

static void
entry_unhook (Entry *e)
{
  if (e->source != NULL)
    {
      g_source_destroy (e->source);
      g_clear_pointer (&e->source, g_source_unref);
    }
  g_clear_handle_id (&e->timeout_id, g_source_remove);
  if (e->queued)
    g_queue_unlink (&e->gate->entries, &e->link);
  e->queued = FALSE;
}

static void
entry_close (Entry *e)
{
  entry_unhook (e);
  g_io_stream_close (G_IO_STREAM (e->connection), NULL, NULL);
  g_object_unref (e->connection);
  g_free (e);
}

static void
entry_watch (Entry *e, GSocketSourceFunc readable, GSourceFunc timeout, guint seconds)
{
  GSocket *socket = g_socket_connection_get_socket (e->connection);

  e->source = g_socket_create_source (socket, G_IO_IN, NULL);
  g_source_set_callback (e->source, G_SOURCE_FUNC (readable), e, NULL);
  g_source_set_static_name (e->source, "[haled] request head");
  g_source_attach (e->source, NULL);
  e->timeout_id = g_timeout_add (seconds * 1000, timeout, e);
  g_queue_push_tail_link (&e->gate->entries, &e->link);
  e->queued = TRUE;
}

static gboolean
lingering_readable_cb (GSocket *socket, GIOCondition condition, gpointer data)
{
  Entry *e = data;
  int fd = g_socket_get_fd (g_socket_connection_get_socket (e->connection));

  for (;;)
    {
      gssize n = recv (fd, e->gate->buffer, sizeof e->gate->buffer, MSG_DONTWAIT);

      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
      if (n <= 0 || (e->drained += n) > LINGER_MAX_BYTES)
        break;
    }
  entry_close (e);
  return G_SOURCE_REMOVE;
}

static gboolean
lingering_timeout_cb (gpointer data)
{
  Entry *e = data;

  e->timeout_id = 0;
  entry_close (e);
  return G_SOURCE_REMOVE;
}

/* Answers @status, half-closes and lingers. The answer is a few hundred
 * bytes into an empty send buffer: it fits, and a client too slow to
 * take even that is no one to wait for. */
static void
entry_refuse (Entry *e, guint status)
{
  guint i = answer_index (status);
  int fd = g_socket_get_fd (g_socket_connection_get_socket (e->connection));
  g_autofree char *body = g_strdup_printf ("{\"error\":\"%s\",\"message\":\"%s\"}\n",
                                           answers[i].reason, answers[i].message);
  g_autofree char *text
      = g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                         "Server: haled/" PACKAGE_VERSION "\r\n"
                         "Content-Type: application/json\r\n"
                         "Cache-Control: no-store\r\n"
                         "Connection: close\r\n"
                         "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s",
                         answers[i].status, answers[i].phrase, strlen (body), body);
  const char *reason[] = { answers[i].reason, NULL };

  hale_metric_inc (e->gate->refused, reason, 1);
  entry_unhook (e);
  (void)send (fd, text, strlen (text), MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)shutdown (fd, SHUT_WR);
  set_lowat (e, 1);
  e->kind = ENTRY_LINGERING;
  e->owner = NULL;
  entry_watch (e, lingering_readable_cb, lingering_timeout_cb, LINGER_S);
}

static void
entry_pass (Entry *e)
{
  HaleHttpGatePass pass = e->pass;
  gpointer owner = e->owner;
  GSocketConnection *connection = e->connection;

  entry_unhook (e);
  set_lowat (e, 1);
  g_free (e);
  pass (connection, owner);
  g_object_unref (connection);
}

/* The peer shut its side down: with SO_RCVLOWAT in force, that is what
 * wakes a waiting entry without new bytes. */
static gboolean
peer_hung_up (int fd)
{
  struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

  return poll (&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static gboolean
waiting_readable_cb (GSocket *socket, GIOCondition condition, gpointer data)
{
  Entry *e = data;
  int fd = g_socket_get_fd (g_socket_connection_get_socket (e->connection));
  gssize n = recv (fd, e->gate->buffer, sizeof e->gate->buffer, MSG_PEEK | MSG_DONTWAIT);
  guint status = 0;

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      entry_close (e);
      return G_SOURCE_REMOVE;
    }
  switch (hale_http_head_check (e->gate->buffer, n, &status))
    {
      case HALE_HTTP_HEAD_COMPLETE:
        entry_pass (e);
        return G_SOURCE_REMOVE;
      case HALE_HTTP_HEAD_REFUSED:
        entry_refuse (e, status);
        return G_SOURCE_REMOVE;
      case HALE_HTTP_HEAD_INCOMPLETE:
      default:
        /* A client that sent half a head and shut its side down will
         * never finish it. */
        if ((gsize)n <= e->seen && peer_hung_up (fd))
          {
            entry_close (e);
            return G_SOURCE_REMOVE;
          }
        e->seen = n;
        set_lowat (e, (int)n + 1);
        return G_SOURCE_CONTINUE;
    }
}

static gboolean
waiting_timeout_cb (gpointer data)
{
  Entry *e = data;

  e->timeout_id = 0;
  entry_refuse (e, 408);
  return G_SOURCE_REMOVE;
}

/* The gate ------------------------------------------------------------------ */

static guint
default_max_waiting (void)
{
  struct rlimit limit;
  guint max = HALE_HTTP_WAITING_MAX;

  /* Half the descriptors at most: the rest is for the connections being
   * answered, the journal, the bus, the watched files. */
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
      && limit.rlim_cur / 2 < max)
    max = MAX (limit.rlim_cur / 2, 16);
  return max;
}

HaleHttpGate *
hale_http_gate_new (HaleMetrics *metrics, guint max_waiting)
{
  HaleHttpGate *gate = g_new0 (HaleHttpGate, 1);

  g_queue_init (&gate->entries);
  gate->max_waiting = max_waiting != 0 ? max_waiting : default_max_waiting ();
  gate->refused = hale_metrics_add (
      metrics, HALE_METRIC_COUNTER, "http_early_refusals_total",
      "Connections answered and closed before libsoup saw a request, by reason: bad_request, "
      "uri_too_long, header_too_large, version_not_supported, header_timeout, evicted.",
      NULL, (const char *const[]){ "reason", NULL }, NULL, 0, HALE_METRIC_FLAGS_NONE);
  return gate;
}

void
hale_http_gate_free (HaleHttpGate *gate)
{
  if (gate == NULL)
    return;
  while (gate->entries.head != NULL)
    entry_close (gate->entries.head->data);
  g_free (gate);
}

guint
hale_http_gate_get_max_waiting (HaleHttpGate *gate)
{
  return gate->max_waiting;
}

void
hale_http_gate_admit (HaleHttpGate *gate, GSocketConnection *connection, HaleHttpGatePass pass,
                      gpointer owner)
{
  Entry *e;

  /* The oldest goes first: a flood of idle connections then costs each
   * of them its place, never a new client its answer. */
  while (gate->entries.length >= gate->max_waiting && gate->entries.head != NULL)
    {
      Entry *oldest = gate->entries.head->data;

      if (oldest->kind == ENTRY_WAITING)
        {
          const char *reason[] = { "evicted", NULL };
          hale_metric_inc (gate->refused, reason, 1);
        }
      entry_close (oldest);
    }
  e = g_new0 (Entry, 1);
  e->gate = gate;
  e->kind = ENTRY_WAITING;
  e->connection = g_object_ref (connection);
  e->pass = pass;
  e->owner = owner;
  e->link.data = e;
  entry_watch (e, waiting_readable_cb, waiting_timeout_cb, HALE_HTTP_HEADER_TIMEOUT_S);
}

void
hale_http_gate_drop_owner (HaleHttpGate *gate, gpointer owner)
{
  GList *next;

  for (GList *l = gate->entries.head; l != NULL; l = next)
    {
      Entry *e = l->data;

      next = l->next;
      if (e->kind == ENTRY_WAITING && e->owner == owner)
        entry_close (e);
    }
}
