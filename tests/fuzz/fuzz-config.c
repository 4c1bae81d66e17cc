/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-config: hale.conf and its drop-ins, parsed from memory.
 *
 * The input is the main file, then each drop-in after a line that is
 * exactly "--- drop-in" (so one input holds a whole configuration). */
#define _GNU_SOURCE /* memmem */
#include "fuzz-common.h"
#include "hale-config.h"

#include <string.h>

#define SEPARATOR "\n--- drop-in\n"
#define MAX_FILES 8

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const names[MAX_FILES + 1] = {
    "/etc/hale/hale.conf",
    "/etc/hale/hale.conf.d/10-a.conf",
    "/etc/hale/hale.conf.d/20-b.conf",
    "/etc/hale/hale.conf.d/30-c.conf",
    "/etc/hale/hale.conf.d/40-d.conf",
    "/etc/hale/hale.conf.d/50-e.conf",
    "/etc/hale/hale.conf.d/60-f.conf",
    "/etc/hale/hale.conf.d/70-g.conf",
    NULL,
  };
  GBytes *contents[MAX_FILES] = { NULL };
  const char *at = (const char *)data;
  const char *end = at + size;
  guint n = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = NULL;
  const char *used[MAX_FILES + 1] = { NULL };

  while (n < MAX_FILES)
    {
      const char *sep
          = n + 1 < MAX_FILES ? memmem (at, end - at, SEPARATOR, strlen (SEPARATOR)) : NULL;
      const char *stop = sep != NULL ? sep : end;

      contents[n] = g_bytes_new (at, stop - at);
      used[n] = names[n];
      n++;
      if (sep == NULL)
        break;
      at = sep + strlen (SEPARATOR);
    }

  config = hale_config_load_from_data (used, contents, &error);
  /* Exactly one of the two, and a refusal says why. */
  if ((config == NULL) == (error == NULL))
    __builtin_trap ();
  if (error != NULL && (error->message == NULL || error->message[0] == '\0'))
    __builtin_trap ();
  if (config != NULL)
    {
      /* What the daemon reads next: every name it can look up. */
      for (guint i = 0; i < config->certificates->len; i++)
        {
          const HaleCertificateConfig *c = g_ptr_array_index (config->certificates, i);
          if (hale_config_find_certificate (config, c->name) == NULL)
            __builtin_trap ();
        }
      for (guint i = 0; i < config->categories->len; i++)
        {
          const HaleCategoryConfig *c = g_ptr_array_index (config->categories, i);
          for (guint j = 0; c->checks[j] != NULL; j++)
            if (hale_config_find_check (config, c->checks[j]) == NULL)
              __builtin_trap ();
        }
    }
  for (guint i = 0; i < n; i++)
    g_bytes_unref (contents[i]);
  return 0;
}
