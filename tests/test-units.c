/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-units.c: durations, sizes and listen addresses. */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "hale-units.h"

#define SEC G_GINT64_CONSTANT (1000000)
#define MINUTE (60 * SEC)
#define HOUR (G_GINT64_CONSTANT (60) * MINUTE)
#define DAY (G_GINT64_CONSTANT (24) * HOUR)

static void
test_duration_forms (void)
{
  static const struct
  {
    const char *text;
    gint64 usec;
  } cases[] = {
    { "0s", 0 },
    { "30s", 30 * SEC },
    { "5m", 5 * MINUTE },
    { "72h", 72 * HOUR },
    { "1d", DAY },
    { "2w", 14 * DAY },
    { "250ms", 250000 },
    { "15us", 15 },
    { "1h30m", HOUR + 30 * MINUTE },
    { "1d 2h", DAY + 2 * HOUR },
    { "  1d\t2h  ", DAY + 2 * HOUR },
    { "1m1m", 2 * MINUTE },
    { "5 m", 5 * MINUTE },
    { "90s", 90 * SEC },
    { "1s500ms", 1500000 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      gint64 usec = -1;

      g_test_message ("parsing \"%s\"", cases[i].text);
      g_assert_true (hale_duration_parse (cases[i].text, &usec, &error));
      g_assert_no_error (error);
      g_assert_cmpint (usec, ==, cases[i].usec);
    }
}

static void
test_duration_rejects (void)
{
  static const struct
  {
    const char *text;
    gint code;
    const char *message;
  } cases[] = {
    { "30", HALE_UNITS_ERROR_INVALID, "\"30\" has no unit (write 30s, 5m, 72h or 1d)" },
    { "1h30", HALE_UNITS_ERROR_INVALID, "\"1h30\": \"30\" has no unit" },
    { "30x", HALE_UNITS_ERROR_INVALID, "unknown unit \"x\"" },
    { "5min", HALE_UNITS_ERROR_INVALID, "unknown unit \"min\"" },
    { "5 minutes", HALE_UNITS_ERROR_INVALID, "unknown unit \"minutes\"" },
    { "1h 30 ", HALE_UNITS_ERROR_INVALID, "\"1h 30 \": \"30\" has no unit" },
    { "-5s", HALE_UNITS_ERROR_INVALID, "\"-5s\" is negative" },
    { "", HALE_UNITS_ERROR_INVALID, "\"\" is empty" },
    { "   ", HALE_UNITS_ERROR_INVALID, "is empty" },
    { "1.5h", HALE_UNITS_ERROR_INVALID, "\"1.5h\" has a fraction" },
    { "h", HALE_UNITS_ERROR_INVALID, "\"h\" is not a duration" },
    { "5s garbage", HALE_UNITS_ERROR_INVALID, "expected a number at \"garbage\"" },
    { "5s !", HALE_UNITS_ERROR_INVALID, "expected a number at \"!\"" },
    { "+5s", HALE_UNITS_ERROR_INVALID, "\"+5s\" is not a duration" },
    { "300000000w", HALE_UNITS_ERROR_OUT_OF_RANGE, "\"300000000w\" is too long" },
    { "99999999999999999999s", HALE_UNITS_ERROR_OUT_OF_RANGE, "is too long" },
    { "15250284w 1w", HALE_UNITS_ERROR_OUT_OF_RANGE, "is too long" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      gint64 usec = 42;

      g_test_message ("refusing \"%s\"", cases[i].text);
      g_assert_false (hale_duration_parse (cases[i].text, &usec, &error));
      g_assert_error (error, HALE_UNITS_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_assert_cmpint (usec, ==, 42);
    }

  /* The edge of the range: 15250284 weeks fit in a gint64 of microseconds,
   * one more week does not. */
  {
    gint64 usec = 0;
    g_assert_true (hale_duration_parse ("15250284w", &usec, NULL));
    g_assert_cmpint (usec, ==, G_GINT64_CONSTANT (15250284) * 7 * DAY);
  }
}

static void
test_duration_format (void)
{
  static const struct
  {
    gint64 usec;
    const char *text;
  } cases[] = {
    { 0, "0s" },         { 259200 * SEC, "3d" },    { 90 * MINUTE, "1h30m" },
    { 250000, "250ms" }, { 76 * HOUR, "3d4h" },     { 14 * DAY, "2w" },
    { 30 * SEC, "30s" }, { 1500001, "1s500ms1us" }, { -30 * SEC, "-30s" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = hale_duration_format (cases[i].usec);
      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_span_format (void)
{
  static const struct
  {
    gint64 seconds;
    guint n_units;
    const char *text;
  } cases[] = {
    { 0, 2, "0s" },
    { 42, 2, "42s" },
    { 200, 2, "3m20s" },
    { 5 * 3600 + 12 * 60 + 59, 2, "5h12m" },
    { 30 * 86400 - 1, 2, "29d23h" },
    { 2 * 86400, 2, "2d0h" },
    { -(2 * 86400 + 3 * 3600 + 5), 2, "-2d3h" },
    { 30 * 86400 - 1, 1, "29d" },
    { 86400 - 1, 1, "23h" },
    { 3599, 1, "59m" },
    { 59, 1, "59s" },
    { -3 * 86400, 1, "-3d" },
    { G_MININT64, 1, "-106751991167300d" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = hale_span_format (cases[i].seconds, cases[i].n_units);
      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_duration_round_trip (void)
{
  static const gint64 values[] = {
    0,          1,      999,      1000,    SEC,
    59 * SEC,   MINUTE, HOUR + 1, DAY - 1, 8 * DAY + 3 * HOUR + 7 * SEC + 12000,
    G_MAXINT64,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree char *text = hale_duration_format (values[i]);
      g_autoptr (GError) error = NULL;
      gint64 back = -1;

      g_test_message ("%" G_GINT64_FORMAT " -> %s", values[i], text);
      g_assert_true (hale_duration_parse (text, &back, &error));
      g_assert_no_error (error);
      g_assert_cmpint (back, ==, values[i]);
    }
}

static void
test_size (void)
{
  static const struct
  {
    const char *text;
    guint64 bytes;
  } ok[] = {
    { "4096", 4096 },
    { "0", 0 },
    { "4096B", 4096 },
    { "512K", 512 * 1024 },
    { "512KiB", 512 * 1024 },
    { "10M", 10 * 1024 * 1024 },
    { "10MiB", 10 * 1024 * 1024 },
    { "1G", G_GUINT64_CONSTANT (1) << 30 },
    { "2GiB", G_GUINT64_CONSTANT (2) << 30 },
    { "1T", G_GUINT64_CONSTANT (1) << 40 },
    { " 10M ", 10 * 1024 * 1024 },
  };
  static const struct
  {
    const char *text;
    gint code;
    const char *message;
  } bad[] = {
    { "", HALE_UNITS_ERROR_INVALID, "is empty" },
    { "-1M", HALE_UNITS_ERROR_INVALID, "\"-1M\" is negative" },
    { "10X", HALE_UNITS_ERROR_INVALID, "unknown unit \"X\"" },
    { "10MB", HALE_UNITS_ERROR_INVALID, "\"10MB\" is ambiguous" },
    { "1.5G", HALE_UNITS_ERROR_INVALID, "has a fraction" },
    { "M", HALE_UNITS_ERROR_INVALID, "\"M\" is not a size" },
    { "10 M", HALE_UNITS_ERROR_INVALID, "unknown unit \" M\"" },
    { "17000000T", HALE_UNITS_ERROR_OUT_OF_RANGE, "too large" },
    { "99999999999999999999", HALE_UNITS_ERROR_OUT_OF_RANGE, "too large" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autoptr (GError) error = NULL;
      guint64 bytes = 1;

      g_test_message ("parsing \"%s\"", ok[i].text);
      g_assert_true (hale_size_parse (ok[i].text, &bytes, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (bytes, ==, ok[i].bytes);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_test_message ("refusing \"%s\"", bad[i].text);
      g_assert_false (hale_size_parse (bad[i].text, NULL, &error));
      g_assert_error (error, HALE_UNITS_ERROR, bad[i].code);
      g_assert_nonnull (strstr (error->message, bad[i].message));
    }
}

static void
test_listen (void)
{
  static const struct
  {
    const char *text;
    const char *host;
    guint16 port;
  } ok[] = {
    { "127.0.0.1:9091", "127.0.0.1", 9091 },
    { "[::1]:9091", "::1", 9091 },
    { "[::]:80", "::", 80 },
    { "localhost:9091", "localhost", 9091 },
    { ":9091", NULL, 9091 },
    { "*:9091", NULL, 9091 },
    { "0.0.0.0:8081", "0.0.0.0", 8081 },
    { "127.0.0.1:0", "127.0.0.1", 0 },
    { ":65535", NULL, 65535 },
  };
  static const struct
  {
    const char *text;
    gint code;
    const char *message;
  } bad[] = {
    { "", HALE_UNITS_ERROR_INVALID, "is empty" },
    { "9091", HALE_UNITS_ERROR_INVALID, "\"9091\" has no port" },
    { "localhost", HALE_UNITS_ERROR_INVALID, "\"localhost\" has no port" },
    { "localhost:", HALE_UNITS_ERROR_INVALID, "has no port after ':'" },
    { "127.0.0.1:65536", HALE_UNITS_ERROR_OUT_OF_RANGE, "out of range" },
    { "127.0.0.1:99999999999999999999", HALE_UNITS_ERROR_OUT_OF_RANGE, "out of range" },
    { "127.0.0.1:-1", HALE_UNITS_ERROR_INVALID, "port \"-1\" is not a number" },
    { "127.0.0.1:http", HALE_UNITS_ERROR_INVALID, "port \"http\" is not a number" },
    { "::1:9091", HALE_UNITS_ERROR_INVALID, "in brackets" },
    { "[::1]9091", HALE_UNITS_ERROR_INVALID, "has no port" },
    { "[::1:9091", HALE_UNITS_ERROR_INVALID, "no closing ']'" },
    { "[127.0.0.1]:9091", HALE_UNITS_ERROR_INVALID, "is not an IPv6 address" },
    /* GLib 2.74 cannot make an address of it: haled could not bind it. */
    { "[fe80::1%eth0]:9091", HALE_UNITS_ERROR_INVALID, "has a zone" },
    { "bad host:9091", HALE_UNITS_ERROR_INVALID, "\"bad host\" is not an IP address" },
    /* haled never resolves a name to listen on: --check-config says so. */
    { "example.com:9091", HALE_UNITS_ERROR_INVALID, "\"example.com\" is not an IP address" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *host = NULL;
      guint16 port = 1;

      g_test_message ("parsing \"%s\"", ok[i].text);
      g_assert_true (hale_listen_parse (ok[i].text, &host, &port, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (host, ==, ok[i].host);
      g_assert_cmpuint (port, ==, ok[i].port);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      char *host = NULL;

      g_test_message ("refusing \"%s\"", bad[i].text);
      g_assert_false (hale_listen_parse (bad[i].text, &host, NULL, &error));
      g_assert_error (error, HALE_UNITS_ERROR, bad[i].code);
      g_assert_nonnull (strstr (error->message, bad[i].message));
      g_assert_null (host);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/units/duration/forms", test_duration_forms);
  g_test_add_func ("/units/duration/rejects", test_duration_rejects);
  g_test_add_func ("/units/duration/format", test_duration_format);
  g_test_add_func ("/units/duration/round-trip", test_duration_round_trip);
  g_test_add_func ("/units/span/format", test_span_format);
  g_test_add_func ("/units/size", test_size);
  g_test_add_func ("/units/listen", test_listen);
  return g_test_run ();
}
