/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-authority.h: may this D-Bus caller do that? One answer, for every face.
 *
 * Deny by default and asynchronous: the caller's credentials come from
 * the bus (GetConnectionCredentials), root is allowed, with --user the
 * caller of haled's own uid is allowed, and everyone else is asked of
 * polkit (CheckAuthorization on the system bus). No polkit, or any
 * error on the way, means denied. Each mutating method names its polkit
 * action (data/org.hale.Hale1.policy, HALE_ACTION_* below).
 *
 * The authority decides; the face that asked audits the decision
 * (hale_authority_audit() gives every face the same event shape).
 */
#pragma once

#include "hale-audit.h"
#include "hale-metrics.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* polkit actions, one per kind of change (data/org.hale.Hale1.policy). */
#define HALE_ACTION_RELOAD "org.hale.Hale1.reload"
#define HALE_ACTION_ACKNOWLEDGE "org.hale.Hale1.acknowledge"
#define HALE_ACTION_MANAGE_CATEGORIES "org.hale.Hale1.manage-categories"
#define HALE_ACTION_REPORT_ROTATION "org.hale.Hale1.report-rotation"
#define HALE_ACTION_REPORT_CHECK "org.hale.Hale1.report-check"

/* HaleAuditActor.auth_method of the decisions. */
#define HALE_AUTH_METHOD_ROOT "dbus+root"
#define HALE_AUTH_METHOD_SAME_USER "dbus+same-user"
#define HALE_AUTH_METHOD_POLKIT "dbus+polkit"

typedef enum
{
  /* haled on the system bus: polkit is asked on that same bus, about
   * the caller's bus name. */
  HALE_AUTHORITY_SYSTEM,
  /* haled --user on a session bus: the caller of haled's own uid is
   * allowed; others are asked of polkit on the system bus
   * ($DBUS_SYSTEM_BUS_ADDRESS), about their process. */
  HALE_AUTHORITY_USER,
} HaleAuthorityMode;

/* Who called, as the bus vouches for it. Owns its strings. */
typedef struct _HaleAuthorityCaller HaleAuthorityCaller;

const char *
hale_authority_caller_get_sender (const HaleAuthorityCaller *caller);
/* Points into @caller: valid as long as it is. uid/pid -1 when the bus
 * did not say (then the call was denied). */
const HaleAuditActor *
hale_authority_caller_get_actor (const HaleAuthorityCaller *caller);
void
hale_authority_caller_free (HaleAuthorityCaller *caller);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleAuthorityCaller, hale_authority_caller_free)

#define HALE_TYPE_AUTHORITY (hale_authority_get_type ())
G_DECLARE_FINAL_TYPE (HaleAuthority, hale_authority, HALE, AUTHORITY, GObject)

HaleAuthority *
hale_authority_new (HaleAuthorityMode mode);

/* Counts denials in dbus_calls_denied_total{action}. Once. */
void
hale_authority_set_metrics (HaleAuthority *self, HaleMetrics *metrics);

/* Whether the caller set ALLOW_INTERACTIVE_AUTHORIZATION on the call
 * (busctl and GDBus clients can): polkit may then ask for a password. */
gboolean
hale_authority_invocation_is_interactive (GDBusMethodInvocation *invocation);

/* Decides whether the sender of @invocation may do @action_id. Does not
 * answer @invocation: the face does, after auditing. */
void
hale_authority_check_async (HaleAuthority *self, GDBusMethodInvocation *invocation,
                            const char *action_id, gboolean interactive, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);

/* TRUE: allowed. FALSE: denied, @error is G_DBUS_ERROR_ACCESS_DENIED
 * with a message naming the action and why, fit to return to the
 * caller. @out_caller (optional) is set either way, so a denial can be
 * audited with the caller's uid and pid. */
gboolean
hale_authority_check_finish (HaleAuthority *self, GAsyncResult *result,
                             HaleAuthorityCaller **out_caller, GError **error);

/* The audit event of a decision: HALE_EVENT_AUTHORIZATION_GRANTED or
 * _DENIED, the caller as actor, HALE_ACTION and HALE_METHOD fields.
 * @denial: NULL when allowed. @resource_type/@resource_id: what the call
 * was about ("service", "nginx"), or NULL. */
void
hale_authority_audit (HaleAudit *audit, const HaleAuthorityCaller *caller, const char *action_id,
                      const char *method, const char *resource_type, const char *resource_id,
                      const GError *denial);

/* The same event for a caller that is not on the bus (an HTTP client,
 * with its ip_address). @denial: NULL when allowed, else why not. */
void
hale_authority_audit_actor (HaleAudit *audit, const HaleAuditActor *actor, const char *action_id,
                            const char *method, const char *resource_type, const char *resource_id,
                            const char *denial);

G_END_DECLS
