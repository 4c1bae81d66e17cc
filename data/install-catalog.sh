#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson install: rebuilds the journal catalog database so `journalctl -x`
# shows hale's entries. Into a DESTDIR (a package build) there is nothing
# to rebuild: the package manager's trigger does it on the target.
set -eu
if [ -n "${DESTDIR:-}" ]; then
  exit 0
fi
if command -v journalctl >/dev/null 2>&1 && journalctl --update-catalog; then
  echo "hale: journal catalog updated"
else
  echo "hale: could not run journalctl --update-catalog; run it as root for journalctl -x to show hale's entries" >&2
fi
