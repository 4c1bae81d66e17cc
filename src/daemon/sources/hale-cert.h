/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-cert.h: what a PEM certificate file says, read with GnuTLS. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_CERT_ERROR (hale_cert_error_quark ())
GQuark hale_cert_error_quark (void);

/* The reasons an operator sees in /health/certificate and the journal. */
typedef enum
{
  HALE_CERT_ERROR_NOT_FOUND,         /* "not_found" */
  HALE_CERT_ERROR_PERMISSION_DENIED, /* "permission_denied" */
  HALE_CERT_ERROR_BAD_PEM,           /* "bad_pem": PEM armour or DER inside is broken */
  HALE_CERT_ERROR_NO_CERTIFICATE,    /* "no_certificate": readable, but holds none */
  HALE_CERT_ERROR_READ_FAILED,       /* "read_failed": any other I/O error */
} HaleCertError;

const char *hale_cert_error_reason (HaleCertError code);

typedef struct
{
  char *serial;  /* lowercase hex, no separators: "0a1b2c" */
  char *subject; /* RFC 4514 DN */
  char *issuer;
  char *fingerprint_sha256; /* lowercase hex */
  gint64 not_before;        /* seconds since the epoch */
  gint64 not_after;
  guint chain_length;            /* certificates in the file, leaf included */
  gint64 chain_not_after;        /* earliest notAfter of the whole chain */
  char *chain_not_after_subject; /* which certificate that is */
} HaleCertInfo;

/* The first certificate in @pem is the leaf; the rest is its chain. */
HaleCertInfo *hale_cert_info_parse (GBytes *pem, GError **error);
/* Maps G_IO_ERROR codes from reading a file onto HaleCertError. */
void hale_cert_error_from_io (GError **error, const GError *io_error, const char *path);

HaleCertInfo *hale_cert_info_copy (const HaleCertInfo *info);
void hale_cert_info_free (HaleCertInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleCertInfo, hale_cert_info_free)

G_END_DECLS
