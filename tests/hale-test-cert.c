/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-test-cert.c: certificates made on the spot for tests, with GnuTLS. */
#include "config.h"

#include "hale-test-cert.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

struct _HaleTestKey
{
  gint ref_count;
  gnutls_x509_privkey_t key;
};

struct _HaleTestCert
{
  gnutls_x509_crt_t crt;
  HaleTestKey *key;
  char *serial;
};

static gboolean
check_gnutls (int ret, const char *what, GError **error)
{
  if (ret >= 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, gnutls_strerror (ret));
  return FALSE;
}

static char *
datum_to_string (gnutls_datum_t *datum)
{
  char *s = g_strndup ((const char *)datum->data, datum->size);
  gnutls_free (datum->data);
  datum->data = NULL;
  return s;
}

HaleTestKey *
hale_test_key_new (GError **error)
{
  g_autoptr (HaleTestKey) key = g_new0 (HaleTestKey, 1);

  key->ref_count = 1;
  if (!check_gnutls (gnutls_x509_privkey_init (&key->key), "gnutls_x509_privkey_init", error))
    return NULL;
  if (!check_gnutls (
          gnutls_x509_privkey_generate (key->key, GNUTLS_PK_ECDSA,
                                        GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0),
          "generating an ECDSA P-256 key", error))
    return NULL;
  return g_steal_pointer (&key);
}

HaleTestKey *
hale_test_key_ref (HaleTestKey *key)
{
  g_atomic_int_inc (&key->ref_count);
  return key;
}

void
hale_test_key_unref (HaleTestKey *key)
{
  if (!g_atomic_int_dec_and_test (&key->ref_count))
    return;
  if (key->key != NULL)
    gnutls_x509_privkey_deinit (key->key);
  g_free (key);
}

char *
hale_test_key_get_pem (HaleTestKey *key)
{
  gnutls_datum_t out = { NULL, 0 };
  int ret = gnutls_x509_privkey_export2 (key->key, GNUTLS_X509_FMT_PEM, &out);

  g_assert_cmpint (ret, ==, 0);
  return datum_to_string (&out);
}

void
hale_test_cert_free (HaleTestCert *cert)
{
  if (cert == NULL)
    return;
  if (cert->crt != NULL)
    gnutls_x509_crt_deinit (cert->crt);
  g_clear_pointer (&cert->key, hale_test_key_unref);
  g_free (cert->serial);
  g_free (cert);
}

/* The serial as hale_cert_info_parse() shows it: DER may carry a
 * leading zero byte to keep the integer positive; it is not part of the
 * number. */
static char *
serial_to_hex (const guint8 *bytes, gsize len)
{
  GString *s = g_string_new (NULL);

  while (len > 1 && bytes[0] == 0)
    {
      bytes++;
      len--;
    }
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", bytes[i]);
  return g_string_free (s, FALSE);
}

static GByteArray *
serial_from_hex (const char *hex, GError **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GString) digits = g_string_new (NULL);

  for (const char *p = hex; *p != '\0'; p++)
    {
      if (*p == ':')
        continue;
      if (!g_ascii_isxdigit (*p))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "serial \"%s\": not hexadecimal", hex);
          return NULL;
        }
      g_string_append_c (digits, *p);
    }
  if (digits->len == 0 || digits->len > 40)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "serial \"%s\": 1 to 20 bytes of hex expected", hex);
      return NULL;
    }
  if (digits->len % 2 == 1)
    g_string_prepend_c (digits, '0');
  for (gsize i = 0; i < digits->len; i += 2)
    {
      guint8 b = (g_ascii_xdigit_value (digits->str[i]) << 4)
                 | g_ascii_xdigit_value (digits->str[i + 1]);
      g_byte_array_append (out, &b, 1);
    }
  /* A set high bit would make the DER INTEGER negative: keep it a
   * positive number by prepending a zero byte, as CAs do. */
  if (out->data[0] & 0x80)
    {
      guint8 zero = 0;
      g_byte_array_prepend (out, &zero, 1);
    }
  return g_steal_pointer (&out);
}

HaleTestCert *
hale_test_cert_new (const HaleTestCertParams *params, HaleTestCert *issuer, GError **error)
{
  g_autoptr (HaleTestCert) cert = g_new0 (HaleTestCert, 1);
  g_autoptr (GByteArray) serial = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  const char *cn = params->cn != NULL ? params->cn : "hale test";
  gnutls_x509_crt_t issuer_crt;
  gnutls_x509_privkey_t issuer_key;
  guint8 key_id[64];
  size_t key_id_size = sizeof key_id;

  if (params->serial_hex != NULL)
    {
      serial = serial_from_hex (params->serial_hex, error);
      if (serial == NULL)
        return NULL;
    }
  else
    {
      serial = g_byte_array_sized_new (16);
      g_byte_array_set_size (serial, 16);
      if (!check_gnutls (gnutls_rnd (GNUTLS_RND_NONCE, serial->data, serial->len), "random serial",
                         error))
        return NULL;
      serial->data[0] &= 0x7f;
      serial->data[0] |= 0x10; /* no leading zero byte: the hex has 32 digits */
    }

  if (params->key != NULL)
    cert->key = hale_test_key_ref (params->key);
  else if ((cert->key = hale_test_key_new (error)) == NULL)
    return NULL;

  if (!check_gnutls (gnutls_x509_crt_init (&cert->crt), "gnutls_x509_crt_init", error))
    return NULL;
  if (!check_gnutls (gnutls_x509_crt_set_version (cert->crt, 3), "set version", error)
      || !check_gnutls (gnutls_x509_crt_set_key (cert->crt, cert->key->key), "set key", error)
      || !check_gnutls (gnutls_x509_crt_set_serial (cert->crt, serial->data, serial->len),
                        "set serial", error)
      || !check_gnutls (gnutls_x509_crt_set_dn_by_oid (cert->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                                       cn, strlen (cn)),
                        "set CN", error)
      || !check_gnutls (gnutls_x509_crt_set_activation_time (
                            cert->crt, params->not_before != 0 ? params->not_before : now - 3600),
                        "set notBefore", error)
      || !check_gnutls (gnutls_x509_crt_set_expiration_time (cert->crt, params->not_after != 0
                                                                            ? params->not_after
                                                                            : now + 90 * 24 * 3600),
                        "set notAfter", error)
      || !check_gnutls (gnutls_x509_crt_set_basic_constraints (cert->crt, params->is_ca, -1),
                        "set basic constraints", error)
      || !check_gnutls (
          gnutls_x509_crt_set_key_usage (cert->crt, params->is_ca ? GNUTLS_KEY_KEY_CERT_SIGN
                                                                        | GNUTLS_KEY_CRL_SIGN
                                                                  : GNUTLS_KEY_DIGITAL_SIGNATURE),
          "set key usage", error))
    return NULL;

  for (guint i = 0; params->alt_names != NULL && params->alt_names[i] != NULL; i++)
    {
      const char *name = params->alt_names[i];
      g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (name);
      int ret;

      if (ip != NULL)
        ret = gnutls_x509_crt_set_subject_alt_name (
            cert->crt, GNUTLS_SAN_IPADDRESS, g_inet_address_to_bytes (ip),
            g_inet_address_get_native_size (ip), GNUTLS_FSAN_APPEND);
      else
        ret = gnutls_x509_crt_set_subject_alt_name (cert->crt, GNUTLS_SAN_DNSNAME, name,
                                                    strlen (name), GNUTLS_FSAN_APPEND);
      if (!check_gnutls (ret, "set subjectAltName", error))
        return NULL;
    }

  if (gnutls_x509_crt_get_key_id (cert->crt, 0, key_id, &key_id_size) >= 0)
    gnutls_x509_crt_set_subject_key_id (cert->crt, key_id, key_id_size);

  if (issuer != NULL)
    {
      issuer_crt = issuer->crt;
      issuer_key = issuer->key->key;
      key_id_size = sizeof key_id;
      if (gnutls_x509_crt_get_subject_key_id (issuer_crt, key_id, &key_id_size, NULL) >= 0)
        gnutls_x509_crt_set_authority_key_id (cert->crt, key_id, key_id_size);
    }
  else
    {
      issuer_crt = cert->crt;
      issuer_key = cert->key->key;
    }
  if (!check_gnutls (
          gnutls_x509_crt_sign2 (cert->crt, issuer_crt, issuer_key, GNUTLS_DIG_SHA256, 0),
          "signing", error))
    return NULL;

  cert->serial = serial_to_hex (serial->data, serial->len);
  return g_steal_pointer (&cert);
}

HaleTestCert *
hale_test_cert_new_simple (const char *cn, const char *serial_hex, gint64 not_before,
                           gint64 not_after, GError **error)
{
  HaleTestCertParams params = {
    .cn = cn,
    .serial_hex = serial_hex,
    .not_before = not_before,
    .not_after = not_after,
  };
  return hale_test_cert_new (&params, NULL, error);
}

const char *
hale_test_cert_get_serial (HaleTestCert *cert)
{
  return cert->serial;
}

HaleTestKey *
hale_test_cert_get_key (HaleTestCert *cert)
{
  return cert->key;
}

char *
hale_test_cert_get_pem (HaleTestCert *cert)
{
  gnutls_datum_t out = { NULL, 0 };
  int ret = gnutls_x509_crt_export2 (cert->crt, GNUTLS_X509_FMT_PEM, &out);

  g_assert_cmpint (ret, ==, 0);
  return datum_to_string (&out);
}

char *
hale_test_cert_get_key_pem (HaleTestCert *cert)
{
  return hale_test_key_get_pem (cert->key);
}

gboolean
hale_test_cert_write (HaleTestCert *cert, HaleTestCert *const *chain, const char *path,
                      const char *key_path, GError **error)
{
  g_autoptr (GString) pem = g_string_new (NULL);
  g_autofree char *leaf = hale_test_cert_get_pem (cert);

  g_string_append (pem, leaf);
  for (gsize i = 0; chain != NULL && chain[i] != NULL; i++)
    {
      g_autofree char *c = hale_test_cert_get_pem (chain[i]);
      g_string_append (pem, c);
    }
  if (!g_file_set_contents (path, pem->str, pem->len, error))
    return FALSE;
  if (key_path != NULL)
    {
      g_autofree char *key = hale_test_cert_get_key_pem (cert);
      if (!g_file_set_contents_full (key_path, key, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                     error))
        return FALSE;
    }
  return TRUE;
}
