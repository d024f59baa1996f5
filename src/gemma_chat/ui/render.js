// Markdown → sanitised HTML. Model output is untrusted: everything leaves through DOMPurify.
import { Marked } from './vendor/marked.esm.js';
import DOMPurify from './vendor/purify.es.mjs';
import hljs from './vendor/highlight.min.js';
import { icons } from './icons.js';

const escapeHtml = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );

// Highlighting is the costly part of re-rendering a streaming reply every frame;
// finished code blocks don't change, so remember their output.
const highlightCache = new Map();
function highlight(code, lang) {
  if (!lang || !hljs.getLanguage(lang)) return escapeHtml(code);
  const key = `${lang}\u0000${code}`;
  let html = highlightCache.get(key);
  if (html === undefined) {
    html = hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
    if (highlightCache.size > 300) highlightCache.delete(highlightCache.keys().next().value);
    highlightCache.set(key, html);
  }
  return html;
}

// A code block still streaming in changes every frame: highlight its finished lines (again
// only when another line is done) and show the line being written as plain text.
let rendering = { streaming: false };
let openBlock = { key: '', html: '' };
const CLOSING_FENCE = /\n {0,3}(`{3,}|~{3,})[ \t]*\n*$/;
function highlightOpen(code, lang) {
  const cut = code.lastIndexOf('\n') + 1;
  const lines = code.slice(0, cut);
  if (!lang || !hljs.getLanguage(lang) || lines.length > 50_000) return escapeHtml(code);
  const key = `${lang}\u0000${lines}`;
  if (openBlock.key !== key) {
    const html = lines ? hljs.highlight(lines, { language: lang, ignoreIllegals: true }).value : '';
    openBlock = { key, html };
  }
  return openBlock.html + escapeHtml(code.slice(cut));
}

const renderer = {
  code({ text, lang, raw, codeBlockStyle }) {
    const language = (lang || '').trim().split(/\s+/)[0].toLowerCase();
    const open = rendering.streaming && codeBlockStyle !== 'indented' && !CLOSING_FENCE.test(raw);
    const label = language || 'text';
    return (
      `<div class="code-block"><div class="code-head"><span class="code-lang">${escapeHtml(label)}</span>` +
      `<button type="button" class="copy-code" data-testid="copy-code" aria-label="Copy code">` +
      `${icons.copy}<span>Copy</span></button></div>` +
      `<pre><code class="hljs${language ? ` language-${escapeHtml(language)}` : ''}">` +
      `${(open ? highlightOpen : highlight)(text.replace(/\n$/, ''), language)}</code></pre></div>`
    );
  },
  // Raw HTML in a reply is shown as text (as chat apps do) rather than rendered;
  // only <br>, common in model-written tables, keeps its meaning.
  html({ text }) {
    return /^<br\s*\/?>$/i.test(text.trim()) ? '<br>' : escapeHtml(text);
  },
  // Remote images would leak the conversation to a third party and break offline: link them.
  image({ href, text }) {
    return `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`;
  },
};

const marked = new Marked({ gfm: true, breaks: false, renderer });

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.getAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const PURIFY = {
  FORBID_TAGS: ['style', 'form', 'textarea', 'select', 'img', 'video', 'audio', 'iframe'],
  FORBID_ATTR: ['style'],
};

/**
 * While a reply streams, its last paragraph often has an opened `**` or backtick whose
 * closing half hasn't arrived yet; close it for display so raw markers don't flash.
 */
function closeOpenMarkup(text) {
  const fences = text.match(/^\s*(```|~~~)/gm)?.length ?? 0;
  if (fences % 2) return text; // inside a code block: markers are literal
  const body = text.replace(/\s+$/, '');
  const last = body.slice(body.lastIndexOf('\n\n') + 1);
  const close = (marker) => (body.endsWith(marker) ? body.slice(0, -marker.length) : body + marker);
  if ((last.replace(/```/g, '').match(/`/g)?.length ?? 0) % 2) return close('`');
  if ((last.match(/\*\*/g)?.length ?? 0) % 2) return close('**');
  // single * for emphasis: ignore ** pairs, "* " list bullets and a spaced " * " (maths)
  const singles =
    last
      .replace(/\*\*/g, '')
      .replace(/^\s*\* /gm, '')
      .replace(/\s\*\s/g, ' ')
      .match(/\*/g)?.length ?? 0;
  if (singles % 2) return close('*');
  return text;
}

/**
 * While a reply streams, an opening code fence whose line is still arriving ("```", "```py")
 * doesn't yet say its language: hold that line back, so the block first shows with the
 * language its fence declares (never "text", then the real one).
 */
const LAST_LINE_FENCE = /(^|\n) {0,3}(`+|~+)([^\n]*)$/;
function holdPartialFence(text) {
  const m = LAST_LINE_FENCE.exec(text);
  if (!m) return text;
  const [, , marker, info] = m;
  if (marker.length < 3 && info) return text; // inline code or plain text, not a fence
  if (marker[0] === '`' && info.includes('`')) return text; // ``` `code` ```: inline
  const before = text.slice(0, m.index + m[1].length);
  const fences = before.match(/^\s*(```|~~~)/gm)?.length ?? 0;
  return fences % 2 ? text : before; // inside a block it may be the closing fence
}

/** Markdown text → sanitised HTML string, safe to put into the page. */
export function renderMarkdown(text, { streaming = false } = {}) {
  if (!text) return '';
  let html;
  try {
    rendering = { streaming };
    html = marked.parse(streaming ? closeOpenMarkup(holdPartialFence(text)) : text);
  } catch {
    html = `<p>${escapeHtml(text)}</p>`;
  } finally {
    rendering = { streaming: false };
  }
  return DOMPurify.sanitize(html, PURIFY);
}

export { escapeHtml };
