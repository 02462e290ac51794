"""The HTML of the sign-in pages (self-contained: inline CSS, no external assets, no script)."""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.responses import HTMLResponse

_STYLE = """
*{box-sizing:border-box}body{margin:0;font:15px/1.4 "Segoe UI",system-ui,sans-serif;background:#f2f2f2;color:#1b1b1b}
main{max-width:440px;margin:8vh auto;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
.brand{font-weight:600;color:#737373;letter-spacing:.02em;margin-bottom:16px}
h1{font-size:24px;font-weight:600;margin:0 0 12px}label{display:block;margin:14px 0 4px;font-size:13px}
input[type=text],input[type=password],input[type=email]{width:100%;padding:6px 0;border:0;border-bottom:1px solid #666;
font-size:15px;outline:0}input:focus{border-bottom-color:#0067b8}
button{margin-top:24px;float:right;
background:#0067b8;color:#fff;border:0;padding:8px 32px;font-size:15px;cursor:pointer}
.error{color:#e81123;margin:10px 0 0}.muted{color:#666;font-size:13px}footer{clear:both;padding-top:12px}
@media (max-width:520px){main{margin:0;padding:24px;box-shadow:none;min-height:100vh}}
"""

_KEEP = (
    "client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method",
    "nonce", "response_mode", "prompt", "login_hint",
)  # fmt: skip


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head>'
        f'<body><main><div class="brand">crossconnect · Azure AD</div>{body}</main></body></html>'
    )
    return HTMLResponse(html, status, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def _error(message: str) -> str:
    return f'<p class="error" id="error" role="alert">{escape(message)}</p>' if message else ""


def sign_in_page(params: dict[str, Any], client_name: str, domain: str, message: str = "") -> HTMLResponse:
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{escape(str(params[k]))}">' for k in _KEEP if params.get(k)
    )
    username = escape(str(params.get("username") or params.get("login_hint") or ""))
    body = (
        f"<h1>Sign in</h1><p class=muted>to continue to {escape(client_name)}</p>{_error(message)}"
        f'<form method="post" id="signin">{hidden}'
        f'<label for="username">Email, phone, or Skype</label>'
        f'<input type="email" id="username" name="username" value="{username}" placeholder="someone@{escape(domain)}" '
        'autocomplete="username" required autofocus>'
        '<label for="password">Password</label>'
        '<input type="password" id="password" name="password" autocomplete="current-password" required>'
        '<button type="submit" id="submit">Sign in</button></form><footer></footer>'
    )
    return _page("Sign in to your account", body, 200)


def device_page(form: dict[str, Any], message: str = "", client_name: str = "") -> HTMLResponse:
    code = escape(str(form.get("user_code", "")))
    if not client_name:  # step 1: the code
        body = (
            f"<h1>Enter code</h1><p class=muted>Enter the code displayed on your app or device.</p>{_error(message)}"
            f'<form method="post" id="device"><label for="user_code">Code</label>'
            f'<input type="text" id="user_code" name="user_code" value="{code}" required autofocus>'
            '<button type="submit" id="next">Next</button></form><footer></footer>'
        )
        return _page("Enter code", body)
    body = (
        f"<h1>Sign in</h1><p class=muted>You're signing in to {escape(client_name)} on another device.</p>"
        f'{_error(message)}<form method="post" id="signin"><input type="hidden" name="user_code" value="{code}">'
        f'<label for="username">Email</label><input type="email" id="username" name="username" '
        f'value="{escape(str(form.get("username", "")))}" required autofocus>'
        '<label for="password">Password</label><input type="password" id="password" name="password" required>'
        '<button type="submit" id="submit">Sign in</button></form><footer></footer>'
    )
    return _page("Sign in", body)


def message_page(title: str, text: str) -> HTMLResponse:
    return _page(title, f'<h1 id="title">{escape(title)}</h1><p id="message">{escape(text)}</p>')


def error_page(text: str) -> HTMLResponse:
    return _page("Sign-in error", f"<h1>Sorry, but we're having trouble signing you in.</h1>{_error(text)}", 400)
