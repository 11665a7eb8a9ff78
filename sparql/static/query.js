/* The query page: YASGUI when it was bundled, else a textarea and a small results table.
 * Results are put into the page with textContent only: values from the store are never markup. */
(function () {
  "use strict";

  var endpoint = new URL("/sparql", window.location.href).href;
  var form = document.querySelector("form[action=\"/sparql\"]");
  var textarea = document.getElementById("query");
  var results = document.getElementById("results");
  var yasgui = startYasgui();

  function startYasgui() {
    var mount = document.getElementById("yasgui");
    if (!mount || typeof window.Yasgui !== "function") {
      return null;
    }
    try {
      var instance = new window.Yasgui(mount, {
        requestConfig: { endpoint: endpoint, method: "POST" },
        copyEndpointOnNewTab: false,
        persistenceId: null,
        endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } }
      });
      mount.hidden = false;
      form.hidden = true;
      instance.getTab().setQuery(textarea.value);
      return instance;
    } catch (error) {
      if (window.console) { window.console.warn("YASGUI failed; using the plain editor", error); }
      return null;
    }
  }

  function run(query) {
    if (yasgui) {
      var tab = yasgui.getTab();
      tab.setQuery(query);
      tab.query();
      return;
    }
    textarea.value = query;
    show(message("Running…"));
    fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/sparql-results+json, text/turtle;q=0.9"
      },
      body: new URLSearchParams({ query: query })
    }).then(function (response) {
      return response.text().then(function (text) { render(response, text); });
    }).catch(function (error) { show(message(String(error), true)); });
  }

  function render(response, text) {
    var type = response.headers.get("Content-Type") || "";
    if (!response.ok) { show(message(response.status + " " + text, true)); return; }
    if (type.indexOf("json") < 0) { show(preformatted(text)); return; }
    var data = JSON.parse(text);
    if (typeof data.boolean === "boolean") { show(message("Answer: " + data.boolean)); return; }
    show(table(data.head.vars, data.results.bindings));
  }

  function table(vars, bindings) {
    var element = document.createElement("table");
    var head = element.createTHead().insertRow();
    vars.forEach(function (name) {
      var cell = document.createElement("th");
      cell.textContent = name;
      head.appendChild(cell);
    });
    var body = element.createTBody();
    bindings.forEach(function (binding) {
      var row = body.insertRow();
      vars.forEach(function (name) { row.insertCell().appendChild(term(binding[name])); });
    });
    var wrapper = document.createElement("div");
    wrapper.appendChild(message(bindings.length + " row(s)"));
    wrapper.appendChild(element);
    return wrapper;
  }

  function term(value) {
    if (!value) { return document.createTextNode(""); }
    if (value.type === "uri" && /^https?:/i.test(value.value)) {
      var link = document.createElement("a");
      link.href = value.value;
      link.textContent = value.value;
      return link;
    }
    var suffix = value["xml:lang"] ? "@" + value["xml:lang"] : "";
    return document.createTextNode(value.value + suffix);
  }

  function message(text, error) {
    var element = document.createElement("p");
    element.textContent = text;
    if (error) { element.className = "error"; }
    return element;
  }

  function preformatted(text) {
    var element = document.createElement("pre");
    element.textContent = text;
    return element;
  }

  function show(element) {
    while (results.firstChild) { results.removeChild(results.firstChild); }
    results.appendChild(element);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run(textarea.value);
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.example"), function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-query"));
      if (source) { run(source.textContent); }
    });
  });
}());
