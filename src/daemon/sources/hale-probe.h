/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-probe.h: one HTTP(S) request that says whether a thing is up.
 *
 * Used by the endpoint probes (connectivity) and by the health check
 * after a service reload. Every probe is a fresh connection, as
 * blackbox_exporter's are, so a broken TLS or DNS is seen rather than
 * hidden by a kept-alive connection; https verifies the certificate
 * (glib-networking), against the system's CAs or a given CA file, in a
 * full handshake every time (hale_probe_init_tls()).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  gint64 timeout;   /* usec, the whole probe */
  guint status_min; /* accepted HTTP status range; 0/0: 200-299 */
  guint status_max;
  const char *ca_file; /* PEM bundle to verify https against; NULL: system CAs */
} HaleProbeOptions;

typedef struct
{
  gboolean success;
  guint http_status; /* 0 when no answer */
  gint64 duration;   /* usec, from start to the end of the body */
  /* Phases where libsoup tells them (usec, -1 unknown). */
  gint64 dns;
  gint64 connect;
  gint64 tls;
  gint64 first_byte;
  char *reason;       /* NULL on success; "timeout", "connection refused",
                         "tls: certificate not trusted", "http status 503", ... */
  gint64 finished_at; /* g_get_real_time() */
} HaleProbeResult;

void
hale_probe_result_free (HaleProbeResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleProbeResult, hale_probe_result_free)

/* Makes every TLS client connection of the process do a full, verified
 * handshake: no session ticket is asked for, so none is resumed.
 *
 * glib-networking (2.74, GnuTLS) keeps the TLS 1.3 tickets servers send
 * in one cache per process, keyed by address, host name and port, and
 * resumes the next connection to the same place with one. A resumed
 * handshake carries no certificate and glib-networking verifies
 * nothing: a probe with another CAFile (or none) would pass on the
 * strength of another's handshake, and a server that switched to an
 * expired certificate would go on passing while it honours its tickets.
 * Version 2.74 has no per-connection switch for this, only the GnuTLS
 * priority string it reads from G_TLS_GNUTLS_PRIORITY when its first
 * TLS connection is made; this adds %NO_TICKETS to it (to NORMAL:%COMPAT,
 * glib-networking's own default, when it is unset). Being process wide
 * it covers probes, http checks and the health checks after reloads
 * alike, and haled's own HTTPS listeners issue no tickets either.
 *
 * Call first thing in main(), before any thread exists (setenv). */
void
hale_probe_init_tls (void);

#define HALE_TYPE_PROBER (hale_prober_get_type ())
G_DECLARE_FINAL_TYPE (HaleProber, hale_prober, HALE, PROBER, GObject)

HaleProber *
hale_prober_new (void);

/* Never fails through @error for what the target does: a refused
 * connection or a timeout is a result with success FALSE and a reason.
 * @error is only G_IO_ERROR_CANCELLED or a URL that cannot be parsed. */
void
hale_prober_probe_async (HaleProber *self, const char *url, const HaleProbeOptions *options,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);
HaleProbeResult *
hale_prober_probe_finish (HaleProber *self, GAsyncResult *result, GError **error);

G_END_DECLS
