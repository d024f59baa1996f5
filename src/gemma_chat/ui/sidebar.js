// Conversation list: grouping by date, client-side filter, inline rename, delete, collapse.
import { dateGroup } from './format.js';
import { icons } from './icons.js';

const NARROW = window.matchMedia('(max-width: 800px)');

export class Sidebar {
  constructor({ app, list, search, toggle, backdrop, onRename, onDelete, onMore }) {
    Object.assign(this, { app, list, search, toggle, backdrop, onRename, onDelete, onMore });
    this.conversations = [];
    this.total = 0;
    this.activeId = null;
    this.editing = null;
    this.loaded = false;
    if (localStorage.getItem('gemma-chat.sidebar') === 'collapsed')
      app.classList.add('sidebar-collapsed');
    search.addEventListener('input', () => this.render());
    search.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && search.value) {
        e.stopPropagation();
        search.value = '';
        this.render();
      }
    });
    toggle.addEventListener('click', () => this.toggleOpen());
    backdrop.addEventListener('click', () => this.close());
    list.addEventListener('click', (e) => this.onClick(e));
    list.addEventListener('dblclick', (e) => {
      const item = e.target.closest('.conv-item');
      if (item && !this.editing) this.startRename(item.dataset.id);
    });
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
    this.render();
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
    const query = this.search.value.trim().toLowerCase();
    const shown = query
      ? this.conversations.filter((c) => (c.title || '').toLowerCase().includes(query))
      : this.conversations;
    this.list.replaceChildren();
    if (!shown.length) {
      const note = document.createElement('p');
      note.className = 'conv-empty';
      note.textContent = !this.loaded
        ? ''
        : query
          ? `No chats match “${this.search.value.trim()}”`
          : 'No conversations yet. Start one with New chat.';
      this.list.append(note);
      return;
    }
    let group = null;
    let section = null;
    for (const c of shown) {
      const label = dateGroup(c.updated_at || c.created_at);
      if (label !== group) {
        group = label;
        section = document.createElement('section');
        section.className = 'conv-group';
        const h = document.createElement('h2');
        h.textContent = label;
        section.append(h);
        this.list.append(section);
      }
      section.append(this.item(c));
    }
    if (!query && this.total > this.conversations.length) {
      const more = document.createElement('button');
      more.type = 'button';
      more.className = 'conv-more';
      more.textContent = 'Show more';
      more.addEventListener('click', () => this.onMore());
      this.list.append(more);
    }
    this.setActive(this.activeId);
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
