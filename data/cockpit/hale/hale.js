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
 * Plain JavaScript, no build step: strings go through cockpit.gettext so
 * that the package's po.js can translate them.
 */
"use strict";

(function () {
    const _ = cockpit.gettext;

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

    function badge(status, label) {
        return el("span", {
            class: "hale-badge",
            "data-status": statusClass(status),
            text: label || status || _("unknown"),
        });
    }

    function formatDuration(usec) {
        const ms = usec / 1000;
        if (ms < 1000)
            return cockpit.format(_("$0 ms"), Math.round(ms));
        return cockpit.format(_("$0 s"), (ms / 1000).toFixed(ms < 10000 ? 2 : 0));
    }

    function formatTime(ms) {
        if (!ms)
            return "";
        return new Date(ms).toLocaleString();
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
            class: "hale-alert",
            "data-kind": denied ? "denied" : "error",
            "data-error": (ex && ex.name) || "",
        }, [
            el("strong", { text: title }),
            " ",
            el("span", { class: "hale-alert-message", text: errorText(ex) }),
            el("button", {
                class: "hale-alert-close",
                type: "button",
                "aria-label": _("Close"),
                text: "×",
                onclick: function () { alert.remove() },
            }),
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

    /* --- rendering ----------------------------------------------------- */

    /* @loaded: the data behind the table has arrived, so no rows means
     * none are configured (not "not asked yet"). */
    function fillTable(tableId, rows, loaded) {
        const table = $(tableId);
        const tbody = table.tBodies[0];
        tbody.replaceChildren.apply(tbody, rows);
        const empty = table.parentNode.querySelector(".hale-empty");
        if (empty)
            empty.hidden = rows.length > 0 || !loaded;
        table.hidden = rows.length === 0;
    }

    function renderOverall() {
        const status = health && health.valid ? health.Status : null;
        const overall = $("overall");
        overall.textContent = status || _("unknown");
        overall.dataset.status = statusClass(status);
        overall.dataset.value = status || "";
        document.title = status ? cockpit.format("hale: $0", status) : "hale";
    }

    function renderCertificates() {
        const certs = (health && health.valid && health.Certificates) || {};
        const rows = Object.keys(certs).sort().map(function (name) {
            const c = unvariantDict(certs[name]);
            const left = c.expires_at ? daysLeft(c.expires_at) : null;
            return el("tr", { "data-certificate": name, "data-status": c.status }, [
                el("th", { scope: "row", text: name, title: c.path || "" }),
                el("td", {}, [badge(c.status)]),
                el("td", {
                    class: "hale-days",
                    "data-days": left ? left.days : "",
                    text: left ? left.text : "",
                }),
                el("td", { text: c.expires_at ? formatTime(Date.parse(c.expires_at)) : "" }),
                el("td", { class: "hale-wrap", text: c.subject || "", title: c.issuer ? cockpit.format(_("issued by $0"), c.issuer) : "" }),
                el("td", { class: "hale-mono", text: c.serial || "" }),
                el("td", { class: "hale-wrap", text: c.error || c.message || "" }),
            ]);
        });
        fillTable("certificates", rows, !!(health && health.valid && health.Certificates));
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
            return el("tr", { "data-service": name, "data-result": result, "data-status": s.status || "" }, [
                el("th", { scope: "row", text: name }),
                el("td", { class: "hale-mono", text: (r && r.unit) || details.unit || "" }),
                el("td", {}, [s.status ? badge(s.status) : null]),
                el("td", { class: "hale-result" }, [
                    badge(result === "pending" ? "unknown" : result, resultText),
                    when ? el("span", { class: "hale-muted", text: " " + when }) : null,
                ]),
                el("td", { text: r ? formatDuration(r.duration) : "" }),
                el("td", { class: "hale-wrap hale-error", text: serviceMessage(s, r) }),
                el("td", { class: "hale-actions" }, [
                    el("button", {
                        class: "hale-button hale-reload",
                        type: "button",
                        disabled: pending || busy,
                        text: _("Reload"),
                        onclick: function () { reloadService(name) },
                    }),
                ]),
            ]);
        });
        fillTable("services", rows, model.report !== null);
        $("busy").hidden = !busy;
        $("reload-all").disabled = !!busy || !!model.pending["*"] || names.length === 0 || !model.present;
    }

    function renderConnectivity() {
        const valid = degraded && degraded.valid;
        const state = valid ? degraded.Connectivity : null;
        const badgeNode = $("connectivity");
        badgeNode.textContent = state || _("unknown");
        badgeNode.dataset.status = statusClass(state);

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
            return el("tr", { "data-endpoint": name, "data-status": e.status }, [
                el("th", { scope: "row", text: name }),
                el("td", {}, [badge(e.status)]),
                el("td", { class: "hale-mono hale-wrap", text: e.url || "" }),
                el("td", { text: e.critical ? _("yes") : _("no") }),
                el("td", { text: e.probed === false ? _("not probed yet") : lastSuccess }),
                el("td", { text: typeof e.qos === "number" ? Math.round(e.qos * 100) + " %" : "" }),
                el("td", { class: "hale-wrap", text: e.message || "" }),
            ]);
        });
        fillTable("endpoints", rows, model.endpoints !== null);
    }

    /* The report's "checks" and "categories" are objects of NAME: {...}
     * in configuration order (hale-aggregate-report.c). */
    function entries(collection) {
        if (collection && typeof collection === "object" && !Array.isArray(collection))
            return Object.keys(collection).map(function (k) { return [k, collection[k] || {}] });
        return [];
    }

    /* "acknowledged": null, or {message, author, uid, time (RFC 3339)}. */
    function ackCell(ack) {
        if (!ack)
            return [];
        const who = [ack.author, ack.time ? formatTime(Date.parse(ack.time)) : null]
                .filter(function (x) { return x }).join(", ");
        return [
            el("q", { class: "hale-ack-text", text: ack.message || "" }),
            who ? el("span", { class: "hale-muted hale-ack-by", text: " " + cockpit.format(_("by $0"), who) }) : null,
        ];
    }

    function ackForm(name) {
        const input = el("input", {
            type: "text",
            class: "hale-ack-message",
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
                class: "hale-button hale-ack-submit",
                type: "submit",
                disabled: !!model.pending["ack:" + name],
                text: _("Acknowledge"),
            }),
            el("button", {
                class: "hale-button hale-secondary hale-ack-cancel",
                type: "button",
                text: _("Cancel"),
                onclick: function () {
                    model.ackForm = null;
                    model.ackDraft = "";
                    render();
                },
            }),
        ]);
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
        const rows = list.map(function (pair) {
            const name = pair[0];
            const c = pair[1];
            const ack = c.acknowledged || null;
            const pending = !!model.pending["ack:" + name];
            const actions = [];
            if (ack && canUnack) {
                actions.push(el("button", {
                    class: "hale-button hale-secondary hale-unack",
                    type: "button",
                    disabled: pending,
                    text: _("Remove acknowledgement"),
                    onclick: function () { removeAcknowledgement(name) },
                }));
            } else if (!ack && canAck && (c.status === "warning" || c.status === "critical")) {
                /* A failure (not a check that has not run yet). */
                if (model.ackForm === name) {
                    const form = ackForm(name);
                    focus = form.querySelector("input");
                    actions.push(form);
                } else {
                    actions.push(el("button", {
                        class: "hale-button hale-ack",
                        type: "button",
                        text: _("Acknowledge"),
                        onclick: function () {
                            model.ackForm = name;
                            model.ackDraft = "";
                            model.ackFocus = true;
                            render();
                        },
                    }));
                }
            }
            const kind = [c.kind, (c.categories || []).join(", ")].filter(function (x) { return x }).join(" · ");
            return el("tr", {
                "data-check": name,
                "data-status": c.status || "",
                "data-acknowledged": ack ? "true" : "false",
            }, [
                el("th", { scope: "row" }, [
                    name,
                    kind ? el("div", { class: "hale-muted hale-sub", text: kind }) : null,
                ]),
                el("td", {}, [badge(c.status)]),
                el("td", { class: "hale-wrap hale-check-message", text: c.message || "" }),
                /* A push check's report takes no time of haled's. */
                el("td", { text: c.kind !== "push" && typeof c.duration_ms === "number" ? formatDuration(c.duration_ms * 1000) : "" }),
                el("td", { class: "hale-wrap hale-ack-cell" }, ackCell(ack)),
                el("td", { class: "hale-actions" }, actions),
            ]);
        });
        /* Keep the caret where it was: a redraw replaced the input. */
        const active = document.activeElement;
        const hadFocus = active && active.classList && active.classList.contains("hale-ack-message");
        const caret = hadFocus ? active.selectionStart : null;
        fillTable("checks", rows, true);
        if (focus && (hadFocus || model.ackFocus)) {
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
            return el("tr", { "data-category": name, "data-status": c.status || "", "data-enabled": enabled ? "true" : "false" }, [
                el("th", { scope: "row", text: name }),
                el("td", {}, [badge(c.status)]),
                el("td", { class: "hale-category-state", text: state }),
                el("td", { class: "hale-wrap", text: (c.checks || []).join(", ") }),
                el("td", { class: "hale-wrap hale-category-reason", text: why }),
                el("td", { class: "hale-actions" }, [
                    !enabled && canEnable
                        ? el("button", {
                            class: "hale-button hale-enable",
                            type: "button",
                            disabled: !!model.pending["category:" + name],
                            text: _("Enable again"),
                            onclick: function () { enableCategory(name) },
                        })
                        : null,
                ]),
            ]);
        });
        fillTable("categories", rows, true);
    }

    function render() {
        renderOverall();
        renderCertificates();
        renderServices();
        renderConnectivity();
        renderChecks();
        renderCategories();
        document.body.dataset.ready = model.report !== null ? "true" : "false";
    }

    /* --- wiring ------------------------------------------------------- */

    function setPresent(present, why) {
        model.present = present;
        const absent = $("absent");
        absent.hidden = present;
        absent.textContent = present ? "" : why;
        document.body.dataset.present = present ? "true" : "false";
    }

    function init() {
        /* #/?bus=session for a haled --user; the system bus otherwise. */
        const bus = cockpit.location.options.bus === "session" ? "session" : "system";
        $("bus").textContent = cockpit.format(_("on the $0 bus"), bus);
        document.body.dataset.bus = bus;

        client = cockpit.dbus(BUS_NAME, { bus: bus });
        health = client.proxy(HEALTH, OBJECT_PATH);
        reload = client.proxy(RELOAD, OBJECT_PATH);
        degraded = client.proxy(DEGRADED, OBJECT_PATH);

        /* The channel closes for good when the name has no owner at the
         * start ("not-found"); later restarts of haled come as "owner". */
        let closed = false;
        client.addEventListener("close", function (ev, options) {
            closed = true;
            if (options.problem === "not-found")
                setPresent(false, cockpit.format(_("haled is not running on the $0 bus. Start it (systemctl start haled) and reload this page."), bus));
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
                setPresent(false, cockpit.format(_("haled is not running on the $0 bus."), bus));
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

        Promise.all([health.wait(), reload.wait(), degraded.wait()]).then(function () {
            if (!health.valid)
                setPresent(false, cockpit.format(_("haled is not running on the $0 bus."), bus));
            render();
            refreshAll();
        }).catch(function (ex) {
            /* Shown by the close handler when haled is absent. */
            console.info("hale: proxies not available:", errorText(ex));
            render();
        });

        /* Days left are counted from the browser's clock: redraw now and
         * then (nothing is asked of haled for it). */
        window.setInterval(renderCertificates, 60 * 1000);
        render();
    }

    document.addEventListener("DOMContentLoaded", init);
}());
