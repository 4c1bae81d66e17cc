/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-error.c: haled's D-Bus error names, as clients and halectl read them. */
#include "config.h"

#include "hale-error.h"

/* The names are part of the contract (docs/dbus.md): a client that
 * matches on them must keep working. */
static const struct
{
  HaleError code;
  const char *name;
} names[] = {
  { HALE_ERROR_BUSY, "org.hale.Hale1.Error.Busy" },
  { HALE_ERROR_UNKNOWN_SERVICE, "org.hale.Hale1.Error.UnknownService" },
  { HALE_ERROR_NOT_CONNECTED, "org.hale.Hale1.Error.NotConnected" },
  { HALE_ERROR_UNKNOWN_CHECK, "org.hale.Hale1.Error.UnknownCheck" },
  { HALE_ERROR_UNKNOWN_CATEGORY, "org.hale.Hale1.Error.UnknownCategory" },
  { HALE_ERROR_NOT_PUSH_CHECK, "org.hale.Hale1.Error.NotPushCheck" },
  { HALE_ERROR_RATE_LIMITED, "org.hale.Hale1.Error.RateLimited" },
};

static void
test_names (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (GError) error = g_error_new_literal (HALE_ERROR, names[i].code, "why");
      g_autofree char *encoded = g_dbus_error_encode_gerror (error);
      g_autoptr (GError) read_back = g_dbus_error_new_for_dbus_error (names[i].name, "why");

      g_assert_cmpstr (encoded, ==, names[i].name);
      g_assert_error (read_back, HALE_ERROR, (gint)names[i].code);
      g_dbus_error_strip_remote_error (read_back);
      g_assert_cmpstr (read_back->message, ==, "why");
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/error/names", test_names);
  return g_test_run ();
}
