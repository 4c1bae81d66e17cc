/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-check-answer.h: what a service's health answer says.
 *
 * An http check's answer is read in one of four formats (FT __health,
 * application/health+json, the rotation agent's report, a plain status
 * code), chosen by Format= or by the answer's type and shape. Answers
 * are untrusted: refused before the JSON parser when they hold a NUL
 * byte, invalid UTF-8 or nesting deeper than a few dozen levels; what
 * decides the verdict must have the right type; display text is cut and
 * folded to one line.
 */
#pragma once

#include "hale-config.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* Display text taken from answers is cut to this many bytes. */
#define HALE_CHECK_TEXT_MAX 512

/* "auto", "ft", "health+json", "seed", "status": as Format= takes them. */
const char *
hale_check_format_to_string (HaleCheckFormat format);

/* One line of valid UTF-8 of at most @max bytes (cut at a character,
 * control characters folded to spaces). */
char *
hale_check_text_clean (const char *text, gsize max);

/* The status words of the formats and of push reports, with their
 * aliases ("passed", "up", "degraded", "down", ...). */
typedef enum
{
  HALE_CHECK_WORD_UNKNOWN,
  HALE_CHECK_WORD_PASS,
  HALE_CHECK_WORD_WARN,
  HALE_CHECK_WORD_FAIL,
} HaleCheckWord;

HaleCheckWord
hale_check_word_parse (const char *text);

/* Judges one answer (@http_status, @content_type, the body @data of
 * @len bytes) in @format. Adds format, checks and what else the format
 * says to @details; sets whether it passed, the severity of a failure (1
 * critical, 2 warning) and the one-line message. */
void
hale_check_answer_judge (HaleCheckFormat format, guint http_status, const char *content_type,
                         const char *data, gsize len, GVariantBuilder *details, gboolean *out_ok,
                         guint *out_severity, char **out_message);

G_END_DECLS
