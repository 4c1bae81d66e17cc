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

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "hale-names.h"
#include "hale-units.h"

#define N_SECTIONS (HALE_REPORT_SERVICES + 1)

typedef struct
{
  GBytes *bytes; /* NULL until first rendered */
  guint http_status;
  guint64 generation;
  gint64 second;
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
};

G_DEFINE_TYPE (HaleReport, hale_report, G_TYPE_OBJECT)

/* RFC 3339 in UTC, second resolution ("2026-11-21T05:54:09Z"): what
 * Go's time.RFC3339 printed in the seed, and what jq's fromdate reads. */
static char *
format_rfc3339 (gint64 unix_seconds)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (unix_seconds);

  if (dt == NULL)
    return NULL;
  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

static JsonNode *
variant_to_json (GVariant *value);

/* Adds computed members to @object. */
typedef void (*InsertFunc) (JsonObject *object, gconstpointer data);

/* @insert adds its members right after the member @after, or at the end
 * when there is none: computed values sit next to what they are computed
 * from. */
static JsonNode *
vardict_to_json_with (GVariant *dict, const char *after, InsertFunc insert, gconstpointer data)
{
  JsonObject *object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  GVariantIter iter;
  GVariant *entry;

  g_variant_iter_init (&iter, dict);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_autoptr (GVariant) key = g_variant_get_child_value (entry, 0);
      g_autoptr (GVariant) value = g_variant_get_child_value (entry, 1);

      /* Dictionaries keyed by numbers do not occur in details; print
       * their keys rather than dropping them. */
      if (g_variant_is_of_type (key, G_VARIANT_TYPE_STRING))
        json_object_set_member (object, g_variant_get_string (key, NULL), variant_to_json (value));
      else
        {
          g_autofree char *printed = g_variant_print (key, FALSE);
          json_object_set_member (object, printed, variant_to_json (value));
        }
      if (insert != NULL && g_variant_is_of_type (key, G_VARIANT_TYPE_STRING)
          && g_str_equal (g_variant_get_string (key, NULL), after))
        {
          insert (object, data);
          insert = NULL;
        }
      g_variant_unref (entry);
    }
  if (insert != NULL)
    insert (object, data);
  json_node_take_object (node, object);
  return node;
}

static JsonNode *
vardict_to_json (GVariant *dict)
{
  return vardict_to_json_with (dict, NULL, NULL, NULL);
}

/* By hand rather than json_gvariant_serialize(): that one turns tuples
 * into arrays of arrays and maybe types into odd shapes; details only
 * hold plain values and dictionaries, which map onto JSON one to one. */
static JsonNode *
variant_to_json (GVariant *value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  switch (g_variant_classify (value))
    {
      case G_VARIANT_CLASS_BOOLEAN:
        json_node_set_boolean (node, g_variant_get_boolean (value));
        return node;
      case G_VARIANT_CLASS_BYTE:
        json_node_set_int (node, g_variant_get_byte (value));
        return node;
      case G_VARIANT_CLASS_INT16:
        json_node_set_int (node, g_variant_get_int16 (value));
        return node;
      case G_VARIANT_CLASS_UINT16:
        json_node_set_int (node, g_variant_get_uint16 (value));
        return node;
      case G_VARIANT_CLASS_INT32:
        json_node_set_int (node, g_variant_get_int32 (value));
        return node;
      case G_VARIANT_CLASS_UINT32:
        json_node_set_int (node, g_variant_get_uint32 (value));
        return node;
      case G_VARIANT_CLASS_INT64:
        json_node_set_int (node, g_variant_get_int64 (value));
        return node;
      case G_VARIANT_CLASS_HANDLE:
        json_node_set_int (node, g_variant_get_handle (value));
        return node;
      case G_VARIANT_CLASS_UINT64:
        {
          guint64 v = g_variant_get_uint64 (value);
          if (v <= G_MAXINT64)
            json_node_set_int (node, (gint64)v);
          else
            json_node_set_double (node, (double)v);
          return node;
        }
      case G_VARIANT_CLASS_DOUBLE:
        {
          double v = g_variant_get_double (value);
          /* JSON has no NaN or infinity. */
          if (isfinite (v))
            json_node_set_double (node, v);
          else
            json_node_init_null (node);
          return node;
        }
      case G_VARIANT_CLASS_STRING:
      case G_VARIANT_CLASS_OBJECT_PATH:
      case G_VARIANT_CLASS_SIGNATURE:
        json_node_set_string (node, g_variant_get_string (value, NULL));
        return node;
      case G_VARIANT_CLASS_VARIANT:
        {
          g_autoptr (GVariant) inner = g_variant_get_variant (value);
          json_node_unref (node);
          return variant_to_json (inner);
        }
      case G_VARIANT_CLASS_MAYBE:
        {
          g_autoptr (GVariant) inner = g_variant_get_maybe (value);
          if (inner == NULL)
            {
              json_node_init_null (node);
              return node;
            }
          json_node_unref (node);
          return variant_to_json (inner);
        }
      case G_VARIANT_CLASS_ARRAY:
        if (g_variant_type_is_dict_entry (g_variant_type_element (g_variant_get_type (value))))
          {
            json_node_unref (node);
            return vardict_to_json (value);
          }
        G_GNUC_FALLTHROUGH;
      case G_VARIANT_CLASS_TUPLE:
      case G_VARIANT_CLASS_DICT_ENTRY:
        {
          JsonArray *array = json_array_new ();
          gsize n = g_variant_n_children (value);

          for (gsize i = 0; i < n; i++)
            {
              g_autoptr (GVariant) child = g_variant_get_child_value (value, i);
              json_array_add_element (array, variant_to_json (child));
            }
          json_node_init_array (node, array);
          json_array_unref (array);
          return node;
        }
    }

  json_node_init_null (node);
  return node;
}

static void
add_timestamp (JsonObject *object, const char *member, gint64 unix_seconds)
{
  g_autofree char *text = unix_seconds > 0 ? format_rfc3339 (unix_seconds) : NULL;

  if (text != NULL)
    json_object_set_string_member (object, member, text);
  else
    json_object_set_null_member (object, member);
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
insert_remaining (JsonObject *object, gconstpointer data)
{
  const Remaining *r = data;
  g_autofree char *remaining = hale_span_format (r->not_after - r->now, 2);

  json_object_set_string_member (object, "remaining", remaining);
  json_object_set_int_member (object, "remaining_seconds", r->not_after - r->now);
  if (r->lifetime != G_MININT64)
    {
      double percentage = 100.0;

      if (r->lifetime > 0)
        percentage
            = CLAMP ((double)(r->now - (r->not_after - r->lifetime)) * 100.0 / (double)r->lifetime,
                     0.0, 100.0);
      json_object_set_double_member (object, "percentage", percentage);
    }
}

static JsonNode *
details_to_json (const HaleCheckResult *result, gint64 now)
{
  g_autoptr (GVariant) given = NULL;
  Remaining r = { .now = now, .lifetime = G_MININT64 };

  if (!g_str_has_prefix (result->name, HALE_CHECK_PREFIX_CERTIFICATE)
      || !details_lookup_int64 (result->details, "not_after", &r.not_after)
      || (given = g_variant_lookup_value (result->details, "remaining", NULL)) != NULL)
    return vardict_to_json (result->details);
  details_lookup_int64 (result->details, "lifetime_seconds", &r.lifetime);
  return vardict_to_json_with (result->details, "not_after", insert_remaining, &r);
}

/* {"status", "message", "details", "checked_at", "duration_ms"}: the same
 * shape for a check wherever it appears. */
static JsonNode *
check_to_json (const HaleCheckResult *result, gint64 now)
{
  JsonObject *object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (object, "status", hale_check_status_to_string (result->status));
  json_object_set_string_member (object, "message", result->message);
  json_object_set_member (object, "details", details_to_json (result, now));
  add_timestamp (object, "checked_at", result->checked_at / G_USEC_PER_SEC);
  /* Whole milliseconds, rounded: a double would print as
   * 0.12300000000000001 through json-glib. */
  json_object_set_int_member (object, "duration_ms", (MAX (result->duration, 0) + 500) / 1000);
  json_node_take_object (node, object);
  return node;
}

/* Checks of one kind by their group name, the prefix dropped:
 * "certificate:current" shows as "current". */
static JsonNode *
checks_by_name (GPtrArray *checks, const char *prefix, gint64 now)
{
  JsonObject *object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  gsize prefix_len = prefix ? strlen (prefix) : 0;

  for (guint i = 0; i < checks->len; i++)
    {
      const HaleCheckResult *result = g_ptr_array_index (checks, i);
      json_object_set_member (object, result->name + prefix_len, check_to_json (result, now));
    }
  json_node_take_object (node, object);
  return node;
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
 * then the one that expires first (details "not_after", when the watch
 * gives it), then the first by name. */
static const HaleCheckResult *
most_urgent (GPtrArray *checks)
{
  const HaleCheckResult *best = NULL;
  gint64 best_not_after = G_MAXINT64;

  for (guint i = 0; i < checks->len; i++)
    {
      const HaleCheckResult *result = g_ptr_array_index (checks, i);
      gint64 not_after = G_MAXINT64;

      details_lookup_int64 (result->details, "not_after", &not_after);
      if (best == NULL || result->status > best->status
          || (result->status == best->status && not_after < best_not_after))
        {
          best = result;
          best_not_after = not_after;
        }
    }
  return best;
}

static JsonNode *
empty_object (void)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, json_object_new ());
  return node;
}

static JsonObject *
build_all (HaleReport *self, gint64 now, guint *out_http_status)
{
  JsonObject *root = json_object_new ();
  g_autoptr (GPtrArray) checks = hale_state_list_checks (self->state, NULL);
  HaleStatus status = hale_state_get_status (self->state);

  json_object_set_string_member (root, "status", hale_status_to_string (status));
  json_object_set_boolean_member (root, "degraded_mode", hale_state_get_degraded (self->state));
  /* Full names here: one object holds every kind of check. */
  json_object_set_member (root, "checks", checks_by_name (checks, NULL, now));
  *out_http_status = status == HALE_STATUS_UNHEALTHY ? 503 : 200;
  return root;
}

static JsonObject *
build_certificate (HaleReport *self, gint64 now, guint *out_http_status)
{
  JsonObject *root = json_object_new ();
  g_autoptr (GPtrArray) checks
      = hale_state_list_checks (self->state, HALE_CHECK_PREFIX_CERTIFICATE);
  const HaleCheckResult *urgent = most_urgent (checks);
  HaleCheckStatus status = worst_status (checks);

  /* The seed had exactly one certificate and answered its check at the
   * top level; with one certificate configured this is that shape, with
   * several it is the one that needs attention first. */
  json_object_set_string_member (root, "status", hale_check_status_to_string (status));
  json_object_set_string_member (root, "message",
                                 urgent ? urgent->message : "no certificates configured");
  json_object_set_member (root, "details",
                          urgent ? details_to_json (urgent, now) : empty_object ());
  json_object_set_member (root, "certificates",
                          checks_by_name (checks, HALE_CHECK_PREFIX_CERTIFICATE, now));
  *out_http_status = status == HALE_CHECK_CRITICAL ? 503 : 200;
  return root;
}

static JsonObject *
build_connectivity (HaleReport *self, gint64 now, guint *out_http_status)
{
  JsonObject *root = json_object_new ();
  g_autoptr (HaleCheckResult) connectivity
      = hale_state_get_check (self->state, HALE_CHECK_CONNECTIVITY);
  g_autoptr (GPtrArray) endpoints
      = hale_state_list_checks (self->state, HALE_CHECK_PREFIX_ENDPOINT);
  HaleCheckStatus status = connectivity ? connectivity->status : HALE_CHECK_HEALTHY;
  const char *state = NULL;

  if (connectivity != NULL)
    g_variant_lookup (connectivity->details, "state", "&s", &state);

  json_object_set_string_member (root, "status", hale_check_status_to_string (status));
  /* "unknown" until the probes have said anything. */
  json_object_set_string_member (root, "state", state ? state : "unknown");
  json_object_set_member (root, "endpoints",
                          checks_by_name (endpoints, HALE_CHECK_PREFIX_ENDPOINT, now));
  json_object_set_boolean_member (root, "degraded_mode", hale_state_get_degraded (self->state));
  *out_http_status = status == HALE_CHECK_CRITICAL ? 503 : 200;
  return root;
}

static JsonObject *
build_services (HaleReport *self, gint64 now, guint *out_http_status)
{
  JsonObject *root = json_object_new ();
  g_autoptr (GPtrArray) services = hale_state_list_checks (self->state, HALE_CHECK_PREFIX_SERVICE);
  HaleCheckStatus status = worst_status (services);

  json_object_set_string_member (root, "status", hale_check_status_to_string (status));
  json_object_set_member (root, "services",
                          checks_by_name (services, HALE_CHECK_PREFIX_SERVICE, now));
  *out_http_status = status == HALE_CHECK_CRITICAL ? 503 : 200;
  return root;
}

static GBytes *
render (HaleReport *self, HaleReportSection section, gint64 now_seconds, guint *out_http_status)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = NULL;
  GString *text;

  switch (section)
    {
      case HALE_REPORT_ALL:
        object = build_all (self, now_seconds, out_http_status);
        break;
      case HALE_REPORT_CERTIFICATE:
        object = build_certificate (self, now_seconds, out_http_status);
        break;
      case HALE_REPORT_CONNECTIVITY:
        object = build_connectivity (self, now_seconds, out_http_status);
        break;
      case HALE_REPORT_SERVICES:
        object = build_services (self, now_seconds, out_http_status);
        break;
    }
  g_assert (object != NULL);
  add_timestamp (object, "timestamp", now_seconds);
  json_node_take_object (root, object);

  /* Compact, one line, then a newline so `curl` leaves the prompt on a
   * line of its own. */
  json_generator_set_pretty (generator, FALSE);
  json_generator_set_root (generator, root);
  text = g_string_new (NULL);
  json_generator_to_gstring (generator, text);
  g_string_append_c (text, '\n');
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
