/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-degraded.h: the org.hale.Hale1.Degraded face.
 *
 * A skeleton generated from dbus/org.hale.Hale1.Degraded.xml whose
 * properties are bound to the connectivity object's, so PropertiesChanged
 * follows every change without a second list; its signals follow the
 * object's. The daemon hands it to hale_dbus_add_interface().
 */
#pragma once

#include "hale-connectivity.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* The skeleton keeps @connectivity alive. Transfer full. */
GDBusInterfaceSkeleton *
hale_dbus_degraded_face_new (HaleConnectivity *connectivity);

G_END_DECLS
