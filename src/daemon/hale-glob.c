/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-glob.c: shell patterns in a path, with what each wildcard matched.
 *
 * fnmatch(3) says whether a name matches, not what the wildcards took,
 * and KeyPath= needs exactly that; so the match is our own: a small
 * backtracking matcher over one component (a name is at most 255
 * bytes and a component has at most a few stars, which bounds it).
 */
#include "config.h"

#include "hale-glob.h"

#include <gio/gio.h>
#include <string.h>

typedef enum
{
  TOKEN_LITERAL, /* one character */
  TOKEN_ONE,     /* ? */
  TOKEN_CLASS,   /* [...] */
  TOKEN_STAR,    /* * */
} TokenKind;

typedef struct
{
  TokenKind kind;
  gunichar c;       /* literal */
  const char *set;  /* class: between the brackets (and after ! or ^) */
  gsize set_len;    /* class: its length in bytes */
  gboolean negated; /* class */
} Token;

typedef struct
{
  char *text;     /* the component as written */
  GArray *tokens; /* Token, pointing into text; NULL: no wildcard */
  guint n_wildcards;
} Level;

struct _HaleGlob
{
  char *pattern;
  char *root;
  GArray *levels; /* Level */
  guint n_wildcards;
};

gboolean
hale_glob_has_wildcards (const char *path)
{
  return path != NULL && strpbrk (path, "*?[") != NULL;
}

static void
level_clear (gpointer data)
{
  Level *level = data;

  g_free (level->text);
  g_clear_pointer (&level->tokens, g_array_unref);
}

/* Reads the class that starts at @p (just after its "["); returns the
 * end (just after its "]"), or NULL when it does not close. A "]" right
 * after the opening (or its "!") is a member, as in the shell. */
static const char *
parse_class (const char *p, Token *token)
{
  const char *start;

  token->kind = TOKEN_CLASS;
  token->negated = (*p == '!' || *p == '^');
  if (token->negated)
    p++;
  start = p;
  if (*p == ']')
    p++;
  while (*p != '\0' && *p != ']')
    p = g_utf8_next_char (p);
  if (*p != ']')
    return NULL;
  token->set = start;
  token->set_len = (gsize)(p - start);
  return p + 1;
}

/* The tokens of one component; FALSE with @error on a bad one. */
static gboolean
parse_level (Level *level, const char *pattern, GError **error)
{
  g_autoptr (GArray) tokens = g_array_new (FALSE, TRUE, sizeof (Token));
  guint stars = 0;

  for (const char *p = level->text; *p != '\0';)
    {
      Token token = { 0 };

      if (*p == '*')
        {
          if (p[1] == '*')
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "%s: ** (any depth) is not supported; use one * per directory level",
                           pattern);
              return FALSE;
            }
          token.kind = TOKEN_STAR;
          stars++;
          p++;
        }
      else if (*p == '?')
        {
          token.kind = TOKEN_ONE;
          p++;
        }
      else if (*p == '[')
        {
          p = parse_class (p + 1, &token);
          if (p == NULL || token.set_len == 0)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "%s: a [ is not closed by a ] in the same directory name (write [[] "
                           "for a bracket)",
                           pattern);
              return FALSE;
            }
        }
      else
        {
          token.kind = TOKEN_LITERAL;
          token.c = g_utf8_get_char (p);
          p = g_utf8_next_char (p);
        }
      g_array_append_val (tokens, token);
    }
  if (stars > HALE_GLOB_MAX_STARS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: more than %u * in one directory name", pattern, HALE_GLOB_MAX_STARS);
      return FALSE;
    }
  for (guint i = 0; i < tokens->len; i++)
    if (g_array_index (tokens, Token, i).kind != TOKEN_LITERAL)
      level->n_wildcards++;
  if (level->n_wildcards > 0)
    level->tokens = g_steal_pointer (&tokens);
  return TRUE;
}

HaleGlob *
hale_glob_new (const char *pattern, GError **error)
{
  g_autoptr (HaleGlob) glob = g_new0 (HaleGlob, 1);
  g_auto (GStrv) parts = NULL;
  g_autoptr (GString) root = g_string_new ("/");
  gboolean in_root = TRUE;

  g_return_val_if_fail (pattern != NULL, NULL);

  if (!g_path_is_absolute (pattern))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: not an absolute path",
                   pattern);
      return NULL;
    }
  glob->pattern = g_canonicalize_filename (pattern, "/");
  glob->levels = g_array_new (FALSE, TRUE, sizeof (Level));
  g_array_set_clear_func (glob->levels, level_clear);

  parts = g_strsplit (glob->pattern + 1, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      Level level = { .text = g_strdup (parts[i]) };

      if (!parse_level (&level, glob->pattern, error))
        {
          level_clear (&level);
          return NULL;
        }
      /* The last component stays a level even without a wildcard: it is
       * the file. */
      if (in_root && level.tokens == NULL && parts[i + 1] != NULL)
        {
          if (root->len > 1)
            g_string_append_c (root, '/');
          g_string_append (root, level.text);
          level_clear (&level);
          continue;
        }
      in_root = FALSE;
      glob->n_wildcards += level.n_wildcards;
      g_array_append_val (glob->levels, level);
    }
  glob->root = g_string_free (g_steal_pointer (&root), FALSE);
  return g_steal_pointer (&glob);
}

void
hale_glob_free (HaleGlob *glob)
{
  if (glob == NULL)
    return;
  g_free (glob->pattern);
  g_free (glob->root);
  g_clear_pointer (&glob->levels, g_array_unref);
  g_free (glob);
}

const char *
hale_glob_get_pattern (const HaleGlob *glob)
{
  return glob->pattern;
}

guint
hale_glob_count_wildcards (const HaleGlob *glob)
{
  return glob->n_wildcards;
}

const char *
hale_glob_get_root (const HaleGlob *glob)
{
  return glob->root;
}

guint
hale_glob_get_n_levels (const HaleGlob *glob)
{
  return glob->levels->len;
}

const char *
hale_glob_get_literal (const HaleGlob *glob, guint level)
{
  const Level *l = &g_array_index (glob->levels, Level, level);
  return l->tokens == NULL ? l->text : NULL;
}

static gboolean
class_matches (const Token *token, gunichar c)
{
  const char *p = token->set, *end = token->set + token->set_len;
  gboolean found = FALSE;

  while (p < end && !found)
    {
      gunichar lo = g_utf8_get_char (p);
      const char *next = g_utf8_next_char (p);

      if (next + 1 < end && *next == '-')
        {
          gunichar hi = g_utf8_get_char (next + 1);
          found = c >= lo && c <= hi;
          p = g_utf8_next_char (next + 1);
        }
      else
        {
          found = c == lo;
          p = next;
        }
    }
  return found != token->negated;
}

/* Matches tokens[@t..] against @s; on success the spans the wildcards
 * took are in @starts/@ends (one slot per wildcard, from @w on). */
static gboolean
match_from (const GArray *tokens, guint t, const char *s, guint w, const char **starts,
            const char **ends)
{
  const Token *token;

  if (t == tokens->len)
    return *s == '\0';
  token = &g_array_index (tokens, Token, t);
  switch (token->kind)
    {
      case TOKEN_LITERAL:
        return *s != '\0' && g_utf8_get_char (s) == token->c
               && match_from (tokens, t + 1, g_utf8_next_char (s), w, starts, ends);
      case TOKEN_ONE:
      case TOKEN_CLASS:
        if (*s == '\0'
            || (token->kind == TOKEN_CLASS && !class_matches (token, g_utf8_get_char (s))))
          return FALSE;
        starts[w] = s;
        ends[w] = g_utf8_next_char (s);
        return match_from (tokens, t + 1, ends[w], w + 1, starts, ends);
      case TOKEN_STAR:
        {
          /* As long as it can be: the first star takes the most. */
          const char *end = s + strlen (s);
          for (;;)
            {
              starts[w] = s;
              ends[w] = end;
              if (match_from (tokens, t + 1, end, w + 1, starts, ends))
                return TRUE;
              if (end == s)
                return FALSE;
              end = g_utf8_prev_char (end);
            }
        }
    }
  g_assert_not_reached ();
}

gboolean
hale_glob_match_level (const HaleGlob *glob, guint level, const char *name, GPtrArray *captures)
{
  const Level *l = &g_array_index (glob->levels, Level, level);
  g_autofree const char **starts = NULL;
  g_autofree const char **ends = NULL;

  if (l->tokens == NULL)
    return g_str_equal (l->text, name);
  if (g_str_equal (name, ".") || g_str_equal (name, "..") || !g_utf8_validate (name, -1, NULL))
    return FALSE;
  /* A hidden name is matched only by a pattern that says the dot. */
  if (name[0] == '.' && g_array_index (l->tokens, Token, 0).kind != TOKEN_LITERAL)
    return FALSE;

  starts = g_new0 (const char *, l->n_wildcards);
  ends = g_new0 (const char *, l->n_wildcards);
  if (!match_from (l->tokens, 0, name, 0, starts, ends))
    return FALSE;
  for (guint i = 0; i < l->n_wildcards; i++)
    g_ptr_array_add (captures, g_strndup (starts[i], (gsize)(ends[i] - starts[i])));
  return TRUE;
}

char *
hale_glob_substitute (const HaleGlob *glob, const char *const *captures)
{
  GString *out = g_string_new (glob->root);
  guint w = 0;

  for (guint i = 0; i < glob->levels->len; i++)
    {
      const Level *l = &g_array_index (glob->levels, Level, i);

      if (out->len > 1)
        g_string_append_c (out, '/');
      if (l->tokens == NULL)
        {
          g_string_append (out, l->text);
          continue;
        }
      for (guint t = 0; t < l->tokens->len; t++)
        {
          const Token *token = &g_array_index (l->tokens, Token, t);
          if (token->kind == TOKEN_LITERAL)
            g_string_append_unichar (out, token->c);
          else
            g_string_append (out, captures[w++]);
        }
    }
  return g_string_free (out, FALSE);
}
