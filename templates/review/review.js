// The review pages' script: keyboard shortcuts, and decisions sent to the JSON API
// (POST /api/topics/{id}/review) with the CSRF token the page carries. No framework, no build
// step; everything it shows is set as text, never as markup.
//
// After every decision and every change of the topics a notice says what was done, with Undo
// (POST /api/undo); it is kept in sessionStorage so it shows on the page the decision moved on
// to. Changes of the topics (merge, split and their previews, outliers) and relabels run on
// the server as jobs: the page polls GET /api/jobs/{id} and shows the step, how many of how
// many, the seconds since the click, and a Cancel button.
(function () {
  "use strict";

  const dataNode = document.getElementById("page-data");
  const page = dataNode ? JSON.parse(dataNode.textContent || "{}") : {};
  const message = document.getElementById("message");
  const NOTICE_KEY = "labeler-review-notice";
  const POLL_MS = 400;

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

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  const filters = ["all", "unreviewed", "flagged"];
  const READ_ONLY = "Read-only: open the link with the token that `labeler review` printed.";

  // ------------------------------------------------------------------------- the API
  async function send(method, url, body) {
    const options = {
      method: method,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": page.csrf || "" },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    let answer = {};
    try {
      answer = await response.json();
    } catch (_) {
      // not JSON: reported by status below
    }
    if (!response.ok) throw new Error(answer.error || `${response.status} ${response.statusText}`);
    return answer;
  }

  function post(url, body) {
    return send("POST", url, body === undefined ? {} : body);
  }

  // ------------------------------------------------------------------------- the notice
  const noticeBox = document.getElementById("notice");
  const noticeText = document.getElementById("notice-text");
  const undoButton = document.getElementById("notice-undo");
  let notice = null;

  function remember(text, undo, where) {
    const item = { text: text, undo: undo || null, where: where || null };
    try {
      window.sessionStorage.setItem(NOTICE_KEY, JSON.stringify(item));
    } catch (_) {
      // no storage: the notice is shown on this page only
    }
    return item;
  }

  function showNotice(item) {
    notice = item;
    if (!noticeBox) return;
    noticeBox.hidden = !item;
    if (!item) return;
    noticeText.textContent = item.text;
    undoButton.hidden = !(item.undo && page.csrf);
  }

  function forget() {
    try {
      window.sessionStorage.removeItem(NOTICE_KEY);
    } catch (_) {
      // nothing kept
    }
    showNotice(null);
  }

  function stored() {
    try {
      return JSON.parse(window.sessionStorage.getItem(NOTICE_KEY) || "null");
    } catch (_) {
      return null;
    }
  }

  async function undo() {
    if (!notice || !notice.undo || !page.csrf) return;
    undoButton.disabled = true;
    say("Undoing…", false);
    try {
      const answer = await post("/api/undo", notice.undo);
      const done = answer.undone || {};
      let text = `Undone: the ${done.action} of topic ${done.topic} (label “${done.label}”).`;
      if (done.revision !== undefined) text = `Undone: ${done.summary}.`;
      if (done.node !== undefined) text = `Undone: group ${done.node} is named “${done.label}” again.`;
      remember(text, null);
      if (done.topic !== undefined) {
        window.location.assign(withFilter(`/topics/${done.topic}`, null));
      } else if (page.topic !== undefined) {
        window.location.assign(`/topics/${page.topic}`);
      } else {
        window.location.reload();
      }
    } catch (error) {
      undoButton.disabled = false;
      say(error.message, true);
    }
  }

  if (noticeBox) {
    undoButton.addEventListener("click", undo);
    document.getElementById("notice-close").addEventListener("click", forget);
    showNotice(stored());
  }

  // ------------------------------------------------------------------------- jobs
  const jobBox = document.getElementById("job");
  let polling = null;

  function setBusy(busy) {
    document.querySelectorAll(".review-form button, .surgery-form button, .preview button")
      .forEach((b) => {
        if (busy) {
          if (b.dataset.wasDisabled === undefined) b.dataset.wasDisabled = b.disabled ? "1" : "";
          b.disabled = true;
        } else if (b.dataset.wasDisabled !== undefined) {
          b.disabled = b.dataset.wasDisabled === "1";
          delete b.dataset.wasDisabled;
        }
      });
    document.body.classList.toggle("busy", busy);
  }

  function showJob(job) {
    jobBox.hidden = false;
    document.getElementById("job-title").textContent = job.title;
    let step = `Step ${job.step} of ${job.steps}: ${job.step_name}`;
    if (job.total) step += ` · ${job.done || 0} of ${job.total}`;
    if (job.detail) step += ` (${job.detail})`;
    if (job.cancel_asked && job.state === "running") step += " · cancelling…";
    document.getElementById("job-step").textContent = step;
    const bar = document.getElementById("job-bar");
    bar.max = job.steps;
    bar.value = job.step - 1 + (job.total ? (job.done || 0) / job.total : 0);
    document.getElementById("job-time").textContent = `${Math.round(job.elapsed)} s`;
    document.getElementById("job-cancel").disabled = job.cancel_asked || job.state !== "running";
    jobBox.dataset.state = job.state;
    jobBox.dataset.job = String(job.id);
  }

  // Follow a job until it ends; resolves with the finished job.
  function follow(job) {
    setBusy(true);
    showJob(job);
    say("", false);
    const started = Date.now() - job.elapsed * 1000;
    return new Promise((resolve) => {
      const tick = async () => {
        try {
          const answer = await send("GET", `/api/jobs/${job.id}`);
          job = answer.job;
        } catch (error) {
          say(`Could not ask how the job is going: ${error.message}`, true);
        }
        if (job.state === "running") {
          job.elapsed = Math.max(job.elapsed, (Date.now() - started) / 1000);
          showJob(job);
          polling = window.setTimeout(tick, POLL_MS);
          return;
        }
        showJob(job);
        jobBox.hidden = true;
        setBusy(false);
        resolve(job);
      };
      polling = window.setTimeout(tick, POLL_MS);
    });
  }

  if (jobBox) {
    document.getElementById("job-cancel").addEventListener("click", async () => {
      const id = jobBox.dataset.job;
      if (!id) return;
      document.getElementById("job-cancel").disabled = true;
      try {
        showJob((await post(`/api/jobs/${id}/cancel`)).job);
      } catch (error) {
        say(error.message, true);
      }
    });
  }

  // A job's end: a notice with Undo for a change, the reason for a failure or a cancel.
  function ended(job, then) {
    if (job.state === "done") {
      const result = job.result || {};
      const extra = (result.carried || []).map((c) => ` Note: ${c}.`).join("");
      const warn = (job.warnings || []).map((w) => ` ${w}.`).join("");
      remember(`${result.message || "Done."}${extra}${warn}`, result.undo || null);
      then();
    } else if (job.state === "cancelled") {
      say((job.result && job.result.message) || "Cancelled: nothing was changed.", false);
    } else {
      say(job.error || "The change failed; nothing was changed.", true);
    }
  }

  // ------------------------------------------------------------------------- decisions
  const DONE_WORDS = {
    accept: "Accepted", edit: "Saved the edit of", reject: "Rejected the label of",
    note: "Added a note to", not_a_topic: "Marked as not a topic:",
  };

  // Decisions that settle a topic move on to the next one; the others show the topic again.
  const STAY = new Set(["note"]);

  async function decide(form, submitter) {
    if (!page.csrf) {
      say(READ_ONLY, true);
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
      previewMerge(parseInt(fields.other.value, 10), body.note);
      return;
    }
    if (action === "split") {
      previewSplit(body.note);
      return;
    }
    if (body.mode === "relabel") {
      // The LLM may take a while: a job, followed like a change (step, count, Cancel).
      startChange(body);
      return;
    }
    setBusy(true);
    say("Saving…", false);
    let answer;
    try {
      answer = await post(`/api/topics/${page.topic}/review`, body);
    } catch (error) {
      setBusy(false);
      say(error.message, true);
      return;
    }
    const label = answer.topic ? answer.topic.label : "";
    const words = DONE_WORDS[action] || "Saved";
    remember(`${words} topic ${page.topic} “${label}”.`, answer.undo);
    if (STAY.has(action)) {
      window.location.replace(page.urls.self);
    } else {
      go(page.urls.next || page.urls.list);
    }
  }

  // ------------------------------------------------------------------------- previews
  const previewBox = document.getElementById("preview");

  function closePreview() {
    previewBox.hidden = true;
    previewBox.replaceChildren();
  }

  function docList(items) {
    const list = el("ul", null, "preview-docs");
    (items || []).forEach((d) => list.appendChild(el("li", d.text, "doc")));
    return list;
  }

  function previewButtons(label, onGo) {
    const row = el("div", null, "buttons");
    const yes = el("button", label);
    yes.type = "button";
    yes.id = "preview-go";
    yes.addEventListener("click", onGo);
    const no = el("button", "Cancel");
    no.type = "button";
    no.id = "preview-cancel";
    no.addEventListener("click", closePreview);
    row.append(yes, no);
    return row;
  }

  async function startChange(body) {
    say("Starting…", false);
    let answer;
    try {
      answer = await post(`/api/topics/${page.topic}/review?async=1`, body);
    } catch (error) {
      say(error.message, true);
      return;
    }
    closePreview();
    const job = await follow(answer.job);
    ended(job, () => window.location.replace(page.urls.self));
  }

  async function previewMerge(other, note) {
    say("Working out the merge…", false);
    let p;
    try {
      p = await send("GET", `/api/topics/${page.topic}/merge-preview?other=${other}`);
    } catch (error) {
      say(error.message, true);
      return;
    }
    say("", false);
    previewBox.replaceChildren();
    previewBox.appendChild(el("h2", `Merge topic ${other} into topic ${page.topic}?`));
    const grid = el("div", null, "preview-parts");
    [p.topic, p.other].forEach((t) => {
      const card = el("div", null, "part");
      card.appendChild(el("h3", `Topic ${t.id} · ${t.label}`));
      card.appendChild(el("p", `${t.size} documents · ${t.keywords.join(", ")}`, "keywords"));
      card.appendChild(docList(t.documents));
      grid.appendChild(card);
    });
    previewBox.appendChild(grid);
    previewBox.appendChild(el("p",
      `Together: topic ${p.merged.id}, ${p.merged.size} documents · ${p.merged.keywords.join(", ")}`,
      "merged"));
    previewBox.appendChild(previewButtons(`Merge (${p.merged.size} documents)`, () => {
      const body = { action: "merge", other: other };
      if (note) body.note = note;
      startChange(body);
    }));
    previewBox.hidden = false;
    previewBox.scrollIntoView({ block: "nearest" });
  }

  function renderSplit(p, note) {
    previewBox.replaceChildren();
    previewBox.appendChild(el("h2", `Split topic ${p.topic} (${p.size} documents)?`));
    const choose = el("label", "Parts ");
    const select = el("select");
    select.id = "split-parts";
    p.options.forEach((o) => {
      const option = el("option",
        `${o.parts_count} parts · silhouette ${o.silhouette.toFixed(2)}${o.parts_count === p.best ? " (best)" : ""}`);
      option.value = String(o.parts_count);
      if (o.parts_count === p.best) option.selected = true;
      select.appendChild(option);
    });
    choose.appendChild(select);
    previewBox.appendChild(choose);
    const warning = el("p", "", "warning");
    warning.id = "split-warning";
    const parts = el("div", null, "preview-parts");
    parts.id = "split-preview-parts";
    previewBox.append(warning, parts);
    const go = previewButtons("Split", () => {
      const body = { action: "split", parts: parseInt(select.value, 10) };
      if (note) body.note = note;
      startChange(body);
    });
    previewBox.appendChild(go);
    const draw = () => {
      const o = p.options.find((x) => String(x.parts_count) === select.value);
      parts.replaceChildren();
      o.parts.forEach((part, i) => {
        const card = el("div", null, "part");
        card.appendChild(el("h3", `${i === 0 ? `Topic ${p.topic}` : "New topic"} · ${part.size} documents`));
        card.appendChild(el("p", part.keywords.join(", "), "keywords"));
        card.appendChild(docList(part.documents));
        parts.appendChild(card);
      });
      warning.textContent = o.one_theme
        ? `Silhouette ${o.silhouette.toFixed(2)} is below this run's one-theme threshold ` +
          `(${p.threshold.toFixed(2)}): these parts may be one theme; a split may not help.`
        : "";
      warning.hidden = !o.one_theme;
      go.querySelector("#preview-go").textContent = `Split into ${o.parts_count} parts`;
    };
    select.addEventListener("change", draw);
    draw();
    previewBox.hidden = false;
    previewBox.scrollIntoView({ block: "nearest" });
  }

  async function previewSplit(note) {
    say("Starting…", false);
    let answer;
    try {
      answer = await post(`/api/topics/${page.topic}/split-preview`);
    } catch (error) {
      say(error.message, true);
      return;
    }
    const job = await follow(answer.job);
    if (job.state === "done") {
      say("", false);
      renderSplit(job.result, note);
    } else {
      ended(job, () => {});
    }
  }

  // Outlier reduction (the list page): a change of the whole run, then the list again.
  const outlierForm = document.getElementById("outliers");
  if (outlierForm) {
    outlierForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!page.csrf) {
        say(READ_ONLY, true);
        return;
      }
      const fields = outlierForm.elements;
      const body = { strategy: fields.strategy.value };
      if (fields.max_share.value !== "") {
        const percent = parseFloat(fields.max_share.value);
        if (!(percent >= 0 && percent < 100)) {
          say("Give the outliers left as a percent of the documents, e.g. 5.", true);
          return;
        }
        body.max_share = Math.round(percent * 10) / 1000;
      }
      say("Starting…", false);
      let answer;
      try {
        answer = await post("/api/outliers?async=1", body);
      } catch (error) {
        say(error.message, true);
        return;
      }
      const job = await follow(answer.job);
      ended(job, () => window.location.reload());
    });
  }

  document.querySelectorAll("form.review-form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      decide(form, event.submitter);
    });
  });

  // Names of the topic tree's groups (the /tree page): accept or edit, then the page again,
  // reloaded (a jump to the same page's #node only scrolls; the data must be fetched again).
  document.querySelectorAll("form.node-form").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!page.csrf) {
        say(READ_ONLY, true);
        return;
      }
      const action = (event.submitter && event.submitter.value) || "accept";
      const body = { action: action };
      if (action === "edit") {
        body.label = form.elements.label.value;
        body.summary = form.elements.summary.value;
      }
      say("Saving…", false);
      let answer;
      try {
        answer = await post(`/api/nodes/${form.dataset.node}/review`, body);
      } catch (error) {
        say(error.message, true);
        return;
      }
      const words = action === "edit" ? "Saved the name" : "Accepted the name";
      remember(`${words} of group ${form.dataset.node}: “${answer.node.label}”.`, answer.node.undo);
      if (window.location.hash !== `#node-${form.dataset.node}`) {
        window.history.replaceState(null, "", `/tree#node-${form.dataset.node}`);
      }
      window.location.reload();
    });
  });

  // A job started elsewhere (another tab, a page left while it ran): shown until it ends.
  if (jobBox && page.csrf !== undefined) {
    send("GET", "/api/jobs").then(async (answer) => {
      if (!answer.job) return;
      const job = await follow(answer.job);
      if (job.state === "done") window.location.reload();
    }).catch(() => {});
  }

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
  keys.u = () => undo();
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
    if (document.body.classList.contains("busy") && event.key !== "Escape") return;
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
