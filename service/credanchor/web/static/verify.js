// Progressive enhancement of the /verify form: check a dropped, chosen or pasted badge with the
// public POST /api/v1/verify and show the report without a page load. Without this script the
// same form posts to /verify and the server renders the same markup (templates/_report.html);
// the wording comes from the server too (#verify-labels), so both paths say the same thing.
(function () {
  "use strict";

  var form = document.getElementById("verify-form");
  var labelsNode = document.getElementById("verify-labels");
  if (!form || !labelsNode || !window.fetch || !window.FileReader) {
    return; // the plain form keeps working
  }
  var L = JSON.parse(labelsNode.textContent);
  var api = form.getAttribute("data-api");
  var fileInput = document.getElementById("file");
  var textarea = document.getElementById("credential");
  var dropzone = document.getElementById("dropzone");
  var button = document.getElementById("verify-button");
  var result = document.getElementById("result");
  var baseTitle = document.title.replace(/^.* – /, "");
  var SVG = "http://www.w3.org/2000/svg";
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];

  // -- small DOM helpers (textContent only: a badge file is untrusted text) ----------------------

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function icon(name, cls) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", cls || "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var use = document.createElementNS(SVG, "use");
    use.setAttribute("href", "#" + name);
    svg.appendChild(use);
    return svg;
  }

  function text(v) {
    return typeof v === "string" && v.trim() ? v.trim() : null;
  }

  function first(v) {
    return Array.isArray(v) ? v[0] : v;
  }

  // Same rule as pages.safe_url: only absolute http(s) links leave a report.
  function safeUrl(v) {
    if (typeof v !== "string") return null;
    try {
      var u = new URL(v.trim());
      return (u.protocol === "http:" || u.protocol === "https:") && u.host ? v.trim() : null;
    } catch (e) {
      return null;
    }
  }

  // Same format as pages.format_time, always in UTC.
  function formatTime(v) {
    if (v === null || v === undefined || v === "" || v === 0) return null;
    var d = typeof v === "number" ? new Date(v * 1000) : new Date(v);
    if (isNaN(d.getTime())) return String(v);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() + ", " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
  }

  // -- what a credential says about itself (mirrors pages.py) ------------------------------------

  function achievementOf(doc) {
    var subject = first(doc.credentialSubject);
    var a = subject && typeof subject === "object" ? subject.achievement : null;
    return a && typeof a === "object" ? a : {};
  }

  function recipientName(doc) {
    var subject = first(doc.credentialSubject);
    if (!subject || typeof subject !== "object") return null;
    if (text(subject.name)) return text(subject.name);
    var ids = Array.isArray(subject.identifier) ? subject.identifier : [];
    for (var i = 0; i < ids.length; i++) {
      var id = ids[i];
      if (id && id.identityType === "name" && id.hashed === false) return text(id.identityHash);
    }
    return null;
  }

  // Mirrors credanchor.core.stacks.component_documents: the component files a qualification carries, in order.
  function stackedDocuments(doc) {
    var stack = doc.credanchorStack;
    var items = stack && typeof stack === "object" ? stack.components : null;
    return Array.isArray(items) ? items.map(function (c) {
      return c && typeof c === "object" ? c.credential : null;
    }) : [];
  }

  function isStackCheck(c) {
    return String(c.name).indexOf("stack-") === 0;
  }

  function present(report, doc) {
    doc = doc && typeof doc === "object" && !Array.isArray(doc) ? doc : {};
    var carried = stackedDocuments(doc);
    var status = String(report.status || "ERROR").toUpperCase();
    var st = L.statuses[status] || L.statuses.ERROR;
    var checks = (report.checks || []).map(function (c) {
      var outcome = String(c.outcome || "error").toLowerCase();
      var o = L.outcomes[outcome] || { word: outcome, icon: "i-error" };
      return { name: c.name, title: L.checks[c.name] || c.name, outcome: outcome,
        word: o.word, icon: o.icon, message: c.message || "" };
    });
    // Mirrors pages.present: REVOKED because of a component, not the qualification itself.
    if (status === "REVOKED" && L.stackRevoked &&
        !checks.some(function (c) { return c.name === "revocation" && c.outcome === "fail"; }) &&
        checks.some(function (c) { return isStackCheck(c) && c.outcome === "fail"; })) {
      st = L.stackRevoked;
    }
    // Mirrors pages.present: PENDING for want of any proof, so nothing is confirmed.
    if (status === "PENDING" && L.unconfirmed && (report.checks || []).some(function (c) {
      return c.name === "integrity" && c.data && c.data.reason === "no-proof";
    })) {
      st = L.unconfirmed;
    }
    var issuer = report.issuer || {};
    var anchor = report.anchor || {};
    var claimed = doc.issuer && typeof doc.issuer === "object" ? text(doc.issuer.name) : null;
    return {
      status: status,
      icon: st.icon,
      explanation: st.text,
      // the stack's own checks are shown after the components they are about
      checks: checks.filter(function (c) { return !isStackCheck(c); }),
      stackChecks: checks.filter(isStackCheck),
      failed: checks.filter(function (c) { return c.outcome === "fail"; }),
      badgeName: text(achievementOf(doc).name) || text(doc.name),
      recipient: recipientName(doc),
      unaltered: checks.some(function (c) { return c.name === "integrity" && c.outcome === "pass"; }),
      issuerName: issuer.name || null,
      claimedIssuer: claimed,
      anchoredAt: formatTime(anchor.anchoredAt),
      explorerUrl: safeUrl(anchor.explorerUrl),
      components: (report.components || []).map(function (c, i) {
        return present(c, c.credential || carried[i]);
      })
    };
  }

  // -- rendering: the same structure as templates/_report.html -----------------------------------

  function fact(dl, term, cls) {
    var row = el("div");
    row.appendChild(el("dt", null, term));
    var dd = el("dd", cls);
    row.appendChild(dd);
    dl.appendChild(row);
    return dd;
  }

  function renderCheck(c) {
    var li = el("li", "check outcome-" + c.outcome);
    li.setAttribute("data-check", c.name);
    li.appendChild(icon(c.icon));
    var body = el("div", "check-body");
    var head = el("p", "check-head");
    head.appendChild(el("span", "check-title", c.title));
    head.appendChild(document.createTextNode(" "));
    head.appendChild(el("span", "check-word", c.word));
    body.appendChild(head);
    if (c.message) body.appendChild(el("p", "check-message", c.message));
    li.appendChild(body);
    return li;
  }

  function renderReport(v, level) {
    var h = Math.min(level, 6);
    var sub = Math.min(level + 1, 6);
    var article = el("article", "report status-" + v.status.toLowerCase());
    article.setAttribute("data-status", v.status);

    var verdict = el("div", "verdict");
    verdict.appendChild(icon(v.icon, "icon verdict-icon"));
    var vbox = el("div");
    var heading = el("h" + h, "verdict-word");
    if (level === 2) {
      heading.id = "result-heading";
      heading.tabIndex = -1;
    }
    heading.appendChild(el("span", "visually-hidden", "Result: "));
    heading.appendChild(document.createTextNode(v.status));
    vbox.appendChild(heading);
    vbox.appendChild(el("p", "verdict-text", v.explanation));
    var failed = v.failed;
    if (failed.length) {
      var summary = el("p", "verdict-failed", "Failed: ");
      failed.forEach(function (c, i) {
        if (i) summary.appendChild(document.createTextNode(", "));
        summary.appendChild(el("strong", null, c.title));
      });
      vbox.appendChild(summary);
    }
    verdict.appendChild(vbox);
    article.appendChild(verdict);

    var dl = el("dl", "facts");
    if (v.badgeName) fact(dl, "Badge", "fact-badge").textContent = v.badgeName;
    if (v.recipient) fact(dl, "Awarded to", "fact-recipient").textContent = v.recipient;
    var dd = fact(dl, "Issued by", "fact-issuer");
    if (v.issuerName) {
      dd.appendChild(el("strong", null, v.issuerName));
      dd.appendChild(el("span", "note", "This is the name the blockchain registry holds for the " +
        "issuer, not the name written in the file."));
      if (v.claimedIssuer && v.claimedIssuer !== v.issuerName) {
        dd.appendChild(el("span", "note caution", "The file itself calls the issuer “" +
          v.claimedIssuer + "”."));
      }
    } else {
      dd.appendChild(el("strong", null, "Not confirmed"));
      if (v.claimedIssuer) {
        dd.appendChild(el("span", "note", "The file claims “" + v.claimedIssuer +
          "”, but the registry did not confirm it."));
      }
    }
    if (v.anchoredAt) {
      var when = fact(dl, "Recorded", "fact-anchored");
      when.appendChild(document.createTextNode(v.anchoredAt));
      if (v.explorerUrl) {
        var a = el("a", "tx-link", "View the transaction in a block explorer");
        a.href = v.explorerUrl;
        a.rel = "noopener noreferrer";
        when.appendChild(a);
      }
    }
    article.appendChild(dl);
    if (!v.unaltered && (v.badgeName || v.recipient)) {
      article.appendChild(el("p", "note caution", "The badge and holder names above are copied " +
        "from the file; because the file could not be confirmed, they may be false."));
    }

    var ul = el("ul", "checks");
    v.checks.forEach(function (c) { ul.appendChild(renderCheck(c)); });
    if (level > 2) {
      // a component's own checks fold away, unless something is wrong with it
      var details = el("details", "checks-details");
      if (v.status !== "VALID") details.open = true;
      var passed = v.checks.filter(function (c) { return c.outcome === "pass"; }).length;
      details.appendChild(el("summary", "checks-summary",
        "Checks: " + passed + " of " + v.checks.length + " passed"));
      details.appendChild(ul);
      article.appendChild(details);
    } else {
      article.appendChild(el("h" + sub, "checks-heading", "Checks"));
      article.appendChild(ul);
    }

    if (v.components.length) {
      var section = el("section", "components");
      section.appendChild(el("h" + sub, null, "Badges this one is built from"));
      var list = el("ul", "component-list");
      v.components.forEach(function (c) {
        var item = el("li");
        item.appendChild(renderReport(c, level + 2));
        list.appendChild(item);
      });
      section.appendChild(list);
      article.appendChild(section);
    }

    if (v.stackChecks.length) {
      var stackSection = el("section", "stack-checks");
      stackSection.appendChild(el("h" + sub, "stack-heading", "How the badges add up"));
      var stackList = el("ul", "checks");
      v.stackChecks.forEach(function (c) { stackList.appendChild(renderCheck(c)); });
      stackSection.appendChild(stackList);
      article.appendChild(stackSection);
    }
    return article;
  }

  function showError(message) {
    result.textContent = "";
    var box = el("div", "alert");
    box.setAttribute("role", "alert");
    box.id = "verify-error";
    box.appendChild(icon("i-error"));
    var p = el("p");
    p.appendChild(el("strong", null, "We could not check this."));
    p.appendChild(document.createTextNode(" "));
    p.appendChild(el("span", "alert-detail", message));
    box.appendChild(p);
    result.appendChild(box);
    document.title = baseTitle;
  }

  function showReport(report, doc) {
    var view = present(report, doc);
    result.textContent = "";
    result.appendChild(renderReport(view, 2));
    document.title = view.status + " – " + baseTitle;
    var formHeading = document.getElementById("form-heading");
    if (formHeading) formHeading.textContent = "Check another badge";
    var heading = document.getElementById("result-heading");
    if (heading) heading.focus();
  }

  // -- talking to the API ------------------------------------------------------------------------

  function busy(on) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    button.textContent = on ? "Checking…" : "Verify";
  }

  function verify(json) {
    if (!json.trim()) {
      showError("Choose a badge file or paste its contents, then press Verify.");
      return;
    }
    busy(true);
    // The text is sent exactly as given, never re-serialised: a parse/stringify round trip
    // would silently drop duplicate keys and reformat numbers, hiding the very tampering the
    // server's strict parser is there to catch.
    fetch(api, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: json
    }).then(function (resp) {
      return resp.json().catch(function () { return null; }).then(function (body) {
        if (resp.ok && body && body.status) {
          var doc = null;
          try { doc = JSON.parse(json); } catch (e) { doc = null; }
          showReport(body, doc);
        } else if (body && body.detail) {
          showError("This is not a badge file we can read: " + body.detail);
        } else {
          showError("The verification service answered with an error (" + resp.status +
            "). Please try again later.");
        }
      });
    }).catch(function () {
      showError("We could not reach the verification service. Check your connection and try again.");
    }).then(function () {
      busy(false);
    });
  }

  function readFile(file) {
    if (!file) return;
    var reader = new FileReader();
    reader.onload = function () {
      textarea.value = String(reader.result);
      verify(textarea.value);
    };
    reader.onerror = function () {
      showError("That file could not be read. Choose the badge's .json file.");
    };
    reader.readAsText(file, "utf-8");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!textarea.value.trim() && fileInput.files && fileInput.files.length) {
      readFile(fileInput.files[0]);
    } else {
      verify(textarea.value);
    }
  });

  fileInput.addEventListener("change", function () {
    if (fileInput.files && fileInput.files.length) readFile(fileInput.files[0]);
  });

  ["dragenter", "dragover"].forEach(function (type) {
    dropzone.addEventListener(type, function (event) {
      event.preventDefault();
      dropzone.classList.add("is-dragover");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    dropzone.addEventListener(type, function () {
      dropzone.classList.remove("is-dragover");
    });
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    try {
      fileInput.files = files; // keeps the form consistent if it is submitted later
    } catch (e) { /* older browsers: the textarea holds the content anyway */ }
    readFile(files[0]);
  });
})();
