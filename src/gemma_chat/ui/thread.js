// The message list: builds message elements, streams replies into them, keeps scroll pinned.
import { MarkdownStream } from './markdown_stream.js';
import { formatStats, estimateThinkingSeconds, thoughtLabel, tokenCount } from './format.js';
import { icons } from './icons.js';
import { actionChip, updateActionChip } from './canvas.js'; // Build mode: action chips
import { modelLabel } from './models.js';
import { renderMessageAttachments, namesOf } from './attachments.js';

const SPARK =
  '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" ' +
  'd="M12 2c.5 4.9 5.1 9.5 10 10-4.9.5-9.5 5.1-10 10-.5-4.9-5.1-9.5-10-10 4.9-.5 9.5-5.1 10-10Z"/></svg>';
import { copyText } from './clipboard.js';
import { speaker, spokenText } from './speech.js';
import { el } from './dom.js';

const STATUS_BADGE = { interrupted: 'Stopped', error: 'Error' };

function flashCopied(button) {
  const label = button.querySelector('span');
  button.classList.add('copied');
  if (label) label.textContent = 'Copied';
  clearTimeout(button._copyTimer);
  button._copyTimer = setTimeout(() => {
    button.classList.remove('copied');
    if (label) label.textContent = 'Copy';
  }, 1500);
}

/**
 * Branches: "‹ 2 / 3 ›" under a message that has alternatives (Retry and Edit keep what
 * they replace). Hidden until the message has more than one.
 */
function branchNav() {
  const nav = el('div', {
    class: 'branch-nav',
    role: 'group',
    'aria-label': 'Alternatives',
    'data-testid': 'branch-nav',
  });
  nav.append(
    el(
      'button',
      {
        type: 'button',
        class: 'branch-step branch-prev',
        'data-testid': 'branch-prev',
        'aria-label': 'Previous alternative',
      },
      icons.chevron,
    ),
    // "2 / 3" comes from CSS (data-label), so a message's text stays just its own.
    el('span', { class: 'branch-count', 'data-testid': 'branch-count', 'aria-hidden': 'true' }),
    el(
      'button',
      {
        type: 'button',
        class: 'branch-step branch-next',
        'data-testid': 'branch-next',
        'aria-label': 'Next alternative',
      },
      icons.chevron,
    ),
    el('span', { class: 'branch-note', 'data-testid': 'branch-note', role: 'status' }),
  );
  nav.hidden = true;
  return nav;
}

/** One message in the thread. Assistant messages can be streamed into. */
const CHIP_PARAMS = new Set(['path', 'new_path', 'kit', 'slot']);

class MessageView {
  constructor(message, { streaming = false, animate = false } = {}) {
    this.role = message.role;
    this.content = message.content ?? '';
    this.thinking = message.thinking ?? '';
    this.model = message.model ?? null; // the spec that wrote this reply
    this.attachments = message.attachments ?? []; // a user message's files (Attachment objects)
    this.thread = null; // the Thread, for the conversation's current model
    this.streaming = streaming;
    this.frame = 0; // a render waiting for the next animation frame
    this.wait = 0; // … or for the pause between renders to pass
    this.renderedAt = 0;
    this.renderGap = 0;
    this.thinkStartedAt = 0;
    this.thinkSeconds = null;
    this.firstAt = 0;
    this.pieces = 0;
    this.root = el('article', {
      class: `msg ${this.role}`,
      'data-testid': 'message',
      'data-role': this.role,
    });
    if (animate) this.root.classList.add('enter'); // only new messages slide in, not history
    if (this.role === 'user') this.buildUser();
    else this.buildAssistant();
    this.update(message, { streaming });
  }

  buildUser() {
    this.files = el('div', { class: 'msg-attachments' });
    this.files.hidden = true;
    this.body = el('div', { class: 'bubble', 'data-testid': 'message-content' });
    const edit = el(
      'button',
      {
        type: 'button',
        class: 'msg-action edit-message',
        'data-testid': 'edit-message',
        'aria-label': 'Edit message',
        title: 'Edit and resend as a new branch (this one and its replies are kept)',
      },
      // The label comes from CSS, so the message's text stays just what the user wrote.
    );
    // Shown while this message is the one being edited (the composer says so too).
    // (its label comes from CSS too)
    this.editingTag = el('span', { class: 'editing-tag', 'data-testid': 'editing-tag' });
    this.editingTag.hidden = true;
    this.branchNav = branchNav();
    const foot = el('div', { class: 'msg-foot user-foot' });
    foot.append(this.editingTag, this.branchNav, edit);
    this.root.append(this.files, this.body, foot);
  }

  /** A user message's files above its bubble; a files-only message shows just the files. */
  renderFiles() {
    const list = this.attachments;
    const key = list.map((a) => `${a.id ?? a.url}:${a.meta?.not_sent ?? ''}`).join('|');
    if (key !== this.filesKey) {
      this.filesKey = key;
      const box = renderMessageAttachments(list);
      this.files.replaceWith(box);
      this.files = box;
    }
    this.body.hidden = Boolean(list.length) && this.content === namesOf(list);
  }

  buildAssistant() {
    this.root.append(el('div', { class: 'avatar', 'aria-hidden': 'true' }, SPARK));
    const main = el('div', { class: 'msg-main' });
    this.details = el('details', { class: 'thinking', 'data-testid': 'thinking-block' });
    this.details.innerHTML =
      `<summary><span class="thinking-icon">${icons.brain}</span>` +
      `<span class="thinking-label"></span><span class="chev">${icons.chevron}</span></summary>` +
      '<div class="thinking-content markdown"></div>';
    this.thinkLabel = this.details.querySelector('.thinking-label');
    this.thinkBody = this.details.querySelector('.thinking-content');
    this.body = el('div', { class: 'msg-content markdown', 'data-testid': 'message-content' });
    // Streamed text: finished blocks stay as they are, only the open one is rendered again.
    this.thinkMarkdown = new MarkdownStream(this.thinkBody);
    this.markdown = new MarkdownStream(this.body);
    this.typing = el(
      'div',
      { class: 'typing', role: 'status', 'aria-label': 'Generating' },
      '<i></i><i></i><i></i>',
    );
    this.errorBox = el('div', { class: 'msg-error', 'data-testid': 'error-banner', role: 'alert' });
    this.errorBox.hidden = true;
    // A reply that stopped at the length limit (turn.end reason "length", or its stored
    // stats after a reload) says so, with Continue: the same reply goes on.
    this.lengthNote = el(
      'div',
      { class: 'length-note', 'data-testid': 'length-note', role: 'status' },
      `${icons.alert}<span>Stopped at the length limit</span>`,
    );
    this.continueBtn = el(
      'button',
      {
        type: 'button',
        class: 'continue-reply',
        'data-testid': 'continue-reply',
        title: 'Let the model write on from where it stopped',
      },
      'Continue',
    );
    this.lengthNote.append(this.continueBtn);
    this.lengthNote.hidden = true;
    this.finishReason = null;
    this.foot = el('div', { class: 'msg-foot' });
    this.badge = el('span', { class: 'badge', 'data-testid': 'status-badge' });
    this.stats = el('span', { class: 'msg-stats', 'data-testid': 'message-stats' });
    // Which model wrote the reply, shown when the conversation has since switched.
    this.modelTag = el('span', { class: 'msg-model', 'data-testid': 'message-model' });
    this.modelTag.hidden = true;
    // The context notice: older messages were trimmed to fit the model's context.
    this.notice = el('div', {
      class: 'context-notice',
      'data-testid': 'context-notice',
      role: 'note',
    });
    this.notice.hidden = true;
    // `notice` turn events: what the user should know about this turn (an image the model
    // can't see, a version not recorded). They stay for the turn; they are not stored.
    this.notices = el('div', { class: 'turn-notices', 'data-testid': 'turn-notices' });
    this.notices.hidden = true;
    this.copyBtn = el(
      'button',
      {
        type: 'button',
        class: 'msg-action copy-message',
        'aria-label': 'Copy reply',
        title: 'Copy reply',
      },
      `${icons.copy}<span>Copy</span>`,
    );
    this.speakBtn = el(
      'button',
      {
        type: 'button',
        class: 'msg-action read-aloud',
        'data-testid': 'read-aloud',
        'aria-pressed': 'false',
        'aria-label': 'Read reply aloud',
        title: 'Read aloud',
      },
      `${icons.speaker}<span>Read</span>`,
    );
    this.retryBtn = el(
      'button',
      {
        type: 'button',
        class: 'msg-action regenerate',
        'data-testid': 'regenerate',
        'aria-label': 'Regenerate reply',
        title: 'Regenerate as a new alternative; this reply stays (in Build mode the files go back first)',
      },
      `${icons.retry}<span>Retry</span>`,
    );
    this.branchNav = branchNav();
    this.foot.append(this.branchNav, this.badge, this.stats, this.modelTag, this.copyBtn, this.speakBtn, this.retryBtn);
    // Build mode: one compact chip per action ("✓ Wrote index.html"), not the raw XML.
    this.chips = el('div', { class: 'action-chips', role: 'group', 'aria-label': 'Actions' });
    this.chips.hidden = true;
    this.actions = new Map(); // action id → {chip, name, params}
    this.filesLine = el('p', { class: 'turn-files', 'data-testid': 'turn-files' }, '');
    this.filesLine.hidden = true;
    main.append(
      this.notices,
      this.notice,
      this.details,
      this.body,
      this.chips,
      this.filesLine,
      this.typing,
      this.errorBox,
      this.lengthNote,
      this.foot,
    );
    this.root.append(main);
  }

  /** Where this message stands among its alternatives: {index (1-based), count, ids}. */
  setAlternatives(alternatives) {
    this.alternatives = alternatives ?? null;
    const { index = 1, count = 1 } = alternatives ?? {};
    const nav = this.branchNav;
    nav.hidden = count < 2;
    const text = nav.querySelector('.branch-count');
    text.dataset.label = `${index} / ${count}`;
    text.title = `Alternative ${index} of ${count}`;
    nav.setAttribute('aria-label', `Alternative ${index} of ${count}`);
    // Build mode: each alternative has its own files, and switching puts them back.
    const files = this.thread?.build ? ' (restores its files)' : '';
    const prev = nav.querySelector('.branch-prev');
    const next = nav.querySelector('.branch-next');
    prev.disabled = index <= 1;
    next.disabled = index >= count;
    prev.title = `Previous alternative${files}`;
    next.title = `Next alternative${files}`;
    if (this.role !== 'user') this.renderModel();
  }

  /** A short note beside the arrows for a few seconds (files restored on a switch). */
  flashBranchNote(text) {
    const note = this.branchNav.querySelector('.branch-note');
    note.textContent = text;
    clearTimeout(this.noteTimer);
    this.noteTimer = setTimeout(() => {
      note.textContent = '';
    }, 5000);
  }

  /** Show a stored (or turn.end) message. */
  update(message, { streaming = false } = {}) {
    if (message.id) this.root.dataset.id = message.id;
    if ('alternatives' in message) this.setAlternatives(message.alternatives);
    this.content = message.content ?? this.content;
    this.thinking = message.thinking ?? this.thinking;
    this.model = message.model ?? this.model ?? null;
    if ('version' in message) this.version = message.version; // Build mode replies have one
    this.streaming = streaming;
    this.root.dataset.status = streaming ? 'streaming' : message.status || 'complete';
    if (this.role === 'user') {
      // The server's copy (turn.start, a reload) wins; keep ours where it has none.
      if (Array.isArray(message.attachments) && (message.attachments.length || !message.id))
        this.attachments = message.attachments;
      this.body.textContent = this.content;
      this.renderFiles();
      return;
    }
    this.root.setAttribute('aria-busy', String(streaming));
    if (!streaming) {
      if (this.thinkSeconds == null) this.thinkSeconds = estimateThinkingSeconds(message);
      this.details.open = false;
      this.setError(
        message.status === 'error' ? message.error || 'The model failed to answer.' : null,
      );
    }
    if ('stats' in message) this.statsData = message.stats;
    if (!streaming && !this.actions.size && message.actions?.length)
      this.showActions(message.actions);
    if (!streaming && message.files) this.setFiles(message.files);
    this.render();
  }

  // --- Build mode: action chips --------------------------------------------------

  /** Stored actions (a reloaded conversation): one finished chip each. */
  showActions(actions) {
    this.chips.replaceChildren();
    this.actions.clear();
    actions.forEach((a, i) => {
      const id = a.id ?? `stored-${i}`;
      const entry = { name: a.name, params: { path: a.path || '' } };
      entry.chip = actionChip(a.name, entry.params, a);
      this.actions.set(id, entry);
      this.chips.append(entry.chip);
      if (a.name === 'start_from' && a.ok && a.kit) this.showKitSwitch(a.kit);
    });
    this.chips.hidden = !actions.length;
  }

  actionStart({ id, name }) {
    const entry = { name, params: {} };
    entry.chip = actionChip(name, entry.params, null);
    this.actions.set(id, entry);
    this.chips.append(entry.chip);
    this.chips.hidden = false;
    this.onRender?.();
  }

  /** Streamed parameter text: only the short ones (path, new_path, kit, slot) matter. */
  actionParam({ id, name, text }) {
    const entry = this.actions.get(id);
    if (!entry || !CHIP_PARAMS.has(name)) return;
    entry.params[name] = (entry.params[name] ?? '') + (text ?? '');
    updateActionChip(entry.chip, entry.name, entry.params, null);
  }

  fileStart({ path }) {
    const entry = [...this.actions.values()].reverse().find((a) => a.name === 'write_file');
    if (!entry || entry.done) return;
    entry.params.path = path;
    updateActionChip(entry.chip, entry.name, entry.params, null);
  }

  actionEnd(data) {
    let entry = this.actions.get(data.id);
    if (!entry) {
      this.actionStart({ id: data.id, name: data.name });
      entry = this.actions.get(data.id);
    }
    entry.done = true;
    if (data.path) entry.params.path = data.path;
    updateActionChip(entry.chip, entry.name, entry.params, data);
    if (data.name === 'start_from' && data.ok && data.kit) this.showKitSwitch(data.kit);
    this.onRender?.();
  }

  /** "Started from: Stopwatch ▾": start the project again from another kit. */
  showKitSwitch(kit) {
    this.kitSwitch?.remove();
    const others = (kit.alternatives ?? []).filter((k) => k.name !== kit.name);
    if (!others.length) return;
    const select = el('select', {
      class: 'kit-select',
      'data-testid': 'kit-switch',
      'aria-label': `Started from ${kit.title}. Start again from another kit`,
      title: 'Start again from another kit (the files go back first)',
    });
    const current = el('option', { value: '' }, '');
    current.textContent = 'Switch kit…';
    select.append(current);
    for (const other of others) {
      const option = el('option', { value: other.name }, '');
      option.textContent = other.title;
      select.append(option);
    }
    this.kitSwitch = el('label', { class: 'kit-switch' }, '');
    this.kitSwitch.append(select);
    this.chips.append(this.kitSwitch);
  }

  /** The end of a turn: which files it added, changed and removed. */
  setFiles(files) {
    const parts = [];
    for (const [key, label] of [
      ['added', 'Added'],
      ['changed', 'Changed'],
      ['removed', 'Removed'],
    ]) {
      const paths = files?.[key] ?? [];
      if (paths.length) parts.push(`${label} ${paths.join(', ')}`);
    }
    if (!files) {
      this.filesLine.hidden = true;
      return;
    }
    this.filesLine.textContent = parts.length ? parts.join(' · ') : 'No files changed';
    this.filesLine.hidden = false;
  }

  // --- streaming -------------------------------------------------------------

  // Until the server's `stats` events arrive, estimate live stats here: one streamed
  // piece is about one token.
  countPiece() {
    const now = performance.now();
    if (!this.firstAt) this.firstAt = now;
    this.pieces += 1;
    if (this.serverStats) return;
    // No time-to-first-token here: measured in the browser it would include the HTTP
    // round trip and disagree with the server's figure that replaces it at the end.
    this.statsData = {
      completion_tokens: this.pieces,
      tokens_per_s:
        this.pieces > 1 ? ((this.pieces - 1) * 1000) / Math.max(1, now - this.firstAt) : 0,
      estimated: true,
    };
  }

  appendThinking(text) {
    this.countPiece();
    if (!this.thinking) {
      this.thinkStartedAt = performance.now();
      this.details.open = true; // open while the model thinks, so the user sees progress
    }
    this.thinking += text;
    this.schedule();
  }

  appendText(text) {
    this.countPiece();
    if (this.thinking && this.thinkSeconds == null) this.endThinking();
    this.content += text;
    this.schedule();
  }

  endThinking() {
    this.thinkSeconds = (performance.now() - this.thinkStartedAt) / 1000;
    this.details.open = false; // thinking done: fold it away so the answer stays in view
  }

  setStats(stats) {
    this.serverStats = true;
    this.statsData = stats;
    this.schedule();
  }

  /** A `context` turn event: older messages were shortened or left out to fit. */
  setContextNotice({ trimmed, tokens, limit } = {}) {
    const n = (v) => Number(v).toLocaleString();
    const size = limit ? `${n(limit)}-token ` : '';
    this.notice.innerHTML =
      `${icons.alert}<span>Older messages were shortened or left out so the conversation ` +
      `fits the model's ${size}context.</span>`;
    const tip = [];
    if (trimmed) tip.push(`${n(trimmed)} older message${trimmed === 1 ? '' : 's'} trimmed`);
    if (tokens && limit) tip.push(`${tokenCount(tokens)} of a ${n(limit)}-token context`);
    tip.push('The stored conversation is unchanged.');
    this.notice.title = tip.join(' · ');
    this.notice.hidden = false;
    this.onRender?.();
  }

  /** A `notice` turn event, shown above the reply (next to the message it is about). */
  addNotice(message) {
    const item = el(
      'div',
      { class: 'turn-notice', 'data-testid': 'turn-notice', role: 'status' },
      `${icons.alert}<span></span>`,
    );
    item.querySelector('span').textContent = message;
    this.notices.append(item);
    this.notices.hidden = false;
    this.onRender?.();
  }

  /** Name the reply's model in the footer when it isn't the conversation's model now. */
  renderModel() {
    if (this.role === 'user') return;
    const current = this.thread?.model;
    const show = Boolean(this.model && current && this.model !== current && !this.streaming);
    this.modelTag.hidden = !show;
    if (show) {
      this.modelTag.textContent = modelLabel(this.model);
      this.modelTag.title = `Written by ${this.model}`;
    }
    this.foot.hidden =
      this.badge.hidden &&
      this.stats.hidden &&
      this.copyBtn.hidden &&
      this.modelTag.hidden &&
      this.branchNav.hidden;
  }

  setError(message) {
    this.errorBox.innerHTML = message ? `${icons.alert}<span></span>` : '';
    if (message) this.errorBox.querySelector('span').textContent = message;
    this.errorBox.hidden = !message;
  }

  /** Continue: the reply streams again, after the text it has. */
  resume() {
    this.finishReason = null;
    this.streaming = true;
    this.root.dataset.status = 'streaming';
    this.root.setAttribute('aria-busy', 'true');
    this.render();
  }

  /** turn.end: settle on the stored message. */
  finish(message, reason) {
    this.finishReason = reason ?? null;
    cancelAnimationFrame(this.frame);
    clearTimeout(this.wait);
    this.frame = 0;
    this.wait = 0;
    if (this.thinking && this.thinkSeconds == null) this.endThinking();
    const stored = message ?? {
      content: this.content,
      thinking: this.thinking,
      status: reason === 'cancelled' ? 'interrupted' : reason === 'error' ? 'error' : 'complete',
      stats: this.statsData,
    };
    const errorText = this.errorBox.hidden ? null : this.errorBox.textContent;
    this.update(stored, { streaming: false });
    if (errorText && this.errorBox.hidden) this.setError(errorText); // keep a streamed `error` event
  }

  // Coalesce bursts of tokens into one render per animation frame, and leave the page at
  // least three times a render's cost between renders (up to 100 ms), so a fast stream on
  // a slow machine shows fewer frames instead of keeping the main thread busy.
  schedule() {
    if (this.frame || this.wait) return;
    const wait = this.renderedAt + this.renderGap - performance.now();
    if (wait > 1) {
      this.wait = setTimeout(() => {
        this.wait = 0;
        this.schedule();
      }, wait);
      return;
    }
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const started = performance.now();
      this.render(); // with onRender's scroll: the frame's layout is done here
      this.renderedAt = started;
      this.renderGap = Math.min(100, 3 * (performance.now() - started));
    });
  }

  // While streaming, a backlog of finished blocks is shown over several frames (8 ms each).
  markdownOptions() {
    return { streaming: this.streaming, budget: this.streaming ? 8 : Infinity };
  }

  render() {
    if (this.role === 'user') return;
    const thinking = Boolean(this.thinking);
    this.details.hidden = !thinking;
    if (thinking) {
      if (this.thinkMarkdown.update(this.thinking, this.markdownOptions())) this.schedule();
      const active = this.streaming && this.thinkSeconds == null && !this.content;
      this.details.classList.toggle('active', active);
      this.thinkLabel.textContent = active ? 'Thinking…' : thoughtLabel(this.thinkSeconds);
    }
    // A finished reply with nothing in it still needs to say so.
    const blank = !this.streaming && !this.content && !thinking && this.errorBox.hidden;
    if (!blank && this.markdown.update(this.content, this.markdownOptions())) this.schedule();
    this.body.hidden = !this.content && !blank;
    this.root.classList.toggle('blank', blank);
    if (blank) {
      const why =
        this.root.dataset.status === 'interrupted'
          ? 'Stopped before any reply.'
          : 'The model returned an empty reply.';
      this.markdown.showHtml(`<p class="no-reply">${why}</p>`);
    }
    this.typing.hidden = !(this.streaming && !this.content && !thinking);
    const atLimit = this.finishReason === 'length' || this.statsData?.finish_reason === 'length';
    this.lengthNote.hidden = !(atLimit && !this.streaming && !this.version && this.content);
    const status = this.root.dataset.status;
    this.badge.textContent = STATUS_BADGE[status] ?? '';
    this.badge.className = `badge ${status}`;
    this.badge.hidden = !STATUS_BADGE[status];
    const stats = formatStats(this.statsData);
    const statsText = stats?.text ?? '';
    if (this.stats.textContent !== statsText) this.stats.textContent = statsText;
    if (stats && this.stats.title !== stats.title) this.stats.title = stats.title;
    this.stats.hidden = !stats?.text;
    this.copyBtn.hidden = this.streaming || !this.content;
    this.speakBtn.hidden = this.copyBtn.hidden || !speaker.available;
    this.retryBtn.hidden = this.streaming; // touch screens show actions without hover
    this.renderModel(); // also decides whether the footer shows
    this.onRender?.();
  }
}

export class Thread {
  constructor({ scroller, list, empty, jump }) {
    this.scroller = scroller;
    this.list = list;
    this.empty = empty;
    this.jump = jump;
    this.pinned = true;
    this.model = null; // the open conversation's current model spec
    this.views = new WeakMap();
    this.running = el(
      'div',
      { class: 'running', 'data-testid': 'running-indicator', role: 'status' },
      '<span class="spinner" aria-hidden="true"></span><span>Still generating…</span>',
    );
    scroller.addEventListener('scroll', () => {
      const gap = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
      this.pinned = gap < 64;
      this.jump.hidden = this.pinned || !this.empty.hidden; // no latest line to jump to
    });
    jump.addEventListener('click', () => this.scrollToEnd(true));
    // Keep the latest line in view when the viewport shrinks (composer grows, window
    // resizes) or content changes size outside a render (a block folds or unfolds).
    const keep = new ResizeObserver(() => this.stick());
    keep.observe(scroller);
    keep.observe(list);
    list.addEventListener('click', (e) => this.onClick(e));
    list.addEventListener('change', (e) => {
      const select = e.target.closest('.kit-select');
      if (!select?.value) return;
      const user = this.userBefore(this.views.get(select.closest('.msg')));
      if (user?.root.dataset.id) this.onSwitchKit?.(user, select.value);
      select.value = '';
    });
  }

  /** The user message a reply answers. */
  userBefore(view) {
    let node = view?.root.previousElementSibling;
    while (node && !node.classList.contains('user')) node = node.previousElementSibling;
    return node && this.views.get(node);
  }

  async onClick(e) {
    const chip = e.target.closest('.action-chip[data-path]');
    if (chip) {
      this.onOpenFile?.(chip.dataset.path); // Build mode: show the file in the canvas
      return;
    }
    const codeBtn = e.target.closest('.copy-code');
    if (codeBtn) {
      const code = codeBtn.closest('.code-block')?.querySelector('code');
      if (code && (await copyText(code.textContent))) flashCopied(codeBtn);
      return;
    }
    const more = e.target.closest('.continue-reply');
    if (more) {
      const view = this.views.get(more.closest('.msg'));
      if (view?.root.dataset.id) this.onContinue?.(view);
      return;
    }
    const step = e.target.closest('.branch-step');
    if (step) {
      const view = this.views.get(step.closest('.msg'));
      const alt = view?.alternatives;
      const move = step.classList.contains('branch-prev') ? -1 : 1;
      const target = alt?.ids?.[alt.index - 1 + move];
      if (target) this.onSwitchBranch?.(view, target, move);
      return;
    }
    const retry = e.target.closest('.regenerate');
    if (retry) {
      const user = this.userBefore(this.views.get(retry.closest('.msg')));
      if (user?.root.dataset.id) this.onRegenerate?.(user);
      return;
    }
    const edit = e.target.closest('.edit-message');
    if (edit) {
      const view = this.views.get(edit.closest('.msg'));
      if (view?.root.dataset.id) this.onEdit?.(view);
      return;
    }
    const speakBtn = e.target.closest('.read-aloud');
    if (speakBtn) {
      const view = this.views.get(speakBtn.closest('.msg'));
      if (speakBtn.getAttribute('aria-pressed') === 'true') speaker.cancel();
      else if (view) this.readAloud(view);
      return;
    }
    const msgBtn = e.target.closest('.copy-message');
    if (msgBtn) {
      const view = this.views.get(msgBtn.closest('.msg'));
      if (view && (await copyText(view.content))) flashCopied(msgBtn);
    }
  }

  /** Read a reply aloud (its words, not its code or markdown); its button shows Stop meanwhile. */
  readAloud(view) {
    const button = view.speakBtn;
    const text = spokenText(view.body) || (view.content ?? '').trim();
    const started = speaker.speak(text, {
      onEnd: () => {
        button.setAttribute('aria-pressed', 'false');
        button.setAttribute('aria-label', 'Read reply aloud');
        button.querySelector('span').textContent = 'Read';
      },
    });
    if (!started) return false;
    button.setAttribute('aria-pressed', 'true');
    button.setAttribute('aria-label', 'Stop reading');
    button.querySelector('span').textContent = 'Stop';
    return true;
  }

  /**
   * Replace the whole thread with stored messages. While a turn is running, the server
   * already holds its (partial) reply: show that one as in progress, not as stopped.
   */
  show(messages, { running = false } = {}) {
    this.list.replaceChildren();
    messages.forEach((m, i) => {
      const live = running && i === messages.length - 1 && m.role === 'assistant';
      this.add(m, { streaming: live });
    });
    this.setEmpty(messages.length === 0);
    this.scrollToEnd(true);
  }

  /**
   * Bring the thread up to date with stored messages in place (polling a running turn):
   * no rebuild, so no flicker, and the reader's scroll position is respected.
   */
  sync(messages, { running = false } = {}) {
    const roots = [...this.list.querySelectorAll('.msg')];
    const same = roots.every((root, i) => messages[i] && root.dataset.id === messages[i].id);
    if (!same) {
      const pinned = this.pinned;
      this.show(messages, { running });
      if (running) this.setRunning(true);
      if (!pinned) this.pinned = false;
      return;
    }
    messages.forEach((m, i) => {
      const live = running && i === messages.length - 1 && m.role === 'assistant';
      if (roots[i]) this.views.get(roots[i]).update(m, { streaming: live });
      else this.add(m, { streaming: live });
    });
  }

  /** The conversation's current model: replies by another model say which wrote them. */
  setModel(spec) {
    this.model = spec || null;
    for (const root of this.list.querySelectorAll('.msg.assistant')) {
      this.views.get(root)?.renderModel();
    }
  }

  add(message, options) {
    const view = new MessageView(message, options);
    view.thread = this;
    if (view.alternatives) view.setAlternatives(view.alternatives); // Build mode's titles
    view.renderModel();
    view.onRender = () => this.stick();
    this.views.set(view.root, view);
    this.list.insertBefore(view.root, this.running.isConnected ? this.running : null);
    this.setEmpty(false);
    this.stick();
    return view;
  }

  remove(view) {
    view?.root.remove();
    this.setEmpty(this.list.querySelectorAll('.msg').length === 0);
  }

  /** Take the messages below a message (and it too, with `inclusive`) off the thread: a
   * new branch is about to be shown in their place (the server keeps them). */
  removeAfter(view, { inclusive = false } = {}) {
    const roots = [...this.list.querySelectorAll('.msg')];
    const at = roots.indexOf(view?.root);
    if (at < 0) return;
    for (const root of roots.slice(inclusive ? at : at + 1)) root.remove();
    this.setEmpty(this.list.querySelectorAll('.msg').length === 0);
  }

  /** Mark the user message being edited (null: none). */
  markEditing(view) {
    for (const root of this.list.querySelectorAll('.msg.editing')) {
      root.classList.remove('editing');
      const old = this.views.get(root);
      if (old?.editingTag) old.editingTag.hidden = true;
    }
    if (!view?.editingTag) return;
    view.root.classList.add('editing');
    view.editingTag.hidden = false;
  }

  /** A message's view by its id (null when it is not shown). */
  viewOf(messageId) {
    const root = [...this.list.querySelectorAll('.msg')].find((m) => m.dataset.id === messageId);
    return root ? this.views.get(root) : null;
  }

  setEmpty(isEmpty) {
    this.empty.hidden = !isEmpty;
    this.list.hidden = isEmpty;
    this.stick();
  }

  setRunning(on) {
    if (on) this.list.append(this.running);
    else this.running.remove();
    this.stick();
  }

  // Follow new content only if the user hasn't scrolled up to read.
  stick() {
    if (!this.empty.hidden) {
      // The welcome reads from its heading down; on a short screen it starts at the top.
      this.scroller.scrollTop = 0;
      this.jump.hidden = true;
    } else if (this.pinned) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
    }
  }

  /** Scroll a message into view and mark it for a moment (a search result opened). */
  reveal(messageId) {
    const root = [...this.list.querySelectorAll('.msg')].find((m) => m.dataset.id === messageId);
    if (!root) return false;
    this.pinned = false; // stay on it, not the latest line, while the thread settles
    this.jump.hidden = false;
    for (const old of this.list.querySelectorAll('.msg.found')) old.classList.remove('found');
    root.scrollIntoView({ block: 'center' });
    root.classList.add('found');
    clearTimeout(this.foundTimer);
    this.foundTimer = setTimeout(() => root.classList.remove('found'), 4000);
    return true;
  }

  scrollToEnd(force) {
    if (force) this.pinned = true;
    this.jump.hidden = true;
    this.stick();
  }
}
