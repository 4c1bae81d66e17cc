/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-checks.c: the aggregated checks on org.hale.Hale1.Health.
 *
 * A HaleDbusFace on the Health skeleton hale-dbus answers GetReport on.
 * Acknowledgements and categories are commands to the aggregate, a
 * pushed result one to the checks engine.
 */
#include "config.h"

#include "hale-dbus-checks.h"
#include "hale-dbus-generated.h"
#include "hale-error.h"

struct _HaleChecksFace
{
  HaleDbusFace parent_instance;

  HaleAggregate *aggregate;
  HaleChecks *checks;
  HaleDBusHealth *health;
};

G_DEFINE_TYPE (HaleChecksFace, hale_checks_face, HALE_TYPE_DBUS_FACE)

static HaleAggregate *
aggregate_of (HaleDbusFace *face)
{
  return HALE_CHECKS_FACE (face)->aggregate;
}

static gboolean
unknown_check (const char *name, GError **error)
{
  g_set_error (error, HALE_ERROR, HALE_ERROR_UNKNOWN_CHECK,
               "There is no check “%s” ([Check %s] in hale.conf)", name, name);
  return FALSE;
}

static gboolean
check_check (HaleDbusFace *face, GVariant *parameters, GError **error)
{
  const char *name;

  g_variant_get_child (parameters, 0, "&s", &name);
  return hale_aggregate_has_check (aggregate_of (face), name) || unknown_check (name, error);
}

/* RemoveAcknowledgement may clear the acknowledgement of a check since
 * removed from hale.conf: the aggregate decides. */
static gboolean
check_named (HaleDbusFace *face, GVariant *parameters, GError **error)
{
  const char *name;

  g_variant_get_child (parameters, 0, "&s", &name);
  return name[0] != '\0' || unknown_check (name, error);
}

static gboolean
check_category (HaleDbusFace *face, GVariant *parameters, GError **error)
{
  const char *name;

  g_variant_get_child (parameters, 0, "&s", &name);
  if (hale_aggregate_has_category (aggregate_of (face), name))
    return TRUE;
  g_set_error (error, HALE_ERROR, HALE_ERROR_UNKNOWN_CATEGORY,
               "There is no category “%s” ([Category %s] in hale.conf)", name, name);
  return FALSE;
}

static gboolean
check_report (HaleDbusFace *face, GVariant *parameters, GError **error)
{
  const char *name, *status, *message;

  if (!check_check (face, parameters, error))
    return FALSE;
  g_variant_get (parameters, "(&s&s&s)", &name, &status, &message);
  if (g_str_equal (status, "pass") || g_str_equal (status, "warn") || g_str_equal (status, "fail"))
    return TRUE;
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
               "Status “%s” is not one of pass, warn, fail", status);
  return FALSE;
}

static gboolean
acknowledge (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  const char *name, *message;

  g_variant_get (hale_dbus_call_get_parameters (call), "(&s&s)", &name, &message);
  return hale_dbus_call_complete (
      call, hale_aggregate_acknowledge (aggregate_of (face), name, message,
                                        hale_dbus_call_get_actor (call), error));
}

static gboolean
remove_acknowledgement (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  const char *name;

  g_variant_get (hale_dbus_call_get_parameters (call), "(&s)", &name);
  return hale_dbus_call_complete (
      call, hale_aggregate_remove_acknowledgement (aggregate_of (face), name,
                                                   hale_dbus_call_get_actor (call), error));
}

static gboolean
set_category_enabled (HaleDbusCall *call, HaleDbusFace *face, gboolean enabled, GError **error)
{
  const char *name;

  g_variant_get (hale_dbus_call_get_parameters (call), "(&s)", &name);
  return hale_dbus_call_complete (
      call, hale_aggregate_set_category_enabled (aggregate_of (face), name, enabled,
                                                 hale_dbus_call_get_actor (call), error));
}

static gboolean
enable_category (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  return set_category_enabled (call, face, TRUE, error);
}

static gboolean
disable_category (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  return set_category_enabled (call, face, FALSE, error);
}

/* A push check's result: a command to the checks engine. */
static gboolean
report (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  const char *name, *status, *message;

  g_variant_get (hale_dbus_call_get_parameters (call), "(&s&s&s)", &name, &status, &message);
  return hale_dbus_call_complete (
      call, hale_checks_report (HALE_CHECKS_FACE (face)->checks, name, status, message, error));
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
get_checks (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  g_autoptr (GPtrArray) checks = hale_aggregate_list_checks (aggregate_of (face), NULL);

  hale_dbus_call_return_value (
      call, g_variant_new ("(@a{sa{sv}})", hale_checks_face_checks_to_variant (checks)));
  return TRUE;
}

static gboolean
get_categories (HaleDbusFace *face, HaleDbusCall *call, GError **error)
{
  g_autoptr (GPtrArray) categories = hale_aggregate_list_categories (aggregate_of (face), NULL);

  hale_dbus_call_return_value (
      call, g_variant_new ("(@a{sa{sv}})", hale_checks_face_categories_to_variant (categories)));
  return TRUE;
}

static const HaleDbusMethod methods[] = {
  { "GetChecks", NULL, NULL, NULL, get_checks },
  { "GetCategories", NULL, NULL, NULL, get_categories },
  { "Acknowledge", HALE_ACTION_ACKNOWLEDGE, "check", check_check, acknowledge },
  { "RemoveAcknowledgement", HALE_ACTION_ACKNOWLEDGE, "check", check_named,
    remove_acknowledgement },
  { "EnableCategory", HALE_ACTION_MANAGE_CATEGORIES, "category", check_category, enable_category },
  { "DisableCategory", HALE_ACTION_MANAGE_CATEGORIES, "category", check_category,
    disable_category },
  { "Report", HALE_ACTION_REPORT_CHECK, "check", check_report, report },
};

/* Both modules' "unknown check" are one name on the bus. */
static const HaleDbusErrorMap errors[] = {
  { hale_aggregate_error_quark, HALE_AGGREGATE_ERROR_UNKNOWN_CHECK, hale_error_quark,
    HALE_ERROR_UNKNOWN_CHECK },
  { hale_checks_error_quark, HALE_CHECKS_ERROR_UNKNOWN_CHECK, hale_error_quark,
    HALE_ERROR_UNKNOWN_CHECK },
  { hale_aggregate_error_quark, HALE_AGGREGATE_ERROR_UNKNOWN_CATEGORY, hale_error_quark,
    HALE_ERROR_UNKNOWN_CATEGORY },
  { hale_checks_error_quark, HALE_CHECKS_ERROR_NOT_PUSH, hale_error_quark,
    HALE_ERROR_NOT_PUSH_CHECK },
  { hale_checks_error_quark, HALE_CHECKS_ERROR_RATE_LIMITED, hale_error_quark,
    HALE_ERROR_RATE_LIMITED },
  { hale_aggregate_error_quark, HALE_AGGREGATE_ERROR_INVALID, g_dbus_error_quark,
    G_DBUS_ERROR_INVALID_ARGS },
  { hale_checks_error_quark, HALE_CHECKS_ERROR_INVALID, g_dbus_error_quark,
    G_DBUS_ERROR_INVALID_ARGS },
};

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
  g_clear_object (&self->aggregate);
  g_clear_object (&self->checks);
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
hale_checks_face_new (HaleAggregate *aggregate, HaleChecks *checks, HaleAuthority *authority,
                      HaleAudit *audit, GDBusInterfaceSkeleton *health)
{
  HaleChecksFace *self;

  g_return_val_if_fail (HALE_IS_AGGREGATE (aggregate), NULL);
  g_return_val_if_fail (HALE_IS_CHECKS (checks), NULL);
  g_return_val_if_fail (HALE_IS_AUTHORITY (authority), NULL);
  g_return_val_if_fail (HALE_IS_AUDIT (audit), NULL);
  g_return_val_if_fail (HALE_DBUS_IS_HEALTH (health), NULL);

  self = g_object_new (HALE_TYPE_CHECKS_FACE, NULL);
  self->aggregate = g_object_ref (aggregate);
  self->checks = g_object_ref (checks);
  self->health = g_object_ref (HALE_DBUS_HEALTH (health));
  hale_dbus_face_setup (HALE_DBUS_FACE (self), health, authority, audit, methods,
                        G_N_ELEMENTS (methods), errors, G_N_ELEMENTS (errors));
  g_signal_connect (aggregate, "changed", G_CALLBACK (on_changed), self);
  hale_dbus_health_set_acknowledged (self->health, hale_aggregate_count_acknowledged (aggregate));
  return self;
}
