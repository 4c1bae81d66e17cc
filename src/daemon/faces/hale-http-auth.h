/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-http-auth.h: who may scrape: a bearer token and basic-auth users.
 *
 * The credentials come from files: a token file (its content, surrounding
 * white space stripped) and a users file of "user:bcrypt-hash" lines, as
 * `htpasswd -B` writes them and as Prometheus' exporter-toolkit reads
 * them. Both are read when configured and again when they change.
 *
 * bcrypt is slow on purpose, so a check runs in a worker thread and a
 * successful one is remembered for a few minutes (keyed by a keyed hash
 * of the credentials): a scrape every 15 s costs one bcrypt per five
 * minutes, not one per scrape.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  HALE_HTTP_AUTH_OK,
  HALE_HTTP_AUTH_MISSING, /* no credentials, or a scheme not configured */
  HALE_HTTP_AUTH_DENIED,  /* wrong credentials */
  HALE_HTTP_AUTH_BUSY,    /* too many checks running: try again shortly */
} HaleHttpAuthResult;

#define HALE_TYPE_HTTP_AUTH (hale_http_auth_get_type ())
G_DECLARE_FINAL_TYPE (HaleHttpAuth, hale_http_auth, HALE, HTTP_AUTH, GObject)

HaleHttpAuth *
hale_http_auth_new (void);

/* Reads @token_file and @users_file (either may be NULL: that scheme is
 * off) and watches them. On error nothing changes; the message names
 * the key and the file (and the line of a bad users entry). Small local
 * files, read synchronously: this runs at start-up and on SIGHUP. */
gboolean
hale_http_auth_configure (HaleHttpAuth *self, const char *token_file, const char *users_file,
                          GError **error);

/* Whether any scheme is configured (else every request passes). */
gboolean
hale_http_auth_is_enabled (HaleHttpAuth *self);

/* Checks an Authorization header (NULL when absent). Completes in the
 * main context; a bcrypt runs in a thread meanwhile. */
void
hale_http_auth_check_async (HaleHttpAuth *self, const char *authorization,
                            GAsyncReadyCallback callback, gpointer user_data);
HaleHttpAuthResult
hale_http_auth_check_finish (HaleHttpAuth *self, GAsyncResult *result);

/* The WWW-Authenticate challenge for a 401. */
const char *
hale_http_auth_get_challenge (HaleHttpAuth *self);

G_END_DECLS
