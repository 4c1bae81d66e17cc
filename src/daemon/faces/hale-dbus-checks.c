/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-checks.c: the aggregated checks on org.hale.Hale1.Health.
 *
 * Arguments are checked before polkit is asked (a typo should not cost
 * a password prompt), then the authority decides, the decision is
 * audited, and only then does the aggregate change.
 */
#include "config.h"

#include "hale-dbus-checks.h"
#include "hale-dbus-generated.h"
#include "hale-names.h"

struct _HaleChecksFace
{
  GObject parent_instance;

  HaleAggregate *aggregate;
  HaleAuthority *authority;
  HaleAudit *audit;
  HaleDBusHealth *health;
};

G_DEFINE_TYPE (HaleChecksFace, hale_checks_face, G_TYPE_OBJECT)

typedef enum
{
  OP_ACKNOWLEDGE,
  OP_REMOVE_ACK,
  OP_ENABLE,
  OP_DISABLE,
  OP_REPORT,
} Op;

static const struct
{
  const char *method;
  const char *action;
  const char *resource_type;
} ops[] = {
  [OP_ACKNOWLEDGE] = { "Acknowledge", HALE_ACTION_ACKNOWLEDGE, "check" },
  [OP_REMOVE_ACK] = { "RemoveAcknowledgement", HALE_ACTION_ACKNOWLEDGE, "check" },
  [OP_ENABLE] = { "EnableCategory", HALE_ACTION_MANAGE_CATEGORIES, "category" },
  [OP_DISABLE] = { "DisableCategory", HALE_ACTION_MANAGE_CATEGORIES, "category" },
  [OP_REPORT] = { "Report", HALE_ACTION_REPORT_CHECK, "check" },
};

typedef struct
{
  HaleChecksFace *self;
  GDBusMethodInvocation *invocation;
  Op op;
  char *name;
  char *status;
  char *message;
} Call;

static void
call_free (Call *call)
{
  g_object_unref (call->self);
  g_object_unref (call->invocation);
  g_free (call->name);
  g_free (call->status);
  g_free (call->message);
  g_free (call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

/* Errors of the aggregate and the engine by their D-Bus names. Not
 * registered as a domain: both modules' "unknown check" map to one
 * name, which g_dbus_error_register_error() cannot do. */
static void
return_error (GDBusMethodInvocation *invocation, const GError *error)
{
  const char *name = "org.freedesktop.DBus.Error.Failed";

  if (g_error_matches (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CHECK)
      || g_error_matches (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_UNKNOWN_CHECK))
    name = HALE_DBUS_ERROR_UNKNOWN_CHECK;
  else if (g_error_matches (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CATEGORY))
    name = HALE_DBUS_ERROR_UNKNOWN_CATEGORY;
  else if (g_error_matches (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_NOT_PUSH))
    name = HALE_DBUS_ERROR_NOT_PUSH;
  else if (g_error_matches (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_RATE_LIMITED))
    name = HALE_DBUS_ERROR_RATE_LIMITED;
  else if (g_error_matches (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID)
           || g_error_matches (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_INVALID))
    name = "org.freedesktop.DBus.Error.InvalidArgs";
  else if (error->domain == G_DBUS_ERROR)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  g_dbus_method_invocation_return_dbus_error (invocation, name, error->message);
}

static void
on_checked (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (Call) call = user_data;
  HaleChecksFace *self = call->self;
  g_autoptr (HaleAuthorityCaller) caller = NULL;
  g_autoptr (GError) error = NULL;
  const HaleAuditActor *actor;
  gboolean ok = FALSE;

  if (!hale_authority_check_finish (HALE_AUTHORITY (source), res, &caller, &error))
    {
      hale_authority_audit (self->audit, caller, ops[call->op].action, ops[call->op].method,
                            ops[call->op].resource_type, call->name, error);
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  hale_authority_audit (self->audit, caller, ops[call->op].action, ops[call->op].method,
                        ops[call->op].resource_type, call->name, NULL);
  actor = hale_authority_caller_get_actor (caller);

  switch (call->op)
    {
      case OP_ACKNOWLEDGE:
        ok = hale_aggregate_acknowledge (self->aggregate, call->name, call->message, actor, &error);
        break;
      case OP_REMOVE_ACK:
        ok = hale_aggregate_remove_acknowledgement (self->aggregate, call->name, actor, &error);
        break;
      case OP_ENABLE:
      case OP_DISABLE:
        ok = hale_aggregate_set_category_enabled (self->aggregate, call->name,
                                                  call->op == OP_ENABLE, actor, &error);
        break;
      case OP_REPORT:
        ok = hale_checks_report (hale_aggregate_get_checks (self->aggregate), call->name,
                                 call->status, call->message, &error);
        break;
    }
  if (!ok)
    {
      return_error (call->invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (call->invocation, NULL);
}

static gboolean
start (HaleChecksFace *self, GDBusMethodInvocation *invocation, Op op, const char *name,
       const char *status, const char *message)
{
  g_autoptr (GError) error = NULL;
  Call *call;

  /* What can be refused without asking polkit is refused first. */
  switch (op)
    {
      case OP_ACKNOWLEDGE:
      case OP_REMOVE_ACK:
        /* RemoveAcknowledgement may clear the acknowledgement of a check
         * since removed from hale.conf: the aggregate decides. */
        if (op == OP_ACKNOWLEDGE ? !hale_aggregate_has_check (self->aggregate, name)
                                 : name[0] == '\0')
          g_set_error (&error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CHECK,
                       "There is no check “%s” ([Check %s] in hale.conf)", name, name);
        break;
      case OP_ENABLE:
      case OP_DISABLE:
        if (!hale_aggregate_has_category (self->aggregate, name))
          g_set_error (&error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CATEGORY,
                       "There is no category “%s” ([Category %s] in hale.conf)", name, name);
        break;
      case OP_REPORT:
        if (!hale_aggregate_has_check (self->aggregate, name))
          g_set_error (&error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CHECK,
                       "There is no check “%s” ([Check %s] in hale.conf)", name, name);
        else if (!g_str_equal (status, "pass") && !g_str_equal (status, "warn")
                 && !g_str_equal (status, "fail"))
          g_set_error (&error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID,
                       "Status “%s” is not one of pass, warn, fail", status);
        break;
    }
  if (error != NULL)
    {
      return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  call = g_new0 (Call, 1);
  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  call->op = op;
  call->name = g_strdup (name);
  call->status = g_strdup (status);
  call->message = g_strdup (message);
  hale_authority_check_async (self->authority, invocation, ops[op].action,
                              hale_authority_invocation_is_interactive (invocation), NULL,
                              on_checked, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_acknowledge (HaleDBusHealth *health, GDBusMethodInvocation *invocation, const char *check,
                const char *message, HaleChecksFace *self)
{
  return start (self, invocation, OP_ACKNOWLEDGE, check, NULL, message);
}

static gboolean
on_remove_ack (HaleDBusHealth *health, GDBusMethodInvocation *invocation, const char *check,
               HaleChecksFace *self)
{
  return start (self, invocation, OP_REMOVE_ACK, check, NULL, NULL);
}

static gboolean
on_enable (HaleDBusHealth *health, GDBusMethodInvocation *invocation, const char *category,
           HaleChecksFace *self)
{
  return start (self, invocation, OP_ENABLE, category, NULL, NULL);
}

static gboolean
on_disable (HaleDBusHealth *health, GDBusMethodInvocation *invocation, const char *category,
            HaleChecksFace *self)
{
  return start (self, invocation, OP_DISABLE, category, NULL, NULL);
}

static gboolean
on_report (HaleDBusHealth *health, GDBusMethodInvocation *invocation, const char *check,
           const char *status, const char *message, HaleChecksFace *self)
{
  return start (self, invocation, OP_REPORT, check, status, message);
}

GVariant *
hale_checks_face_checks_to_variant (GPtrArray *checks)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sa{sv}}"));
  for (guint i = 0; i < checks->len; i++)
    {
      const HaleAggregateCheck *c = g_ptr_array_index (checks, i);
      const HaleCheckOutcome *o = c->outcome;
      GVariantBuilder d;

      g_variant_builder_init (&d, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (
          &d, "{sv}", "status",
          g_variant_new_string (o ? hale_check_status_to_string (o->status) : "unknown"));
      g_variant_builder_add (&d, "{sv}", "ok", g_variant_new_boolean (o ? o->ok : FALSE));
      g_variant_builder_add (&d, "{sv}", "message",
                             g_variant_new_string (o ? o->message : "not run yet"));
      if (o != NULL)
        {
          g_variant_builder_add (&d, "{sv}", "kind",
                                 g_variant_new_string (hale_check_kind_to_string (o->kind)));
          g_variant_builder_add (&d, "{sv}", "severity", g_variant_new_uint32 (o->severity));
          g_variant_builder_add (&d, "{sv}", "checked_at",
                                 g_variant_new_uint64 ((guint64)MAX (o->checked_at, 0)));
          g_variant_builder_add (&d, "{sv}", "duration",
                                 g_variant_new_uint64 ((guint64)MAX (o->duration, 0)));
          g_variant_builder_add (&d, "{sv}", "qos", g_variant_new_double (o->qos));
        }
      g_variant_builder_add (&d, "{sv}", "stale", g_variant_new_boolean (c->stale));
      g_variant_builder_add (&d, "{sv}", "categories",
                             g_variant_new_strv ((const char *const *)c->categories, -1));
      g_variant_builder_add (&d, "{sv}", "acknowledged", g_variant_new_boolean (c->ack != NULL));
      if (c->ack != NULL)
        {
          g_variant_builder_add (&d, "{sv}", "ack_message", g_variant_new_string (c->ack->message));
          g_variant_builder_add (&d, "{sv}", "ack_author", g_variant_new_string (c->ack->author));
          g_variant_builder_add (&d, "{sv}", "ack_uid", g_variant_new_int64 (c->ack->uid));
          g_variant_builder_add (&d, "{sv}", "ack_time",
                                 g_variant_new_uint64 ((guint64)MAX (c->ack->time, 0)));
        }
      g_variant_builder_add (&b, "{sa{sv}}", c->name, &d);
    }
  return g_variant_builder_end (&b);
}

GVariant *
hale_checks_face_categories_to_variant (GPtrArray *categories)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sa{sv}}"));
  for (guint i = 0; i < categories->len; i++)
    {
      const HaleAggregateCategory *c = g_ptr_array_index (categories, i);
      GVariantBuilder d;

      g_variant_builder_init (&d, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&d, "{sv}", "status",
                             g_variant_new_string (hale_status_to_string (c->status)));
      g_variant_builder_add (&d, "{sv}", "enabled", g_variant_new_boolean (c->enabled));
      g_variant_builder_add (&d, "{sv}", "sticky", g_variant_new_boolean (c->sticky));
      g_variant_builder_add (&d, "{sv}", "checks",
                             g_variant_new_strv ((const char *const *)c->checks, -1));
      g_variant_builder_add (&d, "{sv}", "refresh_rate",
                             g_variant_new_uint64 ((guint64)c->refresh_rate));
      if (!c->enabled)
        {
          g_variant_builder_add (&d, "{sv}", "disabled_reason",
                                 g_variant_new_string (c->disabled_reason));
          g_variant_builder_add (&d, "{sv}", "disabled_at",
                                 g_variant_new_uint64 ((guint64)MAX (c->disabled_at, 0)));
        }
      g_variant_builder_add (&b, "{sa{sv}}", c->name, &d);
    }
  return g_variant_builder_end (&b);
}

static gboolean
on_get_checks (HaleDBusHealth *health, GDBusMethodInvocation *invocation, HaleChecksFace *self)
{
  g_autoptr (GPtrArray) checks = hale_aggregate_list_checks (self->aggregate, NULL);

  hale_dbus_health_complete_get_checks (health, invocation,
                                        hale_checks_face_checks_to_variant (checks));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_get_categories (HaleDBusHealth *health, GDBusMethodInvocation *invocation, HaleChecksFace *self)
{
  g_autoptr (GPtrArray) categories = hale_aggregate_list_categories (self->aggregate, NULL);

  hale_dbus_health_complete_get_categories (health, invocation,
                                            hale_checks_face_categories_to_variant (categories));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_changed (HaleAggregate *aggregate, HaleChecksFace *self)
{
  hale_dbus_health_set_acknowledged (self->health, hale_aggregate_count_acknowledged (aggregate));
  /* PropertiesChanged before the signal: a client reacting to it reads
   * the new count. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->health));
  hale_dbus_health_emit_checks_changed (self->health);
}

static void
hale_checks_face_dispose (GObject *object)
{
  HaleChecksFace *self = HALE_CHECKS_FACE (object);

  if (self->aggregate != NULL)
    g_signal_handlers_disconnect_by_data (self->aggregate, self);
  if (self->health != NULL)
    g_signal_handlers_disconnect_by_data (self->health, self);
  g_clear_object (&self->aggregate);
  g_clear_object (&self->authority);
  g_clear_object (&self->audit);
  g_clear_object (&self->health);
  G_OBJECT_CLASS (hale_checks_face_parent_class)->dispose (object);
}

static void
hale_checks_face_class_init (HaleChecksFaceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hale_checks_face_dispose;
}

static void
hale_checks_face_init (HaleChecksFace *self)
{
}

HaleChecksFace *
hale_checks_face_new (HaleAggregate *aggregate, HaleAuthority *authority, HaleAudit *audit,
                      GDBusInterfaceSkeleton *health)
{
  HaleChecksFace *self;

  g_return_val_if_fail (HALE_IS_AGGREGATE (aggregate), NULL);
  g_return_val_if_fail (HALE_IS_AUTHORITY (authority), NULL);
  g_return_val_if_fail (HALE_IS_AUDIT (audit), NULL);
  g_return_val_if_fail (HALE_DBUS_IS_HEALTH (health), NULL);

  self = g_object_new (HALE_TYPE_CHECKS_FACE, NULL);
  self->aggregate = g_object_ref (aggregate);
  self->authority = g_object_ref (authority);
  self->audit = g_object_ref (audit);
  self->health = g_object_ref (HALE_DBUS_HEALTH (health));

  g_signal_connect (self->health, "handle-get-checks", G_CALLBACK (on_get_checks), self);
  g_signal_connect (self->health, "handle-get-categories", G_CALLBACK (on_get_categories), self);
  g_signal_connect (self->health, "handle-acknowledge", G_CALLBACK (on_acknowledge), self);
  g_signal_connect (self->health, "handle-remove-acknowledgement", G_CALLBACK (on_remove_ack),
                    self);
  g_signal_connect (self->health, "handle-enable-category", G_CALLBACK (on_enable), self);
  g_signal_connect (self->health, "handle-disable-category", G_CALLBACK (on_disable), self);
  g_signal_connect (self->health, "handle-report", G_CALLBACK (on_report), self);
  g_signal_connect (aggregate, "changed", G_CALLBACK (on_changed), self);
  hale_dbus_health_set_acknowledged (self->health, hale_aggregate_count_acknowledged (aggregate));
  return self;
}
