// The command palette (Ctrl/Cmd+K, or the header's search button on a phone): one field
// that finds conversations (titles here, message text through the server's full-text
// search), models (switching is app.js's job) and actions. An ARIA combobox: focus stays in
// the field, arrow keys move the active option (aria-activedescendant), Enter runs it, Esc
// closes and gives focus back to where it was.
import { el } from './dom.js';
import { keysNodes } from './shortcuts.js';

const SEARCH_DELAY = 120; // ms after the last keystroke before asking the server
const MAX = { chats: 8, models: 6, actions: 12 };
const MARK_OPEN = '\u0002'; // docs/api.md, Search: matched words come wrapped in these
const MARK_CLOSE = '\u0003';

/** An element with children: nodes, or strings put in as text (never as HTML). */
function h(tag, attrs = {}, kids = []) {
  const node = el(tag, attrs);
  node.append(...(Array.isArray(kids) ? kids : [kids]));
  return node;
}

/** Lower case, accents folded: "Café" → "cafe". */
const fold = (s) =>
  String(s ?? '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();

const isWordStart = (t, i) => i === 0 || /[^a-z0-9]/.test(t[i - 1]);

/** Where the characters of word appear in order in t (null if they don't). */
function subsequence(word, t, preferStarts) {
  const at = [];
  let from = 0;
  for (const ch of word) {
    let found = -1;
    if (preferStarts) {
      for (let j = from; j < t.length; j++) {
        if (t[j] === ch && (isWordStart(t, j) || j === at[at.length - 1] + 1)) {
          found = j;
          break;
        }
      }
    }
    if (found < 0) found = t.indexOf(ch, from);
    if (found < 0) return null;
    at.push(found);
    from = found + 1;
  }
  return at;
}

function wordScore(word, t) {
  const i = t.indexOf(word);
  if (i >= 0) return 100 + word.length * 4 + (i === 0 ? 40 : isWordStart(t, i) ? 25 : 0) - i * 0.1;
  // Fuzzy-ish: the letters in order, starting at a word start ("rbc" → Rust borrow checker).
  const at = subsequence(word, t, true);
  if (!at || !isWordStart(t, at[0])) return -1;
  let score = 0;
  at.forEach((j, n) => {
    score += isWordStart(t, j) ? 10 : n && j === at[n - 1] + 1 ? 6 : 1;
  });
  const spread = at[at.length - 1] - at[0];
  return score - spread * 0.2;
}

/** How well query matches text: every word of the query must match; -1 when one doesn't. */
export function fuzzyScore(query, text) {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (!words.length) return 0;
  const t = fold(text);
  let total = 0;
  for (const word of words) {
    const s = wordScore(word, t);
    if (s < 0) return -1;
    total += s;
  }
  return total;
}

/** A search snippet as nodes: the marked words in <mark>, everything as text. */
function snippetNodes(snippet) {
  const nodes = [];
  for (const part of String(snippet).split(MARK_OPEN)) {
    const [marked, rest] = part.includes(MARK_CLOSE) ? part.split(MARK_CLOSE, 2) : [null, part];
    if (marked !== null) nodes.push(h('mark', {}, marked));
    if (rest) nodes.push(document.createTextNode(rest));
  }
  return nodes;
}

const ICONS = {
  chat: '<path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/>',
  build: '<path d="m16 18 6-6-6-6M8 6l-6 6 6 6"/>',
  model:
    '<rect x="4" y="4" width="16" height="16" rx="2"/><rect x="9" y="9" width="6" height="6"/><path d="M9 1v3M15 1v3M9 20v3M15 20v3M20 9h3M20 14h3M1 9h3M1 14h3"/>',
  action: '<path d="m9 18 6-6-6-6"/>',
};

function icon(kind) {
  const span = el('span', { class: 'palette-icon', 'aria-hidden': 'true' });
  span.innerHTML =
    `<svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" ` +
    `stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${ICONS[kind]}</svg>`;
  return span;
}

export class CommandPalette {
  /**
   * recent(limit) and search(q, limit): the API's conversation pages; models(): [{spec,
   * name, current}]; actions(): [{id, label, keys?, keywords?, run()}] (only those that can
   * run now); openConversation(id, messageId); chooseModel(spec, name).
   */
  constructor({ recent, search, models, actions, openConversation, chooseModel }) {
    Object.assign(this, { recent, search, models, actions, openConversation, chooseModel });
    this.items = [];
    this.active = -1;
    this.seq = 0;
    this.timer = null;
    this.titles = []; // recent conversations, matched here as the user types
    this.hits = []; // the server's full-text hits for the current text
    this.returnTo = null;

    this.input = el('input', {
      type: 'text',
      class: 'palette-input',
      role: 'combobox',
      'aria-expanded': 'true',
      'aria-controls': 'palette-list',
      'aria-autocomplete': 'list',
      'aria-label': 'Search chats, models and actions',
      placeholder: 'Search chats, models and actions…',
      autocomplete: 'off',
      spellcheck: 'false',
      enterkeyhint: 'go',
      'data-testid': 'palette-input',
    });
    this.list = el('div', {
      class: 'palette-list',
      id: 'palette-list',
      role: 'listbox',
      'aria-label': 'Results',
    });
    this.empty = el('p', { class: 'palette-empty', 'data-testid': 'palette-empty', hidden: '' });
    const close = el('button', {
      type: 'button',
      class: 'palette-close',
      'aria-label': 'Close',
      'data-testid': 'palette-close',
    });
    close.innerHTML =
      '<svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><path d="M18 6 6 18M6 6l12 12"/></svg>';
    const searchIcon = el('span', { class: 'palette-search-icon', 'aria-hidden': 'true' });
    searchIcon.innerHTML =
      '<svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><circle cx="11" cy="11" r="7"/><path d="m20 20-3.5-3.5"/></svg>';
    const foot = el('p', { class: 'palette-foot', 'aria-hidden': 'true' });
    foot.innerHTML =
      '<span><kbd>↑</kbd><kbd>↓</kbd> move</span><span><kbd>Enter</kbd> open</span><span><kbd>Esc</kbd> close</span>';
    const panel = h('div', { class: 'palette-panel' }, [
      h('div', { class: 'palette-field' }, [searchIcon, this.input, close]),
      this.list,
      this.empty,
      foot,
    ]);
    this.dialog = h(
      'dialog',
      { class: 'palette', 'aria-label': 'Command palette', 'data-testid': 'palette' },
      [panel],
    );
    document.body.append(this.dialog);

    this.input.addEventListener('input', () => this.onInput());
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    close.addEventListener('click', () => this.close());
    this.dialog.addEventListener('cancel', (e) => {
      e.preventDefault(); // Esc with focus elsewhere in the dialog: close our way
      this.close();
    });
    // A click on the backdrop (the dialog box itself, outside the panel) closes.
    this.dialog.addEventListener('click', (e) => {
      if (e.target === this.dialog) this.close();
    });
    // Options never take focus: the field keeps it while the pointer picks.
    this.list.addEventListener('mousedown', (e) => e.preventDefault());
    this.list.addEventListener('mousemove', (e) => {
      const option = e.target.closest('[role="option"]');
      if (option) this.setActive(Number(option.dataset.index), { scroll: false });
    });
    this.list.addEventListener('click', (e) => {
      const option = e.target.closest('[role="option"]');
      if (option) this.run(Number(option.dataset.index));
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  toggle() {
    if (this.isOpen) this.close();
    else this.open();
  }

  open() {
    if (this.isOpen) return;
    const focused = document.activeElement;
    this.returnTo = focused && focused !== document.body ? focused : null;
    this.input.value = '';
    this.hits = [];
    this.dialog.showModal();
    this.input.focus();
    this.render();
    const seq = ++this.seq;
    this.recent(200)
      .then((page) => {
        if (seq !== this.seq && this.input.value) return;
        this.titles = page.conversations || [];
        if (this.isOpen) this.render({ keep: true });
      })
      .catch(() => {}); // the chats group stays empty; the sidebar shows the error
  }

  close({ restore = true } = {}) {
    if (!this.isOpen) return;
    clearTimeout(this.timer);
    this.seq++;
    this.dialog.close();
    const back = this.returnTo;
    this.returnTo = null;
    if (restore && back?.isConnected && !back.closest('[hidden]')) back.focus();
  }

  onInput() {
    this.render();
    clearTimeout(this.timer);
    const q = this.input.value.trim();
    this.hits = [];
    if (!q) return;
    const seq = ++this.seq;
    this.timer = setTimeout(async () => {
      try {
        const page = await this.search(q, 20);
        if (seq !== this.seq || !this.isOpen) return;
        this.hits = page.conversations || [];
        this.render({ keep: true });
      } catch {
        // Titles matched here still show; the server's search is an extra.
      }
    }, SEARCH_DELAY);
  }

  onKey(e) {
    const n = this.items.length;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!n) return;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      this.setActive((this.active + step + n) % n);
    } else if ((e.key === 'PageDown' || e.key === 'PageUp') && n) {
      e.preventDefault();
      this.setActive(e.key === 'PageDown' ? n - 1 : 0);
    } else if (e.key === 'Enter' && !e.isComposing) {
      e.preventDefault();
      if (this.active >= 0) this.run(this.active);
    } else if (e.key === 'Escape') {
      e.preventDefault(); // the app's Esc (stop the reply) must not fire as well
      this.close();
    }
  }

  /** What matches the text, best first within each group; groups ordered by their best. */
  collect() {
    const q = this.input.value.trim();
    const groups = [];

    const actions = [];
    for (const action of this.actions()) {
      const score = q ? fuzzyScore(q, `${action.label} ${action.keywords || ''}`) : 0;
      if (q && fuzzyScore(q, action.label) < 0 && score < 0) continue;
      actions.push({ kind: 'action', score, action });
    }

    const chats = new Map();
    if (!q) {
      for (const conv of this.titles.slice(0, MAX.chats)) chats.set(conv.id, { conv, score: 0 });
    } else {
      for (const conv of this.titles) {
        const score = fuzzyScore(q, conv.title || 'New chat');
        if (score >= 0) chats.set(conv.id, { conv, score });
      }
      this.hits.forEach((conv, rank) => {
        const known = chats.get(conv.id);
        // A hit in the text ranks below a title match, in the server's order.
        if (known) known.match = conv.match;
        else chats.set(conv.id, { conv, match: conv.match, score: 90 - rank });
      });
    }

    const current = this.models();
    const models = [];
    for (const model of current) {
      const score = q ? fuzzyScore(q, `${model.name} ${model.spec}`) : 0;
      if (score >= 0) models.push({ kind: 'model', score, model });
    }

    const sorted = (list) => (q ? list.sort((a, b) => b.score - a.score) : list);
    groups.push({ title: 'Actions', items: sorted(actions).slice(0, MAX.actions) });
    groups.push({
      title: q ? 'Chats' : 'Recent chats',
      items: sorted([...chats.values()].map((c) => ({ kind: 'chat', ...c }))).slice(0, MAX.chats),
    });
    groups.push({ title: 'Models', items: sorted(models).slice(0, MAX.models) });
    const best = (g) => (g.items.length ? g.items[0].score : -Infinity);
    // With text typed, the group holding the best match comes first (a stable sort keeps
    // Actions, Chats, Models for ties).
    if (q) groups.sort((a, b) => best(b) - best(a));
    return groups.filter((g) => g.items.length);
  }

  render({ keep = false } = {}) {
    const previous = keep ? this.items[this.active] : null;
    const groups = this.collect();
    this.items = [];
    const nodes = [];
    groups.forEach((group, g) => {
      const headId = `palette-group-${g}`;
      const box = h('div', { role: 'group', 'aria-labelledby': headId, class: 'palette-group' }, [
        h('div', { class: 'palette-group-title', id: headId, role: 'presentation' }, group.title),
      ]);
      for (const item of group.items) {
        const index = this.items.length;
        this.items.push(item);
        box.append(this.option(item, index));
      }
      nodes.push(box);
    });
    this.list.replaceChildren(...nodes);
    const q = this.input.value.trim();
    this.empty.hidden = this.items.length > 0;
    this.empty.textContent = q ? `Nothing matches “${q}”` : 'Nothing here yet';
    let active = 0;
    this.active = -1; // the nodes are new: mark the active one again
    if (previous) {
      const same = this.items.findIndex((it) => sameItem(it, previous));
      if (same >= 0) active = same;
    }
    this.setActive(this.items.length ? active : -1);
  }

  option(item, index) {
    const node = el('div', {
      role: 'option',
      id: `palette-opt-${index}`,
      class: 'palette-option',
      'data-index': String(index),
      'data-kind': item.kind,
      'data-testid': 'palette-option',
      'aria-selected': 'false',
    });
    const main = el('span', { class: 'palette-main' });
    const label = el('span', { class: 'palette-label' });
    main.append(label);
    let trailing = null;
    if (item.kind === 'chat') {
      const conv = item.conv;
      node.append(icon(conv.mode === 'build' ? 'build' : 'chat'));
      label.textContent = conv.title || 'New chat';
      if (item.match?.snippet) {
        main.append(h('span', { class: 'palette-sub' }, snippetNodes(item.match.snippet)));
      }
    } else if (item.kind === 'model') {
      node.append(icon('model'));
      label.textContent = item.model.name;
      node.dataset.spec = item.model.spec;
      if (item.model.current) {
        trailing = h('span', { class: 'palette-tag' }, 'Current');
        node.setAttribute('aria-current', 'true');
      } else {
        trailing = h('span', { class: 'palette-tag' }, 'Switch');
      }
    } else {
      node.append(icon('action'));
      label.textContent = item.action.label;
      node.dataset.action = item.action.id;
      if (item.action.keys) {
        trailing = h('span', { class: 'palette-keys keys' }, keysNodes(item.action.keys));
      }
    }
    node.append(main);
    if (trailing) node.append(trailing);
    return node;
  }

  setActive(index, { scroll = true } = {}) {
    if (index === this.active && index >= 0) return;
    this.list.querySelector('[aria-selected="true"]')?.setAttribute('aria-selected', 'false');
    this.active = index;
    const node = index >= 0 ? this.list.querySelector(`#palette-opt-${index}`) : null;
    if (node) {
      node.setAttribute('aria-selected', 'true');
      this.input.setAttribute('aria-activedescendant', node.id);
      if (scroll) node.scrollIntoView({ block: 'nearest' });
    } else {
      this.input.removeAttribute('aria-activedescendant');
    }
  }

  run(index) {
    const item = this.items[index];
    if (!item) return;
    // Close first (focus goes back), then act: an action may move focus on purpose.
    this.close();
    if (item.kind === 'chat') this.openConversation(item.conv.id, item.match?.message_id ?? null);
    else if (item.kind === 'model') {
      if (!item.model.current) this.chooseModel(item.model.spec, item.model.name);
    } else item.action.run();
  }
}

function sameItem(a, b) {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'chat') return a.conv.id === b.conv.id;
  if (a.kind === 'model') return a.model.spec === b.model.spec;
  return a.action.id === b.action.id;
}
