/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A rollback writes the previous certificate and key back next to the
 * current ones (hale-backup.c). Under ProtectSystem=strict that works
 * only in the directories the unit grants, so it is checked when the
 * configuration is read, not found out when a rollback is needed.
 * Inside the service, access(2) tells (EROFS on a read-only mount);
 * `haled --check-config` from a shell is outside the sandbox and asks
 * the system manager what haled.service may write. */
#include "config.h"

#include "hale-sandbox.h"

#include <gio/gio.h>
#include <systemd/sd-login.h>
#include <errno.h>
#include <stdlib.h>

/* Only a critical service's failure starts a rollback. */
gboolean
hale_sandbox_rollback_possible (const HaleConfig *config)
{
  for (guint i = 0; i < config->services->len; i++)
    {
      const HaleServiceConfig *s = g_ptr_array_index (config->services, i);
      if (s->critical)
        return TRUE;
    }
  return FALSE;
}

/* The directory a rollback of @path writes into: that of a link's
 * target (the target is replaced), else of @path. NULL for a pattern
 * with wildcards in its directory part: its files are not known yet. */
char *
hale_sandbox_rollback_dir (const char *path)
{
  g_autofree char *real = realpath (path, NULL);
  g_autofree char *dir = g_path_get_dirname (real != NULL ? real : path);

  if (strpbrk (dir, "*?[") != NULL)
    return NULL;
  return g_steal_pointer (&dir);
}

static gboolean
path_under (const char *path, const char *top)
{
  gsize n = strlen (top);

  while (n > 1 && top[n - 1] == '/')
    n--;
  return strncmp (path, top, n) == 0 && (path[n] == '\0' || path[n] == '/' || n == 1);
}

static gboolean
under_any (const char *path, const char *base, GVariant *list)
{
  GVariantIter iter;
  const char *entry;

  if (list == NULL)
    return FALSE;
  g_variant_iter_init (&iter, list);
  while (g_variant_iter_next (&iter, "&s", &entry))
    {
      g_autofree char *full = NULL;
      /* "-/path": ignore when missing; "+/path": outside RootDirectory=. */
      while (*entry == '-' || *entry == '+')
        entry++;
      full = base != NULL && !g_path_is_absolute (entry) ? g_build_filename (base, entry, NULL)
                                                         : g_strdup (entry);
      if (path_under (path, full))
        return TRUE;
    }
  return FALSE;
}

/* NULL when haled.service may write @dir, else the setting that stops it. */
static const char *
unit_forbids (const char *dir, GVariant *props)
{
  static const char *const system_dirs[] = { "/usr", "/boot", "/efi", "/etc" };
  static const char *const home_dirs[] = { "/home", "/root", "/run/user" };
  g_autoptr (GVariant) rw = g_variant_lookup_value (props, "ReadWritePaths", G_VARIANT_TYPE ("as"));
  g_autoptr (GVariant) state
      = g_variant_lookup_value (props, "StateDirectory", G_VARIANT_TYPE ("as"));
  g_autoptr (GVariant) logs
      = g_variant_lookup_value (props, "LogsDirectory", G_VARIANT_TYPE ("as"));
  g_autoptr (GVariant) cache
      = g_variant_lookup_value (props, "CacheDirectory", G_VARIANT_TYPE ("as"));
  const char *protect_system = "no";
  const char *protect_home = "no";

  g_variant_lookup (props, "ProtectSystem", "&s", &protect_system);
  g_variant_lookup (props, "ProtectHome", "&s", &protect_home);

  if (under_any (dir, NULL, rw) || under_any (dir, "/var/lib", state)
      || under_any (dir, "/var/log", logs) || under_any (dir, "/var/cache", cache))
    return NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (home_dirs); i++)
    if (!g_str_equal (protect_home, "no") && path_under (dir, home_dirs[i]))
      return protect_home[0] == 'r' ? "ProtectHome=read-only" : "ProtectHome=yes";

  if (g_str_equal (protect_system, "strict"))
    return path_under (dir, "/dev") || path_under (dir, "/proc") || path_under (dir, "/sys")
               ? NULL
               : "ProtectSystem=strict";
  for (gsize i = 0; i < G_N_ELEMENTS (system_dirs); i++)
    if ((g_str_equal (protect_system, "full") || (i < 3 && g_str_equal (protect_system, "yes")))
        && path_under (dir, system_dirs[i]))
      return g_str_equal (protect_system, "full") ? "ProtectSystem=full" : "ProtectSystem=yes";
  return NULL;
}

/* The properties of @interface of the unit at @path, as a{sv}. */
static GVariant *
get_all (GDBusConnection *bus, const char *path, const char *interface, GError **error)
{
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
      bus, "org.freedesktop.systemd1", path, "org.freedesktop.DBus.Properties", "GetAll",
      g_variant_new ("(s)", interface), G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, 5000,
      NULL, error);

  return reply != NULL ? g_variant_get_child_value (reply, 0) : NULL;
}

/* The service properties of @unit from the system manager; NULL (no
 * error) when there is no system manager or no such unit: then nothing
 * runs haled under a sandbox here. */
static GVariant *
unit_properties (const char *unit, GError **error)
{
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) unit_props = NULL;
  const char *path = NULL;
  const char *load_state = NULL;
  g_autoptr (GError) local = NULL;

  bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &local);
  if (bus == NULL)
    return NULL;
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "LoadUnit",
                                       g_variant_new ("(s)", unit), G_VARIANT_TYPE ("(o)"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, &local);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(&o)", &path);

  unit_props = get_all (bus, path, "org.freedesktop.systemd1.Unit", error);
  if (unit_props == NULL || !g_variant_lookup (unit_props, "LoadState", "&s", &load_state)
      || !g_str_equal (load_state, "loaded"))
    return NULL;
  return get_all (bus, path, "org.freedesktop.systemd1.Service", error);
}

static void
check_file (GString *problems, const char *unit, GVariant *props, const char *certificate,
            const char *key, const char *path)
{
  g_autofree char *dir = path != NULL ? hale_sandbox_rollback_dir (path) : NULL;
  const char *setting = dir != NULL ? unit_forbids (dir, props) : NULL;

  if (setting == NULL)
    return;
  if (problems->len > 0)
    g_string_append_c (problems, '\n');
  g_string_append_printf (problems,
                          "%s:Certificate %s:%s: %s is read-only for %s (%s), so a rollback could "
                          "not put the previous file back; grant it with ReadWritePaths=%s in a "
                          "drop-in (systemctl edit %s)",
                          unit, certificate, key, dir, unit, setting, dir, unit);
}

/* --check-config outside the service: each rollback directory that
 * @unit's sandbox would not let haled write is a problem, one line each,
 * "UNIT:Certificate NAME:KEY: ...". Inside the service (or where no
 * system manager knows @unit) there is nothing more to check than the
 * configuration's own access(2) test. */
gboolean
hale_sandbox_check_unit (const HaleConfig *config, const char *unit, GError **error)
{
  g_autofree char *own_unit = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GString) problems = g_string_new (NULL);
  g_autoptr (GError) local = NULL;

  if (!hale_sandbox_rollback_possible (config))
    return TRUE;
  if (sd_pid_get_unit (0, &own_unit) >= 0 && g_str_equal (own_unit, unit))
    return TRUE;
  props = unit_properties (unit, &local);
  if (props == NULL)
    {
      if (local != NULL)
        g_debug ("cannot read the sandbox of %s: %s", unit, local->message);
      return TRUE;
    }

  for (guint i = 0; i < config->certificates->len; i++)
    {
      const HaleCertificateConfig *c = g_ptr_array_index (config->certificates, i);
      check_file (problems, unit, props, c->name, "Path", c->path);
      check_file (problems, unit, props, c->name, "KeyPath", c->key_path);
    }
  if (problems->len == 0)
    return TRUE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, problems->str);
  return FALSE;
}
