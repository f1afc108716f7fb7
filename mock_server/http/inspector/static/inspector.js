// The inspector's one script: the live request list, the "try it" form, confirmations, copy
// buttons and the start of Swagger UI. What came from a request only ever enters the page as
// text (text nodes, textContent): no HTML is ever built from strings here.
"use strict";

(() => {
  const ADMIN = "/__admin";
  const UI = "/__admin/ui";
  const POLL_MS = 1000;
  const MAX_ROWS = 200;
  const byId = (id) => document.getElementById(id);

  /** An element with attributes and children (strings become text nodes, never markup). */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value !== undefined && value !== null) node.setAttribute(name, value);
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  async function json(url, options = {}) {
    const response = await fetch(url, { cache: "no-store", ...options });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return response.status === 204 ? null : response.json();
  }

  function prettyJson(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }

  /** Ask before a destructive action; resolves true only for an explicit "Confirm". */
  function confirmAction(text) {
    const dialog = byId("confirm");
    byId("confirm-text").textContent = text;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  /** Copy buttons: `data-copy` names the element whose text they copy. */
  function initCopyButtons() {
    document.addEventListener("click", async (event) => {
      const button = event.target.closest("[data-copy]");
      if (!button) return;
      const source = byId(button.dataset.copy);
      const note = button.parentElement.querySelector(".copied");
      try {
        await navigator.clipboard.writeText(source.textContent);
        if (note) note.textContent = "Copied.";
      } catch {
        // No clipboard outside a secure context (http on another host): select it instead.
        window.getSelection().selectAllChildren(source);
        if (note) note.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
      }
    });
  }

  // -- Requests: the journal as a live list ----------------------------------------------

  function clock(iso) {
    return new Date(iso).toLocaleTimeString([], { hour12: false });
  }

  function entryRow(entry) {
    const problems = entry.problems.length;
    const fault = entry.status === null;
    const flags = el("span", { class: "flags" });
    if (problems) {
      flags.append(el("span", { class: "has-problems" }, `${problems} problem${problems === 1 ? "" : "s"}`));
    }
    if (entry.scenario) flags.append(" ", el("code", {}, entry.scenario));
    const link = el(
      "a",
      { href: `${UI}/requests/${Number(entry.id)}` },
      el("time", { class: "time", datetime: entry.time }, clock(entry.time)),
      el("span", { class: "method" }, entry.method),
      el("span", { class: "path" }, entry.path + (entry.query ? `?${entry.query}` : "")),
      el("span", { class: `code status-code ${fault ? "fault" : `s${Math.floor(entry.status / 100)}xx`}` },
        fault ? "fault" : String(entry.status)),
      flags,
      el("span", { class: "took" }, `${entry.latencyMs} ms`),
    );
    return el("li", { "data-id": String(entry.id) }, link);
  }

  function initRequests() {
    const form = byId("filters");
    const list = byId("entries");
    const empty = byId("no-entries");
    const status = byId("live-status");
    const pause = byId("pause");
    let after = 0;
    let generation = 0;
    let timer = null;
    let typing = null;

    const filters = () => {
      const params = new URLSearchParams();
      for (const [name, value] of new FormData(form)) if (value) params.set(name, value);
      return params;
    };
    const say = (text) => {
      if (status.textContent !== text) status.textContent = text;
    };

    async function poll(fresh) {
      clearTimeout(timer);
      const mine = generation;
      const params = filters();
      if (fresh) after = 0;
      if (after) params.set("after", after);
      else params.set("limit", MAX_ROWS);
      try {
        if (!document.hidden || fresh) {
          const data = await json(`${ADMIN}/requests?${params}`);
          if (mine !== generation) return; // the filters changed meanwhile
          const rows = data.requests.map(entryRow); // newest first
          if (fresh) list.replaceChildren(...rows);
          else list.prepend(...rows);
          if (!fresh) rows.forEach((row) => row.classList.add("new"));
          while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
          after = Math.max(after, data.meta.lastId);
          empty.hidden = list.children.length > 0;
          if (fresh) say(`${data.meta.total} request${data.meta.total === 1 ? "" : "s"} · live`);
          else if (rows.length) say(`${rows.length} new at ${clock(new Date().toISOString())} · live`);
        }
      } catch (error) {
        say(`Cannot read the journal (${error.message}); trying again.`);
      }
      if (mine === generation && pause.getAttribute("aria-pressed") !== "true") {
        timer = setTimeout(() => poll(false), POLL_MS);
      }
    }

    function refilter() {
      generation += 1;
      const query = filters().toString();
      history.replaceState(null, "", query ? `?${query}` : location.pathname);
      poll(true);
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      refilter();
    });
    form.addEventListener("change", refilter);
    form.elements.sessionId.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(refilter, 300);
    });
    pause.addEventListener("click", () => {
      const paused = pause.getAttribute("aria-pressed") !== "true";
      pause.setAttribute("aria-pressed", String(paused));
      pause.textContent = paused ? "Resume" : "Pause";
      if (paused) {
        clearTimeout(timer);
        say("Paused: new requests are not shown.");
      } else {
        poll(false);
      }
    });
    byId("clear-journal").addEventListener("click", async () => {
      if (!(await confirmAction("Clear the journal? Every recorded request is forgotten; sessions are kept."))) return;
      try {
        await json(`${ADMIN}/requests`, { method: "DELETE" });
        refilter();
      } catch (error) {
        say(`Not cleared: ${error.message}`);
      }
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && pause.getAttribute("aria-pressed") !== "true") poll(false);
    });
    poll(true);
  }

  // -- Sessions: resets behind a confirmation --------------------------------------------

  function initSessions() {
    document.querySelectorAll("[data-reset]").forEach((button) => {
      button.addEventListener("click", async () => {
        if (!(await confirmAction(button.dataset.confirm))) return;
        const application = button.dataset.reset;
        const query = application ? `?applicationId=${encodeURIComponent(application)}` : "";
        try {
          await json(`${ADMIN}/reset${query}`, { method: "POST" });
          location.reload();
        } catch (error) {
          button.parentElement.querySelector(".status").textContent = `Not reset: ${error.message}`;
        }
      });
    });
  }

  // -- Try it: build a request, send it, show it as curl and as an SDK call ---------------

  class FormError extends Error {}

  /** A number when the text is one; else the text itself, so the mock can say what is wrong. */
  function numberOrText(text) {
    const trimmed = text.trim();
    return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : text;
  }

  function buildRequest(form) {
    const f = form.elements;
    const sessionId = f.sessionId.value;
    if (!sessionId) throw new FormError("A session id is needed.");
    const method = f.method.value;
    const headers = {};
    if (f.apiKey.value) headers.Authorization = `ApiKey-v1 ${f.apiKey.value}`;
    const prefer = [];
    for (const name of ["code", "example", "seed", "delay", "fault"]) {
      if (f[name].value.trim()) prefer.push(`${name}=${f[name].value.trim()}`);
    }
    if (f.dynamic.checked) prefer.push("dynamic=true");
    if (prefer.length) headers.Prefer = prefer.join(", ");
    let body = null;
    let query = "";
    if (method === "PUT") {
      const session = {};
      if (f.profileId.value) session.profileId = f.profileId.value;
      if (f.state.value) session.state = f.state.value;
      if (f.sendCart.checked) {
        session.cartItems = [...byId("t-items").rows].map((row) => {
          const cell = (name) => row.querySelector(`[name="${name}"]`).value;
          return {
            name: cell("itemName"),
            sku: cell("itemSku"),
            quantity: numberOrText(cell("itemQuantity")),
            price: numberOrText(cell("itemPrice")),
          };
        });
      }
      if (f.shipping.value.trim()) {
        session.additionalCosts = { shipping: { price: numberOrText(f.shipping.value) } };
      }
      if (f.attributes.value.trim()) {
        try {
          session.attributes = JSON.parse(f.attributes.value);
        } catch (error) {
          throw new FormError(`Attributes are not JSON: ${error.message}`);
        }
      }
      const responseContent = [];
      if (f.respondSession.checked) responseContent.push("customerSession");
      if (f.respondProfile.checked) responseContent.push("customerProfile");
      const document = { customerSession: session };
      if (responseContent.length) document.responseContent = responseContent;
      body = JSON.stringify(document);
      headers["Content-Type"] = "application/json";
      if (f.dry.checked) query = "dry=true";
    }
    const path = `/v2/customer_sessions/${encodeURIComponent(sessionId)}`;
    return { method, path, query, headers, body, sessionId };
  }

  async function showCode(request) {
    const code = await json(`${UI}/snippets`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
    byId("t-curl").textContent = code.curl;
    byId("t-python").textContent = code.python;
    byId("t-snippets").hidden = false;
  }

  async function send(request) {
    const status = byId("t-status");
    const journalLink = byId("t-journal");
    const url = request.path + (request.query ? `?${request.query}` : "");
    const started = performance.now();
    journalLink.hidden = true;
    try {
      const response = await fetch(url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        cache: "no-store",
      });
      const text = await response.text();
      status.textContent = `${response.status} ${response.statusText}`;
      status.className = `status-code s${Math.floor(response.status / 100)}xx`;
      byId("t-headers").textContent = [...response.headers].map(([n, v]) => `${n}: ${v}`).join("\n");
      byId("t-answer-body").textContent = text ? prettyJson(text) : "(no body)";
    } catch (error) {
      status.textContent = "No answer";
      status.className = "status-code fault";
      byId("t-headers").textContent = "";
      byId("t-answer-body").textContent = `The connection broke (${error.message}). ${
        request.headers.Prefer?.includes("fault=") ? "That is the fault the scenario asked for." : ""}`;
    }
    byId("t-took").textContent = `in ${Math.round(performance.now() - started)} ms`;
    byId("t-answer").hidden = false;
    try {
      const data = await json(`${ADMIN}/requests?limit=1&sessionId=${encodeURIComponent(request.sessionId)}`);
      if (data.requests.length) {
        journalLink.href = `${UI}/requests/${Number(data.requests[0].id)}`;
        journalLink.hidden = false;
      }
    } catch {
      // The answer is shown; the journal link is a convenience.
    }
  }

  function initTry() {
    const form = byId("try");
    const items = byId("t-items");
    const template = byId("t-item");
    const error = byId("t-error");
    const examples = [...form.elements.example.options].filter((option) => option.value);
    const addItem = () => items.append(template.content.cloneNode(true));

    function syncOperation() {
      const method = form.elements.method.value;
      byId("t-body").disabled = method !== "PUT";
      for (const option of examples) option.hidden = option.dataset.method !== method;
      if (form.elements.example.selectedOptions[0]?.hidden) form.elements.example.value = "";
    }

    async function run(sending) {
      error.hidden = true;
      let request;
      try {
        request = buildRequest(form);
      } catch (problem) {
        if (!(problem instanceof FormError)) throw problem;
        error.textContent = problem.message;
        error.hidden = false;
        return;
      }
      const code = showCode(request).catch((problem) => {
        error.textContent = `No code: ${problem.message}`;
        error.hidden = false;
      });
      if (sending) await send(request);
      await code;
    }

    addItem();
    syncOperation();
    byId("t-add-item").addEventListener("click", addItem);
    items.addEventListener("click", (event) => {
      const button = event.target.closest("[data-remove-item]");
      if (button) button.closest("tr").remove();
    });
    form.elements.method.addEventListener("change", syncOperation);
    form.elements.example.addEventListener("change", () => {
      const chosen = form.elements.example.selectedOptions[0];
      if (chosen?.dataset.status) form.elements.code.value = chosen.dataset.status;
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(true);
    });
    byId("t-code-only").addEventListener("click", () => run(false));
  }

  // -- Contract: Swagger UI from the swagger-ui-bundle package -----------------------------

  function initContract() {
    const root = byId("swagger-ui");
    if (!window.SwaggerUIBundle) {
      root.textContent = "Swagger UI did not load; openapi.yaml is linked above.";
      return;
    }
    const ui = window.SwaggerUIBundle({
      url: root.dataset.specUrl,
      domNode: root,
      validatorUrl: null, // never ask validator.swagger.io
      deepLinking: true,
      onComplete: () => {
        if (root.dataset.apiKey) ui.preauthorizeApiKey("api_key_v1", root.dataset.apiKey);
      },
    });
  }

  const views = { requests: initRequests, sessions: initSessions, try: initTry, contract: initContract };
  initCopyButtons();
  views[document.body.dataset.view]?.();
})();
