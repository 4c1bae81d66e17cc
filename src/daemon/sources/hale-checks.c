/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-checks.c: the health of other local services, checked.
 *
 * Every check runs on its own timer (Interval=) and never twice at once:
 * a run that is due while the last is still within its Timeout= is
 * skipped. Each run ends in one immutable HaleCheckOutcome, emitted as
 * "outcome"; what it means for the host (categories, acknowledgements)
 * is hale-aggregate's.
 *
 * http: a GET on a fresh connection (as the probes do: a kept-alive one
 * would hide a broken listener), the body read up to BODY_CAP, then
 * understood as one of four formats (see "answers" below). Answers are
 * untrusted: the body is checked to be UTF-8 and not nested deeper than
 * MAX_DEPTH before json-glib (a recursive parser) sees it, strings taken
 * from it are cut to MAX_TEXT bytes, and at most MAX_SUBCHECKS
 * sub-checks are listed. A broken answer is a failed check that says
 * what was wrong.
 *
 * unit: org.freedesktop.systemd1 over D-Bus. LoadUnit gives the unit's
 * object; its PropertiesChanged (sent once Subscribe() was called on the
 * manager) makes hale read the unit again at once, and an outcome is
 * emitted when what it shows (states, blockers) changed. The Interval=
 * timer reads it as well, as a safety net.
 *
 * push: hale_checks_report() sets the outcome; a one-shot timer fails
 * the check TTL= after the last report (or after the check was
 * configured, before any report).
 *
 * qos is the share of passed runs (ok, so a warn counts as not passed)
 * among the last QOS_WINDOW outcomes of a check.
 */
#include "config.h"

#include "hale-checks.h"
#include "hale-systemd.h"

#include "hale-units.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

/* An answer larger than this is a failed check: health pages are a few
 * KiB, and this bounds json-glib's work (it parses all of it). */
#define BODY_CAP (1024 * 1024)
#define BODY_CAP_TEXT "1 MiB"
#define READ_SIZE (16 * 1024)
/* json-glib parses recursively: deeper input is refused before it. */
#define MAX_DEPTH 32
#define MAX_SUBCHECKS 64
#define MAX_TEXT 512
#define QOS_WINDOW 20
/* hale_checks_run_now(): a check is forced at most once per this. */
#define FORCE_MIN_INTERVAL (5 * G_USEC_PER_SEC)
#define REPORT_MESSAGE_MAX 1024
#define MAX_DEPENDENCIES 256

#define SYSTEMD_NAME "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT "org.freedesktop.systemd1.Unit"

G_DEFINE_QUARK (hale - checks - error - quark, hale_checks_error)

static const double duration_buckets[]
    = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };

const char *
hale_check_kind_to_string (HaleCheckKind kind)
{
  switch (kind)
    {
      case HALE_CHECK_KIND_HTTP:
        return "http";
      case HALE_CHECK_KIND_UNIT:
        return "unit";
      case HALE_CHECK_KIND_PUSH:
        return "push";
    }
  return "unknown";
}

const char *
hale_check_format_to_string (HaleCheckFormat format)
{
  switch (format)
    {
      case HALE_CHECK_FORMAT_AUTO:
        return "auto";
      case HALE_CHECK_FORMAT_FT:
        return "ft";
      case HALE_CHECK_FORMAT_HEALTH_JSON:
        return "health+json";
      case HALE_CHECK_FORMAT_SEED:
        return "seed";
      case HALE_CHECK_FORMAT_STATUS:
        return "status";
    }
  return "unknown";
}

/* ---- outcomes ----------------------------------------------------------- */

typedef struct
{
  HaleCheckOutcome pub;
  gatomicrefcount ref;
} Outcome;

HaleCheckOutcome *
hale_check_outcome_ref (HaleCheckOutcome *outcome)
{
  g_return_val_if_fail (outcome != NULL, NULL);
  g_atomic_ref_count_inc (&((Outcome *)outcome)->ref);
  return outcome;
}

void
hale_check_outcome_unref (HaleCheckOutcome *outcome)
{
  if (outcome == NULL || !g_atomic_ref_count_dec (&((Outcome *)outcome)->ref))
    return;
  g_free (outcome->name);
  g_free (outcome->message);
  g_variant_unref (outcome->details);
  g_free (outcome);
}

G_DEFINE_BOXED_TYPE (HaleCheckOutcome, hale_check_outcome, hale_check_outcome_ref,
                     hale_check_outcome_unref)

/* ---- text from answers -------------------------------------------------- */

/* One line of valid UTF-8, at most @max bytes (cut at a character). */
static char *
clean_text_max (const char *text, gsize max)
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
  return clean_text_max (text, MAX_TEXT);
}

static char *
format_span (gint64 usec)
{
  /* Whole seconds from a second on: "5m", not "5m0s12ms". */
  if (usec >= G_USEC_PER_SEC)
    usec -= usec % G_USEC_PER_SEC;
  else if (usec >= 1000)
    usec -= usec % 1000;
  return hale_duration_format (MAX (usec, 0));
}

/* ---- the checks --------------------------------------------------------- */

typedef struct _Check Check;

struct _HaleChecks
{
  GObject parent_instance;

  HaleMetrics *metrics;
  GDBusConnection *connection;
  HaleSystemd *systemd; /* on connection */

  GPtrArray *checks; /* Check, in configuration order */
  guint kick_idle;   /* runs the checks that are due */

  HaleMetricFamily *m_status;
  HaleMetricFamily *m_duration;
  HaleMetricFamily *m_runs;
  HaleMetricFamily *m_qos;
};

G_DEFINE_TYPE (HaleChecks, hale_checks, G_TYPE_OBJECT)

enum
{
  SIGNAL_OUTCOME,
  SIGNAL_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _Check
{
  gatomicrefcount ref;
  gboolean removed; /* set when the check or its owner is gone */
  HaleChecks *owner;

  char *name;
  HaleCheckKind kind;
  HaleCheckFormat format;
  char *url;
  char *unit;
  char *ca_file;
  gint64 ttl;
  guint severity;
  gint64 timeout;
  gint64 interval;

  GSource *timer;        /* Interval= (http, unit), TTL= (push) */
  gboolean due;          /* run at the next kick */
  GCancellable *running; /* NULL when idle */
  gint64 started;        /* monotonic, of the run in flight */
  gint64 last_forced;    /* monotonic; 0 never */

  HaleCheckOutcome *last;
  gboolean history[QOS_WINDOW];
  guint history_len;
  guint history_pos;

  /* http */
  SoupSession *session;
  gint64 ca_mtime;

  /* unit */
  char *unit_path;
  guint props_id;
  gboolean reread;  /* PropertiesChanged while a read was in flight */
  char *unit_shown; /* what the last outcome showed */

  /* push */
  gint64 watch_start;   /* monotonic: configured */
  gint64 reported_mono; /* monotonic; 0: no report yet */
  gint64 reported_at;   /* real */
  char *reported_status;
  char *reported_message;
};

static void
run_check (Check *c, gboolean event);
static void
schedule_kick (HaleChecks *self);

static Check *
check_ref (Check *c)
{
  g_atomic_ref_count_inc (&c->ref);
  return c;
}

static void
source_clear (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static void
check_unref (Check *c)
{
  if (!g_atomic_ref_count_dec (&c->ref))
    return;
  g_free (c->name);
  g_free (c->url);
  g_free (c->unit);
  g_free (c->ca_file);
  source_clear (&c->timer);
  g_clear_object (&c->running);
  g_clear_pointer (&c->last, hale_check_outcome_unref);
  g_clear_object (&c->session);
  g_free (c->unit_path);
  g_free (c->unit_shown);
  g_free (c->reported_status);
  g_free (c->reported_message);
  g_free (c);
}

static double
check_qos (const Check *c)
{
  guint ok = 0;

  if (c->history_len == 0)
    return 0.0;
  for (guint i = 0; i < c->history_len; i++)
    ok += c->history[i] ? 1 : 0;
  return (double)ok / c->history_len;
}

/* Ends a run (or a report, or an expiry) with its outcome.
 * @answer_severity: how bad the failure is by the answer (1 or 2);
 * Severity=2 makes any failure of the check a warning at most. */
static void
finish (Check *c, gboolean ok, guint answer_severity, const char *message, GVariant *details)
{
  HaleChecks *self = c->owner;
  Outcome *o = g_new0 (Outcome, 1);
  HaleCheckOutcome *out = &o->pub;
  const char *labels[] = { c->name, NULL };
  const char *result;

  g_atomic_ref_count_init (&o->ref);
  out->name = g_strdup (c->name);
  out->kind = c->kind;
  out->ok = ok;
  out->severity = ok ? c->severity : MAX (c->severity, CLAMP (answer_severity, 1, 2));
  out->status = ok                   ? HALE_CHECK_HEALTHY
                : out->severity == 1 ? HALE_CHECK_CRITICAL
                                     : HALE_CHECK_WARNING;
  out->message = g_strdup (message);
  out->details = g_variant_ref_sink (
      details != NULL ? details : g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  out->checked_at = g_get_real_time ();
  out->duration = c->kind == HALE_CHECK_KIND_PUSH ? 0 : g_get_monotonic_time () - c->started;

  c->history[c->history_pos] = ok;
  c->history_pos = (c->history_pos + 1) % QOS_WINDOW;
  c->history_len = MIN (c->history_len + 1, QOS_WINDOW);
  out->qos = check_qos (c);

  g_clear_pointer (&c->last, hale_check_outcome_unref);
  c->last = out;

  result = ok ? "pass" : answer_severity >= 2 ? "warn" : "fail";
  {
    const char *run_labels[] = { c->name, result, NULL };
    hale_metric_inc (self->m_runs, run_labels, 1);
  }
  hale_metric_set (self->m_status, labels, out->status);
  hale_metric_set (self->m_qos, labels, out->qos);
  if (c->kind != HALE_CHECK_KIND_PUSH)
    hale_metric_observe (self->m_duration, labels, (double)out->duration / G_USEC_PER_SEC);

  g_debug ("check %s: %s%s%s", c->name, hale_check_status_to_string (out->status),
           message ? ": " : "", message ? message : "");
  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_OUTCOME], 0, out);
  g_object_unref (self);
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
  double answer_qos; /* seed; < 0 unset */
  char *answer_state;
} Verdict;

static void
verdict_init (Verdict *v)
{
  memset (v, 0, sizeof *v);
  v->ok = TRUE;
  v->severity = 1;
  v->answer_qos = -1;
  v->failing = g_string_new (NULL);
  g_variant_builder_init (&v->checks, G_VARIANT_TYPE ("aa{sv}"));
}

static void
verdict_clear (Verdict *v)
{
  g_free (v->message);
  g_free (v->problem);
  g_free (v->answer_state);
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
verdict_add (Verdict *v, const char *name, gboolean ok, guint severity, const char *output)
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

/* The status words of the formats, and their aliases. */
typedef enum
{
  WORD_UNKNOWN,
  WORD_PASS,
  WORD_WARN,
  WORD_FAIL,
} Word;

static Word
status_word (const char *text)
{
  static const struct
  {
    const char *word;
    Word value;
  } table[] = {
    { "pass", WORD_PASS },      { "passed", WORD_PASS },   { "ok", WORD_PASS },
    { "up", WORD_PASS },        { "healthy", WORD_PASS },  { "warn", WORD_WARN },
    { "warning", WORD_WARN },   { "degraded", WORD_WARN }, { "fail", WORD_FAIL },
    { "failed", WORD_FAIL },    { "down", WORD_FAIL },     { "error", WORD_FAIL },
    { "unhealthy", WORD_FAIL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_ascii_strcasecmp (text, table[i].word) == 0)
      return table[i].value;
  return WORD_UNKNOWN;
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
      verdict_add (v, name, json_node_get_boolean (ok), severity, output);
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
read_word (JsonObject *o, const char *member, const char *format, Verdict *v, Word *out)
{
  JsonNode *n = json_object_get_member (o, member);
  g_autofree char *text = NULL;

  if (n == NULL)
    return verdict_problem (v, "%s: no \"%s\"", format, member);
  if (!node_is (n, G_TYPE_STRING))
    return verdict_problem (v, "%s: %s is %s", format, member, node_kind (n));
  *out = status_word (json_node_get_string (n));
  if (*out == WORD_UNKNOWN)
    {
      text = clean_text (json_node_get_string (n));
      return verdict_problem (v, "%s: unknown %s \"%s\"", format, member, text);
    }
  return TRUE;
}

static void
verdict_from_word (Verdict *v, Word word)
{
  v->ok = word == WORD_PASS;
  v->severity = word == WORD_WARN ? 2 : 1;
}

/* application/health+json (draft-inadarei-api-health-check): "status"
 * pass/warn/fail (ok, up, down, error as aliases), "output", and
 * "checks": {"component:measure": [{"status", "output", ...}]}. The
 * top status decides; the checks explain. */
static gboolean
read_health_json (JsonObject *o, Verdict *v)
{
  JsonNode *checks = json_object_get_member (o, "checks");
  Word word;
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
              Word sub = WORD_PASS;
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
              verdict_add (v, name, sub == WORD_PASS, sub == WORD_WARN ? 2 : 1,
                           member_text (c, "output"));
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
    }
  if (node_is (judge, G_TYPE_BOOLEAN))
    {
      verdict_add (v, name, json_node_get_boolean (judge), severity ? severity : 1, output);
      return TRUE;
    }
  if (node_is (judge, G_TYPE_STRING))
    {
      Word w = status_word (json_node_get_string (judge));
      if (w == WORD_UNKNOWN)
        {
          g_autofree char *text = clean_text (json_node_get_string (judge));
          return verdict_problem (v, "seed: check %s: unknown status \"%s\"", name, text);
        }
      verdict_add (v, name, w == WORD_PASS, severity ? severity : w == WORD_WARN ? 2 : 1, output);
      return TRUE;
    }
  return verdict_problem (v, "seed: check %s is judged by %s", name, node_kind (judge));
}

/* The rotation agent's report (Format=seed, docs/checks.md): {"health": "passed"|"warn"|"fail",
 * "qos": 0..1, "state", "checks": [...] or {...}}. "health" decides. */
static gboolean
read_seed (JsonObject *o, Verdict *v)
{
  JsonNode *qos = json_object_get_member (o, "qos");
  JsonNode *state = json_object_get_member (o, "state");
  JsonNode *checks = json_object_get_member (o, "checks");
  Word word;

  if (!read_word (o, "health", "seed", v, &word))
    return FALSE;
  if (qos != NULL)
    {
      if (!node_is_number (qos))
        return verdict_problem (v, "seed: qos is %s, not a number", node_kind (qos));
      if (!(node_number (qos) >= 0.0 && node_number (qos) <= 1.0))
        return verdict_problem (v, "seed: qos is %g, not between 0 and 1", node_number (qos));
      v->answer_qos = node_number (qos);
    }
  if (state != NULL)
    {
      if (!node_is (state, G_TYPE_STRING))
        return verdict_problem (v, "seed: state is %s, not a string", node_kind (state));
      v->answer_state = clean_text (json_node_get_string (state));
    }
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
  return TRUE;
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
static void
judge_answer (Check *c, guint http_status, const char *content_type, const char *data, gsize len,
              GVariantBuilder *details, gboolean *out_ok, guint *out_severity, char **out_message)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autofree char *problem = NULL;
  HaleCheckFormat format = c->format;
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
      g_variant_new_string (problem != NULL && c->format == HALE_CHECK_FORMAT_AUTO
                                ? "json"
                                : hale_check_format_to_string (format)));
  if (format_note != NULL)
    g_variant_builder_add (details, "{sv}", "format_note", g_variant_new_string (format_note));

  if (problem != NULL)
    understood = FALSE;
  else
    switch (format)
      {
        case HALE_CHECK_FORMAT_FT:
          understood = read_ft (o, &v);
          break;
        case HALE_CHECK_FORMAT_HEALTH_JSON:
          understood = read_health_json (o, &v);
          break;
        case HALE_CHECK_FORMAT_SEED:
          understood = read_seed (o, &v);
          break;
        default:
          v.ok = status_ok (http_status);
          break;
      }
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
      if (v.answer_qos >= 0)
        g_variant_builder_add (details, "{sv}", "answer_qos", g_variant_new_double (v.answer_qos));
      if (v.answer_state != NULL)
        g_variant_builder_add (details, "{sv}", "answer_state",
                               g_variant_new_string (v.answer_state));
    }
  if (!*out_ok)
    g_variant_builder_add (details, "{sv}", "reason", g_variant_new_string (*out_message));
  verdict_clear (&v);
}

/* The answer parser on its own, for the fuzzers (tests/fuzz). */
void
hale_checks_judge_answer (HaleCheckFormat format, guint http_status, const char *content_type,
                          const char *data, gsize len, GVariant **out_details, gboolean *out_ok,
                          guint *out_severity, char **out_message)
{
  Check c = { .format = format };
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  judge_answer (&c, http_status, content_type, data, len, &b, out_ok, out_severity, out_message);
  *out_details = g_variant_ref_sink (g_variant_builder_end (&b));
}

/* ---- http --------------------------------------------------------------- */

typedef struct
{
  Check *c;
  GCancellable *cancellable; /* c->running */
  SoupMessage *msg;
  GInputStream *body;
  GByteArray *data;
  GSource *timeout_source;
  gboolean timed_out;
  guint8 buffer[READ_SIZE];
} HttpRun;

static void
http_run_free (HttpRun *run)
{
  source_clear (&run->timeout_source);
  g_clear_object (&run->body);
  g_clear_object (&run->msg);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->data, g_byte_array_unref);
  check_unref (run->c);
  g_free (run);
}

static char *
error_reason (HttpRun *run, const GError *error)
{
  if (run->timed_out)
    {
      g_autofree char *span = format_span (run->c->timeout);
      return g_strdup_printf ("timeout: no answer within %s", span);
    }
  if (error->domain == G_TLS_ERROR)
    return g_strdup_printf ("tls: %s", error->message);
  if (error->domain == G_RESOLVER_ERROR)
    return g_strdup_printf ("dns: %s", error->message);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_strdup ("connection refused");
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
    return g_strdup ("connection closed");
  return g_strdup_printf ("error: %s", error->message);
}

static void
http_details_begin (HttpRun *run, GVariantBuilder *b)
{
  guint status = run->msg != NULL ? soup_message_get_status (run->msg) : 0;

  g_variant_builder_init (b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (b, "{sv}", "url", g_variant_new_string (run->c->url));
  /* libsoup says its own failures with codes below 100. */
  g_variant_builder_add (b, "{sv}", "http_status",
                         g_variant_new_uint32 (status >= 100 ? status : 0));
}

/* The run failed before an answer could be judged. */
static void
http_fail (HttpRun *run, const char *reason)
{
  GVariantBuilder b;

  /* Abandoned runs (the check removed or reset) say nothing. */
  if (!run->c->removed && run->cancellable == run->c->running)
    {
      http_details_begin (run, &b);
      g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (reason));
      g_clear_object (&run->c->running);
      finish (run->c, FALSE, 1, reason, g_variant_builder_end (&b));
    }
  /* Stop whatever libsoup still does for it (a body not read to its
   * end would otherwise be drained on close). */
  g_cancellable_cancel (run->cancellable);
  if (run->body != NULL)
    g_input_stream_close_async (run->body, G_PRIORITY_DEFAULT, run->cancellable, NULL, NULL);
  http_run_free (run);
}

static void
http_answered (HttpRun *run)
{
  Check *c = run->c;
  SoupMessageHeaders *headers = soup_message_get_response_headers (run->msg);
  const char *content_type = soup_message_headers_get_content_type (headers, NULL);
  guint http_status = soup_message_get_status (run->msg);
  g_autofree char *message = NULL;
  gboolean ok = FALSE;
  guint severity = 1;
  GVariantBuilder b;

  if (!c->removed && run->cancellable == c->running)
    {
      http_details_begin (run, &b);
      if (content_type != NULL)
        {
          g_autofree char *clean = clean_text (content_type);
          g_variant_builder_add (&b, "{sv}", "content_type", g_variant_new_string (clean));
        }
      judge_answer (c, http_status, content_type, (const char *)run->data->data, run->data->len, &b,
                    &ok, &severity, &message);
      g_clear_object (&c->running);
      finish (c, ok, severity, message, g_variant_builder_end (&b));
    }
  g_input_stream_close_async (run->body, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  http_run_free (run);
}

static void
http_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  HttpRun *run = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);
  g_autofree char *reason = NULL;

  if (n < 0)
    {
      reason = error_reason (run, error);
      http_fail (run, reason);
      return;
    }
  if (n == 0)
    {
      http_answered (run);
      return;
    }
  if (run->data->len + (gsize)n > BODY_CAP)
    {
      http_fail (run, "answer larger than " BODY_CAP_TEXT);
      return;
    }
  g_byte_array_append (run->data, run->buffer, (guint)n);
  g_input_stream_read_async (run->body, run->buffer, sizeof run->buffer, G_PRIORITY_DEFAULT,
                             run->cancellable, http_read, run);
}

static void
http_sent (GObject *source, GAsyncResult *res, gpointer user_data)
{
  HttpRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  SoupMessageHeaders *headers;

  run->body = soup_session_send_finish (SOUP_SESSION (source), res, &error);
  if (run->body == NULL)
    {
      reason = error_reason (run, error);
      http_fail (run, reason);
      return;
    }
  headers = soup_message_get_response_headers (run->msg);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (headers) > BODY_CAP)
    {
      http_fail (run, "answer larger than " BODY_CAP_TEXT);
      return;
    }
  g_input_stream_read_async (run->body, run->buffer, sizeof run->buffer, G_PRIORITY_DEFAULT,
                             run->cancellable, http_read, run);
}

static gboolean
http_timeout (gpointer user_data)
{
  HttpRun *run = user_data;

  run->timed_out = TRUE;
  g_clear_pointer (&run->timeout_source, g_source_unref);
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_REMOVE;
}

static gint64
file_mtime (const char *path)
{
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GFile) file = g_file_new_for_path (path);

  info = g_file_query_info (file,
                            G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                            G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (info == NULL)
    return -1;
  return (gint64)g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED)
             * G_USEC_PER_SEC
         + g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);
}

/* The check's session, made again when its CA file changed. */
static SoupSession *
http_session (Check *c, char **out_reason)
{
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *agent = NULL;
  gint64 mtime = c->ca_file != NULL ? file_mtime (c->ca_file) : 0;

  if (c->session != NULL && mtime == c->ca_mtime && mtime >= 0)
    return c->session;
  g_clear_object (&c->session);
  if (c->ca_file != NULL)
    {
      database = g_tls_file_database_new (c->ca_file, &error);
      if (database == NULL)
        {
          *out_reason
              = g_strdup_printf ("tls: cannot read CA file %s: %s", c->ca_file, error->message);
          return NULL;
        }
    }
  agent = g_strdup_printf ("haled/%s", PACKAGE_VERSION);
  /* Direct, never through a proxy: what is checked is the service. */
  c->session = g_object_new (SOUP_TYPE_SESSION, "user-agent", agent, "proxy-resolver", NULL,
                             "timeout", 0, "idle-timeout", 0, NULL);
  if (database != NULL)
    soup_session_set_tls_database (c->session, database);
  c->ca_mtime = mtime;
  return c->session;
}

static void
http_run (Check *c)
{
  HttpRun *run = g_new0 (HttpRun, 1);
  g_autofree char *reason = NULL;
  SoupSession *session;
  SoupMessageHeaders *headers;

  run->c = check_ref (c);
  run->cancellable = g_object_ref (c->running);
  run->data = g_byte_array_new ();

  session = http_session (c, &reason);
  if (session == NULL)
    {
      http_fail (run, reason);
      return;
    }
  run->msg = soup_message_new (SOUP_METHOD_GET, c->url);
  if (run->msg == NULL)
    {
      reason = g_strdup_printf ("\"%s\" is not a URL hale can ask", c->url);
      http_fail (run, reason);
      return;
    }
  soup_message_add_flags (run->msg, SOUP_MESSAGE_NEW_CONNECTION);
  headers = soup_message_get_request_headers (run->msg);
  soup_message_headers_replace (headers, "Connection", "close");
  soup_message_headers_replace (headers, "Accept",
                                "application/health+json, application/json;q=0.9, */*;q=0.5");

  run->timeout_source = g_timeout_source_new ((guint)MIN (MAX (c->timeout / 1000, 1), G_MAXUINT));
  g_source_set_callback (run->timeout_source, http_timeout, run, NULL);
  g_source_set_static_name (run->timeout_source, "[hale] check timeout");
  g_source_attach (run->timeout_source, g_main_context_get_thread_default ());

  soup_session_send_async (session, run->msg, G_PRIORITY_DEFAULT, run->cancellable, http_sent, run);
}

/* ---- unit --------------------------------------------------------------- */

typedef struct
{
  Check *c;
  GCancellable *cancellable;
  gboolean event; /* from PropertiesChanged: emit only what changed */
  gint64 deadline;
  GVariant *props; /* a{sv} of the Unit interface */
} UnitRun;

static void
unit_run_free (UnitRun *run)
{
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->props, g_variant_unref);
  check_unref (run->c);
  g_free (run);
}

static int
remaining_ms (UnitRun *run)
{
  gint64 left = run->deadline - g_get_monotonic_time ();
  return (int)CLAMP (left / 1000, 1, G_MAXINT);
}

static void
unit_done (UnitRun *run, gboolean ok, guint severity, const char *message, GVariant *details,
           const char *shown)
{
  Check *c = run->c;
  gboolean again;

  /* Abandoned (the check removed or reset, the bus changed): another
   * run, if any, speaks for the check now. */
  if (c->removed || run->cancellable != c->running)
    {
      if (details != NULL)
        g_variant_unref (g_variant_ref_sink (details));
      unit_run_free (run);
      return;
    }
  g_clear_object (&c->running);
  again = c->reread;
  c->reread = FALSE;
  if (run->event && g_strcmp0 (shown, c->unit_shown) == 0 && c->last != NULL)
    {
      if (details != NULL)
        g_variant_unref (g_variant_ref_sink (details));
    }
  else
    {
      g_free (c->unit_shown);
      c->unit_shown = g_strdup (shown);
      finish (c, ok, severity, message, details);
    }
  if (again && !c->removed)
    run_check (c, TRUE);
  unit_run_free (run);
}

static void
unit_fail (UnitRun *run, const char *reason)
{
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "unit", "s", run->c->unit);
  g_variant_dict_insert (&d, "reason", "s", reason);
  unit_done (run, FALSE, 1, reason, g_variant_dict_end (&d), reason);
}

static char *
bus_reason (UnitRun *run, GError *error)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_autofree char *span = format_span (run->c->timeout);
      return g_strdup_printf ("timeout: the service manager did not answer within %s", span);
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    return g_strdup ("not connected to the service manager: the bus connection is closed");
  if (g_strcmp0 (remote, "org.freedesktop.systemd1.NoSuchUnit") == 0)
    return g_strdup ("no such unit");
  g_dbus_error_strip_remote_error (error);
  return g_strdup_printf ("systemd: %s%s%s", remote != NULL ? remote : "",
                          remote != NULL ? ": " : "", error->message);
}

static const char *
prop_string (GVariant *props, const char *name)
{
  const char *value = NULL;

  if (!g_variant_lookup (props, name, "&s", &value))
    return "";
  return value;
}

/* The verdict on a unit, from its properties and the units it requires
 * that failed. */
static void
unit_judge (UnitRun *run, GPtrArray *blockers)
{
  Check *c = run->c;
  const char *load = prop_string (run->props, "LoadState");
  const char *active = prop_string (run->props, "ActiveState");
  const char *sub = prop_string (run->props, "SubState");
  guint64 changed = 0;
  gint64 now = g_get_real_time ();
  g_autofree char *span = NULL;
  g_autofree char *state = NULL;
  g_autofree char *message = NULL;
  g_autofree char *shown = NULL;
  g_autoptr (GString) blocked = g_string_new (NULL);
  gboolean ok = FALSE;
  guint severity = 1;
  GVariantDict d;

  g_variant_lookup (run->props, "StateChangeTimestamp", "t", &changed);
  if (changed > 0 && (gint64)changed <= now)
    span = format_span (now - (gint64)changed);

  for (guint i = 0; i < blockers->len; i++)
    g_string_append_printf (blocked, "%s%s", i > 0 ? ", " : "",
                            (const char *)g_ptr_array_index (blockers, i));

  state = g_strdup_printf ("%s (%s)%s%s", active, sub, span != NULL ? " for " : "",
                           span != NULL ? span : "");
  if (g_str_equal (load, "not-found"))
    message = g_strdup ("no such unit");
  else if (g_str_equal (load, "masked"))
    message = g_strdup ("the unit is masked");
  else if (!g_str_equal (load, "loaded"))
    message = g_strdup_printf ("the unit cannot be loaded (%s)", load);
  else if (g_str_equal (active, "active"))
    {
      ok = TRUE;
      message = g_strdup_printf ("%s", state);
    }
  else if (g_str_equal (active, "activating") || g_str_equal (active, "deactivating")
           || g_str_equal (active, "reloading") || g_str_equal (active, "refreshing")
           || g_str_equal (active, "maintenance"))
    {
      /* On its way somewhere: a warning, with how long it has been. */
      severity = 2;
      message = g_strdup_printf ("%s", state);
    }
  else
    /* failed, inactive, or a state this hale does not know: down. */
    message = g_strdup_printf ("%s", state);

  if (blockers->len > 0)
    {
      g_autofree char *m
          = g_strdup_printf ("%s; required unit(s) failed: %s", message, blocked->str);
      g_free (message);
      message = g_steal_pointer (&m);
    }

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "unit", "s", c->unit);
  g_variant_dict_insert (&d, "load_state", "s", load);
  g_variant_dict_insert (&d, "active_state", "s", active);
  g_variant_dict_insert (&d, "sub_state", "s", sub);
  if (changed > 0)
    {
      g_variant_dict_insert (&d, "state_since", "x", (gint64)(changed / G_USEC_PER_SEC));
      g_variant_dict_insert (&d, "state_seconds", "d",
                             (double)MAX (0, now - (gint64)changed) / G_USEC_PER_SEC);
    }
  g_ptr_array_add (blockers, NULL);
  g_variant_dict_insert (&d, "blockers", "^as", (char **)blockers->pdata);
  g_ptr_array_remove_index (blockers, blockers->len - 1);
  if (!ok)
    g_variant_dict_insert (&d, "reason", "s", message);

  shown = g_strdup_printf ("%s/%s/%s/%s", load, active, sub, blocked->str);
  unit_done (run, ok, severity, message, g_variant_dict_end (&d), shown);
}

static void
unit_deps_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  UnitRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  g_autoptr (GPtrArray) blockers = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GVariantIter) iter = NULL;
  const char *name, *active;

  if (ret == NULL)
    {
      g_autofree char *reason = bus_reason (run, error);
      unit_fail (run, reason);
      return;
    }
  g_variant_get (ret, "(a(ssssssouso))", &iter);
  while (g_variant_iter_next (iter, "(&s&s&s&s&s&s&ou&s&o)", &name, NULL, NULL, &active, NULL, NULL,
                              NULL, NULL, NULL, NULL))
    if (g_str_equal (active, "failed"))
      g_ptr_array_add (blockers, g_strdup (name));
  unit_judge (run, blockers);
}

static void
unit_props_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  UnitRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) deps = g_ptr_array_new_with_free_func (g_free);
  static const char *const dep_props[] = { "Requires", "BindsTo" };

  run->props = hale_systemd_get_unit_properties_finish (HALE_SYSTEMD (source), res, &error);
  if (run->props == NULL)
    {
      g_autofree char *reason = bus_reason (run, error);
      unit_fail (run, reason);
      return;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (dep_props); i++)
    {
      g_autoptr (GVariant) list
          = g_variant_lookup_value (run->props, dep_props[i], G_VARIANT_TYPE_STRING_ARRAY);
      gsize n = list != NULL ? g_variant_n_children (list) : 0;

      for (gsize j = 0; j < n && deps->len < MAX_DEPENDENCIES; j++)
        {
          const char *name = NULL;
          g_variant_get_child (list, j, "&s", &name);
          if (!g_ptr_array_find_with_equal_func (deps, name, g_str_equal, NULL))
            g_ptr_array_add (deps, g_strdup (name));
        }
    }
  if (deps->len == 0)
    {
      g_autoptr (GPtrArray) none = g_ptr_array_new_with_free_func (g_free);
      unit_judge (run, none);
      return;
    }
  g_ptr_array_add (deps, NULL);
  g_dbus_connection_call (run->c->owner->connection, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER,
                          "ListUnitsByNames", g_variant_new ("(^as)", (char **)deps->pdata),
                          G_VARIANT_TYPE ("(a(ssssssouso))"), G_DBUS_CALL_FLAGS_NONE,
                          remaining_ms (run), run->cancellable, unit_deps_cb, run);
}

static void
unit_read (UnitRun *run)
{
  hale_systemd_get_unit_properties_async (run->c->owner->systemd, run->c->unit_path,
                                          remaining_ms (run), run->cancellable, unit_props_cb, run);
}

static void
unit_properties_changed (GDBusConnection *connection, const char *sender, const char *path,
                         const char *interface, const char *signal, GVariant *parameters,
                         gpointer user_data)
{
  Check *c = user_data;
  const char *iface = NULL;

  if (c->removed || c->unit_path == NULL || !g_str_equal (path, c->unit_path)
      || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    return;
  g_variant_get (parameters, "(&s@a{sv}@as)", &iface, NULL, NULL);
  if (!g_str_equal (iface, SYSTEMD_UNIT))
    return;
  if (c->running != NULL)
    c->reread = TRUE;
  else
    run_check (c, TRUE);
}

static void
unit_unwatch (Check *c)
{
  if (c->props_id != 0 && c->owner->connection != NULL)
    g_dbus_connection_signal_unsubscribe (c->owner->connection, c->props_id);
  c->props_id = 0;
  g_clear_pointer (&c->unit_path, g_free);
}

static void
unit_loaded_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  UnitRun *run = user_data;
  Check *c = run->c;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = hale_systemd_load_unit_finish (HALE_SYSTEMD (source), res, &error);

  if (path == NULL)
    {
      g_autofree char *reason = bus_reason (run, error);
      unit_fail (run, reason);
      return;
    }
  if (c->removed || run->cancellable != c->running)
    {
      unit_done (run, FALSE, 1, NULL, NULL, NULL);
      return;
    }
  if (c->unit_path == NULL)
    {
      c->unit_path = g_steal_pointer (&path);
      /* A reference for the subscription: GDBus may still deliver a
       * signal it had queued after the unsubscription. */
      c->props_id = g_dbus_connection_signal_subscribe (
          c->owner->connection, SYSTEMD_NAME, "org.freedesktop.DBus.Properties",
          "PropertiesChanged", c->unit_path, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
          unit_properties_changed, check_ref (c), (GDestroyNotify)check_unref);
    }
  unit_read (run);
}

static void
unit_run (Check *c, gboolean event)
{
  HaleChecks *self = c->owner;
  UnitRun *run;

  run = g_new0 (UnitRun, 1);
  run->c = check_ref (c);
  run->cancellable = g_object_ref (c->running);
  run->event = event;
  run->deadline = g_get_monotonic_time () + c->timeout;

  if (self->connection == NULL || g_dbus_connection_is_closed (self->connection))
    {
      unit_fail (run, "not connected to the service manager");
      return;
    }
  hale_systemd_subscribe (self->systemd);
  if (c->unit_path != NULL)
    {
      unit_read (run);
      return;
    }
  hale_systemd_load_unit_async (self->systemd, c->unit, remaining_ms (run), run->cancellable,
                                unit_loaded_cb, run);
}

/* ---- push --------------------------------------------------------------- */

static void
push_arm (Check *c);

static GVariant *
push_details (Check *c)
{
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "ttl_seconds", "d", (double)c->ttl / G_USEC_PER_SEC);
  g_variant_dict_insert (&d, "last_report_at", "x", c->reported_at / G_USEC_PER_SEC);
  if (c->reported_status != NULL)
    {
      g_variant_dict_insert (&d, "reported_status", "s", c->reported_status);
      g_variant_dict_insert (&d, "reported_message", "s", c->reported_message);
    }
  return g_variant_dict_end (&d);
}

/* The outcome of a push check now: its last report, or its expiry. */
static void
push_evaluate_ref (Check *c)
{
  gint64 now = g_get_monotonic_time ();
  gint64 since = c->reported_mono > 0 ? c->reported_mono : c->watch_start;

  if (now - since >= c->ttl)
    {
      g_autofree char *age = format_span (now - since);
      g_autofree char *ttl = format_span (c->ttl);
      g_autofree char *message
          = c->reported_mono > 0
                ? g_strdup_printf ("no report for %s (TTL %s)", age, ttl)
                : g_strdup_printf ("no report since the check started %s ago (TTL %s)", age, ttl);
      GVariantDict d;

      g_variant_dict_init (&d, push_details (c));
      g_variant_dict_insert (&d, "reason", "s", message);
      g_variant_dict_insert (&d, "expired", "b", TRUE);
      finish (c, FALSE, 1, message, g_variant_dict_end (&d));
      return;
    }
  if (c->reported_status == NULL)
    return; /* pending: nothing to say before the first report or expiry */
  if (c->removed)
    return;
  {
    Word w = status_word (c->reported_status);
    const char *message = c->reported_message[0] != '\0' ? c->reported_message : NULL;
    g_autofree char *text = message != NULL ? g_strdup (message)
                                            : g_strdup_printf ("reported %s", c->reported_status);
    finish (c, w == WORD_PASS, w == WORD_WARN ? 2 : 1, text, push_details (c));
  }
  /* A handler of "outcome" may have removed it. */
  if (!c->removed)
    push_arm (c);
}

static void
push_evaluate (Check *c)
{
  check_ref (c);
  push_evaluate_ref (c);
  check_unref (c);
}

static gboolean
push_expired (gpointer user_data)
{
  Check *c = user_data;

  g_clear_pointer (&c->timer, g_source_unref);
  push_evaluate (c);
  return G_SOURCE_REMOVE;
}

/* The one-shot timer at the end of the TTL. */
static void
push_arm (Check *c)
{
  gint64 since = c->reported_mono > 0 ? c->reported_mono : c->watch_start;
  gint64 left = since + c->ttl - g_get_monotonic_time ();

  source_clear (&c->timer);
  if (left < 0)
    {
      /* Expired already: said so, unless a new TTL made it so now. */
      gboolean said = FALSE;
      if (c->last != NULL)
        g_variant_lookup (c->last->details, "expired", "b", &said);
      if (!said)
        {
          c->due = TRUE;
          schedule_kick (c->owner);
        }
      return;
    }
  c->timer = g_timeout_source_new ((guint)MIN (left / 1000 + 1, G_MAXUINT));
  g_source_set_callback (c->timer, push_expired, c, NULL);
  g_source_set_static_name (c->timer, "[hale] push check TTL");
  g_source_attach (c->timer, g_main_context_get_thread_default ());
}

gboolean
hale_checks_report (HaleChecks *self, const char *name, const char *status, const char *message,
                    GError **error)
{
  Check *c = NULL;
  g_autofree char *clean = NULL;

  g_return_val_if_fail (HALE_IS_CHECKS (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (status != NULL, FALSE);

  for (guint i = 0; i < self->checks->len && c == NULL; i++)
    if (g_str_equal (((Check *)g_ptr_array_index (self->checks, i))->name, name))
      c = g_ptr_array_index (self->checks, i);
  if (c == NULL)
    {
      g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_UNKNOWN_CHECK,
                   "there is no [Check %s]", name);
      return FALSE;
    }
  if (c->kind != HALE_CHECK_KIND_PUSH)
    {
      g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_NOT_PUSH,
                   "[Check %s] is a %s check: only push checks (TTL=) take reports", name,
                   hale_check_kind_to_string (c->kind));
      return FALSE;
    }
  if (!g_str_equal (status, "pass") && !g_str_equal (status, "warn")
      && !g_str_equal (status, "fail"))
    {
      g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_INVALID,
                   "the status must be pass, warn or fail");
      return FALSE;
    }
  if (message == NULL)
    message = "";
  if (strlen (message) > REPORT_MESSAGE_MAX)
    {
      g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_INVALID,
                   "the message is %" G_GSIZE_FORMAT " bytes long; at most %d are kept",
                   strlen (message), REPORT_MESSAGE_MAX);
      return FALSE;
    }
  if (!g_utf8_validate (message, -1, NULL))
    {
      g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_INVALID, "the message is not UTF-8");
      return FALSE;
    }
  /* One line: a multi-line message from a script is folded. */
  clean = clean_text_max (message, REPORT_MESSAGE_MAX);

  g_free (c->reported_status);
  c->reported_status = g_strdup (status);
  g_free (c->reported_message);
  c->reported_message = g_steal_pointer (&clean);
  c->reported_mono = g_get_monotonic_time ();
  c->reported_at = g_get_real_time ();
  push_evaluate (c);
  return TRUE;
}

/* ---- running ------------------------------------------------------------ */

/* @event: the unit changed (PropertiesChanged), as opposed to a timer,
 * a forced run or the first run. */
static void
run_check (Check *c, gboolean event)
{
  c->due = FALSE;
  if (c->removed)
    return;
  if (c->kind == HALE_CHECK_KIND_PUSH)
    {
      push_evaluate (c);
      return;
    }
  if (c->running != NULL)
    {
      /* The last run is still within its Timeout=: never two at once. */
      g_debug ("check %s: previous run still going, this one skipped", c->name);
      return;
    }
  c->running = g_cancellable_new ();
  c->started = g_get_monotonic_time ();
  if (c->kind == HALE_CHECK_KIND_HTTP)
    http_run (c);
  else
    unit_run (c, event);
}

static gboolean
interval_due (gpointer user_data)
{
  run_check (user_data, FALSE);
  return G_SOURCE_CONTINUE;
}

static gboolean
kick (gpointer user_data)
{
  HaleChecks *self = user_data;
  g_autoptr (GPtrArray) due = g_ptr_array_new_with_free_func ((GDestroyNotify)check_unref);

  self->kick_idle = 0;
  /* A run may emit at once (a push check, a missing connection), and a
   * handler may reconfigure: walk a copy. */
  for (guint i = 0; i < self->checks->len; i++)
    {
      Check *c = g_ptr_array_index (self->checks, i);
      if (c->due)
        g_ptr_array_add (due, check_ref (c));
    }
  for (guint i = 0; i < due->len; i++)
    run_check (g_ptr_array_index (due, i), FALSE);
  return G_SOURCE_REMOVE;
}

static void
schedule_kick (HaleChecks *self)
{
  if (self->kick_idle == 0)
    self->kick_idle = g_idle_add (kick, self);
}

gboolean
hale_checks_run_now (HaleChecks *self, const char *const *names, GError **error)
{
  g_autoptr (GPtrArray) chosen = g_ptr_array_new ();
  gint64 now = g_get_monotonic_time ();

  g_return_val_if_fail (HALE_IS_CHECKS (self), FALSE);

  for (guint i = 0; i < self->checks->len; i++)
    {
      Check *c = g_ptr_array_index (self->checks, i);
      if (names == NULL || g_strv_contains (names, c->name))
        g_ptr_array_add (chosen, c);
    }
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      gboolean found = FALSE;
      for (guint j = 0; j < chosen->len; j++)
        found |= g_str_equal (((Check *)g_ptr_array_index (chosen, j))->name, names[i]);
      if (!found)
        {
          g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_UNKNOWN_CHECK,
                       "there is no [Check %s]", names[i]);
          return FALSE;
        }
    }

  /* All or nothing: a refused call runs none, so a client cannot get
   * around the limit by naming checks one at a time after a refusal.
   * Push checks cost the services nothing and are not limited. */
  for (guint i = 0; i < chosen->len; i++)
    {
      Check *c = g_ptr_array_index (chosen, i);
      if (c->kind != HALE_CHECK_KIND_PUSH && c->last_forced != 0
          && now - c->last_forced < FORCE_MIN_INTERVAL)
        {
          g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_RATE_LIMITED,
                       "check %s was run on demand %.1f s ago; at most once every %d s", c->name,
                       (double)(now - c->last_forced) / G_USEC_PER_SEC,
                       (int)(FORCE_MIN_INTERVAL / G_USEC_PER_SEC));
          return FALSE;
        }
    }
  for (guint i = 0; i < chosen->len; i++)
    {
      Check *c = g_ptr_array_index (chosen, i);
      if (c->kind != HALE_CHECK_KIND_PUSH)
        c->last_forced = now;
      c->due = TRUE;
    }
  /* From the main loop, not from inside the caller (a request handler). */
  schedule_kick (self);
  return TRUE;
}

HaleCheckOutcome *
hale_checks_get_outcome (HaleChecks *self, const char *name)
{
  g_return_val_if_fail (HALE_IS_CHECKS (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < self->checks->len; i++)
    {
      Check *c = g_ptr_array_index (self->checks, i);
      if (g_str_equal (c->name, name))
        return c->last != NULL ? hale_check_outcome_ref (c->last) : NULL;
    }
  return NULL;
}

GStrv
hale_checks_list (HaleChecks *self)
{
  GStrv names;

  g_return_val_if_fail (HALE_IS_CHECKS (self), NULL);
  names = g_new0 (char *, self->checks->len + 1);
  for (guint i = 0; i < self->checks->len; i++)
    names[i] = g_strdup (((Check *)g_ptr_array_index (self->checks, i))->name);
  return names;
}

/* ---- configuration ------------------------------------------------------ */

static void
check_stop (Check *c)
{
  source_clear (&c->timer);
  if (c->running != NULL)
    g_cancellable_cancel (c->running);
  g_clear_object (&c->running);
  unit_unwatch (c);
}

/* Forgets what was learnt: another thing is checked now. */
static void
check_reset (HaleChecks *self, Check *c)
{
  const char *labels[] = { c->name, NULL };

  check_stop (c);
  g_clear_pointer (&c->last, hale_check_outcome_unref);
  c->history_len = c->history_pos = 0;
  g_clear_object (&c->session);
  g_clear_pointer (&c->unit_shown, g_free);
  c->reported_mono = c->reported_at = 0;
  g_clear_pointer (&c->reported_status, g_free);
  g_clear_pointer (&c->reported_message, g_free);
  c->watch_start = g_get_monotonic_time ();
  hale_metric_remove (self->m_status, labels);
  hale_metric_remove (self->m_qos, labels);
}

static void
check_set_config (Check *c, const HaleCheckConfig *cfg)
{
  g_free (c->url);
  c->url = g_strdup (cfg->url);
  g_free (c->unit);
  c->unit = g_strdup (cfg->unit);
  g_free (c->ca_file);
  c->ca_file = g_strdup (cfg->ca_file);
  c->kind = cfg->kind;
  c->format = cfg->format;
  c->ttl = cfg->ttl;
  c->severity = cfg->severity;
  c->timeout = cfg->timeout;
}

static gboolean
same_target (const Check *c, const HaleCheckConfig *cfg)
{
  return c->kind == cfg->kind && c->format == cfg->format && g_strcmp0 (c->url, cfg->url) == 0
         && g_strcmp0 (c->unit, cfg->unit) == 0 && g_strcmp0 (c->ca_file, cfg->ca_file) == 0;
}

static void
check_arm (Check *c, gint64 interval)
{
  if (c->kind == HALE_CHECK_KIND_PUSH)
    {
      c->interval = 0;
      push_arm (c);
      return;
    }
  if (c->timer != NULL && c->interval == interval)
    return;
  source_clear (&c->timer);
  c->interval = interval;
  c->timer = g_timeout_source_new ((guint)MIN (MAX (interval / 1000, 1), G_MAXUINT));
  g_source_set_callback (c->timer, interval_due, c, NULL);
  g_source_set_static_name (c->timer, "[hale] check interval");
  g_source_attach (c->timer, g_main_context_get_thread_default ());
}

static void
check_remove (HaleChecks *self, Check *c)
{
  const char *labels[] = { c->name, NULL };
  static const char *const results[] = { "pass", "warn", "fail" };

  c->removed = TRUE;
  check_stop (c);
  hale_metric_remove (self->m_status, labels);
  hale_metric_remove (self->m_duration, labels);
  hale_metric_remove (self->m_qos, labels);
  for (gsize i = 0; i < G_N_ELEMENTS (results); i++)
    {
      const char *run_labels[] = { c->name, results[i], NULL };
      hale_metric_remove (self->m_runs, run_labels);
    }
}

void
hale_checks_configure (HaleChecks *self, HaleConfig *config)
{
  g_autoptr (GPtrArray) next = NULL;
  g_autoptr (GPtrArray) gone = NULL;
  static const char *const results[] = { "pass", "warn", "fail" };

  g_return_if_fail (HALE_IS_CHECKS (self));
  g_return_if_fail (config != NULL);

  next = g_ptr_array_new_with_free_func ((GDestroyNotify)check_unref);
  for (guint i = 0; i < config->checks->len; i++)
    {
      const HaleCheckConfig *cfg = g_ptr_array_index (config->checks, i);
      Check *c = NULL;

      for (guint j = 0; j < self->checks->len && c == NULL; j++)
        if (g_str_equal (((Check *)g_ptr_array_index (self->checks, j))->name, cfg->name))
          c = g_ptr_array_steal_index (self->checks, j);

      if (c == NULL)
        {
          c = g_new0 (Check, 1);
          g_atomic_ref_count_init (&c->ref);
          c->owner = self;
          c->name = g_strdup (cfg->name);
          c->watch_start = g_get_monotonic_time ();
          check_set_config (c, cfg);
          c->due = TRUE;
          for (gsize k = 0; k < G_N_ELEMENTS (results); k++)
            {
              const char *run_labels[] = { c->name, results[k], NULL };
              hale_metric_touch (self->m_runs, run_labels);
            }
        }
      else if (!same_target (c, cfg))
        {
          check_reset (self, c);
          check_set_config (c, cfg);
          c->due = TRUE;
        }
      else
        {
          /* The same thing checked: its history stays. A new severity
           * shows at once. */
          if (c->severity != cfg->severity)
            c->due = TRUE;
          check_set_config (c, cfg);
        }
      check_arm (c, cfg->interval);
      g_ptr_array_add (next, c);
    }

  gone = g_steal_pointer (&self->checks);
  self->checks = g_steal_pointer (&next);
  for (guint i = 0; i < gone->len; i++)
    {
      Check *c = g_ptr_array_index (gone, i);
      check_remove (self, c);
      g_signal_emit (self, signals[SIGNAL_REMOVED], 0, c->name);
    }
  g_ptr_array_set_free_func (gone, (GDestroyNotify)check_unref);
  schedule_kick (self);
}

void
hale_checks_set_connection (HaleChecks *self, GDBusConnection *connection)
{
  g_return_if_fail (HALE_IS_CHECKS (self));
  g_return_if_fail (connection == NULL || G_IS_DBUS_CONNECTION (connection));

  if (connection == self->connection)
    return;
  for (guint i = 0; i < self->checks->len; i++)
    {
      Check *c = g_ptr_array_index (self->checks, i);
      if (c->kind != HALE_CHECK_KIND_UNIT)
        continue;
      if (c->running != NULL)
        g_cancellable_cancel (c->running);
      g_clear_object (&c->running);
      unit_unwatch (c);
      c->due = TRUE;
    }
  g_clear_object (&self->systemd);
  g_clear_object (&self->connection);
  self->connection = connection != NULL ? g_object_ref (connection) : NULL;
  self->systemd = connection != NULL ? hale_systemd_new (connection) : NULL;
  schedule_kick (self);
}

/* ---- object ------------------------------------------------------------- */

static void
register_metrics (HaleChecks *self)
{
  static const char *const check_label[] = { "check", NULL };
  static const char *const result_labels[] = { "check", "result", NULL };
  HaleMetrics *m = self->metrics;

  self->m_status = hale_metrics_add (
      m, HALE_METRIC_GAUGE, "check_status",
      "Last outcome of the check, before acknowledgements: 0 ok, 1 warning, 2 critical.", NULL,
      check_label, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_duration = hale_metrics_add (m, HALE_METRIC_HISTOGRAM, "check_duration_seconds",
                                       "How long runs of the check took.", "seconds", check_label,
                                       duration_buckets, G_N_ELEMENTS (duration_buckets),
                                       HALE_METRIC_FLAGS_NONE);
  self->m_runs = hale_metrics_add (m, HALE_METRIC_COUNTER, "check_runs_total",
                                   "Outcomes of the check by result (pass, warn, fail).", NULL,
                                   result_labels, NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_qos
      = hale_metrics_add (m, HALE_METRIC_GAUGE, "check_qos",
                          "Share of passed outcomes among the last 20 of the check (0 to 1).", NULL,
                          check_label, NULL, 0, HALE_METRIC_FLAGS_NONE);
}

HaleChecks *
hale_checks_new (HaleMetrics *metrics)
{
  HaleChecks *self;

  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);

  self = g_object_new (HALE_TYPE_CHECKS, NULL);
  self->metrics = g_object_ref (metrics);
  register_metrics (self);
  return self;
}

static void
hale_checks_dispose (GObject *object)
{
  HaleChecks *self = HALE_CHECKS (object);

  if (self->kick_idle != 0)
    g_source_remove (self->kick_idle);
  self->kick_idle = 0;
  /* Runs in flight hold their check, not us. */
  for (guint i = 0; i < self->checks->len; i++)
    {
      Check *c = g_ptr_array_index (self->checks, i);
      c->removed = TRUE;
      check_stop (c);
    }
  g_ptr_array_set_size (self->checks, 0);
  g_clear_object (&self->systemd);
  g_clear_object (&self->connection);
  g_clear_object (&self->metrics);
  G_OBJECT_CLASS (hale_checks_parent_class)->dispose (object);
}

static void
hale_checks_finalize (GObject *object)
{
  HaleChecks *self = HALE_CHECKS (object);

  g_ptr_array_unref (self->checks);
  G_OBJECT_CLASS (hale_checks_parent_class)->finalize (object);
}

static void
hale_checks_class_init (HaleChecksClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hale_checks_dispose;
  object_class->finalize = hale_checks_finalize;

  signals[SIGNAL_OUTCOME]
      = g_signal_new ("outcome", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, HALE_TYPE_CHECK_OUTCOME | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_REMOVED] = g_signal_new ("removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
hale_checks_init (HaleChecks *self)
{
  self->checks = g_ptr_array_new_with_free_func ((GDestroyNotify)check_unref);
}
