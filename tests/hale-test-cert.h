/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-test-cert.h: certificates made on the spot for tests, with GnuTLS.
 *
 * Keys are ECDSA P-256 (fast to make and to sign with); certificates are
 * X.509 v3, signed with SHA-256 by an issuer or by themselves.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _HaleTestKey HaleTestKey;
typedef struct _HaleTestCert HaleTestCert;

HaleTestKey *
hale_test_key_new (GError **error);
HaleTestKey *
hale_test_key_ref (HaleTestKey *key);
void
hale_test_key_unref (HaleTestKey *key);
char *
hale_test_key_get_pem (HaleTestKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleTestKey, hale_test_key_unref)

typedef struct
{
  const char *cn;         /* NULL: "hale test" */
  const char *serial_hex; /* NULL: 16 random bytes; else hex, ':' allowed */
  gint64 not_before;      /* seconds since the epoch; 0: an hour ago */
  gint64 not_after;       /* 0: 90 days from now */
  gboolean is_ca;
  HaleTestKey *key; /* NULL: a new key */
  /* subjectAltName entries, NULL-terminated: an IP address when it
   * parses as one, else a DNS name. TLS clients (Go's, GLib's) match the
   * host they connect to against these, not the CN. */
  const char *const *alt_names;
} HaleTestCertParams;

/* @issuer NULL: self-signed. @issuer must be a CA made here (it holds
 * its key). */
HaleTestCert *
hale_test_cert_new (const HaleTestCertParams *params, HaleTestCert *issuer, GError **error);
void
hale_test_cert_free (HaleTestCert *cert);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleTestCert, hale_test_cert_free)

/* Lowercase hex without separators or leading zero bytes, as
 * hale_cert_info_parse() reports it. */
const char *
hale_test_cert_get_serial (HaleTestCert *cert);
HaleTestKey *
hale_test_cert_get_key (HaleTestCert *cert); /* transfer none */
char *
hale_test_cert_get_pem (HaleTestCert *cert);
char *
hale_test_cert_get_key_pem (HaleTestCert *cert);

/* Writes the PEM of @cert followed by those of @chain (NULL-terminated,
 * may be NULL) to @path, and the key to @key_path when not NULL.
 * Atomic (temporary file then rename), like a rotation tool. */
gboolean
hale_test_cert_write (HaleTestCert *cert, HaleTestCert *const *chain, const char *path,
                      const char *key_path, GError **error);

/* Shortcut: a self-signed leaf with @cn and @serial_hex (NULL: random)
 * valid from @not_before to @not_after (0: the defaults above). */
HaleTestCert *
hale_test_cert_new_simple (const char *cn, const char *serial_hex, gint64 not_before,
                           gint64 not_after, GError **error);

G_END_DECLS
