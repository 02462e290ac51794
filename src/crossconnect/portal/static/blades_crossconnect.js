/* The partner's side: cross connections (search by service key, provisioning state, notes),
   their peerings, and troubleshooting (ARP, BGP summary, routes, link diagram). */
"use strict";
(() => {
  const P = Portal, { h, table, props, badge, act, field, select, crumbs, enc } = P;
  const TRANSITIONS = { NotProvisioned: ["Provisioning", "Provisioned"], Provisioning: ["Provisioned", "NotProvisioned"],
    Provisioned: ["Deprovisioning", "NotProvisioned"], Deprovisioning: ["NotProvisioned", "Provisioned"] };
  const TYPES = ["AzurePrivatePeering", "MicrosoftPeering"];
  const RES = "2021-04-01";

  /** Cross connections live in the resource groups Microsoft creates for them in a provider's
      management subscription, CrossConnection-<peering location>. Any other subscription answers
      404 InvalidResourceType (as on Azure), which the browser logs as an error: so only those
      groups are asked, and a group of that name in another subscription counts as empty. */
  async function crossConnections() {
    const items = [];
    for (const s of await P.subscriptions()) {
      let groups;
      try { groups = await P.armList(`/subscriptions/${s.subscriptionId}/resourcegroups`, RES); } catch (e) { continue; /* no read there */ }
      for (const g of groups.filter(g => /^CrossConnection-/i.test(g.name))) {
        try { items.push(...await P.armList(`${g.id}/providers/Microsoft.Network/expressRouteCrossConnections`)); } catch (e) {
          if (e.code !== "InvalidResourceType") throw e;
        }
      }
    }
    return items;
  }

  const EMPTY = () => h("div.empty#xc-empty", h("p", h("b", "No cross connections yet.")),
    h("p", "A cross connection appears in your ExpressRoute management subscription when a customer creates a circuit " +
      "at one of your peering locations; it is named by the circuit's service key."));

  P.blades.crossconnections = async () => {
    const all = await crossConnections();
    const head = [h("h1", "Cross connections"), h("div.subtitle", "Your customers' circuits at your peering locations.")];
    if (!all.length) return [...head, EMPTY()];
    const list = h("div");
    const search = h("input#xc-search", { type: "search", placeholder: "Search by service key or name", oninput: () => draw() });
    const draw = () => { const q = search.value.trim().toLowerCase();
      list.replaceChildren(table([{ title: "Service key", render: x => h("a.mono", { href: `#/xc/${enc(x.id)}` }, x.name) },
        { title: "Peering location", render: x => x.properties.peeringLocation }, { title: "Bandwidth", render: x => `${x.properties.bandwidthInMbps} Mbps`, optional: true },
        { title: "Provider status", render: x => badge(x.properties.serviceProviderProvisioningState) },
        { title: "Resource group", render: x => P.groupOf(x.id), optional: true }],
      all.filter(x => !q || x.name.toLowerCase().includes(q) || (x.properties.expressRouteCircuit?.id || "").toLowerCase().includes(q)))); };
    draw();
    return [...head, h("div.toolbar", search), list];
  };

  function xcTabs(id, active) {
    const tabs = [["Overview", `#/xc/${enc(id)}`], ["Peerings", `#/xc/${enc(id)}/peerings`], ["Troubleshooting", `#/xc/${enc(id)}/troubleshoot`]];
    return h("nav.tabs", tabs.map(([t, href]) => h("a", { href, class: t === active ? "active" : null }, t)));
  }
  const header = (x, active) => [crumbs(["Cross connections", "#/crossconnections"]), h("h1.mono", x.name),
    h("div.subtitle", "ExpressRoute cross connection"), xcTabs(x.id, active)];

  P.blades.xc = async ([id]) => {
    const x = (await P.arm("GET", id)).data, p = x.properties;
    const out = h("div");
    const current = p.serviceProviderProvisioningState;
    const state = select([current, ...(TRANSITIONS[current] || [])], current, { id: "xc-state" });
    const notes = h("textarea#xc-notes", { rows: 2, value: p.serviceProviderNotes || "" });
    const save = h("button.primary#xc-save", { type: "submit" }, "Save");
    const form = h("form.panel", { onsubmit: e => { e.preventDefault(); act(save, out, async () => {
      const r = await P.arm("PUT", id, { location: x.location, properties: { serviceProviderProvisioningState: state.value,
        serviceProviderNotes: notes.value } });
      await P.lro(`Updating ${x.name}`, r); P.render(); }); } },
    h("h2", "Provisioning"), field("Service provider provisioning state", state, "Only the transitions allowed from the current state are offered."),
    field("Notes", notes), out, save);
    const circuit = p.expressRouteCircuit?.id;
    const circuitLink = circuit && h("span", h("a#xc-circuit", { href: `#/circuit/${enc(circuit)}`, title: circuit }, P.nameOf(circuit)),
      " ", h("span.hint", `resource group ${P.groupOf(circuit)}`));
    return [...header(x, "Overview"), props([["Circuit", circuitLink || "—"], ["Location", x.location],
      ["Peering location", p.peeringLocation], ["Bandwidth", `${p.bandwidthInMbps} Mbps`], ["Primary port", p.primaryAzurePort],
      ["Secondary port", p.secondaryAzurePort], ["S-tag", p.sTag], ["Provider status", badge(current)],
      ["Provisioning state", badge(p.provisioningState)], ["Notes", p.serviceProviderNotes || "—"]]), form];
  };

  function peeringForm(xcId, existing, done) {
    const e = existing ? existing.properties : {};
    const out = h("div");
    const type = select(TYPES, e.peeringType || "AzurePrivatePeering", { id: "pe-type", disabled: existing ? "disabled" : null });
    const asn = h("input#pe-asn", { value: e.peerASN ?? "65010", inputmode: "numeric" });
    const primary = h("input#pe-primary", { value: e.primaryPeerAddressPrefix || "192.168.100.128/30" });
    const secondary = h("input#pe-secondary", { value: e.secondaryPeerAddressPrefix || "192.168.100.132/30" });
    const vlan = h("input#pe-vlan", { value: e.vlanId ?? "100", inputmode: "numeric" });
    const key = h("input#pe-key", { value: e.sharedKey || "", placeholder: "optional MD5 key" });
    const ms = e.microsoftPeeringConfig || {};
    const prefixes = h("input#pe-prefixes", { value: (ms.advertisedPublicPrefixes || []).join(", "), placeholder: "Microsoft peering: 123.1.0.0/24" });
    const customer = h("input#pe-customer-asn", { value: ms.customerASN || "" });
    const save = h("button.primary#pe-save", { type: "submit" }, existing ? "Save" : "Create");
    return h("form.panel#peering-form", { onsubmit: ev => { ev.preventDefault(); act(save, out, async () => {
      const props = { peeringType: type.value, peerASN: Number(asn.value), primaryPeerAddressPrefix: primary.value,
        secondaryPeerAddressPrefix: secondary.value, vlanId: Number(vlan.value) };
      if (key.value) props.sharedKey = key.value;
      if (type.value === "MicrosoftPeering") props.microsoftPeeringConfig = { advertisedPublicPrefixes:
        prefixes.value.split(/[\s,]+/).filter(Boolean), customerASN: Number(customer.value || 0) || undefined };
      const r = await P.arm("PUT", `${xcId}/peerings/${type.value}`, { properties: props });
      await P.lro(`Saving ${type.value}`, r); done(); }); } },
    h("h2", existing ? `Edit ${e.peeringType}` : "Add peering"), h("div.grid2", field("Peering type", type), field("Peer ASN", asn),
      field("Primary subnet", primary), field("Secondary subnet", secondary), field("VLAN ID", vlan), field("Shared key", key),
      field("Advertised public prefixes", prefixes), field("Customer ASN", customer)), out, save);
  }

  P.blades.xcPeerings = async ([id]) => {
    const x = (await P.arm("GET", id)).data;
    const peerings = await P.armList(`${id}/peerings`);
    const slot = h("div"); const out = h("div");
    const add = h("button.primary#add-peering", { onclick: () => slot.replaceChildren(peeringForm(id, null, P.render)) }, "+ Add peering");
    return [...header(x, "Peerings"), h("div.toolbar", add), slot, out,
      table([{ title: "Type", key: "name" }, { title: "State", render: r => badge(r.properties.state) },
        { title: "Provisioning", render: r => badge(r.properties.provisioningState), optional: true },
        { title: "Primary", render: r => r.properties.primaryPeerAddressPrefix }, { title: "Secondary", render: r => r.properties.secondaryPeerAddressPrefix, optional: true },
        { title: "VLAN", render: r => r.properties.vlanId }, { title: "Peer ASN", render: r => r.properties.peerASN, optional: true },
        { title: "", render: r => h("span", h("button", { onclick: () => slot.replaceChildren(peeringForm(id, r, P.render)) }, "Edit"), " ",
          h("button.danger", { onclick: ev => act(ev.target, out, async () => {
            if (!confirm(`Delete ${r.name}?`)) return;
            await P.lro(`Deleting ${r.name}`, await P.arm("DELETE", r.id)); P.render(); }) }, "Delete")) }], peerings)];
  };

  // ---- troubleshooting -----------------------------------------------------------------------
  async function diagnose(peeringId, kind, path) {
    const r = await P.arm("POST", `${peeringId}/${kind}/${path}`);
    const result = await P.lro(null, r); // quiet: readLink shows one notification for the link's three reads
    return (result && result.value) || [];
  }
  /** The ARP table, BGP summary and route table of one link, with one notification in words. */
  async function readLink(peeringId, path) {
    const link = `${path[0].toUpperCase()}${path.slice(1)} link`;
    const t = P.toast(`${link}: reading the ARP table, BGP summary and route table…`, "", true);
    try {
      const [arp, bgp, routes] = await Promise.all([diagnose(peeringId, "arpTables", path),
        diagnose(peeringId, "routeTablesSummary", path), diagnose(peeringId, "routeTables", path)]);
      t.done(`${link}: ARP table, BGP summary and route table read`, "ok");
      return { arp, bgp, routes, state: linkState(arp, bgp) };
    } catch (e) { t.done(`${link}: ${e}`, "bad"); throw e; }
  }
  function linkState(arp, bgp) {
    const arpOk = arp.length > 0 && arp.every(a => a.macAddress && a.macAddress !== "Incomplete");
    const bgpOk = bgp.length > 0 && bgp.every(b => /^\d+$/.test(String(b.stateOrPrefixesReceived)));
    return { arpOk, bgpOk, colour: arpOk && bgpOk ? "#107c10" : arpOk ? "#c19c00" : "#a4262c",
      label: `ARP ${arpOk ? "resolved" : "incomplete"} · BGP ${bgpOk ? "established" : (bgp[0]?.stateOrPrefixesReceived || "down")}` };
  }
  function diagram(primary, secondary) {
    const svg = (tag, attrs, ...kids) => { const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
      Object.entries(attrs).forEach(([k, v]) => el.setAttribute(k, v)); kids.forEach(k => el.appendChild(typeof k === "string" ? document.createTextNode(k) : k)); return el; };
    // A device and its link on two lines ("Partner edge (secondary)" on one did not fit its box), in
    // a drawing narrow enough that a 420 px window shows its text at 9 px or more.
    const box = (x, y, device, path) => svg("g", {}, svg("rect", { x, y, width: 130, height: 54, rx: 4, fill: "#fff", stroke: "#605e5c" }),
      svg("text", { x: x + 65, y: y + 25, "text-anchor": "middle", "font-size": 16, fill: "#201f1e" }, device),
      svg("text", { x: x + 65, y: y + 43, "text-anchor": "middle", "font-size": 13, fill: "#605e5c" }, path));
    const link = (y, s, name) => svg("g", { "data-link": name, "data-state": s.arpOk && s.bgpOk ? "up" : "down" },
      svg("line", { x1: 140, y1: y, x2: 380, y2: y, stroke: s.colour, "stroke-width": 6 }),
      svg("text", { x: 260, y: y - 10, "text-anchor": "middle", "font-size": 13, fill: s.colour }, s.label));
    return svg("svg", { viewBox: "0 0 520 200", role: "img", "aria-label": "Link diagram" },
      box(10, 20, "Partner edge", "primary"), box(10, 126, "Partner edge", "secondary"), box(380, 20, "MSEE", "primary"),
      box(380, 126, "MSEE", "secondary"),
      link(47, primary, "primary"), link(153, secondary, "secondary"));
  }

  P.blades.xcTroubleshoot = async ([id], query) => {
    const x = (await P.arm("GET", id)).data;
    const peerings = await P.armList(`${id}/peerings`);
    const type = query.get("peering") || (peerings[0] && peerings[0].name);
    const head = header(x, "Troubleshooting");
    if (!type) return [...head, h("p", "This cross connection has no peering yet.")];
    const pick = select(peerings.map(p => p.name), type, { id: "ts-peering",
      onchange: e => { location.hash = `#/xc/${enc(id)}/troubleshoot?peering=${e.target.value}`; } });
    const peeringId = `${id}/peerings/${type}`;
    const body = h("div", h("div.progress"));
    (async () => {
      try {
        const results = {};
        for (const path of ["primary", "secondary"]) results[path] = await readLink(peeringId, path);
        body.replaceChildren(h("div.diagram#link-diagram", diagram(results.primary.state, results.secondary.state)),
          h("p.legend", "Green: ARP resolved and BGP established · amber: ARP only · red: no ARP."),
          ...["primary", "secondary"].map(path => h("section", { id: `ts-${path}` }, h("h2", `${path[0].toUpperCase()}${path.slice(1)} link`),
            h("h3", "ARP table"), table([{ title: "Age", key: "age" }, { title: "Interface", key: "interface" },
              { title: "IP address", key: "ipAddress" }, { title: "MAC address", key: "macAddress" }], results[path].arp),
            h("h3", "BGP summary"), table([{ title: "Neighbor", key: "neighbor" }, { title: "ASN", key: "asn" },
              { title: "Up/down", key: "upDown" }, { title: "State/PfxRcd", key: "stateOrPrefixesReceived" }], results[path].bgp),
            h("h3", "Route table"), table([{ title: "Network", key: "network" }, { title: "Next hop", key: "nextHop" },
              { title: "LocPrf", key: "locPrf", optional: true }, { title: "Weight", key: "weight", optional: true }, { title: "Path", key: "path" }],
            results[path].routes))));
      } catch (e) { body.replaceChildren(P.errorBox(e)); }
    })();
    return [...head, h("div.toolbar", field("Peering", pick)), body];
  };
})();
