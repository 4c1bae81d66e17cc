/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-reload.c: org.hale.Hale1.Reload, the bus face of the reload engine. */
#include "config.h"

#include "hale-dbus-reload.h"
#include "hale-dbus-generated.h"
#include "hale-error.h"

struct _HaleReloadFace
{
  HaleDbusFace parent_instance;

  HaleReload *reload;
  HaleDBusReload *skeleton;
};

G_DEFINE_TYPE (HaleReloadFace, hale_reload_face, HALE_TYPE_DBUS_FACE)

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

/* The engine has no busy property: its signals and the calls keep Busy right. */
static void
sync_busy (HaleReloadFace *self)
{
  hale_dbus_reload_set_busy (self->skeleton, hale_reload_is_busy (self->reload));
}

static void
on_run_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (HaleDbusCall) call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) results = NULL;
  gboolean rolled_back = FALSE;

  results = hale_reload_run_finish (HALE_RELOAD (source), res, &rolled_back, &error);
  if (results == NULL)
    {
      hale_dbus_call_return_error (call, error);
      return;
    }
  hale_dbus_call_return_value (
      call, g_variant_new ("(@a(sbtss))", hale_reload_face_results_to_variant (results)));
}

/* The engine audits every service it reloads with the caller as actor;
 * the call (and so the caller) stays alive until the sequence ends. */
static gboolean
dispatch_run (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  HaleReloadFace *self = HALE_RELOAD_FACE (face);
  GVariant *parameters = hale_dbus_call_get_parameters (call);
  const char *service = NULL;

  if (g_variant_n_children (parameters) > 0)
    g_variant_get_child (parameters, 0, "&s", &service);
  hale_reload_run_async (self->reload, service, hale_dbus_call_get_actor (call), NULL, on_run_done,
                         hale_dbus_call_ref (call));
  sync_busy (self);
  return TRUE;
}

/* "" would mean "all" to nobody: say so rather than guess. */
static gboolean
check_service (HaleDbusFace *face, GVariant *parameters, GError **error)
{
  const char *service;

  g_variant_get (parameters, "(&s)", &service);
  if (service[0] != '\0')
    return TRUE;
  g_set_error_literal (error, HALE_ERROR, HALE_ERROR_UNKNOWN_SERVICE, "The service name is empty");
  return FALSE;
}

static const HaleDbusMethod methods[] = {
  { "ReloadAll", HALE_ACTION_RELOAD, NULL, NULL, dispatch_run },
  { "ReloadService", HALE_ACTION_RELOAD, "service", check_service, dispatch_run },
};

static const HaleDbusErrorMap errors[] = {
  { hale_reload_error_quark, HALE_RELOAD_ERROR_BUSY, hale_error_quark, HALE_ERROR_BUSY },
  { hale_reload_error_quark, HALE_RELOAD_ERROR_UNKNOWN_SERVICE, hale_error_quark,
    HALE_ERROR_UNKNOWN_SERVICE },
  { hale_reload_error_quark, HALE_RELOAD_ERROR_NOT_CONNECTED, hale_error_quark,
    HALE_ERROR_NOT_CONNECTED },
};

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

GDBusInterfaceSkeleton *
hale_reload_face_get_skeleton (HaleReloadFace *self)
{
  g_return_val_if_fail (HALE_IS_RELOAD_FACE (self), NULL);
  return G_DBUS_INTERFACE_SKELETON (self->skeleton);
}

static void
hale_reload_face_dispose (GObject *object)
{
  HaleReloadFace *self = HALE_RELOAD_FACE (object);

  if (self->reload != NULL)
    g_signal_handlers_disconnect_by_data (self->reload, self);
  g_clear_object (&self->reload);
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

  self = g_object_new (HALE_TYPE_RELOAD_FACE, NULL);
  self->reload = g_object_ref (reload);
  self->skeleton = hale_dbus_reload_skeleton_new ();
  hale_dbus_face_setup (HALE_DBUS_FACE (self), G_DBUS_INTERFACE_SKELETON (self->skeleton),
                        authority, audit, methods, G_N_ELEMENTS (methods), errors,
                        G_N_ELEMENTS (errors));

  g_signal_connect (reload, "service-reloaded", G_CALLBACK (on_service_reloaded), self);
  g_signal_connect (reload, "sequence-finished", G_CALLBACK (on_sequence_finished), self);
  sync_last_results (self);
  sync_busy (self);
  return self;
}
