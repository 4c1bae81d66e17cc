/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-state.c: the one model of what hale knows. */
#include "config.h"

#include "hale-state.h"

#include <string.h>

struct _HaleState
{
  GObject parent_instance;

  GHashTable *checks; /* name -> HaleCheckResult */
  gboolean degraded;
  HaleStatus status;
  /* How many checks are critical, how many warnings: kept up to date on
   * every replace and remove, so the overall status is known without
   * walking ten thousand certificates on every set. */
  guint n_critical;
  guint n_warning;
  guint64 generation;
};

G_DEFINE_TYPE (HaleState, hale_state, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_STATUS,
  PROP_DEGRADED,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_CHECK_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

const char *
hale_check_status_to_string (HaleCheckStatus status)
{
  switch (status)
    {
      case HALE_CHECK_HEALTHY:
        return "healthy";
      case HALE_CHECK_WARNING:
        return "warning";
      case HALE_CHECK_CRITICAL:
        return "critical";
    }
  g_return_val_if_reached ("unknown");
}

const char *
hale_status_to_string (HaleStatus status)
{
  switch (status)
    {
      case HALE_STATUS_HEALTHY:
        return "healthy";
      case HALE_STATUS_DEGRADED:
        return "degraded";
      case HALE_STATUS_UNHEALTHY:
        return "unhealthy";
    }
  g_return_val_if_reached ("unknown");
}

static void
check_result_clear (HaleCheckResult *result)
{
  g_free (result->name);
  g_free (result->message);
  g_variant_unref (result->details);
}

HaleCheckResult *
hale_check_result_new (const char *name, HaleCheckStatus status, const char *message,
                       GVariant *details, gint64 checked_at, gint64 duration)
{
  HaleCheckResult *result;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (details == NULL || g_variant_is_of_type (details, G_VARIANT_TYPE_VARDICT),
                        NULL);

  result = g_atomic_rc_box_new0 (HaleCheckResult);
  result->name = g_strdup (name);
  result->status = status;
  result->message = g_strdup (message ? message : "");
  result->details
      = details ? g_variant_ref_sink (details) : g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  /* Serialised now, once: a builder's tree of small GVariants takes
   * several times the memory of the flat bytes, and the first
   * comparison with the next result would serialise it anyway. */
  g_variant_get_data (result->details);
  result->checked_at = checked_at;
  result->duration = duration;
  return result;
}

HaleCheckResult *
hale_check_result_ref (HaleCheckResult *result)
{
  return g_atomic_rc_box_acquire (result);
}

void
hale_check_result_unref (HaleCheckResult *result)
{
  g_atomic_rc_box_release_full (result, (GDestroyNotify)check_result_clear);
}

/* What a reader of the report would call a change: the time of a
 * re-check alone is not one, so periodic re-checks stay quiet. */
static gboolean
check_result_same (const HaleCheckResult *a, const HaleCheckResult *b)
{
  return a->status == b->status && a->acknowledged == b->acknowledged
         && g_str_equal (a->message, b->message) && g_variant_equal (a->details, b->details);
}

HaleStatus
hale_status_of_check (HaleCheckStatus status, gboolean acknowledged)
{
  /* Known to an operator: shown, but no longer the host's problem. */
  if (acknowledged)
    return HALE_STATUS_HEALTHY;
  switch (status)
    {
      case HALE_CHECK_CRITICAL:
        return HALE_STATUS_UNHEALTHY;
      case HALE_CHECK_WARNING:
        return HALE_STATUS_DEGRADED;
      case HALE_CHECK_HEALTHY:
        break;
    }
  return HALE_STATUS_HEALTHY;
}

/* @delta is +1 when @result enters the table, -1 when it leaves. */
static void
count_result (HaleState *self, const HaleCheckResult *result, int delta)
{
  switch (hale_status_of_check (result->status, result->acknowledged))
    {
      case HALE_STATUS_UNHEALTHY:
        self->n_critical += delta;
        break;
      case HALE_STATUS_DEGRADED:
        self->n_warning += delta;
        break;
      case HALE_STATUS_HEALTHY:
        break;
    }
}

static HaleStatus
compute_status (HaleState *self)
{
  if (self->n_critical > 0)
    return HALE_STATUS_UNHEALTHY;
  if (self->n_warning > 0 || self->degraded)
    return HALE_STATUS_DEGRADED;
  return HALE_STATUS_HEALTHY;
}

static void
update_status (HaleState *self)
{
  HaleStatus status = compute_status (self);

  if (status == self->status)
    return;
  self->status = status;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATUS]);
}

void
hale_state_set_check (HaleState *self, HaleCheckResult *result)
{
  HaleCheckResult *old;
  gboolean changed;

  g_return_if_fail (HALE_IS_STATE (self));
  g_return_if_fail (result != NULL);

  old = g_hash_table_lookup (self->checks, result->name);
  changed = old == NULL || !check_result_same (old, result);

  if (old != NULL)
    count_result (self, old, -1);
  count_result (self, result, +1);
  g_hash_table_replace (self->checks, result->name, hale_check_result_ref (result));
  self->generation++;

  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHECK_CHANGED], 0, result->name);
  update_status (self);
}

void
hale_state_remove_check (HaleState *self, const char *name)
{
  g_return_if_fail (HALE_IS_STATE (self));
  g_return_if_fail (name != NULL);

  /* The key belongs to the value: keep the name alive for the signal. */
  g_autofree char *removed = g_strdup (name);
  HaleCheckResult *old = g_hash_table_lookup (self->checks, name);

  if (old == NULL)
    return;
  count_result (self, old, -1);
  g_hash_table_remove (self->checks, name);
  self->generation++;
  g_signal_emit (self, signals[SIGNAL_CHECK_CHANGED], 0, removed);
  update_status (self);
}

HaleCheckResult *
hale_state_get_check (HaleState *self, const char *name)
{
  HaleCheckResult *result;

  g_return_val_if_fail (HALE_IS_STATE (self), NULL);

  result = g_hash_table_lookup (self->checks, name);
  return result ? hale_check_result_ref (result) : NULL;
}

static gint
compare_by_name (gconstpointer a, gconstpointer b)
{
  const HaleCheckResult *ra = *(HaleCheckResult *const *)a;
  const HaleCheckResult *rb = *(HaleCheckResult *const *)b;

  return strcmp (ra->name, rb->name);
}

GPtrArray *
hale_state_list_checks (HaleState *self, const char *prefix)
{
  GPtrArray *list;
  GHashTableIter iter;
  HaleCheckResult *result;

  g_return_val_if_fail (HALE_IS_STATE (self), NULL);

  list = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_check_result_unref);
  g_hash_table_iter_init (&iter, self->checks);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&result))
    if (prefix == NULL || g_str_has_prefix (result->name, prefix))
      g_ptr_array_add (list, hale_check_result_ref (result));
  g_ptr_array_sort (list, compare_by_name);
  return list;
}

HaleStatus
hale_state_get_status (HaleState *self)
{
  g_return_val_if_fail (HALE_IS_STATE (self), HALE_STATUS_UNHEALTHY);
  return self->status;
}

void
hale_state_set_degraded (HaleState *self, gboolean degraded)
{
  g_return_if_fail (HALE_IS_STATE (self));

  degraded = !!degraded;
  if (self->degraded == degraded)
    return;
  self->degraded = degraded;
  self->generation++;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DEGRADED]);
  update_status (self);
}

gboolean
hale_state_get_degraded (HaleState *self)
{
  g_return_val_if_fail (HALE_IS_STATE (self), FALSE);
  return self->degraded;
}

guint64
hale_state_get_generation (HaleState *self)
{
  g_return_val_if_fail (HALE_IS_STATE (self), 0);
  return self->generation;
}

static void
hale_state_finalize (GObject *object)
{
  HaleState *self = HALE_STATE (object);

  g_hash_table_unref (self->checks);
  G_OBJECT_CLASS (hale_state_parent_class)->finalize (object);
}

static void
hale_state_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  HaleState *self = HALE_STATE (object);

  switch (prop_id)
    {
      case PROP_STATUS:
        g_value_set_string (value, hale_status_to_string (self->status));
        break;
      case PROP_DEGRADED:
        g_value_set_boolean (value, self->degraded);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hale_state_class_init (HaleStateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hale_state_finalize;
  object_class->get_property = hale_state_get_property;

  /* A string, so it binds straight onto the D-Bus Status property. */
  props[PROP_STATUS]
      = g_param_spec_string ("status", NULL, NULL, "healthy",
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_DEGRADED]
      = g_param_spec_boolean ("degraded", NULL, NULL, FALSE,
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* ::check-changed (const char *name): a check was added, changed
   * what it says, or was removed. */
  signals[SIGNAL_CHECK_CHANGED]
      = g_signal_new ("check-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
hale_state_init (HaleState *self)
{
  self->checks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify)hale_check_result_unref);
  self->status = HALE_STATUS_HEALTHY;
}

HaleState *
hale_state_new (void)
{
  return g_object_new (HALE_TYPE_STATE, NULL);
}
