/* Subscriptions, resource groups, access control (IAM), resource providers, preview features. */
"use strict";
(() => {
  const P = Portal, { h, table, props, badge, act, field, select, crumbs, enc } = P;
  const AUTHZ = "2022-04-01", RES = "2021-04-01", FEAT = "2021-07-01", SUBS = "2022-12-01";
  const TEST_FEATURE = "AllowExpressRouteTestPeeringLocations";

  async function subscriptions() {
    return P.armList("/subscriptions", SUBS);
  }
  P.subscriptions = subscriptions;

  P.blades.subscriptions = async () => {
    const subs = await subscriptions();
    return [h("h1", "Subscriptions"), h("div.subtitle", "Subscriptions you hold a role in."),
      table([{ title: "Subscription name", render: s => h("a", { href: `#/subscriptions/${s.subscriptionId}` }, s.displayName) },
        { title: "Subscription ID", key: "subscriptionId", optional: true }, { title: "State", render: s => badge(s.state) }], subs)];
  };

  function subscriptionTabs(sub, active) {
    const tabs = [["Overview", `#/subscriptions/${sub}`], ["Access control (IAM)", `#/subscriptions/${sub}/iam`],
      ["Resource groups", `#/subscriptions/${sub}/groups`], ["Resource providers", `#/subscriptions/${sub}/providers`],
      ["Preview features", `#/subscriptions/${sub}/features`]];
    return h("nav.tabs", tabs.map(([t, href]) => h("a", { href, class: t === active ? "active" : null }, t)));
  }
  async function subscriptionHeader(sub, active) {
    const s = (await P.arm("GET", `/subscriptions/${sub}`, undefined, SUBS)).data;
    return [crumbs(["Subscriptions", "#/subscriptions"]), h("h1", s.displayName), h("div.subtitle", "Subscription"),
      subscriptionTabs(sub, active)];
  }

  P.blades.subscription = async ([sub]) => {
    const s = (await P.arm("GET", `/subscriptions/${sub}`, undefined, SUBS)).data;
    return [...await subscriptionHeader(sub, "Overview"), props([["Subscription ID", s.subscriptionId],
      ["Directory", s.tenantId], ["State", badge(s.state)], ["Display name", s.displayName]])];
  };

  P.blades.groups = async ([sub]) => {
    const groups = await P.armList(`/subscriptions/${sub}/resourcegroups`, RES);
    const out = h("div"); const name = h("input", { placeholder: "new-resource-group" });
    const loc = h("input", { value: "westus" });
    const create = h("button.primary", { type: "submit" }, "Create");
    return [...await subscriptionHeader(sub, "Resource groups"),
      h("form.toolbar", { onsubmit: e => { e.preventDefault(); act(create, out, async () => {
        await P.arm("PUT", `/subscriptions/${sub}/resourcegroups/${enc(name.value)}`, { location: loc.value }, RES);
        P.toast(`Resource group ${name.value} created`, "ok"); P.render(); }); } }, name, loc, create), out,
      table([{ title: "Name", render: g => g.name }, { title: "Location", key: "location" },
        { title: "", render: g => h("a", { href: `#/subscriptions/${sub}/groups/${enc(g.name)}/iam` }, "Access control (IAM)") }], groups)];
  };

  // ---- access control ------------------------------------------------------------------------
  const principalNames = () => P.directoryPrincipals(); // users, groups and service principals (blades_groups.js)

  async function iam(scope, header) {
    const [assignments, roles, names] = await Promise.all([
      P.armList(`${scope}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()`, AUTHZ),
      P.armList(`${scope}/providers/Microsoft.Authorization/roleDefinitions`, AUTHZ), principalNames()]);
    const roleName = id => (roles.find(r => r.name === id.split("/").pop()) || {}).properties?.roleName || id.split("/").pop();
    const out = h("div");
    const rows = assignments.map(a => ({ ...a, inherited: a.properties.scope.toLowerCase() !== scope.toLowerCase() }));
    const body = h("div", out, table([
      { title: "Name", render: a => (names[a.properties.principalId] || {}).name || a.properties.principalId },
      { title: "Type", render: a => Object.keys(names).length && !names[a.properties.principalId] ? "Unknown" : P.typeLabel(a.properties.principalType), optional: true },
      { title: "Role", render: a => roleName(a.properties.roleDefinitionId) },
      { title: "Scope", render: a => a.inherited ? h("span", badge("Inherited"), " ", h("span.hint", a.properties.scope)) : "This resource" },
      { title: "", render: a => a.inherited ? "" : h("button.danger", { onclick: e => act(e.target, out, async () => {
        if (!confirm(`Remove ${roleName(a.properties.roleDefinitionId)} from ${(names[a.properties.principalId] || {}).name || a.properties.principalId}?`)) return;
        await P.arm("DELETE", a.id, undefined, AUTHZ); P.toast("Role assignment removed", "ok"); P.render(); }) }, "Remove") },
    ], rows));
    const add = h("button.primary#add-role-assignment", { onclick: () => body.replaceChildren(addAssignment(scope, roles, names)) },
      "+ Add role assignment");
    const check = h("button#check-access-open", { onclick: () => body.replaceChildren(P.checkAccess(scope, names, roleName)) }, "Check access");
    return [...header, h("div.toolbar", add, check, h("span.hint", `Role assignments at ${scope} and inherited from above.`)), body];
  }

  function addAssignment(scope, roles, names) {
    const state = { role: null, member: null };
    const root = h("div.panel#add-assignment");
    const steps = n => h("div.steps", ["Role", "Members", "Review + assign"].map((s, i) => h("span", { class: i === n ? "current" : null }, s)));
    function roleStep() {
      const search = h("input#role-search", { type: "search", placeholder: "Search by role name or description", oninput: () => draw() });
      const list = h("div");
      const draw = () => { const q = search.value.toLowerCase();
        list.replaceChildren(table([{ title: "Name", render: r => r.properties.roleName },
          { title: "Description", render: r => r.properties.description, optional: true },
          { title: "Type", render: r => r.properties.type === "BuiltInRole" ? "BuiltInRole" : "CustomRole", optional: true }],
        roles.filter(r => (r.properties.roleName + " " + r.properties.description).toLowerCase().includes(q)),
        r => { state.role = r; memberStep(); })); };
      draw(); root.replaceChildren(h("h2", "Add role assignment"), steps(0), field("Role", search), list);
    }
    function memberStep() {
      const search = h("input#member-search", { type: "search", placeholder: "Search users, groups and service principals", oninput: () => draw() });
      const list = h("div");
      const members = Object.entries(names).map(([id, m]) => ({ id, ...m }));
      const draw = () => { const q = search.value.toLowerCase();
        list.replaceChildren(table([{ title: "Name", key: "name" }, { title: "Type", render: m => P.typeLabel(m.type) },
          { title: "Details", key: "detail", optional: true }],
        members.filter(m => (m.name + " " + m.detail + " " + m.id).toLowerCase().includes(q)), m => { state.member = m; reviewStep(); })); };
      draw(); root.replaceChildren(h("h2", "Add role assignment"), steps(1), h("p", "Role: ", h("b", state.role.properties.roleName)),
        field("Select members", search), list, h("button", { onclick: roleStep }, "Back"));
    }
    function reviewStep() {
      const out = h("div");
      const assign = h("button.primary#review-assign", { onclick: () => act(assign, out, async () => {
        await P.arm("PUT", `${scope}/providers/Microsoft.Authorization/roleAssignments/${P.uuid()}`, { properties: {
          roleDefinitionId: state.role.id, principalId: state.member.id, principalType: state.member.type } }, AUTHZ);
        P.toast(`${state.role.properties.roleName} assigned to ${state.member.name}`, "ok"); P.render(); }) }, "Review + assign");
      root.replaceChildren(h("h2", "Add role assignment"), steps(2), props([["Role", state.role.properties.roleName],
        ["Scope", scope], ["Member", `${state.member.name} (${state.member.type})`], ["Object ID", state.member.id]]),
        out, h("div.toolbar", h("button", { onclick: memberStep }, "Back"), assign));
    }
    roleStep(); return root;
  }

  P.blades.iam = async ([sub]) => iam(`/subscriptions/${sub}`, await subscriptionHeader(sub, "Access control (IAM)"));
  P.blades.groupIam = async ([sub, group]) => iam(`/subscriptions/${sub}/resourceGroups/${group}`, [
    crumbs(["Subscriptions", "#/subscriptions"], ["Resource groups", `#/subscriptions/${sub}/groups`]), h("h1", group),
    h("div.subtitle", "Resource group · Access control (IAM)")]);

  // ---- providers and features ----------------------------------------------------------------
  P.blades.providers = async ([sub]) => {
    const providers = await P.armList(`/subscriptions/${sub}/providers`, RES);
    const out = h("div");
    const action = (p, verb) => h(`button${verb === "register" ? ".primary" : ""}`, { "data-action": `${verb}-${p.namespace}`,
      onclick: e => act(e.target, out, async () => {
        await P.arm("POST", `/subscriptions/${sub}/providers/${p.namespace}/${verb}`, undefined, RES);
        P.toast(`${p.namespace}: ${verb} requested`, "ok"); P.render(); }) }, verb === "register" ? "Register" : "Unregister");
    return [...await subscriptionHeader(sub, "Resource providers"), out,
      table([{ title: "Provider", key: "namespace" }, { title: "Status", render: p => badge(p.registrationState) },
        { title: "", render: p => /^Registered$/i.test(p.registrationState) ? action(p, "unregister") : action(p, "register") }],
      providers)];
  };

  P.blades.features = async ([sub]) => {
    const features = await P.armList(`/subscriptions/${sub}/providers/Microsoft.Features/features`, FEAT);
    const out = h("div");
    return [...await subscriptionHeader(sub, "Preview features"), out,
      h("p.hint", `${TEST_FEATURE} exposes the test peering locations; it stays Pending until the operator approves it.`),
      table([{ title: "Feature", render: f => f.name.split("/").pop() }, { title: "Provider", render: f => f.name.split("/")[0], optional: true },
        { title: "State", render: f => badge(f.properties.state) },
        { title: "", render: f => { const [ns, name] = f.name.split("/"); const registered = /^(Registered|Pending|Registering)$/.test(f.properties.state);
          return h("button", { "data-action": `${registered ? "unregister" : "register"}-${name}`, onclick: e => act(e.target, out, async () => {
            await P.arm("POST", `/subscriptions/${sub}/providers/Microsoft.Features/providers/${ns}/features/${name}/${registered ? "unregister" : "register"}`, undefined, FEAT);
            P.render(); }) }, registered ? "Unregister" : "Register"); } }], features)];
  };
})();
