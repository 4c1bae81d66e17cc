/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for the data files an operator's tools read: the journal catalog
 * (journalctl -x) and the polkit actions. */
#include "config.h"

#include "hale-authority.h"
#include "hale-names.h"
#include "hale-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

static char *
source_path (const char *relative)
{
  const char *srcdir = g_getenv ("HALE_TEST_SRCDIR");

  g_assert_nonnull (srcdir); /* meson sets it to tests/ */
  return g_build_filename (srcdir, "..", relative, NULL);
}

/* Every MESSAGE_ID hale-names.h defines, read from the header itself so
 * a new event without a catalog entry fails here. */
static GPtrArray *
message_ids (void)
{
  g_autofree char *path = source_path ("src/common/hale-names.h");
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GRegex) re = NULL;
  g_autoptr (GMatchInfo) match = NULL;
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  re = g_regex_new ("^#define HALE_MESSAGE_ID_\\w+ \"([0-9a-f]{32})\"", G_REGEX_MULTILINE, 0,
                    &error);
  g_assert_no_error (error);
  g_regex_match (re, contents, 0, &match);
  while (g_match_info_matches (match))
    {
      g_ptr_array_add (ids, g_match_info_fetch (match, 1));
      g_match_info_next (match, NULL);
    }
  return ids;
}

static char *
run (const char *const *argv, int *status)
{
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  g_autofree char *err = NULL;

  p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                         &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (err != NULL && err[0] != '\0')
    g_test_message ("%s: %s", argv[0], err);
  *status = g_subprocess_get_exit_status (p);
  return out;
}

static void
test_catalog (void)
{
  g_autoptr (GPtrArray) ids = message_ids ();
  g_autofree char *catalog_path = source_path ("data/hale.catalog");
  g_autofree char *catalog = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *installed = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *journalctl = g_find_program_in_path ("journalctl");
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  int status;

  /* The eleven events of issue 3 at least, no id used twice. */
  g_assert_cmpuint (ids->len, >=, 11);
  for (guint i = 0; i < ids->len; i++)
    g_assert_true (g_hash_table_add (seen, g_ptr_array_index (ids, i)));

  g_assert_true (g_file_get_contents (catalog_path, &catalog, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autofree char *header = g_strdup_printf ("\n-- %s\n", (char *)g_ptr_array_index (ids, i));
      const char *entry = strstr (catalog, header);

      /* Exactly one entry, with a subject and the fields journalctl
       * shows. */
      g_assert_nonnull (entry);
      g_assert_null (strstr (entry + 1, header));
      entry += strlen (header);
      g_assert_true (g_str_has_prefix (entry, "Subject: "));
      g_assert_nonnull (strstr (entry, "Defined-By: hale\n"));
    }

  if (journalctl == NULL)
    {
      g_assert_cmpstr (g_getenv ("CI"), !=, "true");
      g_test_skip ("journalctl is not installed: the catalog's syntax is unchecked");
      return;
    }

  /* journalctl reads it into a database the way a package install does,
   * in a root of our own. */
  root = g_dir_make_tmp ("hale-test-catalog-XXXXXX", &error);
  g_assert_no_error (error);
  dir = g_build_filename (root, "usr", "lib", "systemd", "catalog", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  installed = g_build_filename (dir, "hale.catalog", NULL);
  g_assert_true (g_file_set_contents (installed, catalog, -1, &error));
  g_assert_no_error (error);
  {
    g_autofree char *root_arg = g_strdup_printf ("--root=%s", root);
    const char *update[] = { journalctl, root_arg, "--update-catalog", NULL };
    const char *list[] = { journalctl, root_arg, "--list-catalog", NULL };
    g_autofree char *out = run (update, &status);

    g_assert_cmpint (status, ==, 0);
    listing = run (list, &status);
    g_assert_cmpint (status, ==, 0);
  }
  for (guint i = 0; i < ids->len; i++)
    {
      g_autofree char *line = g_strdup_printf ("%s hale: ", (char *)g_ptr_array_index (ids, i));
      g_assert_nonnull (strstr (listing, line));
    }
  hale_test_remove_tree (root);
}

/* The polkit actions: what each needs, read with GMarkup. */
typedef struct
{
  GHashTable *actions; /* id -> GHashTable of element -> text */
  GHashTable *current;
  char *element;
} PolicyParse;

static void
policy_start (GMarkupParseContext *context, const char *element, const char **names,
              const char **values, gpointer user_data, GError **error)
{
  PolicyParse *p = user_data;

  if (g_str_equal (element, "action"))
    {
      const char *id = NULL;

      for (guint i = 0; names[i] != NULL; i++)
        if (g_str_equal (names[i], "id"))
          id = values[i];
      g_assert_nonnull (id);
      p->current = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (p->actions, g_strdup (id), p->current);
    }
  g_free (p->element);
  p->element = g_strdup (element);
}

static void
policy_end (GMarkupParseContext *context, const char *element, gpointer user_data, GError **error)
{
  PolicyParse *p = user_data;

  if (g_str_equal (element, "action"))
    p->current = NULL;
  g_clear_pointer (&p->element, g_free);
}

static void
policy_text (GMarkupParseContext *context, const char *text, gsize len, gpointer user_data,
             GError **error)
{
  PolicyParse *p = user_data;
  g_autofree char *stripped = g_strstrip (g_strndup (text, len));

  if (p->current != NULL && p->element != NULL && stripped[0] != '\0')
    g_hash_table_insert (p->current, g_strdup (p->element), g_steal_pointer (&stripped));
}

static void
test_policy (void)
{
  static const GMarkupParser parser = { policy_start, policy_end, policy_text, NULL, NULL };
  static const char *const actions[]
      = { HALE_ACTION_RELOAD, HALE_ACTION_ACKNOWLEDGE, HALE_ACTION_MANAGE_CATEGORIES,
          HALE_ACTION_REPORT_ROTATION, HALE_ACTION_REPORT_CHECK };
  g_autofree char *path = source_path ("data/org.hale.Hale1.policy");
  g_autofree char *contents = NULL;
  g_autofree char *xmllint = g_find_program_in_path ("xmllint");
  g_autoptr (GError) error = NULL;
  g_autoptr (GMarkupParseContext) context = NULL;
  PolicyParse p = { 0 };

  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  p.actions
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_unref);
  context = g_markup_parse_context_new (&parser, G_MARKUP_TREAT_CDATA_AS_TEXT, &p, NULL);
  g_assert_true (g_markup_parse_context_parse (context, contents, -1, &error));
  g_assert_no_error (error);
  g_assert_true (g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (g_hash_table_size (p.actions), ==, G_N_ELEMENTS (actions));
  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      GHashTable *action = g_hash_table_lookup (p.actions, actions[i]);

      g_test_message ("action %s", actions[i]);
      g_assert_nonnull (action);
      g_assert_nonnull (g_hash_table_lookup (action, "description"));
      g_assert_true (
          g_str_has_prefix (g_hash_table_lookup (action, "message"), "Authentication is required"));
      /* Nobody but an administrator, and only from an active session. */
      g_assert_cmpstr (g_hash_table_lookup (action, "allow_any"), ==, "no");
      g_assert_cmpstr (g_hash_table_lookup (action, "allow_inactive"), ==, "no");
      g_assert_cmpstr (g_hash_table_lookup (action, "allow_active"), ==, "auth_admin_keep");
    }
  g_hash_table_unref (p.actions);
  g_free (p.element);

  /* polkitd ships the DTD; tools/install-deps installs it. Outside CI
   * a machine without it still gets the checks above. */
  if (xmllint == NULL
      || !g_file_test ("/usr/share/polkit-1/policyconfig-1.dtd", G_FILE_TEST_EXISTS))
    {
      if (g_strcmp0 (g_getenv ("CI"), "true") == 0)
        g_error ("xmllint (libxml2-utils) or polkit's DTD (polkitd) is missing");
      g_test_message ("not validated against polkit's DTD: xmllint or polkitd missing");
    }
  else
    {
      const char *argv[] = { xmllint,      "--noout",
                             "--dtdvalid", "/usr/share/polkit-1/policyconfig-1.dtd",
                             path,         NULL };
      g_autofree char *out = NULL;
      int status;

      out = run (argv, &status);
      g_assert_cmpint (status, ==, 0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/catalog", test_catalog);
  g_test_add_func ("/data/policy", test_policy);
  return g_test_run ();
}
