/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-names.h: every name hale shows to the outside, in one place.
 *
 * Bus names, object paths, interface names, journal fields and
 * MESSAGE_IDs are part of the contract operators and scripts rely on
 * (docs/); change them here or nowhere.
 */
#pragma once

#define HALE_DAEMON_NAME "haled"
#define HALE_SYSLOG_IDENTIFIER "haled"

/* D-Bus */
#define HALE_DBUS_NAME "org.hale.Hale1"
#define HALE_DBUS_PATH "/org/hale/Hale1"
#define HALE_DBUS_IFACE_HEALTH "org.hale.Hale1.Health"
#define HALE_DBUS_IFACE_RELOAD "org.hale.Hale1.Reload"
#define HALE_DBUS_IFACE_DEGRADED "org.hale.Hale1.Degraded"
#define HALE_DBUS_IFACE_ROTATION "org.hale.Hale1.Rotation"
#define HALE_DBUS_ERROR_PREFIX "org.hale.Hale1.Error."
#define HALE_DBUS_ERROR_BUSY HALE_DBUS_ERROR_PREFIX "Busy"
#define HALE_DBUS_ERROR_UNKNOWN_SERVICE HALE_DBUS_ERROR_PREFIX "UnknownService"
#define HALE_DBUS_ERROR_NOT_CONNECTED HALE_DBUS_ERROR_PREFIX "NotConnected"
#define HALE_DBUS_ERROR_UNKNOWN_CHECK HALE_DBUS_ERROR_PREFIX "UnknownCheck"
#define HALE_DBUS_ERROR_UNKNOWN_CATEGORY HALE_DBUS_ERROR_PREFIX "UnknownCategory"
#define HALE_DBUS_ERROR_NOT_PUSH HALE_DBUS_ERROR_PREFIX "NotPushCheck"
#define HALE_DBUS_ERROR_RATE_LIMITED HALE_DBUS_ERROR_PREFIX "RateLimited"

/* Files */
#define HALE_CONFIG_BASENAME "hale.conf"
#define HALE_CONFIG_DROPIN_SUFFIX ".d"
#define HALE_STATE_CERTIFICATES "certificates.ini"

/* Metrics */
#define HALE_DEFAULT_NAMESPACE "hale"

/* Check names in the health report: "<kind>:<group name>" */
#define HALE_CHECK_PREFIX_CERTIFICATE "certificate:"
#define HALE_CHECK_PREFIX_SERVICE "service:"
#define HALE_CHECK_PREFIX_ENDPOINT "endpoint:"
#define HALE_CHECK_CONNECTIVITY "connectivity"
#define HALE_CHECK_PREFIX_CHECK "check:"       /* [Check NAME], by hale-aggregate */
#define HALE_CHECK_PREFIX_CATEGORY "category:" /* a disabled [Category NAME] */

/* Journal fields (audit events and structured log lines) */
#define HALE_FIELD_EVENT "HALE_EVENT"
#define HALE_FIELD_OUTCOME "HALE_OUTCOME"
#define HALE_FIELD_ACTOR_IDENTITY "HALE_ACTOR_IDENTITY"
#define HALE_FIELD_ACTOR_AUTH_METHOD "HALE_ACTOR_AUTH_METHOD"
#define HALE_FIELD_ACTOR_UID "HALE_ACTOR_UID"
#define HALE_FIELD_ACTOR_PID "HALE_ACTOR_PID"
#define HALE_FIELD_RESOURCE_TYPE "HALE_RESOURCE_TYPE"
#define HALE_FIELD_RESOURCE_ID "HALE_RESOURCE_ID"
#define HALE_FIELD_UNIT "HALE_UNIT"
#define HALE_FIELD_DURATION_MS "HALE_DURATION_MS"
#define HALE_FIELD_ERROR "HALE_ERROR"
#define HALE_FIELD_CONFIG_FILE "HALE_CONFIG_FILE"
#define HALE_FIELD_SERIAL "HALE_SERIAL"
#define HALE_FIELD_PREVIOUS_SERIAL "HALE_PREVIOUS_SERIAL"
#define HALE_FIELD_ACTOR_UNIT "HALE_ACTOR_UNIT"
#define HALE_FIELD_ACTION "HALE_ACTION" /* the polkit action of a decision */
#define HALE_FIELD_METHOD "HALE_METHOD" /* the D-Bus method that asked */
/* check_status_changed: the [Check]'s status before and after, and why */
#define HALE_FIELD_OLD_STATUS "HALE_OLD_STATUS"
#define HALE_FIELD_NEW_STATUS "HALE_NEW_STATUS"
#define HALE_FIELD_REASON "HALE_REASON"

/* Event names (HALE_EVENT=) */
#define HALE_EVENT_STARTED "daemon_started"
#define HALE_EVENT_CONFIG_RELOADED "config_reloaded"
#define HALE_EVENT_CONFIG_REJECTED "config_rejected"
#define HALE_EVENT_CERTIFICATE_RENEWED "certificate_renewed"
#define HALE_EVENT_CERTIFICATE_PROBLEM "certificate_problem"
#define HALE_EVENT_CERTIFICATE_RECOVERED "certificate_recovered"
#define HALE_EVENT_SERVICE_RELOADED "service_reloaded"
#define HALE_EVENT_ROLLBACK "rollback"
#define HALE_EVENT_DEGRADED_ENTERED "degraded_entered"
#define HALE_EVENT_DEGRADED_EXITED "degraded_exited"
#define HALE_EVENT_AUTHORIZATION_GRANTED "authorization_granted"
#define HALE_EVENT_AUTHORIZATION_DENIED "authorization_denied"
#define HALE_EVENT_CERTIFICATE_RENEWAL_ATTEMPTED "certificate_renewal_attempted"
#define HALE_EVENT_CHECK_STATUS_CHANGED "check_status_changed"

/* MESSAGE_IDs: one per event type, stable forever; explained in
 * data/hale.catalog so `journalctl -x` shows what to do. */
#define HALE_MESSAGE_ID_STARTED "8184e708498245cda719fdaaf672175a"
#define HALE_MESSAGE_ID_CONFIG_RELOADED "add09b922f9a4c32a3d6f9f3c59a6fb3"
#define HALE_MESSAGE_ID_CONFIG_REJECTED "1f2d51d613b34fe28ae0d5747a3a5736"
#define HALE_MESSAGE_ID_CERTIFICATE_RENEWED "1b17a445905646d28b9ea9bdbb806f05"
#define HALE_MESSAGE_ID_CERTIFICATE_PROBLEM "eca615b1370f469387ec5cf17ac129a0"
#define HALE_MESSAGE_ID_CERTIFICATE_RECOVERED "fcc2c22acd634f94a1d8dd5198cc41d4"
#define HALE_MESSAGE_ID_SERVICE_RELOADED "67c8041df4bf40e8aa0a5e0d23fb93b3"
#define HALE_MESSAGE_ID_ROLLBACK "c82cd957ac8640bb8ebd85ce9dc37b71"
#define HALE_MESSAGE_ID_DEGRADED_ENTERED "79bae68fa79a4f2ca54aa5fbf89cd400"
#define HALE_MESSAGE_ID_DEGRADED_EXITED "490cf1802e974b55819ee3375935f9a8"
#define HALE_MESSAGE_ID_AUTHORIZATION_GRANTED "caab417e58d144158b8d31ac791ad32e"
#define HALE_MESSAGE_ID_AUTHORIZATION_DENIED "d8058db5b639443c81d186b79a679186"
#define HALE_MESSAGE_ID_CERTIFICATE_RENEWAL_ATTEMPTED "d5b8812789f0464eaa9f891b9728b36a"
#define HALE_MESSAGE_ID_CHECK_STATUS_CHANGED "ba3ab403867848b68918b0f76792c407"
