/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-check-unit.c: the unit kind of check.
 *
 * org.freedesktop.systemd1 over D-Bus. LoadUnit gives the unit's
 * object; its PropertiesChanged (sent once Subscribe() was called on the
 * manager) makes hale read the unit again at once, and an outcome is
 * emitted when what it shows (states, blockers) changed. The Interval=
 * timer reads it as well, as a safety net.
 */
#include "config.h"

#include "hale-check-kind.h"

#define MAX_DEPENDENCIES 256

#define SYSTEMD_NAME "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT "org.freedesktop.systemd1.Unit"

typedef struct
{
  HaleCheck parent;
  char *unit_path;
  guint props_id;
  GDBusConnection *props_connection; /* what props_id is on */
  gboolean reread;                   /* PropertiesChanged while a read was in flight */
  char *unit_shown;                  /* what the last outcome showed */
} UnitCheck;

typedef struct
{
  HaleCheck *c;
  GCancellable *cancellable;
  gboolean event; /* from PropertiesChanged: emit only what changed */
  gint64 deadline;
  GVariant *props; /* a{sv} of the Unit interface */
} UnitRun;

static void
unit_run_free (UnitRun *run)
{
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->props, g_variant_unref);
  hale_check_unref (run->c);
  g_free (run);
}

static int
remaining_ms (UnitRun *run)
{
  gint64 left = run->deadline - g_get_monotonic_time ();
  return (int)CLAMP (left / 1000, 1, G_MAXINT);
}

/* The unit said it changed: read it again now, or after the read in
 * flight (never two at once). */
static void
unit_reread (HaleCheck *c)
{
  if (c->running != NULL)
    ((UnitCheck *)c)->reread = TRUE;
  else
    hale_check_run (c, TRUE);
}

static void
unit_done (UnitRun *run, gboolean ok, guint severity, const char *message, GVariant *details,
           const char *shown)
{
  HaleCheck *c = run->c;
  UnitCheck *u = (UnitCheck *)c;
  gboolean again;

  /* Abandoned (the check removed or reset, the bus changed): another
   * run, if any, speaks for the check now. */
  if (!hale_check_is_current (c, run->cancellable))
    {
      if (details != NULL)
        g_variant_unref (g_variant_ref_sink (details));
      unit_run_free (run);
      return;
    }
  again = u->reread;
  u->reread = FALSE;
  if (run->event && g_strcmp0 (shown, u->unit_shown) == 0 && c->last != NULL)
    {
      g_clear_object (&c->running);
      if (details != NULL)
        g_variant_unref (g_variant_ref_sink (details));
    }
  else
    {
      g_free (u->unit_shown);
      u->unit_shown = g_strdup (shown);
      hale_check_finish (c, ok, severity, message, details);
    }
  if (again && !c->removed)
    hale_check_run (c, TRUE);
  unit_run_free (run);
}

static void
unit_fail (UnitRun *run, const char *reason)
{
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "unit", "s", run->c->unit);
  g_variant_dict_insert (&d, "reason", "s", reason);
  unit_done (run, FALSE, 1, reason, g_variant_dict_end (&d), reason);
}

static char *
bus_reason (UnitRun *run, GError *error)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_autofree char *span = hale_check_format_span (run->c->timeout);
      return g_strdup_printf ("timeout: the service manager did not answer within %s", span);
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    return g_strdup ("not connected to the service manager: the bus connection is closed");
  if (g_strcmp0 (remote, "org.freedesktop.systemd1.NoSuchUnit") == 0)
    return g_strdup ("no such unit");
  g_dbus_error_strip_remote_error (error);
  return g_strdup_printf ("systemd: %s%s%s", remote != NULL ? remote : "",
                          remote != NULL ? ": " : "", error->message);
}

static const char *
prop_string (GVariant *props, const char *name)
{
  const char *value = NULL;

  if (!g_variant_lookup (props, name, "&s", &value))
    return "";
  return value;
}

/* The verdict on a unit, from its properties and the units it requires
 * that failed. */
static void
unit_judge (UnitRun *run, GPtrArray *blockers)
{
  HaleCheck *c = run->c;
  const char *load = prop_string (run->props, "LoadState");
  const char *active = prop_string (run->props, "ActiveState");
  const char *sub = prop_string (run->props, "SubState");
  guint64 changed = 0;
  gint64 now = g_get_real_time ();
  g_autofree char *span = NULL;
  g_autofree char *state = NULL;
  g_autofree char *message = NULL;
  g_autofree char *shown = NULL;
  g_autoptr (GString) blocked = g_string_new (NULL);
  gboolean ok = FALSE;
  guint severity = 1;
  GVariantDict d;

  g_variant_lookup (run->props, "StateChangeTimestamp", "t", &changed);
  if (changed > 0 && (gint64)changed <= now)
    span = hale_check_format_span (now - (gint64)changed);

  for (guint i = 0; i < blockers->len; i++)
    g_string_append_printf (blocked, "%s%s", i > 0 ? ", " : "",
                            (const char *)g_ptr_array_index (blockers, i));

  state = g_strdup_printf ("%s (%s)%s%s", active, sub, span != NULL ? " for " : "",
                           span != NULL ? span : "");
  if (g_str_equal (load, "not-found"))
    message = g_strdup ("no such unit");
  else if (g_str_equal (load, "masked"))
    message = g_strdup ("the unit is masked");
  else if (!g_str_equal (load, "loaded"))
    message = g_strdup_printf ("the unit cannot be loaded (%s)", load);
  else if (g_str_equal (active, "active"))
    {
      ok = TRUE;
      message = g_strdup_printf ("%s", state);
    }
  else if (g_str_equal (active, "activating") || g_str_equal (active, "deactivating")
           || g_str_equal (active, "reloading") || g_str_equal (active, "refreshing")
           || g_str_equal (active, "maintenance"))
    {
      /* On its way somewhere: a warning, with how long it has been. */
      severity = 2;
      message = g_strdup_printf ("%s", state);
    }
  else
    /* failed, inactive, or a state this hale does not know: down. */
    message = g_strdup_printf ("%s", state);

  if (blockers->len > 0)
    {
      g_autofree char *m
          = g_strdup_printf ("%s; required unit(s) failed: %s", message, blocked->str);
      g_free (message);
      message = g_steal_pointer (&m);
    }

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "unit", "s", c->unit);
  g_variant_dict_insert (&d, "load_state", "s", load);
  g_variant_dict_insert (&d, "active_state", "s", active);
  g_variant_dict_insert (&d, "sub_state", "s", sub);
  if (changed > 0)
    {
      g_variant_dict_insert (&d, "state_since", "x", (gint64)(changed / G_USEC_PER_SEC));
      g_variant_dict_insert (&d, "state_seconds", "d",
                             (double)MAX (0, now - (gint64)changed) / G_USEC_PER_SEC);
    }
  g_ptr_array_add (blockers, NULL);
  g_variant_dict_insert (&d, "blockers", "^as", (char **)blockers->pdata);
  g_ptr_array_remove_index (blockers, blockers->len - 1);
  if (!ok)
    g_variant_dict_insert (&d, "reason", "s", message);

  shown = g_strdup_printf ("%s/%s/%s/%s", load, active, sub, blocked->str);
  unit_done (run, ok, severity, message, g_variant_dict_end (&d), shown);
}

static void
unit_deps_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  UnitRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  g_autoptr (GPtrArray) blockers = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GVariantIter) iter = NULL;
  const char *name, *active;

  if (ret == NULL)
    {
      g_autofree char *reason = bus_reason (run, error);
      unit_fail (run, reason);
      return;
    }
  g_variant_get (ret, "(a(ssssssouso))", &iter);
  while (g_variant_iter_next (iter, "(&s&s&s&s&s&s&ou&s&o)", &name, NULL, NULL, &active, NULL, NULL,
                              NULL, NULL, NULL, NULL))
    if (g_str_equal (active, "failed"))
      g_ptr_array_add (blockers, g_strdup (name));
  unit_judge (run, blockers);
}

static void
unit_props_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  UnitRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) deps = g_ptr_array_new_with_free_func (g_free);
  static const char *const dep_props[] = { "Requires", "BindsTo" };

  run->props = hale_systemd_get_unit_properties_finish (HALE_SYSTEMD (source), res, &error);
  if (run->props == NULL)
    {
      g_autofree char *reason = bus_reason (run, error);
      unit_fail (run, reason);
      return;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (dep_props); i++)
    {
      g_autoptr (GVariant) list
          = g_variant_lookup_value (run->props, dep_props[i], G_VARIANT_TYPE_STRING_ARRAY);
      gsize n = list != NULL ? g_variant_n_children (list) : 0;

      for (gsize j = 0; j < n && deps->len < MAX_DEPENDENCIES; j++)
        {
          const char *name = NULL;
          g_variant_get_child (list, j, "&s", &name);
          if (!g_ptr_array_find_with_equal_func (deps, name, g_str_equal, NULL))
            g_ptr_array_add (deps, g_strdup (name));
        }
    }
  if (deps->len == 0)
    {
      g_autoptr (GPtrArray) none = g_ptr_array_new_with_free_func (g_free);
      unit_judge (run, none);
      return;
    }
  g_ptr_array_add (deps, NULL);
  g_dbus_connection_call (hale_check_get_connection (run->c), SYSTEMD_NAME, SYSTEMD_PATH,
                          SYSTEMD_MANAGER, "ListUnitsByNames",
                          g_variant_new ("(^as)", (char **)deps->pdata),
                          G_VARIANT_TYPE ("(a(ssssssouso))"), G_DBUS_CALL_FLAGS_NONE,
                          remaining_ms (run), run->cancellable, unit_deps_cb, run);
}

static void
unit_read (UnitRun *run)
{
  hale_systemd_get_unit_properties_async (hale_check_get_systemd (run->c),
                                          ((UnitCheck *)run->c)->unit_path, remaining_ms (run),
                                          run->cancellable, unit_props_cb, run);
}

static void
unit_properties_changed (GDBusConnection *connection, const char *sender, const char *path,
                         const char *interface, const char *signal, GVariant *parameters,
                         gpointer user_data)
{
  HaleCheck *c = user_data;
  UnitCheck *u = user_data;
  const char *iface = NULL;

  if (c->removed || u->unit_path == NULL || !g_str_equal (path, u->unit_path)
      || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    return;
  g_variant_get (parameters, "(&s@a{sv}@as)", &iface, NULL, NULL);
  if (!g_str_equal (iface, SYSTEMD_UNIT))
    return;
  unit_reread (c);
}

static void
unit_unwatch (HaleCheck *c)
{
  UnitCheck *u = (UnitCheck *)c;

  if (u->props_id != 0)
    g_dbus_connection_signal_unsubscribe (u->props_connection, u->props_id);
  u->props_id = 0;
  g_clear_object (&u->props_connection);
  g_clear_pointer (&u->unit_path, g_free);
}

static void
unit_loaded_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  UnitRun *run = user_data;
  HaleCheck *c = run->c;
  UnitCheck *u = (UnitCheck *)c;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = hale_systemd_load_unit_finish (HALE_SYSTEMD (source), res, &error);

  if (path == NULL)
    {
      g_autofree char *reason = bus_reason (run, error);
      unit_fail (run, reason);
      return;
    }
  if (!hale_check_is_current (c, run->cancellable))
    {
      unit_done (run, FALSE, 1, NULL, NULL, NULL);
      return;
    }
  if (u->unit_path == NULL)
    {
      u->unit_path = g_steal_pointer (&path);
      u->props_connection = g_object_ref (hale_check_get_connection (c));
      /* A reference for the subscription: GDBus may still deliver a
       * signal it had queued after the unsubscription. */
      u->props_id = g_dbus_connection_signal_subscribe (
          u->props_connection, SYSTEMD_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
          u->unit_path, NULL, G_DBUS_SIGNAL_FLAGS_NONE, unit_properties_changed, hale_check_ref (c),
          (GDestroyNotify)hale_check_unref);
    }
  unit_read (run);
}

static void
unit_run (HaleCheck *c, gboolean event)
{
  GDBusConnection *connection = hale_check_get_connection (c);
  HaleSystemd *systemd = hale_check_get_systemd (c);
  UnitRun *run;

  run = g_new0 (UnitRun, 1);
  run->c = hale_check_ref (c);
  run->cancellable = g_object_ref (c->running);
  run->event = event;
  run->deadline = g_get_monotonic_time () + c->timeout;

  if (connection == NULL || g_dbus_connection_is_closed (connection))
    {
      unit_fail (run, "not connected to the service manager");
      return;
    }
  hale_systemd_subscribe (systemd);
  if (((UnitCheck *)c)->unit_path != NULL)
    {
      unit_read (run);
      return;
    }
  hale_systemd_load_unit_async (systemd, c->unit, remaining_ms (run), run->cancellable,
                                unit_loaded_cb, run);
}

static gboolean
unit_connection_changed (HaleCheck *c)
{
  if (c->running != NULL)
    g_cancellable_cancel (c->running);
  g_clear_object (&c->running);
  unit_unwatch (c);
  return TRUE;
}

static void
unit_finalize (HaleCheck *c)
{
  unit_unwatch (c);
  g_free (((UnitCheck *)c)->unit_shown);
}

const HaleCheckClass hale_check_unit_class = {
  .kind = HALE_CHECK_KIND_UNIT,
  .name = "unit",
  .instance_size = sizeof (UnitCheck),
  .runs = TRUE,
  .run = unit_run,
  .stop = unit_unwatch,
  .connection_changed = unit_connection_changed,
  .finalize = unit_finalize,
};
