// A scenario's script as the agent reads it (PRODUCT D1): the calling screen
// shows it during a call, the scenario editor previews it while it is typed.

import { useMemo } from "preact/hooks";

/** What the API keeps of a script (core/domain/src/script.rs): the same
 * tags, `id` on any of them, `href`/`name` on links. */
const TAGS = new Set([
  "P", "BR", "B", "STRONG", "I", "EM", "U", "UL", "OL", "LI",
  "H1", "H2", "H3", "H4", "A", "SPAN", "DIV", "BLOCKQUOTE",
]);
const SCHEMES = /^(https?:|mailto:|tel:)/i;

function clean(from: Node, into: Node, doc: Document) {
  for (const n of Array.from(from.childNodes)) {
    if (n.nodeType === Node.TEXT_NODE) {
      into.appendChild(doc.createTextNode(n.textContent ?? ""));
      continue;
    }
    if (n.nodeType !== Node.ELEMENT_NODE) continue;
    const el = n as Element;
    // Dropped with their content, as the API does.
    if (["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT", "TITLE", "NOSCRIPT"].includes(el.tagName)) continue;
    if (!TAGS.has(el.tagName)) {
      clean(el, into, doc);
      continue;
    }
    const out = doc.createElement(el.tagName.toLowerCase());
    const id = el.getAttribute("id");
    if (id) out.setAttribute("id", id);
    if (el.tagName === "A") {
      const href = el.getAttribute("href")?.trim();
      if (href && (href.startsWith("#") || SCHEMES.test(href))) out.setAttribute("href", href);
      const name = el.getAttribute("name");
      if (name) out.setAttribute("name", name);
    }
    clean(el, out, doc);
    into.appendChild(out);
  }
}

/** The script with only what the API would keep: the editor's preview shows
 * what agents will see, and nothing typed runs in the administrator's page. */
export function sanitizeScript(html: string): string {
  // A parsed document is inert: nothing in it loads or runs.
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  const out = doc.createElement("div");
  clean(doc.body, out, doc);
  return out.innerHTML;
}

/** The anchor targets of a script: `id`s and `<a name>`s, in order. */
export function scriptAnchors(html: string): string[] {
  const doc = new DOMParser().parseFromString(`<body>${sanitizeScript(html)}</body>`, "text/html");
  const ids = Array.from(doc.querySelectorAll("[id], a[name]")).map(
    (el) => el.getAttribute("id") || el.getAttribute("name") || "",
  );
  return [...new Set(ids.filter(Boolean))];
}

/** Follows a link of the script: an in-script anchor scrolls the script to
 * its target; any other link opens in a new tab, so a call in progress is
 * not lost by leaving the app. */
function follow(e: MouseEvent) {
  const a = (e.target as Element).closest("a[href]");
  const box = e.currentTarget as HTMLElement;
  if (!a || !box.contains(a)) return;
  e.preventDefault();
  const href = a.getAttribute("href") ?? "";
  if (href.startsWith("#")) {
    const name = decodeURIComponent(href.slice(1));
    const target = Array.from(box.querySelectorAll("[id], a[name]")).find(
      (el) => el.getAttribute("id") === name || el.getAttribute("name") === name,
    );
    target?.scrollIntoView({ block: "start", behavior: "smooth" });
  } else {
    window.open(href, "_blank", "noopener,noreferrer");
  }
}

export function Script({ html, class: cls = "script" }: { html: string; class?: string }) {
  // Parsed again only when the script changes, not on every keystroke elsewhere on the screen.
  const clean = useMemo(() => sanitizeScript(html), [html]);
  return <article class={cls} onClick={follow} dangerouslySetInnerHTML={{ __html: clean }} />;
}
