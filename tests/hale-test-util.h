/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-test-util.h: what the unit tests share: running the main loop
 * until something happens (with a cap, so a test fails rather than
 * hangs), temporary trees, subprocesses and HTTP requests that the
 * loop under test must answer while they run.
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* How long a test waits for anything before it fails. */
#define HALE_TEST_TIMEOUT_SECONDS 20

/* The timeout of HALE_TEST_WAIT_UNTIL: fails the test, naming @what. */
gboolean
hale_test_wait_timed_out (gpointer what);

/* Runs the main loop until @cond holds, failing the test after
 * HALE_TEST_TIMEOUT_SECONDS rather than hanging it. */
#define HALE_TEST_WAIT_UNTIL(cond)                                                                 \
  G_STMT_START                                                                                     \
  {                                                                                                \
    guint wait_timeout_id_ = g_timeout_add_seconds (HALE_TEST_TIMEOUT_SECONDS,                     \
                                                    hale_test_wait_timed_out, (gpointer) #cond);   \
    while (!(cond))                                                                                \
      g_main_context_iteration (NULL, TRUE);                                                       \
    g_source_remove (wait_timeout_id_);                                                            \
  }                                                                                                \
  G_STMT_END

/* Iterates the default context until *@flag or @timeout_ms passed. */
gboolean
hale_test_wait_for (gboolean *flag, guint timeout_ms);

/* Lets the main loop run for @ms (file monitors, debounces, timers). */
void
hale_test_spin (guint ms);

/* g_test_expect_message() does not see structured logging in GLib 2.74.
 * After hale_test_log_init(), a warning matching @pattern
 * (g_pattern_match_simple) is swallowed and counted instead of being
 * fatal; NULL expects none. Returns how many were seen since the last
 * call. */
void
hale_test_log_init (void);
guint
hale_test_expect_warning (const char *pattern);

/* Removes @path and, if it is a directory (not a link to one), all
 * below it. */
void
hale_test_remove_tree (const char *path);

/* Writes @contents to @dir/@name; returns the path. */
char *
hale_test_write_file (const char *dir, const char *name, const char *contents);

/* A launcher whose children die with the test (PR_SET_PDEATHSIG), so a
 * failed assertion leaves no bus or daemon behind. */
GSubprocessLauncher *
hale_test_launcher_new (GSubprocessFlags flags);

/* Stops @p (SIGTERM) and reaps it; NULL is nothing. */
void
hale_test_stop (GSubprocess *p);

/* Waits for @p, spawned with both output pipes, while the main loop
 * runs (it is often what answers @p). Its output in @out and @err
 * (never NULL); returns its exit status. */
int
hale_test_communicate (GSubprocess *p, char **out, char **err);

/* What a command run by hale_test_run() did; its output never NULL. */
typedef struct
{
  int status;
  char *out;
  char *err;
} HaleTestRun;

/* Runs @argv from @launcher (with both output pipes) to its end, while
 * the main loop runs: what it talks to is often in this process. */
void
hale_test_run (HaleTestRun *run, GSubprocessLauncher *launcher, const char *const *argv);
void
hale_test_run_clear (HaleTestRun *run);

/* A private dbus-daemon listening on @dir/bus, configured by
 * @dir/bus.conf with @policy (the <policy> elements) and EXTERNAL
 * authentication. Returns its address; the daemon in @out_bus. */
char *
hale_test_dbus_daemon_start (const char *dir, const char *policy, GSubprocess **out_bus);

/* Sends @msg on @session while the main loop runs; the body, or NULL
 * with @error. Fails the test after HALE_TEST_TIMEOUT_SECONDS. */
GBytes *
hale_test_send_and_read (SoupSession *session, SoupMessage *msg, GError **error);

G_END_DECLS
