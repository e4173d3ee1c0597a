// The review pages' script: keyboard shortcuts, and decisions sent to the JSON API
// (POST /api/topics/{id}/review) with the CSRF token the page carries. No framework, no build
// step; everything it shows is set as text, never as markup.
(function () {
  "use strict";

  const dataNode = document.getElementById("page-data");
  const page = dataNode ? JSON.parse(dataNode.textContent || "{}") : {};
  const message = document.getElementById("message");

  function say(text, isError) {
    message.textContent = text;
    message.className = isError ? "error" : "ok";
  }

  function go(url) {
    if (url) window.location.assign(url);
  }

  function typingIn(target) {
    return target instanceof Element && target.closest("input, textarea, select") !== null;
  }

  function withFilter(path, filter) {
    return filter && filter !== "all" ? `${path}?filter=${encodeURIComponent(filter)}` : path;
  }

  const filters = ["all", "unreviewed", "flagged"];

  // ------------------------------------------------------------------------- decisions
  // POST JSON to the app (with the CSRF token); the answer, or an Error saying why not.
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": page.csrf || "" },
      body: JSON.stringify(body),
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (_) {
      // not JSON: reported by status below
    }
    if (!response.ok) throw new Error(answer.error || `${response.status} ${response.statusText}`);
    return answer;
  }

  function review(body) {
    return post(`/api/topics/${page.topic}/review`, body);
  }

  function setBusy(busy) {
    document.querySelectorAll(".review-form button").forEach((b) => {
      if (busy) {
        b.dataset.wasDisabled = b.disabled ? "1" : "";
        b.disabled = true;
      } else {
        b.disabled = b.dataset.wasDisabled === "1";
      }
    });
    document.body.classList.toggle("busy", busy);
  }

  // Decisions that settle a topic move on to the next one; the others show the topic again.
  const STAY = new Set(["note", "merge", "split"]);

  async function decide(form, submitter) {
    if (!page.csrf) {
      say("Read-only: open the link with the token that `labeler review` printed.", true);
      return;
    }
    const action = (submitter && submitter.value) || form.dataset.action;
    const fields = form.elements;
    const body = { action: action };
    if (action === "edit") {
      body.label = fields.label.value;
      body.summary = fields.summary.value;
    }
    if (fields.note && fields.note.value.trim()) body.note = fields.note.value;
    if (form.dataset.mode) body.mode = form.dataset.mode;
    if (action === "merge") {
      body.other = parseInt(fields.other.value, 10);
      const name = fields.other.selectedOptions[0].textContent;
      if (!window.confirm(`Merge topic ${name} into topic ${page.topic}? (labeler topics RUN undo takes it back)`)) {
        return;
      }
    }
    if (action === "split" && !window.confirm(`Split topic ${page.topic} into its sub-groups?`)) {
      return;
    }
    const slow = action === "merge" || action === "split" || body.mode === "relabel";
    setBusy(true);
    say(slow ? "Working (this may ask the LLM)…" : "Saving…", false);
    try {
      await review(body);
    } catch (error) {
      setBusy(false);
      say(error.message, true);
      return;
    }
    if (STAY.has(action) || body.mode === "relabel") {
      window.location.replace(page.urls.self);
    } else {
      go(page.urls.next || page.urls.list);
    }
  }

  // Outlier reduction (the list page): a change of the whole run, then the list again.
  const outlierForm = document.getElementById("outliers");
  if (outlierForm) {
    outlierForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!page.csrf) {
        say("Read-only: open the link with the token that `labeler review` printed.", true);
        return;
      }
      const fields = outlierForm.elements;
      const body = { strategy: fields.strategy.value };
      if (fields.max_share.value !== "") body.max_share = parseFloat(fields.max_share.value);
      const button = document.getElementById("outliers-button");
      button.disabled = true;
      say("Working (this may ask the LLM)…", false);
      try {
        await post("/api/outliers", body);
        window.location.reload();
      } catch (error) {
        button.disabled = false;
        say(error.message, true);
      }
    });
  }

  document.querySelectorAll("form.review-form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      decide(form, event.submitter);
    });
  });

  // Names of the topic tree's groups (the /tree page): accept or edit, then show the page again.
  document.querySelectorAll("form.node-form").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const action = (event.submitter && event.submitter.value) || "accept";
      const body = { action: action };
      if (action === "edit") {
        body.label = form.elements.label.value;
        body.summary = form.elements.summary.value;
      }
      say("Saving…", false);
      try {
        await post(`/api/nodes/${form.dataset.node}/review`, body);
      } catch (error) {
        say(error.message, true);
        return;
      }
      window.location.replace(`/tree#node-${form.dataset.node}`);
    });
  });

  function press(id) {
    const button = document.getElementById(id);
    if (button && !button.disabled) button.form.requestSubmit(button);
  }

  function focus(id) {
    const field = document.getElementById(id);
    if (!field || field.disabled) return;
    field.focus();
    if (field.select) field.select();
    field.scrollIntoView({ block: "center" });
  }

  // ------------------------------------------------------------------------- keys
  const urls = page.urls || {};
  const topicKeys = {
    j: () => go(urls.next),
    ArrowRight: () => go(urls.next),
    k: () => go(urls.prev),
    ArrowLeft: () => go(urls.prev),
    a: () => press("accept"),
    r: () => press("reject"),
    x: () => press("not-a-topic"),
    e: () => focus("edit-label"),
    n: () => focus("note"),
    l: () => focus("relabel-note"),
    m: () => focus("merge-other"),
    s: () => press("split-button"),
    Escape: () => go(urls.list),
  };

  const rows = Array.from(document.querySelectorAll("#topics tbody tr"));
  let selected = -1;
  function select(index) {
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.classList.toggle("selected", i === selected));
    const link = rows[selected].querySelector("a.topic-link");
    link.focus();
  }
  const listKeys = {
    j: () => select(selected + 1),
    ArrowDown: () => select(selected + 1),
    k: () => select(selected - 1),
    ArrowUp: () => select(selected - 1),
    o: () => selected >= 0 && go(rows[selected].querySelector("a.topic-link").href),
  };

  const keys = page.topic === undefined ? listKeys : topicKeys;
  filters.forEach((f, i) => {
    keys[String(i + 1)] = () => go(withFilter("/", f));
  });

  document.addEventListener("keydown", (event) => {
    if (typingIn(event.target)) {
      const field = event.target;
      if (event.key === "Escape") {
        field.blur();
        event.preventDefault();
      } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && field.form) {
        event.preventDefault();
        const named = field.dataset.submit && document.getElementById(field.dataset.submit);
        const button = named || field.form.querySelector("button[type=submit]");
        if (button && !button.disabled) field.form.requestSubmit(button);
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const handler = keys[event.key];
    if (handler) {
      event.preventDefault();
      handler();
    }
  });

  if (page.topic === undefined && rows.length) {
    rows.forEach((row, i) => row.addEventListener("focusin", () => {
      selected = i;
      rows.forEach((r, j) => r.classList.toggle("selected", j === i));
    }));
  }
})();
