// News assistant: the chat without page reloads, and the cited passage brought into view.
// Everything here is an enhancement: without JavaScript the forms post to the server and
// the pages render the same markup. Text is only ever set with textContent, never as HTML.
"use strict";

(function () {
  const MAX_HISTORY = 10;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function articleHref(citation) {
    const query = new URLSearchParams({ start: String(citation.start), end: String(citation.end) });
    return "/articles/" + encodeURIComponent(citation.article_id) + "?" + query + "#cited";
  }

  function confidenceClass(data) {
    if (!data.answered) return "none";
    return data.confidence_label === "strong match" ? "strong" : "weak";
  }

  // The same structure as web/templates/_turn.html.
  function renderTurn(data) {
    const turn = el("article", "turn");
    turn.dataset.answered = String(data.answered);
    turn.dataset.question = data.question;
    turn.dataset.answer = data.answered ? data.answer : "";

    const question = el("p", "question");
    question.append(el("span", "visually-hidden", "You asked: "), data.question);
    turn.append(question);

    const reply = el("div", "reply");
    if (data.query !== data.question) reply.append(el("p", "query", "Searched for: " + data.query));
    const cited = new Map(data.citations.concat(data.also_cited || []).map((c) => [c.n, c]));
    const label = (c) => [c.source || c.title, c.published].filter(Boolean).join(", ");
    // A numbered link to citation n, marking [start, end) (default: its passage).
    function marker(n, start, end, className, title) {
      const c = cited.get(n);
      const link = el("a", className || "marker", "[" + n + "]");
      const span = start === undefined ? c : { article_id: c.article_id, start: start, end: end };
      link.href = articleHref(span);
      link.title = title || label(c);
      return link;
    }
    // Offsets count code points (Python's str), not UTF-16 units: an emoji is one.
    function marked(text, h, markClass) {
      const node = document.createDocumentFragment();
      if (!h) {
        node.append(text);
        return node;
      }
      const chars = Array.from(text);
      const part = (from, to) => chars.slice(from, to).join("");
      node.append(part(0, h.start), el("mark", markClass, part(h.start, h.end)), part(h.end));
      return node;
    }
    const summary = data.summary || [];
    if (data.answered && summary.length) {
      const list = el("ol", "summary");
      list.setAttribute("aria-label", "What the articles report, in time order");
      for (const s of summary) {
        const item = el("li");
        item.append(el("span", "summary-text", s.text), " ", marker(s.citation, s.start, s.end));
        for (const n of s.also_reported_by) {
          item.append(" ", marker(n, undefined, undefined, "marker also", "Also reported by " + label(cited.get(n))));
        }
        list.append(item);
      }
      reply.append(list);
    } else if (data.answered) {
      const text = el("blockquote", "answer-text");
      text.append(marked(data.answer, data.highlight, "short-answer"));
      reply.append(text);
    } else {
      const closest = data.citations.length ? " These passages come closest:" : "";
      reply.append(el("p", "no-answer", "The articles do not answer this question." + closest));
    }
    if (data.answered && data.as_of) {
      const source = data.citations.length ? data.citations[0].source : null;
      reply.append(el("p", "as-of", "As of " + [data.as_of, source].filter(Boolean).join(", ")));
    }
    const earlier = data.earlier_answers || [];
    if (earlier.length) {
      const box = el("div", "earlier");
      box.append(el("p", null, "Earlier reports said:"));
      const list = el("ul");
      for (const e of earlier) {
        const item = el("li");
        item.append(el("span", "when", label(cited.get(e.citation)) + ":"), " ");
        item.append(marked(e.answer, e.highlight, null), " ", marker(e.citation));
        list.append(item);
      }
      box.append(list);
      reply.append(box);
    }
    const corroborated = data.corroborated_by || [];
    if (corroborated.length) {
      const line = el("p", "also-reported", "Also reported by ");
      corroborated.forEach((n, i) => {
        const link = marker(n);
        link.textContent = label(cited.get(n)) + " [" + n + "]";
        line.append(link, i + 1 < corroborated.length ? ", " : "");
      });
      reply.append(line);
    }
    const confidenceLabel = data.confidence_label.charAt(0).toUpperCase() + data.confidence_label.slice(1);
    const percent = Math.round(data.confidence * 100);
    reply.append(el("p", "confidence " + confidenceClass(data), confidenceLabel + " · confidence " + percent + "%"));

    const chips = data.citations.concat(data.also_cited || []);
    if (chips.length) {
      const list = el("ol", "citations");
      list.setAttribute("aria-label", "Sources");
      for (const c of chips) {
        const item = el("li");
        const chip = el("a", "chip");
        chip.href = articleHref(c);
        chip.title = c.title;
        chip.append(
          el("span", "n", "[" + c.n + "]"), " ",
          el("span", "outlet", c.source || c.title), " ",
          el("span", "date", c.published || "date unknown"), " ",
          el("span", "opening", "“" + c.passage.split(/\s+/).filter(Boolean).slice(0, 8).join(" ") + "…”"),
        );
        item.append(chip);
        if (!data.answered) item.append(el("p", "passage", c.passage));
        list.append(item);
      }
      reply.append(list);
    }
    turn.append(reply);
    return turn;
  }

  function setupChat(form) {
    const box = form.querySelector("#question");
    const send = form.querySelector("#send");
    const error = form.querySelector("#ask-error");
    const pending = document.getElementById("pending");
    const conversation = document.getElementById("conversation");
    const examples = document.getElementById("examples");
    let busy = false;

    // Turns already on the page (rendered by the server) are the history to start from.
    const history = Array.from(conversation.querySelectorAll(".turn")).map((t) => ({
      question: t.dataset.question,
      answer: t.dataset.answer || null,
    }));

    function showError(message) {
      error.textContent = message;
      error.hidden = !message;
    }

    async function ask(question) {
      if (busy) return;
      if (!question.trim()) {
        showError("Please type a question.");
        box.focus();
        return;
      }
      busy = true;
      send.disabled = true;
      pending.hidden = false;
      showError("");
      try {
        const response = await fetch("/ask", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ question: question, top_k: 3, history: history.slice(-MAX_HISTORY) }),
        });
        const data = await response.json().catch(() => null);
        if (!response.ok || !data) {
          showError((data && data.message) || "The assistant could not answer (HTTP " + response.status + ").");
          return;
        }
        conversation.append(renderTurn(data));
        history.push({ question: data.question, answer: data.answered ? data.answer : null });
        examples.hidden = true;
        box.value = "";
        conversation.lastElementChild.scrollIntoView({ block: "nearest" });
      } catch (err) {
        showError("The assistant cannot be reached. Check the connection and try again.");
      } finally {
        busy = false;
        send.disabled = false;
        pending.hidden = true;
        box.focus();
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      ask(box.value);
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    for (const example of document.querySelectorAll("form.example")) {
      example.addEventListener("submit", (event) => {
        event.preventDefault();
        const button = example.querySelector("button");
        box.value = button.value;
        ask(button.value);
      });
    }
    document.getElementById("new-conversation").addEventListener("click", (event) => {
      event.preventDefault();
      history.length = 0;
      conversation.replaceChildren();
      for (const hidden of form.querySelectorAll('input[name="history"]')) hidden.remove();
      examples.hidden = false;
      showError("");
      box.value = "";
      box.focus();
    });
  }

  function showCited() {
    const cited = document.getElementById("cited");
    if (!cited) return;
    cited.scrollIntoView({ block: "center" });
    cited.focus({ preventScroll: true });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("ask-form");
    if (form) setupChat(form);
    showCited();
  });
})();
