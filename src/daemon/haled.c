/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* haled: parses the command line and runs the loop; HaleDaemon does
 * the rest. */
#include "config.h"

#include "hale-config.h"
#include "hale-daemon.h"
#include "hale-log.h"
#include "hale-probe.h"
#include "hale-sandbox.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <errno.h>
#include <locale.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct
{
  GMainLoop *loop;
  HaleDaemon *daemon;
  int exit_code;
} Haled;

static gboolean
on_sighup (gpointer user_data)
{
  Haled *haled = user_data;
  g_autoptr (GError) error = NULL;

  if (!hale_daemon_reload (haled->daemon, &error))
    g_warning ("SIGHUP: %s", error->message);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_terminate (gpointer user_data)
{
  Haled *haled = user_data;

  hale_daemon_stop (haled->daemon);
  g_main_loop_quit (haled->loop);
  return G_SOURCE_CONTINUE;
}

static void
on_fatal (HaleDaemon *daemon, const char *message, gpointer user_data)
{
  Haled *haled = user_data;

  haled->exit_code = EXIT_FAILURE;
  g_main_loop_quit (haled->loop);
}

/* Every HTTP client, probe and watched directory is a descriptor, and
 * the soft limit of 1024 systemd leaves is far below the hard one. poll()
 * has no FD_SETSIZE limit, so take what we are allowed. */
static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) < 0)
        g_debug ("cannot raise RLIMIT_NOFILE: %s", g_strerror (errno));
    }
}

/* --check-config: every problem on its own line, "FILE:GROUP:KEY: ...". */
static int
check_config (const char *path, gboolean user)
{
  g_autofree char *default_path = hale_daemon_default_config_path (user);
  g_autoptr (HaleConfig) config = NULL;
  g_autoptr (GError) error = NULL;

  config = hale_config_load (path ? path : default_path, &error);
  /* From a shell, the file system haled.service sees is not this one. */
  if (config != NULL && !user && !hale_sandbox_check_unit (config, "haled.service", &error))
    {
      g_printerr ("%s\n", error->message);
      return EXIT_FAILURE;
    }
  if (config != NULL)
    {
      g_print ("%s: valid\n", path ? path : default_path);
      return EXIT_SUCCESS;
    }
  if (path == NULL && g_error_matches (error, HALE_CONFIG_ERROR, HALE_CONFIG_ERROR_NOT_FOUND))
    {
      g_print ("%s: does not exist; haled runs on the built-in defaults\n", default_path);
      return EXIT_SUCCESS;
    }
  g_printerr ("%s\n", error->message);
  return EXIT_FAILURE;
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  gboolean user = FALSE;
  gboolean check_only = FALSE;
  gboolean version = FALSE;
  GOptionEntry entries[]
      = { { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
            N_ ("Read FILE (and FILE.d/*.conf) instead of the default configuration"),
            N_ ("FILE") },
          { "user", 0, 0, G_OPTION_ARG_NONE, &user,
            N_ ("Use the session bus, the systemd user manager and XDG directories"), NULL },
          { "check-config", 0, 0, G_OPTION_ARG_NONE, &check_only,
            N_ ("Validate the configuration, print every problem and exit"), NULL },
          { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_ ("Print the version and exit"), NULL },
          { NULL } };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleDaemon) daemon = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  HaleDaemonOptions options = { 0 };
  Haled haled = { 0 };

  /* Before any thread: it sets an environment variable. */
  hale_probe_init_tls ();
  /* haled's locale (LANG, LANGUAGE of its environment: the system's
   * /etc/locale.conf under systemd) translates --help and the HTML
   * health view. Numbers stay C: they go into messages, audit records
   * and reports that scripts parse, "1.5 s" never "1,5 s". */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");
  /* HALE_LOCALEDIR: a build tree's catalogs, for its tests (as halectl).
   * Whoever sets haled's environment already decides what it runs. */
  bindtextdomain (GETTEXT_PACKAGE,
                  g_getenv ("HALE_LOCALEDIR") != NULL ? g_getenv ("HALE_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("haled");
  hale_log_init ();

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Watches TLS certificates and the services that "
                                            "use them; serves /metrics, /health and D-Bus."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("haled: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("haled %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (check_only)
    return check_config (config_path, user);

  raise_fd_limit ();
  options.config_path = config_path;
  options.user = user;
  daemon = hale_daemon_new (&options);
  loop = g_main_loop_new (NULL, FALSE);
  haled.loop = loop;
  haled.daemon = daemon;
  haled.exit_code = EXIT_SUCCESS;

  if (!hale_daemon_start (daemon, &error))
    {
      g_printerr ("haled: %s\n", error->message);
      return EXIT_FAILURE;
    }
  g_signal_connect (daemon, "fatal", G_CALLBACK (on_fatal), &haled);
  g_unix_signal_add (SIGHUP, on_sighup, &haled);
  g_unix_signal_add (SIGTERM, on_terminate, &haled);
  g_unix_signal_add (SIGINT, on_terminate, &haled);

  g_main_loop_run (loop);
  return haled.exit_code;
}
