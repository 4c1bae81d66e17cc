/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-config.c: hale.conf and its drop-ins, read with GKeyFile and
 * checked against one table of groups and keys.
 *
 * Loading is two passes. The first reads every file on its own (so a
 * problem names its file) and merges the raw values: later files
 * override keys, groups accumulate in the order they first appear. The
 * second converts the merged values by the schema, checks what involves
 * several keys, and fills a HaleConfig. Problems from both passes are
 * collected, one "FILE:GROUP:KEY: what is wrong" line each, so an
 * operator fixes everything in one go.
 *
 * To add a key: add a field to the struct in hale-config.h, its default
 * to the group's constructor below, and a row to `keys`. To add a kind
 * of named group: a row to `groups` with its constructor, destructor
 * and the HaleConfig array it goes to.
 */
#include "config.h"

#include <gio/gio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "hale-config.h"
#include "hale-glob.h"
#include "hale-names.h"
#include "hale-sandbox.h"
#include "hale-units.h"

G_DEFINE_QUARK (hale - config - error - quark, hale_config_error)

/* ---- schema ------------------------------------------------------------ */

typedef enum
{
  KEY_STRING,
  KEY_PATH,           /* absolute path */
  KEY_URL,            /* http:// or https:// */
  KEY_BOOL,           /* true/false, yes/no, on/off, 1/0 */
  KEY_DURATION,       /* hale_duration_parse(), gint64 usec */
  KEY_SIZE,           /* hale_size_parse(), guint64 bytes */
  KEY_UINT,           /* guint */
  KEY_LISTEN,         /* hale_listen_parse(), kept as written */
  KEY_UNIT_NAME,      /* a systemd unit name */
  KEY_METRIC_PREFIX,  /* [a-zA-Z_][a-zA-Z0-9_]* */
  KEY_STATUS_RANGE,   /* "200-299" or "204": a HaleStatusRange */
  KEY_CERT_SELECTION, /* a boolean, or [Certificate] names split by ',' or ';' */
  KEY_ENUM,           /* one of KeySchema.words, stored as its index (an int) */
  KEY_NAME_LIST,      /* group names split by ',', ';' or spaces: a GStrv */
  KEY_TLS_VERSION,    /* "1.2" or "1.3": guint 12 or 13 */
  KEY_AUTH_SCOPE,     /* "none" or "same": gboolean */
  KEY_PATH_PREFIX,    /* "" or "/a/b": an URL path prefix, trailing '/' dropped */
  KEY_HOST_PORT,      /* HOST:PORT or [IPv6]:PORT to connect to, kept as written */
  KEY_HOST_NAME,      /* a DNS name (TLS server name) */
  KEY_URL_LIST,       /* KEY_URL, one or more separated by white space, kept as written */
} KeyType;

typedef enum
{
  KEY_FLAG_NONE = 0,
  KEY_FLAG_REQUIRED = 1 << 0,
  /* An empty value sets the key back to unset (NULL), so a drop-in can
   * turn off what the main file turned on, as in systemd's units. */
  KEY_FLAG_EMPTY_UNSETS = 1 << 1,
  /* 0 would make a timer spin or a size useless. */
  KEY_FLAG_NONZERO = 1 << 2,
} KeyFlags;

typedef enum
{
  GROUP_MONITORING,
  GROUP_NETWORK,
  GROUP_METRICS,
  GROUP_CERTIFICATE,
  GROUP_SERVICE,
  GROUP_ENDPOINT,
  GROUP_CHECK,
  GROUP_CATEGORY,
} GroupKind;

typedef struct
{
  const char *name; /* "Monitoring"; "Certificate" for [Certificate NAME] */
  gboolean named;
  /* For named groups: where the entries go and how to make one. */
  gsize array_offset;
  gpointer (*new_item) (const char *name);
  GDestroyNotify free_item;
} GroupSchema;

typedef struct
{
  GroupKind group;
  const char *key;
  KeyType type;
  KeyFlags flags;
  /* Into HaleConfig for unnamed groups, into the item for named ones. */
  gsize offset;
  /* KEY_ENUM: the words, NULL-terminated, in the order of the enum. */
  const char *const *words;
  /* KEY_UINT: the largest value (0: G_MAXUINT). KEY_DURATION: the
   * shortest (usec, 0: any): limits where a larger or smaller value would
   * make haled work against itself (renaming files in a loop, a timer
   * that never lets a read finish). */
  guint64 max;
  gint64 min_usec;
} KeySchema;

static gpointer
certificate_new (const char *name);
static gpointer
service_new (const char *name);
static gpointer
endpoint_new (const char *name);
static void
certificate_free (gpointer data);
static void
service_free (gpointer data);
static void
endpoint_free (gpointer data);
static gpointer
check_new (const char *name);
static void
check_free (gpointer data);
static gpointer
category_new (const char *name);
static void
category_free (gpointer data);

static const GroupSchema groups[] = {
  [GROUP_MONITORING] = { "Monitoring", FALSE },
  [GROUP_NETWORK] = { "Network", FALSE },
  [GROUP_METRICS] = { "Metrics", FALSE },
  [GROUP_CERTIFICATE] = { "Certificate", TRUE, G_STRUCT_OFFSET (HaleConfig, certificates),
                          certificate_new, certificate_free },
  [GROUP_SERVICE]
  = { "Service", TRUE, G_STRUCT_OFFSET (HaleConfig, services), service_new, service_free },
  [GROUP_ENDPOINT]
  = { "Endpoint", TRUE, G_STRUCT_OFFSET (HaleConfig, endpoints), endpoint_new, endpoint_free },
  [GROUP_CHECK] = { "Check", TRUE, G_STRUCT_OFFSET (HaleConfig, checks), check_new, check_free },
  [GROUP_CATEGORY]
  = { "Category", TRUE, G_STRUCT_OFFSET (HaleConfig, categories), category_new, category_free },
};

/* In the order of HaleCheckKind and HaleCheckFormat. */
static const char *const check_kinds[] = { "http", "unit", "push", NULL };
static const char *const check_formats[] = { "auto", "ft", "health+json", "seed", "status", NULL };

#define CFG(f) G_STRUCT_OFFSET (HaleConfig, f)
#define CERT(f) G_STRUCT_OFFSET (HaleCertificateConfig, f)
#define SVC(f) G_STRUCT_OFFSET (HaleServiceConfig, f)
#define EP(f) G_STRUCT_OFFSET (HaleEndpointConfig, f)
#define CHK(f) G_STRUCT_OFFSET (HaleCheckConfig, f)
#define CAT(f) G_STRUCT_OFFSET (HaleCategoryConfig, f)

static const KeySchema keys[] = {
  { GROUP_MONITORING, "MetricsListen", KEY_LISTEN, KEY_FLAG_NONE, CFG (metrics_listen) },
  { GROUP_MONITORING, "HealthListen", KEY_LISTEN, KEY_FLAG_NONE, CFG (health_listen) },
  { GROUP_MONITORING, "AuditLog", KEY_PATH, KEY_FLAG_EMPTY_UNSETS, CFG (audit_log) },
  { GROUP_MONITORING, "AuditLogMaxSize", KEY_SIZE, KEY_FLAG_NONZERO, CFG (audit_log_max_size) },
  { GROUP_MONITORING, "AuditLogKeep", KEY_UINT, KEY_FLAG_NONE, CFG (audit_log_keep), .max = 100 },
  { GROUP_MONITORING, "CertificateRecheckInterval", KEY_DURATION, KEY_FLAG_NONZERO,
    CFG (certificate_recheck), .min_usec = G_USEC_PER_SEC },
  { GROUP_MONITORING, "BackupKeep", KEY_UINT, KEY_FLAG_NONZERO, CFG (backup_keep), .max = 100 },
  { GROUP_MONITORING, "MetricsTLSCertificate", KEY_PATH, KEY_FLAG_EMPTY_UNSETS,
    CFG (metrics_tls.certificate) },
  { GROUP_MONITORING, "MetricsTLSKey", KEY_PATH, KEY_FLAG_EMPTY_UNSETS, CFG (metrics_tls.key) },
  { GROUP_MONITORING, "MetricsTLSMinVersion", KEY_TLS_VERSION, KEY_FLAG_NONE,
    CFG (metrics_tls.min_version) },
  { GROUP_MONITORING, "MetricsTLSClientCA", KEY_PATH, KEY_FLAG_EMPTY_UNSETS,
    CFG (metrics_tls.client_ca) },
  { GROUP_MONITORING, "HealthTLSCertificate", KEY_PATH, KEY_FLAG_EMPTY_UNSETS,
    CFG (health_tls.certificate) },
  { GROUP_MONITORING, "HealthTLSKey", KEY_PATH, KEY_FLAG_EMPTY_UNSETS, CFG (health_tls.key) },
  { GROUP_MONITORING, "HealthTLSMinVersion", KEY_TLS_VERSION, KEY_FLAG_NONE,
    CFG (health_tls.min_version) },
  { GROUP_MONITORING, "HealthTLSClientCA", KEY_PATH, KEY_FLAG_EMPTY_UNSETS,
    CFG (health_tls.client_ca) },
  { GROUP_MONITORING, "MetricsBearerTokenFile", KEY_PATH, KEY_FLAG_EMPTY_UNSETS,
    CFG (metrics_bearer_token_file) },
  { GROUP_MONITORING, "MetricsBasicAuthUsers", KEY_PATH, KEY_FLAG_EMPTY_UNSETS,
    CFG (metrics_basic_auth_users) },
  { GROUP_MONITORING, "HealthAuth", KEY_AUTH_SCOPE, KEY_FLAG_NONE, CFG (health_auth) },
  { GROUP_MONITORING, "HealthPathPrefix", KEY_PATH_PREFIX, KEY_FLAG_NONE,
    CFG (health_path_prefix) },

  { GROUP_NETWORK, "CheckInterval", KEY_DURATION, KEY_FLAG_NONZERO, CFG (check_interval),
    .min_usec = 100 * 1000 },
  { GROUP_NETWORK, "Timeout", KEY_DURATION, KEY_FLAG_NONZERO, CFG (timeout) },
  { GROUP_NETWORK, "DegradedThreshold", KEY_DURATION, KEY_FLAG_NONE, CFG (degraded_threshold) },

  { GROUP_METRICS, "Namespace", KEY_METRIC_PREFIX, KEY_FLAG_NONE, CFG (metrics_namespace) },

  { GROUP_CERTIFICATE, "Path", KEY_PATH, KEY_FLAG_REQUIRED, CERT (path) },
  { GROUP_CERTIFICATE, "WarningBefore", KEY_DURATION, KEY_FLAG_NONE, CERT (warning_before) },
  { GROUP_CERTIFICATE, "CriticalBefore", KEY_DURATION, KEY_FLAG_NONE, CERT (critical_before) },
  { GROUP_CERTIFICATE, "KeyPath", KEY_PATH, KEY_FLAG_EMPTY_UNSETS, CERT (key_path) },

  { GROUP_SERVICE, "Unit", KEY_UNIT_NAME, KEY_FLAG_REQUIRED, SVC (unit) },
  { GROUP_SERVICE, "HealthCheck", KEY_URL, KEY_FLAG_EMPTY_UNSETS, SVC (health_check) },
  { GROUP_SERVICE, "Timeout", KEY_DURATION, KEY_FLAG_NONZERO, SVC (timeout) },
  { GROUP_SERVICE, "Critical", KEY_BOOL, KEY_FLAG_NONE, SVC (critical) },
  { GROUP_SERVICE, "ReloadOnChange", KEY_CERT_SELECTION, KEY_FLAG_NONE, SVC (reload_on_change) },
  { GROUP_SERVICE, "TLSAddress", KEY_HOST_PORT, KEY_FLAG_EMPTY_UNSETS, SVC (tls_address) },
  { GROUP_SERVICE, "TLSServerName", KEY_HOST_NAME, KEY_FLAG_EMPTY_UNSETS, SVC (tls_server_name) },

  { GROUP_ENDPOINT, "URL", KEY_URL, KEY_FLAG_REQUIRED, EP (url) },
  { GROUP_ENDPOINT, "Critical", KEY_BOOL, KEY_FLAG_NONE, EP (critical) },
  { GROUP_ENDPOINT, "ExpectedStatus", KEY_STATUS_RANGE, KEY_FLAG_NONE, EP (expected_status) },
  { GROUP_ENDPOINT, "CAFile", KEY_PATH, KEY_FLAG_EMPTY_UNSETS, EP (ca_file) },

  /* Which keys go with which Kind= is checked in check_check(). */
  { GROUP_CHECK, "Kind", KEY_ENUM, KEY_FLAG_NONE, CHK (kind), check_kinds },
  { GROUP_CHECK, "URL", KEY_URL_LIST, KEY_FLAG_EMPTY_UNSETS, CHK (url) },
  { GROUP_CHECK, "Format", KEY_ENUM, KEY_FLAG_NONE, CHK (format), check_formats },
  { GROUP_CHECK, "Unit", KEY_UNIT_NAME, KEY_FLAG_EMPTY_UNSETS, CHK (unit) },
  { GROUP_CHECK, "TTL", KEY_DURATION, KEY_FLAG_NONZERO, CHK (ttl) },
  { GROUP_CHECK, "Severity", KEY_UINT, KEY_FLAG_NONZERO, CHK (severity) },
  { GROUP_CHECK, "Timeout", KEY_DURATION, KEY_FLAG_NONZERO, CHK (timeout) },
  { GROUP_CHECK, "Interval", KEY_DURATION, KEY_FLAG_NONZERO, CHK (interval),
    .min_usec = 100 * 1000 },
  { GROUP_CHECK, "CAFile", KEY_PATH, KEY_FLAG_EMPTY_UNSETS, CHK (ca_file) },

  /* Which names are [Check] groups is checked in check_categories(). */
  { GROUP_CATEGORY, "Checks", KEY_NAME_LIST, KEY_FLAG_REQUIRED, CAT (checks) },
  { GROUP_CATEGORY, "RefreshRate", KEY_DURATION, KEY_FLAG_NONZERO, CAT (refresh_rate) },
  { GROUP_CATEGORY, "Sticky", KEY_BOOL, KEY_FLAG_NONE, CAT (sticky) },
  { GROUP_CATEGORY, "Enabled", KEY_BOOL, KEY_FLAG_NONE, CAT (enabled) },
};

static const KeySchema *
schema_find_key (GroupKind group, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (keys[i].group == group && g_str_equal (keys[i].key, key))
      return &keys[i];
  return NULL;
}

/* A case-insensitive match, to suggest "Timeout" for "timeout". */
static const KeySchema *
schema_guess_key (GroupKind group, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (keys[i].group == group && g_ascii_strcasecmp (keys[i].key, key) == 0)
      return &keys[i];
  return NULL;
}

GStrv
hale_config_list_keys (void)
{
  GStrv list = g_new0 (char *, G_N_ELEMENTS (keys) + 1);

  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    list[i] = g_strdup_printf ("%s.%s", groups[keys[i].group].name, keys[i].key);
  return list;
}

/* ---- the config and its items ------------------------------------------- */

static gpointer
certificate_new (const char *name)
{
  HaleCertificateConfig *c = g_new0 (HaleCertificateConfig, 1);
  c->name = g_strdup (name);
  c->warning_before = 72 * G_TIME_SPAN_HOUR;
  c->critical_before = 24 * G_TIME_SPAN_HOUR;
  return c;
}

static void
certificate_free (gpointer data)
{
  HaleCertificateConfig *c = data;
  g_free (c->name);
  g_free (c->path);
  g_free (c->key_path);
  g_free (c);
}

static gpointer
service_new (const char *name)
{
  HaleServiceConfig *s = g_new0 (HaleServiceConfig, 1);
  s->name = g_strdup (name);
  s->timeout = 30 * G_TIME_SPAN_SECOND;
  return s;
}

static void
service_free (gpointer data)
{
  HaleServiceConfig *s = data;
  g_free (s->name);
  g_free (s->unit);
  g_free (s->health_check);
  g_free (s->tls_address);
  g_free (s->tls_server_name);
  g_strfreev (s->reload_on_change.names);
  g_free (s);
}

static gpointer
endpoint_new (const char *name)
{
  HaleEndpointConfig *e = g_new0 (HaleEndpointConfig, 1);
  e->name = g_strdup (name);
  e->expected_status.min = 200;
  e->expected_status.max = 299;
  return e;
}

static void
endpoint_free (gpointer data)
{
  HaleEndpointConfig *e = data;
  g_free (e->name);
  g_free (e->url);
  g_free (e->ca_file);
  g_free (e);
}

static gpointer
check_new (const char *name)
{
  HaleCheckConfig *c = g_new0 (HaleCheckConfig, 1);
  c->name = g_strdup (name);
  c->kind = HALE_CHECK_KIND_HTTP;
  c->format = HALE_CHECK_FORMAT_AUTO;
  c->severity = 1;
  /* 0: [Network]'s, filled in once every group is read (resolve_checks). */
  c->timeout = 0;
  c->interval = 0;
  return c;
}

static void
check_free (gpointer data)
{
  HaleCheckConfig *c = data;
  g_free (c->name);
  g_free (c->url);
  g_free (c->unit);
  g_free (c->ca_file);
  g_free (c);
}

static gpointer
category_new (const char *name)
{
  HaleCategoryConfig *c = g_new0 (HaleCategoryConfig, 1);
  c->name = g_strdup (name);
  c->checks = g_new0 (char *, 1);
  c->refresh_rate = 60 * G_TIME_SPAN_SECOND;
  c->enabled = TRUE;
  return c;
}

static void
category_free (gpointer data)
{
  HaleCategoryConfig *c = data;
  g_free (c->name);
  g_strfreev (c->checks);
  g_free (c);
}

static void
tls_config_clear (HaleTlsConfig *tls)
{
  g_clear_pointer (&tls->certificate, g_free);
  g_clear_pointer (&tls->key, g_free);
  g_clear_pointer (&tls->client_ca, g_free);
}

HaleConfig *
hale_config_new_default (void)
{
  HaleConfig *config = g_new0 (HaleConfig, 1);

  config->ref_count = 1;
  config->files = g_new0 (char *, 1);
  config->metrics_listen = g_strdup ("127.0.0.1:9091");
  config->health_listen = g_strdup ("127.0.0.1:8081");
  config->health_path_prefix = g_strdup ("");
  config->audit_log = NULL;
  config->audit_log_max_size = 10 * 1024 * 1024;
  config->audit_log_keep = 5;
  config->certificate_recheck = 60 * G_TIME_SPAN_SECOND;
  config->backup_keep = 5;
  config->metrics_tls.min_version = 12;
  config->health_tls.min_version = 12;
  config->check_interval = 30 * G_TIME_SPAN_SECOND;
  config->timeout = 10 * G_TIME_SPAN_SECOND;
  config->degraded_threshold = 5 * G_TIME_SPAN_MINUTE;
  config->metrics_namespace = g_strdup (HALE_DEFAULT_NAMESPACE);
  config->certificates = g_ptr_array_new_with_free_func (certificate_free);
  config->services = g_ptr_array_new_with_free_func (service_free);
  config->endpoints = g_ptr_array_new_with_free_func (endpoint_free);
  config->checks = g_ptr_array_new_with_free_func (check_free);
  config->categories = g_ptr_array_new_with_free_func (category_free);
  return config;
}

HaleConfig *
hale_config_ref (HaleConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_atomic_int_inc (&config->ref_count);
  return config;
}

void
hale_config_unref (HaleConfig *config)
{
  g_return_if_fail (config != NULL);
  if (!g_atomic_int_dec_and_test (&config->ref_count))
    return;
  g_strfreev (config->files);
  g_free (config->metrics_listen);
  g_free (config->health_listen);
  g_free (config->audit_log);
  tls_config_clear (&config->metrics_tls);
  tls_config_clear (&config->health_tls);
  g_free (config->metrics_bearer_token_file);
  g_free (config->metrics_basic_auth_users);
  g_free (config->health_path_prefix);
  g_free (config->metrics_namespace);
  g_ptr_array_unref (config->certificates);
  g_ptr_array_unref (config->services);
  g_ptr_array_unref (config->endpoints);
  g_ptr_array_unref (config->checks);
  g_ptr_array_unref (config->categories);
  g_free (config);
}

const HaleCertificateConfig *
hale_config_find_certificate (const HaleConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  for (guint i = 0; i < config->certificates->len; i++)
    {
      const HaleCertificateConfig *c = g_ptr_array_index (config->certificates, i);
      if (g_str_equal (c->name, name))
        return c;
    }
  return NULL;
}

const HaleServiceConfig *
hale_config_find_service (const HaleConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  for (guint i = 0; i < config->services->len; i++)
    {
      const HaleServiceConfig *s = g_ptr_array_index (config->services, i);
      if (g_str_equal (s->name, name))
        return s;
    }
  return NULL;
}

const HaleCheckConfig *
hale_config_find_check (const HaleConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  for (guint i = 0; i < config->checks->len; i++)
    {
      const HaleCheckConfig *c = g_ptr_array_index (config->checks, i);
      if (g_str_equal (c->name, name))
        return c;
    }
  return NULL;
}

const HaleCategoryConfig *
hale_config_find_category (const HaleConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  for (guint i = 0; i < config->categories->len; i++)
    {
      const HaleCategoryConfig *c = g_ptr_array_index (config->categories, i);
      if (g_str_equal (c->name, name))
        return c;
    }
  return NULL;
}

/* ---- value conversion ---------------------------------------------------- */

static gboolean
parse_bool (const char *text, gboolean *out)
{
  static const char *const yes[] = { "true", "yes", "on", "1" };
  static const char *const no[] = { "false", "no", "off", "0" };

  for (gsize i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (text, yes[i]) == 0)
        {
          *out = TRUE;
          return TRUE;
        }
      if (g_ascii_strcasecmp (text, no[i]) == 0)
        {
          *out = FALSE;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
is_metric_prefix (const char *text)
{
  if (!g_ascii_isalpha (text[0]) && text[0] != '_')
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  return TRUE;
}

/* Checks @text the way systemd's unit_name_is_valid() would for a unit
 * hale can reload: "name.type", or "name@instance.type", no template. */
static char *
check_unit_name (const char *text)
{
  static const char *const types[]
      = { "service", "socket", "target", "device", "mount", "automount",
          "swap",    "path",   "timer",  "slice",  "scope" };
  const char *dot = strrchr (text, '.');
  gboolean type_ok = FALSE;

  if (strlen (text) > 255)
    return g_strdup_printf ("\"%s\" is too long for a unit name", text);
  if (strchr (text, '/') != NULL)
    return g_strdup_printf ("\"%s\" is a path, not a unit name (write nginx.service)", text);
  for (const char *p = text; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr (":-_.\\@", *p) == NULL)
      return g_strdup_printf ("\"%s\" is not a unit name: '%c' is not allowed", text, *p);
  if (dot != NULL)
    for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
      if (g_str_equal (dot + 1, types[i]))
        type_ok = TRUE;
  if (dot == NULL || dot == text || !type_ok)
    return g_strdup_printf ("\"%s\" is not a unit name (write nginx.service, with its type)", text);
  if (dot[-1] == '@')
    return g_strdup_printf ("\"%s\" is a template: name an instance, as in %.*s@NAME%s", text,
                            (int)(dot - text - 1), text, dot);
  return NULL;
}

/* What FT's pathPrefix is: "" or "/segment/segment", plain characters
 * only, so that the paths under it need no escaping. */
static char *
check_path_prefix (const char *text)
{
  if (text[0] != '/')
    return g_strdup_printf ("\"%s\" does not start with /: write e.g. /__agg", text);
  for (const char *p = text; *p != '\0'; p++)
    {
      if (p[0] == '/' && (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || p[2] == '\0'))))
        return g_strdup_printf ("\"%s\" has an empty or \".\" segment", text);
      if (!g_ascii_isalnum (*p) && strchr ("/-._~", *p) == NULL)
        return g_strdup_printf ("\"%s\" has '%c': use letters, digits and / - . _ ~", text,
                                g_ascii_isprint (*p) ? *p : '?');
    }
  return NULL;
}

static char *
check_host_port (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnectable) address = g_network_address_parse (text, 0, &error);

  if (address == NULL)
    return g_strdup_printf ("\"%s\" is not HOST:PORT: %s", text, error->message);
  if (g_network_address_get_port (G_NETWORK_ADDRESS (address)) == 0)
    return g_strdup_printf ("\"%s\" has no port (write HOST:PORT, e.g. 127.0.0.1:443)", text);
  return NULL;
}

static char *
check_host_name (const char *text)
{
  for (const char *p = text; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != '_')
      return g_strdup_printf ("\"%s\" is not a DNS name", text);
  return NULL;
}

static char *
check_url (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = g_uri_parse (text, G_URI_FLAGS_NONE, &error);
  const char *scheme;

  if (uri == NULL)
    return g_strdup_printf ("\"%s\" is not a URL: %s", text, error->message);
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
    return g_strdup_printf ("\"%s\" is not an http:// or https:// URL", text);
  if (g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0')
    return g_strdup_printf ("\"%s\" has no host", text);
  return NULL;
}

GStrv
hale_check_config_urls (const char *url)
{
  g_auto (GStrv) parts = g_strsplit_set (url != NULL ? url : "", " \t", -1);
  GStrvBuilder *urls = g_strv_builder_new ();
  GStrv out;

  for (guint i = 0; parts[i] != NULL; i++)
    if (parts[i][0] != '\0')
      g_strv_builder_add (urls, parts[i]);
  out = g_strv_builder_end (urls);
  g_strv_builder_unref (urls);
  return out;
}

char *
hale_check_instance_name (const char *check, const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  gint port = uri != NULL ? g_uri_get_port (uri) : -1;
  const char *host = uri != NULL ? g_uri_get_host (uri) : NULL;

  if (host == NULL)
    return g_strdup_printf ("%s@%s", check, url);
  if (port < 0)
    port = g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
  return g_strdup_printf (strchr (host, ':') != NULL ? "%s@[%s]:%d" : "%s@%s:%d", check, host,
                          port);
}

/* The instances of one service: each a URL, on a host and port of its
 * own (its name). */
static char *
check_url_list (const char *text)
{
  g_auto (GStrv) urls = hale_check_config_urls (text);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; urls[i] != NULL; i++)
    {
      char *problem = check_url (urls[i]);
      char *name;

      if (problem != NULL)
        return problem;
      name = hale_check_instance_name ("", urls[i]);
      if (!g_hash_table_add (seen, name))
        return g_strdup_printf ("%s: another URL is on the same host and port %s; each instance "
                                "is one host and port",
                                urls[i], name + 1);
    }
  return NULL;
}

/* "200-299" or "204": codes a probe accepts. HTTP status codes are
 * three digits, 100 to 599. */
static char *
parse_status_range (const char *text, HaleStatusRange *out)
{
  g_auto (GStrv) parts = g_strsplit (text, "-", 3);
  guint64 lo, hi;

  /* An empty value splits into no parts at all. */
  if (parts[0] == NULL || g_strv_length (parts) > 2
      || !g_ascii_string_to_unsigned (g_strstrip (parts[0]), 10, 100, 599, &lo, NULL)
      || (parts[1] != NULL
          && !g_ascii_string_to_unsigned (g_strstrip (parts[1]), 10, 100, 599, &hi, NULL)))
    return g_strdup_printf ("\"%s\" is not an HTTP status or range (write 200-299 or 204; "
                            "codes from 100 to 599)",
                            text);
  if (parts[1] == NULL)
    hi = lo;
  if (hi < lo)
    return g_strdup_printf ("\"%s\" is an empty range: write the lower code first", text);
  out->min = (guint)lo;
  out->max = (guint)hi;
  return NULL;
}

/* Converts @text and stores it at @base + @key->offset. Returns NULL,
 * or what is wrong with @text. */
static char *
apply_value (const KeySchema *key, gpointer base, const char *text)
{
  gpointer field = G_STRUCT_MEMBER_P (base, key->offset);
  g_autoptr (GError) error = NULL;
  char *problem = NULL;

  if (text[0] == '\0' && (key->flags & KEY_FLAG_EMPTY_UNSETS))
    {
      g_clear_pointer ((char **)field, g_free);
      return NULL;
    }

  switch (key->type)
    {
      case KEY_STRING:
        if (text[0] == '\0')
          return g_strdup ("is empty");
        break;
      case KEY_PATH:
        if (!g_path_is_absolute (text))
          return g_strdup_printf ("\"%s\" is not an absolute path", text);
        break;
      case KEY_URL:
        problem = check_url (text);
        break;
      case KEY_PATH_PREFIX:
        {
          g_autofree char *prefix = g_strdup (text);
          gsize len = strlen (prefix);

          /* "/" and "/x/" are the same prefixes as "" and "/x". */
          while (len > 0 && prefix[len - 1] == '/')
            prefix[--len] = '\0';
          if (len > 0 && (problem = check_path_prefix (prefix)) != NULL)
            return problem;
          g_free (*(char **)field);
          *(char **)field = g_steal_pointer (&prefix);
          return NULL;
        }
      case KEY_URL_LIST:
        problem = check_url_list (text);
        break;
      case KEY_UNIT_NAME:
        problem = check_unit_name (text);
        break;
      case KEY_METRIC_PREFIX:
        if (!is_metric_prefix (text))
          return g_strdup_printf ("\"%s\" is not a metric name prefix: use letters, digits and "
                                  "'_', not starting with a digit",
                                  text);
        break;
      case KEY_LISTEN:
        if (!hale_listen_parse (text, NULL, NULL, &error))
          return g_strdup (error->message);
        break;
      case KEY_HOST_PORT:
        problem = check_host_port (text);
        break;
      case KEY_HOST_NAME:
        problem = check_host_name (text);
        break;
      case KEY_BOOL:
        {
          gboolean b;
          if (!parse_bool (text, &b))
            return g_strdup_printf ("\"%s\" is not a boolean (write true or false)", text);
          *(gboolean *)field = b;
          return NULL;
        }
      case KEY_DURATION:
        {
          gint64 usec;
          if (!hale_duration_parse (text, &usec, &error))
            return g_strdup (error->message);
          if (usec == 0 && (key->flags & KEY_FLAG_NONZERO))
            return g_strdup_printf ("\"%s\" is too short: it must be longer than 0s", text);
          if (usec < key->min_usec)
            {
              g_autofree char *shortest = hale_duration_format (key->min_usec);
              return g_strdup_printf ("\"%s\" is too short: at least %s", text, shortest);
            }
          *(gint64 *)field = usec;
          return NULL;
        }
      case KEY_SIZE:
        {
          guint64 bytes;
          if (!hale_size_parse (text, &bytes, &error))
            return g_strdup (error->message);
          if (bytes == 0 && (key->flags & KEY_FLAG_NONZERO))
            return g_strdup_printf ("\"%s\" is too small: it must be more than 0", text);
          *(guint64 *)field = bytes;
          return NULL;
        }
      case KEY_STATUS_RANGE:
        return parse_status_range (text, field);
      case KEY_ENUM:
        {
          g_autofree char *known = NULL;
          for (int i = 0; key->words[i] != NULL; i++)
            if (g_str_equal (text, key->words[i]))
              {
                *(int *)field = i;
                return NULL;
              }
          known = g_strjoinv (", ", (char **)key->words);
          return g_strdup_printf ("\"%s\" is not one of %s", text, known);
        }
      case KEY_NAME_LIST:
        {
          g_auto (GStrv) parts = g_regex_split_simple ("[,;\\s]+", text, 0, 0);
          g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

          for (guint i = 0; parts[i] != NULL; i++)
            if (parts[i][0] != '\0'
                && !g_ptr_array_find_with_equal_func (names, parts[i], g_str_equal, NULL))
              g_ptr_array_add (names, g_strdup (parts[i]));
          if (names->len == 0)
            return g_strdup ("names no group: write [Check] names separated by ','");
          g_ptr_array_add (names, NULL);
          g_strfreev (*(GStrv *)field);
          *(GStrv *)field = (GStrv)g_ptr_array_free (g_steal_pointer (&names), FALSE);
          return NULL;
        }
      case KEY_TLS_VERSION:
        if (g_str_equal (text, "1.2") || g_str_equal (text, "1.3"))
          {
            *(guint *)field = text[2] == '2' ? 12 : 13;
            return NULL;
          }
        return g_strdup_printf ("\"%s\" is not a TLS version haled serves: write 1.2 or 1.3", text);
      case KEY_AUTH_SCOPE:
        if (g_str_equal (text, "none") || g_str_equal (text, "same"))
          {
            *(gboolean *)field = g_str_equal (text, "same");
            return NULL;
          }
        return g_strdup_printf ("\"%s\" is not an authentication scope: write none (the "
                                "health paths are open) or same (they take the /metrics "
                                "credentials)",
                                text);
      case KEY_UINT:
        {
          guint64 v;
          guint min = (key->flags & KEY_FLAG_NONZERO) ? 1 : 0;
          guint64 max = key->max != 0 ? key->max : G_MAXUINT;
          if (!g_ascii_string_to_unsigned (text, 10, min, max, &v, NULL))
            return g_strdup_printf ("\"%s\" is not a whole number from %u to %" G_GUINT64_FORMAT,
                                    text, min, max);
          *(guint *)field = (guint)v;
          return NULL;
        }
      case KEY_CERT_SELECTION:
        {
          HaleCertificateSelection *sel = field;
          g_auto (GStrv) parts = NULL;
          g_autoptr (GPtrArray) names = NULL;
          gboolean b;

          g_clear_pointer (&sel->names, g_strfreev);
          sel->all = FALSE;
          if (parse_bool (text, &b))
            {
              sel->all = b;
              return NULL;
            }
          /* Which names are [Certificate] groups is checked once all
           * groups are known (check_reload_on_change). */
          names = g_ptr_array_new_with_free_func (g_free);
          parts = g_regex_split_simple ("[,;]", text, 0, 0);
          for (guint i = 0; parts[i] != NULL; i++)
            {
              char *name = g_strstrip (parts[i]);
              if (name[0] == '\0')
                return g_strdup_printf ("\"%s\" has an empty name: write true, false, or "
                                        "[Certificate] names separated by ','",
                                        text);
              if (!g_ptr_array_find_with_equal_func (names, name, g_str_equal, NULL))
                g_ptr_array_add (names, g_strdup (name));
            }
          g_ptr_array_add (names, NULL);
          sel->names = (GStrv)g_ptr_array_free (g_steal_pointer (&names), FALSE);
          return NULL;
        }
      default:
        g_assert_not_reached ();
    }

  if (problem != NULL)
    return problem;
  g_free (*(char **)field);
  *(char **)field = g_strdup (text);
  return NULL;
}

/* ---- loading ------------------------------------------------------------- */

typedef struct
{
  char *value; /* unescaped, surrounding whitespace stripped */
  const char *file;
} Setting;

typedef struct
{
  char *name; /* as written: "Certificate current" */
  const GroupSchema *schema;
  GroupKind kind;
  const char *label; /* "current", points into name; NULL for unnamed groups */
  const char *first_file;
  GHashTable *settings; /* key -> Setting */
} MergedGroup;

typedef struct
{
  GPtrArray *files;    /* char*: every file read, in order */
  GPtrArray *problems; /* char*: one line each */
  GPtrArray *groups;   /* MergedGroup, in the order of first appearance */
  GHashTable *by_name; /* name -> MergedGroup */
} Loader;

static void
setting_free (gpointer data)
{
  Setting *s = data;
  g_free (s->value);
  g_free (s);
}

static void
merged_group_free (gpointer data)
{
  MergedGroup *g = data;
  g_free (g->name);
  g_hash_table_unref (g->settings);
  g_free (g);
}

static void
loader_clear (Loader *l)
{
  g_clear_pointer (&l->files, g_ptr_array_unref);
  g_clear_pointer (&l->problems, g_ptr_array_unref);
  g_clear_pointer (&l->by_name, g_hash_table_unref);
  g_clear_pointer (&l->groups, g_ptr_array_unref);
}

G_GNUC_PRINTF (2, 3)
static void
problem (Loader *l, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (l->problems, g_strdup_vprintf (format, args));
  va_end (args);
}

/* Matches "Kind" or "Kind NAME" against the schema. Returns FALSE
 * (having said why) for a group hale does not know. */
static gboolean
classify_group (Loader *l, const char *file, const char *name, GroupKind *out_kind,
                const char **out_label)
{
  const char *space = strchr (name, ' ');
  gsize kind_len = space != NULL ? (gsize)(space - name) : strlen (name);
  const char *label = space != NULL ? space + 1 : NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (groups); i++)
    {
      if (strlen (groups[i].name) != kind_len || strncmp (groups[i].name, name, kind_len) != 0)
        continue;
      if (!groups[i].named && label != NULL)
        {
          problem (l, "%s:%s: [%s] takes no name", file, name, groups[i].name);
          return FALSE;
        }
      if (groups[i].named && label == NULL)
        {
          problem (l, "%s:%s: needs a name, as in [%s NAME]", file, name, groups[i].name);
          return FALSE;
        }
      if (label != NULL)
        {
          gboolean ok = label[0] != '\0';
          for (const char *p = label; *p; p++)
            if (!g_ascii_isalnum (*p) && strchr ("_.-", *p) == NULL)
              ok = FALSE;
          if (!ok)
            {
              problem (l,
                       "%s:%s: \"%s\" is not a valid name: use letters, digits, '_', '.' and '-'",
                       file, name, label);
              return FALSE;
            }
        }
      *out_kind = (GroupKind)i;
      *out_label = label;
      return TRUE;
    }

  problem (l,
           "%s:%s: unknown group (known: Monitoring, Network, Metrics, Certificate NAME, "
           "Service NAME, Endpoint NAME, Check NAME, Category NAME)",
           file, name);
  return FALSE;
}

/* GKeyFile keeps the last of two assignments to one key without a word;
 * an operator who wrote both meant one of them, so we read the lines
 * ourselves and refuse. Group lines and key names are cut the way
 * GKeyFile cuts them; the file has already parsed, so lines are sane. */
static void
check_duplicate_keys (Loader *l, const char *file, const char *contents)
{
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *group = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      const char *eq;
      g_autofree char *key = NULL;
      g_autofree char *id = NULL;
      gpointer first_line;

      while (g_ascii_isspace (*line))
        line++;
      if (*line == '\0' || *line == '#')
        continue;
      if (*line == '[')
        {
          const char *end = strrchr (line, ']');
          if (end != NULL)
            {
              g_free (group);
              group = g_strndup (line + 1, end - line - 1);
            }
          continue;
        }
      eq = strchr (line, '=');
      if (eq == NULL || group == NULL)
        continue;
      key = g_strchomp (g_strndup (line, eq - line));
      id = g_strdup_printf ("%s\x1f%s", group, key);
      if (g_hash_table_lookup_extended (seen, id, NULL, &first_line))
        problem (l, "%s:%s:%s: set twice in this file (lines %u and %u); keep one", file, group,
                 key, GPOINTER_TO_UINT (first_line), i + 1);
      else
        g_hash_table_insert (seen, g_steal_pointer (&id), GUINT_TO_POINTER (i + 1));
    }
}

/* GKeyFile knows only whole-line comments, but operators annotate
 * values the way design.md's example does ("MetricsListen=...  # seed
 * metrics_port"). A '#' after white space starts a comment; one inside a
 * word (a URL fragment) does not. */
static char *
strip_trailing_comment (char *value)
{
  for (char *p = value; *p != '\0'; p++)
    if (*p == '#' && p > value && g_ascii_isspace (p[-1]))
      {
        *p = '\0';
        break;
      }
  return value;
}

/* The same for group headers: "[Service nginx]   # one group per
 * service" would otherwise be a syntax error for GKeyFile. */
static char *
strip_header_comments (const char *contents, gsize length)
{
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = lines[i];
      char *close;

      while (g_ascii_isspace (*line))
        line++;
      if (*line != '[' || (close = strchr (line, ']')) == NULL)
        continue;
      for (char *p = close + 1; *p != '\0'; p++)
        if (*p == '#')
          {
            close[1] = '\0';
            break;
          }
        else if (!g_ascii_isspace (*p))
          break;
    }
  return g_strjoinv ("\n", lines);
}

static void
load_file (Loader *l, const char *file, const char *raw, gsize raw_length)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) group_names = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  const char *nul = memchr (raw, '\0', raw_length);

  /* Everything after a NUL byte would be dropped without a word. */
  if (nul != NULL)
    {
      problem (l, "%s: a NUL byte at offset %" G_GSIZE_FORMAT ": not a text file", file,
               (gsize)(nul - raw));
      return;
    }
  contents = strip_header_comments (raw, raw_length);
  length = strlen (contents);

  if (!g_key_file_load_from_data (kf, contents, length, G_KEY_FILE_NONE, &error))
    {
      problem (l, "%s: %s", file, error->message);
      return;
    }
  check_duplicate_keys (l, file, contents);

  group_names = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; group_names[i] != NULL; i++)
    {
      const char *name = group_names[i];
      g_auto (GStrv) key_names = NULL;
      MergedGroup *g;
      GroupKind kind;
      const char *label;

      if (!classify_group (l, file, name, &kind, &label))
        continue;

      g = g_hash_table_lookup (l->by_name, name);
      if (g == NULL)
        {
          g = g_new0 (MergedGroup, 1);
          g->name = g_strdup (name);
          g->kind = kind;
          g->schema = &groups[kind];
          g->label = label != NULL ? g->name + (label - name) : NULL;
          g->first_file = file;
          g->settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, setting_free);
          g_ptr_array_add (l->groups, g);
          g_hash_table_insert (l->by_name, g->name, g);
        }

      key_names = g_key_file_get_keys (kf, name, NULL, NULL);
      for (guint j = 0; key_names != NULL && key_names[j] != NULL; j++)
        {
          const char *key = key_names[j];
          const KeySchema *schema = schema_find_key (kind, key);
          g_autoptr (GError) value_error = NULL;
          g_autofree char *value = NULL;
          Setting *s;

          if (schema == NULL)
            {
              const KeySchema *guess = schema_guess_key (kind, key);
              if (guess != NULL)
                problem (l, "%s:%s:%s: unknown key (did you mean %s?)", file, name, key,
                         guess->key);
              else
                problem (l, "%s:%s:%s: unknown key", file, name, key);
              continue;
            }
          /* On a bad escape GKeyFile returns a value and sets the error. */
          value = g_key_file_get_string (kf, name, key, &value_error);
          if (value_error != NULL)
            {
              problem (l, "%s:%s:%s: %s (write \\\\ for a backslash)", file, name, key,
                       value_error->message);
              continue;
            }
          s = g_new0 (Setting, 1);
          s->value = g_strstrip (strip_trailing_comment (g_steal_pointer (&value)));
          s->file = file;
          g_hash_table_replace (g->settings, g_strdup (key), s);
        }
    }
}

static void
read_file (Loader *l, const char *file)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  char *name = g_strdup (file);

  /* Settings point at the file name: keep it for the loader's life. */
  g_ptr_array_add (l->files, name);
  if (!g_file_get_contents (file, &contents, &length, &error))
    {
      problem (l, "%s: cannot read: %s", file, error->message);
      return;
    }
  load_file (l, name, contents, length);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

static void
read_dropins (Loader *l, const char *path)
{
  g_autofree char *dir_path = g_strconcat (path, HALE_CONFIG_DROPIN_SUFFIX, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, &error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        problem (l, "%s: cannot read: %s", dir_path, error->message);
      return;
    }
  /* As a shell's *.conf would: hidden files and other suffixes (.rpmsave,
   * .dpkg-old, editor backups) are not configuration. */
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.' && g_str_has_suffix (name, ".conf"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *file = g_build_filename (dir_path, g_ptr_array_index (names, i), NULL);
      read_file (l, file);
    }
}

/* The file that set @key in @g, or failing that the file that opened
 * the group: where an operator would look. */
static const char *
file_of (const MergedGroup *g, const char *key)
{
  const Setting *s = g != NULL ? g_hash_table_lookup (g->settings, key) : NULL;
  return s != NULL ? s->file : g != NULL ? g->first_file : NULL;
}

/* Which kind a [Check] is, and that its keys are of that kind: Kind=
 * when written, else the one of URL= / Unit= / TTL= that is set. */
static gboolean
check_check (Loader *l, MergedGroup *g, HaleCheckConfig *c)
{
  /* Indexed by HaleCheckKind. */
  static const char *const kind_keys[] = { "URL", "Unit", "TTL" };
  static const char *const kind_names[] = { "http", "unit", "push" };
  const gboolean has[] = { c->url != NULL, c->unit != NULL, c->ttl > 0 };
  gboolean ok = TRUE;

  if (c->severity > 2)
    {
      problem (l, "%s:%s:Severity: \"%u\" is not 1 (critical) or 2 (warning)",
               file_of (g, "Severity"), g->name, c->severity);
      ok = FALSE;
    }

  if (g_hash_table_contains (g->settings, "Kind"))
    {
      if (!has[c->kind])
        {
          problem (l, "%s:%s:%s: required for Kind=%s", file_of (g, "Kind"), g->name,
                   kind_keys[c->kind], kind_names[c->kind]);
          ok = FALSE;
        }
      for (guint i = 0; i < G_N_ELEMENTS (has); i++)
        if (i != c->kind && has[i])
          {
            problem (l, "%s:%s:%s: not used by Kind=%s checks (%s= is for Kind=%s)",
                     file_of (g, kind_keys[i]), g->name, kind_keys[i], kind_names[c->kind],
                     kind_keys[i], kind_names[i]);
            ok = FALSE;
          }
    }
  else
    {
      int first = -1;
      for (guint i = 0; i < G_N_ELEMENTS (has); i++)
        {
          if (!has[i])
            continue;
          if (first < 0)
            first = (int)i;
          else
            {
              problem (l,
                       "%s:%s:%s: %s= and %s= are both set, and a check has one kind: keep "
                       "one, or write Kind=",
                       file_of (g, kind_keys[i]), g->name, kind_keys[i], kind_keys[first],
                       kind_keys[i]);
              ok = FALSE;
            }
        }
      if (first < 0)
        {
          problem (l,
                   "%s:%s: says nothing to check: write URL= (an http check), Unit= (a unit "
                   "check) or TTL= (a push check)",
                   g->first_file, g->name);
          return FALSE;
        }
      c->kind = (HaleCheckKind)first;
    }
  if (!ok)
    return FALSE;

  for (guint i = 0; i < 2; i++)
    {
      const char *key = i == 0 ? "Format" : "CAFile";
      if (c->kind != HALE_CHECK_KIND_HTTP && g_hash_table_contains (g->settings, key))
        {
          problem (l, "%s:%s:%s: only http checks read an answer; this is a %s check",
                   file_of (g, key), g->name, key, kind_names[c->kind]);
          ok = FALSE;
        }
    }
  for (guint i = 0; i < 2; i++)
    {
      const char *key = i == 0 ? "Timeout" : "Interval";
      if (c->kind == HALE_CHECK_KIND_PUSH && g_hash_table_contains (g->settings, key))
        {
          problem (l, "%s:%s:%s: a push check runs nothing; it waits TTL= for a report",
                   file_of (g, key), g->name, key);
          ok = FALSE;
        }
    }
  return ok;
}

static void
build_group (Loader *l, HaleConfig *config, MergedGroup *g)
{
  gpointer item = NULL;
  gpointer base = config;
  gboolean ok = TRUE;

  if (g->schema->named)
    base = item = g->schema->new_item (g->label);

  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      const KeySchema *key = &keys[i];
      const Setting *s;
      g_autofree char *what = NULL;

      if (key->group != g->kind)
        continue;
      s = g_hash_table_lookup (g->settings, key->key);
      if (s == NULL)
        {
          if (key->flags & KEY_FLAG_REQUIRED)
            {
              problem (l, "%s:%s:%s: required key is missing", g->first_file, g->name, key->key);
              ok = FALSE;
            }
          continue;
        }
      what = apply_value (key, base, s->value);
      if (what != NULL)
        {
          problem (l, "%s:%s:%s: %s", s->file, g->name, key->key, what);
          ok = FALSE;
        }
    }

  if (g->kind == GROUP_CERTIFICATE && ok)
    {
      HaleCertificateConfig *c = item;
      if (c->critical_before >= c->warning_before)
        {
          g_autofree char *crit = hale_duration_format (c->critical_before);
          g_autofree char *warn = hale_duration_format (c->warning_before);
          /* Blame the key the operator wrote; with both written, the
           * critical one, which is the one out of line with the default. */
          const char *key = g_hash_table_contains (g->settings, "CriticalBefore") ? "CriticalBefore"
                                                                                  : "WarningBefore";
          problem (l,
                   "%s:%s:%s: CriticalBefore (%s) must be shorter than WarningBefore (%s), "
                   "or the warning never shows",
                   file_of (g, key), g->name, key, crit, warn);
          ok = FALSE;
        }
    }

  if (g->kind == GROUP_CHECK && ok)
    ok = check_check (l, g, item);

  if (item != NULL)
    {
      if (ok)
        g_ptr_array_add (G_STRUCT_MEMBER (GPtrArray *, config, g->schema->array_offset), item);
      else
        g->schema->free_item (item);
    }
}

static gboolean
is_wildcard (const char *host)
{
  return host == NULL || g_str_equal (host, "0.0.0.0") || g_str_equal (host, "::");
}

/* The listener a Listen= value ends up as in hale-http.c: "localhost"
 * is 127.0.0.1 there, and no host is every address. */
static char *
listener_identity (const char *listen)
{
  g_autofree char *host = NULL;
  guint16 port = 0;

  if (!hale_listen_parse (listen, &host, &port, NULL))
    return NULL;
  if (host != NULL && g_ascii_strcasecmp (host, "localhost") == 0)
    {
      g_free (host);
      host = g_strdup ("127.0.0.1");
    }
  return g_strdup_printf ("%s|%u", host != NULL ? host : "", port);
}

/* MetricsListen and HealthListen may name the same address (one
 * listener serves both); two different addresses on one port only
 * bind when neither covers the other. */
static void
check_listen (Loader *l, HaleConfig *config)
{
  g_autofree char *mhost = NULL;
  g_autofree char *hhost = NULL;
  guint16 mport, hport;
  MergedGroup *g = g_hash_table_lookup (l->by_name, "Monitoring");
  const char *key;

  /* A value that did not parse left the default in place: comparing
   * against that would report a clash the operator never wrote. */
  for (guint i = 0; g != NULL && i < 2; i++)
    {
      const Setting *s
          = g_hash_table_lookup (g->settings, i == 0 ? "MetricsListen" : "HealthListen");
      if (s != NULL && !hale_listen_parse (s->value, NULL, NULL, NULL))
        return;
    }
  if (!hale_listen_parse (config->metrics_listen, &mhost, &mport, NULL)
      || !hale_listen_parse (config->health_listen, &hhost, &hport, NULL))
    return; /* already reported */
  if (mport != hport || mport == 0)
    return;
  {
    g_autofree char *mid = listener_identity (config->metrics_listen);
    g_autofree char *hid = listener_identity (config->health_listen);

    /* localhost:P and 127.0.0.1:P are one listener. */
    if (g_strcmp0 (mid, hid) == 0)
      return;
  }
  if (!is_wildcard (mhost) && !is_wildcard (hhost))
    return;

  key = g != NULL && g_hash_table_contains (g->settings, "HealthListen") ? "HealthListen"
                                                                         : "MetricsListen";
  problem (l,
           "%s:Monitoring:%s: HealthListen=%s and MetricsListen=%s overlap on port %u, so the "
           "second cannot bind; write the same address for both, or use another port",
           file_of (g, key), key, config->health_listen, config->metrics_listen, hport);
}

static gboolean
tls_config_equal (const HaleTlsConfig *a, const HaleTlsConfig *b)
{
  return g_strcmp0 (a->certificate, b->certificate) == 0 && g_strcmp0 (a->key, b->key) == 0
         && g_strcmp0 (a->client_ca, b->client_ca) == 0 && a->min_version == b->min_version;
}

/* TLS keys come in pairs and the rest need a certificate; the
 * credentials of HealthAuth=same must exist; one listener has one TLS
 * setting. */
static void
check_tls_and_auth (Loader *l, HaleConfig *config)
{
  MergedGroup *g = g_hash_table_lookup (l->by_name, "Monitoring");
  const struct
  {
    const char *prefix;
    HaleTlsConfig *tls;
  } faces[] = { { "Metrics", &config->metrics_tls }, { "Health", &config->health_tls } };
  g_autofree char *metrics_id = listener_identity (config->metrics_listen);
  g_autofree char *health_id = listener_identity (config->health_listen);
  gboolean health_tls_set = FALSE;

  if (g == NULL)
    return; /* all defaults: plain HTTP, no auth */

  for (gsize i = 0; i < G_N_ELEMENTS (faces); i++)
    {
      HaleTlsConfig *tls = faces[i].tls;
      g_autofree char *cert_key = g_strconcat (faces[i].prefix, "TLSCertificate", NULL);
      g_autofree char *key_key = g_strconcat (faces[i].prefix, "TLSKey", NULL);
      /* A client CA without a certificate would look like mutual TLS and
       * be plain HTTP. (A lone MinVersion is harmless: it applies once a
       * certificate is set, and a drop-in cannot unset it.) */
      const char *needs_cert[] = { "TLSClientCA" };

      if (tls->certificate != NULL && tls->key == NULL)
        problem (l, "%s:Monitoring:%s: %s is not set: a TLS certificate needs its private key",
                 file_of (g, cert_key), cert_key, key_key);
      else if (tls->certificate == NULL && tls->key != NULL)
        problem (l, "%s:Monitoring:%s: %s is not set: a private key without its certificate",
                 file_of (g, key_key), key_key, cert_key);
      else if (tls->certificate != NULL && g_str_equal (tls->certificate, tls->key))
        problem (l,
                 "%s:Monitoring:%s: is the same file as %s; haled reads the key from a file "
                 "of its own",
                 file_of (g, key_key), key_key, cert_key);
      for (gsize j = 0; j < G_N_ELEMENTS (needs_cert); j++)
        {
          g_autofree char *name = g_strconcat (faces[i].prefix, needs_cert[j], NULL);
          if (tls->certificate == NULL && g_hash_table_contains (g->settings, name))
            problem (l, "%s:Monitoring:%s: needs %s (this listener serves plain HTTP)",
                     file_of (g, name), name, cert_key);
        }
      if (i == 1)
        {
          const char *keys_of[] = { "HealthTLSCertificate", "HealthTLSKey", "HealthTLSMinVersion",
                                    "HealthTLSClientCA" };
          for (gsize j = 0; j < G_N_ELEMENTS (keys_of); j++)
            if (g_hash_table_contains (g->settings, keys_of[j]))
              health_tls_set = TRUE;
        }
    }

  /* One address, one listener, one TLS setting: the Health keys may be
   * left out (the listener has the Metrics ones) or repeat them. */
  if (metrics_id != NULL && health_id != NULL && g_str_equal (metrics_id, health_id))
    {
      if (health_tls_set && !tls_config_equal (&config->metrics_tls, &config->health_tls))
        problem (l,
                 "%s:Monitoring:HealthTLSCertificate: MetricsListen and HealthListen are the "
                 "same listener (%s), so its TLS settings must agree: leave the HealthTLS keys "
                 "out, or give them the values of the MetricsTLS keys",
                 file_of (g, "HealthTLSCertificate"), config->metrics_listen);
      else
        {
          tls_config_clear (&config->health_tls);
          config->health_tls.certificate = g_strdup (config->metrics_tls.certificate);
          config->health_tls.key = g_strdup (config->metrics_tls.key);
          config->health_tls.client_ca = g_strdup (config->metrics_tls.client_ca);
          config->health_tls.min_version = config->metrics_tls.min_version;
        }
    }

  if (config->health_auth && config->metrics_bearer_token_file == NULL
      && config->metrics_basic_auth_users == NULL)
    problem (l,
             "%s:Monitoring:HealthAuth: \"same\" needs MetricsBearerTokenFile or "
             "MetricsBasicAuthUsers: there are no credentials to share",
             file_of (g, "HealthAuth"));
}

static HaleGlob *
check_pattern (Loader *l, const char *group, const char *key, const char *path)
{
  g_autoptr (GError) error = NULL;
  HaleGlob *glob = hale_glob_new (path, &error);

  if (glob == NULL)
    problem (l, "%s:%s:%s: %s", file_of (g_hash_table_lookup (l->by_name, group), key), group, key,
             error->message);
  return glob;
}

/* A pattern's KeyPath= names the key of each match by the same
 * wildcards, so both must have as many. */
static void
check_certificate_pattern (Loader *l, const HaleCertificateConfig *c, const char *group)
{
  gboolean path_glob = hale_glob_has_wildcards (c->path);
  gboolean key_glob = hale_glob_has_wildcards (c->key_path);
  g_autoptr (HaleGlob) path = NULL;
  g_autoptr (HaleGlob) key = NULL;

  if (path_glob)
    path = check_pattern (l, group, "Path", c->path);
  if (key_glob)
    key = check_pattern (l, group, "KeyPath", c->key_path);
  if (key_glob && !path_glob)
    problem (l, "%s:%s:KeyPath: %s has wildcards but Path= is one file",
             file_of (g_hash_table_lookup (l->by_name, group), "KeyPath"), group, c->key_path);
  else if (path_glob && c->key_path != NULL && !key_glob)
    problem (l,
             "%s:%s:KeyPath: %s is one file for every match of Path=%s; give it the same "
             "wildcards (e.g. .../*/privkey.pem beside .../*/fullchain.pem)",
             file_of (g_hash_table_lookup (l->by_name, group), "KeyPath"), group, c->key_path,
             c->path);
  else if (path != NULL && key != NULL
           && hale_glob_count_wildcards (path) != hale_glob_count_wildcards (key))
    problem (l, "%s:%s:KeyPath: %s has %u wildcards, Path=%s has %u; they must match one to one",
             file_of (g_hash_table_lookup (l->by_name, group), "KeyPath"), group, c->key_path,
             hale_glob_count_wildcards (key), c->path, hale_glob_count_wildcards (path));
}

/* The same file counted twice would double its metrics. */
static void
check_certificate_paths (Loader *l, HaleConfig *config)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < config->certificates->len; i++)
    {
      HaleCertificateConfig *c = g_ptr_array_index (config->certificates, i);
      g_autofree char *canonical = g_canonicalize_filename (c->path, "/");
      g_autofree char *group = g_strdup_printf ("Certificate %s", c->name);
      HaleCertificateConfig *other = g_hash_table_lookup (seen, canonical);

      if (c->key_path != NULL)
        {
          g_autofree char *key = g_canonicalize_filename (c->key_path, "/");
          if (g_str_equal (key, canonical))
            problem (l, "%s:%s:KeyPath: is the same file as Path=%s",
                     file_of (g_hash_table_lookup (l->by_name, group), "KeyPath"), group, c->path);
        }
      check_certificate_pattern (l, c, group);
      if (other != NULL)
        problem (l, "%s:%s:Path: %s is already watched by [Certificate %s]",
                 file_of (g_hash_table_lookup (l->by_name, group), "Path"), group, c->path,
                 other->name);
      else
        g_hash_table_insert (seen, g_steal_pointer (&canonical), c);
    }
}

/* A name to ask for is said to a TLSAddress= only. */
static void
check_tls_server_names (Loader *l, HaleConfig *config)
{
  for (guint i = 0; i < config->services->len; i++)
    {
      HaleServiceConfig *s = g_ptr_array_index (config->services, i);
      g_autofree char *group = g_strdup_printf ("Service %s", s->name);

      if (s->tls_server_name != NULL && s->tls_address == NULL)
        problem (l, "%s:%s:TLSServerName: there is no TLSAddress= to send it to",
                 file_of (g_hash_table_lookup (l->by_name, group), "TLSServerName"), group);
    }
}

/* ReloadOnChange= names must be certificates hale watches: a typo
 * would otherwise never reload anything, silently. */
static void
check_reload_on_change (Loader *l, HaleConfig *config)
{
  for (guint i = 0; i < config->services->len; i++)
    {
      HaleServiceConfig *s = g_ptr_array_index (config->services, i);
      g_autofree char *group = g_strdup_printf ("Service %s", s->name);

      for (guint j = 0; s->reload_on_change.names && s->reload_on_change.names[j]; j++)
        if (hale_config_find_certificate (config, s->reload_on_change.names[j]) == NULL)
          problem (l, "%s:%s:ReloadOnChange: there is no [Certificate %s]",
                   file_of (g_hash_table_lookup (l->by_name, group), "ReloadOnChange"), group,
                   s->reload_on_change.names[j]);
    }
}

/* A rollback writes certificates and keys back where they are: a
 * directory haled may not write (a read-only mount under the sandbox of
 * haled.service, or its permissions) is said now, not when the
 * rollback fails. A missing directory is the certificate check's
 * concern. */
static void
check_rollback_dir (Loader *l, const HaleCertificateConfig *c, const char *key, const char *path)
{
  g_autofree char *group = g_strdup_printf ("Certificate %s", c->name);
  g_autofree char *dir = path != NULL ? hale_sandbox_rollback_dir (path) : NULL;
  int saved;

  if (dir == NULL || access (dir, W_OK) == 0 || errno == ENOENT || errno == ENOTDIR)
    return;
  saved = errno;
  problem (l,
           "%s:%s:%s: %s is not writable (%s), so a rollback could not put the previous file "
           "back; for haled.service grant it with ReadWritePaths=%s in a drop-in (systemctl edit "
           "haled)",
           file_of (g_hash_table_lookup (l->by_name, group), key), group, key, dir,
           g_strerror (saved), dir);
}

static void
check_rollback_dirs (Loader *l, HaleConfig *config)
{
  if (!hale_sandbox_rollback_possible (config))
    return;
  for (guint i = 0; i < config->certificates->len; i++)
    {
      HaleCertificateConfig *c = g_ptr_array_index (config->certificates, i);
      g_autofree char *dir = hale_sandbox_rollback_dir (c->path);
      g_autofree char *key_dir = c->key_path ? hale_sandbox_rollback_dir (c->key_path) : NULL;

      check_rollback_dir (l, c, "Path", c->path);
      /* A key next to its certificate is the same directory: said once. */
      if (g_strcmp0 (dir, key_dir) != 0)
        check_rollback_dir (l, c, "KeyPath", c->key_path);
    }
}

/* Timeout= and Interval= default to [Network]'s, which may come after
 * the [Check] in the file: filled in once everything is read. */
static void
resolve_checks (HaleConfig *config)
{
  for (guint i = 0; i < config->checks->len; i++)
    {
      HaleCheckConfig *c = g_ptr_array_index (config->checks, i);
      if (c->timeout == 0)
        c->timeout = config->timeout;
      if (c->interval == 0)
        c->interval = config->check_interval;
    }
}

/* Checks= names must be [Check] groups: a typo would otherwise leave a
 * category empty and always healthy, silently. */
static void
check_categories (Loader *l, HaleConfig *config)
{
  for (guint i = 0; i < config->categories->len; i++)
    {
      HaleCategoryConfig *c = g_ptr_array_index (config->categories, i);
      g_autofree char *group = g_strdup_printf ("Category %s", c->name);

      for (guint j = 0; c->checks[j] != NULL; j++)
        if (hale_config_find_check (config, c->checks[j]) == NULL)
          {
            g_autofree char *check_group = g_strdup_printf ("Check %s", c->checks[j]);
            /* A [Check] that is there but broken is reported on its own. */
            if (g_hash_table_lookup (l->by_name, check_group) == NULL)
              problem (l, "%s:%s:Checks: there is no [Check %s]",
                       file_of (g_hash_table_lookup (l->by_name, group), "Checks"), group,
                       c->checks[j]);
          }
    }
}

/* Builds the configuration from what the loader read, checked as a whole. */
static HaleConfig *
loader_finish (Loader *l, GError **error)
{
  g_autoptr (HaleConfig) config = hale_config_new_default ();

  for (guint i = 0; i < l->groups->len; i++)
    build_group (l, config, g_ptr_array_index (l->groups, i));
  check_listen (l, config);
  check_certificate_paths (l, config);
  check_tls_and_auth (l, config);
  check_reload_on_change (l, config);
  check_tls_server_names (l, config);
  check_rollback_dirs (l, config);
  resolve_checks (config);
  check_categories (l, config);

  if (l->problems->len > 0)
    {
      g_autofree char *message = NULL;
      g_ptr_array_add (l->problems, NULL);
      message = g_strjoinv ("\n", (char **)l->problems->pdata);
      g_set_error_literal (error, HALE_CONFIG_ERROR, HALE_CONFIG_ERROR_INVALID, message);
      loader_clear (l);
      return NULL;
    }

  g_strfreev (config->files);
  g_ptr_array_add (l->files, NULL);
  config->files = g_strdupv ((char **)l->files->pdata);
  loader_clear (l);
  return g_steal_pointer (&config);
}

static void
loader_init (Loader *l)
{
  l->files = g_ptr_array_new_with_free_func (g_free);
  l->problems = g_ptr_array_new_with_free_func (g_free);
  l->groups = g_ptr_array_new_with_free_func (merged_group_free);
  l->by_name = g_hash_table_new (g_str_hash, g_str_equal);
}

HaleConfig *
hale_config_load (const char *path, GError **error)
{
  Loader l = { 0 };

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, HALE_CONFIG_ERROR, HALE_CONFIG_ERROR_NOT_FOUND, "%s: no such file", path);
      return NULL;
    }

  loader_init (&l);
  read_file (&l, path);
  read_dropins (&l, path);
  return loader_finish (&l, error);
}

HaleConfig *
hale_config_load_from_data (const char *const *names, GBytes *const *contents, GError **error)
{
  Loader l = { 0 };

  g_return_val_if_fail (names != NULL && names[0] != NULL, NULL);

  loader_init (&l);
  for (guint i = 0; names[i] != NULL; i++)
    {
      char *name = g_strdup (names[i]);
      gsize length = 0;
      const char *raw = g_bytes_get_data (contents[i], &length);

      g_autofree char *text = g_strndup (raw != NULL ? raw : "", length);

      g_ptr_array_add (l.files, name);
      load_file (&l, name, text, length);
    }
  return loader_finish (&l, error);
}
