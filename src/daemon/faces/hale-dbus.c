/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-dbus.c: org.hale.Hale1 on the bus, and its Health interface.
 *
 * The skeletons are generated from dbus/\*.xml; this file only ties
 * them to the state model. Status is a property binding, Certificates
 * is rebuilt from the model after certificate checks change, and the
 * generated skeleton turns both into PropertiesChanged by itself.
 *
 * Certificates holds every certificate: rebuilding it costs in
 * proportion to their number, so it is not rebuilt on every change
 * (ten thousand certificates read at start would make that quadratic)
 * but marked stale and rebuilt once a burst of changes is over. A
 * client reading the property, and StatusChanged, never see it stale:
 * both bring it up to date first.
 */
#include "config.h"

#include "hale-dbus.h"
#include "hale-dbus-generated.h"
#include "hale-names.h"

#include <string.h>

/* Certificates is rebuilt this long after the first change of a burst;
 * longer when rebuilding took long, so that it never takes more than
 * about a fifth of the loop however many certificates change. */
#define CERTIFICATES_DELAY_MS 50
#define CERTIFICATES_DELAY_MAX_MS 1000
#define CERTIFICATES_DELAY_FACTOR 4

/* The Health skeleton, with a Get of a property preceded by bringing
 * Certificates up to date. */
#define HALE_TYPE_DBUS_HEALTH_OBJECT (hale_dbus_health_object_get_type ())
G_DECLARE_FINAL_TYPE (HaleDbusHealthObject, hale_dbus_health_object, HALE, DBUS_HEALTH_OBJECT,
                      HaleDBusHealthSkeleton)

struct _HaleDbusHealthObject
{
  HaleDBusHealthSkeleton parent_instance;
  HaleDbus *owner; /* unowned; cleared in its dispose */
};

G_DEFINE_TYPE (HaleDbusHealthObject, hale_dbus_health_object, HALE_DBUS_TYPE_HEALTH_SKELETON)

struct _HaleDbus
{
  GObject parent_instance;

  HaleState *state;
  HaleReport *report;

  HaleDBusHealth *health;
  GPtrArray *interfaces; /* GDBusInterfaceSkeleton, health first */

  GCancellable *cancellable;
  GDBusConnection *connection;
  guint owner_id;

  GBinding *status_binding;
  char *status; /* the last one announced, for StatusChanged's "old" */

  GHashTable *certificate_entries; /* check name -> CertificateEntry */
  GSource *certificates_source;    /* a rebuild to come: Certificates is stale */
  gint64 certificates_cost;        /* usec the last rebuild took */
};

G_DEFINE_TYPE (HaleDbus, hale_dbus, G_TYPE_OBJECT)

enum
{
  SIGNAL_NAME_ACQUIRED,
  SIGNAL_NAME_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
flush_certificates (HaleDbus *self);

/* Sections as clients name them; "" is the whole report. */
static const struct
{
  const char *name;
  HaleReportSection section;
} report_sections[] = {
  { "", HALE_REPORT_ALL },
  { "certificate", HALE_REPORT_CERTIFICATE },
  { "connectivity", HALE_REPORT_CONNECTIVITY },
  { "services", HALE_REPORT_SERVICES },
};

static gboolean
handle_get_report (HaleDBusHealth *health, GDBusMethodInvocation *invocation, const char *section,
                   HaleDbus *self)
{
  g_autoptr (GBytes) json = NULL;
  g_autofree char *text = NULL;
  const char *data;
  gsize size;

  for (gsize i = 0; i < G_N_ELEMENTS (report_sections); i++)
    {
      if (!g_str_equal (section, report_sections[i].name))
        continue;

      json = hale_report_get_json (self->report, report_sections[i].section, NULL);
      data = g_bytes_get_data (json, &size);

      /* A D-Bus string is UTF-8 without NULs; say so rather than let
       * GVariant refuse the reply and leave the caller waiting. */
      if (data == NULL || !g_utf8_validate_len (data, size, NULL))
        {
          g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_FAILED,
                                                 "The report for section “%s” is not valid UTF-8",
                                                 section);
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }

      text = g_strndup (data, size);
      hale_dbus_health_complete_get_report (health, invocation, text);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                         "Unknown report section “%s”: expected \"\" (the whole "
                                         "report), \"certificate\", \"connectivity\" or "
                                         "\"services\"",
                                         section);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Connected after the property binding, so Status already holds the new
 * word here. Flushing first puts PropertiesChanged on the wire before
 * StatusChanged: a client reacting to the signal reads the new value. */
static void
on_state_status_notify (HaleState *state, GParamSpec *pspec, HaleDbus *self)
{
  const char *status = hale_status_to_string (hale_state_get_status (state));
  g_autofree char *old = NULL;

  if (g_strcmp0 (status, self->status) == 0)
    return;

  old = g_steal_pointer (&self->status);
  self->status = g_strdup (status);

  /* The certificate that changed the status is in Certificates too. */
  flush_certificates (self);
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->health));
  hale_dbus_health_emit_status_changed (self->health, old, status);
}

/* One certificate's dictionary in Certificates, kept (serialised) from
 * one rebuild to the next while its check says the same: a rebuild after
 * one certificate changed builds one dictionary, not ten thousand. */
typedef struct
{
  HaleCheckResult *result; /* what it was built from */
  GVariant *entry;         /* {sa{sv}} */
} CertificateEntry;

static void
certificate_entry_free (CertificateEntry *ce)
{
  hale_check_result_unref (ce->result);
  g_variant_unref (ce->entry);
  g_free (ce);
}

/* NAME -> the check's details with its status and message; the details
 * never override those two. */
static GVariant *
build_certificate_entry (const HaleCheckResult *result)
{
  const char *name = result->name + strlen (HALE_CHECK_PREFIX_CERTIFICATE);
  GVariantBuilder entry;
  GVariantIter iter;
  const char *key;
  GVariant *value;
  GVariant *built;

  g_variant_builder_init (&entry, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&entry, "{sv}", "status",
                         g_variant_new_string (hale_check_status_to_string (result->status)));
  g_variant_builder_add (&entry, "{sv}", "message", g_variant_new_string (result->message));

  g_variant_iter_init (&iter, result->details);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (!g_str_equal (key, "status") && !g_str_equal (key, "message"))
        g_variant_builder_add (&entry, "{sv}", key, value);
      g_variant_unref (value);
    }

  built = g_variant_ref_sink (g_variant_new ("{sa{sv}}", name, &entry));
  /* Flat bytes rather than a tree of small GVariants: less memory, and
   * nothing to serialise again when the whole property is. */
  g_variant_get_data (built);
  return built;
}

static gboolean
same_check (const HaleCheckResult *a, const HaleCheckResult *b)
{
  return a == b
         || (a->status == b->status && g_str_equal (a->message, b->message)
             && g_variant_equal (a->details, b->details));
}

/* Certificates (a{sa{sv}}): every certificate check by its NAME. */
static GVariant *
build_certificates (HaleDbus *self)
{
  g_autoptr (GPtrArray) checks
      = hale_state_list_checks (self->state, HALE_CHECK_PREFIX_CERTIFICATE);
  GHashTable *entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                               (GDestroyNotify)certificate_entry_free);
  GVariantBuilder certificates;

  g_variant_builder_init (&certificates, G_VARIANT_TYPE ("a{sa{sv}}"));
  for (guint i = 0; i < checks->len; i++)
    {
      HaleCheckResult *result = g_ptr_array_index (checks, i);
      CertificateEntry *ce = NULL;

      if (self->certificate_entries != NULL)
        {
          gpointer key = NULL;

          if (g_hash_table_steal_extended (self->certificate_entries, result->name, &key,
                                           (gpointer *)&ce)
              && !same_check (ce->result, result))
            g_clear_pointer (&ce, certificate_entry_free);
        }
      if (ce == NULL)
        {
          ce = g_new0 (CertificateEntry, 1);
          ce->result = hale_check_result_ref (result);
          ce->entry = build_certificate_entry (result);
        }
      /* Keyed by the name inside the result it keeps. */
      g_hash_table_insert (entries, ce->result->name, ce);
      g_variant_builder_add_value (&certificates, ce->entry);
    }

  /* What is left is gone from the state. */
  g_clear_pointer (&self->certificate_entries, g_hash_table_unref);
  self->certificate_entries = entries;
  return g_variant_builder_end (&certificates);
}

static void
update_certificates (HaleDbus *self)
{
  gint64 start = g_get_monotonic_time ();

  if (self->certificates_source != NULL)
    {
      g_source_destroy (self->certificates_source);
      g_clear_pointer (&self->certificates_source, g_source_unref);
    }
  /* The skeleton compares with the value it holds and only emits
   * PropertiesChanged on a real change. */
  hale_dbus_health_set_certificates (self->health, build_certificates (self));
  /* Sending it is most of the cost with many certificates (the whole
   * property goes out): send it now, so the next delay counts it too. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->health));
  self->certificates_cost = g_get_monotonic_time () - start;
}

/* Brings Certificates up to date now if a rebuild is due. */
static void
flush_certificates (HaleDbus *self)
{
  if (self->certificates_source != NULL)
    update_certificates (self);
}

static gboolean
certificates_cb (gpointer user_data)
{
  HaleDbus *self = user_data;

  update_certificates (self);
  return G_SOURCE_REMOVE;
}

static void
on_state_check_changed (HaleState *state, const char *name, HaleDbus *self)
{
  gint64 delay_ms;

  if (!g_str_has_prefix (name, HALE_CHECK_PREFIX_CERTIFICATE) || self->certificates_source != NULL)
    return;
  delay_ms = CLAMP (self->certificates_cost * CERTIFICATES_DELAY_FACTOR / 1000,
                    CERTIFICATES_DELAY_MS, CERTIFICATES_DELAY_MAX_MS);
  self->certificates_source = g_timeout_source_new ((guint)delay_ms);
  g_source_set_callback (self->certificates_source, certificates_cb, self, NULL);
  g_source_set_name (self->certificates_source, "[hale] Certificates rebuild");
  g_source_attach (self->certificates_source, g_main_context_get_thread_default ());
}

/* A Get (or GetAll) of any property reads the model as it is now. */
static GVariant *
health_object_get_property (GDBusConnection *connection, const char *sender,
                            const char *object_path, const char *interface_name,
                            const char *property_name, GError **error, gpointer user_data);

static GDBusInterfaceGetPropertyFunc parent_get_property;

static GDBusInterfaceVTable *
health_object_get_vtable (GDBusInterfaceSkeleton *skeleton)
{
  static GDBusInterfaceVTable vtable;
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      GDBusInterfaceSkeletonClass *parent
          = G_DBUS_INTERFACE_SKELETON_CLASS (hale_dbus_health_object_parent_class);

      vtable = *parent->get_vtable (skeleton);
      parent_get_property = vtable.get_property;
      vtable.get_property = health_object_get_property;
      g_once_init_leave (&initialized, 1);
    }
  return &vtable;
}

static GVariant *
health_object_get_property (GDBusConnection *connection, const char *sender,
                            const char *object_path, const char *interface_name,
                            const char *property_name, GError **error, gpointer user_data)
{
  HaleDbusHealthObject *object = HALE_DBUS_HEALTH_OBJECT (user_data);

  if (object->owner != NULL)
    flush_certificates (object->owner);
  return parent_get_property (connection, sender, object_path, interface_name, property_name, error,
                              user_data);
}

static GVariant *
health_object_get_properties (GDBusInterfaceSkeleton *skeleton)
{
  HaleDbusHealthObject *object = HALE_DBUS_HEALTH_OBJECT (skeleton);

  if (object->owner != NULL)
    flush_certificates (object->owner);
  return G_DBUS_INTERFACE_SKELETON_CLASS (hale_dbus_health_object_parent_class)
      ->get_properties (skeleton);
}

static void
hale_dbus_health_object_class_init (HaleDbusHealthObjectClass *klass)
{
  GDBusInterfaceSkeletonClass *skeleton_class = G_DBUS_INTERFACE_SKELETON_CLASS (klass);

  skeleton_class->get_vtable = health_object_get_vtable;
  skeleton_class->get_properties = health_object_get_properties;
}

static void
hale_dbus_health_object_init (HaleDbusHealthObject *self)
{
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  HaleDbus *self = HALE_DBUS (user_data);

  g_debug ("Acquired the name %s", name);
  g_signal_emit (self, signals[SIGNAL_NAME_ACQUIRED], 0);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  HaleDbus *self = HALE_DBUS (user_data);
  g_autofree char *reason = NULL;

  if (connection == NULL || g_dbus_connection_is_closed (connection))
    reason = g_strdup_printf ("the bus connection closed before %s was ours", name);
  else
    reason = g_strdup_printf ("%s is owned by another process, or the bus policy does not "
                              "allow us to own it",
                              name);
  g_signal_emit (self, signals[SIGNAL_NAME_LOST], 0, reason);
}

static gboolean
export_interface (HaleDbus *self, GDBusInterfaceSkeleton *iface, GError **error)
{
  if (!g_dbus_interface_skeleton_export (iface, self->connection, HALE_DBUS_PATH, error))
    {
      g_prefix_error (error, "Could not export %s on %s: ",
                      g_dbus_interface_skeleton_get_info (iface)->name, HALE_DBUS_PATH);
      return FALSE;
    }
  return TRUE;
}

static void
on_bus_get (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) connection = g_bus_get_finish (result, &error);
  HaleDbus *self;

  /* Cancelled in dispose: self is gone, touch nothing. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = HALE_DBUS (user_data);
  if (connection == NULL)
    {
      g_autofree char *reason
          = g_strdup_printf ("could not connect to the bus: %s", error->message);
      g_signal_emit (self, signals[SIGNAL_NAME_LOST], 0, reason);
      return;
    }

  self->connection = g_steal_pointer (&connection);

  /* Objects first, then the name: a client that sees the name appear
   * must find everything already there. */
  for (guint i = 0; i < self->interfaces->len; i++)
    {
      if (!export_interface (self, g_ptr_array_index (self->interfaces, i), &error))
        {
          g_signal_emit (self, signals[SIGNAL_NAME_LOST], 0, error->message);
          return;
        }
    }

  self->owner_id
      = g_bus_own_name_on_connection (self->connection, HALE_DBUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                      on_name_acquired, on_name_lost, self, NULL);
}

void
hale_dbus_start (HaleDbus *self, GBusType bus_type)
{
  g_return_if_fail (HALE_IS_DBUS (self));
  g_return_if_fail (self->cancellable == NULL);

  self->cancellable = g_cancellable_new ();
  g_bus_get (bus_type, self->cancellable, on_bus_get, self);
}

void
hale_dbus_add_interface (HaleDbus *self, GDBusInterfaceSkeleton *iface)
{
  g_autoptr (GError) error = NULL;

  g_return_if_fail (HALE_IS_DBUS (self));
  g_return_if_fail (G_IS_DBUS_INTERFACE_SKELETON (iface));

  g_ptr_array_add (self->interfaces, g_object_ref (iface));

  /* Exporting the same interface twice on one path is a programming
   * error, not something the bus or a user can cause. */
  if (self->connection != NULL && !export_interface (self, iface, &error))
    g_warning ("%s", error->message);
}

GDBusInterfaceSkeleton *
hale_dbus_get_health_skeleton (HaleDbus *self)
{
  g_return_val_if_fail (HALE_IS_DBUS (self), NULL);
  return G_DBUS_INTERFACE_SKELETON (self->health);
}

GDBusConnection *
hale_dbus_get_connection (HaleDbus *self)
{
  g_return_val_if_fail (HALE_IS_DBUS (self), NULL);
  return self->connection;
}

static void
hale_dbus_dispose (GObject *object)
{
  HaleDbus *self = HALE_DBUS (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);

  /* The name goes before the objects, so no client that still sees the
   * name finds them missing. */
  if (self->owner_id != 0)
    {
      g_bus_unown_name (self->owner_id);
      self->owner_id = 0;
    }

  if (self->interfaces != NULL && self->connection != NULL)
    {
      for (guint i = 0; i < self->interfaces->len; i++)
        {
          GDBusInterfaceSkeleton *iface = g_ptr_array_index (self->interfaces, i);

          if (g_dbus_interface_skeleton_has_connection (iface, self->connection))
            g_dbus_interface_skeleton_unexport_from_connection (iface, self->connection);
        }
    }
  g_clear_object (&self->connection);

  if (self->state != NULL)
    g_signal_handlers_disconnect_by_data (self->state, self);
  if (self->certificates_source != NULL)
    {
      g_source_destroy (self->certificates_source);
      g_clear_pointer (&self->certificates_source, g_source_unref);
    }
  if (self->health != NULL)
    HALE_DBUS_HEALTH_OBJECT (self->health)->owner = NULL;
  if (self->status_binding != NULL)
    {
      g_binding_unbind (self->status_binding);
      self->status_binding = NULL;
    }
  if (self->health != NULL)
    g_signal_handlers_disconnect_by_data (self->health, self);

  g_clear_pointer (&self->interfaces, g_ptr_array_unref);
  g_clear_object (&self->health);
  g_clear_object (&self->report);
  g_clear_object (&self->state);

  G_OBJECT_CLASS (hale_dbus_parent_class)->dispose (object);
}

static void
hale_dbus_finalize (GObject *object)
{
  HaleDbus *self = HALE_DBUS (object);

  g_free (self->status);
  g_clear_pointer (&self->certificate_entries, g_hash_table_unref);
  G_OBJECT_CLASS (hale_dbus_parent_class)->finalize (object);
}

static void
hale_dbus_class_init (HaleDbusClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hale_dbus_dispose;
  object_class->finalize = hale_dbus_finalize;

  /* ::name-acquired: the name is ours, every interface is exported. */
  signals[SIGNAL_NAME_ACQUIRED]
      = g_signal_new ("name-acquired", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 0);

  /* ::name-lost (const char *reason): no bus, an interface could not be
   * exported, the name is someone else's, or it was taken away. */
  signals[SIGNAL_NAME_LOST]
      = g_signal_new ("name-lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
hale_dbus_init (HaleDbus *self)
{
  self->interfaces = g_ptr_array_new_with_free_func (g_object_unref);
}

HaleDbus *
hale_dbus_new (HaleState *state, HaleReport *report)
{
  HaleDbus *self;

  g_return_val_if_fail (HALE_IS_STATE (state), NULL);
  g_return_val_if_fail (HALE_IS_REPORT (report), NULL);

  self = g_object_new (HALE_TYPE_DBUS, NULL);
  self->state = g_object_ref (state);
  self->report = g_object_ref (report);

  self->health = g_object_new (HALE_TYPE_DBUS_HEALTH_OBJECT, NULL);
  HALE_DBUS_HEALTH_OBJECT (self->health)->owner = self;
  g_signal_connect (self->health, "handle-get-report", G_CALLBACK (handle_get_report), self);
  g_ptr_array_add (self->interfaces, g_object_ref (self->health));

  /* The binding's notify handler runs before ours (connected first), so
   * StatusChanged always follows the property. */
  self->status_binding
      = g_object_bind_property (state, "status", self->health, "status", G_BINDING_SYNC_CREATE);
  self->status = g_strdup (hale_status_to_string (hale_state_get_status (state)));
  g_signal_connect (state, "notify::status", G_CALLBACK (on_state_status_notify), self);

  update_certificates (self);
  g_signal_connect (state, "check-changed", G_CALLBACK (on_state_check_changed), self);

  return self;
}
