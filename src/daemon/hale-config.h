/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-config.h: hale.conf and its drop-ins, validated in full.
 *
 * A HaleConfig is immutable once loaded: SIGHUP loads a new one and
 * swaps it in only when it is valid, so every module can keep a
 * reference to the one it was configured with.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HALE_CONFIG_ERROR (hale_config_error_quark ())
GQuark
hale_config_error_quark (void);

typedef enum
{
  HALE_CONFIG_ERROR_NOT_FOUND, /* an explicitly named file is missing */
  HALE_CONFIG_ERROR_INVALID,   /* message: one "FILE:GROUP:KEY: problem" a line */
} HaleConfigError;

typedef struct
{
  char *name; /* "current" for [Certificate current]: the metrics' type label */
  char *path;
  gint64 warning_before;  /* usec; default 72h */
  gint64 critical_before; /* usec; default 24h */
  char *key_path;         /* KeyPath=: its private key, backed up with it; NULL when unset */
} HaleCertificateConfig;

/* ReloadOnChange=: the renewals that reload a service by themselves. */
typedef struct
{
  gboolean all; /* true: a renewal of any [Certificate] */
  GStrv names;  /* else these [Certificate] names; NULL: none (false, the default) */
} HaleCertificateSelection;

typedef struct
{
  char *name; /* "nginx" for [Service nginx] */
  char *unit;
  char *health_check; /* URL, or NULL */
  gint64 timeout;     /* usec; default 30s */
  gboolean critical;  /* default false */
  HaleCertificateSelection reload_on_change;
  char *tls_address;     /* TLSAddress=: HOST:PORT where it serves its certificate, or NULL */
  char *tls_server_name; /* TLSServerName=: the SNI name to ask for; NULL: TLSAddress's host */
} HaleServiceConfig;

/* An accepted range of HTTP status codes, both ends included. */
typedef struct
{
  guint min;
  guint max;
} HaleStatusRange;

typedef struct
{
  char *name; /* "certificate-api" for [Endpoint certificate-api] */
  char *url;
  gboolean critical;               /* default false */
  HaleStatusRange expected_status; /* ExpectedStatus=; default 200-299 */
  char *ca_file;                   /* CAFile=: PEM bundle for https; NULL: system CAs */
} HaleEndpointConfig;

/* The kinds of [Check NAME] (hale-checks.h): what Kind= says, or what
 * URL= / Unit= / TTL= imply. */
typedef enum
{
  HALE_CHECK_KIND_HTTP,
  HALE_CHECK_KIND_UNIT,
  HALE_CHECK_KIND_PUSH,
} HaleCheckKind;

/* Format=: how an http check reads the answer. */
typedef enum
{
  HALE_CHECK_FORMAT_AUTO,        /* by Content-Type and shape */
  HALE_CHECK_FORMAT_FT,          /* FT __health JSON */
  HALE_CHECK_FORMAT_HEALTH_JSON, /* application/health+json */
  HALE_CHECK_FORMAT_SEED,        /* the rotation agent's report */
  HALE_CHECK_FORMAT_STATUS,      /* only the HTTP status code */
} HaleCheckFormat;

typedef struct
{
  char *name; /* "api" for [Check api] */
  HaleCheckKind kind;
  HaleCheckFormat format; /* http only; default auto */
  char *url;              /* http: URL=, one or more (hale_check_config_urls) */
  char *unit;             /* unit: Unit= */
  gint64 ttl;             /* push: TTL=, usec */
  guint severity;         /* Severity=: 1 critical (default), 2 warning */
  gint64 timeout;         /* usec; default [Network] Timeout */
  gint64 interval;        /* usec; default [Network] CheckInterval */
  char *ca_file;          /* http: CAFile=; NULL: system CAs */
} HaleCheckConfig;

/* [Category NAME]: checks grouped for reports, acks and failover
 * (hale-aggregate.h). */
typedef struct
{
  char *name;          /* "db" for [Category db] */
  GStrv checks;        /* Checks=: [Check] names; never NULL */
  gint64 refresh_rate; /* RefreshRate=: usec; default 60s */
  gboolean sticky;     /* Sticky=: default false */
  gboolean enabled;    /* Enabled=: default true; the state file may override it */
} HaleCategoryConfig;
/* TLS on one HTTP listener ([Monitoring] Metrics TLS and Health TLS keys). */
typedef struct
{
  char *certificate; /* PEM, chain after the leaf; NULL: plain HTTP */
  char *key;         /* PEM private key; set exactly when certificate is */
  char *client_ca;   /* PEM CA bundle: clients must present a certificate it signed */
  guint min_version; /* 12 (TLS 1.2, the default) or 13 */
} HaleTlsConfig;

typedef struct
{
  /* Files that made this configuration, in the order they were read. */
  GStrv files;

  /* [Monitoring] */
  char *metrics_listen;       /* default "127.0.0.1:9091" */
  char *health_listen;        /* default "127.0.0.1:8081"; may equal metrics_listen */
  char *audit_log;            /* NULL when unset */
  guint64 audit_log_max_size; /* bytes; default 10M */
  guint audit_log_keep;       /* default 5 */
  gint64 certificate_recheck; /* usec; default 60s: catches what inotify misses */
  guint backup_keep;          /* BackupKeep=: serials kept per [Certificate]; default 5 */
  /* TLS of each listener. When both listen on the same address they
   * are one listener: health_tls is then a copy of metrics_tls (the
   * Health keys must be unset or agree). */
  HaleTlsConfig metrics_tls;
  HaleTlsConfig health_tls;
  char *metrics_bearer_token_file; /* MetricsBearerTokenFile=; NULL: none */
  char *metrics_basic_auth_users;  /* MetricsBasicAuthUsers=: "user:bcrypt" lines; NULL: none */
  gboolean health_auth;            /* HealthAuth=same: /health* take the /metrics auth */
  char *health_path_prefix;        /* HealthPathPrefix=: "" or "/a/b" before every FT path */

  /* [Network] */
  gint64 check_interval;     /* usec; default 30s */
  gint64 timeout;            /* usec; default 10s */
  gint64 degraded_threshold; /* usec; default 5m */

  /* [Metrics] */
  char *metrics_namespace; /* default "hale" */

  /* One entry per group, in the order the groups first appear. */
  GPtrArray *certificates; /* HaleCertificateConfig */
  GPtrArray *services;     /* HaleServiceConfig */
  GPtrArray *endpoints;    /* HaleEndpointConfig */
  GPtrArray *checks;       /* HaleCheckConfig */
  GPtrArray *categories;   /* HaleCategoryConfig */

  /*< private >*/
  gint ref_count;
} HaleConfig;

/* Built-in defaults, no certificates, services or endpoints. */
HaleConfig *
hale_config_new_default (void);

/* Reads @path, then @path.d/\*.conf in lexical order; later files
 * override keys of earlier ones, groups accumulate. @path missing is
 * HALE_CONFIG_ERROR_NOT_FOUND (the caller decides whether a missing
 * default file means "run with defaults"). Every problem in every file
 * is collected before failing: the error message holds one
 * "FILE:GROUP:KEY: what is wrong" line per problem ("FILE:GROUP: ..."
 * for a group, "FILE: ..." for a file that does not parse).
 *
 * Drop-ins are the *.conf files of @path.d/ (hidden ones
 * skipped), sorted by byte value. A key set twice in one group of one
 * file is an error (GKeyFile would keep the last silently). Values are
 * stripped of surrounding whitespace; there are no trailing comments.
 * Booleans take true/false, yes/no, on/off, 1/0. An empty AuditLog= or
 * HealthCheck= unsets the key, so a drop-in can turn it off. */
HaleConfig *
hale_config_load (const char *path, GError **error);

/* The same from memory: @names[0] is the main file, the rest its
 * drop-ins in the order given; @contents holds one text per name.
 * @names only label the problems (nothing is read from disk). */
HaleConfig *
hale_config_load_from_data (const char *const *names, GBytes *const *contents, GError **error);

HaleConfig *
hale_config_ref (HaleConfig *config);
void
hale_config_unref (HaleConfig *config);

const HaleCertificateConfig *
hale_config_find_certificate (const HaleConfig *config, const char *name);
const HaleServiceConfig *
hale_config_find_service (const HaleConfig *config, const char *name);
const HaleCheckConfig *
hale_config_find_check (const HaleConfig *config, const char *name);
const HaleCategoryConfig *
hale_config_find_category (const HaleConfig *config, const char *name);

/* The URLs of an http [Check]'s URL= (@url as written): its instances,
 * in order. Never NULL. */
GStrv
hale_check_config_urls (const char *url);
/* What an instance of [Check @check] at @url is called:
 * "api@10.0.0.5:8080" (host and port, the scheme's default port when
 * the URL has none). */
char *
hale_check_instance_name (const char *check, const char *url);

/* Every "Group" / "Group NAME" and its keys the parser accepts, as
 * "Monitoring.MetricsListen", "Certificate.Path", ...: for docs and the
 * test that keeps the man page honest. */
GStrv
hale_config_list_keys (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleConfig, hale_config_unref)

G_END_DECLS
