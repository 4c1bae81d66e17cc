/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-error.h: the errors haled answers on the bus, one domain for all.
 *
 * Registered with GDBus once (a GDBusErrorEntry table), so a face that
 * returns a HALE_ERROR sends its org.hale.Hale1.Error.* name, and
 * halectl, calling hale_error_quark() first, reads the name back as the
 * same code. Bad arguments and refusals keep the standard names
 * (G_DBUS_ERROR_INVALID_ARGS, G_DBUS_ERROR_ACCESS_DENIED).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_ERROR (hale_error_quark ())
GQuark
hale_error_quark (void);

typedef enum
{
  HALE_ERROR_BUSY,             /* org.hale.Hale1.Error.Busy: a reload is running */
  HALE_ERROR_UNKNOWN_SERVICE,  /* ...UnknownService: no [Service NAME] */
  HALE_ERROR_NOT_CONNECTED,    /* ...NotConnected: no bus to the service manager yet */
  HALE_ERROR_UNKNOWN_CHECK,    /* ...UnknownCheck: no [Check NAME] */
  HALE_ERROR_UNKNOWN_CATEGORY, /* ...UnknownCategory: no [Category NAME] */
  HALE_ERROR_NOT_PUSH_CHECK,   /* ...NotPushCheck: Report to a check that is not a push check */
  HALE_ERROR_RATE_LIMITED,     /* ...RateLimited: asked again too soon */
} HaleError;

G_END_DECLS
