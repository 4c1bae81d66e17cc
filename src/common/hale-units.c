/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-units.c: durations, sizes and listen addresses as operators write them.
 *
 * Parsers are strict on purpose: a value hale cannot read exactly is an
 * error with the text quoted, never a guess.
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "hale-units.h"

G_DEFINE_QUARK (hale - units - error - quark, hale_units_error)

typedef struct
{
  const char *suffix;
  gint64 factor;
} Unit;

/* Largest first: hale_duration_format() walks the table in order. */
static const Unit duration_units[] = {
  { "w", G_GINT64_CONSTANT (7) * 24 * 3600 * G_USEC_PER_SEC },
  { "d", G_GINT64_CONSTANT (24) * 3600 * G_USEC_PER_SEC },
  { "h", G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC },
  { "m", G_GINT64_CONSTANT (60) * G_USEC_PER_SEC },
  { "s", G_USEC_PER_SEC },
  { "ms", 1000 },
  { "us", 1 },
};

#define DURATION_HINT "write 30s, 5m, 72h or 1d"

/* Reads a run of decimal digits at *p into *out, advancing *p. FALSE
 * on overflow of guint64 (the digits are still consumed). */
static gboolean
read_digits (const char **p, guint64 *out)
{
  guint64 v = 0;
  gboolean ok = TRUE;

  for (; g_ascii_isdigit (**p); (*p)++)
    {
      guint d = **p - '0';
      if (v > (G_MAXUINT64 - d) / 10)
        ok = FALSE;
      else
        v = v * 10 + d;
    }
  *out = v;
  return ok;
}

static gboolean
is_blank (const char *text)
{
  for (; *text; text++)
    if (!g_ascii_isspace (*text))
      return FALSE;
  return TRUE;
}

gboolean
hale_duration_parse (const char *text, gint64 *out_usec, GError **error)
{
  const char *p = text;
  gint64 total = 0;

  g_return_val_if_fail (text != NULL, FALSE);

  if (is_blank (text))
    {
      g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                   "\"%s\" is empty: a duration is needed (" DURATION_HINT ")", text);
      return FALSE;
    }

  while (g_ascii_isspace (*p))
    p++;
  while (*p != '\0')
    {
      const char *number = p;
      const char *unit;
      g_autofree char *unit_text = NULL;
      const Unit *u = NULL;
      guint64 value;
      gboolean fits;

      if (*p == '-')
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                       "\"%s\" is negative: a duration must be 0s or more", text);
          return FALSE;
        }
      if (!g_ascii_isdigit (*p))
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                       "\"%s\" is not a duration: expected a number at \"%s\" (" DURATION_HINT ")",
                       text, p);
          return FALSE;
        }
      fits = read_digits (&p, &value);
      if (*p == '.' || *p == ',')
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                       "\"%s\" has a fraction: write whole units instead, as in 1h30m", text);
          return FALSE;
        }
      /* "5 m" as systemd reads it: so "5 minutes" is an unknown unit,
       * not a number without one. */
      while (g_ascii_isspace (*p))
        p++;
      unit = p;
      while (g_ascii_isalpha (*p))
        p++;
      if (unit == p)
        {
          g_autofree char *num = g_strchomp (g_strndup (number, p - number));
          if (total == 0 && is_blank (p))
            g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                         "\"%s\" has no unit (" DURATION_HINT ")", text);
          else
            g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                         "\"%s\": \"%s\" has no unit (" DURATION_HINT ")", text, num);
          return FALSE;
        }
      unit_text = g_strndup (unit, p - unit);
      for (gsize i = 0; i < G_N_ELEMENTS (duration_units); i++)
        if (g_strcmp0 (duration_units[i].suffix, unit_text) == 0)
          u = &duration_units[i];
      if (u == NULL)
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                       "\"%s\" has an unknown unit \"%s\" (use us, ms, s, m, h, d or w)", text,
                       unit_text);
          return FALSE;
        }
      if (!fits || value > (guint64)(G_MAXINT64 / u->factor)
          || (gint64)value * u->factor > G_MAXINT64 - total)
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_OUT_OF_RANGE,
                       "\"%s\" is too long (the most is about 292000 years)", text);
          return FALSE;
        }
      total += (gint64)value * u->factor;
      while (g_ascii_isspace (*p))
        p++;
    }

  if (out_usec != NULL)
    *out_usec = total;
  return TRUE;
}

char *
hale_duration_format (gint64 usec)
{
  GString *s = g_string_new (NULL);
  guint64 rest;

  if (usec == 0)
    return g_string_free (g_string_append (s, "0s"), FALSE);

  if (usec < 0)
    {
      g_string_append_c (s, '-');
      /* -G_MININT64 does not fit a gint64; it does a guint64. */
      rest = (guint64)(-(usec + 1)) + 1;
    }
  else
    rest = (guint64)usec;

  for (gsize i = 0; i < G_N_ELEMENTS (duration_units); i++)
    {
      guint64 factor = (guint64)duration_units[i].factor;
      if (rest >= factor)
        {
          g_string_append_printf (s, "%" G_GUINT64_FORMAT "%s", rest / factor,
                                  duration_units[i].suffix);
          rest %= factor;
        }
    }
  return g_string_free (s, FALSE);
}

char *
hale_span_format (gint64 seconds, guint n_units)
{
  static const struct
  {
    const char *suffix;
    guint64 factor;
  } units[] = { { "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 } };
  GString *s = g_string_new (seconds < 0 ? "-" : NULL);
  /* -G_MININT64 does not fit a gint64; it does a guint64. */
  guint64 rest = seconds < 0 ? (guint64)(-(seconds + 1)) + 1 : (guint64)seconds;
  guint written = 0;

  n_units = MAX (n_units, 1);
  for (gsize i = 0; i < G_N_ELEMENTS (units) && written < n_units; i++)
    {
      /* Once a unit is written the next ones follow, zero or not:
       * "2d0h", as the seed printed it. The last unit is always
       * written, so 0 is "0s". */
      if (written == 0 && rest < units[i].factor && i + 1 < G_N_ELEMENTS (units))
        continue;
      g_string_append_printf (s, "%" G_GUINT64_FORMAT "%s", rest / units[i].factor,
                              units[i].suffix);
      rest %= units[i].factor;
      written++;
    }
  return g_string_free (s, FALSE);
}

static const Unit size_units[] = {
  { "", 1 },
  { "B", 1 },
  { "K", G_GINT64_CONSTANT (1) << 10 },
  { "KiB", G_GINT64_CONSTANT (1) << 10 },
  { "M", G_GINT64_CONSTANT (1) << 20 },
  { "MiB", G_GINT64_CONSTANT (1) << 20 },
  { "G", G_GINT64_CONSTANT (1) << 30 },
  { "GiB", G_GINT64_CONSTANT (1) << 30 },
  { "T", G_GINT64_CONSTANT (1) << 40 },
  { "TiB", G_GINT64_CONSTANT (1) << 40 },
};

gboolean
hale_size_parse (const char *text, guint64 *out_bytes, GError **error)
{
  g_autofree char *copy = NULL;
  const char *p;
  const char *suffix;
  guint64 value;
  gboolean fits;

  g_return_val_if_fail (text != NULL, FALSE);

  copy = g_strstrip (g_strdup (text));
  p = copy;
  if (*p == '\0')
    {
      g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                   "\"%s\" is empty: a size is needed (write 10M, 512K or 4096)", text);
      return FALSE;
    }
  if (*p == '-')
    {
      g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                   "\"%s\" is negative: a size must be 0 or more", text);
      return FALSE;
    }
  if (!g_ascii_isdigit (*p))
    {
      g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                   "\"%s\" is not a size (write 10M, 512K or 4096)", text);
      return FALSE;
    }
  fits = read_digits (&p, &value);
  if (*p == '.' || *p == ',')
    {
      g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                   "\"%s\" has a fraction: write a whole number, as in 1536K", text);
      return FALSE;
    }
  suffix = p;
  for (gsize i = 0; i < G_N_ELEMENTS (size_units); i++)
    {
      guint64 factor = (guint64)size_units[i].factor;
      if (g_strcmp0 (size_units[i].suffix, suffix) != 0)
        continue;
      if (!fits || value > G_MAXUINT64 / factor)
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_OUT_OF_RANGE,
                       "\"%s\" is too large", text);
          return FALSE;
        }
      if (out_bytes != NULL)
        *out_bytes = value * factor;
      return TRUE;
    }

  if (strlen (suffix) == 2 && strchr ("KMGT", suffix[0]) != NULL && suffix[1] == 'B')
    g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                 "\"%s\" is ambiguous (1000 or 1024?): write %.*s%c or %.*s%ciB, powers of 1024",
                 text, (int)(suffix - copy), copy, suffix[0], (int)(suffix - copy), copy,
                 suffix[0]);
  else
    g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                 "\"%s\" has an unknown unit \"%s\" (use K, M, G or T, powers of 1024)", text,
                 suffix);
  return FALSE;
}

/* What hale-http.c can turn into a GInetAddress. g_hostname_is_ip_address()
 * also takes a scope ("fe80::1%eth0"), which GLib 2.74 cannot parse into
 * an address: such a Listen= passed the check and then failed to bind
 * with no reason given. */
static gboolean
is_bindable_address (const char *host)
{
  g_autoptr (GInetAddress) address = NULL;

  if (!g_hostname_is_ip_address (host))
    return FALSE;
  address = g_inet_address_new_from_string (host);
  return address != NULL;
}

gboolean
hale_listen_parse (const char *text, char **out_host, guint16 *out_port, GError **error)
{
  g_autofree char *host = NULL;
  const char *port_text;
  guint64 port = 0;

  g_return_val_if_fail (text != NULL, FALSE);

  if (is_blank (text))
    {
      g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                   "\"%s\" is empty: write HOST:PORT, [IPv6]:PORT or :PORT", text);
      return FALSE;
    }

  if (text[0] == '[')
    {
      const char *end = strchr (text, ']');
      if (end == NULL)
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                       "\"%s\" has no closing ']' after the IPv6 address", text);
          return FALSE;
        }
      host = g_strndup (text + 1, end - text - 1);
      if (strchr (host, ':') == NULL || !is_bindable_address (host))
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                       strchr (host, '%') != NULL
                           ? "\"%s\": \"%s\" has a zone (%%...): haled listens on plain "
                             "addresses only"
                           : "\"%s\": \"%s\" is not an IPv6 address",
                       text, host);
          return FALSE;
        }
      if (end[1] != ':')
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                       "\"%s\" has no port (write [%s]:9091)", text, host);
          return FALSE;
        }
      port_text = end + 2;
    }
  else
    {
      const char *colon = strrchr (text, ':');
      if (colon == NULL)
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                       "\"%s\" has no port (write HOST:PORT, or :PORT for all addresses)", text);
          return FALSE;
        }
      host = g_strndup (text, colon - text);
      port_text = colon + 1;
      if (strchr (host, ':') != NULL)
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                       "\"%s\": an IPv6 address goes in brackets, as in [::1]:9091", text);
          return FALSE;
        }
      if (host[0] == '\0' || g_str_equal (host, "*"))
        g_clear_pointer (&host, g_free);
      /* What the HTTP face can bind without a DNS lookup at start-up:
       * --check-config must not pass what haled then refuses. */
      else if (!is_bindable_address (host) && g_ascii_strcasecmp (host, "localhost") != 0)
        {
          g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                       "\"%s\": \"%s\" is not an IP address; write a literal address "
                       "(127.0.0.1, [::1]), localhost, or :PORT for all addresses (haled "
                       "does not look names up to listen)",
                       text, host);
          return FALSE;
        }
    }

  if (*port_text == '\0')
    {
      g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                   "\"%s\" has no port after ':'", text);
      return FALSE;
    }
  for (const char *p = port_text; *p; p++)
    if (!g_ascii_isdigit (*p))
      {
        g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_INVALID,
                     "\"%s\": port \"%s\" is not a number", text, port_text);
        return FALSE;
      }
  if (!read_digits (&port_text, &port) || port > G_MAXUINT16)
    {
      g_set_error (error, HALE_UNITS_ERROR, HALE_UNITS_ERROR_OUT_OF_RANGE,
                   "\"%s\": the port is out of range (0 to 65535)", text);
      return FALSE;
    }

  if (out_host != NULL)
    *out_host = g_steal_pointer (&host);
  if (out_port != NULL)
    *out_port = (guint16)port;
  return TRUE;
}

char *
hale_rfc3339_format (gint64 unix_seconds)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (unix_seconds);

  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("");
}
