#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson install: puts the example configuration in place unless there is
# one already; the operator's file is never overwritten.
#   install-conf.sh SOURCE DESTINATION
set -eu
dest="${DESTDIR:-}$2"
if [ -e "$dest" ]; then
  echo "hale: keeping the existing $2"
else
  install -D -m 0644 "$1" "$dest"
  echo "hale: installed the example configuration $2"
fi
