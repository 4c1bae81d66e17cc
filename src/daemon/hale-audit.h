/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-audit.h: audit events, to the journal and the optional JSON file.
 *
 * One event is one journal entry (sd_journal_send) with a stable
 * MESSAGE_ID and the HALE_* fields of the contract, and, when AuditLog=
 * is set, one line of JSON in the seed's shape. If one sink fails the
 * event goes to the other and to stderr, and a counter says so: an
 * audit event is never lost silently.
 */
#pragma once

#include "hale-config.h"
#include "hale-metrics.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* Who asked. NULL identity: haled itself ("haled", auth "internal"). */
typedef struct
{
  const char *identity;    /* "uid:1000", a unit name, ... */
  const char *auth_method; /* "dbus+polkit", "dbus+root", "internal" */
  gint64 uid;              /* -1: unknown */
  gint64 pid;              /* -1: unknown */
  const char *unit;        /* the caller's systemd unit, or NULL */
  const char *ip_address;  /* an HTTP caller's address; NULL where there is none (D-Bus) */
} HaleAuditActor;

typedef struct
{
  const char *event;           /* HALE_EVENT_* */
  const char *message_id;      /* HALE_MESSAGE_ID_* */
  int priority;                /* LOG_INFO, LOG_WARNING, ... (syslog.h) */
  const char *message;         /* the readable line */
  const char *outcome;         /* "success", "failure", or NULL */
  const char *resource_type;   /* "certificate", "service", "configuration", ... */
  const char *resource_id;     /* the group name: "nginx" for [Service nginx] */
  const char *unit;            /* for services */
  gint64 duration_ms;          /* -1: does not apply */
  const char *error;           /* on failure */
  const HaleAuditActor *actor; /* NULL: haled itself */
  /* More fields, "KEY", "value" pairs, NULL-terminated: journal fields
   * are HALE_KEY (upper case), the JSON file's details carry key. */
  const char *const *extra;
} HaleAuditEvent;

#define HALE_TYPE_AUDIT (hale_audit_get_type ())
G_DECLARE_FINAL_TYPE (HaleAudit, hale_audit, HALE, AUDIT, GObject)

HaleAudit *
hale_audit_new (HaleMetrics *metrics);

/* AuditLog=, AuditLogMaxSize=, AuditLogKeep=. */
void
hale_audit_configure (HaleAudit *self, HaleConfig *config);

/* Closes the audit file; the next event opens AuditLog= anew (SIGHUP,
 * after logrotate moved the file). A file moved or deleted under haled
 * is also noticed by itself, before each write. */
void
hale_audit_reopen (HaleAudit *self);

void
hale_audit_emit (HaleAudit *self, const HaleAuditEvent *event);

G_END_DECLS
