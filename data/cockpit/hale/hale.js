/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale's Cockpit page.
 *
 * Everything shown comes from haled's org.hale.Hale1 object over D-Bus
 * (cockpit.dbus through the bridge): the Health, Reload and Degraded
 * interfaces of dbus/*.xml. Nothing polls: properties arrive with
 * PropertiesChanged (cockpit's proxies keep .data current and emit
 * "changed"), and the method results that have no property (the
 * services report, the endpoints) are asked again only when a signal or
 * a property change says they moved.
 *
 * The bus is the system bus, where haled runs as a service. A haled
 * --user (tests, per-user deployments) is on the session bus: open the
 * page as .../hale/index.html#/?bus=session.
 *
 * Actions (reload, acknowledge, re-enable a category) are offered to
 * everyone; haled asks polkit, and a refusal comes back as
 * org.freedesktop.DBus.Error.AccessDenied, which is shown to the user.
 * Acknowledge, RemoveAcknowledgement and EnableCategory are offered only
 * when haled's introspection has them; their results arrive like any
 * other change, with ChecksChanged and PropertiesChanged.
 *
 * The look is Cockpit's: PatternFly 4 classes (patternfly.css, see
 * data/cockpit/patternfly-bundle.py). The certificates and checks
 * tables sort by any column and filter by text and status; a name opens
 * the details of that certificate or check, kept current while open.
 *
 * Plain JavaScript, no build step: every string goes through
 * cockpit.gettext, so that the package's po.js (po.LANG.js, made from
 * po/LANG.po at build time) translates it; the page's fixed text is set
 * here too, for the same reason.
 */
"use strict";

(function () {
    const _ = cockpit.gettext;
    /* Marks a string for translation without translating it here. */
    const N_ = function (s) { return s };

    /* manifest.json's menu label, for po.LANG.js: Cockpit's shell
     * translates a package's menu entry with the package's own po.js. */
    N_("Certificates (hale)");

    const BUS_NAME = "org.hale.Hale1";
    const OBJECT_PATH = "/org/hale/Hale1";
    const HEALTH = "org.hale.Hale1.Health";
    const RELOAD = "org.hale.Hale1.Reload";
    const DEGRADED = "org.hale.Hale1.Degraded";
    const ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied";

    const DAY_MS = 86400 * 1000;

    /* What the page knows; render() draws it all. */
    const model = {
        report: null, /* the parsed GetReport("services") */
        endpoints: null, /* GetEndpoints()[0] */
        pending: {}, /* service name -> true while our call runs */
        ackForm: null, /* the check whose acknowledge form is open */
        ackDraft: "", /* what was typed in it */
        ackFocus: false, /* the form just opened: focus its input */
        present: true, /* haled owns the name */
        details: null, /* {kind: "certificate"|"check", name} shown in the dialog */
        detailsFocus: false, /* the dialog just opened: focus its Close */
    };

    let client = null;
    let health = null;
    let reload = null;
    let degraded = null;

    /* --- small helpers ------------------------------------------------ */

    function $(id) {
        return document.getElementById(id);
    }

    function el(tag, attrs, children) {
        const node = document.createElement(tag);
        for (const key in attrs || {}) {
            if (key === "text")
                node.textContent = attrs[key];
            else if (key === "class")
                node.className = attrs[key];
            else if (key.startsWith("on"))
                node.addEventListener(key.substring(2), attrs[key]);
            else if (attrs[key] !== undefined && attrs[key] !== null && attrs[key] !== false)
                node.setAttribute(key, attrs[key] === true ? "" : attrs[key]);
        }
        for (const child of children || []) {
            if (child !== null && child !== undefined)
                node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
        }
        return node;
    }

    /* cockpit.dbus gives a variant as {t: SIGNATURE, v: VALUE}. */
    function unvariant(value) {
        if (value && typeof value === "object" && "t" in value && "v" in value)
            return value.v;
        return value;
    }

    function unvariantDict(dict) {
        const out = {};
        for (const key in dict || {})
            out[key] = unvariant(dict[key]);
        return out;
    }

    /* healthy/warning/critical/... to the colour class of a badge. */
    function statusClass(status) {
        switch (status) {
        case "healthy":
        case "pass":
        case "ok":
        case "success":
            return "ok";
        case "warning":
        case "warn":
        case "degraded":
            return "warning";
        case "critical":
        case "unhealthy":
        case "offline":
        case "fail":
        case "failure":
            return "critical";
        default:
            return "unknown";
        }
    }

    /* The colour of a PatternFly label per status class. */
    const LABEL_COLOUR = { ok: "pf-m-green", warning: "pf-m-gold", critical: "pf-m-red", unknown: "" };

    /* The severity order of the status sort: worst first when descending. */
    const SEVERITY = { ok: 0, unknown: 1, warning: 2, critical: 3 };

    function badge(status, label) {
        const cls = statusClass(status);
        return el("span", {
            class: ("pf-c-label pf-m-compact hale-badge " + LABEL_COLOUR[cls]).trim(),
            "data-status": cls,
        }, [el("span", { class: "pf-c-label__content", text: label || statusText(status) })]);
    }

    function setBadge(node, status, label) {
        const cls = statusClass(status);
        node.className = ("pf-c-label " + LABEL_COLOUR[cls]).trim();
        node.dataset.status = cls;
        node.replaceChildren(el("span", { class: "pf-c-label__content", text: label || statusText(status) }));
    }

    /* haled's status words stay as haled says them, in every language:
     * they are the words of /health, halectl and the alert rules. */
    function statusText(status) {
        return status || "unknown";
    }

    function button(cls, label, onclick, attrs) {
        return el("button", Object.assign({
            class: "pf-c-button " + cls,
            type: "button",
            text: label,
            onclick: onclick,
        }, attrs || {}));
    }

    function formatDuration(usec) {
        const ms = usec / 1000;
        if (ms < 1000)
            return cockpit.format(_("$0 ms"), Math.round(ms));
        return cockpit.format(_("$0 s"), (ms / 1000).toFixed(ms < 10000 ? 2 : 0));
    }

    /* In the page's language, as Cockpit's own pages write times. */
    function formatTime(ms) {
        if (!ms)
            return "";
        try {
            return new Date(ms).toLocaleString(cockpit.language || undefined);
        } catch (ex) {
            return new Date(ms).toLocaleString();
        }
    }

    /* Days left until @expiresAt (RFC 3339), from the browser's clock so a
     * page left open counts down by itself. */
    function daysLeft(expiresAt) {
        const at = Date.parse(expiresAt);
        if (isNaN(at))
            return null;
        /* Whole days, as haled's "expires in 89d" counts them. */
        const left = at - Date.now();
        if (left < 0) {
            const ago = Math.floor(-left / DAY_MS);
            return { days: -ago - 1, text: ago === 0 ? _("expired today") : cockpit.format(cockpit.ngettext("expired $0 day ago", "expired $0 days ago", ago), ago) };
        }
        const days = Math.floor(left / DAY_MS);
        if (days === 0)
            return { days: 0, text: cockpit.format(_("less than a day ($0 h)"), Math.floor(left / 3600000)) };
        return { days: days, text: cockpit.format(cockpit.ngettext("$0 day", "$0 days", days), days) };
    }

    /* --- errors -------------------------------------------------------- */

    function errorText(ex) {
        if (!ex)
            return _("unknown error");
        if (ex.problem && !ex.message)
            return ex.problem;
        return ex.message || String(ex);
    }

    /* Shows @what failed; a polkit refusal says so plainly. Alerts stay
     * until closed: a denial must not flash by unseen. */
    function showError(what, ex) {
        const denied = ex && ex.name === ACCESS_DENIED;
        const title = denied ? cockpit.format(_("Not permitted: $0"), what) : cockpit.format(_("$0 failed"), what);
        const alert = el("div", {
            class: "pf-c-alert pf-m-inline hale-alert " + (denied ? "pf-m-warning" : "pf-m-danger"),
            "data-kind": denied ? "denied" : "error",
            "data-error": (ex && ex.name) || "",
        }, [
            el("p", { class: "pf-c-alert__title" }, [el("strong", { text: title })]),
            el("div", { class: "pf-c-alert__action" }, [
                button("pf-m-plain hale-alert-close", "×", function () { alert.remove() },
                       { "aria-label": _("Close") }),
            ]),
            el("div", { class: "pf-c-alert__description" }, [
                el("p", { class: "hale-alert-message", text: errorText(ex) }),
            ]),
        ]);
        $("alerts").appendChild(alert);
        console.warn("hale:", title, ex && ex.name, errorText(ex));
    }

    /* cockpit's proxy gains a function per method of the interface's
     * introspection (its client keeps the introspection to itself). */
    function hasMethod(proxy, method) {
        return !!(proxy && proxy.valid && typeof proxy[method] === "function");
    }

    function call(iface, method, args) {
        return client.call(OBJECT_PATH, iface, method, args);
    }

    /* --- data that has no property: asked again on change -------------- */

    /* Coalesces bursts (a sequence sends a signal per service and then
     * several PropertiesChanged) into one call per section. */
    const refreshing = {};
    function refresh(section, fn) {
        if (refreshing[section])
            return;
        refreshing[section] = true;
        window.setTimeout(function () {
            refreshing[section] = false;
            fn();
        }, 50);
    }

    function refreshReport() {
        refresh("report", function () {
            call(HEALTH, "GetReport", ["services"])
                    .then(function (reply) {
                        model.report = JSON.parse(reply[0]);
                        render();
                    })
                    .catch(function (ex) {
                        if (model.present)
                            showError(_("Reading the services report"), ex);
                    });
        });
    }

    function refreshEndpoints() {
        refresh("endpoints", function () {
            call(DEGRADED, "GetEndpoints", [])
                    .then(function (reply) {
                        model.endpoints = reply[0];
                        render();
                    })
                    .catch(function (ex) {
                        if (model.present)
                            showError(_("Reading the endpoints"), ex);
                    });
        });
    }

    function refreshAll() {
        refreshReport();
        refreshEndpoints();
    }

    /* --- actions ------------------------------------------------------- */

    function reloadService(name) {
        model.pending[name] = true;
        render();
        call(RELOAD, "ReloadService", [name])
                .catch(function (ex) {
                    showError(cockpit.format(_("Reloading $0"), name), ex);
                })
                .finally(function () {
                    delete model.pending[name];
                    render();
                });
    }

    function reloadAll() {
        model.pending["*"] = true;
        render();
        call(RELOAD, "ReloadAll", [])
                .catch(function (ex) {
                    showError(_("Reloading all services"), ex);
                })
                .finally(function () {
                    delete model.pending["*"];
                    render();
                });
    }

    /* Acknowledge, RemoveAcknowledgement and EnableCategory answer once
     * haled has changed; ChecksChanged and PropertiesChanged then bring
     * the new report, as they do for a change made elsewhere. */
    function act(key, what, method, args, done) {
        model.pending[key] = true;
        render();
        call(HEALTH, method, args)
                .then(function () {
                    if (done)
                        done();
                })
                .catch(function (ex) {
                    showError(what, ex);
                })
                .finally(function () {
                    delete model.pending[key];
                    render();
                });
    }

    function acknowledge(check, message) {
        act("ack:" + check, cockpit.format(_("Acknowledging $0"), check), "Acknowledge", [check, message],
            function () {
                model.ackForm = null;
                model.ackDraft = "";
            });
    }

    function removeAcknowledgement(check) {
        act("ack:" + check, cockpit.format(_("Removing the acknowledgement of $0"), check),
            "RemoveAcknowledgement", [check]);
    }

    function enableCategory(category) {
        act("category:" + category, cockpit.format(_("Enabling $0"), category), "EnableCategory", [category]);
    }

    /* --- tables: columns, sorting, filtering --------------------------- */

    /* Sorting and filtering of the certificates and checks tables: the
     * column and direction (null: haled's order), the text and the
     * status class a row must match. */
    const view = {
        certificates: { sort: "name", ascending: true, text: "", status: "" },
        checks: { sort: null, ascending: true, text: "", status: "" },
    };

    const SORT_ICONS = {
        none: "M41 288h238c21.4 0 32.1 25.9 17 41L177 448c-9.4 9.4-24.6 9.4-33.9 0L24 329c-15.1-15.1-4.4-41 17-41zm255-105L177 64c-9.4-9.4-24.6-9.4-33.9 0L24 183c-15.1 15.1-4.4 41 17 41h238c21.4 0 32.1-25.9 17-41z",
        ascending: "M279 224H41c-21.4 0-32.1-25.9-17-41L143 64c9.4-9.4 24.6-9.4 33.9 0l119 119c15.2 15.1 4.5 41-16.9 41z",
        descending: "M41 288h238c21.4 0 32.1 25.9 17 41L177 448c-9.4 9.4-24.6 9.4-33.9 0L24 329c-15.1-15.1-4.4-41 17-41z",
    };

    function sortIcon(state) {
        const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
        svg.setAttribute("viewBox", "0 0 320 512");
        svg.setAttribute("aria-hidden", "true");
        const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
        path.setAttribute("d", SORT_ICONS[state]);
        svg.appendChild(path);
        return svg;
    }

    /* The header row; @table's columns with a sort key get PatternFly's
     * sort buttons. */
    function header(table, columns) {
        const state = view[table];
        return el("thead", {}, [el("tr", { role: "row" }, columns.map(function (c) {
            if (!c.sort || !state)
                return el("th", { class: "pf-m-wrap", role: "columnheader", scope: "col", text: c.label || "" });
            const selected = state.sort === c.sort;
            const direction = selected ? (state.ascending ? "ascending" : "descending") : "none";
            return el("th", {
                class: "pf-c-table__sort pf-m-wrap" + (selected ? " pf-m-selected" : ""),
                role: "columnheader",
                scope: "col",
                "aria-sort": direction,
                "data-sort": c.sort,
            }, [el("button", {
                class: "pf-c-table__button hale-sort",
                type: "button",
                onclick: function () {
                    if (state.sort === c.sort) {
                        state.ascending = !state.ascending;
                    } else {
                        state.sort = c.sort;
                        state.ascending = true;
                    }
                    render();
                },
            }, [el("div", { class: "pf-c-table__button-content" }, [
                el("span", { class: "pf-c-table__text", text: c.label }),
                el("span", { class: "pf-c-table__sort-indicator" }, [sortIcon(direction)]),
            ])])]);
        }))]);
    }

    function compare(a, b) {
        if (a === b)
            return 0;
        if (a === null || a === undefined || a === "")
            return 1; /* what is not known goes last either way */
        if (b === null || b === undefined || b === "")
            return -1;
        if (typeof a === "number" && typeof b === "number")
            return a - b;
        return String(a).localeCompare(String(b), undefined, { numeric: true });
    }

    /* Sorts and filters @items ({name, keys: {sortkey: value}, status,
     * text}) by @table's view; returns the ones shown. */
    function arrange(table, items) {
        const state = view[table];
        const needle = state.text.trim().toLowerCase();
        let shown = items.filter(function (item) {
            if (state.status && statusClass(item.status) !== state.status)
                return false;
            return !needle || item.text.toLowerCase().indexOf(needle) >= 0;
        });
        if (state.sort) {
            shown = shown.slice().sort(function (a, b) {
                const va = a.keys[state.sort];
                const vb = b.keys[state.sort];
                const empty = function (v) { return v === null || v === undefined || v === "" };
                /* Unknown values last, whatever the direction. */
                if (empty(va) !== empty(vb))
                    return empty(va) ? 1 : -1;
                const c = compare(va, vb) || compare(a.name, b.name);
                return state.ascending ? c : -c;
            });
        }
        return shown;
    }

    /* The toolbar above a sortable table: a text filter, a status
     * filter and how many rows match. Drawn once; its state is view's. */
    function drawFilter(table, placeholder) {
        const box = document.querySelector(".hale-filter[data-table=" + table + "]");
        const state = view[table];
        const input = el("input", {
            class: "pf-c-text-input-group__text-input hale-filter-text",
            type: "search",
            placeholder: placeholder,
            "aria-label": placeholder,
            oninput: function () {
                state.text = input.value;
                render();
            },
        });
        const select = el("select", {
            class: "pf-c-form-control hale-filter-status",
            "aria-label": _("Status"),
            onchange: function () {
                state.status = select.value;
                render();
            },
        }, [
            el("option", { value: "", text: _("All statuses") }),
            el("option", { value: "ok", text: "healthy" }),
            el("option", { value: "warning", text: "warning" }),
            el("option", { value: "critical", text: "critical" }),
            el("option", { value: "unknown", text: "unknown" }),
        ]);
        box.replaceChildren(el("div", { class: "pf-c-toolbar" }, [
            el("div", { class: "pf-c-toolbar__content" }, [
                el("div", { class: "pf-c-toolbar__content-section" }, [
                    el("div", { class: "pf-c-toolbar__item pf-m-search-filter" }, [
                        el("div", { class: "pf-c-text-input-group" }, [
                            el("div", { class: "pf-c-text-input-group__main" }, [
                                el("span", { class: "pf-c-text-input-group__text" }, [input]),
                            ]),
                        ]),
                    ]),
                    el("div", { class: "pf-c-toolbar__item" }, [select]),
                    el("div", { class: "pf-c-toolbar__item pf-m-pagination hale-muted hale-count" }),
                ]),
            ]),
        ]));
    }

    function clearFilter(table) {
        const box = document.querySelector(".hale-filter[data-table=" + table + "]");
        view[table].text = "";
        view[table].status = "";
        box.querySelector(".hale-filter-text").value = "";
        box.querySelector(".hale-filter-status").value = "";
        render();
    }

    /* @rows of @tableId under its header; @total: the rows before
     * filtering; @loaded: the data behind the table has arrived, so no
     * rows means none are configured (not "not asked yet"). */
    function fillTable(tableId, columns, rows, loaded, total) {
        const table = $(tableId);
        const card = table.parentNode;
        if (total === undefined)
            total = rows.length;
        table.replaceChildren(header(tableId, columns), el("tbody", { role: "rowgroup" }, rows));
        const empty = card.querySelector(".hale-empty");
        if (empty)
            empty.hidden = total > 0 || !loaded;
        const filter = card.querySelector(".hale-filter");
        if (filter) {
            filter.hidden = total === 0;
            card.querySelector(".hale-count").textContent = rows.length === total
                ? cockpit.format(cockpit.ngettext("$0 item", "$0 items", total), total)
                : cockpit.format(_("$0 of $1"), rows.length, total);
        }
        const noMatch = card.querySelector(".hale-no-match");
        if (noMatch) {
            noMatch.hidden = !(total > 0 && rows.length === 0);
            if (!noMatch.hidden && !noMatch.firstChild) {
                noMatch.appendChild(el("div", { class: "pf-c-empty-state pf-m-sm" }, [
                    el("div", { class: "pf-c-empty-state__content" }, [
                        el("h3", { class: "pf-c-title pf-m-md", text: _("Nothing matches the filter") }),
                        el("div", { class: "pf-c-empty-state__primary" }, [
                            button("pf-m-link hale-clear-filter", _("Clear filters"),
                                   function () { clearFilter(tableId) }),
                        ]),
                    ]),
                ]));
            }
        }
        table.hidden = total === 0 || rows.length === 0;
    }

    function nameCell(kind, name, sub) {
        return el("th", { role: "gridcell", scope: "row", "data-label": name }, [
            button("pf-m-link pf-m-inline hale-details", name, function () { openDetails(kind, name) },
                   { "aria-haspopup": "dialog" }),
            sub ? el("span", { class: "hale-muted hale-sub", text: sub }) : null,
        ]);
    }

    /* --- rendering ----------------------------------------------------- */

    function renderOverall() {
        const status = health && health.valid ? health.Status : null;
        const overall = $("overall");
        setBadge(overall, status);
        overall.dataset.value = status || "";
        document.title = status ? cockpit.format("hale: $0", statusText(status)) : "hale";
    }

    function certificates() {
        return (health && health.valid && health.Certificates) || {};
    }

    function renderCertificates() {
        const certs = certificates();
        const items = Object.keys(certs).map(function (name) {
            const c = unvariantDict(certs[name]);
            const left = c.expires_at ? daysLeft(c.expires_at) : null;
            const at = c.expires_at ? Date.parse(c.expires_at) : null;
            return {
                name: name,
                status: c.status,
                text: [name, c.subject, c.issuer, c.serial, c.path, c.error || c.message].join(" "),
                keys: {
                    name: name,
                    status: SEVERITY[statusClass(c.status)],
                    days: at,
                    subject: c.subject || "",
                    serial: c.serial || "",
                    message: c.error || c.message || "",
                },
                row: el("tr", { role: "row", "data-certificate": name, "data-status": c.status }, [
                    nameCell("certificate", name),
                    el("td", { role: "gridcell" }, [badge(c.status)]),
                    el("td", {
                        role: "gridcell",
                        class: "hale-days",
                        "data-days": left ? left.days : "",
                        text: left ? left.text : "",
                    }),
                    el("td", { role: "gridcell", text: at ? formatTime(at) : "" }),
                    el("td", { role: "gridcell", class: "hale-wrap", text: c.subject || "", title: c.issuer ? cockpit.format(_("issued by $0"), c.issuer) : "" }),
                    el("td", { role: "gridcell", class: "hale-mono", text: c.serial || "" }),
                    el("td", { role: "gridcell", class: "hale-wrap", text: c.error || c.message || "" }),
                ]),
            };
        });
        const shown = arrange("certificates", items);
        fillTable("certificates", [
            { label: _("Name"), sort: "name" },
            { label: _("Status"), sort: "status" },
            { label: _("Days left"), sort: "days" },
            { label: _("Expires") },
            { label: _("Subject"), sort: "subject" },
            { label: _("Serial"), sort: "serial" },
            { label: _("Message"), sort: "message" },
        ], shown.map(function (i) { return i.row }), !!(health && health.valid && health.Certificates), items.length);
    }

    /* The report's message says more ("reload failed: ..."), but
     * LastResults may be ahead of it for a moment: then the result's own
     * error. */
    function serviceMessage(reported, result) {
        const details = reported.details || {};
        if (!result || details.success === result.success)
            return reported.message || (result && result.error) || "";
        return result.error;
    }

    function renderServices() {
        const busy = reload && reload.valid && reload.Busy;
        const last = {};
        const order = [];
        /* LastResults: a(sbtss) name, success, duration, error, unit. */
        for (const r of (reload && reload.valid && reload.LastResults) || []) {
            last[r[0]] = { success: r[1], duration: r[2], error: r[3], unit: r[4] };
            order.push(r[0]);
        }
        /* The report lists every configured service, reloaded or not, in
         * configuration order. */
        const reported = (model.report && model.report.services) || {};
        const names = Object.keys(reported);
        for (const name of order) {
            if (names.indexOf(name) < 0)
                names.push(name);
        }

        const rows = names.map(function (name) {
            const s = reported[name] || {};
            const details = s.details || {};
            const r = last[name];
            const pending = !!model.pending[name] || !!model.pending["*"];
            let result, resultText;
            if (pending) {
                result = "pending";
                resultText = _("reloading…");
            } else if (r) {
                result = r.success ? "success" : "failure";
                resultText = r.success ? _("succeeded") : _("failed");
            } else {
                result = "none";
                resultText = _("never");
            }
            const when = details.finished_at ? formatTime(Date.parse(details.finished_at)) : "";
            return el("tr", { role: "row", "data-service": name, "data-result": result, "data-status": s.status || "" }, [
                el("th", { role: "gridcell", scope: "row", text: name }),
                el("td", { role: "gridcell", class: "hale-mono", text: (r && r.unit) || details.unit || "" }),
                el("td", { role: "gridcell" }, [s.status ? badge(s.status) : null]),
                el("td", { role: "gridcell", class: "hale-result" }, [
                    badge(result === "pending" ? "unknown" : result, resultText),
                    when ? el("span", { class: "hale-muted", text: " " + when }) : null,
                ]),
                el("td", { role: "gridcell", text: r ? formatDuration(r.duration) : "" }),
                el("td", { role: "gridcell", class: "hale-wrap hale-error", text: serviceMessage(s, r) }),
                el("td", { role: "gridcell", class: "pf-c-table__action" }, [
                    button("pf-m-secondary pf-m-small hale-reload", _("Reload"),
                           function () { reloadService(name) }, { disabled: pending || busy }),
                ]),
            ]);
        });
        fillTable("services", [
            { label: _("Service") }, { label: _("Unit") }, { label: _("Status") },
            { label: _("Last reload") }, { label: _("Duration") }, { label: _("Message") }, { label: "" },
        ], rows, model.report !== null);
        $("busy").hidden = !busy;
        $("reload-all").disabled = !!busy || !!model.pending["*"] || names.length === 0 || !model.present;
    }

    function renderConnectivity() {
        const valid = degraded && degraded.valid;
        const state = valid ? degraded.Connectivity : null;
        setBadge($("connectivity"), state);
        $("connectivity").dataset.value = state || "";

        let text = "";
        if (valid && degraded.Active) {
            text = cockpit.format(_("Degraded mode since $0"), formatTime(degraded.EnteredAt / 1000));
        } else if (valid) {
            text = degraded.LastSuccessful
                ? cockpit.format(_("Not in degraded mode; every endpoint last answered $0"), formatTime(degraded.LastSuccessful / 1000))
                : _("Not in degraded mode");
        }
        $("degraded").textContent = text;
        $("degraded").dataset.active = valid && degraded.Active ? "true" : "false";

        const endpoints = model.endpoints || {};
        const rows = Object.keys(endpoints).map(function (name) {
            const e = unvariantDict(endpoints[name]);
            let lastSuccess = _("never");
            if (e.last_success_at)
                lastSuccess = formatTime(e.last_success_at * 1000);
            if (e.cached && e.age_seconds)
                lastSuccess += " " + cockpit.format(_("(cached, $0 s old)"), e.age_seconds);
            return el("tr", { role: "row", "data-endpoint": name, "data-status": e.status }, [
                el("th", { role: "gridcell", scope: "row", text: name }),
                el("td", { role: "gridcell" }, [badge(e.status)]),
                el("td", { role: "gridcell", class: "hale-mono hale-wrap", text: e.url || "" }),
                el("td", { role: "gridcell", text: e.critical ? _("yes") : _("no") }),
                el("td", { role: "gridcell", text: e.probed === false ? _("not probed yet") : lastSuccess }),
                el("td", { role: "gridcell", text: typeof e.qos === "number" ? Math.round(e.qos * 100) + " %" : "" }),
                el("td", { role: "gridcell", class: "hale-wrap", text: e.message || "" }),
            ]);
        });
        fillTable("endpoints", [
            { label: _("Endpoint") }, { label: _("Status") }, { label: _("URL") }, { label: _("Critical") },
            { label: _("Last success") }, { label: _("QoS") }, { label: _("Message") },
        ], rows, model.endpoints !== null);
    }

    /* The report's "checks" and "categories" are objects of NAME: {...}
     * in configuration order (hale-aggregate-report.c). */
    function entries(collection) {
        if (collection && typeof collection === "object" && !Array.isArray(collection))
            return Object.keys(collection).map(function (k) { return [k, collection[k] || {}] });
        return [];
    }

    function ackWho(ack) {
        return [ack.author, ack.time ? formatTime(Date.parse(ack.time)) : null]
                .filter(function (x) { return x }).join(", ");
    }

    /* "acknowledged": null, or {message, author, uid, time (RFC 3339)}. */
    function ackCell(ack) {
        if (!ack)
            return [];
        const who = ackWho(ack);
        return [
            el("q", { class: "hale-ack-text", text: ack.message || "" }),
            who ? el("span", { class: "hale-muted hale-ack-by", text: " " + cockpit.format(_("by $0"), who) }) : null,
        ];
    }

    function ackForm(name) {
        const input = el("input", {
            type: "text",
            class: "pf-c-form-control hale-ack-message",
            required: true,
            maxlength: 1024,
            placeholder: _("Why (shown with the check)"),
            "aria-label": _("Acknowledgement message"),
            oninput: function () { model.ackDraft = input.value },
        });
        /* A report arriving while the operator types redraws the row:
         * what was typed stays. */
        input.value = model.ackDraft;
        return el("form", {
            class: "hale-ack-form",
            onsubmit: function (ev) {
                ev.preventDefault();
                const message = input.value.trim();
                if (message)
                    acknowledge(name, message);
            },
        }, [
            input,
            el("button", {
                class: "pf-c-button pf-m-primary pf-m-small hale-ack-submit",
                type: "submit",
                disabled: !!model.pending["ack:" + name],
                text: _("Acknowledge"),
            }),
            button("pf-m-link pf-m-small hale-ack-cancel", _("Cancel"), function () {
                model.ackForm = null;
                model.ackDraft = "";
                render();
            }),
        ]);
    }

    function checkKind(c) {
        return [c.kind, (c.categories || []).join(", ")].filter(function (x) { return x }).join(" · ");
    }

    function renderChecks() {
        const report = model.report || {};
        const list = entries(report.checks);
        $("checks-section").hidden = list.length === 0;
        const canAck = hasMethod(health, "Acknowledge");
        const canUnack = hasMethod(health, "RemoveAcknowledgement");
        const acknowledged = health && health.valid && typeof health.Acknowledged === "number"
            ? health.Acknowledged
            : report.acknowledged;
        $("acknowledged").textContent = acknowledged
            ? cockpit.format(cockpit.ngettext("$0 acknowledged", "$0 acknowledged", acknowledged), acknowledged)
            : "";

        let focus = null;
        const items = list.map(function (pair, index) {
            const name = pair[0];
            const c = pair[1];
            const ack = c.acknowledged || null;
            const pending = !!model.pending["ack:" + name];
            const actions = [];
            if (ack && canUnack) {
                actions.push(button("pf-m-secondary pf-m-small hale-unack", _("Remove acknowledgement"),
                                    function () { removeAcknowledgement(name) }, { disabled: pending }));
            } else if (!ack && canAck && (c.status === "warning" || c.status === "critical")) {
                /* A failure (not a check that has not run yet). */
                if (model.ackForm === name) {
                    const form = ackForm(name);
                    focus = form.querySelector("input");
                    actions.push(form);
                } else {
                    actions.push(button("pf-m-secondary pf-m-small hale-ack", _("Acknowledge"), function () {
                        model.ackForm = name;
                        model.ackDraft = "";
                        model.ackFocus = true;
                        render();
                    }));
                }
            }
            const kind = checkKind(c);
            /* A push check's report takes no time of haled's. */
            const duration = c.kind !== "push" && typeof c.duration_ms === "number" ? c.duration_ms : null;
            return {
                name: name,
                status: c.status,
                text: [name, kind, c.message, ack ? ack.message : ""].join(" "),
                keys: {
                    order: index,
                    name: name,
                    status: SEVERITY[statusClass(c.status)],
                    message: c.message || "",
                    duration: duration,
                    acknowledged: ack ? 1 : 0,
                },
                row: el("tr", {
                    role: "row",
                    "data-check": name,
                    "data-status": c.status || "",
                    "data-acknowledged": ack ? "true" : "false",
                }, [
                    nameCell("check", name, kind),
                    el("td", { role: "gridcell" }, [badge(c.status)]),
                    el("td", { role: "gridcell", class: "hale-wrap hale-check-message", text: c.message || "" }),
                    el("td", { role: "gridcell", text: duration !== null ? formatDuration(duration * 1000) : "" }),
                    el("td", { role: "gridcell", class: "hale-wrap hale-ack-cell" }, ackCell(ack)),
                    el("td", { role: "gridcell", class: "pf-c-table__action" }, actions),
                ]),
            };
        });
        const shown = arrange("checks", items);
        /* Keep the caret where it was: a redraw replaced the input. */
        const active = document.activeElement;
        const hadFocus = active && active.classList && active.classList.contains("hale-ack-message");
        const caret = hadFocus ? active.selectionStart : null;
        fillTable("checks", [
            { label: _("Check"), sort: "name" },
            { label: _("Status"), sort: "status" },
            { label: _("Message"), sort: "message" },
            { label: _("Duration"), sort: "duration" },
            { label: _("Acknowledged"), sort: "acknowledged" },
            { label: "" },
        ], shown.map(function (i) { return i.row }), true, items.length);
        if (focus && focus.isConnected && (hadFocus || model.ackFocus)) {
            focus.focus();
            if (caret !== null)
                focus.setSelectionRange(caret, caret);
            model.ackFocus = false;
        }
    }

    function renderCategories() {
        const report = model.report || {};
        const list = entries(report.categories);
        $("categories-section").hidden = list.length === 0;
        const canEnable = hasMethod(health, "EnableCategory");

        const rows = list.map(function (pair) {
            const name = pair[0];
            const c = pair[1];
            const enabled = c.enabled !== false;
            let state = enabled ? _("enabled") : _("disabled");
            if (c.sticky)
                state += " · " + _("sticky");
            let why = "";
            if (!enabled) {
                why = c.disabled_reason || "";
                if (c.disabled_at)
                    why += " (" + formatTime(Date.parse(c.disabled_at)) + ")";
            }
            return el("tr", { role: "row", "data-category": name, "data-status": c.status || "", "data-enabled": enabled ? "true" : "false" }, [
                el("th", { role: "gridcell", scope: "row", text: name }),
                el("td", { role: "gridcell" }, [badge(c.status)]),
                el("td", { role: "gridcell", class: "hale-category-state", text: state }),
                el("td", { role: "gridcell", class: "hale-wrap", text: (c.checks || []).join(", ") }),
                el("td", { role: "gridcell", class: "hale-wrap hale-category-reason", text: why }),
                el("td", { role: "gridcell", class: "pf-c-table__action" }, [
                    !enabled && canEnable
                        ? button("pf-m-secondary pf-m-small hale-enable", _("Enable again"),
                                 function () { enableCategory(name) },
                                 { disabled: !!model.pending["category:" + name] })
                        : null,
                ]),
            ]);
        });
        fillTable("categories", [
            { label: _("Category") }, { label: _("Status") }, { label: _("State") }, { label: _("Checks") },
            { label: _("Disabled because") }, { label: "" },
        ], rows, true);
    }

    /* --- the details of one certificate or check ---------------------- */

    /* What a detail's value looks like: times local, lists joined. */
    function detailValue(key, value) {
        if (value === null || value === undefined || value === "")
            return null;
        if (Array.isArray(value))
            return value.join(", ");
        if (typeof value === "boolean")
            return value ? _("yes") : _("no");
        if (typeof value === "object")
            return JSON.stringify(value);
        if (/_at$|^time$/.test(key) && typeof value === "string" && !isNaN(Date.parse(value)))
            return formatTime(Date.parse(value)) + " (" + value + ")";
        return String(value);
    }

    function certificateDetails(name) {
        const raw = certificates()[name];
        if (!raw)
            return null;
        const c = unvariantDict(raw);
        const left = c.expires_at ? daysLeft(c.expires_at) : null;
        const rows = [
            ["status", _("Status"), badge(c.status)],
            ["days_left", _("Days left"), left ? left.text : null],
            ["expires_at", _("Expires"), detailValue("expires_at", c.expires_at)],
            ["subject", _("Subject"), c.subject],
            ["issuer", _("Issuer"), c.issuer],
            ["serial", _("Serial"), c.serial],
            ["path", _("File"), c.path],
            ["message", _("Message"), c.message],
            ["error", _("Error"), c.error],
        ];
        if (c.not_before)
            rows.splice(2, 0, ["not_before", _("Valid from"), detailValue("not_before_at", c.not_before)]);
        if (c.fingerprint_sha256)
            rows.push(["fingerprint_sha256", _("SHA-256 fingerprint"), el("span", { class: "hale-mono", text: c.fingerprint_sha256 })]);
        if (typeof c.lifetime_seconds === "number")
            rows.push(["lifetime_seconds", _("Lifetime"), cockpit.format(cockpit.ngettext("$0 day", "$0 days", Math.round(c.lifetime_seconds / 86400)), Math.round(c.lifetime_seconds / 86400))]);
        if (c.chain_length)
            rows.push(["chain_length", _("Certificates in the chain"), String(c.chain_length)]);
        if (c.chain_expires_at && c.chain_expires_at !== c.expires_at)
            rows.push(["chain_expires_at", _("Chain expires"), detailValue("chain_expires_at", c.chain_expires_at) + (c.chain_expires_subject ? " (" + c.chain_expires_subject + ")" : "")]);
        if (c.last_renewal)
            rows.push(["last_renewal", _("Last renewal seen"), detailValue("last_renewal_at", c.last_renewal)]);
        /* not_after is expires_at in seconds; the rest as haled names it. */
        const known = ["status", "expires_at", "subject", "issuer", "serial", "path", "message", "error",
            "not_before", "not_after", "fingerprint_sha256", "lifetime_seconds", "chain_length",
            "chain_expires_at", "chain_expires_subject", "last_renewal"];
        for (const key of Object.keys(c).sort()) {
            if (known.indexOf(key) < 0)
                rows.push([key, key, detailValue(key, c[key])]);
        }
        return { title: cockpit.format(_("Certificate $0"), name), rows: rows };
    }

    function checkDetails(name) {
        const report = model.report || {};
        const c = (report.checks || {})[name];
        if (!c)
            return null;
        const ack = c.acknowledged || null;
        const rows = [
            ["status", _("Status"), badge(c.status)],
            ["kind", _("Kind"), c.kind],
            ["categories", _("Categories"), detailValue("categories", c.categories)],
            ["message", _("Message"), c.message],
            ["duration", _("Duration"), c.kind !== "push" && typeof c.duration_ms === "number" ? formatDuration(c.duration_ms * 1000) : null],
            ["acknowledged", _("Acknowledged"), ack ? cockpit.format(_("“$0” by $1"), ack.message || "", ackWho(ack)) : _("no")],
        ];
        const known = ["status", "kind", "categories", "message", "duration_ms", "acknowledged", "name"];
        for (const key of Object.keys(c).sort()) {
            if (known.indexOf(key) < 0)
                rows.push([key, key, detailValue(key, c[key])]);
        }
        return { title: cockpit.format(_("Check $0"), name), rows: rows };
    }

    function openDetails(kind, name) {
        model.details = { kind: kind, name: name };
        model.detailsFocus = true;
        renderDetails();
    }

    function closeDetails() {
        const opener = model.details
            ? document.querySelector("tr[data-" + model.details.kind + "=\"" + CSS.escape(model.details.name) + "\"] .hale-details")
            : null;
        model.details = null;
        renderDetails();
        if (opener)
            opener.focus();
    }

    /* A PatternFly modal over a backdrop, redrawn with the page so that
     * it follows haled while open; gone when its certificate or check
     * is. */
    function renderDetails() {
        const box = $("details");
        const d = model.details;
        const info = d ? (d.kind === "certificate" ? certificateDetails(d.name) : checkDetails(d.name)) : null;
        box.hidden = !info;
        document.body.dataset.details = info ? d.kind + ":" + d.name : "";
        if (!info) {
            box.replaceChildren();
            if (d)
                model.details = null;
            return;
        }
        const list = el("dl", { class: "pf-c-description-list pf-m-horizontal" },
                        info.rows.filter(function (r) { return r[2] !== null && r[2] !== undefined && r[2] !== "" })
                                .map(function (r) {
                                    return el("div", { class: "pf-c-description-list__group", "data-field": r[0] }, [
                                        el("dt", { class: "pf-c-description-list__term" }, [
                                            el("span", { class: "pf-c-description-list__text", text: r[1] }),
                                        ]),
                                        el("dd", { class: "pf-c-description-list__description" }, [
                                            el("div", { class: "pf-c-description-list__text hale-wrap" }, [r[2]]),
                                        ]),
                                    ]);
                                }));
        const close = button("pf-m-primary hale-details-close", _("Close"), closeDetails);
        box.replaceChildren(el("div", { class: "pf-l-bullseye" }, [
            el("div", {
                class: "pf-c-modal-box pf-m-md",
                role: "dialog",
                "aria-modal": "true",
                "aria-labelledby": "details-title",
                "data-kind": d.kind,
                "data-name": d.name,
            }, [
                button("pf-m-plain", "×", closeDetails, { "aria-label": _("Close") }),
                el("header", { class: "pf-c-modal-box__header" }, [
                    el("h1", { id: "details-title", class: "pf-c-modal-box__title", text: info.title }),
                ]),
                el("div", { class: "pf-c-modal-box__body" }, [list]),
                el("footer", { class: "pf-c-modal-box__footer" }, [close]),
            ]),
        ]));
        if (model.detailsFocus) {
            close.focus();
            model.detailsFocus = false;
        }
    }

    function render() {
        renderOverall();
        renderCertificates();
        renderServices();
        renderConnectivity();
        renderChecks();
        renderCategories();
        renderDetails();
        document.body.dataset.ready = model.report !== null ? "true" : "false";
    }

    /* --- wiring ------------------------------------------------------- */

    function setPresent(present, why) {
        model.present = present;
        const absent = $("absent");
        absent.hidden = present;
        absent.querySelector(".pf-c-alert__title").textContent = present ? "" : why;
        document.body.dataset.present = present ? "true" : "false";
    }

    /* The page's fixed text, here so that it is translated as the rest. */
    function labelPage() {
        document.documentElement.lang = cockpit.language || "en";
        $("overall-title").textContent = _("Health");
        $("certificates-title").textContent = _("Certificates");
        $("services-title").textContent = _("Services");
        $("connectivity-title").textContent = _("Connectivity");
        $("checks-title").textContent = _("Checks");
        $("categories-title").textContent = _("Categories");
        $("reload-all").textContent = _("Reload all");
        $("busy").textContent = _("a reload sequence is running…");
        document.querySelector("#certificates-section .hale-empty").textContent = _("No [Certificate] groups are configured.");
        document.querySelector("#services-section .hale-empty").textContent = _("No [Service] groups are configured.");
        document.querySelector("#connectivity-section .hale-empty").textContent = _("No [Endpoint] groups are configured.");
        drawFilter("certificates", _("Filter by name, subject, serial…"));
        drawFilter("checks", _("Filter by name, message…"));
    }

    function init() {
        labelPage();
        /* #/?bus=session for a haled --user; the system bus otherwise. */
        const bus = cockpit.location.options.bus === "session" ? "session" : "system";
        $("bus").textContent = bus === "session" ? _("on the session bus") : _("on the system bus");
        document.body.dataset.bus = bus;

        client = cockpit.dbus(BUS_NAME, { bus: bus });
        health = client.proxy(HEALTH, OBJECT_PATH);
        reload = client.proxy(RELOAD, OBJECT_PATH);
        degraded = client.proxy(DEGRADED, OBJECT_PATH);

        /* The channel closes for good when the name has no owner at the
         * start ("not-found"); later restarts of haled come as "owner". */
        let closed = false;
        const notRunning = bus === "session"
            ? _("haled is not running on the session bus.")
            : _("haled is not running on the system bus.");
        client.addEventListener("close", function (ev, options) {
            closed = true;
            if (options.problem === "not-found")
                setPresent(false, notRunning + " " + _("Start it (systemctl start haled) and reload this page."));
            else
                setPresent(false, cockpit.format(_("The connection to haled closed: $0"), options.problem || _("disconnected")));
            render();
        });
        /* haled restarted or stopped: the proxies follow by themselves;
         * what has no property is asked again. */
        client.addEventListener("owner", function (ev, owner) {
            if (closed)
                return;
            if (owner) {
                setPresent(true);
                refreshAll();
            } else {
                setPresent(false, notRunning);
            }
            render();
        });

        health.addEventListener("changed", function () {
            render();
            /* Status and certificates move with the checks: so may the
             * services report and the endpoints. */
            refreshAll();
        });
        /* Every Health signal may change the report: StatusChanged, and
         * ChecksChanged (a check's outcome, an acknowledgement or a
         * category moved). The Acknowledged property comes with
         * PropertiesChanged, above. */
        health.addEventListener("signal", refreshReport);

        reload.addEventListener("changed", function () {
            render();
            refreshReport();
        });
        reload.addEventListener("signal", function (ev, name) {
            if (name === "ServiceReloaded" || name === "SequenceFinished")
                refreshReport();
        });

        degraded.addEventListener("changed", function () {
            render();
            refreshEndpoints();
        });
        degraded.addEventListener("signal", refreshEndpoints);

        $("reload-all").addEventListener("click", reloadAll);

        /* The details close with Escape and a click beside them, as
         * Cockpit's dialogs do. */
        document.addEventListener("keydown", function (ev) {
            if (ev.key === "Escape" && model.details)
                closeDetails();
        });
        $("details").addEventListener("click", function (ev) {
            if (!ev.target.closest(".pf-c-modal-box"))
                closeDetails();
        });

        Promise.all([health.wait(), reload.wait(), degraded.wait()]).then(function () {
            if (!health.valid)
                setPresent(false, notRunning);
            render();
            refreshAll();
        }).catch(function (ex) {
            /* Shown by the close handler when haled is absent. */
            console.info("hale: proxies not available:", errorText(ex));
            render();
        });

        /* Days left are counted from the browser's clock: redraw now and
         * then (nothing is asked of haled for it). */
        window.setInterval(render, 60 * 1000);
        render();
    }

    document.addEventListener("DOMContentLoaded", init);
}());
