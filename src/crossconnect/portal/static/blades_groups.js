/* Groups (Microsoft Graph): security groups and their members; the directory's principals for the
   IAM member picker (users, groups, service principals); "Check access" for one principal. */
"use strict";
(() => {
  const P = Portal, { h, table, props, act, field, crumbs, enc, badge } = P;
  const AUTHZ = "2022-04-01";
  const TYPE_LABEL = { User: "User", Group: "Group", ServicePrincipal: "Service principal" };
  const ODATA_TYPE = { "#microsoft.graph.user": "User", "#microsoft.graph.group": "Group",
    "#microsoft.graph.servicePrincipal": "ServicePrincipal" };

  /** Every principal a role can be assigned to: id → { name, type, detail }. Without Graph
      permissions the map is empty (the IAM blade then shows ids). */
  P.directoryPrincipals = async () => {
    const names = {};
    try {
      const [sps, users, groups] = await Promise.all([P.graph("GET", "/servicePrincipals"), P.graph("GET", "/users"),
        P.graph("GET", "/groups")]);
      sps.data.value.forEach(sp => { names[sp.id] = { name: sp.displayName, type: "ServicePrincipal", detail: sp.appId }; });
      users.data.value.forEach(u => { names[u.id] = { name: u.displayName, type: "User", detail: u.userPrincipalName }; });
      groups.data.value.forEach(g => { names[g.id] = { name: g.displayName, type: "Group", detail: g.description || g.mailNickname }; });
    } catch (e) { /* without Graph permissions the ids are shown */ }
    return names;
  };
  P.typeLabel = type => TYPE_LABEL[type] || type || "Unknown";

  P.blades.aadGroups = async () => {
    const groups = (await P.graph("GET", "/groups")).data.value;
    const out = h("div");
    const name = h("input#group-name", { placeholder: "NOC engineers", required: true });
    const description = h("input#group-description", { placeholder: "Who is in it and why" });
    const create = h("button.primary#create-group", { type: "submit" }, "Create");
    const form = h("form.panel", { onsubmit: e => { e.preventDefault(); act(create, out, async () => {
      const nickname = name.value.trim().toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "group";
      const group = (await P.graph("POST", "/groups", { displayName: name.value.trim(), mailNickname: nickname,
        mailEnabled: false, securityEnabled: true, description: description.value.trim() || null })).data;
      P.toast(`Group ${group.displayName} created`, "ok"); location.hash = `#/aadgroups/${group.id}`; }); } },
    h("h2", "New security group"), field("Group name", name), field("Description", description), out, create);
    return [h("h1", "Groups"), h("div.subtitle", "Security groups of this directory (Microsoft Graph)."), form,
      table([{ title: "Name", render: g => h("a", { href: `#/aadgroups/${g.id}` }, g.displayName) },
        { title: "Description", render: g => g.description || "", optional: true },
        { title: "Object ID", key: "id", optional: true }], groups)];
  };

  P.blades.aadGroup = async ([id]) => {
    const [group, members, principals] = await Promise.all([P.graph("GET", `/groups/${enc(id)}`),
      P.graph("GET", `/groups/${enc(id)}/members`), P.directoryPrincipals()]);
    const g = group.data, current = members.data.value;
    const out = h("div"); const picker = h("div");
    const memberType = m => ODATA_TYPE[m["@odata.type"]] || "Unknown";
    const add = h("button.primary#add-members", { onclick: () => picker.replaceChildren(memberPicker()) }, "+ Add members");
    function memberPicker() {
      const inGroup = new Set(current.map(m => m.id).concat([g.id]));
      const candidates = Object.entries(principals).map(([pid, p]) => ({ id: pid, ...p })).filter(p => !inGroup.has(p.id));
      const search = h("input#group-member-search", { type: "search", placeholder: "Search users, groups, apps", oninput: () => draw() });
      const list = h("div");
      const draw = () => { const q = search.value.toLowerCase();
        list.replaceChildren(table([{ title: "Name", key: "name" }, { title: "Type", render: p => P.typeLabel(p.type) },
          { title: "Details", key: "detail", optional: true }],
        candidates.filter(p => `${p.name} ${p.detail} ${p.id}`.toLowerCase().includes(q)),
        p => act(null, out, async () => {
          await P.graph("POST", `/groups/${g.id}/members/$ref`, { "@odata.id": `${location.origin}/v1.0/directoryObjects/${p.id}` });
          P.toast(`${p.name} added to ${g.displayName}`, "ok"); P.render(); }))); };
      draw();
      return h("div.panel#group-member-picker", h("h2", "Add members"), field("Select members", search), list);
    }
    const remove = h("button.danger#delete-group", { onclick: e => act(e.target, out, async () => {
      if (!confirm(`Delete the group ${g.displayName}? Its role assignments stay, showing an unknown principal.`)) return;
      await P.graph("DELETE", `/groups/${g.id}`); P.toast(`Group ${g.displayName} deleted`, "ok"); location.hash = "#/aadgroups"; }) },
    "Delete group");
    return [crumbs(["Groups", "#/aadgroups"]), h("h1", g.displayName), h("div.subtitle", "Security group"),
      props([["Object ID", h("span.mono#group-id", g.id)], ["Description", g.description || "—"], ["Mail nickname", g.mailNickname],
        ["Members", String(current.length)]]),
      h("h2", "Members"), h("div.toolbar", add), picker, out,
      table([{ title: "Name", render: m => m.displayName }, { title: "Type", render: m => P.typeLabel(memberType(m)) },
        { title: "Object ID", key: "id", optional: true },
        { title: "", render: m => h("button.danger", { "data-remove": m.id, onclick: e => act(e.target, out, async () => {
          await P.graph("DELETE", `/groups/${g.id}/members/${m.id}/$ref`);
          P.toast(`${m.displayName} removed from ${g.displayName}`, "ok"); P.render(); }) }, "Remove") }], current),
      h("div.toolbar", remove)];
  };

  /** IAM "Check access": pick a principal, see every role assignment that applies to it at `scope`:
      its own and those it inherits through its groups (assignedTo() expands nested groups). */
  P.checkAccess = (scope, names, roleName) => {
    const root = h("div.panel#check-access"); const result = h("div"); const out = h("div");
    const search = h("input#check-access-search", { type: "search", placeholder: "Search users, groups, apps", oninput: () => draw() });
    const list = h("div");
    const principals = Object.entries(names).map(([id, p]) => ({ id, ...p }));
    const draw = () => { const q = search.value.toLowerCase();
      list.replaceChildren(table([{ title: "Name", key: "name" }, { title: "Type", render: p => P.typeLabel(p.type) }],
        principals.filter(p => `${p.name} ${p.detail} ${p.id}`.toLowerCase().includes(q)).slice(0, 20), p => show(p))); };
    const show = p => act(null, out, async () => {
      const filter = encodeURIComponent(`assignedTo('${p.id}')`);
      const found = await P.armList(`${scope}/providers/Microsoft.Authorization/roleAssignments?$filter=${filter}`, AUTHZ);
      const applying = found.filter(a => { const s = a.properties.scope.toLowerCase(), here = scope.toLowerCase();
        return here === s || here.startsWith(s + "/"); });
      list.replaceChildren();
      result.replaceChildren(h("h2", `Access of ${p.name} (${P.typeLabel(p.type)})`),
        table([{ title: "Role", render: a => roleName(a.properties.roleDefinitionId) },
          { title: "Through", render: a => a.properties.principalId === p.id ? "Direct assignment" :
            h("span", badge("Group"), " ", (names[a.properties.principalId] || {}).name || a.properties.principalId) },
          { title: "Scope", render: a => a.properties.scope }], applying));
    });
    draw();
    root.append(h("h2", "Check access"), field("Find a user, group or service principal", search), list, out, result);
    return root;
  };
})();
