/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-http-gate.h: the request head, read before libsoup gets the
 * connection.
 *
 * libsoup 3.2 resets a connection whose request line or header block is
 * larger than it takes, holds an HTTP/0.9 request until the I/O timeout,
 * and lets a client that sends one header byte every few seconds keep
 * its connection for ever. So each new plain-HTTP connection waits here
 * until its request head is complete, peeking at the socket without
 * consuming a byte: a head within the limits goes to libsoup untouched,
 * anything else is answered at once (400, 414, 431, 505) and closed the
 * way nginx does (answer, half-close, discard what the client still
 * sends), a head that is not complete within HALE_HTTP_HEADER_TIMEOUT_S
 * gets 408 and is closed, and when too many connections wait, the one
 * waiting longest is closed for the newest.
 */
#pragma once

#include <gio/gio.h>

#include "hale-metrics.h"

G_BEGIN_DECLS

/* The limits, as docs/http.md states them. */
#define HALE_HTTP_HEAD_MAX 32768
#define HALE_HTTP_LINE_MAX 8192
#define HALE_HTTP_HEADERS_MAX 100
#define HALE_HTTP_HEADER_TIMEOUT_S 5
#define HALE_HTTP_WAITING_MAX 1024

typedef enum
{
  HALE_HTTP_HEAD_INCOMPLETE, /* nothing wrong yet: wait for more */
  HALE_HTTP_HEAD_COMPLETE,   /* a head within the limits */
  HALE_HTTP_HEAD_REFUSED,    /* answer *status and close */
} HaleHttpHeadVerdict;

/* What the @len bytes a client sent so far (the start of its request)
 * make of it. On HALE_HTTP_HEAD_REFUSED, *status is 400, 414, 431 or
 * 505. Pure: no I/O, for the gate and the tests. */
HaleHttpHeadVerdict
hale_http_head_check (const char *data, gsize len, guint *status);

typedef struct _HaleHttpGate HaleHttpGate;

/* Called when @connection's head is complete; the gate keeps no
 * reference after. */
typedef void (*HaleHttpGatePass) (GSocketConnection *connection, gpointer owner);

/* @metrics: where the closes are counted
 * (http_connections_refused_total{reason}). At most @max_waiting
 * connections wait at once (0: HALE_HTTP_WAITING_MAX, lowered to fit
 * the descriptor limit). */
HaleHttpGate *
hale_http_gate_new (HaleMetrics *metrics, guint max_waiting);
void
hale_http_gate_free (HaleHttpGate *gate);
guint
hale_http_gate_get_max_waiting (HaleHttpGate *gate);

void
hale_http_gate_admit (HaleHttpGate *gate, GSocketConnection *connection, HaleHttpGatePass pass,
                      gpointer owner);

/* Closes the connections still waiting for @owner (a listener going
 * away). */
void
hale_http_gate_drop_owner (HaleHttpGate *gate, gpointer owner);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleHttpGate, hale_http_gate_free)

G_END_DECLS
