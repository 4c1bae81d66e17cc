/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-reload.h: org.hale.Hale1.Reload, the bus face of the reload engine.
 *
 * A HaleDbusFace over the skeleton generated from
 * dbus/org.hale.Hale1.Reload.xml: both methods need the action
 * org.hale.Hale1.reload. The engine's signals become the D-Bus signals;
 * the LastResults and Busy properties are set from the engine through
 * the generated setters, which send PropertiesChanged on a change.
 *
 * The type is HaleReloadFace, not HaleDbusReload: gdbus-codegen already
 * names the generated interface HaleDBusReload (hale_dbus_reload_*).
 */
#pragma once

#include "hale-dbus-face.h"
#include "hale-reload.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_TYPE_RELOAD_FACE (hale_reload_face_get_type ())
G_DECLARE_FINAL_TYPE (HaleReloadFace, hale_reload_face, HALE, RELOAD_FACE, HaleDbusFace)

/* The engine's errors reach clients as org.hale.Hale1.Error.{Busy,
 * UnknownService,NotConnected}. */
HaleReloadFace *
hale_reload_face_new (HaleReload *reload, HaleAuthority *authority, HaleAudit *audit);

/* For hale_dbus_add_interface(). Transfer none. */
GDBusInterfaceSkeleton *
hale_reload_face_get_skeleton (HaleReloadFace *self);

/* The a(sbtss) of results the interface speaks (floating). */
GVariant *
hale_reload_face_results_to_variant (GPtrArray *results);

G_END_DECLS
