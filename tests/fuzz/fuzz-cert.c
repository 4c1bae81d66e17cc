/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-cert: a PEM certificate file as haled reads it.
 *
 * GnuTLS parses the DER; this is about what hale does around it: the
 * PEM framing it splits, a chain of any length, and every field it
 * takes from GnuTLS's results into /health, the metrics and D-Bus. */
#include "fuzz-common.h"
#include "hale-cert.h"

#include <string.h>

static void
check_text (const char *text)
{
  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    __builtin_trap ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) pem = g_bytes_new (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleCertInfo) info = hale_cert_info_parse (pem, &error);

  if ((info == NULL) == (error == NULL))
    __builtin_trap ();
  if (info == NULL)
    {
      /* A reason an operator can read in /health/certificate. */
      if (error->domain != HALE_CERT_ERROR || hale_cert_error_reason (error->code) == NULL)
        __builtin_trap ();
      return 0;
    }
  check_text (info->serial);
  check_text (info->subject);
  check_text (info->issuer);
  check_text (info->fingerprint_sha256);
  if (strlen (info->fingerprint_sha256) != 64 || info->chain_length < 1
      || info->chain_not_after > info->not_after)
    __builtin_trap ();
  {
    g_autoptr (HaleCertInfo) copy = hale_cert_info_copy (info);
    if (g_strcmp0 (copy->serial, info->serial) != 0)
      __builtin_trap ();
  }
  return 0;
}
