// Markdown → sanitised HTML. Model output is untrusted: everything leaves through DOMPurify.
import { Marked } from './vendor/marked.esm.js';
import DOMPurify from './vendor/purify.es.mjs';
import hljs from './vendor/highlight.min.js';
import { icons } from './icons.js';

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

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

const renderer = {
  code({ text, lang }) {
    const language = (lang || '').trim().split(/\s+/)[0].toLowerCase();
    const label = language || 'text';
    return (
      `<div class="code-block"><div class="code-head"><span class="code-lang">${escapeHtml(label)}</span>` +
      `<button type="button" class="copy-code" data-testid="copy-code" aria-label="Copy code">` +
      `${icons.copy}<span>Copy</span></button></div>` +
      `<pre><code class="hljs${language ? ` language-${escapeHtml(language)}` : ''}">` +
      `${highlight(text.replace(/\n$/, ''), language)}</code></pre></div>`
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

/** Markdown text → sanitised HTML string, safe to put into the page. */
export function renderMarkdown(text) {
  if (!text) return '';
  let html;
  try {
    html = marked.parse(text);
  } catch {
    html = `<p>${escapeHtml(text)}</p>`;
  }
  return DOMPurify.sanitize(html, PURIFY);
}

export { escapeHtml };
