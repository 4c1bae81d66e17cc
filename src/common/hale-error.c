/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-error.c: the one D-Bus error domain of haled and halectl. */
#include "config.h"

#include "hale-error.h"
#include "hale-names.h"

/* In HaleError's order: the table is indexed by code. */
static const GDBusErrorEntry hale_error_entries[] = {
  { HALE_ERROR_BUSY, HALE_DBUS_ERROR_BUSY },
  { HALE_ERROR_UNKNOWN_SERVICE, HALE_DBUS_ERROR_UNKNOWN_SERVICE },
  { HALE_ERROR_NOT_CONNECTED, HALE_DBUS_ERROR_NOT_CONNECTED },
  { HALE_ERROR_UNKNOWN_CHECK, HALE_DBUS_ERROR_UNKNOWN_CHECK },
  { HALE_ERROR_UNKNOWN_CATEGORY, HALE_DBUS_ERROR_UNKNOWN_CATEGORY },
  { HALE_ERROR_NOT_PUSH_CHECK, HALE_DBUS_ERROR_NOT_PUSH },
  { HALE_ERROR_RATE_LIMITED, HALE_DBUS_ERROR_RATE_LIMITED },
};

G_STATIC_ASSERT (G_N_ELEMENTS (hale_error_entries) == HALE_ERROR_RATE_LIMITED + 1);

GQuark
hale_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("hale-error-quark", &quark, hale_error_entries,
                                      G_N_ELEMENTS (hale_error_entries));
  return (GQuark)quark;
}
