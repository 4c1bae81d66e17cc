/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus.h: org.hale.Hale1 on the bus, and its Health interface.
 *
 * Owns the name and exports /org/hale/Hale1 with skeletons generated
 * from the dbus/ XML by gdbus-codegen. Properties are bound to the state
 * model, so PropertiesChanged follows from the model and is never kept
 * up to date by hand.
 */
#pragma once

#include "hale-report.h"
#include "hale-state.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_TYPE_DBUS (hale_dbus_get_type ())
G_DECLARE_FINAL_TYPE (HaleDbus, hale_dbus, HALE, DBUS, GObject)

HaleDbus *
hale_dbus_new (HaleState *state, HaleReport *report);

/* Connects to @bus_type (the system bus, or the session bus with
 * --user), exports every interface, then asks for the name. Emits
 * "name-acquired" once the name is ours and "name-lost" (with a reason
 * string) when it cannot be had or is taken away. */
void
hale_dbus_start (HaleDbus *self, GBusType bus_type);

/* Exports another interface (Reload, Degraded, ...) on /org/hale/Hale1,
 * now if connected, else at start. */
void
hale_dbus_add_interface (HaleDbus *self, GDBusInterfaceSkeleton *iface);

/* The Health interface's skeleton (a HaleDBusHealth), for modules that
 * answer some of its methods (hale-dbus-checks). Transfer none. */
GDBusInterfaceSkeleton *
hale_dbus_get_health_skeleton (HaleDbus *self);

/* NULL before hale_dbus_start() connected. Transfer none. */
GDBusConnection *
hale_dbus_get_connection (HaleDbus *self);

G_END_DECLS
