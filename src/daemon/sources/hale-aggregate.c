/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-aggregate.c: what the checks of other services mean for this host.
 *
 * Inputs: hale-checks' "outcome" and "removed" signals, the [Check] and
 * [Category] groups, and the operators' calls (acknowledge, enable,
 * disable). Outputs: "check:NAME" results (and "category:NAME" for a
 * disabled category) in the state model, three metric families, the
 * "changed" signal, and the state file.
 *
 * The state file is small and changes only when an operator acts or a
 * sticky category trips, so it is rewritten whole each time: a GKeyFile
 * rendered in memory and handed to g_file_replace_contents_bytes_async(),
 * which writes a temporary file and renames it over the old one. Writes
 * never overlap: a change during a write asks for one more write after.
 */
#include "config.h"

#include "hale-units.h"
#include "hale-aggregate.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <syslog.h>

#include "hale-names.h"

G_DEFINE_QUARK (hale - aggregate - error - quark, hale_aggregate_error)

#define GROUP_ACK "Acknowledgement "
#define GROUP_CATEGORY "Category "

/* What an operator (or a sticky trip) decided about a category; it
 * outlives the category's group, so a configuration that drops and
 * restores a group does not forget a tripped category. */
typedef struct
{
  gboolean enabled;
  char *reason; /* why it is disabled; NULL when enabled */
  gint64 since; /* g_get_real_time() of the decision */
} CategoryState;

typedef struct
{
  char *name;
  GStrv checks;
  gint64 refresh_rate;
  gboolean sticky;
  gboolean config_enabled;
} Category;

struct _HaleAggregate
{
  GObject parent_instance;

  HaleState *state;
  HaleChecks *checks;
  HaleMetrics *metrics;
  HaleAudit *audit;
  char *state_dir;
  char *state_path;

  GPtrArray *categories;    /* Category, in config order */
  GHashTable *known_checks; /* name -> HaleCheckKind + 1 (GINT_TO_POINTER), from [Check] */
  GHashTable *outcomes;     /* name -> HaleCheckOutcome */
  GHashTable *acks;         /* name -> HaleAck */
  GHashTable *cat_states;   /* name -> CategoryState */

  guint64 generation;

  gboolean saving;
  gboolean save_again;

  HaleMetricFamily *m_category_status;
  HaleMetricFamily *m_category_enabled;
  HaleMetricFamily *m_acknowledged;
};

G_DEFINE_TYPE (HaleAggregate, hale_aggregate, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- small types ------------------------------------------------------- */

static void
ack_free (HaleAck *ack)
{
  g_free (ack->check);
  g_free (ack->message);
  g_free (ack->author);
  g_free (ack);
}

static HaleAck *
ack_copy (const HaleAck *ack)
{
  HaleAck *copy = g_new0 (HaleAck, 1);

  copy->check = g_strdup (ack->check);
  copy->message = g_strdup (ack->message);
  copy->author = g_strdup (ack->author);
  copy->uid = ack->uid;
  copy->time = ack->time;
  return copy;
}

static void
category_state_free (CategoryState *cs)
{
  g_free (cs->reason);
  g_free (cs);
}

static void
category_free (Category *c)
{
  g_free (c->name);
  g_strfreev (c->checks);
  g_free (c);
}

void
hale_aggregate_check_free (HaleAggregateCheck *check)
{
  if (check == NULL)
    return;
  g_free (check->name);
  g_clear_pointer (&check->outcome, hale_check_outcome_unref);
  g_clear_pointer (&check->ack, ack_free);
  g_strfreev (check->categories);
  g_free (check);
}

void
hale_aggregate_category_free (HaleAggregateCategory *category)
{
  if (category == NULL)
    return;
  g_free (category->name);
  g_strfreev (category->checks);
  g_free (category->disabled_reason);
  g_free (category);
}

/* ---- the state file ----------------------------------------------------- */

static char *
render_state_file (HaleAggregate *self)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GList) ack_names = g_hash_table_get_keys (self->acks);
  g_autoptr (GList) cat_names = g_hash_table_get_keys (self->cat_states);

  /* Sorted, so the file only changes where something did. */
  ack_names = g_list_sort (ack_names, (GCompareFunc)strcmp);
  cat_names = g_list_sort (cat_names, (GCompareFunc)strcmp);

  for (GList *l = ack_names; l != NULL; l = l->next)
    {
      const HaleAck *ack = g_hash_table_lookup (self->acks, l->data);
      g_autofree char *group = g_strconcat (GROUP_ACK, ack->check, NULL);

      g_key_file_set_string (kf, group, "Message", ack->message);
      g_key_file_set_string (kf, group, "Author", ack->author);
      g_key_file_set_int64 (kf, group, "UID", ack->uid);
      g_key_file_set_int64 (kf, group, "Time", ack->time);
    }
  for (GList *l = cat_names; l != NULL; l = l->next)
    {
      const CategoryState *cs = g_hash_table_lookup (self->cat_states, l->data);
      g_autofree char *group = g_strconcat (GROUP_CATEGORY, (const char *)l->data, NULL);

      g_key_file_set_boolean (kf, group, "Enabled", cs->enabled);
      if (cs->reason != NULL)
        g_key_file_set_string (kf, group, "Reason", cs->reason);
      g_key_file_set_int64 (kf, group, "Since", cs->since);
    }
  g_key_file_set_comment (kf, NULL, NULL,
                          " haled's acknowledgements and category states; written by haled,\n"
                          " change them with halectl ack/unack or the Health D-Bus methods.",
                          NULL);
  return g_key_file_to_data (kf, NULL, NULL);
}

static void
save (HaleAggregate *self);

static void
on_saved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (HaleAggregate) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    g_warning ("Could not write %s: %s; acknowledgements and category states will not survive "
               "a restart until it can be written",
               self->state_path, error->message);
  self->saving = FALSE;
  if (self->save_again)
    {
      self->save_again = FALSE;
      save (self);
    }
}

static void
save (HaleAggregate *self)
{
  g_autoptr (GFile) file = g_file_new_for_path (self->state_path);
  g_autoptr (GBytes) bytes = NULL;
  char *text;

  if (self->saving)
    {
      self->save_again = TRUE;
      return;
    }
  /* StateDirectory= makes it under systemd; with --user or a test it
   * may not exist yet. */
  if (g_mkdir_with_parents (self->state_dir, 0755) != 0)
    g_warning ("Could not create %s: %s", self->state_dir, g_strerror (errno));

  text = render_state_file (self);
  bytes = g_bytes_new_take (text, strlen (text));
  self->saving = TRUE;
  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL,
                                       on_saved, g_object_ref (self));
}

void
hale_aggregate_flush (HaleAggregate *self)
{
  g_return_if_fail (HALE_IS_AGGREGATE (self));

  while (self->saving)
    g_main_context_iteration (NULL, TRUE);
}

/* Read once at start, synchronously: haled is not serving yet. A file
 * that does not parse is moved aside rather than overwritten, so what
 * an operator had is not lost. */
static void
load_state_file (HaleAggregate *self)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) groups = NULL;

  if (!g_key_file_load_from_file (kf, self->state_path, G_KEY_FILE_NONE, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_autofree char *aside = g_strconcat (self->state_path, ".broken", NULL);
          g_warning ("%s: %s; moved to %s, starting without acknowledgements", self->state_path,
                     error->message, aside);
          (void)g_rename (self->state_path, aside);
        }
      return;
    }

  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      const char *group = groups[i];

      if (g_str_has_prefix (group, GROUP_ACK) && group[strlen (GROUP_ACK)] != '\0')
        {
          g_autofree char *message = g_key_file_get_string (kf, group, "Message", NULL);
          HaleAck *ack;

          if (message == NULL)
            {
              g_warning ("%s: [%s] has no Message=; ignored", self->state_path, group);
              continue;
            }
          ack = g_new0 (HaleAck, 1);
          ack->check = g_strdup (group + strlen (GROUP_ACK));
          ack->message = g_steal_pointer (&message);
          ack->author = g_key_file_get_string (kf, group, "Author", NULL);
          if (ack->author == NULL)
            ack->author = g_strdup ("unknown");
          ack->uid = g_key_file_has_key (kf, group, "UID", NULL)
                         ? g_key_file_get_int64 (kf, group, "UID", NULL)
                         : -1;
          ack->time = g_key_file_get_int64 (kf, group, "Time", NULL);
          g_hash_table_replace (self->acks, ack->check, ack);
        }
      else if (g_str_has_prefix (group, GROUP_CATEGORY) && group[strlen (GROUP_CATEGORY)] != '\0')
        {
          g_autoptr (GError) bool_error = NULL;
          CategoryState *cs = g_new0 (CategoryState, 1);

          cs->enabled = g_key_file_get_boolean (kf, group, "Enabled", &bool_error);
          if (bool_error != NULL)
            {
              g_warning ("%s: [%s] Enabled=: %s; ignored", self->state_path, group,
                         bool_error->message);
              category_state_free (cs);
              continue;
            }
          cs->reason = cs->enabled ? NULL : g_key_file_get_string (kf, group, "Reason", NULL);
          cs->since = g_key_file_get_int64 (kf, group, "Since", NULL);
          g_hash_table_replace (self->cat_states, g_strdup (group + strlen (GROUP_CATEGORY)), cs);
        }
      else
        g_warning ("%s: unknown group [%s] ignored", self->state_path, group);
    }
}

/* ---- evaluation ----------------------------------------------------------- */

static Category *
find_category (HaleAggregate *self, const char *name)
{
  for (guint i = 0; i < self->categories->len; i++)
    {
      Category *c = g_ptr_array_index (self->categories, i);
      if (g_str_equal (c->name, name))
        return c;
    }
  return NULL;
}

static gboolean
category_enabled (HaleAggregate *self, const Category *c, const CategoryState **out_state)
{
  const CategoryState *cs = g_hash_table_lookup (self->cat_states, c->name);

  if (out_state != NULL)
    *out_state = cs;
  return cs != NULL ? cs->enabled : c->config_enabled;
}

static HaleStatus
category_status (HaleAggregate *self, const Category *c)
{
  HaleStatus status = HALE_STATUS_HEALTHY;

  if (!category_enabled (self, c, NULL))
    return HALE_STATUS_UNHEALTHY;
  for (guint i = 0; c->checks[i] != NULL; i++)
    {
      HaleCheckOutcome *outcome = g_hash_table_lookup (self->outcomes, c->checks[i]);

      if (outcome != NULL)
        status
            = MAX (status, hale_status_of_check (outcome->status,
                                                 g_hash_table_contains (self->acks, c->checks[i])));
    }
  return status;
}

static GStrv
categories_of (HaleAggregate *self, const char *check)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < self->categories->len; i++)
    {
      Category *c = g_ptr_array_index (self->categories, i);
      if (g_strv_contains ((const char *const *)c->checks, check))
        g_strv_builder_add (builder, c->name);
    }
  return g_strv_builder_end (builder);
}

static void
update_acknowledged_metric (HaleAggregate *self)
{
  hale_metric_set (self->m_acknowledged, NULL, hale_aggregate_count_acknowledged (self));
}

/* "check:NAME" in the state model: the outcome, with what the aggregate
 * adds (kind, severity, qos, categories, the acknowledgement) in its
 * details, so /health and the D-Bus report show it too. */
static void
publish_check (HaleAggregate *self, const char *name)
{
  HaleCheckOutcome *outcome = g_hash_table_lookup (self->outcomes, name);
  const HaleAck *ack = g_hash_table_lookup (self->acks, name);
  g_autofree char *key = g_strconcat (HALE_CHECK_PREFIX_CHECK, name, NULL);
  g_auto (GStrv) categories = NULL;
  g_autoptr (HaleCheckResult) result = NULL;
  GVariantBuilder details;
  GVariantIter iter;
  const char *k;
  GVariant *v;

  if (outcome == NULL)
    {
      hale_state_remove_check (self->state, key);
      return;
    }

  categories = categories_of (self, name);
  g_variant_builder_init (&details, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, outcome->details);
  while (g_variant_iter_next (&iter, "{&sv}", &k, &v))
    {
      g_variant_builder_add (&details, "{sv}", k, v);
      g_variant_unref (v);
    }
  g_variant_builder_add (&details, "{sv}", "kind",
                         g_variant_new_string (hale_check_kind_to_string (outcome->kind)));
  g_variant_builder_add (&details, "{sv}", "ok", g_variant_new_boolean (outcome->ok));
  g_variant_builder_add (&details, "{sv}", "severity", g_variant_new_uint32 (outcome->severity));
  g_variant_builder_add (&details, "{sv}", "qos", g_variant_new_double (outcome->qos));
  g_variant_builder_add (&details, "{sv}", "categories",
                         g_variant_new_strv ((const char *const *)categories, -1));
  if (ack != NULL)
    {
      g_autofree char *when = hale_rfc3339_format (ack->time / G_USEC_PER_SEC);

      g_variant_builder_add (&details, "{sv}", "acknowledged",
                             g_variant_new_parsed ("{'message': <%s>, 'author': <%s>, "
                                                   "'uid': <%x>, 'time': <%s>}",
                                                   ack->message, ack->author, ack->uid, when));
    }

  result = hale_check_result_new (key, outcome->status, outcome->message,
                                  g_variant_builder_end (&details), outcome->checked_at,
                                  outcome->duration);
  result->acknowledged = ack != NULL && outcome->status != HALE_CHECK_HEALTHY;
  hale_state_set_check (self->state, result);
}

/* A disabled category is a critical "category:NAME" in the model, so the
 * overall status (and /health) says the host is out of service; an
 * enabled one is not in the model at all: its checks speak for it. */
static void
publish_category (HaleAggregate *self, const Category *c)
{
  g_autofree char *key = g_strconcat (HALE_CHECK_PREFIX_CATEGORY, c->name, NULL);
  const char *labels[] = { c->name, NULL };
  const CategoryState *cs = NULL;
  gboolean enabled = category_enabled (self, c, &cs);
  HaleStatus status = category_status (self, c);

  hale_metric_set (self->m_category_status, labels, (double)status);
  hale_metric_set (self->m_category_enabled, labels, enabled ? 1 : 0);

  if (enabled)
    hale_state_remove_check (self->state, key);
  else
    {
      g_autofree char *message = g_strdup_printf (
          "category %s is disabled%s%s", c->name, cs && cs->reason ? ": " : "",
          cs && cs->reason ? cs->reason : " in the configuration (Enabled=false)");
      g_autoptr (HaleCheckResult) result = hale_check_result_new (
          key, HALE_CHECK_CRITICAL, message,
          g_variant_new_parsed ("{'sticky': <%b>, 'enabled': <false>}", c->sticky),
          cs ? cs->since : 0, 0);
      hale_state_set_check (self->state, result);
    }
}

static void
publish_categories_of (HaleAggregate *self, const char *check)
{
  for (guint i = 0; i < self->categories->len; i++)
    {
      Category *c = g_ptr_array_index (self->categories, i);
      if (check == NULL || g_strv_contains ((const char *const *)c->checks, check))
        publish_category (self, c);
    }
}

static void
changed (HaleAggregate *self)
{
  self->generation++;
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
set_category_state (HaleAggregate *self, const char *name, gboolean enabled, const char *reason)
{
  CategoryState *cs = g_new0 (CategoryState, 1);

  cs->enabled = enabled;
  cs->reason = enabled ? NULL : g_strdup (reason);
  cs->since = g_get_real_time ();
  g_hash_table_replace (self->cat_states, g_strdup (name), cs);
}

/* A sticky category trips on the first failure it sees, and stays down
 * until an operator enables it: a flapping dependency must not bring a
 * host back into service by itself. An acknowledged failure is known
 * and does not trip it. */
static gboolean
trip_sticky (HaleAggregate *self, HaleCheckOutcome *outcome)
{
  gboolean tripped = FALSE;

  if (outcome->ok || g_hash_table_contains (self->acks, outcome->name))
    return FALSE;
  for (guint i = 0; i < self->categories->len; i++)
    {
      Category *c = g_ptr_array_index (self->categories, i);
      g_autofree char *reason = NULL;

      if (!c->sticky || !category_enabled (self, c, NULL)
          || !g_strv_contains ((const char *const *)c->checks, outcome->name))
        continue;
      reason = g_strdup_printf ("sticky: check %s failed: %s", outcome->name, outcome->message);
      set_category_state (self, c->name, FALSE, reason);
      g_message ("Category %s disabled itself (%s); it stays unhealthy until enabled again "
                 "(halectl categories enable %s, or EnableCategory on D-Bus)",
                 c->name, reason, c->name);
      tripped = TRUE;
    }
  return tripped;
}

static gboolean
outcome_same (const HaleCheckOutcome *a, const HaleCheckOutcome *b)
{
  return a->status == b->status && a->ok == b->ok && g_strcmp0 (a->message, b->message) == 0;
}

/* One journal event per change of a check's own status (before
 * acknowledgements), not per run: from its last outcome to this one. A
 * check's first outcome is a change when it is not healthy, so a check
 * failing at start is logged, and a healthy start is quiet. */
static void
audit_transition (HaleAggregate *self, const HaleCheckOutcome *old, const HaleCheckOutcome *now)
{
  const char *was = old != NULL ? hale_check_status_to_string (old->status) : "unknown";
  const char *is = hale_check_status_to_string (now->status);
  gboolean better = old != NULL && now->status < old->status;
  g_autofree char *message = NULL;
  const char *extra[]
      = { "old_status", was,          "new_status", is,
          "reason",     now->message, "check_kind", hale_check_kind_to_string (now->kind),
          NULL };
  HaleAuditEvent event = {
    .event = HALE_EVENT_CHECK_STATUS_CHANGED,
    .message_id = HALE_MESSAGE_ID_CHECK_STATUS_CHANGED,
    .resource_type = "check",
    .resource_id = now->name,
    .duration_ms = -1,
    .extra = extra,
  };

  if (self->audit == NULL
      || (old == NULL ? now->status == HALE_CHECK_HEALTHY : old->status == now->status))
    return;
  message = g_strdup_printf ("check %s is %s (was %s): %s", now->name, is, was, now->message);
  event.message = message;
  event.priority = better || now->status == HALE_CHECK_HEALTHY ? LOG_NOTICE : LOG_WARNING;
  event.error = now->status != HALE_CHECK_HEALTHY ? now->message : NULL;
  hale_audit_emit (self->audit, &event);
}

static void
on_outcome (HaleChecks *checks, HaleCheckOutcome *outcome, HaleAggregate *self)
{
  HaleCheckOutcome *old = g_hash_table_lookup (self->outcomes, outcome->name);
  gboolean is_change = old == NULL || !outcome_same (old, outcome);

  audit_transition (self, old, outcome);

  g_hash_table_replace (self->outcomes, g_strdup (outcome->name), hale_check_outcome_ref (outcome));
  if (trip_sticky (self, outcome))
    {
      is_change = TRUE;
      save (self);
    }
  publish_check (self, outcome->name);
  publish_categories_of (self, outcome->name);
  if (is_change)
    changed (self);
  else
    self->generation++;
}

static void
on_removed (HaleChecks *checks, const char *name, HaleAggregate *self)
{
  if (!g_hash_table_remove (self->outcomes, name))
    return;
  publish_check (self, name);
  publish_categories_of (self, name);
  changed (self);
}

/* ---- public ------------------------------------------------------------- */

void
hale_aggregate_configure (HaleAggregate *self, HaleConfig *config)
{
  g_autoptr (GPtrArray) old = NULL;
  g_autoptr (GList) names = NULL;

  g_return_if_fail (HALE_IS_AGGREGATE (self));
  g_return_if_fail (config != NULL);

  g_hash_table_remove_all (self->known_checks);
  for (guint i = 0; i < config->checks->len; i++)
    {
      const HaleCheckConfig *c = g_ptr_array_index (config->checks, i);
      g_hash_table_insert (self->known_checks, g_strdup (c->name), GINT_TO_POINTER (c->kind + 1));
    }

  /* Categories that went away leave the model and the metrics. */
  old = g_steal_pointer (&self->categories);
  self->categories = g_ptr_array_new_with_free_func ((GDestroyNotify)category_free);
  for (guint i = 0; i < config->categories->len; i++)
    {
      const HaleCategoryConfig *cc = g_ptr_array_index (config->categories, i);
      Category *c = g_new0 (Category, 1);

      c->name = g_strdup (cc->name);
      c->checks = g_strdupv (cc->checks);
      c->refresh_rate = cc->refresh_rate;
      c->sticky = cc->sticky;
      c->config_enabled = cc->enabled;
      g_ptr_array_add (self->categories, c);
    }
  for (guint i = 0; i < old->len; i++)
    {
      Category *c = g_ptr_array_index (old, i);
      const char *labels[] = { c->name, NULL };
      g_autofree char *key = NULL;

      if (find_category (self, c->name) != NULL)
        continue;
      key = g_strconcat (HALE_CHECK_PREFIX_CATEGORY, c->name, NULL);
      hale_state_remove_check (self->state, key);
      hale_metric_remove (self->m_category_status, labels);
      hale_metric_remove (self->m_category_enabled, labels);
    }

  /* Outcomes of checks that are gone (the engine says so too, but the
   * order of the two is not ours to rely on). */
  names = g_hash_table_get_keys (self->outcomes);
  for (GList *l = names; l != NULL; l = l->next)
    if (!g_hash_table_contains (self->known_checks, l->data))
      {
        g_autofree char *name = g_strdup (l->data);
        g_hash_table_remove (self->outcomes, name);
        publish_check (self, name);
      }
  g_clear_pointer (&names, g_list_free);
  names = g_hash_table_get_keys (self->outcomes);
  for (GList *l = names; l != NULL; l = l->next)
    publish_check (self, l->data); /* their categories may have changed */

  publish_categories_of (self, NULL);
  update_acknowledged_metric (self);
  changed (self);
}

HaleChecks *
hale_aggregate_get_checks (HaleAggregate *self)
{
  g_return_val_if_fail (HALE_IS_AGGREGATE (self), NULL);
  return self->checks;
}

HaleState *
hale_aggregate_get_state (HaleAggregate *self)
{
  g_return_val_if_fail (HALE_IS_AGGREGATE (self), NULL);
  return self->state;
}

gboolean
hale_aggregate_has_check (HaleAggregate *self, const char *check)
{
  g_return_val_if_fail (HALE_IS_AGGREGATE (self), FALSE);
  return check != NULL && g_hash_table_contains (self->known_checks, check);
}

gboolean
hale_aggregate_has_category (HaleAggregate *self, const char *category)
{
  g_return_val_if_fail (HALE_IS_AGGREGATE (self), FALSE);
  return category != NULL && find_category (self, category) != NULL;
}

static gboolean
require_check (HaleAggregate *self, const char *check, GError **error)
{
  if (hale_aggregate_has_check (self, check))
    return TRUE;
  g_set_error (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CHECK,
               "There is no check “%s” ([Check %s] in hale.conf)", check ? check : "",
               check ? check : "");
  return FALSE;
}

static const char *
actor_identity (const HaleAuditActor *actor)
{
  return actor != NULL && actor->identity != NULL ? actor->identity : HALE_DAEMON_NAME;
}

gboolean
hale_aggregate_acknowledge (HaleAggregate *self, const char *check, const char *message,
                            const HaleAuditActor *actor, GError **error)
{
  HaleAck *ack;

  g_return_val_if_fail (HALE_IS_AGGREGATE (self), FALSE);

  if (!require_check (self, check, error))
    return FALSE;
  if (message == NULL || !g_utf8_validate (message, -1, NULL))
    {
      g_set_error_literal (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID,
                           "The acknowledgement message is not valid UTF-8");
      return FALSE;
    }
  if (strlen (message) > HALE_AGGREGATE_ACK_MESSAGE_MAX)
    {
      g_set_error (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID,
                   "The acknowledgement message is %zu bytes long; at most %d are kept",
                   strlen (message), HALE_AGGREGATE_ACK_MESSAGE_MAX);
      return FALSE;
    }
  for (const char *p = message; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      {
        g_set_error_literal (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID,
                             "The acknowledgement message must be one line of text, without "
                             "control characters");
        return FALSE;
      }
  {
    g_autofree char *stripped = g_strstrip (g_strdup (message));
    if (stripped[0] == '\0')
      {
        g_set_error_literal (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID,
                             "The acknowledgement message is empty: say why the failure is "
                             "known, so the next operator knows too");
        return FALSE;
      }
  }

  ack = g_new0 (HaleAck, 1);
  ack->check = g_strdup (check);
  ack->message = g_strdup (message);
  ack->author = g_strdup (actor_identity (actor));
  ack->uid = actor != NULL ? actor->uid : -1;
  ack->time = g_get_real_time ();
  g_hash_table_replace (self->acks, ack->check, ack);
  g_message ("Check %s acknowledged by %s: %s", check, ack->author, message);

  save (self);
  publish_check (self, check);
  publish_categories_of (self, check);
  update_acknowledged_metric (self);
  changed (self);
  return TRUE;
}

gboolean
hale_aggregate_remove_acknowledgement (HaleAggregate *self, const char *check,
                                       const HaleAuditActor *actor, GError **error)
{
  g_return_val_if_fail (HALE_IS_AGGREGATE (self), FALSE);

  /* An acknowledgement of a check since removed from the configuration
   * can still be cleared. */
  if (!g_hash_table_contains (self->acks, check ? check : ""))
    {
      if (!require_check (self, check, error))
        return FALSE;
      g_set_error (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_INVALID,
                   "Check “%s” is not acknowledged", check);
      return FALSE;
    }
  g_hash_table_remove (self->acks, check);
  g_message ("Acknowledgement of check %s removed by %s", check, actor_identity (actor));

  save (self);
  publish_check (self, check);
  publish_categories_of (self, check);
  update_acknowledged_metric (self);
  changed (self);
  return TRUE;
}

gboolean
hale_aggregate_set_category_enabled (HaleAggregate *self, const char *category, gboolean enabled,
                                     const HaleAuditActor *actor, GError **error)
{
  Category *c;
  g_autofree char *reason = NULL;

  g_return_val_if_fail (HALE_IS_AGGREGATE (self), FALSE);

  c = category != NULL ? find_category (self, category) : NULL;
  if (c == NULL)
    {
      g_set_error (error, HALE_AGGREGATE_ERROR, HALE_AGGREGATE_ERROR_UNKNOWN_CATEGORY,
                   "There is no category “%s” ([Category %s] in hale.conf)",
                   category ? category : "", category ? category : "");
      return FALSE;
    }

  if (!enabled)
    reason = g_strdup_printf ("disabled by %s", actor_identity (actor));
  set_category_state (self, c->name, enabled, reason);
  g_message ("Category %s %s by %s", c->name, enabled ? "enabled" : "disabled",
             actor_identity (actor));

  save (self);
  publish_category (self, c);
  changed (self);
  return TRUE;
}

static gint
compare_check (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(HaleAggregateCheck *const *)a)->name, (*(HaleAggregateCheck *const *)b)->name);
}

static gint
compare_category (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(HaleAggregateCategory *const *)a)->name,
                 (*(HaleAggregateCategory *const *)b)->name);
}

static HaleAggregateCheck *
snapshot_check (HaleAggregate *self, const char *name, gint64 now)
{
  HaleAggregateCheck *check = g_new0 (HaleAggregateCheck, 1);
  HaleCheckOutcome *outcome = g_hash_table_lookup (self->outcomes, name);
  const HaleAck *ack = g_hash_table_lookup (self->acks, name);

  check->name = g_strdup (name);
  check->outcome = outcome ? hale_check_outcome_ref (outcome) : NULL;
  check->ack = ack ? ack_copy (ack) : NULL;
  check->categories = categories_of (self, name);
  for (guint i = 0; check->categories[i] != NULL; i++)
    {
      Category *c = find_category (self, check->categories[i]);
      if (outcome != NULL && now - outcome->checked_at > c->refresh_rate)
        check->stale = TRUE;
    }
  return check;
}

GPtrArray *
hale_aggregate_list_checks (HaleAggregate *self, const char *const *categories)
{
  GPtrArray *list;
  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  gint64 now = g_get_real_time ();
  GHashTableIter iter;
  const char *name;

  g_return_val_if_fail (HALE_IS_AGGREGATE (self), NULL);

  if (categories == NULL)
    {
      g_hash_table_iter_init (&iter, self->known_checks);
      while (g_hash_table_iter_next (&iter, (gpointer *)&name, NULL))
        g_hash_table_add (names, (gpointer)name);
    }
  else
    for (guint i = 0; categories[i] != NULL; i++)
      {
        Category *c = find_category (self, categories[i]);
        for (guint j = 0; c != NULL && c->checks[j] != NULL; j++)
          g_hash_table_add (names, c->checks[j]);
      }

  list = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_aggregate_check_free);
  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, (gpointer *)&name, NULL))
    g_ptr_array_add (list, snapshot_check (self, name, now));
  g_ptr_array_sort (list, compare_check);
  return list;
}

GPtrArray *
hale_aggregate_list_categories (HaleAggregate *self, const char *const *categories)
{
  GPtrArray *list;

  g_return_val_if_fail (HALE_IS_AGGREGATE (self), NULL);

  list = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_aggregate_category_free);
  for (guint i = 0; i < self->categories->len; i++)
    {
      Category *c = g_ptr_array_index (self->categories, i);
      HaleAggregateCategory *out;
      const CategoryState *cs = NULL;

      if (categories != NULL && !g_strv_contains (categories, c->name))
        continue;
      out = g_new0 (HaleAggregateCategory, 1);
      out->name = g_strdup (c->name);
      out->checks = g_strdupv (c->checks);
      out->refresh_rate = c->refresh_rate;
      out->sticky = c->sticky;
      out->enabled = category_enabled (self, c, &cs);
      if (!out->enabled)
        {
          out->disabled_reason
              = g_strdup (cs && cs->reason ? cs->reason : "disabled in the configuration");
          out->disabled_at = cs ? cs->since : 0;
        }
      out->status = category_status (self, c);
      g_ptr_array_add (list, out);
    }
  g_ptr_array_sort (list, compare_category);
  return list;
}

guint
hale_aggregate_count_acknowledged (HaleAggregate *self)
{
  GHashTableIter iter;
  const char *name;
  guint n = 0;

  g_return_val_if_fail (HALE_IS_AGGREGATE (self), 0);

  /* Acknowledgements of checks no longer configured are kept (a typo in
   * a drop-in must not lose them) but not counted. */
  g_hash_table_iter_init (&iter, self->acks);
  while (g_hash_table_iter_next (&iter, (gpointer *)&name, NULL))
    if (g_hash_table_contains (self->known_checks, name))
      n++;
  return n;
}

guint64
hale_aggregate_get_generation (HaleAggregate *self)
{
  g_return_val_if_fail (HALE_IS_AGGREGATE (self), 0);
  return self->generation;
}

/* ---- GObject ------------------------------------------------------------ */

static void
hale_aggregate_dispose (GObject *object)
{
  HaleAggregate *self = HALE_AGGREGATE (object);

  if (self->checks != NULL)
    g_signal_handlers_disconnect_by_data (self->checks, self);
  g_clear_object (&self->checks);
  g_clear_object (&self->state);
  g_clear_object (&self->metrics);
  g_clear_object (&self->audit);
  G_OBJECT_CLASS (hale_aggregate_parent_class)->dispose (object);
}

static void
hale_aggregate_finalize (GObject *object)
{
  HaleAggregate *self = HALE_AGGREGATE (object);

  g_ptr_array_unref (self->categories);
  g_hash_table_unref (self->known_checks);
  g_hash_table_unref (self->outcomes);
  g_hash_table_unref (self->acks);
  g_hash_table_unref (self->cat_states);
  g_free (self->state_dir);
  g_free (self->state_path);
  G_OBJECT_CLASS (hale_aggregate_parent_class)->finalize (object);
}

static void
hale_aggregate_class_init (HaleAggregateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hale_aggregate_dispose;
  object_class->finalize = hale_aggregate_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
hale_aggregate_init (HaleAggregate *self)
{
  self->categories = g_ptr_array_new_with_free_func ((GDestroyNotify)category_free);
  self->known_checks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->outcomes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)hale_check_outcome_unref);
  self->acks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)ack_free);
  self->cat_states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify)category_state_free);
}

HaleAggregate *
hale_aggregate_new (HaleState *state, HaleChecks *checks, HaleMetrics *metrics, HaleAudit *audit,
                    const char *state_dir)
{
  static const char *const category_labels[] = { "category", NULL };
  HaleAggregate *self;

  g_return_val_if_fail (HALE_IS_STATE (state), NULL);
  g_return_val_if_fail (HALE_IS_CHECKS (checks), NULL);
  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);
  g_return_val_if_fail (audit == NULL || HALE_IS_AUDIT (audit), NULL);
  g_return_val_if_fail (state_dir != NULL, NULL);

  self = g_object_new (HALE_TYPE_AGGREGATE, NULL);
  self->state = g_object_ref (state);
  self->checks = g_object_ref (checks);
  self->metrics = g_object_ref (metrics);
  self->audit = audit ? g_object_ref (audit) : NULL;
  self->state_dir = g_strdup (state_dir);
  self->state_path = g_build_filename (state_dir, HALE_STATE_AGGREGATE, NULL);

  self->m_category_status = hale_metrics_add (
      metrics, HALE_METRIC_GAUGE, "category_status",
      "Status of a [Category] of checks: 0 healthy, 1 degraded, 2 unhealthy or disabled.", NULL,
      category_labels, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_category_enabled = hale_metrics_add (
      metrics, HALE_METRIC_GAUGE, "category_enabled",
      "Whether a [Category] of checks is enabled (1) or disabled, by an operator or a sticky "
      "trip (0).",
      NULL, category_labels, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_acknowledged = hale_metrics_add (
      metrics, HALE_METRIC_GAUGE, "checks_acknowledged",
      "Checks whose failure an operator acknowledged (they no longer count against the host).",
      NULL, NULL, NULL, 0, HALE_METRIC_FLAGS_NONE);

  load_state_file (self);
  update_acknowledged_metric (self);

  g_signal_connect (checks, "outcome", G_CALLBACK (on_outcome), self);
  g_signal_connect (checks, "removed", G_CALLBACK (on_removed), self);
  return self;
}
