/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-rotation.c: org.hale.Hale1.Rotation, the bus face of hale-rotation. */
#include "config.h"

#include "hale-dbus-rotation.h"
#include "hale-dbus-generated.h"
#include "hale-names.h"

#include <string.h>

struct _HaleRotationFace
{
  GObject parent_instance;

  HaleRotation *rotation;
  HaleAuthority *authority;
  HaleAudit *audit;
  HaleDBusRotation *skeleton;
};

G_DEFINE_TYPE (HaleRotationFace, hale_rotation_face, G_TYPE_OBJECT)

typedef enum
{
  REPORT_RENEWAL,
  REPORT_JWT_REFRESH,
  REPORT_AUTH_FAILURE,
  REPORT_CACHE_HITS,
  REPORT_BOOTSTRAP,
} ReportKind;

/* One method call, from the authority's answer to the reply. The
 * arguments stay in the invocation's parameters until then. */
typedef struct
{
  HaleRotationFace *self;
  GDBusMethodInvocation *invocation;
  ReportKind kind;
} Call;

static void
call_free (Call *call)
{
  g_object_unref (call->self);
  g_object_unref (call->invocation);
  g_free (call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

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

/* What the call is about, for the audit event of the decision. */
static const char *
call_method (ReportKind kind)
{
  switch (kind)
    {
      case REPORT_RENEWAL:
        return "RecordRenewal";
      case REPORT_JWT_REFRESH:
        return "RecordJwtRefresh";
      case REPORT_AUTH_FAILURE:
        return "RecordAuthFailure";
      case REPORT_CACHE_HITS:
        return "RecordJwtCacheHits";
      case REPORT_BOOTSTRAP:
      default:
        return "SetBootstrapStatus";
    }
}

static gboolean
dispatch (HaleRotationFace *self, ReportKind kind, GVariant *params, const HaleAuditActor *actor,
          GError **error)
{
  switch (kind)
    {
      case REPORT_RENEWAL:
        {
          const char *certificate, *message;
          gboolean success;
          guint64 usec;

          g_variant_get (params, "(&sbt&s)", &certificate, &success, &usec, &message);
          /* A t above G_MAXINT64 is as wrong as any other huge duration. */
          return hale_rotation_record_renewal (self->rotation, certificate, success,
                                               usec > G_MAXINT64 ? -1 : (gint64)usec, message,
                                               actor, error);
        }
      case REPORT_JWT_REFRESH:
        {
          gboolean success;

          g_variant_get (params, "(b)", &success);
          return hale_rotation_record_jwt_refresh (self->rotation, success, error);
        }
      case REPORT_AUTH_FAILURE:
        {
          const char *reason;

          g_variant_get (params, "(&s)", &reason);
          return hale_rotation_record_auth_failure (self->rotation, reason, actor, error);
        }
      case REPORT_CACHE_HITS:
        {
          guint32 count;

          g_variant_get (params, "(u)", &count);
          return hale_rotation_record_jwt_cache_hits (self->rotation, count, error);
        }
      case REPORT_BOOTSTRAP:
      default:
        {
          const char *message;
          gboolean ok;

          g_variant_get (params, "(b&s)", &ok, &message);
          return hale_rotation_set_bootstrap_status (self->rotation, ok, message, actor, error);
        }
    }
}

/* The certificate name of a renewal report, for the decision's audit
 * event: only when it is a sane name (it is checked later). */
static const char *
call_resource (ReportKind kind, GVariant *params, const char **out_type)
{
  const char *certificate = NULL;

  *out_type = NULL;
  if (kind != REPORT_RENEWAL)
    return NULL;
  g_variant_get_child (params, 0, "&s", &certificate);
  if (certificate[0] == '\0' || strlen (certificate) > HALE_ROTATION_MAX_NAME)
    return NULL;
  for (const char *p = certificate; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      return NULL;
  *out_type = "certificate";
  return certificate;
}

static void
on_checked (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (Call) call = user_data;
  g_autoptr (HaleAuthorityCaller) caller = NULL;
  g_autoptr (GError) error = NULL;
  HaleRotationFace *self = call->self;
  GVariant *params = g_dbus_method_invocation_get_parameters (call->invocation);
  const char *resource_type = NULL;
  const char *resource_id = call_resource (call->kind, params, &resource_type);
  gboolean allowed;

  allowed = hale_authority_check_finish (HALE_AUTHORITY (source), res, &caller, &error);
  hale_authority_audit (self->audit, caller, HALE_ACTION_REPORT_ROTATION, call_method (call->kind),
                        resource_type, resource_id, allowed ? NULL : error);
  if (!allowed)
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }

  if (!dispatch (self, call->kind, params, hale_authority_caller_get_actor (caller), &error))
    {
      g_dbus_method_invocation_return_error_literal (call->invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_INVALID_ARGS, error->message);
      return;
    }
  g_dbus_method_invocation_return_value (call->invocation, NULL);
}

static gboolean
start_call (HaleRotationFace *self, GDBusMethodInvocation *invocation, ReportKind kind)
{
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  call->kind = kind;
  hale_authority_check_async (self->authority, invocation, HALE_ACTION_REPORT_ROTATION,
                              hale_authority_invocation_is_interactive (invocation), NULL,
                              on_checked, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_record_renewal (HaleDBusRotation *skeleton, GDBusMethodInvocation *invocation,
                          const char *certificate, gboolean success, guint64 duration_usec,
                          const char *error, gpointer user_data)
{
  return start_call (HALE_ROTATION_FACE (user_data), invocation, REPORT_RENEWAL);
}

static gboolean
on_handle_record_jwt_refresh (HaleDBusRotation *skeleton, GDBusMethodInvocation *invocation,
                              gboolean success, gpointer user_data)
{
  return start_call (HALE_ROTATION_FACE (user_data), invocation, REPORT_JWT_REFRESH);
}

static gboolean
on_handle_record_auth_failure (HaleDBusRotation *skeleton, GDBusMethodInvocation *invocation,
                               const char *reason, gpointer user_data)
{
  return start_call (HALE_ROTATION_FACE (user_data), invocation, REPORT_AUTH_FAILURE);
}

static gboolean
on_handle_record_jwt_cache_hits (HaleDBusRotation *skeleton, GDBusMethodInvocation *invocation,
                                 guint count, gpointer user_data)
{
  return start_call (HALE_ROTATION_FACE (user_data), invocation, REPORT_CACHE_HITS);
}

static gboolean
on_handle_set_bootstrap_status (HaleDBusRotation *skeleton, GDBusMethodInvocation *invocation,
                                gboolean ok, const char *message, gpointer user_data)
{
  return start_call (HALE_ROTATION_FACE (user_data), invocation, REPORT_BOOTSTRAP);
}

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
  if (self->skeleton != NULL)
    g_signal_handlers_disconnect_by_data (self->skeleton, self);
  g_clear_object (&self->rotation);
  g_clear_object (&self->authority);
  g_clear_object (&self->audit);
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
  self->authority = g_object_ref (authority);
  self->audit = g_object_ref (audit);
  self->skeleton = hale_dbus_rotation_skeleton_new ();

  g_signal_connect (self->skeleton, "handle-record-renewal", G_CALLBACK (on_handle_record_renewal),
                    self);
  g_signal_connect (self->skeleton, "handle-record-jwt-refresh",
                    G_CALLBACK (on_handle_record_jwt_refresh), self);
  g_signal_connect (self->skeleton, "handle-record-auth-failure",
                    G_CALLBACK (on_handle_record_auth_failure), self);
  g_signal_connect (self->skeleton, "handle-record-jwt-cache-hits",
                    G_CALLBACK (on_handle_record_jwt_cache_hits), self);
  g_signal_connect (self->skeleton, "handle-set-bootstrap-status",
                    G_CALLBACK (on_handle_set_bootstrap_status), self);
  g_signal_connect (rotation, "changed", G_CALLBACK (on_changed), self);

  sync_properties (self);
  return self;
}
