/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-test-systemd.c: a private, real systemd --user and journald for tests. */
#include "config.h"

#include "hale-test-systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BOOTED_DIR "/run/systemd/system"
#define JOURNAL_DIR "/run/systemd/journal"
#define JOURNAL_SOCKET JOURNAL_DIR "/socket"
#define START_TIMEOUT_MS 15000

struct _HaleTestSystemd
{
  char *tmpdir;
  char *runtime_dir;
  char *config_home;
  char *unit_dir;
  char *bus_address;
  gboolean made_booted_dir;
  GSubprocess *process;
  GDBusConnection *connection;
  /* The manager's own cgroups (make_cgroups): their cgroup.procs files,
   * and the directories. */
  GPtrArray *cgroup_procs;
  GPtrArray *cgroup_dirs;
};

static gboolean journald_made_dir;
static GSubprocess *journald;

void
hale_test_skip_or_fail (const char *what, const GError *error)
{
  g_autofree char *msg
      = g_strdup_printf ("%s: %s", what, error != NULL ? error->message : "not available");

  if (g_strcmp0 (g_getenv ("CI"), "true") == 0)
    {
      g_test_message ("CI=true, so this is a failure: %s", msg);
      g_test_fail ();
    }
  else
    g_test_skip (msg);
}

static void
kill_on_parent_death (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Runs in the child between fork and exec: system calls only. */
static void
manager_child_setup (gpointer user_data)
{
  GPtrArray *procs = user_data;

  prctl (PR_SET_PDEATHSIG, SIGTERM);
  for (guint i = 0; procs != NULL && i < procs->len; i++)
    {
      int fd = open (g_ptr_array_index (procs, i), O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      /* On failure it shares our cgroup: fine while it runs alone. */
      ssize_t n = write (fd, "0", 1);
      (void)n;
      close (fd);
    }
}

/* A user manager takes the cgroup it starts in as its own and makes its
 * units' cgroups inside. Two managers started from one cgroup (two
 * tests at once, or another worktree's) would share those, and one
 * stopping its dbus.service would kill the other's bus. So each gets a
 * cgroup of its own next to ours, in the hierarchies systemd tracks
 * processes with. Where that is impossible (no cgroupfs, not root) it
 * runs where we are. */
static void
make_cgroups (HaleTestSystemd *ts)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  g_autofree char *leaf = g_path_get_basename (ts->tmpdir);

  ts->cgroup_procs = g_ptr_array_new_with_free_func (g_free);
  ts->cgroup_dirs = g_ptr_array_new_with_free_func (g_free);
  if (!g_file_get_contents ("/proc/self/cgroup", &contents, NULL, NULL))
    return;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *root = NULL;
      const char *path = NULL;
      const char *named = strstr (lines[i], ":name=systemd:");
      g_autofree char *dir = NULL;

      if (g_str_has_prefix (lines[i], "0::"))
        {
          path = lines[i] + 3;
          root = g_file_test ("/sys/fs/cgroup/unified/cgroup.procs", G_FILE_TEST_EXISTS)
                     ? "/sys/fs/cgroup/unified"
                     : "/sys/fs/cgroup";
        }
      else if (named != NULL)
        {
          path = named + strlen (":name=systemd:");
          root = "/sys/fs/cgroup/systemd";
        }
      if (root == NULL)
        continue;
      dir = g_build_filename (root, path, leaf, NULL);
      if (g_mkdir (dir, 0755) < 0)
        continue;
      g_ptr_array_add (ts->cgroup_procs, g_build_filename (dir, "cgroup.procs", NULL));
      g_ptr_array_add (ts->cgroup_dirs, g_steal_pointer (&dir));
    }
}

static void
remove_cgroups (HaleTestSystemd *ts)
{
  for (guint i = 0; ts->cgroup_dirs != NULL && i < ts->cgroup_dirs->len; i++)
    {
      /* Empty by now, but the manager may have left empty children. */
      g_autoptr (GSubprocess) p = g_subprocess_new (
          G_SUBPROCESS_FLAGS_STDERR_SILENCE, NULL, "find", g_ptr_array_index (ts->cgroup_dirs, i),
          "-depth", "-type", "d", "-exec", "rmdir", "{}", ";", NULL);
      if (p != NULL)
        g_subprocess_wait (p, NULL, NULL);
    }
  g_clear_pointer (&ts->cgroup_procs, g_ptr_array_unref);
  g_clear_pointer (&ts->cgroup_dirs, g_ptr_array_unref);
}

HaleTestSystemd *
hale_test_systemd_new (GError **error)
{
  g_autoptr (HaleTestSystemd) ts = g_new0 (HaleTestSystemd, 1);

  ts->tmpdir = g_dir_make_tmp ("hale-test-systemd-XXXXXX", error);
  if (ts->tmpdir == NULL)
    return NULL;
  ts->runtime_dir = g_build_filename (ts->tmpdir, "run", NULL);
  ts->config_home = g_build_filename (ts->tmpdir, "config", NULL);
  ts->unit_dir = g_build_filename (ts->config_home, "systemd", "user", NULL);
  ts->bus_address = g_strdup_printf ("unix:path=%s/bus", ts->runtime_dir);
  if (g_mkdir_with_parents (ts->runtime_dir, 0700) < 0
      || g_mkdir_with_parents (ts->unit_dir, 0755) < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "mkdir in %s: %s", ts->tmpdir,
                   g_strerror (errno));
      return NULL;
    }
  return g_steal_pointer (&ts);
}

gboolean
hale_test_systemd_add_unit (HaleTestSystemd *ts, const char *name, const char *contents,
                            GError **error)
{
  g_autofree char *path = g_build_filename (ts->unit_dir, name, NULL);
  return g_file_set_contents (path, contents, -1, error);
}

GStrv
hale_test_systemd_get_environ (HaleTestSystemd *ts)
{
  GStrv env = g_get_environ ();
  env = g_environ_setenv (env, "XDG_RUNTIME_DIR", ts->runtime_dir, TRUE);
  env = g_environ_setenv (env, "XDG_CONFIG_HOME", ts->config_home, TRUE);
  env = g_environ_setenv (env, "DBUS_SESSION_BUS_ADDRESS", ts->bus_address, TRUE);
  return env;
}

static gboolean
ping_manager (GDBusConnection *connection)
{
  g_autoptr (GVariant) ret = g_dbus_connection_call_sync (
      connection, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
      "org.freedesktop.DBus.Properties", "Get",
      g_variant_new ("(ss)", "org.freedesktop.systemd1.Manager", "Version"), NULL,
      G_DBUS_CALL_FLAGS_NO_AUTO_START, 1000, NULL, NULL);
  return ret != NULL;
}

gboolean
hale_test_systemd_start (HaleTestSystemd *ts, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_auto (GStrv) env = hale_test_systemd_get_environ (ts);
  g_autofree char *log = g_build_filename (ts->tmpdir, "systemd.log", NULL);
  g_autofree char *bus_path = g_build_filename (ts->runtime_dir, "bus", NULL);
  gint64 end = g_get_monotonic_time () + START_TIMEOUT_MS * 1000;

  if (!g_file_test ("/lib/systemd/systemd", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "/lib/systemd/systemd is missing");
      return FALSE;
    }
  /* systemd --user refuses to run unless the host looks booted with
   * systemd (sd_booted()). Made only where missing; removed in free. */
  if (!g_file_test (BOOTED_DIR, G_FILE_TEST_IS_DIR))
    {
      if (g_mkdir_with_parents (BOOTED_DIR, 0755) < 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       "cannot make " BOOTED_DIR " (systemd --user needs it): %s",
                       g_strerror (errno));
          return FALSE;
        }
      ts->made_booted_dir = TRUE;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_environ (launcher, env);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  make_cgroups (ts);
  g_subprocess_launcher_set_child_setup (launcher, manager_child_setup, ts->cgroup_procs, NULL);
  ts->process
      = g_subprocess_launcher_spawn (launcher, error, "/lib/systemd/systemd", "--user", NULL);
  if (ts->process == NULL)
    return FALSE;

  while (g_get_monotonic_time () < end)
    {
      if (g_file_test (bus_path, G_FILE_TEST_EXISTS))
        {
          if (ts->connection == NULL)
            ts->connection = g_dbus_connection_new_for_address_sync (
                ts->bus_address,
                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                    | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, NULL);
          if (ts->connection != NULL && ping_manager (ts->connection))
            return TRUE;
        }
      if (g_subprocess_get_identifier (ts->process) == NULL)
        break;
      g_usleep (50 * 1000);
    }

  {
    g_autofree char *contents = NULL;
    g_file_get_contents (log, &contents, NULL, NULL);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "systemd --user did not answer on %s within %d s; its log: %s", ts->bus_address,
                 START_TIMEOUT_MS / 1000, contents ? contents : "(none)");
  }
  return FALSE;
}

typedef struct
{
  char *job;
  char *result;
  gboolean done;
} StartWait;

static void
start_job_removed_cb (GDBusConnection *connection, const char *sender, const char *path,
                      const char *interface, const char *signal, GVariant *parameters,
                      gpointer user_data)
{
  StartWait *wait = user_data;
  const char *job, *result;
  guint32 id;
  const char *unit;

  g_variant_get (parameters, "(u&o&s&s)", &id, &job, &unit, &result);
  if (wait->job != NULL && g_str_equal (job, wait->job))
    {
      wait->result = g_strdup (result);
      wait->done = TRUE;
    }
}

gboolean
hale_test_systemd_start_unit (HaleTestSystemd *ts, const char *name, GError **error)
{
  StartWait wait = { 0 };
  guint id;
  g_autoptr (GVariant) ret = NULL;
  gboolean ok = FALSE;

  id = g_dbus_connection_signal_subscribe (
      ts->connection, "org.freedesktop.systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved",
      "/org/freedesktop/systemd1", NULL, G_DBUS_SIGNAL_FLAGS_NONE, start_job_removed_cb, &wait,
      NULL);
  g_clear_pointer (&ret, g_variant_unref);
  ret = g_dbus_connection_call_sync (ts->connection, "org.freedesktop.systemd1",
                                     "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "Subscribe", NULL, NULL,
                                     G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
  g_clear_pointer (&ret, g_variant_unref);
  ret = g_dbus_connection_call_sync (
      ts->connection, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
      "org.freedesktop.systemd1.Manager", "StartUnit", g_variant_new ("(ss)", name, "replace"),
      G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, error);
  if (ret != NULL)
    {
      g_variant_get (ret, "(o)", &wait.job);
      /* The signal may have come with the reply: iterate to see it. */
      if (!hale_test_wait_for (&wait.done, 10000))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "starting %s: no JobRemoved", name);
      else if (!g_str_equal (wait.result, "done"))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "starting %s: %s", name, wait.result);
      else
        ok = TRUE;
    }
  g_dbus_connection_signal_unsubscribe (ts->connection, id);
  g_free (wait.job);
  g_free (wait.result);
  return ok;
}

GDBusConnection *
hale_test_systemd_get_connection (HaleTestSystemd *ts)
{
  return ts->connection;
}

const char *
hale_test_systemd_get_tmpdir (HaleTestSystemd *ts)
{
  return ts->tmpdir;
}

static void
stop_process (GSubprocess *process, guint grace_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)grace_ms * 1000;
  const char *id = g_subprocess_get_identifier (process);

  if (id == NULL)
    return; /* gone already */
  g_subprocess_send_signal (process, SIGTERM);
  while (g_get_monotonic_time () < end)
    {
      if (g_subprocess_get_identifier (process) == NULL)
        return;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (20 * 1000);
    }
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
}

void
hale_test_systemd_free (HaleTestSystemd *ts)
{
  if (ts == NULL)
    return;
  if (ts->connection != NULL)
    g_dbus_connection_close_sync (ts->connection, NULL, NULL);
  g_clear_object (&ts->connection);
  if (ts->process != NULL)
    stop_process (ts->process, 5000);
  g_clear_object (&ts->process);
  remove_cgroups (ts);
  if (ts->made_booted_dir)
    g_rmdir (BOOTED_DIR);
  if (ts->tmpdir != NULL)
    {
      g_autoptr (GSubprocess) rm
          = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, NULL, "rm", "-rf", ts->tmpdir, NULL);
      if (rm != NULL)
        g_subprocess_wait (rm, NULL, NULL);
    }
  g_free (ts->tmpdir);
  g_free (ts->runtime_dir);
  g_free (ts->config_home);
  g_free (ts->unit_dir);
  g_free (ts->bus_address);
  g_free (ts);
}

/* A datagram socket someone has bound answers connect(). */
static gboolean
journal_socket_alive (void)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
  int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  gboolean alive;

  if (fd < 0)
    return FALSE;
  alive = connect (fd, (struct sockaddr *)&addr, sizeof addr) == 0;
  close (fd);
  return alive;
}

gboolean
hale_test_journald_ensure (GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  if (journal_socket_alive ())
    return TRUE;
  if (getuid () != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "no journald running and only root can start one");
      return FALSE;
    }
  if (!g_file_test (JOURNAL_DIR, G_FILE_TEST_IS_DIR))
    {
      if (g_mkdir_with_parents (JOURNAL_DIR, 0755) < 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       "mkdir " JOURNAL_DIR ": %s", g_strerror (errno));
          return FALSE;
        }
      journald_made_dir = TRUE;
    }
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                        | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, kill_on_parent_death, NULL, NULL);
  journald = g_subprocess_launcher_spawn (launcher, error, "/lib/systemd/systemd-journald", NULL);
  if (journald == NULL)
    return FALSE;
  while (g_get_monotonic_time () < end)
    {
      if (journal_socket_alive ())
        return TRUE;
      if (g_subprocess_get_identifier (journald) == NULL)
        break;
      g_usleep (50 * 1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "systemd-journald did not open %s",
               JOURNAL_SOCKET);
  hale_test_journald_stop ();
  return FALSE;
}

void
hale_test_journald_stop (void)
{
  if (journald != NULL)
    {
      /* Let it write what it received. */
      g_usleep (100 * 1000);
      stop_process (journald, 3000);
    }
  g_clear_object (&journald);
}

gboolean
hale_test_systemd_start_with (HaleTestSystemd *ts, const HaleTestUnit *units, gsize n_units,
                              GError **error)
{
  for (gsize i = 0; i < n_units; i++)
    if (!hale_test_systemd_add_unit (ts, units[i].name, units[i].contents, error))
      return FALSE;
  if (!hale_test_systemd_start (ts, error))
    return FALSE;
  for (gsize i = 0; i < n_units; i++)
    if (!units[i].stopped && !hale_test_systemd_start_unit (ts, units[i].name, error))
      return FALSE;
  return TRUE;
}
