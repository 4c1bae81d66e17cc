/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-served-cert.h: the certificate a service serves, against the file.
 *
 * A renewed file is half the job: the service must serve it. For a
 * [Service] with TLSAddress=, haled connects there (TLS, with
 * TLSServerName= as SNI), takes the leaf the service presents and
 * compares it with the leaf it last read from the service's
 * certificates on disk. Trust is not the question here (a private CA,
 * a self-signed test): only whether the leaf is the file's. After every
 * reload (hale-reload fails the reload when it is not) and every
 * [Network] CheckInterval, as service_serves_current_certificate{service}.
 */
#pragma once

#include "hale-cert-watch.h"
#include "hale-config.h"
#include "hale-metrics.h"

G_BEGIN_DECLS

/* Connects to @address (HOST:PORT), handshakes asking for @server_name
 * (NULL: the host of @address), and gives the leaf it was shown.
 * Everything that can go wrong is an error whose message says what
 * ("connection refused", "no TLS handshake within 5s", ...), with
 * G_IO_ERROR_CANCELLED only when @cancellable was. */
void
hale_served_cert_fetch_async (const char *address, const char *server_name, gint64 timeout_usec,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data);
HaleCertInfo *
hale_served_cert_fetch_finish (GAsyncResult *result, GError **error);

typedef enum
{
  HALE_SERVED_CURRENT, /* the leaf of one of the service's files */
  HALE_SERVED_OTHER,   /* another one: an old certificate, or a stranger */
  HALE_SERVED_UNKNOWN, /* a file the service uses has not been read yet */
} HaleServedVerdict;

/* @served against the files of @svc's certificates (its ReloadOnChange=
 * names, every certificate when it names none); for HALE_SERVED_OTHER
 * @out_why says so: "serves serial X, the file has Y (PATH)". */
HaleServedVerdict
hale_served_cert_compare (HaleCertWatch *certs, const HaleServiceConfig *svc,
                          const HaleCertInfo *served, char **out_why);

#define HALE_TYPE_SERVED_CERT (hale_served_cert_get_type ())
G_DECLARE_FINAL_TYPE (HaleServedCert, hale_served_cert, HALE, SERVED_CERT, GObject)

/* Registers <ns>_service_serves_current_certificate{service}. */
HaleServedCert *
hale_served_cert_new (HaleMetrics *metrics, HaleCertWatch *certs);

/* Checks every service with TLSAddress= each CheckInterval; one without
 * loses its series. */
void
hale_served_cert_configure (HaleServedCert *self, HaleConfig *config);

/* What a check elsewhere (the reload's) found: the series, and the log
 * when it changed. */
void
hale_served_cert_record (HaleServedCert *self, const char *service, gboolean current,
                         const char *why);

G_END_DECLS
