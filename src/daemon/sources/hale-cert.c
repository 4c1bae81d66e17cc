/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-cert.c: what a PEM certificate file says, read with GnuTLS. */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include "hale-cert.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#define PEM_CERT_ARMOUR "-----BEGIN CERTIFICATE-----"

G_DEFINE_QUARK (hale - cert - error - quark, hale_cert_error)

const char *
hale_cert_error_reason (HaleCertError code)
{
  switch (code)
    {
      case HALE_CERT_ERROR_NOT_FOUND:
        return "not_found";
      case HALE_CERT_ERROR_PERMISSION_DENIED:
        return "permission_denied";
      case HALE_CERT_ERROR_BAD_PEM:
        return "bad_pem";
      case HALE_CERT_ERROR_NO_CERTIFICATE:
        return "no_certificate";
      case HALE_CERT_ERROR_READ_FAILED:
        return "read_failed";
    }
  return "read_failed";
}

void
hale_cert_error_from_io (GError **error, const GError *io_error, const char *path)
{
  g_return_if_fail (io_error != NULL);

  if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_set_error (error, HALE_CERT_ERROR, HALE_CERT_ERROR_NOT_FOUND, "%s does not exist", path);
  else if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    g_set_error (error, HALE_CERT_ERROR, HALE_CERT_ERROR_PERMISSION_DENIED,
                 "%s cannot be read: permission denied", path);
  else
    /* GIO's message already names the file in most cases, but not
     * always in the form the operator configured: say it again. */
    g_set_error (error, HALE_CERT_ERROR, HALE_CERT_ERROR_READ_FAILED, "%s cannot be read: %s", path,
                 io_error->message);
}

static char *
hex_encode (const guint8 *bytes, gsize len)
{
  static const char digits[] = "0123456789abcdef";
  char *out = g_malloc (len * 2 + 1);

  for (gsize i = 0; i < len; i++)
    {
      out[2 * i] = digits[bytes[i] >> 4];
      out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
  out[len * 2] = '\0';
  return out;
}

/* A DN is whatever the issuer wrote: GnuTLS passes bytes that are not
 * UTF-8 through, and everything downstream (GVariant, JSON, label
 * values) needs UTF-8. */
static char *
datum_steal_string (gnutls_datum_t *datum)
{
  char *s = g_utf8_make_valid ((const char *)datum->data, datum->size);
  gnutls_free (datum->data);
  datum->data = NULL;
  datum->size = 0;
  return s;
}

static gboolean
set_parse_error (GError **error, int ret, const char *what)
{
  g_set_error (error, HALE_CERT_ERROR, HALE_CERT_ERROR_BAD_PEM, "%s: %s", what,
               gnutls_strerror (ret));
  return FALSE;
}

static gboolean
fill_leaf (HaleCertInfo *info, gnutls_x509_crt_t crt, GError **error)
{
  gnutls_datum_t dn = { NULL, 0 };
  guint8 serial[64];
  size_t serial_size = sizeof serial;
  guint8 fpr[32];
  size_t fpr_size = sizeof fpr;
  const guint8 *s = serial;
  int ret;

  ret = gnutls_x509_crt_get_serial (crt, serial, &serial_size);
  if (ret < 0)
    return set_parse_error (error, ret, "certificate serial");
  /* A leading zero byte only keeps the DER integer positive; openssl and
   * every CA's web page show the number without it. */
  while (serial_size > 1 && s[0] == 0)
    {
      s++;
      serial_size--;
    }
  info->serial = hex_encode (s, serial_size);

  ret = gnutls_x509_crt_get_dn3 (crt, &dn, 0);
  if (ret < 0)
    return set_parse_error (error, ret, "certificate subject");
  info->subject = datum_steal_string (&dn);

  ret = gnutls_x509_crt_get_issuer_dn3 (crt, &dn, 0);
  if (ret < 0)
    return set_parse_error (error, ret, "certificate issuer");
  info->issuer = datum_steal_string (&dn);

  ret = gnutls_x509_crt_get_fingerprint (crt, GNUTLS_DIG_SHA256, fpr, &fpr_size);
  if (ret < 0)
    return set_parse_error (error, ret, "certificate fingerprint");
  info->fingerprint_sha256 = hex_encode (fpr, fpr_size);

  info->not_before = gnutls_x509_crt_get_activation_time (crt);
  info->not_after = gnutls_x509_crt_get_expiration_time (crt);
  if (info->not_before == (time_t)-1 || info->not_after == (time_t)-1)
    {
      g_set_error_literal (error, HALE_CERT_ERROR, HALE_CERT_ERROR_BAD_PEM,
                           "certificate validity dates cannot be read");
      return FALSE;
    }
  return TRUE;
}

HaleCertInfo *
hale_cert_info_parse (GBytes *pem, GError **error)
{
  g_autoptr (HaleCertInfo) info = g_new0 (HaleCertInfo, 1);
  gnutls_x509_crt_t *certs = NULL;
  unsigned int n_certs = 0;
  gnutls_datum_t datum;
  g_autofree char *text = NULL;
  gsize size = 0;
  const char *data;
  gboolean ok = TRUE;
  int ret;

  g_return_val_if_fail (pem != NULL, NULL);

  data = g_bytes_get_data (pem, &size);
  /* Armour first: a key file, an empty file or a stray text file is a
   * different mistake from a certificate whose base64 got mangled. */
  if (data == NULL || size == 0
      || memmem (data, size, PEM_CERT_ARMOUR, strlen (PEM_CERT_ARMOUR)) == NULL)
    {
      g_set_error_literal (error, HALE_CERT_ERROR, HALE_CERT_ERROR_NO_CERTIFICATE,
                           size == 0 ? "the file is empty"
                                     : "no \"" PEM_CERT_ARMOUR "\" block in the file");
      return NULL;
    }

  /* GnuTLS' PEM reader wants a terminated string to search in. */
  text = g_strndup (data, size);
  datum.data = (unsigned char *)text;
  datum.size = strlen (text);
  if (datum.size != size)
    {
      g_set_error_literal (error, HALE_CERT_ERROR, HALE_CERT_ERROR_BAD_PEM,
                           "the file contains NUL bytes");
      return NULL;
    }

  /* Any order is accepted (bundles in the wild are not always sorted),
   * but by convention the first certificate is the one served. */
  ret = gnutls_x509_crt_list_import2 (&certs, &n_certs, &datum, GNUTLS_X509_FMT_PEM, 0);
  if (ret < 0 || n_certs == 0)
    {
      g_set_error (error, HALE_CERT_ERROR, HALE_CERT_ERROR_BAD_PEM,
                   "the PEM certificate data is broken: %s",
                   ret < 0 ? gnutls_strerror (ret) : "no certificate decoded");
      return NULL;
    }

  ok = fill_leaf (info, certs[0], error);
  if (ok)
    {
      gnutls_datum_t dn = { NULL, 0 };
      guint earliest = 0;

      info->chain_length = n_certs;
      info->chain_not_after = info->not_after;
      for (guint i = 1; i < n_certs; i++)
        {
          time_t t = gnutls_x509_crt_get_expiration_time (certs[i]);
          if (t != (time_t)-1 && t < info->chain_not_after)
            {
              info->chain_not_after = t;
              earliest = i;
            }
        }
      if (earliest == 0)
        info->chain_not_after_subject = g_strdup (info->subject);
      else if (gnutls_x509_crt_get_dn3 (certs[earliest], &dn, 0) >= 0)
        info->chain_not_after_subject = datum_steal_string (&dn);
      else
        info->chain_not_after_subject = g_strdup ("");
    }

  for (guint i = 0; i < n_certs; i++)
    gnutls_x509_crt_deinit (certs[i]);
  gnutls_free (certs);

  if (!ok)
    return NULL;
  return g_steal_pointer (&info);
}

HaleCertInfo *
hale_cert_info_copy (const HaleCertInfo *info)
{
  HaleCertInfo *copy;

  if (info == NULL)
    return NULL;
  copy = g_new0 (HaleCertInfo, 1);
  *copy = *info;
  copy->serial = g_strdup (info->serial);
  copy->subject = g_strdup (info->subject);
  copy->issuer = g_strdup (info->issuer);
  copy->fingerprint_sha256 = g_strdup (info->fingerprint_sha256);
  copy->chain_not_after_subject = g_strdup (info->chain_not_after_subject);
  return copy;
}

void
hale_cert_info_free (HaleCertInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->serial);
  g_free (info->subject);
  g_free (info->issuer);
  g_free (info->fingerprint_sha256);
  g_free (info->chain_not_after_subject);
  g_free (info);
}
