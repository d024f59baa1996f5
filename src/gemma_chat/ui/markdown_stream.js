// Streaming markdown into an element without re-rendering what is already done.
//
// A streamed reply is split into top-level blocks at safe boundaries: a blank line outside a
// fenced code block (or a raw-HTML block that spans blank lines), followed by a line that
// starts at column 0 and cannot continue what came before (a list marker after a list could
// be the list's next item). Rendering such blocks one by one gives exactly the HTML of
// rendering the whole text at once, so each finished block is rendered (parsed, highlighted,
// sanitised) once and its nodes are never touched again; only the last, open block is
// rendered again as text arrives. Every piece still goes through renderMarkdown, so through
// DOMPurify.
import { Idiomorph } from './vendor/idiomorph.esm.js';
import { renderMarkdown } from './render.js';

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const MARKER = /^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)/;
// A line that is too short yet to tell whether it will be a list marker.
const MAYBE_MARKER = /^ {0,3}(?:[-*+]|\d{1,9}[.)]?)$/;
const BLANK = /^[ \t]*\r?$/;
// HTML blocks that, unlike the rest, run on across blank lines until their end marker.
const HTML_BLOCKS = [
  [/^ {0,3}<(?:script|pre|style|textarea)(?:[\s>]|$)/i, /<\/(?:script|pre|style|textarea)>/i],
  [/^ {0,3}<!--/, /-->/],
  [/^ {0,3}<\?/, /\?>/],
  [/^ {0,3}<![A-Za-z]/, />/],
  [/^ {0,3}<!\[CDATA\[/, /\]\]>/],
];
// A link reference definition can be used by any block, earlier ones too: with one in the
// text, the text is rendered whole (as before streaming was incremental).
const REF_DEF = /^ {0,3}\[[^\]\n]+\]:/m;
const RUN_CHARS = 4000; // finished blocks rendered in one go, when there is a backlog

/**
 * Where the finished blocks of `text[from:]` end (`from` is the start of a block). A block
 * ends before a line that starts a new one; the line must have begun to arrive.
 */
export function blockEnds(text, from = 0) {
  const ends = [];
  let start = from;
  let pos = from;
  let fence = null; // {char, length} of an open code fence
  let html = null; // the end marker of an open HTML block
  let list = false; // the block holds list items
  let blank = false; // a blank line since the last content line
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const complete = nl !== -1;
    const next = complete ? nl + 1 : text.length;
    const line = text.slice(pos, complete ? nl : text.length);
    if (fence) {
      const m = complete && FENCE.exec(line);
      if (m && m[1][0] === fence.char && m[1].length >= fence.length && BLANK.test(m[2]))
        fence = null;
    } else if (html) {
      if (html.test(line)) html = null;
    } else if (BLANK.test(line)) {
      if (complete) blank = true;
    } else {
      if (blank && pos > start && /^\S/.test(line)) {
        const marker = complete ? MARKER.test(line) : MARKER.test(line) || MAYBE_MARKER.test(line);
        if (!(list && marker)) {
          ends.push(pos);
          start = pos;
          list = false;
        }
      }
      blank = false;
      const m = FENCE.exec(line);
      if (m && !(m[1][0] === '`' && m[2].includes('`'))) {
        fence = { char: m[1][0], length: m[1].length };
      } else {
        for (const [open, close] of HTML_BLOCKS) {
          if (open.test(line)) {
            if (!close.test(line.replace(open, ''))) html = close;
            break;
          }
        }
      }
      if (MARKER.test(line)) list = true;
    }
    pos = next;
  }
  return ends;
}

function parse(html) {
  const template = document.createElement('template');
  template.innerHTML = html;
  return [...template.content.childNodes];
}

function syncAttributes(target, source) {
  for (const { name } of [...target.attributes]) {
    if (!source.hasAttribute(name)) target.removeAttribute(name);
  }
  for (const { name, value } of source.attributes) {
    if (target.getAttribute(name) !== value) target.setAttribute(name, value);
  }
}

export class MarkdownStream {
  constructor(root) {
    this.root = root;
    this.reset();
  }

  /** Forget everything shown: the next update renders from scratch. */
  reset() {
    this.root.replaceChildren();
    this.doneText = ''; // the text of the finished blocks
    this.tail = []; // the open block's nodes, at the end of root
    this.tailKey = null;
    this.whole = false; // render the text whole (it has link reference definitions)
  }

  /** Show something else (e.g. a notice) instead; the next update starts afresh. */
  showHtml(html) {
    this.reset();
    this.root.innerHTML = html;
    this.doneText = null;
  }

  /**
   * Show `text`; while `streaming`, its end may be cut mid-block. With a `budget` (ms), a
   * backlog of finished blocks (a burst, a tab back from the background) is rendered a few
   * at a time: true means it stopped short, so call again (on the next frame).
   */
  update(text, { streaming = false, budget = Infinity } = {}) {
    const deadline = performance.now() + budget;
    text = text ?? '';
    if (this.doneText === null || !text.startsWith(this.doneText)) this.reset();
    let done = this.doneText.length;
    if (!this.whole && REF_DEF.test(text.slice(done))) {
      if (done) this.reset();
      this.whole = true;
      done = 0;
    }
    const ends = this.whole ? [] : blockEnds(text, done);
    let progressed = false;
    if (ends.length) {
      if (this.tail.length) {
        // The open block is finished: settle its nodes on its final rendering.
        this.renderTail(text.slice(done, ends[0]), false);
        done = ends[0];
        ends.shift();
        progressed = true;
      }
      // The rest in runs of a few blocks (one renderMarkdown call each), while time allows.
      let i = 0;
      while (i < ends.length && (!progressed || performance.now() < deadline)) {
        let j = i;
        while (j + 1 < ends.length && ends[j + 1] - done <= RUN_CHARS) j++;
        this.root.append(...parse(renderMarkdown(text.slice(done, ends[j]))));
        done = ends[j];
        i = j + 1;
        progressed = true;
      }
      this.tail = [];
      this.tailKey = null;
      this.doneText = text.slice(0, done);
      if (i < ends.length) return true; // the open block waits for the backlog
    }
    const rest = text.slice(done);
    const key = `${streaming ? 's' : 'f'}${rest}`;
    if (key !== this.tailKey) {
      this.tailKey = key;
      this.renderTail(rest, streaming);
    }
    return false;
  }

  /** Render the open block, changing as few of its nodes as it can. */
  renderTail(text, streaming) {
    const fresh = parse(renderMarkdown(text, { streaming }));
    const old = this.tail;
    const kept = [];
    let before = old.length ? old[0] : null;
    fresh.forEach((node, i) => {
      const current = old[i];
      if (current && current.nodeName === node.nodeName) {
        if (!current.isEqualNode(node)) {
          if (current.nodeType === Node.ELEMENT_NODE) {
            syncAttributes(current, node);
            Idiomorph.morph(current, [...node.childNodes], { morphStyle: 'innerHTML' });
          } else {
            current.data = node.data;
          }
        }
        kept.push(current);
        before = current.nextSibling;
      } else {
        if (current) current.replaceWith(node);
        else this.root.insertBefore(node, before);
        kept.push(node);
        before = node.nextSibling;
      }
    });
    for (const node of old.slice(fresh.length)) node.remove();
    this.tail = kept;
  }
}
