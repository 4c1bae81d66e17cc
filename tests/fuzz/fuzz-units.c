/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-units: durations, sizes and listen addresses as hale.conf has them.
 *
 * Every input goes through all three parsers; what parses must also
 * come back the same through hale_duration_format(), which the
 * documentation and the D-Bus face promise. */
#include "fuzz-common.h"
#include "hale-units.h"

#include <gio/gio.h>

#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *)data, size);
  g_autoptr (GError) error = NULL;
  g_autofree char *host = NULL;
  gint64 usec = -1;
  guint64 bytes = 0;
  guint16 port = 0;

  if (hale_duration_parse (text, &usec, &error))
    {
      g_autofree char *again = hale_duration_format (usec);
      g_autofree char *span = hale_span_format (usec / G_USEC_PER_SEC, 3);
      gint64 back = -1;

      if (usec < 0 || span == NULL || !hale_duration_parse (again, &back, NULL) || back != usec)
        __builtin_trap ();
    }
  else if (error == NULL || strlen (error->message) == 0)
    __builtin_trap ();
  g_clear_error (&error);

  if (!hale_size_parse (text, &bytes, &error) && error == NULL)
    __builtin_trap ();
  g_clear_error (&error);

  if (hale_listen_parse (text, &host, &port, &error))
    {
      /* What hale-http.c binds: an IP literal, localhost or any. */
      if (host != NULL && g_ascii_strcasecmp (host, "localhost") != 0)
        {
          g_autofree char *inner
              = host[0] == '[' ? g_strndup (host + 1, strlen (host) - 2) : g_strdup (host);
          g_autoptr (GInetAddress) address = g_inet_address_new_from_string (inner);
          if (address == NULL)
            __builtin_trap ();
        }
    }
  else if (error == NULL)
    __builtin_trap ();

  {
    g_autofree char *when = hale_rfc3339_format ((gint64)(gint32)g_str_hash (text));
    if (when == NULL)
      __builtin_trap ();
  }
  return 0;
}
