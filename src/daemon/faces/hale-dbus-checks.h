/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-checks.h: the aggregated checks on org.hale.Hale1.Health.
 *
 * Answers the Health members that belong to the aggregate (GetChecks,
 * GetCategories, Acknowledge, RemoveAcknowledgement, EnableCategory,
 * DisableCategory, Report), keeps the Acknowledged property and emits
 * ChecksChanged. Mutating calls go through the authority (one polkit
 * action each: acknowledge, manage-categories, report-check) and every
 * decision is audited with the caller.
 */
#pragma once

#include "hale-aggregate.h"
#include "hale-checks.h"
#include "hale-dbus-face.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_TYPE_CHECKS_FACE (hale_checks_face_get_type ())
G_DECLARE_FINAL_TYPE (HaleChecksFace, hale_checks_face, HALE, CHECKS_FACE, HaleDbusFace)

/* @checks: the engine Report() hands pushed results to.
 * @health: hale_dbus_get_health_skeleton(). */
HaleChecksFace *
hale_checks_face_new (HaleAggregate *aggregate, HaleChecks *checks, HaleAuthority *authority,
                      HaleAudit *audit, GDBusInterfaceSkeleton *health);

/* The a{sa{sv}} of GetChecks / GetCategories (floating). */
GVariant *
hale_checks_face_checks_to_variant (GPtrArray *checks);
GVariant *
hale_checks_face_categories_to_variant (GPtrArray *categories);

G_END_DECLS
