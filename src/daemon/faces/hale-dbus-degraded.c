/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-degraded.c: org.hale.Hale1.Degraded, bound to the
 * connectivity object.
 *
 * Nothing here keeps state: properties are bound by the face's table
 * (the generated skeleton emits PropertiesChanged on its own), signals
 * are forwarded, and GetEndpoints() answers from the latest results.
 * Every member only reads, so there is nothing to authorise.
 */
#include "config.h"

#include "hale-dbus-degraded.h"

#include "hale-dbus-generated.h"

struct _HaleDegradedFace
{
  HaleDbusFace parent_instance;

  HaleConnectivity *connectivity;
  HaleDBusDegraded *skeleton;
};

G_DEFINE_TYPE (HaleDegradedFace, hale_degraded_face, HALE_TYPE_DBUS_FACE)

static gboolean
get_endpoints (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  HaleConnectivity *connectivity = HALE_DEGRADED_FACE (face)->connectivity;

  hale_dbus_call_return_value (
      call, g_variant_new ("(@a{sa{sv}})", hale_connectivity_get_endpoints (connectivity)));
  return TRUE;
}

static const HaleDbusMethod methods[] = {
  { "GetEndpoints", NULL, NULL, NULL, get_endpoints },
};

static const HaleDbusBinding bindings[] = {
  { "degraded", "active", NULL },
  { "entered-at", "entered-at", NULL },
  { "connectivity", "connectivity", NULL },
  { "last-successful", "last-successful", NULL },
};

static void
on_entered (HaleConnectivity *connectivity, guint64 entered_at, HaleDBusDegraded *skeleton)
{
  hale_dbus_degraded_emit_entered (skeleton, entered_at);
}

static void
on_exited (HaleConnectivity *connectivity, guint64 entered_at, guint64 duration,
           HaleDBusDegraded *skeleton)
{
  hale_dbus_degraded_emit_exited (skeleton, entered_at, duration);
}

static void
on_recheck_requested (HaleConnectivity *connectivity, HaleDBusDegraded *skeleton)
{
  hale_dbus_degraded_emit_recheck_requested (skeleton, "degraded-exited");
}

GDBusInterfaceSkeleton *
hale_degraded_face_get_skeleton (HaleDegradedFace *self)
{
  g_return_val_if_fail (HALE_IS_DEGRADED_FACE (self), NULL);
  return G_DBUS_INTERFACE_SKELETON (self->skeleton);
}

static void
hale_degraded_face_dispose (GObject *object)
{
  HaleDegradedFace *self = HALE_DEGRADED_FACE (object);

  if (self->connectivity != NULL && self->skeleton != NULL)
    g_signal_handlers_disconnect_by_data (self->connectivity, self->skeleton);
  g_clear_object (&self->connectivity);
  g_clear_object (&self->skeleton);
  G_OBJECT_CLASS (hale_degraded_face_parent_class)->dispose (object);
}

static void
hale_degraded_face_class_init (HaleDegradedFaceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hale_degraded_face_dispose;
}

static void
hale_degraded_face_init (HaleDegradedFace *self)
{
}

HaleDegradedFace *
hale_degraded_face_new (HaleConnectivity *connectivity)
{
  HaleDegradedFace *self;

  g_return_val_if_fail (HALE_IS_CONNECTIVITY (connectivity), NULL);

  self = g_object_new (HALE_TYPE_DEGRADED_FACE, NULL);
  self->connectivity = g_object_ref (connectivity);
  self->skeleton = hale_dbus_degraded_skeleton_new ();
  hale_dbus_face_setup (HALE_DBUS_FACE (self), G_DBUS_INTERFACE_SKELETON (self->skeleton), NULL,
                        NULL, methods, G_N_ELEMENTS (methods), NULL, 0);
  hale_dbus_face_bind (HALE_DBUS_FACE (self), connectivity, bindings, G_N_ELEMENTS (bindings));
  g_signal_connect (connectivity, "entered", G_CALLBACK (on_entered), self->skeleton);
  g_signal_connect (connectivity, "exited", G_CALLBACK (on_exited), self->skeleton);
  g_signal_connect (connectivity, "recheck-requested", G_CALLBACK (on_recheck_requested),
                    self->skeleton);
  return self;
}
