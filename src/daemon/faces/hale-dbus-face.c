/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-face.c: the one way a D-Bus call runs in haled.
 *
 * The generated skeleton emits handle-METHOD with arguments that differ
 * from method to method; one closure with its own marshaller takes them
 * all, keeps only the invocation (the arguments stay in its parameters)
 * and runs the method's row of the table.
 */
#include "config.h"

#include "hale-dbus-face.h"
#include "hale-error.h"

typedef struct
{
  GDBusInterfaceSkeleton *skeleton;
  HaleAuthority *authority;
  HaleAudit *audit;
  const HaleDbusErrorMap *errors;
  gsize n_errors;
  GArray *handlers;    /* gulong, on the skeleton */
  GPtrArray *bindings; /* GBinding, a reference each: inert once either end is gone */
} HaleDbusFacePrivate;

G_DEFINE_TYPE_WITH_PRIVATE (HaleDbusFace, hale_dbus_face, G_TYPE_OBJECT)

struct _HaleDbusCall
{
  gatomicrefcount ref;
  HaleDbusFace *face;
  /* The reference the skeleton handed over; the answer consumes it. */
  GDBusMethodInvocation *invocation;
  const HaleDbusMethod *method;
  HaleAuthorityCaller *caller;
  gboolean answered;
};

static HaleDbusCall *
call_new (HaleDbusFace *face, const HaleDbusMethod *method, GDBusMethodInvocation *invocation)
{
  HaleDbusCall *call = g_new0 (HaleDbusCall, 1);

  g_atomic_ref_count_init (&call->ref);
  call->face = g_object_ref (face);
  call->method = method;
  call->invocation = invocation;
  return call;
}

HaleDbusCall *
hale_dbus_call_ref (HaleDbusCall *call)
{
  g_atomic_ref_count_inc (&call->ref);
  return call;
}

void
hale_dbus_call_unref (HaleDbusCall *call)
{
  if (!g_atomic_ref_count_dec (&call->ref))
    return;
  /* Every path answers; a call dropped unanswered would leave its
   * client waiting for the timeout. */
  if (!call->answered)
    {
      g_critical ("%s was dropped without an answer", call->method->name);
      g_dbus_method_invocation_return_error (call->invocation, G_DBUS_ERROR, G_DBUS_ERROR_FAILED,
                                             "haled dropped the call to %s", call->method->name);
    }
  g_clear_pointer (&call->caller, hale_authority_caller_free);
  g_object_unref (call->face);
  g_free (call);
}

GVariant *
hale_dbus_call_get_parameters (HaleDbusCall *call)
{
  g_return_val_if_fail (!call->answered, NULL);
  return g_dbus_method_invocation_get_parameters (call->invocation);
}

const HaleAuditActor *
hale_dbus_call_get_actor (HaleDbusCall *call)
{
  return call->caller != NULL ? hale_authority_caller_get_actor (call->caller) : NULL;
}

void
hale_dbus_call_return_value (HaleDbusCall *call, GVariant *value)
{
  g_return_if_fail (!call->answered);

  call->answered = TRUE;
  g_dbus_method_invocation_return_value (call->invocation, value);
}

void
hale_dbus_call_return_error (HaleDbusCall *call, const GError *error)
{
  HaleDbusFacePrivate *priv = hale_dbus_face_get_instance_private (call->face);
  GDBusMethodInvocation *invocation;

  g_return_if_fail (!call->answered);
  g_return_if_fail (error != NULL);

  call->answered = TRUE;
  invocation = call->invocation;
  for (gsize i = 0; i < priv->n_errors; i++)
    {
      const HaleDbusErrorMap *e = &priv->errors[i];

      if (g_error_matches (error, e->from_domain (), e->from_code))
        {
          g_dbus_method_invocation_return_error_literal (invocation, e->to_domain (), e->to_code,
                                                         error->message);
          return;
        }
    }
  /* Both domains have their names registered. */
  if (error->domain == G_DBUS_ERROR || error->domain == HALE_ERROR)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR, G_DBUS_ERROR_FAILED,
                                                   error->message);
}

gboolean
hale_dbus_call_complete (HaleDbusCall *call, gboolean ok)
{
  if (ok)
    hale_dbus_call_return_value (call, NULL);
  return ok;
}

/* What the call is about, for the audit event: its first argument. */
static const char *
call_resource (HaleDbusCall *call)
{
  GVariant *parameters = hale_dbus_call_get_parameters (call);
  const char *resource = NULL;

  if (call->method->resource_type == NULL || g_variant_n_children (parameters) == 0)
    return NULL;
  g_variant_get_child (parameters, 0, "&s", &resource);
  return resource;
}

static void
dispatch (HaleDbusCall *call)
{
  g_autoptr (GError) error = NULL;

  if (!call->method->dispatch (call->face, call, &error))
    hale_dbus_call_return_error (call, error);
}

static void
on_authorised (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (HaleDbusCall) call = user_data;
  HaleDbusFacePrivate *priv = hale_dbus_face_get_instance_private (call->face);
  g_autoptr (GError) error = NULL;
  gboolean allowed;

  allowed = hale_authority_check_finish (HALE_AUTHORITY (source), res, &call->caller, &error);
  hale_authority_audit (priv->audit, call->caller, call->method->action, call->method->name,
                        call->method->resource_type, call_resource (call), allowed ? NULL : error);
  if (!allowed)
    {
      hale_dbus_call_return_error (call, error);
      return;
    }
  dispatch (call);
}

static void
start_call (HaleDbusFace *self, const HaleDbusMethod *method, GDBusMethodInvocation *invocation)
{
  HaleDbusFacePrivate *priv = hale_dbus_face_get_instance_private (self);
  g_autoptr (HaleDbusCall) call = call_new (self, method, invocation);
  g_autoptr (GError) error = NULL;

  if (method->check != NULL
      && !method->check (self, g_dbus_method_invocation_get_parameters (invocation), &error))
    {
      hale_dbus_call_return_error (call, error);
      return;
    }
  if (method->action == NULL)
    {
      dispatch (call);
      return;
    }
  hale_authority_check_async (priv->authority, invocation, method->action,
                              hale_authority_invocation_is_interactive (invocation), NULL,
                              on_authorised, hale_dbus_call_ref (call));
}

typedef struct
{
  GClosure closure;
  HaleDbusFace *face; /* unowned: the handler goes in its dispose */
  const HaleDbusMethod *method;
} MethodClosure;

/* handle-METHOD (skeleton, invocation, arguments...) -> gboolean */
static void
method_marshal (GClosure *closure, GValue *return_value, guint n_param_values,
                const GValue *param_values, gpointer invocation_hint, gpointer marshal_data)
{
  MethodClosure *mc = (MethodClosure *)closure;

  g_return_if_fail (n_param_values >= 2);
  start_call (mc->face, mc->method, g_value_get_object (&param_values[1]));
  g_value_set_boolean (return_value, G_DBUS_METHOD_INVOCATION_HANDLED);
}

/* "RecordJwtCacheHits" -> "handle-record-jwt-cache-hits", as gdbus-codegen names it. */
static char *
handle_signal_name (const char *method)
{
  GString *name = g_string_new ("handle");

  for (const char *p = method; *p != '\0'; p++)
    {
      if (g_ascii_isupper (*p))
        g_string_append_c (name, '-');
      g_string_append_c (name, g_ascii_tolower (*p));
    }
  return g_string_free (name, FALSE);
}

void
hale_dbus_face_setup (HaleDbusFace *self, GDBusInterfaceSkeleton *skeleton,
                      HaleAuthority *authority, HaleAudit *audit, const HaleDbusMethod *methods,
                      gsize n_methods, const HaleDbusErrorMap *errors, gsize n_errors)
{
  HaleDbusFacePrivate *priv = hale_dbus_face_get_instance_private (self);

  g_return_if_fail (HALE_IS_DBUS_FACE (self));
  g_return_if_fail (G_IS_DBUS_INTERFACE_SKELETON (skeleton));
  g_return_if_fail (priv->skeleton == NULL);

  priv->skeleton = g_object_ref (skeleton);
  priv->authority = authority != NULL ? g_object_ref (authority) : NULL;
  priv->audit = audit != NULL ? g_object_ref (audit) : NULL;
  priv->errors = errors;
  priv->n_errors = n_errors;

  for (gsize i = 0; i < n_methods; i++)
    {
      g_autofree char *signal = handle_signal_name (methods[i].name);
      MethodClosure *mc;
      gulong id;

      /* A row without its member, or a changing method without an
       * authority, is a mistake in haled, not something a caller does. */
      g_return_if_fail (g_signal_lookup (signal, G_OBJECT_TYPE (skeleton)) != 0);
      g_return_if_fail (methods[i].action == NULL || (authority != NULL && audit != NULL));

      mc = (MethodClosure *)g_closure_new_simple (sizeof (MethodClosure), NULL);
      mc->face = self;
      mc->method = &methods[i];
      g_closure_set_marshal (&mc->closure, method_marshal);
      id = g_signal_connect_closure (skeleton, signal, &mc->closure, FALSE);
      g_array_append_val (priv->handlers, id);
    }
}

void
hale_dbus_face_bind (HaleDbusFace *self, gpointer model, const HaleDbusBinding *bindings,
                     gsize n_bindings)
{
  HaleDbusFacePrivate *priv = hale_dbus_face_get_instance_private (self);

  g_return_if_fail (HALE_IS_DBUS_FACE (self));
  g_return_if_fail (G_IS_OBJECT (model));
  g_return_if_fail (priv->skeleton != NULL);

  for (gsize i = 0; i < n_bindings; i++)
    g_ptr_array_add (priv->bindings,
                     g_object_ref (g_object_bind_property_full (
                         model, bindings[i].source, priv->skeleton, bindings[i].target,
                         G_BINDING_SYNC_CREATE, bindings[i].transform, NULL, NULL, NULL)));
}

GDBusInterfaceSkeleton *
hale_dbus_face_get_skeleton (HaleDbusFace *self)
{
  HaleDbusFacePrivate *priv = hale_dbus_face_get_instance_private (self);

  g_return_val_if_fail (HALE_IS_DBUS_FACE (self), NULL);
  return priv->skeleton;
}

static void
hale_dbus_face_dispose (GObject *object)
{
  HaleDbusFacePrivate *priv = hale_dbus_face_get_instance_private (HALE_DBUS_FACE (object));

  /* A model that outlives the face no longer writes to its skeleton. */
  for (guint i = 0; i < priv->bindings->len; i++)
    g_binding_unbind (g_ptr_array_index (priv->bindings, i));
  g_ptr_array_set_size (priv->bindings, 0);
  if (priv->skeleton != NULL)
    for (guint i = 0; i < priv->handlers->len; i++)
      g_signal_handler_disconnect (priv->skeleton, g_array_index (priv->handlers, gulong, i));
  g_array_set_size (priv->handlers, 0);
  g_clear_object (&priv->skeleton);
  g_clear_object (&priv->authority);
  g_clear_object (&priv->audit);
  G_OBJECT_CLASS (hale_dbus_face_parent_class)->dispose (object);
}

static void
hale_dbus_face_finalize (GObject *object)
{
  HaleDbusFacePrivate *priv = hale_dbus_face_get_instance_private (HALE_DBUS_FACE (object));

  g_array_unref (priv->handlers);
  g_ptr_array_unref (priv->bindings);
  G_OBJECT_CLASS (hale_dbus_face_parent_class)->finalize (object);
}

static void
hale_dbus_face_class_init (HaleDbusFaceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hale_dbus_face_dispose;
  object_class->finalize = hale_dbus_face_finalize;
  /* Registered before any face answers, so HALE_ERROR goes out by name. */
  (void)hale_error_quark ();
}

static void
hale_dbus_face_init (HaleDbusFace *self)
{
  HaleDbusFacePrivate *priv = hale_dbus_face_get_instance_private (self);

  priv->handlers = g_array_new (FALSE, FALSE, sizeof (gulong));
  priv->bindings = g_ptr_array_new_with_free_func (g_object_unref);
}
