/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-degraded.c: org.hale.Hale1.Degraded, bound to the
 * connectivity object.
 *
 * Nothing here keeps state: properties are GBindings from the
 * connectivity object to the generated skeleton (which emits
 * PropertiesChanged on its own), signals are forwarded, and
 * GetEndpoints() answers from the latest results. Every member only
 * reads, so there is nothing to authorise.
 */
#include "config.h"

#include "hale-dbus-degraded.h"

#include "hale-dbus-generated.h"

static gboolean
handle_get_endpoints (HaleDBusDegraded *skeleton, GDBusMethodInvocation *invocation,
                      gpointer user_data)
{
  HaleConnectivity *connectivity = user_data;

  hale_dbus_degraded_complete_get_endpoints (skeleton, invocation,
                                             hale_connectivity_get_endpoints (connectivity));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

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
hale_dbus_degraded_face_new (HaleConnectivity *connectivity)
{
  HaleDBusDegraded *skeleton;
  static const struct
  {
    const char *from;
    const char *to;
  } bindings[] = {
    { "degraded", "active" },
    { "entered-at", "entered-at" },
    { "connectivity", "connectivity" },
    { "last-successful", "last-successful" },
  };

  g_return_val_if_fail (HALE_IS_CONNECTIVITY (connectivity), NULL);

  skeleton = hale_dbus_degraded_skeleton_new ();
  g_object_set_data_full (G_OBJECT (skeleton), "hale-connectivity", g_object_ref (connectivity),
                          g_object_unref);
  for (gsize i = 0; i < G_N_ELEMENTS (bindings); i++)
    g_object_bind_property (connectivity, bindings[i].from, skeleton, bindings[i].to,
                            G_BINDING_SYNC_CREATE);

  g_signal_connect (skeleton, "handle-get-endpoints", G_CALLBACK (handle_get_endpoints),
                    connectivity);
  /* The connectivity object may outlive the face: disconnect with it. */
  g_signal_connect_object (connectivity, "entered", G_CALLBACK (on_entered), skeleton, 0);
  g_signal_connect_object (connectivity, "exited", G_CALLBACK (on_exited), skeleton, 0);
  g_signal_connect_object (connectivity, "recheck-requested", G_CALLBACK (on_recheck_requested),
                           skeleton, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
