/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-check-answer: another service's health answer, as an http check reads it.
 *
 * Input: one byte for Format= (auto, ft, health+json, seed, status),
 * two for the HTTP status, the Content-Type up to the first newline,
 * then the body. The harness only calls the parser's entry point. */
#include "fuzz-common.h"
#include "hale-check-answer.h"

#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const HaleCheckFormat formats[] = {
    HALE_CHECK_FORMAT_AUTO, HALE_CHECK_FORMAT_FT,     HALE_CHECK_FORMAT_HEALTH_JSON,
    HALE_CHECK_FORMAT_SEED, HALE_CHECK_FORMAT_STATUS,
  };
  g_autoptr (GVariant) details = NULL;
  GVariantBuilder builder;
  g_autofree char *message = NULL;
  g_autofree char *content_type = NULL;
  const char *body, *newline;
  gboolean ok = FALSE;
  guint severity = 0;
  guint status;

  if (size < 3)
    return 0;
  status = 100 + ((data[1] << 8 | data[2]) % 500);
  body = (const char *)data + 3;
  size -= 3;
  newline = memchr (body, '\n', size);
  if (newline != NULL)
    {
      content_type = g_strndup (body, newline - body);
      size -= newline + 1 - body;
      body = newline + 1;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  hale_check_answer_judge (formats[data[0] % G_N_ELEMENTS (formats)], status, content_type, body,
                           size, &builder, &ok, &severity, &message);
  details = g_variant_ref_sink (g_variant_builder_end (&builder));

  /* What reaches /health, D-Bus and the journal: one valid UTF-8 line,
   * a severity of 1 or 2, details a vardict. */
  if (message == NULL || !g_utf8_validate (message, -1, NULL) || strchr (message, '\n') != NULL)
    __builtin_trap ();
  if (severity < 1 || severity > 2)
    __builtin_trap ();
  if (details == NULL || !g_variant_is_of_type (details, G_VARIANT_TYPE_VARDICT))
    __builtin_trap ();
  return 0;
}
