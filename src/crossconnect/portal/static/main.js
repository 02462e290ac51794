/* The router: #/path → blade; sign-in state, session expiry and sign-out. */
"use strict";
(() => {
  const P = Portal, { h } = P;
  const ROUTES = [
    [/^\/?$/, "subscriptions", "subscriptions"],
    [/^\/subscriptions$/, "subscriptions", "subscriptions"],
    [/^\/subscriptions\/([^/]+)$/, "subscription", "subscriptions"],
    [/^\/subscriptions\/([^/]+)\/iam$/, "iam", "subscriptions"],
    [/^\/subscriptions\/([^/]+)\/groups$/, "groups", "subscriptions"],
    [/^\/subscriptions\/([^/]+)\/groups\/([^/]+)\/iam$/, "groupIam", "subscriptions"],
    [/^\/subscriptions\/([^/]+)\/providers$/, "providers", "subscriptions"],
    [/^\/subscriptions\/([^/]+)\/features$/, "features", "subscriptions"],
    [/^\/aadgroups$/, "aadGroups", "aadgroups"],
    [/^\/aadgroups\/([^/]+)$/, "aadGroup", "aadgroups"],
    [/^\/apps$/, "apps", "apps"],
    [/^\/apps\/([^/]+)$/, "app", "apps"],
    [/^\/circuits$/, "circuits", "circuits"],
    [/^\/circuits\/new$/, "newCircuit", "circuits"],
    [/^\/circuit\/([^/]+)$/, "circuit", "circuits"],
    [/^\/crossconnections$/, "crossconnections", "crossconnections"],
    [/^\/xc\/([^/]+)$/, "xc", "crossconnections"],
    [/^\/xc\/([^/]+)\/peerings$/, "xcPeerings", "crossconnections"],
    [/^\/xc\/([^/]+)\/troubleshoot$/, "xcTroubleshoot", "crossconnections"],
    [/^\/routefilters$/, "routefilters", "routefilters"],
  ];
  let generation = 0;

  function welcome(message) {
    return h("div.welcome", h("h1", "crossconnect portal"), h("p", "ExpressRoute partner and customer management."),
      message ? P.errorBox(message) : null, h("button.primary#sign-in", { onclick: P.signIn }, "Sign in"));
  }

  async function render() {
    const blade = document.getElementById("blade");
    const mine = ++generation;
    const s = P.session();
    document.getElementById("sign-out").hidden = !s;
    const who = document.getElementById("session");
    who.textContent = who.title = s ? `${s.name} (${s.upn})` : ""; // cut short on a narrow window: the title has it whole
    if (!s) { blade.replaceChildren(welcome()); return; }
    if (P.expired()) { P.sessionExpired(); return; }
    const [path, qs] = (location.hash.slice(1) || "/subscriptions").split("?");
    const route = ROUTES.find(([re]) => re.test(path));
    document.querySelectorAll("#nav a").forEach(a => a.classList.toggle("active", !!route && a.dataset.nav === route[2]));
    document.getElementById("nav").classList.remove("open");
    if (!route) { blade.replaceChildren(h("h1", "Not found")); return; }
    const args = path.match(route[0]).slice(1).map(decodeURIComponent);
    blade.replaceChildren(h("div.progress"));
    // The session may end while the blade loads (a refused token or refresh): then the sign-in prompt stays.
    const current = () => { if (mine !== generation) return false; if (P.expired()) { P.sessionExpired(); return false; } return true; };
    try {
      const content = await P.blades[route[1]](args, new URLSearchParams(qs || ""));
      if (current()) { blade.replaceChildren(...[].concat(content)); blade.dataset.blade = route[1]; }
    } catch (e) {
      if (current()) blade.replaceChildren(h("h1", "Something went wrong"), P.errorBox(e));
    }
  }
  P.render = render;

  function watchExpiry() {
    setInterval(() => { const s = P.session(); if (s && P.expired() && !document.getElementById("sign-in")) P.sessionExpired(); }, 5000);
  }

  window.addEventListener("hashchange", render);
  document.getElementById("sign-out").addEventListener("click", P.signOut);
  document.getElementById("nav-toggle").addEventListener("click", () => document.getElementById("nav").classList.toggle("open"));
  (async () => {
    try { await P.completeSignIn(); } catch (e) { document.getElementById("blade").replaceChildren(welcome(String(e.message || e))); return; }
    watchExpiry(); render();
  })();
})();
