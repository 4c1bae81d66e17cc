/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-rotation.h: org.hale.Hale1.Rotation, the bus face of hale-rotation.
 *
 * Exports the skeleton generated from dbus/org.hale.Hale1.Rotation.xml.
 * Every method goes through the authority (action
 * org.hale.Hale1.report-rotation) and every decision is audited with the
 * caller; only then are the arguments checked (a bad one is
 * org.freedesktop.DBus.Error.InvalidArgs) and the report handed to the
 * model. The properties follow the model's "changed" signal.
 *
 * The type is HaleRotationFace: gdbus-codegen already names the
 * generated interface HaleDBusRotation (hale_dbus_rotation_*).
 */
#pragma once

#include "hale-audit.h"
#include "hale-authority.h"
#include "hale-rotation.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_TYPE_ROTATION_FACE (hale_rotation_face_get_type ())
G_DECLARE_FINAL_TYPE (HaleRotationFace, hale_rotation_face, HALE, ROTATION_FACE, GObject)

HaleRotationFace *
hale_rotation_face_new (HaleRotation *rotation, HaleAuthority *authority, HaleAudit *audit);

/* For hale_dbus_add_interface(). Transfer none. */
GDBusInterfaceSkeleton *
hale_rotation_face_get_skeleton (HaleRotationFace *self);

G_END_DECLS
