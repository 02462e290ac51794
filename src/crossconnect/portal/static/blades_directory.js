/* App registrations (Microsoft Graph): register an application, client secrets. */
"use strict";
(() => {
  const P = Portal, { h, table, props, act, field, crumbs, enc } = P;

  P.blades.apps = async () => {
    const apps = (await P.graph("GET", "/applications")).data.value;
    const out = h("div"); const name = h("input#app-name", { placeholder: "my-automation", required: true });
    const create = h("button.primary#register-app", { type: "submit" }, "Register");
    const form = h("form.panel", { onsubmit: e => { e.preventDefault(); act(create, out, async () => {
      const app = (await P.graph("POST", "/applications", { displayName: name.value })).data;
      await P.graph("POST", "/servicePrincipals", { appId: app.appId });
      P.toast(`Application ${app.displayName} registered`, "ok"); location.hash = `#/apps/${app.id}`; }); } },
    h("h2", "Register an application"), field("Name", name), out, create);
    return [h("h1", "App registrations"), h("div.subtitle", "Applications of this directory (Microsoft Graph)."), form,
      table([{ title: "Display name", render: a => h("a", { href: `#/apps/${a.id}` }, a.displayName) },
        { title: "Application (client) ID", key: "appId" }, { title: "Secrets", render: a => a.passwordCredentials.length, optional: true }], apps)];
  };

  P.blades.app = async ([id]) => {
    const app = (await P.graph("GET", `/applications/${enc(id)}`)).data;
    const out = h("div"); const shown = h("div");
    const desc = h("input#secret-description", { placeholder: "Description", value: "portal secret" });
    const add = h("button.primary#new-secret", { type: "submit" }, "+ New client secret");
    const form = h("form.toolbar", { onsubmit: e => { e.preventDefault(); act(add, out, async () => {
      const secret = (await P.graph("POST", `/applications/${app.id}/addPassword`, { passwordCredential: { displayName: desc.value } })).data;
      const rest = await P.blades.app([id]);
      document.getElementById("blade").replaceChildren(...rest);
      document.getElementById("secret-shown").replaceChildren(h("div.success-box",
        h("p", h("b", "Copy the new client secret value now. "), "You won't be able to retrieve it after you leave this page."),
        h("p", h("span.secret#secret-value", secret.secretText), " ", P.copyButton(secret.secretText)),
        h("p.hint", `Secret ID ${secret.keyId}`))); }); } }, desc, add);
    shown.id = "secret-shown";
    const remove = h("button.danger", { onclick: e => act(e.target, out, async () => {
      if (!confirm(`Delete the application ${app.displayName}?`)) return;
      await P.graph("DELETE", `/applications/${app.id}`); location.hash = "#/apps"; }) }, "Delete application");
    return [crumbs(["App registrations", "#/apps"]), h("h1", app.displayName), h("div.subtitle", "App registration"),
      props([["Application (client) ID", h("span", h("span.mono#app-id", app.appId), " ", P.copyButton(app.appId))],
        ["Object ID", app.id], ["Directory (tenant) ID", P.session().tid]]),
      h("h2", "Certificates & secrets"), form, shown, out,
      table([{ title: "Description", render: c => c.displayName || "" }, { title: "Value", render: c => `${c.hint || ""}${"*".repeat(12)}` },
        { title: "Expires", render: c => (c.endDateTime || "").slice(0, 10), optional: true }, { title: "Secret ID", key: "keyId", optional: true },
        { title: "", render: c => h("button.danger", { onclick: e => act(e.target, out, async () => {
          await P.graph("POST", `/applications/${app.id}/removePassword`, { keyId: c.keyId }); P.render(); }) }, "Delete") }],
      app.passwordCredentials), h("div.toolbar", remove)];
  };
})();
