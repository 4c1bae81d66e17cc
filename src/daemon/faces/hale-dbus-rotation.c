/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-rotation.c: org.hale.Hale1.Rotation, the bus face of hale-rotation. */
#include "config.h"

#include "hale-dbus-rotation.h"
#include "hale-dbus-generated.h"

struct _HaleRotationFace
{
  HaleDbusFace parent_instance;

  HaleRotation *rotation;
  HaleDBusRotation *skeleton;
};

G_DEFINE_TYPE (HaleRotationFace, hale_rotation_face, HALE_TYPE_DBUS_FACE)

static void
sync_properties (HaleRotationFace *self)
{
  const HaleRenewalReport *r = hale_rotation_get_last_renewal (self->rotation);
  const char *message = NULL;
  gint64 changed = 0;
  HaleBootstrapStatus status
      = hale_rotation_get_bootstrap_status (self->rotation, &message, &changed);

  /* The generated setters notify (and so emit PropertiesChanged) only
   * for values that differ. */
  hale_dbus_rotation_set_bootstrap_status (self->skeleton,
                                           hale_bootstrap_status_to_string (status));
  hale_dbus_rotation_set_bootstrap_message (self->skeleton, message ? message : "");
  hale_dbus_rotation_set_bootstrap_changed_at (self->skeleton, (guint64)MAX (changed, 0));
  hale_dbus_rotation_set_last_renewal (
      self->skeleton, g_variant_new ("(sbtts)", r->certificate ? r->certificate : "", r->success,
                                     (guint64)MAX (r->duration_usec, 0),
                                     (guint64)MAX (r->at_usec, 0), r->error ? r->error : ""));
}

static HaleRotation *
rotation_of (HaleDbusFace *face)
{
  return HALE_ROTATION_FACE (face)->rotation;
}

/* A t above G_MAXINT64 is as wrong as any other huge duration. */
static gint64
renewal_duration (guint64 usec)
{
  return usec > G_MAXINT64 ? -1 : (gint64)usec;
}

static gboolean
check_renewal (HaleDbusFace *face, GVariant *parameters, GError **error)
{
  const char *certificate, *message;
  gboolean success;
  guint64 usec;

  g_variant_get (parameters, "(&sbt&s)", &certificate, &success, &usec, &message);
  return hale_rotation_check_renewal (certificate, renewal_duration (usec), message, error);
}

static gboolean
record_renewal (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  const char *certificate, *message;
  gboolean success;
  guint64 usec;

  g_variant_get (hale_dbus_call_get_parameters (call), "(&sbt&s)", &certificate, &success, &usec,
                 &message);
  return hale_dbus_call_complete (
      call, hale_rotation_record_renewal (rotation_of (face), certificate, success,
                                          renewal_duration (usec), message,
                                          hale_dbus_call_get_actor (call), error));
}

static gboolean
record_jwt_refresh (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  gboolean success;

  g_variant_get (hale_dbus_call_get_parameters (call), "(b)", &success);
  return hale_dbus_call_complete (
      call, hale_rotation_record_jwt_refresh (rotation_of (face), success, error));
}

static gboolean
check_auth_failure (HaleDbusFace *face, GVariant *parameters, GError **error)
{
  const char *reason;

  g_variant_get (parameters, "(&s)", &reason);
  return hale_rotation_check_reason (reason, error);
}

static gboolean
record_auth_failure (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  const char *reason;

  g_variant_get (hale_dbus_call_get_parameters (call), "(&s)", &reason);
  return hale_dbus_call_complete (
      call, hale_rotation_record_auth_failure (rotation_of (face), reason,
                                               hale_dbus_call_get_actor (call), error));
}

static gboolean
check_cache_hits (HaleDbusFace *face, GVariant *parameters, GError **error)
{
  guint32 count;

  g_variant_get (parameters, "(u)", &count);
  return hale_rotation_check_cache_hits (count, error);
}

static gboolean
record_cache_hits (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  guint32 count;

  g_variant_get (hale_dbus_call_get_parameters (call), "(u)", &count);
  return hale_dbus_call_complete (
      call, hale_rotation_record_jwt_cache_hits (rotation_of (face), count, error));
}

static gboolean
check_bootstrap (HaleDbusFace *face, GVariant *parameters, GError **error)
{
  const char *message;
  gboolean ok;

  g_variant_get (parameters, "(b&s)", &ok, &message);
  return hale_rotation_check_bootstrap_message (message, error);
}

static gboolean
set_bootstrap (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  const char *message;
  gboolean ok;

  g_variant_get (hale_dbus_call_get_parameters (call), "(b&s)", &ok, &message);
  return hale_dbus_call_complete (
      call, hale_rotation_set_bootstrap_status (rotation_of (face), ok, message,
                                                hale_dbus_call_get_actor (call), error));
}

static const HaleDbusMethod methods[] = {
  { "RecordRenewal", HALE_ACTION_REPORT_ROTATION, "certificate", check_renewal, record_renewal },
  { "RecordJwtRefresh", HALE_ACTION_REPORT_ROTATION, NULL, NULL, record_jwt_refresh },
  { "RecordAuthFailure", HALE_ACTION_REPORT_ROTATION, NULL, check_auth_failure,
    record_auth_failure },
  { "RecordJwtCacheHits", HALE_ACTION_REPORT_ROTATION, NULL, check_cache_hits, record_cache_hits },
  { "SetBootstrapStatus", HALE_ACTION_REPORT_ROTATION, NULL, check_bootstrap, set_bootstrap },
};

static const HaleDbusErrorMap errors[] = {
  { hale_rotation_error_quark, HALE_ROTATION_ERROR_INVALID, g_dbus_error_quark,
    G_DBUS_ERROR_INVALID_ARGS },
};

static void
on_changed (HaleRotation *rotation, gpointer user_data)
{
  sync_properties (HALE_ROTATION_FACE (user_data));
}

GDBusInterfaceSkeleton *
hale_rotation_face_get_skeleton (HaleRotationFace *self)
{
  g_return_val_if_fail (HALE_IS_ROTATION_FACE (self), NULL);
  return G_DBUS_INTERFACE_SKELETON (self->skeleton);
}

static void
hale_rotation_face_dispose (GObject *object)
{
  HaleRotationFace *self = HALE_ROTATION_FACE (object);

  if (self->rotation != NULL)
    g_signal_handlers_disconnect_by_data (self->rotation, self);
  g_clear_object (&self->rotation);
  g_clear_object (&self->skeleton);
  G_OBJECT_CLASS (hale_rotation_face_parent_class)->dispose (object);
}

static void
hale_rotation_face_class_init (HaleRotationFaceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hale_rotation_face_dispose;
}

static void
hale_rotation_face_init (HaleRotationFace *self)
{
}

HaleRotationFace *
hale_rotation_face_new (HaleRotation *rotation, HaleAuthority *authority, HaleAudit *audit)
{
  HaleRotationFace *self;

  g_return_val_if_fail (HALE_IS_ROTATION (rotation), NULL);
  g_return_val_if_fail (HALE_IS_AUTHORITY (authority), NULL);
  g_return_val_if_fail (HALE_IS_AUDIT (audit), NULL);

  self = g_object_new (HALE_TYPE_ROTATION_FACE, NULL);
  self->rotation = g_object_ref (rotation);
  self->skeleton = hale_dbus_rotation_skeleton_new ();
  hale_dbus_face_setup (HALE_DBUS_FACE (self), G_DBUS_INTERFACE_SKELETON (self->skeleton),
                        authority, audit, methods, G_N_ELEMENTS (methods), errors,
                        G_N_ELEMENTS (errors));
  g_signal_connect (rotation, "changed", G_CALLBACK (on_changed), self);

  sync_properties (self);
  return self;
}
