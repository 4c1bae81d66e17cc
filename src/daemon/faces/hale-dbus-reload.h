/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-reload.h: org.hale.Hale1.Reload, the bus face of the reload engine.
 *
 * Exports the skeleton generated from dbus/org.hale.Hale1.Reload.xml.
 * Methods go through the authority (action org.hale.Hale1.reload) and
 * every decision is audited; the engine's signals become the D-Bus
 * signals, and the LastResults and Busy properties follow the engine, so
 * PropertiesChanged is never kept up to date by hand.
 *
 * The type is HaleReloadFace, not HaleDbusReload: gdbus-codegen already
 * names the generated interface HaleDBusReload (hale_dbus_reload_*).
 */
#pragma once

#include "hale-audit.h"
#include "hale-authority.h"
#include "hale-reload.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_TYPE_RELOAD_FACE (hale_reload_face_get_type ())
G_DECLARE_FINAL_TYPE (HaleReloadFace, hale_reload_face, HALE, RELOAD_FACE, GObject)

/* Also registers org.hale.Hale1.Error.{Busy,UnknownService,NotConnected}
 * for HALE_RELOAD_ERROR, so the engine's errors reach clients by name. */
HaleReloadFace *
hale_reload_face_new (HaleReload *reload, HaleAuthority *authority, HaleAudit *audit);

/* For hale_dbus_add_interface(). Transfer none. */
GDBusInterfaceSkeleton *
hale_reload_face_get_skeleton (HaleReloadFace *self);

/* The a(sbtss) of results the interface speaks (floating). */
GVariant *
hale_reload_face_results_to_variant (GPtrArray *results);

G_END_DECLS
