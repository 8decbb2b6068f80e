"""The copy-settings form on the dashboard (issue 15: settings "settable from the admin API, the
`mtbridge admin` CLI and the dashboard").

`GET /subscriptions/{sub}/settings` shows every setting of the subscription as the daemon holds
it (`get_copy_settings`), one control per field of `CopySettings`, built from the fields' own
descriptions (`bridge.copytrading.settings.SETTINGS`: a new setting appears here by itself).
`POST` (dealers only, CSRF token) sends `set_copy_settings` with the settings the dealer changed,
`requester` nil (the service) and `actor` the dealer: the same admin operation the API and
`mtbridge admin set-copy-settings` use, through the shared admin client; the dashboard never
writes state itself. The core's verdict comes back as it is: a value the admin table refuses
(`bad_args`, `field: args.NAME`) or a rule the engine refuses (`invalid_settings`, the detail
starts with the field's name) is shown next to that field, and nothing changed. Done: 303 back
to the form with a flash; the daemon's `record.copy_settings_changed` and `record.dealer_action`
reach the desk's event rows over the feed.

A change is what differs from the form as it was shown; the form carries a fingerprint of the
settings it showed (`seen`), and a POST made after someone else changed them is turned back with
the settings of now (nothing sent), so a stale form never undoes another dealer's edit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.copytrading.settings import DEFAULT_SETTINGS, SETTINGS, Setting
from bridge.monitor.labels import refusal_label, settings_text
from bridge.monitor.desk_state import subscription_key
from bridge.monitor.web_dealer import FLASH_KEY, OFF_NOTE, settings_url

if TYPE_CHECKING:
    from bridge.monitor.web import Dashboard
    from bridge.monitor.web_dealer import DealerLink

log = structlog.get_logger("mtbridge.dashboard")
MAX_SETTINGS_FORM = 32 * 1024  # bytes: three long symbol lists, percent-encoded
MAX_SETTINGS_FIELDS = len(SETTINGS) + 8  # every setting, the CSRF token and the fingerprint
_UINT = re.compile(r"[0-9]{1,18}\Z")


# ------------------------------------------------------------------------------ pure parts
def form_text(spec: Setting, value: object) -> str:
    """A plain setting value (as `CopySettings.to_dict` gives it) -> the text its control holds."""
    if value is None:
        return ""
    if spec.kind == "bool":
        return ("on" if value else "") if not spec.nullable else ("true" if value else "false")
    if isinstance(value, dict):
        return ",".join(f"{a}={b}" for a, b in value.items())
    if isinstance(value, list):
        return ",".join(str(x) for x in value)
    return str(value)


def shown_texts(settings: Mapping[str, object]) -> dict[str, str]:
    """Every setting's control text for the plain `settings` (the defaults for a missing one)."""
    default = DEFAULT_SETTINGS.to_dict()
    return {name: form_text(spec, settings.get(name, default[name])) for name, spec in SETTINGS.items()}


def submitted_texts(form: Mapping[str, str]) -> dict[str, str]:
    """The controls' texts of a submitted form (an unchecked box is absent: "")."""
    out = {}
    for name, spec in SETTINGS.items():
        text = form.get(name, "").strip()
        out[name] = ("on" if text else "") if spec.kind == "bool" and not spec.nullable else text
    return out


def admin_value(spec: Setting, text: str) -> object:
    """A control's text -> the admin argument. Empty: nil (the setting's default), "" for a text.
    Anything else goes as typed: the admin table and the engine judge it, not the form."""
    if spec.kind == "bool" and not spec.nullable:
        return bool(text)
    if spec.kind == "text":
        return text
    if not text:
        return None
    if spec.kind == "bool":
        return {"true": True, "false": False}.get(text, text)
    if spec.kind == "uint" and _UINT.match(text):
        return int(text)
    return text


def changes(submitted: Mapping[str, str], shown: Mapping[str, str]) -> dict[str, object]:
    """The admin arguments of the settings whose control the dealer changed, in table order."""
    return {name: admin_value(spec, submitted[name]) for name, spec in SETTINGS.items()
            if submitted[name] != shown[name]}


def fingerprint(settings: Mapping[str, object]) -> str:
    """A short digest of the plain settings, to tell whether they changed since the form was shown."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def failure(reply: Mapping[str, Any] | None, exc_text: str = "") -> tuple[str, str, int]:
    """(setting or "", the words, HTTP status) of a reply that did not change the settings, or
    ("", "", 0) when it did. The words are the core's own (they name the field and the rule)."""
    if reply is None:
        return "", exc_text or "no reply from the daemon", 502
    if not reply.get("ok"):
        field = str(reply.get("field", "")).removeprefix("args.")
        status = 400 if reply.get("error") == "bad_args" else 409
        return (field if field in SETTINGS else ""), f"{reply.get('error', '?')}: {reply.get('detail', '')}", status
    refused = reply.get("refused")
    if not refused:
        return "", "", 0
    code, detail = str(refused.get("code", "?")), str(refused.get("detail", ""))
    field = detail.split(":", 1)[0].strip()
    words = f"refused, {refusal_label(code)} ({code}): {detail}" if detail else f"refused, {refusal_label(code)} ({code})"
    return (field if field in SETTINGS else ""), words, 400 if code == "invalid_settings" else 409


def _doc(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _empty_means(spec: Setting) -> str:
    """What an empty control means, from the doc's `nil = ...` clause ("none", "every symbol")."""
    return spec.doc.rsplit("nil = ", 1)[1].replace("`", "") if "nil = " in spec.doc else ""


def _control(name: str, spec: Setting, text: str) -> str:
    ident = f'id="set-{name}" name="{name}"'
    if spec.kind == "enum":
        opts = "".join(f'<option value="{escape(c.value)}"{" selected" if c.value == text else ""}>{escape(c.value)}'
                       "</option>" for c in spec.enum)  # type: ignore[union-attr]
        return f"<select {ident}>{opts}</select>"
    if spec.kind == "bool" and not spec.nullable:
        return f'<input type="checkbox" {ident}{" checked" if text else ""}>'
    if spec.kind == "bool":
        opts = (("", f"not set: {_empty_means(spec)}"), ("true", "yes"), ("false", "no"))
        return f"<select {ident}>" + "".join(
            f'<option value="{v}"{" selected" if v == text else ""}>{escape(w)}</option>' for v, w in opts) + "</select>"
    mode = {"decimal": ' inputmode="decimal"', "uint": ' inputmode="numeric"'}.get(spec.kind, "")
    size = 40 if spec.shape else 12
    hint = _empty_means(spec).removeprefix("empty or ")
    return (f'<input type="text" {ident} value="{escape(text)}" size="{size}"{mode} autocomplete="off"'
            f' placeholder="{escape(hint)}">')


def form_html(values: Mapping[str, str], changed: set[str], errors: Mapping[str, str], *, action: str, csrf: str,
              seen: str) -> str:
    """The form: one fieldset per group (the issue's items), one row per setting, in field order;
    `values` the controls' texts, `errors` a message next to a setting."""
    groups: dict[str, list[str]] = {}
    for name, spec in SETTINGS.items():
        err = errors.get(name, "")
        row = (f'<div class="setting{" changed" if name in changed else ""}{" bad" if err else ""}" '
               f'data-setting="{name}"><label for="set-{name}">{escape(spec.label)}</label> '
               f"{_control(name, spec, values.get(name, ''))}"
               + (f" <span class=unit>{escape(spec.unit)}</span>" if spec.unit else "")
               + (' <span class="mark" title="changed from the seed\'s terms">*</span>' if name in changed else "")
               + (f' <span class="error field-error" id="error-{name}" role="alert">{escape(err)}</span>' if err else "")
               + f'<br><small class="doc"><code>{name}</code>: {_doc(spec.doc)}</small></div>')
        groups.setdefault(spec.group, []).append(row)
    sets = "".join(f'<fieldset data-group="{escape(g)}"><legend>{escape(g)}</legend>{"".join(rows)}</fieldset>'
                   for g, rows in groups.items())
    return (f'<form method="post" action="{escape(action)}" id="settings-form" class="settings">'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<input type="hidden" name="seen" value="{escape(seen)}">{sets}'
            '<p><button type="submit" id="settings-submit">save copy settings</button></p></form>')


# ------------------------------------------------------------------------------ the shell
def _call(link: DealerLink, op: str, **args: Any) -> tuple[dict | None, str]:
    from bridge.daemon.adminclient import AdminArgsError

    try:
        return link.call(op, **args), ""
    except TimeoutError:
        return None, f"the daemon did not answer in {link.timeout_s:g} s"
    except AdminArgsError as exc:  # refused by the admin table before sending: the same words as the daemon's
        e = exc.error
        return {"ok": False, "error": e.error, "detail": e.detail, "field": e.field}, ""
    except Exception as exc:  # noqa: BLE001 - a socket error is shown, never a traceback on the page
        return None, f"{type(exc).__name__}: {exc}"


def _shard(shard: str) -> dict[str, str]:
    """The request's `shard` on a cluster desk; nothing for one daemon (the request as before)."""
    return {"shard": shard} if shard else {}


def _who(dash: Dashboard, sid: int, shard: str) -> tuple[str, str]:
    """The subscription in words and the account page to go back to, from the feed."""
    of_shard = f" of shard {escape(shard)}" if shard else ""

    def read(s: Any) -> tuple[str, str]:
        x = s.subscriptions.get(subscription_key(s, shard, sid))
        if x is None:
            return f"Subscription {sid}{of_shard}.", "/"
        return (f"Subscription {sid}{of_shard}: {escape(x.investor)} copying {escape(x.trader)} on account {x.account}, "
                f"{escape(x.state.replace('_', ' '))}.", f"/accounts/{x.account}")
    return dash.hub.read(read)


def _page(dash: Dashboard, request: Request, sid: int, current: Mapping[str, Any], values: Mapping[str, str],
          errors: Mapping[str, str], error: str = "", status: int = 200, shard: str = "") -> Response:
    about, back = _who(dash, sid, shard)
    settings = current.get("settings") or {}
    changed = set(current.get("changed") or {})
    err = f'<p class="error" id="settings-error" role="alert">{escape(error)} Nothing was changed.</p>' if error else ""
    body = (f'<p id="settings-about">{about} <a href="{escape(back)}">back to the account</a></p>'
            f"<p>In force: <b id=\"settings-now\">{escape(settings_text(current.get('changed') or {}))}</b>. "
            "A change applies to trades opened after it; open copies keep the settings they were opened with "
            "(docs/copy-trading.md, \"Copy settings\"). An empty box means its default (the words in it). "
            "The daemon checks every value and journals the change with your name.</p>"
            f"{err}" + form_html(values, changed, errors, action=settings_url(shard, sid),
                                 csrf=dash.csrf_token(request), seen=fingerprint(settings)))
    return dash.page(request, f"Copy settings, subscription {sid}", body, status=status)


async def _current(dash: Dashboard, request: Request, sid: int, shard: str) -> dict | Response:
    """The subscription's settings from the daemon (its shard's owner on a cluster desk), or the
    page that says why there are none."""
    reply, why = await asyncio.to_thread(_call, dash.admin, "get_copy_settings", subscription=sid,  # type: ignore[arg-type]
                                         **_shard(shard))
    if reply is None:
        return dash.page(request, "Copy settings", f'<p class="error">{escape(why)}</p>', status=502)
    if not reply.get("ok"):
        status = 404 if reply.get("error") == "unknown_subscription" else 400
        return dash.page(request, "Copy settings", f'<p class="error">{escape(str(reply.get("detail", "")))}</p>',
                         status=status)
    return reply


async def settings_page(dash: Dashboard, request: Request) -> Response:
    p = dash.principal(request)
    if p is None or not p.is_dealer:
        return dash.deny(request, p)
    if dash.admin is None:
        return dash.page(request, "Copy settings", OFF_NOTE, status=409)
    sid, shard = request.path_params["sub"], request.path_params.get("shard", "")
    current = await _current(dash, request, sid, shard)
    if isinstance(current, Response):
        return current
    return _page(dash, request, sid, current, shown_texts(current.get("settings") or {}), {}, shard=shard)


async def save(dash: Dashboard, request: Request) -> Response:
    form = await dash.form(request, max_fields=MAX_SETTINGS_FIELDS, max_bytes=MAX_SETTINGS_FORM)
    if isinstance(form, Response):
        return form
    path = request.url.path
    if not dash.csrf_ok(request, form):
        log.warning("dashboard.csrf_rejected", path=path)
        return dash.page(request, "Forbidden", "<p>The form expired; reload the page and try again.</p>", status=403)
    p = dash.principal(request)
    if p is None or not p.is_dealer:
        if p is not None:
            log.warning("dashboard.settings_forbidden", username=p.name, path=path)
        return dash.deny(request, p)
    if dash.admin is None:
        return dash.page(request, "Copy settings", OFF_NOTE, status=409)
    sid, shard = request.path_params["sub"], request.path_params.get("shard", "")
    current = await _current(dash, request, sid, shard)
    if isinstance(current, Response):
        return current
    now = current.get("settings") or {}
    if form.get("seen", "") != fingerprint(now):
        return _page(dash, request, sid, current, shown_texts(now), {}, "The settings changed since the form was "
                     "shown (another dealer, or the investor); here they are as they are now. Nothing was sent.", 409,
                     shard=shard)
    submitted = submitted_texts(form)
    args = changes(submitted, shown_texts(now))
    if not args:
        request.session[FLASH_KEY] = {"kind": "ok", "text": f"copy settings, subscription {sid}: nothing changed"}
        return RedirectResponse(path, status_code=303)
    reply, why = await asyncio.to_thread(_call, dash.admin, "set_copy_settings", subscription=sid,
                                         requester=None, actor=p.name, **_shard(shard), **args)
    field, words, status = failure(reply, why)
    log.info("dashboard.copy_settings", username=p.name, subscription=sid, changed=sorted(args),
             result="done" if not status else words)
    if status:
        return _page(dash, request, sid, current, submitted, {field: words} if field else {}, words, status, shard)
    request.session[FLASH_KEY] = {"kind": "ok", "text": f"copy settings, subscription {sid}: done, changed "
                                                        + ", ".join(args)}
    return RedirectResponse(path, status_code=303)
