"""``POST …/expressRoutePorts/{port}/generateLoa``: the Letter of Authorization for a port, a real
one-page PDF (base64 in ``encodedContent``) naming the customer, the port, its peering location,
allocation date and, per link, the Microsoft router, interface, patch panel and rack the
colocation provider must cross-connect to."""

from __future__ import annotations

import base64
from typing import Any

from crossconnect.arm.bodies import parse
from crossconnect.arm.http import ArmRequest, ArmResponse
from crossconnect.network.direct.bodies import LINK_NAMES, LoaRequest, check_customer_name, render_link


def letter_lines(customer: str, port: dict[str, Any]) -> list[str]:
    """What the letter says, line by line."""
    p = port["properties"]
    lines = [
        "LETTER OF AUTHORIZATION (LOA) - ExpressRoute Direct",
        "",
        f"Customer: {customer}",
        f"ExpressRoute port: {port['name']}",
        f"Resource id: {port['id']}",
        f"Peering location: {p['peeringLocation']}",
        f"Port bandwidth: {p['bandwidthInGbps']} Gbps, encapsulation {p['encapsulation']}",
        f"Allocation date: {p['allocationDate']}",
        "",
        "Microsoft authorizes the customer named above, or its agent, to order cross connects",
        "to the following Microsoft ports at the peering location:",
    ]
    for link in p["links"]:
        lp = link["properties"]
        lines += [
            "",
            f"{link['name']}: router {lp['routerName']}, interface {lp['interfaceName']}",
            f"    patch panel {lp['patchPanelId']}, rack {lp['rackId']}, connector {lp['connectorType']}",
        ]
    lines += ["", "This letter is valid for 90 days from the allocation date.", "Issued by crossconnect."]
    return lines


def _pdf_text(line: str) -> str:
    """A line as a PDF string literal body: Latin-1 only (the standard Helvetica font), with the
    three characters PDF strings reserve escaped."""
    safe = line.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF 1.4 showing ``lines`` in Helvetica (cross-reference table with
    exact byte offsets, so any reader opens it)."""
    text = ["BT", "/F1 11 Tf", "14 TL", "56 790 Td"]
    for line in lines:
        text.append(f"({_pdf_text(line)}) Tj T*")
    text.append("ET")
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def generate(request: ArmRequest, port_row: dict[str, Any], rendered: dict[str, Any]) -> ArmResponse:
    body = parse(LoaRequest, request.json_body(), "GenerateExpressRoutePortsLOARequest")
    customer = check_customer_name(body.customer_name)
    rendered = {**rendered, "properties": {**rendered["properties"]}}
    rendered["properties"]["links"] = [render_link(port_row, name) for name in LINK_NAMES]
    document = pdf(letter_lines(customer, rendered))
    return ArmResponse(200, {"encodedContent": base64.b64encode(document).decode("ascii")})
