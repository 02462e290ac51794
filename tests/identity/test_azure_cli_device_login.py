"""``az login --use-device-code`` as the seeded admin user: the CLI prints a code, the user enters
it with their password on the server's /devicelogin page, and the CLI finds the subscriptions."""

from __future__ import annotations

import json
import re
import subprocess
import time

import httpx

from tests.support.azure_cli import AzureCli


def test_az_login_with_device_code(az: AzureCli) -> None:
    az.register_cloud()
    server, user = az.server, az.server.env["user"]
    az.config_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [str(az.executable), "login", "--use-device-code", "--tenant", server.env["tenant_id"], "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=az.env(),
    )  # fmt: skip
    assert proc.stderr is not None
    prompt, deadline = "", time.time() + 90
    while time.time() < deadline and "enter the code" not in prompt:
        line = proc.stderr.readline()
        if not line:
            break
        prompt += line
    match = re.search(r"enter the code (\w+)", prompt)
    assert match, prompt
    assert f"{server.base_url}/devicelogin" in prompt
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as browser:
        page = browser.post("/devicelogin", data={"user_code": match.group(1), "username": user["username"],
                                                  "password": user["password"]})  # fmt: skip
        assert "signed in" in page.text
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, prompt + err
    assert {s["id"] for s in json.loads(out)} == {server.subscription("partner"), server.subscription("customer")}
    account = az("account", "show")
    assert account["user"] == {"name": user["username"], "type": "user"}
    groups = az("group", "list", "--subscription", server.subscription("customer"))
    assert isinstance(groups, list)
