/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-degraded.h: the org.hale.Hale1.Degraded face.
 *
 * A HaleDbusFace over the skeleton generated from
 * dbus/org.hale.Hale1.Degraded.xml whose properties are bound to the
 * connectivity object's, so PropertiesChanged follows every change
 * without a second list; its signals follow the object's. The daemon
 * hands the skeleton to hale_dbus_add_interface().
 */
#pragma once

#include "hale-connectivity.h"
#include "hale-dbus-face.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_TYPE_DEGRADED_FACE (hale_degraded_face_get_type ())
G_DECLARE_FINAL_TYPE (HaleDegradedFace, hale_degraded_face, HALE, DEGRADED_FACE, HaleDbusFace)

HaleDegradedFace *
hale_degraded_face_new (HaleConnectivity *connectivity);

/* For hale_dbus_add_interface(). Transfer none. */
GDBusInterfaceSkeleton *
hale_degraded_face_get_skeleton (HaleDegradedFace *self);

G_END_DECLS
