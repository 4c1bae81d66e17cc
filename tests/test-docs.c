/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests that the man pages in docs/ say what the programs do: every
 * key the configuration parser accepts is in hale.conf(5) and nothing
 * else is, every halectl command and option is in halectl(1), and the
 * pages render without a warning. A key or command added without its
 * documentation fails here, naming it. */
#include "config.h"

#include "hale-config.h"

#include <string.h>

static char *
source_path (const char *relative)
{
  const char *srcdir = g_getenv ("HALE_TEST_SRCDIR");

  /* HALE_TEST_SRCDIR is tests/; the pages are in docs/. */
  return g_build_filename (srcdir != NULL ? srcdir : ".", "..", relative, NULL);
}

static char *
read_page (const char *name)
{
  g_autofree char *path = source_path (name);
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

/* "\fINAME\fP" -> "NAME", "\-" -> "-", quotes dropped: the words a
 * reader sees. */
static char *
roff_plain (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      if (p[0] == '\\' && p[1] == 'f' && p[2] != '\0')
        {
          p += 2;
          continue;
        }
      if (p[0] == '\\' && p[1] == '-')
        {
          g_string_append_c (out, '-');
          p++;
          continue;
        }
      if (*p == '"')
        continue;
      g_string_append_c (out, *p);
    }
  return g_strstrip (g_string_free (out, FALSE));
}

/* The first argument of a font macro line (".B x", ".BI Key= value"). */
static char *
macro_first_word (const char *line)
{
  g_autofree char *plain = NULL;
  const char *space = strchr (line, ' ');
  char *end;

  if (line[0] != '.' || line[1] != 'B' || space == NULL)
    return NULL;
  plain = roff_plain (space + 1);
  end = strpbrk (plain, " \t");
  if (end != NULL)
    *end = '\0';
  return g_strdup (plain);
}

/* Every ".TP" paragraph's first word in the section called @section
 * (NULL: all of them), with the ".SS" heading it is under. */
typedef void (*TaggedFunc) (const char *heading, const char *word, gpointer user_data);

static void
foreach_tagged (const char *page, const char *section, TaggedFunc func, gpointer user_data)
{
  g_auto (GStrv) lines = g_strsplit (page, "\n", -1);
  g_autofree char *heading = NULL;
  gboolean in_section = section == NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], ".SH "))
        {
          g_autofree char *name = roff_plain (lines[i] + 4);
          in_section = section == NULL || g_str_equal (name, section);
          g_clear_pointer (&heading, g_free);
        }
      else if (g_str_has_prefix (lines[i], ".SS "))
        {
          g_free (heading);
          heading = roff_plain (lines[i] + 4);
        }
      else if (in_section && g_str_equal (lines[i], ".TP") && lines[i + 1] != NULL)
        {
          g_autofree char *word = macro_first_word (lines[i + 1]);
          if (word != NULL)
            func (heading, word, user_data);
        }
    }
}

/* "[Certificate NAME]" + "Path=" -> "Certificate.Path". */
static void
collect_key (const char *heading, const char *word, gpointer user_data)
{
  GHashTable *keys = user_data;
  g_autofree char *group = NULL;
  const char *eq = strchr (word, '=');

  if (heading == NULL || heading[0] != '[' || eq == NULL)
    return;
  group = g_strndup (heading + 1, strcspn (heading + 1, " ]"));
  g_hash_table_add (keys, g_strdup_printf ("%s.%.*s", group, (int)(eq - word), word));
}

/* "a, b" of what @a has and @b has not, sorted; NULL when nothing. */
static char *
difference (GHashTable *a, GHashTable *b)
{
  g_autoptr (GPtrArray) missing = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (b, key))
      g_ptr_array_add (missing, key);
  if (missing->len == 0)
    return NULL;
  g_ptr_array_sort (missing, (GCompareFunc)g_strcmp0);
  g_ptr_array_add (missing, NULL);
  return g_strjoinv (", ", (char **)missing->pdata);
}

static GHashTable *
set_of (char **words)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; words != NULL && words[i] != NULL; i++)
    g_hash_table_add (set, g_strdup (words[i]));
  return set;
}

static void
assert_same (GHashTable *code, const char *code_what, GHashTable *page, const char *page_name)
{
  g_autofree char *undocumented = difference (code, page);
  g_autofree char *stale = difference (page, code);

  if (undocumented != NULL)
    g_test_message ("%s has, and %s does not document: %s", code_what, page_name, undocumented);
  if (stale != NULL)
    g_test_message ("%s documents, and %s does not have: %s", page_name, code_what, stale);
  g_assert_null (undocumented);
  g_assert_null (stale);
}

static void
test_config_keys (void)
{
  g_autofree char *page = read_page ("docs/hale.conf.5");
  g_auto (GStrv) parser_keys = hale_config_list_keys ();
  g_autoptr (GHashTable) parsed = set_of (parser_keys);
  g_autoptr (GHashTable) documented = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  foreach_tagged (page, "GROUPS AND KEYS", collect_key, documented);
  g_assert_cmpuint (g_hash_table_size (parsed), >, 0);
  assert_same (parsed, "the parser (hale_config_list_keys)", documented, "hale.conf(5)");
}

/* The words `halectl __complete KIND` prints. */
static GStrv
halectl_list (const char *kind)
{
  const char *halectl = g_getenv ("HALE_HALECTL");
  const char *argv[] = { halectl, "__complete", kind, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  int status = 0;

  g_assert_nonnull (halectl);
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);
  return g_strsplit_set (g_strstrip (out), "\n", -1);
}

static void
collect_word (const char *heading, const char *word, gpointer user_data)
{
  g_hash_table_add (user_data, g_strdup (word));
}

/* ".BR \-h ", " \-\-help": every --long option of the paragraph tag. */
static void
collect_options (const char *page, GHashTable *options)
{
  g_auto (GStrv) lines = g_strsplit (page, "\n", -1);
  g_autoptr (GRegex) regex = g_regex_new ("--[a-z][a-z-]*", 0, 0, NULL);
  gboolean in_section = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (GMatchInfo) match = NULL;
      g_autofree char *plain = NULL;

      if (g_str_has_prefix (lines[i], ".SH "))
        in_section = g_str_equal (lines[i], ".SH OPTIONS");
      if (!in_section || !g_str_equal (lines[i], ".TP") || lines[i + 1] == NULL)
        continue;
      plain = roff_plain (lines[i + 1]);
      g_regex_match (regex, plain, 0, &match);
      for (; g_match_info_matches (match); g_match_info_next (match, NULL))
        g_hash_table_add (options, g_match_info_fetch (match, 0));
    }
}

static void
test_halectl_commands (void)
{
  g_autofree char *page = read_page ("docs/halectl.1");
  g_auto (GStrv) commands = NULL;
  g_auto (GStrv) options = NULL;
  g_autoptr (GHashTable) table = NULL;
  g_autoptr (GHashTable) option_set = NULL;
  g_autoptr (GHashTable) documented = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) documented_options
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (g_getenv ("HALE_HALECTL") == NULL)
    {
      g_test_skip ("halectl is not built (HALE_HALECTL unset)");
      return;
    }
  commands = halectl_list ("commands");
  options = halectl_list ("options");
  table = set_of (commands);
  option_set = set_of (options);
  g_assert_true (g_hash_table_contains (table, "status"));
  g_assert_true (g_hash_table_contains (option_set, "--user"));

  foreach_tagged (page, "COMMANDS", collect_word, documented);
  assert_same (table, "halectl's command table", documented, "halectl(1)");

  collect_options (page, documented_options);
  assert_same (option_set, "halectl's options", documented_options, "halectl(1)");
}

/* The tool to render a man page with warnings on: groff itself (what
 * man runs), every warning enabled, output thrown away. */
static void
test_render (gconstpointer data)
{
  const char *name = data;
  g_autofree char *path = source_path (name);
  g_autofree char *groff = g_find_program_in_path ("groff");
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;

  if (groff == NULL)
    {
      g_test_skip ("groff is not installed (Debian: groff-base): the page is not rendered");
      return;
    }
  {
    const char *argv[] = { groff, "-man", "-Tutf8", "-ww", "-z", path, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, &err,
                                 &status, &error));
  }
  g_assert_no_error (error);
  g_assert_cmpstr (err, ==, "");
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/docs/hale.conf.5/keys", test_config_keys);
  g_test_add_func ("/docs/halectl.1/commands", test_halectl_commands);
  g_test_add_data_func ("/docs/hale.conf.5/render", "docs/hale.conf.5", test_render);
  g_test_add_data_func ("/docs/haled.8/render", "docs/haled.8", test_render);
  g_test_add_data_func ("/docs/halectl.1/render", "docs/halectl.1", test_render);
  return g_test_run ();
}
