/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-test-util.c: what the unit tests share (hale-test-util.h). */
#include "hale-test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>

gboolean
hale_test_wait_timed_out (gpointer what)
{
  g_error ("Timed out after %d s waiting for %s", HALE_TEST_TIMEOUT_SECONDS, (const char *)what);
  return G_SOURCE_REMOVE;
}

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
hale_test_wait_for (gboolean *flag, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  /* Wakes the loop now and then, so the deadline is seen. */
  guint tick = g_timeout_add (20, tick_cb, NULL);

  while (!*flag && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  return *flag;
}

static gboolean
flag_set (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
hale_test_spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, flag_set, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

void
hale_test_remove_tree (const char *path)
{
  GDir *dir;

  /* A link is removed, never followed: the tests make links out of
   * their tree. */
  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK) && (dir = g_dir_open (path, 0, NULL)) != NULL)
    {
      const char *name;

      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          hale_test_remove_tree (child);
        }
      g_dir_close (dir);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

char *
hale_test_write_file (const char *dir, const char *name, const char *contents)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

GSubprocessLauncher *
hale_test_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return launcher;
}

void
hale_test_stop (GSubprocess *p)
{
  if (p == NULL)
    return;
  g_subprocess_send_signal (p, SIGTERM);
  g_subprocess_wait (p, NULL, NULL);
}

char *
hale_test_dbus_daemon_start (const char *dir, const char *policy, GSubprocess **out_bus)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *config_path = g_build_filename (dir, "bus.conf", NULL);
  g_autofree char *config = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;

  config = g_strdup_printf (
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig>\n"
      "  <listen>unix:path=%s/bus</listen>\n"
      "  <auth>EXTERNAL</auth>\n"
      "%s\n"
      "</busconfig>\n",
      dir, policy);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);

  launcher = hale_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  *out_bus = g_subprocess_launcher_spawn (launcher, &error, "dbus-daemon", "--nofork",
                                          "--print-address=1", "--config-file", config_path, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (*out_bus));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  return g_strdup (g_strstrip (line));
}

typedef struct
{
  gboolean done;
  char *out;
  char *err;
} Communicated;

static void
on_communicated (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Communicated *c = user_data;
  g_autoptr (GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), res, &c->out, &c->err, &error);
  g_assert_no_error (error);
  c->done = TRUE;
}

int
hale_test_communicate (GSubprocess *p, char **out, char **err)
{
  Communicated c = { 0 };

  g_subprocess_communicate_utf8_async (p, NULL, NULL, on_communicated, &c);
  HALE_TEST_WAIT_UNTIL (c.done);
  g_subprocess_wait (p, NULL, NULL);
  *out = c.out != NULL ? c.out : g_strdup ("");
  *err = c.err != NULL ? c.err : g_strdup ("");
  return g_subprocess_get_exit_status (p);
}

void
hale_test_run (HaleTestRun *run, GSubprocessLauncher *launcher, const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (launcher, argv, &error);

  g_assert_no_error (error);
  run->status = hale_test_communicate (p, &run->out, &run->err);
}

void
hale_test_run_clear (HaleTestRun *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

typedef struct
{
  GBytes *body;
  GError *error;
  gboolean done;
} Fetch;

static void
fetch_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Fetch *fetch = data;

  fetch->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &fetch->error);
  fetch->done = TRUE;
}

GBytes *
hale_test_send_and_read (SoupSession *session, SoupMessage *msg, GError **error)
{
  Fetch fetch = { 0 };

  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, fetch_cb, &fetch);
  HALE_TEST_WAIT_UNTIL (fetch.done);
  if (fetch.error != NULL)
    {
      g_propagate_error (error, fetch.error);
      return NULL;
    }
  return fetch.body;
}

static const char *expected_warning;
static guint expected_warnings_seen;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  if (expected_warning != NULL && (level & G_LOG_LEVEL_WARNING))
    for (gsize i = 0; i < n_fields; i++)
      if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0
          && g_pattern_match_simple (expected_warning, fields[i].value))
        {
          expected_warnings_seen++;
          return G_LOG_WRITER_HANDLED;
        }
  return g_log_writer_default (level, fields, n_fields, data);
}

void
hale_test_log_init (void)
{
  g_log_set_writer_func (log_writer, NULL, NULL);
}

guint
hale_test_expect_warning (const char *pattern)
{
  guint seen = expected_warnings_seen;

  expected_warning = pattern;
  expected_warnings_seen = 0;
  return seen;
}
