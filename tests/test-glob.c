/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-glob.c: the patterns of Path= and KeyPath=, what they match
 * and what their wildcards took. */
#include "config.h"

#include "hale-glob.h"

#include <gio/gio.h>
#include <string.h>

static HaleGlob *
glob_new (const char *pattern)
{
  g_autoptr (GError) error = NULL;
  HaleGlob *glob = hale_glob_new (pattern, &error);

  g_assert_no_error (error);
  g_assert_nonnull (glob);
  return glob;
}

/* Whether @name matches level @level, and what was taken, ','-joined. */
static char *
match (const HaleGlob *glob, guint level, const char *name)
{
  g_autoptr (GPtrArray) captures = g_ptr_array_new_with_free_func (g_free);

  if (!hale_glob_match_level (glob, level, name, captures))
    return NULL;
  g_ptr_array_add (captures, NULL);
  return g_strjoinv (",", (char **)captures->pdata);
}

#define assert_match(glob, level, name, expected)                                                  \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *got_ = match (glob, level, name);                                             \
    g_assert_cmpstr (got_, ==, expected);                                                          \
  }                                                                                                \
  G_STMT_END

static void
test_levels (void)
{
  g_autoptr (HaleGlob) le = glob_new ("/etc/letsencrypt/live/*/fullchain.pem");
  g_autoptr (HaleGlob) top = glob_new ("/*.pem");
  g_autoptr (HaleGlob) deep = glob_new ("/srv/./sites/*/../*/tls/cert-?.pem");

  g_assert_true (hale_glob_has_wildcards ("/etc/*/x"));
  g_assert_true (hale_glob_has_wildcards ("/etc/[ab]"));
  g_assert_false (hale_glob_has_wildcards ("/etc/nginx/web.pem"));
  g_assert_false (hale_glob_has_wildcards (NULL));

  g_assert_cmpstr (hale_glob_get_root (le), ==, "/etc/letsencrypt/live");
  g_assert_cmpuint (hale_glob_get_n_levels (le), ==, 2);
  g_assert_null (hale_glob_get_literal (le, 0));
  g_assert_cmpstr (hale_glob_get_literal (le, 1), ==, "fullchain.pem");
  g_assert_cmpuint (hale_glob_count_wildcards (le), ==, 1);

  g_assert_cmpstr (hale_glob_get_root (top), ==, "/");
  g_assert_cmpuint (hale_glob_get_n_levels (top), ==, 1);

  /* Canonical first: "." and ".." are gone before any matching. */
  g_assert_cmpstr (hale_glob_get_pattern (deep), ==, "/srv/sites/*/tls/cert-?.pem");
  g_assert_cmpstr (hale_glob_get_root (deep), ==, "/srv/sites");
  g_assert_cmpuint (hale_glob_get_n_levels (deep), ==, 3);
  g_assert_cmpuint (hale_glob_count_wildcards (deep), ==, 2);
}

static void
test_match (void)
{
  g_autoptr (HaleGlob) star = glob_new ("/c/*.pem");
  g_autoptr (HaleGlob) two = glob_new ("/c/*-*");
  g_autoptr (HaleGlob) cls = glob_new ("/c/[a-c]x[!0-9]");
  g_autoptr (HaleGlob) dot = glob_new ("/c/.*");
  g_autoptr (HaleGlob) utf8 = glob_new ("/c/?é*");
  g_autoptr (HaleGlob) bracket = glob_new ("/c/[]x]");

  assert_match (star, 0, "web.pem", "web");
  assert_match (star, 0, "a.b.pem", "a.b");
  assert_match (star, 0, ".pem", NULL); /* hidden: a wildcard does not match the dot */
  assert_match (star, 0, "web.key", NULL);
  assert_match (star, 0, "web.pem.tmp", NULL);
  /* The first star takes the most, the shell's choice too. */
  assert_match (two, 0, "a-b-c", "a-b,c");
  assert_match (two, 0, "-", ",");
  assert_match (cls, 0, "bxy", "b,y");
  assert_match (cls, 0, "dxy", NULL);
  assert_match (cls, 0, "ax1", NULL);
  assert_match (dot, 0, ".hidden", "hidden");
  assert_match (dot, 0, "..", NULL);
  assert_match (dot, 0, ".", NULL);
  assert_match (utf8, 0, "ñé.test", "ñ,.test");
  assert_match (utf8, 0, "\xff\xfe", NULL);
  assert_match (bracket, 0, "]", "]");
  assert_match (bracket, 0, "x", "x");
}

static void
test_substitute (void)
{
  g_autoptr (HaleGlob) path = glob_new ("/srv/*/tls/cert-?.pem");
  g_autoptr (HaleGlob) key = glob_new ("/srv/*/keys/key-?.pem");
  g_autoptr (HaleGlob) top = glob_new ("/*.key");
  const char *captures[] = { "shop", "2", NULL };
  const char *one[] = { "web", NULL };
  g_autofree char *p = hale_glob_substitute (path, captures);
  g_autofree char *k = hale_glob_substitute (key, captures);
  g_autofree char *t = hale_glob_substitute (top, one);

  g_assert_cmpstr (p, ==, "/srv/shop/tls/cert-2.pem");
  g_assert_cmpstr (k, ==, "/srv/shop/keys/key-2.pem");
  g_assert_cmpstr (t, ==, "/web.key");
}

static void
test_refused (void)
{
  const struct
  {
    const char *pattern;
    const char *says;
  } bad[] = {
    { "/etc/**/cert.pem", "** (any depth) is not supported" },
    { "/etc/[ab/cert.pem", "a [ is not closed" },
    { "/etc/[/cert.pem", "a [ is not closed" },
    { "/etc/*a*b*c*d*e", "more than 4 *" },
    { "certs/*.pem", "not an absolute path" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HaleGlob) glob = hale_glob_new (bad[i].pattern, &error);

      g_assert_null (glob);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, bad[i].says));
      g_assert_nonnull (strstr (error->message, bad[i].pattern));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/glob/levels", test_levels);
  g_test_add_func ("/glob/match", test_match);
  g_test_add_func ("/glob/substitute", test_substitute);
  g_test_add_func ("/glob/refused", test_refused);

  return g_test_run ();
}
