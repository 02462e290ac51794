/* The customer's side: ExpressRoute circuits (create wizard, overview, peerings) and route filters. */
"use strict";
(() => {
  const P = Portal, { h, table, props, badge, act, field, select, crumbs, enc } = P;
  const RES = "2021-04-01";

  /** Items of one Microsoft.Network type across every subscription the user sees. */
  async function everywhere(type) {
    const subs = await P.subscriptions(); const items = [];
    for (const s of subs) {
      try { (await P.armList(`/subscriptions/${s.subscriptionId}/providers/Microsoft.Network/${type}`))
        .forEach(i => items.push({ ...i, subscriptionName: s.displayName })); } catch (e) { /* not available there */ }
    }
    return items;
  }
  P.everywhere = everywhere;

  // A circuit from a provider (serviceProviderProperties) or on an ExpressRoute Direct port
  // (expressRoutePort + bandwidthInGbps), as one row of facts.
  const circuitProvider = p => p.serviceProviderProperties ? p.serviceProviderProperties.serviceProviderName : "ExpressRoute Direct";
  const circuitLocation = p => p.serviceProviderProperties ? p.serviceProviderProperties.peeringLocation
    : `port ${(p.expressRoutePort && p.expressRoutePort.id || "").split("/").pop()}`;
  const circuitBandwidth = p => p.serviceProviderProperties ? `${p.serviceProviderProperties.bandwidthInMbps} Mbps` : `${p.bandwidthInGbps} Gbps`;

  P.blades.circuits = async () => {
    const circuits = await everywhere("expressRouteCircuits");
    return [h("h1", "ExpressRoute circuits"), h("div.toolbar", h("a", { href: "#/circuits/new" }, h("button.primary#create-circuit", "+ Create"))),
      table([{ title: "Name", render: c => h("a", { href: `#/circuit/${enc(c.id)}` }, c.name) },
        { title: "Provider", render: c => circuitProvider(c.properties), optional: true },
        { title: "Peering location", render: c => circuitLocation(c.properties) },
        { title: "Bandwidth", render: c => circuitBandwidth(c.properties), optional: true },
        { title: "Provider status", render: c => badge(c.properties.serviceProviderProvisioningState) },
        { title: "Subscription", key: "subscriptionName", optional: true }], circuits)];
  };

  P.blades.newCircuit = async () => {
    const subs = await P.subscriptions();
    const out = h("div");
    const sub = P.select(subs.map(s => [s.subscriptionId, s.displayName]), (subs.find(s => /Customer/.test(s.displayName)) || subs[0] || {}).subscriptionId, { id: "c-subscription" });
    const group = h("input#c-group", { value: "customer-rg" }), name = h("input#c-name", { value: "demo-circuit" });
    const region = h("input#c-region", { value: "westus" });
    const provider = h("select#c-provider"), peeringLoc = h("select#c-location"), bandwidth = h("select#c-bandwidth");
    const tier = select(["Standard", "Premium", "Local"], "Standard", { id: "c-tier" });
    const family = select(["MeteredData", "UnlimitedData"], "MeteredData", { id: "c-family" });
    let catalog = [];
    const fillProvider = () => { const p = catalog.find(x => x.name === provider.value); if (!p) return;
      peeringLoc.replaceChildren(...p.properties.peeringLocations.map(l => h("option", { value: l }, l)));
      bandwidth.replaceChildren(...p.properties.bandwidthsOffered.map(b => h("option", { value: b.valueInMbps }, b.offerName))); };
    const loadCatalog = async () => act(null, out, async () => {
      catalog = await P.armList(`/subscriptions/${sub.value}/providers/Microsoft.Network/expressRouteServiceProviders`);
      provider.replaceChildren(...catalog.map(p => h("option", { value: p.name }, p.name)));
      const test = catalog.find(p => p.name === "Ibiza Test Provider"); if (test) provider.value = test.name; fillProvider(); });
    sub.addEventListener("change", loadCatalog); provider.addEventListener("change", fillProvider);
    const create = h("button.primary#c-create", { type: "submit" }, "Review + create");
    const form = h("form.panel", { onsubmit: e => { e.preventDefault(); act(create, out, async () => {
      const rg = `/subscriptions/${sub.value}/resourceGroups/${enc(group.value)}`;
      try { await P.arm("GET", rg, undefined, RES); } catch (err) {
        if (err.status !== 404) throw err; await P.arm("PUT", rg, { location: region.value }, RES); }
      const id = `${rg}/providers/Microsoft.Network/expressRouteCircuits/${enc(name.value)}`;
      const r = await P.arm("PUT", id, { location: region.value, sku: { name: `${tier.value}_${family.value}`, tier: tier.value, family: family.value },
        properties: { serviceProviderProperties: { serviceProviderName: provider.value, peeringLocation: peeringLoc.value,
          bandwidthInMbps: Number(bandwidth.value) } } });
      await P.lro(`Creating circuit ${name.value}`, r); location.hash = `#/circuit/${enc(id)}`; }); } },
    h("h2", "Basics"), field("Subscription", sub), field("Resource group", group, "Created when it does not exist."),
    field("Circuit name", name), field("Region", region), h("h2", "Configuration"), field("Provider", provider),
    field("Peering location", peeringLoc), field("Bandwidth", bandwidth), field("SKU", tier), field("Billing model", family), out, create);
    await loadCatalog();
    return [crumbs(["ExpressRoute circuits", "#/circuits"]), h("h1", "Create ExpressRoute circuit"), form];
  };

  P.blades.circuit = async ([id]) => {
    const c = (await P.arm("GET", id)).data, p = c.properties;
    const out = h("div");
    const remove = h("button.danger", { onclick: () => act(remove, out, async () => {
      if (!confirm(`Delete circuit ${c.name}?`)) return;
      const r = await P.arm("DELETE", id); await P.lro(`Deleting ${c.name}`, r); location.hash = "#/circuits"; }) }, "Delete");
    return [crumbs(["ExpressRoute circuits", "#/circuits"]), h("h1", c.name), h("div.subtitle", "ExpressRoute circuit"),
      h("div.toolbar", remove), out,
      props([["Service key", h("span", h("span.mono#service-key", p.serviceKey), " ", P.copyButton(p.serviceKey))],
        ["Circuit status", badge(p.circuitProvisioningState)], ["Provider status", badge(p.serviceProviderProvisioningState)],
        ["Provisioning state", badge(p.provisioningState)], ["Provider", circuitProvider(p)], ["Peering location", circuitLocation(p)],
        ["Bandwidth", circuitBandwidth(p)], ["SKU", `${c.sku.tier} · ${c.sku.family}`], ["Location", c.location],
        ["Provider notes", p.serviceProviderNotes || "—"]]),
      h("h2", "Peerings"),
      table([{ title: "Name", key: "name" }, { title: "Status", render: x => badge(x.properties.state) },
        { title: "Primary subnet", render: x => x.properties.primaryPeerAddressPrefix }, { title: "Secondary subnet", render: x => x.properties.secondaryPeerAddressPrefix, optional: true },
        { title: "VLAN", render: x => x.properties.vlanId }, { title: "Peer ASN", render: x => x.properties.peerASN, optional: true },
        { title: "Last modified by", render: x => x.properties.lastModifiedBy || "", optional: true }], p.peerings || []),
      ...globalReach(p.peerings || []), ...await connectedNetworks(c)];
  };

  /** Virtual networks connected to the circuit: the ExpressRoute connections (in any subscription
      the user sees) whose peer is this circuit, with their gateway and status. */
  async function connectedNetworks(circuit) {
    const rows = [];
    for (const s of await P.subscriptions()) {
      let found = [];
      try { found = await P.armList(`/subscriptions/${s.subscriptionId}/resources?$filter=${encodeURIComponent("resourceType eq 'Microsoft.Network/connections'")}`, RES); }
      catch (e) { continue; }
      for (const item of found) {
        let x; try { x = (await P.arm("GET", item.id)).data; } catch (e) { continue; }
        if ((x.properties.peer || {}).id && x.properties.peer.id.toLowerCase() === circuit.id.toLowerCase())
          rows.push({ name: x.name, gateway: x.properties.virtualNetworkGateway1.id.split("/").pop(), ...x.properties });
      }
    }
    return [h("h2", "Connections"), h("div#circuit-connections", rows.length ? table([{ title: "Connection", key: "name" },
      { title: "Virtual network gateway", key: "gateway" }, { title: "Routing weight", key: "routingWeight", optional: true },
      { title: "Status", render: x => badge(x.connectionStatus) }], rows)
      : h("p.hint", "No virtual networks are connected to this circuit."))];
  }

  /** Global Reach: the private peering's connections (this circuit initiated them) and peered
      connections (another circuit did), each naming the circuit at the other end. */
  function globalReach(peerings) {
    const priv = peerings.find(x => x.name === "AzurePrivatePeering");
    if (!priv) return [];
    const circuitOf = peeringId => (peeringId || "").split("/peerings/")[0].split("/").pop();
    const rows = [
      ...(priv.properties.connections || []).map(x => ({ name: x.name, direction: "Outgoing",
        peer: circuitOf(x.properties.peerExpressRouteCircuitPeering.id), ...x.properties })),
      ...(priv.properties.peeredConnections || []).map(x => ({ name: x.properties.connectionName, direction: "Incoming",
        peer: circuitOf(x.properties.peerExpressRouteCircuitPeering.id), ...x.properties }))];
    return [h("h2", "Global Reach"), h("div#global-reach", rows.length ? table([{ title: "Connection", key: "name" },
      { title: "Direction", key: "direction" }, { title: "Peer circuit", key: "peer" },
      { title: "Address prefix", key: "addressPrefix" }, { title: "Status", render: x => badge(x.circuitConnectionStatus) }], rows)
      : h("p.hint", "No Global Reach connections on the private peering."))];
  }

  // ---- route filters -------------------------------------------------------------------------
  P.blades.routefilters = async () => {
    const filters = await everywhere("routeFilters");
    const communities = {};
    for (const sub of new Set(filters.map(f => P.subOf(f.id)))) {
      try { (await P.armList(`/subscriptions/${sub}/providers/Microsoft.Network/bgpServiceCommunities`)).forEach(s =>
        s.properties.bgpCommunities.forEach(c => { communities[c.communityValue] = c.communityName || s.properties.serviceName; }));
      } catch (e) { /* listed without names */ }
    }
    const resolve = values => (values || []).map(v => h("div", h("span.mono", v), " ", h("span.hint", communities[v] || "unknown community")));
    return [h("h1", "Route filters"), h("div.subtitle", "Which Microsoft services a circuit's Microsoft peering receives."),
      table([{ title: "Name", key: "name" }, { title: "Subscription", key: "subscriptionName", optional: true },
        { title: "Rule", render: f => (f.properties.rules || []).map(r => `${r.name} (${r.properties.access})`).join(", ") || "—" },
        { title: "Services", render: f => resolve((f.properties.rules || []).flatMap(r => r.properties.communities)) },
        { title: "Peerings", render: f => (f.properties.peerings || []).length, optional: true }], filters)];
  };
})();
