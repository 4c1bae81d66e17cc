/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-check-answer.c: what a service's health answer says, in the
 * formats hale reads (hale-check-answer.h). The body is checked to be
 * UTF-8 and not nested deeper than MAX_DEPTH before json-glib (a
 * recursive parser) sees it, strings taken from it are cut to
 * HALE_CHECK_TEXT_MAX bytes, and at most MAX_SUBCHECKS sub-checks are
 * listed (all are judged). A broken answer is a failed check that says
 * what was wrong. */
#include "config.h"

#include "hale-check-answer.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* json-glib parses recursively: deeper input is refused before it. */
#define MAX_DEPTH 32
#define MAX_SUBCHECKS 64
/* A seed check's "data" is kept in the details when its compact JSON is
 * at most DATA_MAX bytes, while all data kept of one answer stays within
 * DATA_TOTAL_MAX: enough for counters and timestamps, not a log. */
#define DATA_MAX 1024
#define DATA_MAX_TEXT "1 KiB"
#define DATA_TOTAL_MAX (16 * 1024)
#define DATA_TOTAL_MAX_TEXT "16 KiB"

/* ---- text from answers -------------------------------------------------- */

/* One line of valid UTF-8, at most @max bytes (cut at a character). */
char *
hale_check_text_clean (const char *text, gsize max)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *s = g_string_new (NULL);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar ch = g_utf8_get_char (p);
      const char *next = g_utf8_next_char (p);

      if (s->len + (next - p) > max)
        {
          g_string_append (s, "…");
          break;
        }
      if (g_unichar_iscntrl (ch))
        g_string_append_c (s, ' ');
      else
        g_string_append_len (s, p, next - p);
    }
  return g_string_free (s, FALSE);
}

static char *
clean_text (const char *text)
{
  return hale_check_text_clean (text, HALE_CHECK_TEXT_MAX);
}

/* ---- answers: JSON, defensively ----------------------------------------- */

/* What an answer said, by whichever format read it. */
typedef struct
{
  gboolean ok;
  guint severity; /* of the failure */
  char *message;  /* NULL: made from the sub-checks */
  char *problem;  /* the answer could not be read: why */
  GVariantBuilder checks;
  guint n_checks;
  guint n_failing;
  guint worst; /* lowest severity among failing sub-checks; 0: none */
  GString *failing;
  gsize data_kept;     /* bytes of sub-checks' data in the details */
  GVariantDict answer; /* what else the format says, for the details */
} Verdict;

static void
verdict_init (Verdict *v)
{
  memset (v, 0, sizeof *v);
  v->ok = TRUE;
  v->severity = 1;
  g_variant_dict_init (&v->answer, NULL);
  v->failing = g_string_new (NULL);
  g_variant_builder_init (&v->checks, G_VARIANT_TYPE ("aa{sv}"));
}

static void
verdict_clear (Verdict *v)
{
  g_free (v->message);
  g_free (v->problem);
  g_variant_dict_clear (&v->answer);
  g_string_free (v->failing, TRUE);
  g_variant_builder_clear (&v->checks);
}

G_GNUC_PRINTF (2, 3)
static gboolean
verdict_problem (Verdict *v, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_free (v->problem);
  v->problem = g_strdup_vprintf (format, args);
  va_end (args);
  return FALSE;
}

static void
add_data (Verdict *v, GVariantBuilder *b, JsonNode *data);

/* A sub-check. @data: what it reported beside its verdict, or NULL. */
static void
verdict_add (Verdict *v, const char *name, gboolean ok, guint severity, const char *output,
             JsonNode *data)
{
  g_autofree char *clean_name = clean_text (name != NULL ? name : "");

  v->n_checks++;
  if (!ok)
    {
      v->n_failing++;
      if (v->worst == 0 || severity < v->worst)
        v->worst = severity;
      if (v->n_failing <= 3)
        g_string_append_printf (v->failing, "%s%s", v->failing->len > 0 ? ", " : "", clean_name);
    }
  if (v->n_checks <= MAX_SUBCHECKS)
    {
      GVariantBuilder b;
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (clean_name));
      g_variant_builder_add (&b, "{sv}", "ok", g_variant_new_boolean (ok));
      g_variant_builder_add (&b, "{sv}", "severity", g_variant_new_uint32 (severity));
      if (output != NULL)
        {
          g_autofree char *clean = clean_text (output);
          g_variant_builder_add (&b, "{sv}", "output", g_variant_new_string (clean));
        }
      if (data != NULL)
        add_data (v, &b, data);
      g_variant_builder_add_value (&v->checks, g_variant_builder_end (&b));
    }
}

/* "a number", "an array", ...: for messages about wrong types. */
static const char *
node_kind (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
      case JSON_NODE_OBJECT:
        return "an object";
      case JSON_NODE_ARRAY:
        return "an array";
      case JSON_NODE_NULL:
        return "null";
      case JSON_NODE_VALUE:
        switch (json_node_get_value_type (node))
          {
            case G_TYPE_BOOLEAN:
              return "a boolean";
            case G_TYPE_STRING:
              return "a string";
            default:
              return "a number";
          }
    }
  return "something else";
}

static gboolean
node_is (JsonNode *node, GType type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static gboolean
node_is_number (JsonNode *node)
{
  return node_is (node, G_TYPE_INT64) || node_is (node, G_TYPE_DOUBLE);
}

static double
node_number (JsonNode *node)
{
  return node_is (node, G_TYPE_INT64) ? (double)json_node_get_int (node)
                                      : json_node_get_double (node);
}

/* A string member for display, or NULL (absent or not a string: display
 * fields are taken when they can be, never judged). */
static const char *
member_text (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  return node_is (n, G_TYPE_STRING) ? json_node_get_string (n) : NULL;
}

/* Before json-glib: valid UTF-8, and not nested deeper than MAX_DEPTH
 * (a recursive parser would run out of stack on a megabyte of '['). */
static char *
prescan (const char *data, gsize len)
{
  const char *end = NULL;
  guint depth = 0;
  gboolean in_string = FALSE;

  if (memchr (data, '\0', len) != NULL)
    return g_strdup ("not JSON: the answer holds a NUL byte");
  if (!g_utf8_validate_len (data, len, &end))
    return g_strdup_printf ("not JSON: invalid UTF-8 at byte %" G_GSIZE_FORMAT,
                            (gsize)(end - data));
  for (gsize i = 0; i < len; i++)
    {
      char ch = data[i];
      if (in_string)
        {
          if (ch == '\\')
            i++;
          else if (ch == '"')
            in_string = FALSE;
        }
      else if (ch == '"')
        in_string = TRUE;
      else if (ch == '{' || ch == '[')
        {
          if (++depth > MAX_DEPTH)
            return g_strdup_printf ("not JSON hale reads: nested deeper than %d levels", MAX_DEPTH);
        }
      else if ((ch == '}' || ch == ']') && depth > 0)
        depth--;
    }
  return NULL;
}

static JsonObject *
parse_object (const char *data, gsize len, JsonParser *parser, char **problem)
{
  g_autoptr (GError) error = NULL;
  JsonNode *root;

  if (len == 0)
    {
      *problem = g_strdup ("not JSON: the answer is empty");
      return NULL;
    }
  *problem = prescan (data, len);
  if (*problem != NULL)
    return NULL;
  if (!json_parser_load_from_data (parser, data, (gssize)len, &error))
    {
      g_autofree char *why = clean_text (error->message);
      *problem = g_strdup_printf ("not JSON: %s", why);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      *problem = g_strdup ("not JSON: the answer is empty");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      *problem = g_strdup_printf ("not a health report: the answer is %s, not an object",
                                  node_kind (root));
      return NULL;
    }
  return json_node_get_object (root);
}

HaleCheckWord
hale_check_word_parse (const char *text)
{
  static const struct
  {
    const char *word;
    HaleCheckWord value;
  } table[] = {
    { "pass", HALE_CHECK_WORD_PASS },      { "passed", HALE_CHECK_WORD_PASS },
    { "ok", HALE_CHECK_WORD_PASS },        { "up", HALE_CHECK_WORD_PASS },
    { "healthy", HALE_CHECK_WORD_PASS },   { "warn", HALE_CHECK_WORD_WARN },
    { "warning", HALE_CHECK_WORD_WARN },   { "degraded", HALE_CHECK_WORD_WARN },
    { "fail", HALE_CHECK_WORD_FAIL },      { "failed", HALE_CHECK_WORD_FAIL },
    { "down", HALE_CHECK_WORD_FAIL },      { "error", HALE_CHECK_WORD_FAIL },
    { "unhealthy", HALE_CHECK_WORD_FAIL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_ascii_strcasecmp (text, table[i].word) == 0)
      return table[i].value;
  return HALE_CHECK_WORD_UNKNOWN;
}

/* FT __health: {"schemaVersion": 1, "name", "ok", "checks": [{"name",
 * "ok", "severity": 1-3, "technicalSummary", "checkOutput", ...}]}. The
 * service is ok when every check is; the worst (lowest) severity of a
 * failing check decides: 1 critical, 2 and 3 warning. */
static gboolean
read_ft (JsonObject *o, Verdict *v)
{
  JsonNode *checks = json_object_get_member (o, "checks");
  JsonNode *top_ok = json_object_get_member (o, "ok");
  JsonArray *array;
  guint n;

  if (checks == NULL)
    return verdict_problem (v, "ft: no \"checks\" array");
  if (!JSON_NODE_HOLDS_ARRAY (checks))
    return verdict_problem (v, "ft: checks is %s, not an array", node_kind (checks));
  if (top_ok != NULL && !node_is (top_ok, G_TYPE_BOOLEAN))
    return verdict_problem (v, "ft: ok is %s, not a boolean", node_kind (top_ok));

  array = json_node_get_array (checks);
  n = json_array_get_length (array);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      JsonObject *c;
      JsonNode *ok, *sev;
      guint severity = 1;
      const char *name, *output;
      g_autofree char *fallback = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (item))
        return verdict_problem (v, "ft: checks[%u] is %s, not an object", i, node_kind (item));
      c = json_node_get_object (item);
      ok = json_object_get_member (c, "ok");
      if (ok == NULL)
        return verdict_problem (v, "ft: checks[%u] has no \"ok\"", i);
      if (!node_is (ok, G_TYPE_BOOLEAN))
        return verdict_problem (v, "ft: checks[%u].ok is %s, not a boolean", i, node_kind (ok));
      sev = json_object_get_member (c, "severity");
      if (sev != NULL)
        {
          if (!node_is (sev, G_TYPE_INT64) || json_node_get_int (sev) < 1
              || json_node_get_int (sev) > 3)
            return verdict_problem (v, "ft: checks[%u].severity is not 1, 2 or 3", i);
          severity = (guint)json_node_get_int (sev);
        }
      name = member_text (c, "name");
      if (name == NULL)
        name = fallback = g_strdup_printf ("checks[%u]", i);
      output = member_text (c, "checkOutput");
      if (output == NULL)
        output = member_text (c, "technicalSummary");
      verdict_add (v, name, json_node_get_boolean (ok), severity, output, NULL);
    }

  if (v->n_failing > 0)
    {
      v->ok = FALSE;
      v->severity = v->worst == 1 ? 1 : 2;
    }
  else if (top_ok != NULL && !json_node_get_boolean (top_ok))
    {
      v->ok = FALSE;
      v->severity = 1;
      v->message = g_strdup ("the answer says ok: false, though no check fails");
    }
  return TRUE;
}

/* A status member as a word, for health+json and seed. */
static gboolean
read_word (JsonObject *o, const char *member, const char *format, Verdict *v, HaleCheckWord *out)
{
  JsonNode *n = json_object_get_member (o, member);
  g_autofree char *text = NULL;

  if (n == NULL)
    return verdict_problem (v, "%s: no \"%s\"", format, member);
  if (!node_is (n, G_TYPE_STRING))
    return verdict_problem (v, "%s: %s is %s", format, member, node_kind (n));
  *out = hale_check_word_parse (json_node_get_string (n));
  if (*out == HALE_CHECK_WORD_UNKNOWN)
    {
      text = clean_text (json_node_get_string (n));
      return verdict_problem (v, "%s: unknown %s \"%s\"", format, member, text);
    }
  return TRUE;
}

static void
verdict_from_word (Verdict *v, HaleCheckWord word)
{
  v->ok = word == HALE_CHECK_WORD_PASS;
  v->severity = word == HALE_CHECK_WORD_WARN ? 2 : 1;
}

/* application/health+json (draft-inadarei-api-health-check): "status"
 * pass/warn/fail (ok, up, down, error as aliases), "output", and
 * "checks": {"component:measure": [{"status", "output", ...}]}. The
 * top status decides; the checks explain. */
static gboolean
read_health_json (JsonObject *o, Verdict *v)
{
  JsonNode *checks = json_object_get_member (o, "checks");
  HaleCheckWord word;
  const char *output;

  if (!read_word (o, "status", "health+json", v, &word))
    return FALSE;
  if (checks != NULL && !JSON_NODE_HOLDS_OBJECT (checks))
    return verdict_problem (v, "health+json: checks is %s, not an object", node_kind (checks));
  if (checks != NULL)
    {
      JsonObjectIter iter;
      const char *key;
      JsonNode *value;

      json_object_iter_init (&iter, json_node_get_object (checks));
      while (json_object_iter_next (&iter, &key, &value))
        {
          JsonArray *items;
          guint n;

          if (!JSON_NODE_HOLDS_ARRAY (value))
            {
              g_autofree char *k = clean_text (key);
              return verdict_problem (v, "health+json: checks[\"%s\"] is %s, not an array", k,
                                      node_kind (value));
            }
          items = json_node_get_array (value);
          n = json_array_get_length (items);
          for (guint i = 0; i < n; i++)
            {
              JsonNode *item = json_array_get_element (items, i);
              JsonObject *c;
              HaleCheckWord sub = HALE_CHECK_WORD_PASS;
              g_autofree char *name = NULL;
              const char *component;

              if (!JSON_NODE_HOLDS_OBJECT (item))
                {
                  g_autofree char *k = clean_text (key);
                  return verdict_problem (v, "health+json: checks[\"%s\"][%u] is %s, not an object",
                                          k, i, node_kind (item));
                }
              c = json_node_get_object (item);
              if (json_object_has_member (c, "status")
                  && !read_word (c, "status", "health+json", v, &sub))
                {
                  g_autofree char *k = clean_text (key);
                  g_autofree char *inner = g_steal_pointer (&v->problem);
                  return verdict_problem (v, "%s (in checks[\"%s\"][%u])", inner, k, i);
                }
              component = member_text (c, "componentId");
              name = component != NULL && n > 1 ? g_strdup_printf ("%s (%s)", key, component)
                                                : g_strdup (key);
              verdict_add (v, name, sub == HALE_CHECK_WORD_PASS,
                           sub == HALE_CHECK_WORD_WARN ? 2 : 1, member_text (c, "output"), NULL);
            }
        }
    }
  verdict_from_word (v, word);
  output = member_text (o, "output");
  if (!v->ok && output != NULL)
    v->message = clean_text (output);
  return TRUE;
}

/* One entry of a seed report's "checks": an object with "ok", "status"
 * or "health", or a bare boolean or word. */
static gboolean
read_seed_check (Verdict *v, const char *raw_name, JsonNode *node)
{
  /* It goes into the one-line message: as the service wrote it, it may
   * hold newlines. */
  g_autofree char *name = clean_text (raw_name);
  JsonNode *judge = node;
  JsonNode *data = NULL;
  const char *output = NULL;
  guint severity = 0;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *c = json_node_get_object (node);
      JsonNode *sev = json_object_get_member (c, "severity");

      judge = json_object_get_member (c, "ok");
      if (judge == NULL)
        judge = json_object_get_member (c, "status");
      if (judge == NULL)
        judge = json_object_get_member (c, "health");
      if (judge == NULL)
        return verdict_problem (v, "seed: check %s has no ok, status or health", name);
      if (sev != NULL)
        {
          if (!node_is (sev, G_TYPE_INT64) || json_node_get_int (sev) < 1
              || json_node_get_int (sev) > 3)
            return verdict_problem (v, "seed: check %s: severity is not 1, 2 or 3", name);
          severity = (guint)json_node_get_int (sev);
        }
      output = member_text (c, "message");
      if (output == NULL)
        output = member_text (c, "output");
      data = json_object_get_member (c, "data");
    }
  if (node_is (judge, G_TYPE_BOOLEAN))
    {
      verdict_add (v, name, json_node_get_boolean (judge), severity ? severity : 1, output, data);
      return TRUE;
    }
  if (node_is (judge, G_TYPE_STRING))
    {
      HaleCheckWord w = hale_check_word_parse (json_node_get_string (judge));
      if (w == HALE_CHECK_WORD_UNKNOWN)
        {
          g_autofree char *text = clean_text (json_node_get_string (judge));
          return verdict_problem (v, "seed: check %s: unknown status \"%s\"", name, text);
        }
      verdict_add (v, name, w == HALE_CHECK_WORD_PASS,
                   severity                    ? severity
                   : w == HALE_CHECK_WORD_WARN ? 2
                                               : 1,
                   output, data);
      return TRUE;
    }
  return verdict_problem (v, "seed: check %s is judged by %s", name, node_kind (judge));
}

/* The report's "state": {"name", "duration", "blockers": [...]}, what
 * the agent is doing and what holds it up. (A bare name is read too.) */
static gboolean
read_seed_state (JsonNode *state, Verdict *v, GString *blocked)
{
  JsonObject *o;
  JsonNode *duration, *blockers;
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_auto (GStrv) list = NULL;
  const char *name;

  if (node_is (state, G_TYPE_STRING))
    {
      g_autofree char *clean = clean_text (json_node_get_string (state));
      g_variant_dict_insert (&v->answer, "answer_state", "s", clean);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (state))
    return verdict_problem (v, "seed: state is %s, not an object", node_kind (state));
  o = json_node_get_object (state);
  name = member_text (o, "name");
  if (name != NULL)
    {
      g_autofree char *clean = clean_text (name);
      g_variant_dict_insert (&v->answer, "answer_state", "s", clean);
    }
  duration = json_object_get_member (o, "duration");
  if (node_is (duration, G_TYPE_STRING))
    {
      g_autofree char *clean = clean_text (json_node_get_string (duration));
      g_variant_dict_insert (&v->answer, "answer_state_duration", "s", clean);
    }
  else if (node_is_number (duration) && node_number (duration) >= 0)
    g_variant_dict_insert (&v->answer, "answer_state_seconds", "d", node_number (duration));

  blockers = json_object_get_member (o, "blockers");
  if (blockers != NULL && !JSON_NODE_HOLDS_NULL (blockers))
    {
      JsonArray *array;
      guint n;

      if (!JSON_NODE_HOLDS_ARRAY (blockers))
        return verdict_problem (v, "seed: state.blockers is %s, not an array",
                                node_kind (blockers));
      array = json_node_get_array (blockers);
      n = MIN (json_array_get_length (array), MAX_SUBCHECKS);
      for (guint i = 0; i < n; i++)
        {
          JsonNode *item = json_array_get_element (array, i);
          const char *text = node_is (item, G_TYPE_STRING) ? json_node_get_string (item)
                             : JSON_NODE_HOLDS_OBJECT (item)
                                 ? member_text (json_node_get_object (item), "name")
                                 : NULL;
          g_autofree char *clean = text != NULL ? clean_text (text) : NULL;

          if (clean == NULL)
            continue;
          g_string_append_printf (blocked, "%s%s", blocked->len > 0 ? ", " : "", clean);
          g_strv_builder_add (names, clean);
        }
    }
  list = g_strv_builder_end (names);
  g_variant_dict_insert (&v->answer, "answer_state_blockers", "^as", list);
  return TRUE;
}

/* The rotation agent's report (Format=seed, docs/checks.md):
 * {"health": "passed"|"warn"|"fail", "qos": 0..1 or null, "state":
 * {"name", "duration", "blockers"}, "checks": [{"name", "status", "data",
 * ...}] or {...}}. "health" decides; a failing report names its
 * blockers. */
static gboolean
read_seed (JsonObject *o, Verdict *v)
{
  JsonNode *qos = json_object_get_member (o, "qos");
  JsonNode *state = json_object_get_member (o, "state");
  JsonNode *checks = json_object_get_member (o, "checks");
  g_autoptr (GString) blocked = g_string_new (NULL);
  HaleCheckWord word;

  if (!read_word (o, "health", "seed", v, &word))
    return FALSE;
  /* null: the agent has no window of runs yet. */
  if (qos != NULL && !JSON_NODE_HOLDS_NULL (qos))
    {
      if (!node_is_number (qos))
        return verdict_problem (v, "seed: qos is %s, not a number or null", node_kind (qos));
      if (!(node_number (qos) >= 0.0 && node_number (qos) <= 1.0))
        return verdict_problem (v, "seed: qos is %g, not between 0 and 1", node_number (qos));
      g_variant_dict_insert (&v->answer, "answer_qos", "d", node_number (qos));
    }
  if (state != NULL && !JSON_NODE_HOLDS_NULL (state) && !read_seed_state (state, v, blocked))
    return FALSE;
  if (checks != NULL && JSON_NODE_HOLDS_ARRAY (checks))
    {
      JsonArray *array = json_node_get_array (checks);
      guint n = json_array_get_length (array);
      for (guint i = 0; i < n; i++)
        {
          JsonNode *item = json_array_get_element (array, i);
          const char *name = NULL;
          g_autofree char *fallback = NULL;

          if (JSON_NODE_HOLDS_OBJECT (item))
            name = member_text (json_node_get_object (item), "name");
          if (name == NULL)
            name = fallback = g_strdup_printf ("checks[%u]", i);
          if (!JSON_NODE_HOLDS_OBJECT (item))
            return verdict_problem (v, "seed: checks[%u] is %s, not an object", i,
                                    node_kind (item));
          if (!read_seed_check (v, name, item))
            return FALSE;
        }
    }
  else if (checks != NULL && JSON_NODE_HOLDS_OBJECT (checks))
    {
      JsonObjectIter iter;
      const char *key;
      JsonNode *value;

      json_object_iter_init (&iter, json_node_get_object (checks));
      while (json_object_iter_next (&iter, &key, &value))
        {
          g_autofree char *name = clean_text (key);
          if (!read_seed_check (v, name, value))
            return FALSE;
        }
    }
  else if (checks != NULL)
    return verdict_problem (v, "seed: checks is %s, not an array or object", node_kind (checks));

  verdict_from_word (v, word);
  if (!v->ok && blocked->len > 0)
    {
      const char *name = NULL;

      if (g_variant_dict_lookup (&v->answer, "answer_state", "&s", &name))
        v->message = g_strdup_printf ("state %s; blockers: %s", name, blocked->str);
      else
        v->message = g_strdup_printf ("blockers: %s", blocked->str);
    }
  return TRUE;
}

/* The parser passed the bytes as UTF-8, but a \u escape may still
 * decode to a lone surrogate: GVariant takes valid UTF-8 only. */
static GVariant *
utf8_string (const char *text)
{
  g_autofree char *valid = NULL;

  if (g_utf8_validate (text, -1, NULL))
    return g_variant_new_string (text);
  valid = g_utf8_make_valid (text, -1);
  return g_variant_new_string (valid);
}

/* JSON as GVariant for the details (a{sv} objects, av arrays). D-Bus
 * has no null: null members and elements are left out. */
static GVariant *
json_to_variant (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
      case JSON_NODE_OBJECT:
        {
          GVariantBuilder b;
          JsonObjectIter iter;
          const char *key;
          JsonNode *value;

          g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
          json_object_iter_init (&iter, json_node_get_object (node));
          while (json_object_iter_next (&iter, &key, &value))
            if (!JSON_NODE_HOLDS_NULL (value))
              g_variant_builder_add (&b, "{@sv}", utf8_string (key), json_to_variant (value));
          return g_variant_builder_end (&b);
        }
      case JSON_NODE_ARRAY:
        {
          GVariantBuilder b;
          JsonArray *array = json_node_get_array (node);

          g_variant_builder_init (&b, G_VARIANT_TYPE ("av"));
          for (guint i = 0; i < json_array_get_length (array); i++)
            {
              JsonNode *item = json_array_get_element (array, i);
              if (!JSON_NODE_HOLDS_NULL (item))
                g_variant_builder_add (&b, "v", json_to_variant (item));
            }
          return g_variant_builder_end (&b);
        }
      case JSON_NODE_VALUE:
        if (node_is (node, G_TYPE_BOOLEAN))
          return g_variant_new_boolean (json_node_get_boolean (node));
        if (node_is (node, G_TYPE_INT64))
          return g_variant_new_int64 (json_node_get_int (node));
        if (node_is (node, G_TYPE_STRING))
          return utf8_string (json_node_get_string (node));
        return g_variant_new_double (json_node_get_double (node));
      case JSON_NODE_NULL:
        break;
    }
  return g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0);
}

/* A sub-check's data, kept within DATA_MAX and DATA_TOTAL_MAX, or a note
 * that says why it was not. */
static void
add_data (Verdict *v, GVariantBuilder *b, JsonNode *data)
{
  g_autofree char *text = NULL;
  gsize len;

  if (JSON_NODE_HOLDS_NULL (data))
    return;
  text = json_to_string (data, FALSE);
  len = strlen (text);
  if (len > DATA_MAX || v->data_kept + len > DATA_TOTAL_MAX)
    {
      g_autofree char *note
          = len > DATA_MAX
                ? g_strdup_printf ("%" G_GSIZE_FORMAT " bytes, more than " DATA_MAX_TEXT, len)
                : g_strdup_printf ("%" G_GSIZE_FORMAT " bytes, more than the " DATA_TOTAL_MAX_TEXT
                                   " kept of one answer",
                                   len);
      g_variant_builder_add (b, "{sv}", "data_omitted", g_variant_new_string (note));
      return;
    }
  v->data_kept += len;
  g_variant_builder_add (b, "{sv}", "data", json_to_variant (data));
}

/* Format=auto on a JSON object: by its shape. */
static HaleCheckFormat
guess_format (JsonObject *o)
{
  JsonNode *checks = json_object_get_member (o, "checks");

  if (json_object_has_member (o, "health"))
    return HALE_CHECK_FORMAT_SEED;
  if (json_object_has_member (o, "schemaVersion") || json_object_has_member (o, "ok")
      || (checks != NULL && JSON_NODE_HOLDS_ARRAY (checks)))
    return HALE_CHECK_FORMAT_FT;
  if (json_object_has_member (o, "status"))
    return HALE_CHECK_FORMAT_HEALTH_JSON;
  return HALE_CHECK_FORMAT_STATUS;
}

static gboolean
is_json_type (const char *content_type)
{
  return content_type != NULL
         && (g_ascii_strcasecmp (content_type, "application/json") == 0
             || g_str_has_suffix (content_type, "+json"));
}

static gboolean
looks_like_json (const char *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isspace (data[i]))
      return data[i] == '{' || data[i] == '[';
  return FALSE;
}

static gboolean
status_ok (guint http_status)
{
  return http_status >= 200 && http_status <= 299;
}

/* Everything about one answer: the verdict, its message and details. */
/* The formats: how each is named in Format= and read. Those without a
 * reader are decided otherwise (auto by the shape, status by the HTTP
 * status alone). */
typedef gboolean (*Reader) (JsonObject *o, Verdict *v);

static const struct
{
  HaleCheckFormat format;
  const char *name;
  Reader read;
} formats[] = {
  { HALE_CHECK_FORMAT_AUTO, "auto", NULL },
  { HALE_CHECK_FORMAT_FT, "ft", read_ft },
  { HALE_CHECK_FORMAT_HEALTH_JSON, "health+json", read_health_json },
  { HALE_CHECK_FORMAT_SEED, "seed", read_seed },
  { HALE_CHECK_FORMAT_STATUS, "status", NULL },
};

const char *
hale_check_format_to_string (HaleCheckFormat format)
{
  for (gsize i = 0; i < G_N_ELEMENTS (formats); i++)
    if (formats[i].format == format)
      return formats[i].name;
  return "unknown";
}

static Reader
format_reader (HaleCheckFormat format)
{
  for (gsize i = 0; i < G_N_ELEMENTS (formats); i++)
    if (formats[i].format == format)
      return formats[i].read;
  return NULL;
}

void
hale_check_answer_judge (HaleCheckFormat configured, guint http_status, const char *content_type,
                         const char *data, gsize len, GVariantBuilder *details, gboolean *out_ok,
                         guint *out_severity, char **out_message)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autofree char *problem = NULL;
  HaleCheckFormat format = configured;
  JsonObject *o = NULL;
  Verdict v;
  gboolean understood = TRUE;
  g_autofree char *format_note = NULL;

  verdict_init (&v);

  if (format == HALE_CHECK_FORMAT_AUTO)
    {
      if (content_type != NULL && g_ascii_strcasecmp (content_type, "application/health+json") == 0)
        format = HALE_CHECK_FORMAT_HEALTH_JSON;
      else if (is_json_type (content_type) || looks_like_json (data, len))
        format = HALE_CHECK_FORMAT_AUTO; /* decided by the shape below */
      else
        format = HALE_CHECK_FORMAT_STATUS;
    }

  if (format != HALE_CHECK_FORMAT_STATUS)
    {
      parser = json_parser_new_immutable ();
      o = parse_object (data, len, parser, &problem);
      if (o != NULL && format == HALE_CHECK_FORMAT_AUTO)
        {
          format = guess_format (o);
          if (format == HALE_CHECK_FORMAT_STATUS)
            format_note = g_strdup ("JSON in no health format hale knows: judged by the status");
        }
    }

  g_variant_builder_add (
      details, "{sv}", "format",
      g_variant_new_string (problem != NULL && configured == HALE_CHECK_FORMAT_AUTO
                                ? "json"
                                : hale_check_format_to_string (format)));
  if (format_note != NULL)
    g_variant_builder_add (details, "{sv}", "format_note", g_variant_new_string (format_note));

  if (problem != NULL)
    understood = FALSE;
  else if (format_reader (format) != NULL)
    understood = format_reader (format) (o, &v);
  else
    v.ok = status_ok (http_status);
  if (!understood && problem == NULL)
    problem = g_steal_pointer (&v.problem);

  if (problem != NULL)
    {
      *out_ok = FALSE;
      *out_severity = 1;
      *out_message = status_ok (http_status)
                         ? g_strdup (problem)
                         : g_strdup_printf ("http status %u (%s)", http_status, problem);
      g_variant_builder_add (details, "{sv}", "reason", g_variant_new_string (*out_message));
      verdict_clear (&v);
      return;
    }

  if (format == HALE_CHECK_FORMAT_STATUS)
    {
      *out_ok = v.ok;
      *out_severity = 1;
      *out_message = v.ok ? g_strdup_printf ("answers: HTTP %u", http_status)
                          : g_strdup_printf ("http status %u", http_status);
    }
  else
    {
      /* A JSON answer that passes with an error status is not believed:
       * something between (a proxy, a crash page) speaks for it. */
      if (v.ok && !(http_status >= 200 && http_status <= 399))
        {
          *out_ok = FALSE;
          *out_severity = 1;
          *out_message
              = g_strdup_printf ("http status %u, though the answer says it passes", http_status);
        }
      else if (v.ok)
        {
          *out_ok = TRUE;
          *out_severity = 1;
          *out_message = v.n_checks > 0 ? g_strdup_printf ("passes: %u check(s) ok", v.n_checks)
                                        : g_strdup ("passes");
        }
      else
        {
          *out_ok = FALSE;
          *out_severity = v.severity;
          if (v.message != NULL && v.n_failing > 0)
            *out_message
                = g_strdup_printf ("%s; %u of %u check(s) fail: %s%s", v.message, v.n_failing,
                                   v.n_checks, v.failing->str, v.n_failing > 3 ? ", ..." : "");
          else if (v.message != NULL)
            *out_message = g_strdup (v.message);
          else if (v.n_failing > 0)
            *out_message = g_strdup_printf ("%u of %u check(s) fail: %s%s", v.n_failing, v.n_checks,
                                            v.failing->str, v.n_failing > 3 ? ", ..." : "");
          else
            *out_message
                = g_strdup (v.severity == 2 ? "the answer says warn" : "the answer says fail");
        }
      g_variant_builder_add (details, "{sv}", "checks", g_variant_builder_end (&v.checks));
      g_variant_builder_init (&v.checks, G_VARIANT_TYPE ("aa{sv}"));
      g_variant_builder_add (details, "{sv}", "checks_total", g_variant_new_uint32 (v.n_checks));
      g_variant_builder_add (details, "{sv}", "checks_failing", g_variant_new_uint32 (v.n_failing));
      {
        g_autoptr (GVariant) answer = g_variant_ref_sink (g_variant_dict_end (&v.answer));
        GVariantIter iter;
        const char *key;
        GVariant *value;

        g_variant_iter_init (&iter, answer);
        while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
          {
            g_variant_builder_add (details, "{sv}", key, value);
            g_variant_unref (value);
          }
      }
    }
  if (!*out_ok)
    g_variant_builder_add (details, "{sv}", "reason", g_variant_new_string (*out_message));
  verdict_clear (&v);
}
