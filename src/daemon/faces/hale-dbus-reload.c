/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-reload.c: org.hale.Hale1.Reload, the bus face of the reload engine. */
#include "config.h"

#include "hale-dbus-reload.h"
#include "hale-dbus-generated.h"
#include "hale-names.h"

struct _HaleReloadFace
{
  GObject parent_instance;

  HaleReload *reload;
  HaleAuthority *authority;
  HaleAudit *audit;
  HaleDBusReload *skeleton;
};

G_DEFINE_TYPE (HaleReloadFace, hale_reload_face, G_TYPE_OBJECT)

/* One method call, from the authority's answer to the sequence's end. */
typedef struct
{
  HaleReloadFace *self;
  GDBusMethodInvocation *invocation;
  const char *method; /* static */
  char *service;      /* NULL: ReloadAll */
  HaleAuthorityCaller *caller;
} Call;

static void
call_free (Call *call)
{
  g_object_unref (call->self);
  g_object_unref (call->invocation);
  g_free (call->service);
  g_clear_pointer (&call->caller, hale_authority_caller_free);
  g_free (call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

GVariant *
hale_reload_face_results_to_variant (GPtrArray *results)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(sbtss)"));
  for (guint i = 0; results != NULL && i < results->len; i++)
    {
      const HaleReloadResult *r = g_ptr_array_index (results, i);

      g_variant_builder_add (&b, "(sbtss)", r->service ? r->service : "", r->success,
                             (guint64)MAX (r->duration, 0), r->error ? r->error : "",
                             r->unit ? r->unit : "");
    }
  return g_variant_builder_end (&b);
}

static void
sync_last_results (HaleReloadFace *self)
{
  g_autoptr (GPtrArray) results = hale_reload_get_last_results (self->reload);

  hale_dbus_reload_set_last_results (self->skeleton, hale_reload_face_results_to_variant (results));
}

static void
sync_busy (HaleReloadFace *self)
{
  hale_dbus_reload_set_busy (self->skeleton, hale_reload_is_busy (self->reload));
}

static void
on_run_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (Call) call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) results = NULL;
  gboolean rolled_back = FALSE;

  results = hale_reload_run_finish (HALE_RELOAD (source), res, &rolled_back, &error);
  sync_busy (call->self);
  if (results == NULL)
    {
      /* Busy, UnknownService, NotConnected: registered names. */
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (
      call->invocation,
      g_variant_new ("(@a(sbtss))", hale_reload_face_results_to_variant (results)));
}

static void
on_checked (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (Call) call = user_data;
  HaleReloadFace *self = call->self;
  g_autoptr (GError) error = NULL;
  gboolean allowed;

  allowed = hale_authority_check_finish (HALE_AUTHORITY (source), res, &call->caller, &error);
  hale_authority_audit (self->audit, call->caller, HALE_ACTION_RELOAD, call->method,
                        call->service ? "service" : NULL, call->service, allowed ? NULL : error);
  if (!allowed)
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }

  /* The engine audits every service it reloads with this actor; the
   * caller stays alive in @call until the sequence ends. */
  hale_reload_run_async (self->reload, call->service,
                         hale_authority_caller_get_actor (call->caller), NULL, on_run_done, call);
  g_steal_pointer (&call);
  sync_busy (self);
}

static void
start_call (HaleReloadFace *self, GDBusMethodInvocation *invocation, const char *method,
            const char *service)
{
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  call->method = method;
  call->service = g_strdup (service);
  hale_authority_check_async (self->authority, invocation, HALE_ACTION_RELOAD,
                              hale_authority_invocation_is_interactive (invocation), NULL,
                              on_checked, call);
}

static gboolean
on_handle_reload_all (HaleDBusReload *skeleton, GDBusMethodInvocation *invocation,
                      gpointer user_data)
{
  start_call (HALE_RELOAD_FACE (user_data), invocation, "ReloadAll", NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_reload_service (HaleDBusReload *skeleton, GDBusMethodInvocation *invocation,
                          const char *name, gpointer user_data)
{
  /* "" would mean "all" to nobody: say so rather than guess. */
  if (name[0] == '\0')
    {
      g_dbus_method_invocation_return_dbus_error (invocation, HALE_DBUS_ERROR_UNKNOWN_SERVICE,
                                                  "The service name is empty");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  start_call (HALE_RELOAD_FACE (user_data), invocation, "ReloadService", name);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_service_reloaded (HaleReload *reload, const HaleReloadResult *result, gpointer user_data)
{
  HaleReloadFace *self = user_data;

  /* A sequence haled started itself (a renewal) shows as busy too. */
  sync_busy (self);
  hale_dbus_reload_emit_service_reloaded (self->skeleton, result->service ? result->service : "",
                                          result->success, (guint64)MAX (result->duration, 0),
                                          result->error ? result->error : "");
}

static void
on_sequence_finished (HaleReload *reload, GPtrArray *results, gboolean rolled_back,
                      gpointer user_data)
{
  HaleReloadFace *self = user_data;

  sync_last_results (self);
  sync_busy (self);
  hale_dbus_reload_emit_sequence_finished (
      self->skeleton, hale_reload_face_results_to_variant (results), rolled_back);
}

static void
on_busy_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  sync_busy (HALE_RELOAD_FACE (user_data));
}

GDBusInterfaceSkeleton *
hale_reload_face_get_skeleton (HaleReloadFace *self)
{
  g_return_val_if_fail (HALE_IS_RELOAD_FACE (self), NULL);
  return G_DBUS_INTERFACE_SKELETON (self->skeleton);
}

static void
register_errors (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      /* HALE_RELOAD_ERROR is the engine's quark, so its codes are
       * registered one by one rather than as a new error domain. */
      g_dbus_error_register_error (HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_BUSY, HALE_DBUS_ERROR_BUSY);
      g_dbus_error_register_error (HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_UNKNOWN_SERVICE,
                                   HALE_DBUS_ERROR_UNKNOWN_SERVICE);
      g_dbus_error_register_error (HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_NOT_CONNECTED,
                                   HALE_DBUS_ERROR_NOT_CONNECTED);
      g_once_init_leave (&once, 1);
    }
}

static void
hale_reload_face_dispose (GObject *object)
{
  HaleReloadFace *self = HALE_RELOAD_FACE (object);

  if (self->reload != NULL)
    g_signal_handlers_disconnect_by_data (self->reload, self);
  if (self->skeleton != NULL)
    g_signal_handlers_disconnect_by_data (self->skeleton, self);
  g_clear_object (&self->reload);
  g_clear_object (&self->authority);
  g_clear_object (&self->audit);
  g_clear_object (&self->skeleton);
  G_OBJECT_CLASS (hale_reload_face_parent_class)->dispose (object);
}

static void
hale_reload_face_class_init (HaleReloadFaceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hale_reload_face_dispose;
}

static void
hale_reload_face_init (HaleReloadFace *self)
{
}

HaleReloadFace *
hale_reload_face_new (HaleReload *reload, HaleAuthority *authority, HaleAudit *audit)
{
  HaleReloadFace *self;

  g_return_val_if_fail (HALE_IS_RELOAD (reload), NULL);
  g_return_val_if_fail (HALE_IS_AUTHORITY (authority), NULL);
  g_return_val_if_fail (HALE_IS_AUDIT (audit), NULL);

  register_errors ();
  self = g_object_new (HALE_TYPE_RELOAD_FACE, NULL);
  self->reload = g_object_ref (reload);
  self->authority = g_object_ref (authority);
  self->audit = g_object_ref (audit);
  self->skeleton = hale_dbus_reload_skeleton_new ();

  g_signal_connect (self->skeleton, "handle-reload-all", G_CALLBACK (on_handle_reload_all), self);
  g_signal_connect (self->skeleton, "handle-reload-service", G_CALLBACK (on_handle_reload_service),
                    self);
  g_signal_connect (reload, "service-reloaded", G_CALLBACK (on_service_reloaded), self);
  g_signal_connect (reload, "sequence-finished", G_CALLBACK (on_sequence_finished), self);
  /* If the engine tells of its busy state as a property, follow it;
   * else the signals above and the method calls keep Busy right. */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (reload), "busy") != NULL)
    g_signal_connect (reload, "notify::busy", G_CALLBACK (on_busy_notify), self);

  sync_last_results (self);
  sync_busy (self);
  return self;
}
