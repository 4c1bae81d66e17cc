/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus-face.h: what every D-Bus interface of haled shares.
 *
 * An interface is a table of its methods over the skeleton gdbus-codegen
 * generated. Every call runs the same way, here and nowhere else:
 *
 *   1. the method's argument check, if any (a typo costs no password prompt);
 *   2. for a method that changes something, the authority (polkit,
 *      asynchronous, deny by default);
 *   3. the audit event of that decision, with the caller's uid and pid;
 *   4. the method itself (it may answer later);
 *   5. one exit for errors: the face's error table turns a source's
 *      error into a HALE_ERROR (org.hale.Hale1.Error.*) or a standard
 *      D-Bus error; anything else is org.freedesktop.DBus.Error.Failed.
 *
 * Properties are bound from a model object by a table too (GBinding), so
 * the generated skeleton sends PropertiesChanged by itself.
 */
#pragma once

#include "hale-audit.h"
#include "hale-authority.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_TYPE_DBUS_FACE (hale_dbus_face_get_type ())
G_DECLARE_DERIVABLE_TYPE (HaleDbusFace, hale_dbus_face, HALE, DBUS_FACE, GObject)

struct _HaleDbusFaceClass
{
  GObjectClass parent_class;
};

/* One call in flight: the invocation, the method, and once authorised
 * the caller. */
typedef struct _HaleDbusCall HaleDbusCall;

typedef struct
{
  /* The D-Bus member: "ReloadService". */
  const char *name;
  /* The polkit action; NULL for a method that only reads (no polkit, no audit). */
  const char *action;
  /* What the first argument (a string) names, for the audit event:
   * "service", "check", ...; NULL: the call is about nothing in particular. */
  const char *resource_type;
  /* Refuses bad arguments before polkit is asked. NULL: nothing to check. */
  gboolean (*check) (HaleDbusFace *face, GVariant *parameters, GError **error);
  /* Does the call. TRUE: answered with hale_dbus_call_return_value(), now
   * or later (then keep a hale_dbus_call_ref()); FALSE: @error is answered. */
  gboolean (*dispatch) (HaleDbusFace *face, HaleDbusCall *call, GError **error);
} HaleDbusMethod;

/* A source's error and the bus error it is answered as; the domains are
 * functions since quarks are not constants. */
typedef struct
{
  GQuark (*from_domain) (void);
  int from_code;
  GQuark (*to_domain) (void);
  int to_code;
} HaleDbusErrorMap;

/* Property @target of the skeleton follows property @source of the
 * model object, through @transform when the types differ. */
typedef struct
{
  const char *source;
  const char *target;
  GBindingTransformFunc transform;
} HaleDbusBinding;

/* Called once by a subclass's constructor. @methods and @errors are
 * static tables; @authority and @audit may be NULL when no method
 * changes anything. Connects every method's handle-* signal. */
void
hale_dbus_face_setup (HaleDbusFace *self, GDBusInterfaceSkeleton *skeleton,
                      HaleAuthority *authority, HaleAudit *audit, const HaleDbusMethod *methods,
                      gsize n_methods, const HaleDbusErrorMap *errors, gsize n_errors);

/* Binds the skeleton's properties to @model's (kept until dispose). */
void
hale_dbus_face_bind (HaleDbusFace *self, gpointer model, const HaleDbusBinding *bindings,
                     gsize n_bindings);

/* For hale_dbus_add_interface(). Transfer none. */
GDBusInterfaceSkeleton *
hale_dbus_face_get_skeleton (HaleDbusFace *self);

HaleDbusCall *
hale_dbus_call_ref (HaleDbusCall *call);
void
hale_dbus_call_unref (HaleDbusCall *call);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleDbusCall, hale_dbus_call_unref)

/* The call's arguments. Transfer none. */
GVariant *
hale_dbus_call_get_parameters (HaleDbusCall *call);
/* Who called, for the audit events of what the call does; NULL for a
 * method that only reads. Valid as long as @call. */
const HaleAuditActor *
hale_dbus_call_get_actor (HaleDbusCall *call);

/* Answers @call once: with @value (a tuple, floating or not; NULL for
 * "()"), or with @error through the face's error table. */
void
hale_dbus_call_return_value (HaleDbusCall *call, GVariant *value);
void
hale_dbus_call_return_error (HaleDbusCall *call, const GError *error);
/* For a method that answers "()": answers it when @ok, and returns @ok
 * (a dispatch function's result). */
gboolean
hale_dbus_call_complete (HaleDbusCall *call, gboolean ok);

G_END_DECLS
