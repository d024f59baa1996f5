// Conversation list: grouping by date, paging as it scrolls, full-text search with snippets,
// inline rename, delete, collapse.
import { dateGroup } from './format.js';
import { icons } from './icons.js';

const NARROW = window.matchMedia('(max-width: 800px)');
const SEARCH_DELAY = 150; // ms after the last keystroke before asking the server
const MARK_START = '\u0002'; // the server's markers around matched words in a snippet
const MARK_END = '\u0003';

/**
 * Snippet text with the server's markers as <mark> elements. Everything else goes in as
 * text nodes, never parsed as HTML, so a message holding markup shows as written.
 */
export function markedText(text) {
  const fragment = document.createDocumentFragment();
  let open = false;
  for (const piece of String(text).split(/([\u0002\u0003])/)) {
    if (piece === MARK_START) open = true;
    else if (piece === MARK_END) open = false;
    else if (piece && open) {
      const mark = document.createElement('mark');
      mark.textContent = piece;
      fragment.append(mark);
    } else if (piece) fragment.append(document.createTextNode(piece));
  }
  return fragment;
}

export class Sidebar {
  constructor(options) {
    const { app, list, search, toggle, backdrop } = options;
    Object.assign(this, { app, list, search, toggle, backdrop });
    // onMore: load the next page; onSearch(q, offset): a page of results; onOpenHit(id,
    // messageId): a result is being opened.
    const { onRename, onDelete, onMore, onSearch, onOpenHit } = options;
    Object.assign(this, { onRename, onDelete, onMore, onSearch, onOpenHit });
    this.conversations = [];
    this.total = 0;
    this.activeId = null;
    this.editing = null;
    this.loaded = false;
    // Search: the query shown, its results so far, where the next page starts (null: none).
    this.query = '';
    this.results = null; // null while no search has answered for this query
    this.nextOffset = null;
    this.searchSeq = 0; // drops answers to queries the user has typed past
    this.searchTimer = 0;
    this.fetchingMore = false;
    if (localStorage.getItem('gemma-chat.sidebar') === 'collapsed')
      app.classList.add('sidebar-collapsed');
    search.addEventListener('input', () => this.queueSearch());
    search.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && search.value) {
        e.stopPropagation();
        search.value = '';
        this.queueSearch(0);
      }
    });
    toggle.addEventListener('click', () => this.toggleOpen());
    backdrop.addEventListener('click', () => this.close());
    list.addEventListener('click', (e) => this.onClick(e));
    list.addEventListener('dblclick', (e) => {
      const item = e.target.closest('.conv-item');
      if (item && !this.editing && !this.query) this.startRename(item.dataset.id);
    });
    // The next page loads when the end of the list comes within a screenful of view.
    this.sentinel = document.createElement('div');
    this.sentinel.className = 'conv-sentinel';
    this.sentinel.setAttribute('aria-hidden', 'true');
    this.observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) this.more();
      },
      { root: list, rootMargin: '0px 0px 100% 0px' },
    );
    this.observer.observe(this.sentinel);
    NARROW.addEventListener('change', () => this.syncToggle());
    this.syncToggle();
  }

  // Narrow screens: an overlay drawer. Wide screens: a column that can be folded away.
  toggleOpen() {
    if (NARROW.matches) {
      this.app.classList.toggle('sidebar-open');
    } else {
      const collapsed = this.app.classList.toggle('sidebar-collapsed');
      localStorage.setItem('gemma-chat.sidebar', collapsed ? 'collapsed' : 'open');
    }
    this.syncToggle();
  }

  close() {
    this.app.classList.remove('sidebar-open');
    this.syncToggle();
  }

  /** Open the sidebar if it is hidden, e.g. to reach the search box. */
  reveal() {
    if (NARROW.matches) this.app.classList.add('sidebar-open');
    else if (this.app.classList.contains('sidebar-collapsed')) this.toggleOpen();
    this.syncToggle();
  }

  syncToggle() {
    const open = NARROW.matches
      ? this.app.classList.contains('sidebar-open')
      : !this.app.classList.contains('sidebar-collapsed');
    this.toggle.setAttribute('aria-expanded', String(open));
    this.backdrop.hidden = !(NARROW.matches && open);
  }

  setConversations(conversations, total) {
    this.conversations = conversations;
    this.total = total ?? conversations.length;
    this.loaded = true;
    if (!this.query) this.render();
  }

  /** A further page of the list: added below what is shown, nothing rebuilt (no jank). */
  appendConversations(items, total) {
    this.conversations = this.conversations.concat(items);
    this.total = total ?? this.conversations.length;
    if (this.query || this.editing) return;
    this.sentinel.remove();
    let section = this.list.querySelector('.conv-group:last-of-type');
    let group = section?.dataset.label ?? null;
    for (const c of items) [group, section] = this.addItem(c, group, section);
    this.list.append(this.sentinel);
    this.setActive(this.activeId);
  }

  /** Whether more can load: the list's total, or the search's next page. */
  get hasMore() {
    return this.query ? this.nextOffset != null : this.total > this.conversations.length;
  }

  async more() {
    if (this.fetchingMore || !this.hasMore || this.editing) return;
    this.fetchingMore = true;
    try {
      if (this.query) await this.searchPage(this.query, this.nextOffset, this.searchSeq);
      else await this.onMore();
    } finally {
      this.fetchingMore = false;
    }
  }

  // --- search ---------------------------------------------------------------------

  queueSearch(delay = SEARCH_DELAY) {
    clearTimeout(this.searchTimer);
    const query = this.search.value.trim() ? this.search.value : '';
    if (!query) {
      this.searchSeq++;
      if (this.query) {
        this.query = '';
        this.results = null;
        this.render();
      }
      return;
    }
    this.searchTimer = setTimeout(() => {
      this.query = query;
      this.results = null;
      this.nextOffset = null;
      this.searchPage(query, 0, ++this.searchSeq);
    }, delay);
  }

  async searchPage(query, offset, seq) {
    let page;
    try {
      page = await this.onSearch(query, offset);
    } catch (e) {
      if (seq === this.searchSeq) this.showNote(`Search failed: ${e.message}`);
      return;
    }
    if (seq !== this.searchSeq || query !== this.query) return; // typed past it
    const hits = page.conversations;
    this.nextOffset = page.next_offset ?? null;
    if (offset === 0 || !this.results) {
      this.results = hits;
      this.render();
    } else {
      const known = new Set(this.results.map((c) => c.id));
      const fresh = hits.filter((c) => !known.has(c.id));
      this.results = this.results.concat(fresh);
      this.sentinel.remove();
      for (const c of fresh) this.list.append(this.hitItem(c));
      if (this.hasMore) this.list.append(this.sentinel);
      this.setActive(this.activeId);
    }
  }

  showNote(text) {
    const note = document.createElement('p');
    note.className = 'conv-empty';
    note.textContent = text;
    this.list.replaceChildren(note);
  }

  hitItem(c) {
    const item = document.createElement('div');
    item.className = 'conv-item conv-hit';
    item.dataset.id = c.id;
    item.dataset.testid = 'search-result';
    const link = document.createElement('a');
    link.className = 'conv-link';
    link.href = `#/c/${encodeURIComponent(c.id)}`;
    if (c.match?.message_id) link.dataset.message = c.match.message_id;
    const title = document.createElement('span');
    title.className = 'conv-title';
    title.append(c.match?.title ? markedText(c.match.title) : c.title || 'New chat');
    link.title = c.title || 'New chat';
    link.append(title);
    if (c.match?.snippet) {
      const snippet = document.createElement('span');
      snippet.className = 'conv-snippet';
      snippet.dataset.testid = 'search-snippet';
      snippet.append(markedText(c.match.snippet));
      link.append(snippet);
    }
    item.append(link);
    return item;
  }

  setActive(id) {
    this.activeId = id;
    for (const item of this.list.querySelectorAll('.conv-item')) {
      const active = item.dataset.id === id;
      item.classList.toggle('active', active);
      const link = item.querySelector('.conv-link');
      if (active) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }

  render() {
    if (this.editing) return; // don't yank the rename box away; render after it closes
    this.sentinel.remove();
    this.list.replaceChildren();
    if (this.query) {
      if (!this.results) return; // the first page is on its way; keep the list calm
      if (!this.results.length) this.showNote(`No chats match “${this.query.trim()}”`);
      for (const c of this.results) this.list.append(this.hitItem(c));
    } else {
      if (!this.conversations.length && this.loaded)
        this.showNote('No conversations yet. Start one with New chat.');
      let group = null;
      let section = null;
      for (const c of this.conversations) [group, section] = this.addItem(c, group, section);
    }
    if (this.hasMore) this.list.append(this.sentinel);
    this.setActive(this.activeId);
  }

  /** Append one conversation, opening a new date group when its label changes. */
  addItem(c, group, section) {
    const label = dateGroup(c.updated_at || c.created_at);
    if (label !== group || !section) {
      section = document.createElement('section');
      section.className = 'conv-group';
      section.dataset.label = label;
      const h = document.createElement('h2');
      h.textContent = label;
      section.append(h);
      this.list.append(section);
    }
    section.append(this.item(c));
    return [label, section];
  }

  item(c) {
    const title = c.title || 'New chat';
    const item = document.createElement('div');
    item.className = 'conv-item';
    item.dataset.id = c.id;
    item.dataset.testid = 'conversation-item';
    item.innerHTML =
      `<a class="conv-link" href="#/c/${encodeURIComponent(c.id)}"><span class="conv-title"></span></a>` +
      '<div class="conv-actions">' +
      `<button type="button" class="icon-btn sm" data-action="rename" data-testid="rename-conversation">${icons.pencil}</button>` +
      `<button type="button" class="icon-btn sm danger" data-action="delete" data-testid="delete-conversation">${icons.trash}</button>` +
      '</div>';
    item.querySelector('.conv-title').textContent = title;
    item.querySelector('.conv-link').title = title;
    for (const btn of item.querySelectorAll('[data-action]')) {
      const verb = btn.dataset.action === 'rename' ? 'Rename' : 'Delete';
      btn.setAttribute('aria-label', `${verb} “${title}”`);
      btn.title = verb;
    }
    if (c.running) {
      const dot = document.createElement('span');
      dot.className = 'conv-running';
      dot.title = 'Generating…';
      item.querySelector('.conv-link').append(dot);
    }
    return item;
  }

  onClick(e) {
    const hit = e.target.closest('.conv-hit .conv-link');
    if (hit) this.onOpenHit?.(hit.closest('.conv-item').dataset.id, hit.dataset.message ?? null);
    const btn = e.target.closest('[data-action]');
    if (btn) {
      const id = btn.closest('.conv-item').dataset.id;
      if (btn.dataset.action === 'rename') this.startRename(id);
      else this.onDelete(this.conversations.find((c) => c.id === id));
      return;
    }
    if (e.target.closest('.conv-link') && NARROW.matches) this.close();
  }

  startRename(id) {
    const item = this.list.querySelector(`.conv-item[data-id="${CSS.escape(id)}"]`);
    const conv = this.conversations.find((c) => c.id === id);
    if (!item || !conv) return;
    const link = item.querySelector('.conv-link');
    const input = document.createElement('input');
    input.className = 'conv-rename';
    input.dataset.testid = 'rename-input';
    input.value = conv.title || '';
    input.maxLength = 200;
    input.setAttribute('aria-label', 'Conversation title');
    link.hidden = true;
    item.classList.add('editing');
    link.after(input);
    this.editing = id;
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      this.editing = null;
      if (save && title && title !== conv.title) {
        conv.title = title; // optimistic; app reverts by reloading the list on failure
        await this.onRename(conv, title);
      }
      this.render();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        finish(true);
      } else if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener('blur', () => finish(true));
  }
}
