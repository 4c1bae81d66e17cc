/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-report.c: the JSON health report, shared by HTTP and D-Bus.
 *
 * Every section is rendered from the state's snapshot into one compact
 * line of JSON and kept as a GBytes keyed by (state generation, wall
 * clock second): the "timestamp" field is the only thing that changes
 * without the state changing, and it only has a one-second resolution,
 * so a thousand requests in that second share one allocation.
 */
#include "config.h"

#include "hale-report.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "hale-names.h"
#include "hale-units.h"

#define N_SECTIONS (HALE_REPORT_SERVICES + 1)

typedef struct
{
  GBytes *bytes; /* NULL until first rendered */
  guint http_status;
  guint64 generation;
  gint64 second;
  gsize last_size; /* of the last rendering, to size the next */
  /* hale_report_set_renderer(): another module's, uncached */
  HaleReportRenderer renderer;
  gpointer renderer_data;
  GDestroyNotify renderer_destroy;
} SectionCache;

struct _HaleReport
{
  GObject parent_instance;

  HaleState *state;
  SectionCache cache[N_SECTIONS];
  /* HaleCheckResult -> DetailsText: results never change, so their
   * details are written once; only the clock's part is written anew. */
  GHashTable *details_text;
  guint64 swept_generation;
};

typedef struct
{
  HaleCheckResult *result; /* a reference: the key stays valid */
  char *head;              /* up to where the clock's members go */
  char *tail;              /* the rest, with the closing brace */
  gboolean remaining;      /* the clock's members go between the two */
  gboolean has_not_after;
  gint64 not_after;
  gint64 lifetime;
} DetailsText;

static void
details_text_free (DetailsText *dt)
{
  hale_check_result_unref (dt->result);
  g_free (dt->head);
  g_free (dt->tail);
  g_free (dt);
}

G_DEFINE_TYPE (HaleReport, hale_report, G_TYPE_OBJECT)

/* The JSON is written straight into one GString rather than built as a
 * json-glib tree and generated: with ten thousand certificates the tree
 * is a million small allocations, and /health took 400 ms to render.
 * The output is what json-glib's compact generator printed: members in
 * order, strings escaped as json-glib escapes them, doubles with the
 * shortest round-trip digits and a ".0" when they would read as
 * integers. */

/* A JSON object being written: its members are separated by commas. */
typedef struct
{
  GString *out;
  gboolean first;
} Writer;

static void
write_string (GString *out, const char *s)
{
  const char *run = s;

  g_string_append_c (out, '"');
  for (; *s != '\0'; s++)
    {
      guchar c = (guchar)*s;
      const char *escape = NULL;
      char buf[8];

      switch (c)
        {
          case '"':
            escape = "\\\"";
            break;
          case '\\':
            escape = "\\\\";
            break;
          case '\b':
            escape = "\\b";
            break;
          case '\f':
            escape = "\\f";
            break;
          case '\n':
            escape = "\\n";
            break;
          case '\r':
            escape = "\\r";
            break;
          case '\t':
            escape = "\\t";
            break;
          default:
            if (c < 0x20 || c == 0x7f)
              {
                g_snprintf (buf, sizeof buf, "\\u%04x", c);
                escape = buf;
              }
            break;
        }
      if (escape == NULL)
        continue;
      g_string_append_len (out, run, s - run);
      g_string_append (out, escape);
      run = s + 1;
    }
  g_string_append_len (out, run, s - run);
  g_string_append_c (out, '"');
}

static void
write_int (GString *out, gint64 v)
{
  g_string_append_printf (out, "%" G_GINT64_FORMAT, v);
}

static void
write_double (GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* JSON has no NaN or infinity. */
  if (!isfinite (v))
    {
      g_string_append (out, "null");
      return;
    }
  g_ascii_dtostr (buf, sizeof buf, v);
  g_string_append (out, buf);
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

/* RFC 3339 in UTC, second resolution ("2026-11-21T05:54:09Z"): what
 * Go's time.RFC3339 printed in the seed, and what jq's fromdate reads.
 * null for no time (0) and for what GDateTime cannot hold. */
static void
write_timestamp (GString *out, gint64 unix_seconds)
{
  time_t t = (time_t)unix_seconds;
  struct tm tm;

  if (unix_seconds <= 0 || gmtime_r (&t, &tm) == NULL || tm.tm_year + 1900 > 9999)
    {
      g_string_append (out, "null");
      return;
    }
  g_string_append_printf (out, "\"%04d-%02d-%02dT%02d:%02d:%02dZ\"", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
object_begin (Writer *w, GString *out)
{
  w->out = out;
  w->first = TRUE;
  g_string_append_c (out, '{');
}

static void
object_end (Writer *w)
{
  g_string_append_c (w->out, '}');
}

/* Writes "NAME": and leaves the value to the caller. */
static GString *
member (Writer *w, const char *name)
{
  if (!w->first)
    g_string_append_c (w->out, ',');
  w->first = FALSE;
  write_string (w->out, name);
  g_string_append_c (w->out, ':');
  return w->out;
}

static void
member_string (Writer *w, const char *name, const char *value)
{
  write_string (member (w, name), value);
}

static void
member_int (Writer *w, const char *name, gint64 value)
{
  write_int (member (w, name), value);
}

static void
member_boolean (Writer *w, const char *name, gboolean value)
{
  g_string_append (member (w, name), value ? "true" : "false");
}

static void
write_variant (GString *out, GVariant *value);

/* Adds computed members to an object being written. */
typedef void (*InsertFunc) (Writer *w, gconstpointer data);

/* @insert adds its members right after the member @after, or at the end
 * when there is none: computed values sit next to what they are computed
 * from. */
static void
write_vardict_with (GString *out, GVariant *dict, const char *after, InsertFunc insert,
                    gconstpointer data)
{
  Writer w;
  GVariantIter iter;
  GVariant *entry;

  object_begin (&w, out);
  g_variant_iter_init (&iter, dict);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_autoptr (GVariant) key = g_variant_get_child_value (entry, 0);
      g_autoptr (GVariant) value = g_variant_get_child_value (entry, 1);
      gboolean string_key = g_variant_is_of_type (key, G_VARIANT_TYPE_STRING);

      /* Dictionaries keyed by numbers do not occur in details; print
       * their keys rather than dropping them. */
      if (string_key)
        write_variant (member (&w, g_variant_get_string (key, NULL)), value);
      else
        {
          g_autofree char *printed = g_variant_print (key, FALSE);
          write_variant (member (&w, printed), value);
        }
      if (insert != NULL && string_key && g_str_equal (g_variant_get_string (key, NULL), after))
        {
          insert (&w, data);
          insert = NULL;
        }
      g_variant_unref (entry);
    }
  if (insert != NULL)
    insert (&w, data);
  object_end (&w);
}

static void
write_vardict (GString *out, GVariant *dict)
{
  write_vardict_with (out, dict, NULL, NULL, NULL);
}

/* Details only hold plain values and dictionaries, which map onto JSON
 * one to one; tuples and other arrays become arrays, maybes their value
 * or null. */
static void
write_variant (GString *out, GVariant *value)
{
  switch (g_variant_classify (value))
    {
      case G_VARIANT_CLASS_BOOLEAN:
        g_string_append (out, g_variant_get_boolean (value) ? "true" : "false");
        return;
      case G_VARIANT_CLASS_BYTE:
        write_int (out, g_variant_get_byte (value));
        return;
      case G_VARIANT_CLASS_INT16:
        write_int (out, g_variant_get_int16 (value));
        return;
      case G_VARIANT_CLASS_UINT16:
        write_int (out, g_variant_get_uint16 (value));
        return;
      case G_VARIANT_CLASS_INT32:
        write_int (out, g_variant_get_int32 (value));
        return;
      case G_VARIANT_CLASS_UINT32:
        write_int (out, g_variant_get_uint32 (value));
        return;
      case G_VARIANT_CLASS_INT64:
        write_int (out, g_variant_get_int64 (value));
        return;
      case G_VARIANT_CLASS_HANDLE:
        write_int (out, g_variant_get_handle (value));
        return;
      case G_VARIANT_CLASS_UINT64:
        {
          guint64 v = g_variant_get_uint64 (value);
          if (v <= G_MAXINT64)
            write_int (out, (gint64)v);
          else
            write_double (out, (double)v);
          return;
        }
      case G_VARIANT_CLASS_DOUBLE:
        write_double (out, g_variant_get_double (value));
        return;
      case G_VARIANT_CLASS_STRING:
      case G_VARIANT_CLASS_OBJECT_PATH:
      case G_VARIANT_CLASS_SIGNATURE:
        write_string (out, g_variant_get_string (value, NULL));
        return;
      case G_VARIANT_CLASS_VARIANT:
        {
          g_autoptr (GVariant) inner = g_variant_get_variant (value);
          write_variant (out, inner);
          return;
        }
      case G_VARIANT_CLASS_MAYBE:
        {
          g_autoptr (GVariant) inner = g_variant_get_maybe (value);
          if (inner == NULL)
            g_string_append (out, "null");
          else
            write_variant (out, inner);
          return;
        }
      case G_VARIANT_CLASS_ARRAY:
        if (g_variant_type_is_dict_entry (g_variant_type_element (g_variant_get_type (value))))
          {
            write_vardict (out, value);
            return;
          }
        G_GNUC_FALLTHROUGH;
      case G_VARIANT_CLASS_TUPLE:
      case G_VARIANT_CLASS_DICT_ENTRY:
        {
          gsize n = g_variant_n_children (value);

          g_string_append_c (out, '[');
          for (gsize i = 0; i < n; i++)
            {
              g_autoptr (GVariant) child = g_variant_get_child_value (value, i);
              if (i > 0)
                g_string_append_c (out, ',');
              write_variant (out, child);
            }
          g_string_append_c (out, ']');
          return;
        }
    }
  g_string_append (out, "null");
}

static gboolean
details_lookup_int64 (GVariant *details, const char *key, gint64 *out)
{
  g_autoptr (GVariant) value = g_variant_lookup_value (details, key, NULL);

  if (value == NULL)
    return FALSE;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    *out = g_variant_get_int64 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    *out = (gint64)MIN (g_variant_get_uint64 (value), (guint64)G_MAXINT64);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    *out = g_variant_get_int32 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    *out = (gint64)g_variant_get_double (value);
  else
    return FALSE;
  return TRUE;
}

/* The certificate watch keeps in the state only what the file says
 * ("not_after", "lifetime_seconds"): a re-check that finds the same file
 * is then no change, and ten thousand certificates do not republish
 * themselves every minute. What follows from the clock is worked out
 * here, when the report is rendered, at most once a second: "remaining"
 * ("29d23h"), "remaining_seconds" and "percentage" of the lifetime used.
 * A source that gives them itself keeps its own. */
typedef struct
{
  gint64 now;
  gint64 not_after;
  gint64 lifetime; /* G_MININT64: unknown */
} Remaining;

static void
insert_remaining (Writer *w, gconstpointer data)
{
  const Remaining *r = data;
  g_autofree char *remaining = hale_span_format (r->not_after - r->now, 2);

  member_string (w, "remaining", remaining);
  member_int (w, "remaining_seconds", r->not_after - r->now);
  if (r->lifetime != G_MININT64)
    {
      double percentage = 100.0;

      if (r->lifetime > 0)
        percentage
            = CLAMP ((double)(r->now - (r->not_after - r->lifetime)) * 100.0 / (double)r->lifetime,
                     0.0, 100.0);
      write_double (member (w, "percentage"), percentage);
    }
}

/* Marks where the clock's members go while the details are written
 * once: the writer is cut there into a head and a tail. */
static void
insert_mark (Writer *w, gconstpointer data)
{
  gsize *mark = (gsize *)data;

  *mark = w->out->len;
}

static DetailsText *
details_text_new (HaleCheckResult *result)
{
  DetailsText *dt = g_new0 (DetailsText, 1);
  g_autoptr (GVariant) given = NULL;
  GString *text = g_string_new (NULL);
  gsize mark = 0;

  dt->result = hale_check_result_ref (result);
  dt->lifetime = G_MININT64;
  dt->has_not_after = details_lookup_int64 (result->details, "not_after", &dt->not_after);
  dt->remaining = g_str_has_prefix (result->name, HALE_CHECK_PREFIX_CERTIFICATE)
                  && dt->has_not_after
                  && (given = g_variant_lookup_value (result->details, "remaining", NULL)) == NULL;
  if (!dt->remaining)
    {
      write_vardict (text, result->details);
      dt->head = g_string_free (text, FALSE);
      dt->tail = g_strdup ("");
      return dt;
    }
  details_lookup_int64 (result->details, "lifetime_seconds", &dt->lifetime);
  write_vardict_with (text, result->details, "not_after", insert_mark, &mark);
  dt->tail = g_strdup (text->str + mark);
  g_string_truncate (text, mark);
  dt->head = g_string_free (text, FALSE);
  return dt;
}

static DetailsText *
get_details_text (HaleReport *self, HaleCheckResult *result)
{
  DetailsText *dt = g_hash_table_lookup (self->details_text, result);

  if (dt == NULL)
    {
      dt = details_text_new (result);
      g_hash_table_insert (self->details_text, result, dt);
    }
  return dt;
}

static void
write_details (HaleReport *self, GString *out, HaleCheckResult *result, gint64 now)
{
  DetailsText *dt = get_details_text (self, result);
  g_string_append (out, dt->head);
  if (dt->remaining)
    {
      Remaining r = { .now = now, .not_after = dt->not_after, .lifetime = dt->lifetime };
      /* The head has at least "not_after": the clock's members follow
       * with a comma. */
      Writer w = { .out = out, .first = FALSE };

      insert_remaining (&w, &r);
    }
  g_string_append (out, dt->tail);
}

/* Drops the text of results the state no longer holds, once per state
 * generation. */
static void
sweep_details_text (HaleReport *self)
{
  guint64 generation = hale_state_get_generation (self->state);
  GHashTableIter iter;
  gpointer value;

  if (generation == self->swept_generation)
    return;
  self->swept_generation = generation;
  g_hash_table_iter_init (&iter, self->details_text);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      DetailsText *dt = value;
      g_autoptr (HaleCheckResult) now = hale_state_get_check (self->state, dt->result->name);

      if (now != dt->result)
        g_hash_table_iter_remove (&iter);
    }
}

/* {"status", "message", "details", "checked_at", "duration_ms"}: the same
 * shape for a check wherever it appears. */
static void
write_check (HaleReport *self, GString *out, HaleCheckResult *result, gint64 now)
{
  Writer w;

  object_begin (&w, out);
  member_string (&w, "status", hale_check_status_to_string (result->status));
  member_string (&w, "message", result->message);
  write_details (self, member (&w, "details"), result, now);
  write_timestamp (member (&w, "checked_at"), result->checked_at / G_USEC_PER_SEC);
  /* Whole milliseconds, rounded. */
  member_int (&w, "duration_ms", (MAX (result->duration, 0) + 500) / 1000);
  object_end (&w);
}

/* Checks of one kind by their group name, the prefix dropped:
 * "certificate:current" shows as "current". */
static void
write_checks_by_name (HaleReport *self, GString *out, GPtrArray *checks, const char *prefix,
                      gint64 now)
{
  Writer w;
  gsize prefix_len = prefix ? strlen (prefix) : 0;

  object_begin (&w, out);
  for (guint i = 0; i < checks->len; i++)
    {
      HaleCheckResult *result = g_ptr_array_index (checks, i);
      write_check (self, member (&w, result->name + prefix_len), result, now);
    }
  object_end (&w);
}

static HaleCheckStatus
worst_status (GPtrArray *checks)
{
  HaleCheckStatus worst = HALE_CHECK_HEALTHY;

  for (guint i = 0; i < checks->len; i++)
    {
      const HaleCheckResult *result = g_ptr_array_index (checks, i);
      worst = MAX (worst, result->status);
    }
  return worst;
}

/* The certificate an operator should look at first: the worst status,
 * then the one that expires first (details "not_after", which the watch
 * gives), then the first by name. */
static HaleCheckResult *
most_urgent (HaleReport *self, GPtrArray *checks)
{
  HaleCheckResult *best = NULL;
  gint64 best_not_after = G_MAXINT64;

  for (guint i = 0; i < checks->len; i++)
    {
      HaleCheckResult *result = g_ptr_array_index (checks, i);
      /* Its details are written next anyway: read "not_after" once. */
      DetailsText *dt = get_details_text (self, result);
      gint64 not_after = dt->has_not_after ? dt->not_after : G_MAXINT64;

      if (best == NULL || result->status > best->status
          || (result->status == best->status && not_after < best_not_after))
        {
          best = result;
          best_not_after = not_after;
        }
    }
  return best;
}

static void
write_all (HaleReport *self, Writer *w, gint64 now, guint *out_http_status)
{
  g_autoptr (GPtrArray) checks = hale_state_list_checks (self->state, NULL);
  HaleStatus status = hale_state_get_status (self->state);

  member_string (w, "status", hale_status_to_string (status));
  member_boolean (w, "degraded_mode", hale_state_get_degraded (self->state));
  /* Full names here: one object holds every kind of check. */
  write_checks_by_name (self, member (w, "checks"), checks, NULL, now);
  *out_http_status = status == HALE_STATUS_UNHEALTHY ? 503 : 200;
}

static void
write_certificate (HaleReport *self, Writer *w, gint64 now, guint *out_http_status)
{
  g_autoptr (GPtrArray) checks
      = hale_state_list_checks (self->state, HALE_CHECK_PREFIX_CERTIFICATE);
  HaleCheckResult *urgent = most_urgent (self, checks);
  HaleCheckStatus status = worst_status (checks);

  /* The seed had exactly one certificate and answered its check at the
   * top level; with one certificate configured this is that shape, with
   * several it is the one that needs attention first. */
  member_string (w, "status", hale_check_status_to_string (status));
  member_string (w, "message", urgent ? urgent->message : "no certificates configured");
  if (urgent != NULL)
    write_details (self, member (w, "details"), urgent, now);
  else
    g_string_append (member (w, "details"), "{}");
  write_checks_by_name (self, member (w, "certificates"), checks, HALE_CHECK_PREFIX_CERTIFICATE,
                        now);
  *out_http_status = status == HALE_CHECK_CRITICAL ? 503 : 200;
}

static void
write_connectivity (HaleReport *self, Writer *w, gint64 now, guint *out_http_status)
{
  g_autoptr (HaleCheckResult) connectivity
      = hale_state_get_check (self->state, HALE_CHECK_CONNECTIVITY);
  g_autoptr (GPtrArray) endpoints
      = hale_state_list_checks (self->state, HALE_CHECK_PREFIX_ENDPOINT);
  HaleCheckStatus status = connectivity ? connectivity->status : HALE_CHECK_HEALTHY;
  const char *state = NULL;

  if (connectivity != NULL)
    g_variant_lookup (connectivity->details, "state", "&s", &state);

  member_string (w, "status", hale_check_status_to_string (status));
  /* "unknown" until the probes have said anything. */
  member_string (w, "state", state ? state : "unknown");
  write_checks_by_name (self, member (w, "endpoints"), endpoints, HALE_CHECK_PREFIX_ENDPOINT, now);
  member_boolean (w, "degraded_mode", hale_state_get_degraded (self->state));
  *out_http_status = status == HALE_CHECK_CRITICAL ? 503 : 200;
}

static void
write_services (HaleReport *self, Writer *w, gint64 now, guint *out_http_status)
{
  g_autoptr (GPtrArray) services = hale_state_list_checks (self->state, HALE_CHECK_PREFIX_SERVICE);
  HaleCheckStatus status = worst_status (services);

  member_string (w, "status", hale_check_status_to_string (status));
  write_checks_by_name (self, member (w, "services"), services, HALE_CHECK_PREFIX_SERVICE, now);
  *out_http_status = status == HALE_CHECK_CRITICAL ? 503 : 200;
}

static GBytes *
render (HaleReport *self, HaleReportSection section, gint64 now_seconds, guint *out_http_status)
{
  /* About 700 bytes a certificate: the last size is the best guess. */
  GString *text = g_string_sized_new (MAX (self->cache[section].last_size, 256));
  Writer w;

  sweep_details_text (self);
  object_begin (&w, text);
  switch (section)
    {
      case HALE_REPORT_ALL:
        write_all (self, &w, now_seconds, out_http_status);
        break;
      case HALE_REPORT_CERTIFICATE:
        write_certificate (self, &w, now_seconds, out_http_status);
        break;
      case HALE_REPORT_CONNECTIVITY:
        write_connectivity (self, &w, now_seconds, out_http_status);
        break;
      case HALE_REPORT_SERVICES:
        write_services (self, &w, now_seconds, out_http_status);
        break;
    }
  write_timestamp (member (&w, "timestamp"), now_seconds);
  object_end (&w);

  /* Compact, one line, then a newline so `curl` leaves the prompt on a
   * line of its own. */
  g_string_append_c (text, '\n');
  self->cache[section].last_size = text->len;
  return g_string_free_to_bytes (text);
}

GBytes *
hale_report_get_json (HaleReport *self, HaleReportSection section, guint *out_http_status)
{
  SectionCache *cache;
  guint64 generation;
  gint64 now_seconds;

  g_return_val_if_fail (HALE_IS_REPORT (self), NULL);
  g_return_val_if_fail ((guint)section < N_SECTIONS, NULL);

  cache = &self->cache[section];
  if (cache->renderer != NULL)
    {
      guint status = 200;
      GBytes *bytes = cache->renderer (cache->renderer_data, &status);
      if (out_http_status != NULL)
        *out_http_status = status;
      return bytes;
    }
  generation = hale_state_get_generation (self->state);
  now_seconds = g_get_real_time () / G_USEC_PER_SEC;

  if (cache->bytes == NULL || cache->generation != generation || cache->second != now_seconds)
    {
      g_clear_pointer (&cache->bytes, g_bytes_unref);
      cache->bytes = render (self, section, now_seconds, &cache->http_status);
      cache->generation = generation;
      cache->second = now_seconds;
    }

  if (out_http_status != NULL)
    *out_http_status = cache->http_status;
  return g_bytes_ref (cache->bytes);
}

static void
hale_report_finalize (GObject *object)
{
  HaleReport *self = HALE_REPORT (object);

  for (guint i = 0; i < N_SECTIONS; i++)
    {
      g_clear_pointer (&self->cache[i].bytes, g_bytes_unref);
      if (self->cache[i].renderer_destroy != NULL)
        self->cache[i].renderer_destroy (self->cache[i].renderer_data);
    }
  g_hash_table_unref (self->details_text);
  g_clear_object (&self->state);
  G_OBJECT_CLASS (hale_report_parent_class)->finalize (object);
}

static void
hale_report_class_init (HaleReportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hale_report_finalize;
}

static void
hale_report_init (HaleReport *self)
{
  self->details_text = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify)details_text_free);
}

void
hale_report_set_renderer (HaleReport *self, HaleReportSection section, HaleReportRenderer renderer,
                          gpointer user_data, GDestroyNotify destroy)
{
  SectionCache *cache;

  g_return_if_fail (HALE_IS_REPORT (self));
  g_return_if_fail ((guint)section < N_SECTIONS);

  cache = &self->cache[section];
  if (cache->renderer_destroy != NULL)
    cache->renderer_destroy (cache->renderer_data);
  g_clear_pointer (&cache->bytes, g_bytes_unref);
  cache->renderer = renderer;
  cache->renderer_data = user_data;
  cache->renderer_destroy = destroy;
}

HaleReport *
hale_report_new (HaleState *state)
{
  HaleReport *self;

  g_return_val_if_fail (HALE_IS_STATE (state), NULL);

  self = g_object_new (HALE_TYPE_REPORT, NULL);
  self->state = g_object_ref (state);
  return self;
}
