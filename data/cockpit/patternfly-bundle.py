#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes data/cockpit/hale/patternfly.css: the parts of PatternFly 4
the Cockpit page uses, from the @patternfly/patternfly npm package, so
that the page looks like Cockpit's own pages without a JavaScript build.

Debian 12's Cockpit (287) is built with PatternFly 4 (pf-c-* classes)
but ships it only bundled into each page's own CSS; a third-party page
brings its own copy, as Cockpit's starter kit does. Fonts are Cockpit's
(/cockpit/static/fonts, which cockpit-ws serves), not PatternFly's, and
no icon font is used (the page draws its few icons as inline SVG).

    npm pack @patternfly/patternfly@4.224.5 && tar xzf patternfly-*.tgz
    data/cockpit/patternfly-bundle.py package > data/cockpit/hale/patternfly.css

The result is PatternFly's (MIT), unchanged but for the @font-face
rules; its header says so.
"""

import json
import os
import re
import sys

PARTS = [
    "patternfly-base.css",
    "components/Page/page.css",
    "components/Card/card.css",
    "components/Title/title.css",
    "components/Button/button.css",
    "components/Label/label.css",
    "components/Alert/alert.css",
    "components/AlertGroup/alert-group.css",
    "components/Toolbar/toolbar.css",
    "components/FormControl/form-control.css",
    "components/InputGroup/input-group.css",
    "components/TextInputGroup/text-input-group.css",
    "components/Table/table.css",
    "components/DescriptionList/description-list.css",
    "components/ModalBox/modal-box.css",
    "components/Backdrop/backdrop.css",
    "components/EmptyState/empty-state.css",
    "components/Badge/badge.css",
    "layouts/Stack/stack.css",
    "layouts/Flex/flex.css",
    "layouts/Split/split.css",
    "layouts/Bullseye/bullseye.css",
]

# Cockpit's fonts, relative to /cockpit/@HOST/hale/patternfly.css.
FONTS = [("RedHatText", "RedHatText", 400, "Regular"), ("RedHatText", "RedHatText", 500, "Medium"),
         ("RedHatText", "RedHatText", 700, "Bold"),
         ("RedHatDisplay", "RedHatDisplay", 400, "Regular"),
         ("RedHatDisplay", "RedHatDisplay", 500, "Medium"),
         ("RedHatDisplay", "RedHatDisplay", 700, "Bold"),
         ("RedHatMono", "RedHatMono", 400, "Regular"), ("RedHatMono", "RedHatMono", 500, "Medium")]


CARET = ("url(\"data:image/svg+xml;charset=utf8,%3Csvg xmlns='http://www.w3.org/2000/svg' "
         "viewBox='0 0 320 512'%3E%3Cpath fill='%23151515' d='M31.3 192h257.3c17.8 0 26.7 21.5 "
         "14.1 34.1L174.1 354.8c-7.8 7.8-20.5 7.8-28.3 0L17.2 226.1C4.6 213.5 13.5 192 31.3 "
         "192z'/%3E%3C/svg%3E\")")


def main():
    top = sys.argv[1]
    with open(os.path.join(top, "package.json")) as f:
        version = json.load(f)["version"]
    out = ["/* PatternFly %s (https://www.patternfly.org), MIT License, Copyright Red Hat, Inc.:"
           % version,
           " * the parts hale's Cockpit page uses, written by data/cockpit/patternfly-bundle.py"
           " from",
           " * the npm package @patternfly/patternfly: %s." % ", ".join(PARTS),
           " * Unchanged but for the fonts: Cockpit's own, from /cockpit/static/fonts. */"]
    for family, name, weight, style in FONTS:
        out.append('@font-face { font-family: "%s"; src: url("../../static/fonts/%s-%s.woff2")'
                   ' format("woff2"); font-style: normal; font-weight: %d; }'
                   % (family, name, style, weight))
    out.append(":root { --pf-global--FontFamily--sans-serif: \"RedHatText\", helvetica, arial, "
               "sans-serif; --pf-global--FontFamily--heading--sans-serif: \"RedHatDisplay\", "
               "helvetica, arial, sans-serif; --pf-global--FontFamily--monospace: \"RedHatMono\", "
               "\"Liberation Mono\", consolas, monospace; }")
    for part in PARTS:
        with open(os.path.join(top, part)) as f:
            css = f.read()
        css = re.sub(r"@font-face\s*\{[^}]*\}\s*", "", css)
        # PatternFly's icon sprite is not shipped: the select's caret
        # inline, the other icons (of modifiers the page does not use) none.
        css = css.replace('url("../../assets/images/status-icon-sprite.svg#select")', CARET)
        css = re.sub(r'url\("\.\./\.\./assets/images/[^"]*"\)', "none", css)
        css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
        css = re.sub(r"\n\s*\n+", "\n", css)
        out.append("/* %s */\n%s" % (part, css.strip()))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
