/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-http-auth.c: bearer tokens and bcrypt basic auth for the HTTP faces.
 *
 * What a failed check may reveal is nothing: a token is compared as a
 * SHA-256 digest in constant time (so neither its content nor its length
 * leaks through timing), and a basic-auth user that does not exist
 * still costs a bcrypt against a real hash of the file, so "no such
 * user" and "wrong password" take the same time.
 */
#include "config.h"

#include "hale-http-auth.h"

#include <crypt.h>
#include <string.h>
#include <sys/random.h>

#include "hale-file-watch.h"

/* A successful basic-auth check is remembered this long. */
#define CACHE_TTL (5 * G_TIME_SPAN_MINUTE)
#define CACHE_MAX 256
/* bcrypt checks in flight at once; more are answered 503 so a flood of
 * guesses cannot queue unbounded CPU work. */
#define MAX_PENDING 16
#define DIGEST_LEN 32

/* What the files said: immutable once built, so a reload builds a new
 * one in a thread and swaps it in. */
typedef struct
{
  char *token_file;
  gboolean has_token;
  guint8 token_digest[DIGEST_LEN];
  char *users_file;
  GHashTable *users; /* user -> bcrypt hash; NULL without a users file */
  char *dummy_hash;  /* a hash of the file, for users that do not exist */
} Credentials;

struct _HaleHttpAuth
{
  GObject parent_instance;

  Credentials *credentials;
  HaleFileWatch *watch;
  guint generation; /* bumped by configure: a reload started before is stale */
  guint pending;    /* bcrypt checks in flight */
  guint8 cache_key[DIGEST_LEN];
  GHashTable *cache; /* hex HMAC of the credentials -> gint64 expiry (monotonic) */
  char *challenge;
};

G_DEFINE_TYPE (HaleHttpAuth, hale_http_auth, G_TYPE_OBJECT)

static void
credentials_free (Credentials *c)
{
  if (c == NULL)
    return;
  g_free (c->token_file);
  g_free (c->users_file);
  g_clear_pointer (&c->users, g_hash_table_unref);
  g_free (c->dummy_hash);
  explicit_bzero (c->token_digest, sizeof c->token_digest);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Credentials, credentials_free)

static void
sha256 (const void *data, gsize len, guint8 out[DIGEST_LEN])
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize out_len = DIGEST_LEN;

  g_checksum_update (checksum, data, len);
  g_checksum_get_digest (checksum, out, &out_len);
}

static gboolean
digest_equal (const guint8 *a, const guint8 *b)
{
  guint8 diff = 0;

  for (gsize i = 0; i < DIGEST_LEN; i++)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

/* Only bcrypt: what exporter-toolkit accepts, and the one scheme of
 * htpasswd that is slow enough to stand a leaked file. */
static gboolean
is_bcrypt (const char *hash)
{
  return strlen (hash) == 60
         && (g_str_has_prefix (hash, "$2a$") || g_str_has_prefix (hash, "$2b$")
             || g_str_has_prefix (hash, "$2y$"))
         && g_ascii_isdigit (hash[4]) && g_ascii_isdigit (hash[5]) && hash[6] == '$';
}

static gboolean
parse_users (Credentials *c, const char *text, GError **error)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  c->users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *colon;

      if (line[0] == '\0' || line[0] == '#')
        continue;
      colon = strchr (line, ':');
      if (colon == NULL || colon == line)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "MetricsBasicAuthUsers=%s: line %u: expected \"user:bcrypt-hash\" (as "
                       "htpasswd -B writes)",
                       c->users_file, i + 1);
          return FALSE;
        }
      *colon = '\0';
      if (!is_bcrypt (colon + 1))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "MetricsBasicAuthUsers=%s: line %u: the hash of user \"%s\" is not a "
                       "bcrypt hash ($2b$, $2y$ or $2a$; make one with htpasswd -nBC 10 %s)",
                       c->users_file, i + 1, line, line);
          return FALSE;
        }
      if (g_hash_table_contains (c->users, line))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "MetricsBasicAuthUsers=%s: line %u: user \"%s\" is listed twice",
                       c->users_file, i + 1, line);
          return FALSE;
        }
      if (c->dummy_hash == NULL)
        c->dummy_hash = g_strdup (colon + 1);
      g_hash_table_insert (c->users, g_strdup (line), g_strdup (colon + 1));
    }
  if (c->dummy_hash == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "MetricsBasicAuthUsers=%s: lists no users", c->users_file);
      return FALSE;
    }
  return TRUE;
}

static Credentials *
credentials_load (const char *token_file, const char *users_file, GError **error)
{
  g_autoptr (Credentials) c = g_new0 (Credentials, 1);

  c->token_file = g_strdup (token_file);
  c->users_file = g_strdup (users_file);
  if (token_file != NULL)
    {
      g_autofree char *text = NULL;
      g_autoptr (GError) local_error = NULL;

      if (!g_file_get_contents (token_file, &text, NULL, &local_error))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "MetricsBearerTokenFile=%s: %s",
                       token_file, local_error->message);
          return NULL;
        }
      g_strstrip (text);
      if (text[0] == '\0')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "MetricsBearerTokenFile=%s: the file is empty", token_file);
          return NULL;
        }
      sha256 (text, strlen (text), c->token_digest);
      c->has_token = TRUE;
      explicit_bzero (text, strlen (text));
    }
  if (users_file != NULL)
    {
      g_autofree char *text = NULL;
      g_autoptr (GError) local_error = NULL;

      if (!g_file_get_contents (users_file, &text, NULL, &local_error))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "MetricsBasicAuthUsers=%s: %s",
                       users_file, local_error->message);
          return NULL;
        }
      if (!parse_users (c, text, error))
        return NULL;
    }
  return g_steal_pointer (&c);
}

/* Reloads ------------------------------------------------------------------ */

static void
set_credentials (HaleHttpAuth *self, Credentials *c)
{
  credentials_free (self->credentials);
  self->credentials = c;
  /* A user removed or a password changed must not be let in by the
   * cache. */
  g_hash_table_remove_all (self->cache);
}

static void
reload_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Credentials *old = data;
  GError *error = NULL;
  Credentials *c = credentials_load (old->token_file, old->users_file, &error);

  if (c == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, c, (GDestroyNotify)credentials_free);
}

static void
reload_done (GObject *source, GAsyncResult *result, gpointer data)
{
  HaleHttpAuth *self = HALE_HTTP_AUTH (source);
  guint generation = GPOINTER_TO_UINT (data);
  g_autoptr (GError) error = NULL;
  Credentials *c = g_task_propagate_pointer (G_TASK (result), &error);

  if (generation != self->generation)
    {
      credentials_free (c); /* reconfigured meanwhile */
      return;
    }
  if (c == NULL)
    {
      g_warning ("credentials not reloaded, the previous ones stay: %s", error->message);
      return;
    }
  g_debug ("credentials reloaded");
  set_credentials (self, c);
}

static void
files_changed (gpointer data)
{
  HaleHttpAuth *self = data;
  g_autoptr (GTask) task = NULL;
  Credentials *paths;

  if (self->credentials == NULL)
    return;
  paths = g_new0 (Credentials, 1);
  paths->token_file = g_strdup (self->credentials->token_file);
  paths->users_file = g_strdup (self->credentials->users_file);
  task = g_task_new (self, NULL, reload_done, GUINT_TO_POINTER (self->generation));
  g_task_set_source_tag (task, files_changed);
  g_task_set_task_data (task, paths, (GDestroyNotify)credentials_free);
  g_task_run_in_thread (task, reload_thread);
}

gboolean
hale_http_auth_configure (HaleHttpAuth *self, const char *token_file, const char *users_file,
                          GError **error)
{
  Credentials *c;
  const char *paths[3] = { NULL };
  guint n = 0;

  g_return_val_if_fail (HALE_IS_HTTP_AUTH (self), FALSE);

  c = credentials_load (token_file, users_file, error);
  if (c == NULL)
    return FALSE;
  self->generation++;
  set_credentials (self, c);
  g_clear_pointer (&self->watch, hale_file_watch_free);
  if (token_file != NULL)
    paths[n++] = token_file;
  if (users_file != NULL)
    paths[n++] = users_file;
  if (n > 0)
    self->watch = hale_file_watch_new (paths, files_changed, self);
  return TRUE;
}

gboolean
hale_http_auth_is_enabled (HaleHttpAuth *self)
{
  g_return_val_if_fail (HALE_IS_HTTP_AUTH (self), FALSE);
  return self->credentials != NULL
         && (self->credentials->has_token || self->credentials->users != NULL);
}

const char *
hale_http_auth_get_challenge (HaleHttpAuth *self)
{
  g_return_val_if_fail (HALE_IS_HTTP_AUTH (self), NULL);

  g_free (self->challenge);
  if (self->credentials != NULL && self->credentials->users != NULL)
    self->challenge
        = g_strdup (self->credentials->has_token ? "Basic realm=\"haled\", Bearer realm=\"haled\""
                                                 : "Basic realm=\"haled\"");
  else
    self->challenge = g_strdup ("Bearer realm=\"haled\"");
  return self->challenge;
}

/* Checks ------------------------------------------------------------------- */

typedef struct
{
  char *password;
  char *hash;
  gboolean known; /* FALSE: @hash is the dummy, the answer is no */
  char *cache_id;
} Bcrypt;

static void
bcrypt_free (Bcrypt *b)
{
  if (b->password != NULL)
    explicit_bzero (b->password, strlen (b->password));
  g_free (b->password);
  g_free (b->hash);
  g_free (b->cache_id);
  g_free (b);
}

static void
bcrypt_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Bcrypt *b = data;
  struct crypt_data *work = g_new0 (struct crypt_data, 1);
  const char *out = crypt_rn (b->password, b->hash, work, sizeof *work);
  gboolean ok = FALSE;

  if (out != NULL && out[0] != '*')
    {
      guint8 got[DIGEST_LEN], want[DIGEST_LEN];
      sha256 (out, strlen (out), got);
      sha256 (b->hash, strlen (b->hash), want);
      ok = digest_equal (got, want) && b->known;
    }
  explicit_bzero (work, sizeof *work);
  g_free (work);
  g_task_return_boolean (task, ok);
}

static void
bcrypt_done (GObject *source, GAsyncResult *result, gpointer data)
{
  HaleHttpAuth *self = HALE_HTTP_AUTH (source);
  g_autoptr (GTask) outer = data;
  Bcrypt *b = g_task_get_task_data (G_TASK (result));
  gboolean ok = g_task_propagate_boolean (G_TASK (result), NULL);

  self->pending--;
  if (ok)
    {
      if (g_hash_table_size (self->cache) >= CACHE_MAX)
        g_hash_table_remove_all (self->cache);
      g_hash_table_replace (
          self->cache, g_strdup (b->cache_id),
          g_memdup2 (&(gint64){ g_get_monotonic_time () + CACHE_TTL }, sizeof (gint64)));
    }
  g_task_return_int (outer, ok ? HALE_HTTP_AUTH_OK : HALE_HTTP_AUTH_DENIED);
}

static HaleHttpAuthResult
check_bearer (HaleHttpAuth *self, const char *token)
{
  guint8 got[DIGEST_LEN];

  if (!self->credentials->has_token)
    return HALE_HTTP_AUTH_MISSING;
  while (*token == ' ')
    token++;
  sha256 (token, strlen (token), got);
  return digest_equal (got, self->credentials->token_digest) ? HALE_HTTP_AUTH_OK
                                                             : HALE_HTTP_AUTH_DENIED;
}

/* Returns -1 when a bcrypt was started and will return on @task. */
static int
check_basic (HaleHttpAuth *self, const char *encoded, GTask *task)
{
  g_autofree guchar *decoded = NULL;
  g_autofree char *text = NULL;
  g_autofree char *cache_id = NULL;
  g_autoptr (GTask) inner = NULL;
  gsize len = 0;
  const char *hash;
  char *colon;
  gint64 *expiry;
  Bcrypt *b;

  if (self->credentials->users == NULL)
    return HALE_HTTP_AUTH_MISSING;
  while (*encoded == ' ')
    encoded++;
  decoded = g_base64_decode (encoded, &len);
  text = g_strndup ((const char *)decoded, len);
  if (len > 0)
    explicit_bzero (decoded, len);
  colon = strchr (text, ':');
  if (colon == NULL || strlen (text) != len)
    return HALE_HTTP_AUTH_DENIED; /* not "user:password", or a NUL inside */
  *colon = '\0';

  hash = g_hash_table_lookup (self->credentials->users, text);
  {
    /* The user's hash is part of the key: a new password in the file
     * makes the old entry useless even before the cache is cleared. */
    g_autoptr (GString) id = g_string_new (text);
    g_string_append_c (id, '\0');
    g_string_append (id, colon + 1);
    g_string_append_c (id, '\0');
    g_string_append (id, hash != NULL ? hash : "");
    cache_id = g_compute_hmac_for_data (G_CHECKSUM_SHA256, self->cache_key, sizeof self->cache_key,
                                        (const guchar *)id->str, id->len);
    explicit_bzero (id->str, id->len);
  }
  expiry = g_hash_table_lookup (self->cache, cache_id);
  if (hash != NULL && expiry != NULL)
    {
      if (*expiry > g_get_monotonic_time ())
        {
          explicit_bzero (text, len);
          return HALE_HTTP_AUTH_OK;
        }
      g_hash_table_remove (self->cache, cache_id);
    }
  if (self->pending >= MAX_PENDING)
    {
      explicit_bzero (text, len);
      return HALE_HTTP_AUTH_BUSY;
    }

  b = g_new0 (Bcrypt, 1);
  b->password = g_strdup (colon + 1);
  b->known = hash != NULL;
  b->hash = g_strdup (hash != NULL ? hash : self->credentials->dummy_hash);
  b->cache_id = g_steal_pointer (&cache_id);
  explicit_bzero (text, len);

  self->pending++;
  inner = g_task_new (self, NULL, bcrypt_done, g_object_ref (task));
  g_task_set_source_tag (inner, check_basic);
  g_task_set_task_data (inner, b, (GDestroyNotify)bcrypt_free);
  g_task_run_in_thread (inner, bcrypt_thread);
  return -1;
}

void
hale_http_auth_check_async (HaleHttpAuth *self, const char *authorization,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  int result = HALE_HTTP_AUTH_MISSING;

  g_return_if_fail (HALE_IS_HTTP_AUTH (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, hale_http_auth_check_async);

  if (!hale_http_auth_is_enabled (self))
    result = HALE_HTTP_AUTH_OK;
  else if (authorization == NULL)
    result = HALE_HTTP_AUTH_MISSING;
  else if (g_ascii_strncasecmp (authorization, "Bearer ", 7) == 0)
    result = check_bearer (self, authorization + 7);
  else if (g_ascii_strncasecmp (authorization, "Basic ", 6) == 0)
    result = check_basic (self, authorization + 6, task);

  if (result >= 0)
    g_task_return_int (task, result);
}

HaleHttpAuthResult
hale_http_auth_check_finish (HaleHttpAuth *self, GAsyncResult *result)
{
  g_return_val_if_fail (g_task_is_valid (result, self), HALE_HTTP_AUTH_DENIED);
  return (HaleHttpAuthResult)g_task_propagate_int (G_TASK (result), NULL);
}

static void
hale_http_auth_finalize (GObject *object)
{
  HaleHttpAuth *self = HALE_HTTP_AUTH (object);

  g_clear_pointer (&self->watch, hale_file_watch_free);
  credentials_free (self->credentials);
  g_hash_table_unref (self->cache);
  explicit_bzero (self->cache_key, sizeof self->cache_key);
  g_free (self->challenge);
  G_OBJECT_CLASS (hale_http_auth_parent_class)->finalize (object);
}

static void
hale_http_auth_class_init (HaleHttpAuthClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hale_http_auth_finalize;
}

static void
hale_http_auth_init (HaleHttpAuth *self)
{
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  /* The cache must not hold a fast hash of a password: its entries are
   * keyed with a secret that lives only in this process. */
  if (getrandom (self->cache_key, sizeof self->cache_key, 0) != sizeof self->cache_key)
    for (gsize i = 0; i < sizeof self->cache_key; i += 4)
      {
        guint32 r = g_random_int ();
        memcpy (self->cache_key + i, &r, 4);
      }
}

HaleHttpAuth *
hale_http_auth_new (void)
{
  return g_object_new (HALE_TYPE_HTTP_AUTH, NULL);
}
