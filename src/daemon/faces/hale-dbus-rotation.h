/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-rotation.h: org.hale.Hale1.Rotation, the bus face of hale-rotation.
 *
 * A HaleDbusFace over the skeleton generated from
 * dbus/org.hale.Hale1.Rotation.xml. A bad argument is
 * org.freedesktop.DBus.Error.InvalidArgs before polkit is asked; then
 * every method needs the action org.hale.Hale1.report-rotation, the
 * decision is audited with the caller, and the report is handed to
 * hale-rotation. The properties follow its "changed" signal.
 *
 * The type is HaleRotationFace: gdbus-codegen already names the
 * generated interface HaleDBusRotation (hale_dbus_rotation_*).
 */
#pragma once

#include "hale-dbus-face.h"
#include "hale-rotation.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_TYPE_ROTATION_FACE (hale_rotation_face_get_type ())
G_DECLARE_FINAL_TYPE (HaleRotationFace, hale_rotation_face, HALE, ROTATION_FACE, HaleDbusFace)

HaleRotationFace *
hale_rotation_face_new (HaleRotation *rotation, HaleAuthority *authority, HaleAudit *audit);

/* For hale_dbus_add_interface(). Transfer none. */
GDBusInterfaceSkeleton *
hale_rotation_face_get_skeleton (HaleRotationFace *self);

G_END_DECLS
