/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* halectl: ask haled how this host's certificates and services are.
 *
 * A plain bus client: it links none of the daemon and reads everything
 * through org.hale.Hale1, so it shows what any other client would see.
 * This file is the command line only: options, the help text and the
 * table of commands; each command lives in its own halectl-*.c.
 */
#include "config.h"

#include "halectl-commands.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>

typedef struct
{
  const char *name;
  const char *arguments; /* for --help, NULL when it takes none */
  const char *summary;   /* N_(): translated when printed */
  int (*run) (const HalectlOptions *options, int argc, char **argv);
} HalectlCommand;

/* The first is what a bare `halectl` runs. "help" has no function: it
 * needs the option context, so main() answers it. A name starting with
 * "__" is internal: left out of --help and the man page (it is for the
 * shell completion, data/bash-completion/halectl). */
static const HalectlCommand commands[] = {
  { "status", NULL, N_ ("Show the overall status and every check (default)"), halectl_status },
  { "degraded", NULL, N_ ("Show degraded mode and the connectivity state"), halectl_degraded },
  { "endpoints", NULL, N_ ("Show the latest probe of every endpoint"), halectl_endpoints },
  /* TRANSLATORS: SERVICE is the argument of `halectl reload` */
  { "reload", N_ ("[SERVICE]"),
    N_ ("Reload every service (or one) through systemd and\n"
        "show each result as it comes"),
    halectl_reload },
  { "checks", NULL, N_ ("Show every aggregated check ([Check NAME]) and its\nacknowledgement"),
    halectl_checks },
  /* TRANSLATORS: the arguments of `halectl categories` */
  { "categories", N_ ("[enable|disable CATEGORY]"),
    N_ ("Show the categories of checks, or enable or disable one\n(a failover, or after a sticky "
        "category tripped)"),
    halectl_categories },
  /* TRANSLATORS: the arguments of `halectl ack` */
  { "ack", N_ ("CHECK MESSAGE"),
    N_ ("Acknowledge a check's failure: shown, but no longer\ncounted against the host"),
    halectl_ack },
  { "unack", N_ ("CHECK"), N_ ("Remove a check's acknowledgement"), halectl_unack },
  /* TRANSLATORS: the arguments of `halectl report`; pass, warn, fail are literal */
  { "report", N_ ("NAME --status pass|warn|fail [--message TEXT]"),
    N_ ("Report the result of a push check (from a cron job\nor a hook)"), halectl_report },
  /* TRANSLATORS: KIND and OPTION… are the arguments of `halectl record` */
  { "record", N_ ("KIND [OPTION…]"),
    N_ ("Report for the rotation agent (a certbot hook): renewal,\n"
        "jwt-refresh, auth-failure, cache-hit, bootstrap\n"
        "(halectl record help shows their options)"),
    halectl_record },
  { "help", NULL, N_ ("Show this help"), NULL },
  { "__complete", NULL, NULL, halectl_complete },
};

static gboolean
command_is_internal (const HalectlCommand *command)
{
  return g_str_has_prefix (command->name, "__");
}

/* What the options set. At file scope so that the table can point at
 * them and `halectl __complete options` can list it. */
static HalectlOptions options;
static gboolean version;

static const GOptionEntry entries[] = {
  { "user", 0, 0, G_OPTION_ARG_NONE, &options.user,
    N_ ("Ask the haled on the session bus (haled --user)"), NULL },
  { "json", 0, 0, G_OPTION_ARG_NONE, &options.json,
    N_ ("Print the report as JSON, as GET /health answers it"), NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_ ("Print the version and exit"), NULL },
  { NULL },
};

GStrv
halectl_list_commands (void)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!command_is_internal (&commands[i]))
      g_strv_builder_add (builder, commands[i].name);
  return g_strv_builder_end (builder);
}

/* As typed: "--user"; GOption adds --help (and -h) itself. */
GStrv
halectl_list_options (void)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (gsize i = 0; entries[i].long_name != NULL; i++)
    {
      g_autofree char *option = g_strconcat ("--", entries[i].long_name, NULL);
      g_strv_builder_add (builder, option);
    }
  g_strv_builder_add (builder, "--help");
  return g_strv_builder_end (builder);
}

static const HalectlCommand *
find_command (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

/* The --help summary: a line (or more) per command of the table, the
 * summaries aligned in one column; a usage too long for the name column
 * gets a line of its own. */
static char *
build_summary (void)
{
  GString *summary = g_string_new (NULL);
  int column = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!command_is_internal (&commands[i]))
      column = MAX (column, (int)strlen (commands[i].name) + 1);

  g_string_append (summary, _ ("Show the health of this host's TLS certificates and of the\n"
                               "services that use them, as haled reports it.\n"
                               "\n"
                               "Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *usage = NULL;
      g_auto (GStrv) lines = NULL;

      if (command_is_internal (&commands[i]))
        continue;
      usage = commands[i].arguments
                  ? g_strdup_printf ("%s %s", commands[i].name, _ (commands[i].arguments))
                  : g_strdup (commands[i].name);
      g_string_append_printf (summary, "\n  %s", usage);
      if ((int)g_utf8_strlen (usage, -1) < column)
        g_string_append_printf (summary, "%*s", column - (int)g_utf8_strlen (usage, -1), "");
      else
        g_string_append_printf (summary, "\n  %*s", column, "");

      lines = g_strsplit (_ (commands[i].summary), "\n", -1);
      for (int l = 0; lines[l] != NULL; l++)
        {
          if (l > 0)
            g_string_append_printf (summary, "\n  %*s", column, "");
          g_string_append (summary, lines[l]);
        }
    }
  return g_string_free (summary, FALSE);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *help = NULL;
  g_autofree char *summary = NULL;
  const HalectlCommand *command;
  const char *name;

  setlocale (LC_ALL, "");
  /* HALE_LOCALEDIR: the translations of a build tree, for its tests and
   * for trying a translation before installing it. halectl is a client
   * running as its user, so a variable moving its message catalogs
   * gives nobody anything they did not have. */
  bindtextdomain (GETTEXT_PACKAGE,
                  g_getenv ("HALE_LOCALEDIR") != NULL ? g_getenv ("HALE_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* TRANSLATORS: the usage line after "halectl [OPTION…]". */
  context = g_option_context_new (_ ("[COMMAND]"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  /* A command's own options (record --certificate NAME) are left in argv
   * for the command, which refuses what it does not take. */
  g_option_context_set_ignore_unknown_options (context, TRUE);
  summary = build_summary ();
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (
      context, _ ("Exit status:\n"
                  "  0  the report was read and printed, whatever the health "
                  "it shows\n"
                  "     (scripts: halectl status --json | jq -r .status)\n"
                  "  1  the call failed, or haled's answer could not be read\n"
                  "  2  bad command line\n"
                  "  3  haled is not running on the bus, or there is no bus\n"
                  "  4  not authorised (reload: polkit action org.hale.Hale1.reload;\n"
                  "     record: org.hale.Hale1.report-rotation)\n"
                  "  reload: 0 when every service reloaded and is healthy, 1 otherwise\n"));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      g_printerr (_ ("Try “%s --help” for more information.\n"), g_get_prgname ());
      return HALECTL_EXIT_USAGE;
    }

  if (version)
    {
      g_print ("halectl %s\n", PACKAGE_VERSION);
      return HALECTL_EXIT_OK;
    }

  name = argc > 1 ? argv[1] : commands[0].name;
  command = find_command (name);
  if (command == NULL)
    {
      g_printerr (_ ("Unknown command “%s”\n"), name);
      g_printerr (_ ("Try “%s --help” for more information.\n"), g_get_prgname ());
      return HALECTL_EXIT_USAGE;
    }
  if (command->run == NULL)
    {
      help = g_option_context_get_help (context, TRUE, NULL);
      g_print ("%s", help);
      return HALECTL_EXIT_OK;
    }

  options.color = halectl_want_color ();
  return command->run (&options, MAX (argc - 2, 0), argv + MIN (argc, 2));
}
