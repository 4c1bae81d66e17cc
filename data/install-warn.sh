#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson install with a prefix other than /usr: says, once more at the end
# of the install, which installed files the system never reads.
#   install-warn.sh PREFIX FILE...
prefix="$1"
shift
echo "hale: WARNING: installed under $prefix; dbus-daemon and polkitd never read:" >&2
for f in "$@"; do
  echo "hale:   $f" >&2
done
echo "hale: haled cannot own org.hale.Hale1 on the system bus, and polkit refuses every change by a" >&2
echo "hale: user other than root. Use --prefix=/usr (as the Debian package does), or copy the bus" >&2
echo "hale: policy to /etc/dbus-1/system.d/ and the polkit actions to /usr/share/polkit-1/actions/." >&2
