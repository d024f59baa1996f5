// Build mode canvas: the open conversation's project beside the chat, in four tabs.
//   Preview  – the live preview (a sandboxed iframe on the project's own origin),
//              with the errors it reports and a "Fix it" button.
//   Code     – the file being written, streamed from the turn's file.delta events; between
//              turns, an editor (Ctrl/Cmd+S saves, recorded as a version).
//   Files    – the workspace tree.
//   Versions – one version per turn: changes, compare two, restore.
// Also the action chips that Build-mode replies show instead of raw XML (used by thread.js).
import { workspaceApi as ws } from './api.js';
import hljs from './vendor/highlight.min.js';
import { escapeHtml } from './render.js';
import { confirmDialog } from './confirm.js';
import { copyText } from './clipboard.js';
import { el as h } from './dom.js';
import { formatBytes } from './format.js';
import { svg } from './icons.js';
import { TurnEvent } from './events.js';
import { KEYS, withKeys } from './shortcuts.js';

const WIDTH_KEY = 'gemma-chat.canvas-width';
const COLLAPSED_KEY = 'gemma-chat.canvas-collapsed';
const TABS = ['preview', 'code', 'files', 'versions'];
const TAB_LABELS = { preview: 'Preview', code: 'Code', files: 'Files', versions: 'Versions' };
// allow-same-origin is safe here only because every project's preview has an origin of its own
// (http://<app host>:<project port>), never the app's: the frame keeps its real origin,
// so its fetches of its own files are same-origin and its script errors keep their details,
// while the same-origin policy still keeps it out of the app's DOM, storage, cookies and API.
// (Were the frame same-origin with the app, these two tokens together would let it remove its
// own sandbox.)
export const PREVIEW_SANDBOX =
  'allow-scripts allow-same-origin allow-forms allow-modals allow-popups';
const MIN_WIDTH = 320;
const MIN_CHAT = 360;
const CODE_RENDER_MS = 50; // re-highlight a streaming file at most 20 times a second
const MAX_ERRORS = 20;

const ICONS = {
  refresh: svg('<path d="M21 12a9 9 0 1 1-2.64-6.36L21 8"/><path d="M21 3v5h-5"/>', 16),
  external: svg(
    '<path d="M15 3h6v6"/><path d="M10 14 21 3"/><path d="M18 13v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h6"/>',
    16,
  ),
  download: svg('<path d="M12 3v12"/><path d="m7 10 5 5 5-5"/><path d="M5 21h14"/>', 16),
  folder: svg(
    '<path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2Z"/>',
    16,
  ),
  file: svg(
    '<path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8Z"/><path d="M14 3v5h5"/>',
    15,
  ),
  alert: svg('<circle cx="12" cy="12" r="10"/><path d="M12 8v4M12 16h.01"/>', 16),
  close: svg('<path d="M18 6 6 18M6 6l12 12"/>', 14),
  back: svg('<path d="m15 18-6-6 6-6"/>', 16),
  copy: svg(
    '<rect x="9" y="9" width="13" height="13" rx="2"/><path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"/>',
    14,
  ),
  follow: svg('<path d="M12 5v14"/><path d="m19 12-7 7-7-7"/>', 14),
  wand: svg('<path d="m15 4 5 5L9 20H4v-5Z"/><path d="m13 6 5 5"/>', 14),
  save: svg(
    '<path d="M5 3h11l5 5v11a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2Z"/><path d="M7 3v6h8V3"/><path d="M7 21v-7h10v7"/>',
    14,
  ),
};
const INDENT = '  '; // what Tab inserts in the editor
const PHONE = window.matchMedia('(max-width: 700px)');

// --- action chips (thread.js) -----------------------------------------------------------

const VERBS = {
  write_file: ['Writing', 'Wrote'],
  edit_file: ['Editing', 'Edited'],
  read_file: ['Reading', 'Read'],
  list_files: ['Listing files', 'Listed files'],
  delete_file: ['Deleting', 'Deleted'],
  rename_file: ['Renaming', 'Renamed'],
  open_preview: ['Opening the preview', 'Opened the preview'],
  start_from: ['Starting from', 'Started from'],
  set_slot: ['Setting', 'Set'],
};
const OPENS_FILE = new Set(['write_file', 'edit_file', 'read_file', 'rename_file', 'open_preview']);

const firstLine = (text, max = 140) => {
  const line = String(text ?? '')
    .trim()
    .split('\n')[0];
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** A chip for one action: pending (`end` null), done, or failed. */
export function actionChip(name, params, end) {
  const chip = document.createElement('button');
  chip.type = 'button';
  chip.className = 'action-chip';
  chip.dataset.testid = 'action-chip';
  chip.innerHTML =
    '<span class="chip-icon" aria-hidden="true"></span><span class="chip-text"></span>';
  updateActionChip(chip, name, params, end);
  return chip;
}

export function updateActionChip(chip, name, params, end) {
  const state = !end ? 'pending' : end.ok ? 'ok' : 'error';
  const path = (params.path || '').trim();
  const newPath = (params.new_path || '').trim();
  const named = (params.kit || params.slot || '').trim(); // start_from, set_slot
  const target = name === 'rename_file' && newPath ? `${path} → ${newPath}` : path || named;
  const [doing, done] = VERBS[name] || [`Running ${name}`, `Ran ${name}`];
  let text;
  if (state === 'error') text = `${name}${path ? ` ${path}` : ''}: ${firstLine(end.result)}`;
  // The server's own words where "Wrote index.html" would not be true ("No changes to …").
  else if (state === 'ok') text = end.label || `${done}${target ? ` ${target}` : ''}`;
  else text = `${doing}${target ? ` ${target}` : ''}…`;
  chip.dataset.state = state;
  chip.dataset.action = name;
  chip.querySelector('.chip-icon').textContent =
    state === 'ok' ? '✓' : state === 'error' ? '✗' : '';
  chip.querySelector('.chip-text').textContent = text;
  chip.title = state === 'error' ? `${name} ${path}: ${end.result}` : text;
  const opens = OPENS_FILE.has(name) && state !== 'error' && (newPath || path);
  if (opens) {
    chip.dataset.path = name === 'rename_file' && newPath ? newPath : path;
    chip.removeAttribute('aria-disabled');
  } else {
    delete chip.dataset.path;
    chip.setAttribute('aria-disabled', 'true');
  }
}

// --- helpers ------------------------------------------------------------------------------

const LANGS = {
  html: 'xml',
  htm: 'xml',
  svg: 'xml',
  xml: 'xml',
  css: 'css',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  ts: 'typescript',
  json: 'json',
  md: 'markdown',
  py: 'python',
  sh: 'bash',
  yml: 'yaml',
  yaml: 'yaml',
  txt: 'plaintext',
};
const langOf = (path) => {
  const lang = LANGS[path.slice(path.lastIndexOf('.') + 1).toLowerCase()];
  return lang && hljs.getLanguage(lang) ? lang : null;
};

const timeAgo = (iso) => {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '';
  const s = Math.max(0, (Date.now() - then) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(then).toLocaleString();
};

/** The workspace as a tree: {dirs: Map name → tree, files: [{name, path, size}]}. */
function buildTree(files) {
  const root = { dirs: new Map(), files: [] };
  for (const f of files) {
    const parts = f.path.split('/');
    let node = root;
    for (const dir of parts.slice(0, -1)) {
      if (!node.dirs.has(dir)) node.dirs.set(dir, { dirs: new Map(), files: [] });
      node = node.dirs.get(dir);
    }
    node.files.push({ ...f, name: parts.at(-1) });
  }
  return root;
}

// git's extended header lines: the file head above the diff says it better
const DIFF_NOISE =
  /^(diff --git|index |similarity index|rename (from|to)|(new|deleted) file mode|(old|new) mode)/;

/**
 * A unified diff as rows: {kind: 'ctx'|'add'|'del'|'hunk'|'meta', old, new, text} where
 * `old`/`new` are the line numbers in the old and new file (null where the line is not there).
 */
export function diffRows(text) {
  const rows = [];
  let oldNo = 0;
  let newNo = 0;
  for (const line of text.replace(/\n$/, '').split('\n')) {
    if (DIFF_NOISE.test(line)) continue;
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      rows.push({ kind: 'hunk', old: null, new: null, text: line });
    } else if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('Binary')) {
      rows.push({ kind: 'meta', old: null, new: null, text: line });
    } else if (line.startsWith('\\')) {
      rows.push({ kind: 'meta', old: null, new: null, text: line }); // "\ No newline at end"
    } else if (line.startsWith('+')) {
      rows.push({ kind: 'add', old: null, new: newNo++, text: line.slice(1) });
    } else if (line.startsWith('-')) {
      rows.push({ kind: 'del', old: oldNo++, new: null, text: line.slice(1) });
    } else if (line || oldNo || newNo) {
      rows.push({ kind: 'ctx', old: oldNo++, new: newNo++, text: line.slice(1) });
    }
  }
  return rows;
}

const SIGN = { add: '+', del: '-', ctx: ' ' };
const num = (n) => (n == null ? '' : String(n));

/** One column of line numbers per side, the sign, the text. */
function renderUnified(rows) {
  return rows
    .filter((r) => r.kind !== 'meta' || !/^(\+\+\+|---) /.test(r.text))
    .map((r) => {
      if (r.kind === 'hunk' || r.kind === 'meta') {
        return (
          `<span class="dl ${r.kind}"><span class="ln"></span><span class="ln"></span>` +
          `<span class="dt">${escapeHtml(r.text)}</span></span>`
        );
      }
      return (
        `<span class="dl ${r.kind}"><span class="ln">${num(r.old)}</span>` +
        `<span class="ln">${num(r.new)}</span>` +
        `<span class="dt"><span class="sg">${SIGN[r.kind]}</span>${escapeHtml(r.text) || ' '}</span></span>`
      );
    })
    .join('');
}

/** Side by side: the old file left, the new right; a run of removed lines faces the run of
 * added lines that replaced it. */
function splitPairs(rows) {
  const pairs = [];
  let i = 0;
  while (i < rows.length) {
    const r = rows[i];
    if (r.kind === 'meta' && /^(\+\+\+|---) /.test(r.text)) {
      i += 1;
      continue;
    }
    if (r.kind === 'del' || r.kind === 'add') {
      const dels = [];
      const adds = [];
      while (i < rows.length && rows[i].kind === 'del') dels.push(rows[i++]);
      while (i < rows.length && rows[i].kind === 'add') adds.push(rows[i++]);
      for (let k = 0; k < Math.max(dels.length, adds.length); k++) {
        pairs.push({ left: dels[k] ?? null, right: adds[k] ?? null });
      }
      continue;
    }
    pairs.push(r.kind === 'ctx' ? { left: r, right: r } : { full: r });
    i += 1;
  }
  return pairs;
}

function splitCell(row, side) {
  if (!row) return '<span class="ln"></span><span class="dl empty"> </span>';
  const kind = row.kind === 'ctx' ? 'ctx' : row.kind;
  const n = side === 'left' ? row.old : row.new;
  return (
    `<span class="ln">${num(n)}</span>` +
    `<span class="dl ${kind}">${escapeHtml(row.text) || ' '}</span>`
  );
}

function renderSplit(rows) {
  return splitPairs(rows)
    .map((p) =>
      p.full
        ? `<div class="sr full ${p.full.kind}"><span class="dl ${p.full.kind}">` +
          `${escapeHtml(p.full.text)}</span></div>`
        : `<div class="sr"><div class="sc">${splitCell(p.left, 'left')}</div>` +
          `<div class="sc">${splitCell(p.right, 'right')}</div></div>`,
    )
    .join('');
}

// --- the canvas -----------------------------------------------------------------------------

export class Canvas {
  /**
   * app: the .app grid (gets `has-canvas` and --canvas-w); root: the <aside> to build in;
   * toggle: the topbar button that folds the canvas; dialog: the confirm <dialog>;
   * onFix(text): send a message through the normal send path; toast: errors.
   */
  constructor({ app, root, toggle, dialog, onFix, toast }) {
    Object.assign(this, { app, root, toggle, dialog, onFix, toast });
    this.convId = null;
    this.mode = 'chat';
    this.busy = false;
    this.tab = 'preview';
    this.seq = 0;
    this.previewBase = null; // http://127.0.0.1:<project port>/
    this.previewOrigin = null;
    this.previewPath = '';
    this.errors = [];
    this.files = [];
    this.workspacePath = null;
    this.buffers = new Map(); // path → {text, streaming}
    this.writing = null; // the path being written now
    this.codePath = null;
    this.draft = null; // the open file's unsaved edit: {path, base, etag, text}
    this.saving = false;
    this.tabEscape = false; // Esc in the editor: the next Tab leaves it
    this.follow = true;
    this.codePinned = true;
    this.codeTimer = 0;
    this.codeRendered = 0;
    this.versions = [];
    this.selected = [];
    this.filesTimer = 0;
    this.collapsed = localStorage.getItem(COLLAPSED_KEY) === '1';
    this.build();
    this.reset();
    this.applyWidth(Number(localStorage.getItem(WIDTH_KEY)) || this.defaultWidth());
    this.matchTopbarHeight();
    window.addEventListener('message', (e) => this.onPreviewMessage(e));
    window.addEventListener('resize', () => this.applyWidth(this.width));
    window.addEventListener('beforeunload', (e) => {
      if (!this.dirty) return;
      e.preventDefault(); // the browser asks before an unsaved edit is lost
      e.returnValue = '';
    });
    toggle?.addEventListener('click', () => this.setCollapsed(!this.collapsed));
  }

  // --- DOM ------------------------------------------------------------------------------

  build() {
    const root = this.root;
    root.classList.add('canvas');
    root.dataset.testid = 'canvas';
    root.setAttribute('aria-label', 'Project canvas');
    root.innerHTML = '';
    this.handle = h('div', {
      class: 'canvas-resize',
      role: 'separator',
      'aria-orientation': 'vertical',
      'aria-label': 'Resize the canvas',
      tabindex: '0',
      title: 'Drag to resize · double-click to reset',
    });
    const head = h('div', { class: 'canvas-head' });
    this.tablist = h('div', { class: 'canvas-tabs', role: 'tablist', 'aria-label': 'Canvas' });
    this.tabButtons = {};
    this.panels = {};
    for (const tab of TABS) {
      const button = h(
        'button',
        {
          type: 'button',
          class: 'canvas-tab',
          role: 'tab',
          id: `canvas-tab-${tab}`,
          'data-testid': `canvas-tab-${tab}`,
          'aria-controls': `canvas-panel-${tab}`,
          'aria-selected': 'false',
          tabindex: '-1',
        },
        `<span>${TAB_LABELS[tab]}</span><i class="tab-dot" aria-hidden="true"></i>`,
      );
      button.addEventListener('click', () => this.setTab(tab));
      this.tabButtons[tab] = button;
      this.tablist.append(button);
    }
    this.tablist.addEventListener('keydown', (e) => {
      const i = TABS.indexOf(this.tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      this.setTab(TABS[(next + TABS.length) % TABS.length]);
      this.tabButtons[this.tab].focus();
    });
    const tools = h('div', { class: 'canvas-tools' });
    this.refreshBtn = this.toolButton('refresh', 'Reload the preview', 'preview-refresh');
    this.openLink = h(
      'a',
      {
        class: 'icon-btn sm',
        target: '_blank',
        rel: 'noopener noreferrer',
        title: 'Open the preview in a new tab',
        'aria-label': 'Open the preview in a new tab',
        'data-testid': 'preview-open',
      },
      ICONS.external,
    );
    this.zipLink = h(
      'a',
      {
        class: 'icon-btn sm',
        download: '',
        title: 'Download the project (.zip)',
        'aria-label': 'Download the project as a zip file',
        'data-testid': 'download-zip',
      },
      ICONS.download,
    );
    this.folderBtn = this.toolButton('folder', 'Project folder', 'open-folder');
    this.folderBtn.hidden = true;
    this.folderPop = h('div', {
      class: 'canvas-pop',
      role: 'dialog',
      'aria-label': 'Project folder',
    });
    this.folderPop.hidden = true;
    tools.append(this.refreshBtn, this.openLink, this.zipLink, this.folderBtn, this.folderPop);
    this.refreshBtn.addEventListener('click', () => this.reloadPreview());
    this.folderBtn.addEventListener('click', (e) => {
      e.stopPropagation();
      this.toggleFolder();
    });
    document.addEventListener('click', (e) => {
      if (!this.folderPop.hidden && !e.target.closest('.canvas-pop')) this.folderPop.hidden = true;
    });
    head.append(this.tablist, tools);

    const body = h('div', { class: 'canvas-body' });
    for (const tab of TABS) {
      const panel = h('section', {
        class: `canvas-panel panel-${tab}`,
        role: 'tabpanel',
        id: `canvas-panel-${tab}`,
        'aria-labelledby': `canvas-tab-${tab}`,
      });
      panel.hidden = true;
      this.panels[tab] = panel;
      body.append(panel);
    }
    this.buildPreview();
    this.buildCode();
    this.buildFiles();
    this.buildVersions();
    // The built-in model's one line (guide.js fills it): what it can do, and what would do more.
    this.guideSlot = h('div', { class: 'canvas-guide', 'data-testid': 'canvas-guide' });
    this.guideSlot.hidden = true;
    root.append(this.handle, head, this.guideSlot, body);
    this.setupResize();
    this.setTab('preview');
  }

  toolButton(icon, label, testid) {
    return h(
      'button',
      {
        type: 'button',
        class: 'icon-btn sm',
        title: label,
        'aria-label': label,
        'data-testid': testid,
      },
      ICONS[icon],
    );
  }

  buildPreview() {
    const panel = this.panels.preview;
    this.frameWrap = h('div', { class: 'preview-wrap' });
    this.frame = h('iframe', {
      class: 'preview-frame',
      'data-testid': 'preview-frame',
      sandbox: PREVIEW_SANDBOX,
      title: 'Live preview',
      referrerpolicy: 'no-referrer',
    });
    this.frame.hidden = true;
    this.previewEmpty = h('div', { class: 'canvas-empty' });
    this.errorsBox = h('div', {
      class: 'preview-errors',
      'data-testid': 'preview-errors',
      role: 'alert',
    });
    this.errorsBox.hidden = true;
    this.errorsBox.innerHTML =
      `<div class="pe-head">${ICONS.alert}<strong class="pe-count"></strong>` +
      `<button type="button" class="pe-fix" data-testid="fix-it">` +
      `${ICONS.wand}<span>Fix it</span></button>` +
      '<button type="button" class="icon-btn sm pe-dismiss" aria-label="Dismiss the errors" ' +
      `title="Dismiss">${ICONS.close}</button></div>` +
      '<ol class="pe-list"></ol>';
    this.fixBtn = this.errorsBox.querySelector('.pe-fix');
    this.fixBtn.addEventListener('click', () => this.fix());
    this.errorsBox.querySelector('.pe-dismiss').addEventListener('click', () => this.setErrors([]));
    this.frameWrap.append(this.frame, this.previewEmpty);
    panel.append(this.frameWrap, this.errorsBox);
  }

  buildCode() {
    const panel = this.panels.code;
    const bar = h('div', { class: 'code-bar' });
    this.picker = h('select', {
      class: 'code-picker',
      'aria-label': 'File',
      'data-testid': 'code-file-picker',
    });
    this.picker.addEventListener('change', () => this.openFile(this.picker.value));
    this.codeStatus = h('span', { class: 'code-status', 'aria-live': 'polite' });
    this.followBtn = h(
      'button',
      {
        type: 'button',
        class: 'chip-btn',
        'aria-pressed': 'true',
        title: 'Follow the file being written',
      },
      `${ICONS.follow}<span>Follow</span>`,
    );
    this.followBtn.addEventListener('click', () => {
      this.follow = !this.follow;
      this.followBtn.setAttribute('aria-pressed', String(this.follow));
      if (this.follow && this.writing) this.showCode(this.writing);
    });
    this.revertBtn = h(
      'button',
      {
        type: 'button',
        class: 'chip-btn',
        'data-testid': 'code-revert',
        title: 'Discard your changes to this file',
      },
      'Revert',
    );
    this.saveBtn = h(
      'button',
      {
        type: 'button',
        class: 'chip-btn primary',
        'data-testid': 'code-save',
        title: withKeys('Save', KEYS.save),
        'aria-keyshortcuts': 'Control+S Meta+S',
      },
      `${ICONS.save}<span>Save</span>`,
    );
    this.revertBtn.hidden = this.saveBtn.hidden = true;
    this.revertBtn.addEventListener('click', () => this.revertDraft());
    this.saveBtn.addEventListener('click', () => this.save());
    bar.append(this.picker, this.codeStatus, this.revertBtn, this.saveBtn, this.followBtn);
    this.codeScroll = h('div', { class: 'code-scroll' });
    this.gutter = h('pre', { class: 'code-gutter', 'aria-hidden': 'true' });
    this.codeEl = h('code', { class: 'hljs' });
    const pre = h('pre', { class: 'code-view', 'data-testid': 'code-view', tabindex: '0' });
    pre.append(this.codeEl);
    this.codePre = pre;
    // The editor: a textarea laid exactly over the highlighted text (same font, padding and
    // size), its own text transparent, so the caret and selection are the textarea's and the
    // colours the highlighter's. Read-only while a file streams or a turn runs.
    this.codeInput = h('textarea', {
      class: 'code-input',
      'data-testid': 'code-editor',
      wrap: 'off',
      spellcheck: 'false',
      autocapitalize: 'off',
      autocomplete: 'off',
      autocorrect: 'off',
      'aria-label': 'File contents',
      'aria-multiline': 'true',
    });
    this.codeStack = h('div', { class: 'code-stack' });
    this.codeStack.append(pre, this.codeInput);
    this.codeScroll.append(this.gutter, this.codeStack);
    this.codeInput.addEventListener('input', () => this.onEdit());
    this.codeInput.addEventListener('keydown', (e) => this.onEditorKey(e));
    this.panels.code.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 's') {
        e.preventDefault(); // never the browser's "Save page"
        this.save();
      }
    });
    this.codeScroll.addEventListener('scroll', () => {
      const s = this.codeScroll;
      this.codePinned = s.scrollHeight - s.scrollTop - s.clientHeight < 48;
    });
    this.codeEmpty = h(
      'div',
      { class: 'canvas-empty' },
      '<p>No file open yet. Files appear here as they are written.</p>',
    );
    panel.append(bar, this.codeScroll, this.codeEmpty);
  }

  buildFiles() {
    const panel = this.panels.files;
    this.tree = h('ul', {
      class: 'file-tree',
      'data-testid': 'file-tree',
      role: 'tree',
      'aria-label': 'Project files',
    });
    this.filesEmpty = h('div', { class: 'canvas-empty' }, '<p>No files yet.</p>');
    this.filesFoot = h('div', { class: 'files-foot' });
    panel.append(this.tree, this.filesEmpty, this.filesFoot);
    this.tree.addEventListener('click', (e) => {
      const item = e.target.closest('[data-testid="file-item"]');
      if (item) this.openFile(item.dataset.path);
    });
  }

  buildVersions() {
    const panel = this.panels.versions;
    this.versionBar = h('div', { class: 'version-bar' });
    this.compareBtn = h(
      'button',
      { type: 'button', class: 'chip-btn', 'data-testid': 'version-compare' },
      'Compare',
    );
    this.compareBtn.disabled = true;
    this.compareBtn.addEventListener('click', () => this.compareSelected());
    this.versionHint = h('span', { class: 'version-hint' }, 'Select two versions to compare them.');
    this.versionBar.append(this.versionHint, this.compareBtn);
    this.versionList = h('ol', { class: 'version-list', 'aria-label': 'Versions' });
    this.versionsEmpty = h(
      'div',
      { class: 'canvas-empty' },
      '<p>Each turn records a version of the project.</p>',
    );
    this.diffView = h('div', { class: 'diff-view', 'data-testid': 'diff-view' });
    this.diffView.hidden = true;
    panel.append(this.versionBar, this.versionList, this.versionsEmpty, this.diffView);
    this.versionList.addEventListener('click', (e) => {
      const item = e.target.closest('.version-item');
      if (!item) return;
      const version = this.versions.find((v) => v.id === item.dataset.id);
      if (!version) return;
      if (e.target.closest('[data-act="restore"]')) this.restore(version);
      else if (e.target.closest('[data-act="changes"]')) this.showChanges(version);
    });
    this.versionList.addEventListener('change', (e) => {
      const box = e.target.closest('input[type="checkbox"]');
      if (!box) return;
      const id = box.closest('.version-item').dataset.id;
      this.selected = this.selected.filter((x) => x !== id);
      if (box.checked) this.selected.push(id);
      if (this.selected.length > 2) this.selected = this.selected.slice(-2);
      this.syncSelection();
    });
  }

  // --- visibility, width, tabs ------------------------------------------------------------

  /** Beside a narrow chat column the chat's header takes two rows; the canvas header follows
   * its height (--topbar-h) so the two bottom borders stay one line. */
  matchTopbarHeight() {
    const topbar = this.app.querySelector('.topbar');
    if (!topbar || typeof ResizeObserver === 'undefined') return;
    new ResizeObserver(() => {
      this.app.style.setProperty('--topbar-h', `${topbar.offsetHeight}px`);
    }).observe(topbar);
  }

  get visible() {
    return this.mode === 'build';
  }

  sync() {
    const open = this.visible && !this.collapsed;
    this.root.hidden = !open;
    this.app.classList.toggle('has-canvas', open);
    if (this.toggle) {
      this.toggle.hidden = !this.visible;
      this.toggle.setAttribute('aria-expanded', String(open));
      this.toggle.title = open ? 'Hide the canvas' : 'Show the canvas';
    }
    if (open) this.ensureFrame();
  }

  setCollapsed(collapsed) {
    this.collapsed = collapsed;
    localStorage.setItem(COLLAPSED_KEY, collapsed ? '1' : '0');
    this.sync();
  }

  defaultWidth() {
    return Math.round(window.innerWidth * 0.46);
  }

  applyWidth(width) {
    const sidebar = this.app.classList.contains('sidebar-collapsed') ? 0 : 272;
    const max = Math.max(MIN_WIDTH, window.innerWidth - sidebar - MIN_CHAT);
    this.width = Math.round(Math.min(Math.max(width, MIN_WIDTH), max));
    this.app.style.setProperty('--canvas-w', `${this.width}px`);
    this.handle.setAttribute('aria-valuenow', String(this.width));
  }

  setupResize() {
    const handle = this.handle;
    let start = null;
    handle.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      start = { x: e.clientX, width: this.width };
      handle.setPointerCapture(e.pointerId);
      this.app.classList.add('canvas-resizing');
    });
    handle.addEventListener('pointermove', (e) => {
      if (start) this.applyWidth(start.width + (start.x - e.clientX));
    });
    const end = () => {
      if (!start) return;
      start = null;
      this.app.classList.remove('canvas-resizing');
      localStorage.setItem(WIDTH_KEY, String(this.width));
    };
    handle.addEventListener('pointerup', end);
    handle.addEventListener('pointercancel', end);
    handle.addEventListener('dblclick', () => {
      this.applyWidth(this.defaultWidth());
      localStorage.removeItem(WIDTH_KEY);
    });
    handle.addEventListener('keydown', (e) => {
      const step = e.shiftKey ? 96 : 32;
      const delta = { ArrowLeft: step, ArrowRight: -step }[e.key];
      if (!delta) return;
      e.preventDefault();
      this.applyWidth(this.width + delta);
      localStorage.setItem(WIDTH_KEY, String(this.width));
    });
  }

  setTab(tab) {
    this.tab = tab;
    for (const t of TABS) {
      const on = t === tab;
      this.tabButtons[t].setAttribute('aria-selected', String(on));
      this.tabButtons[t].tabIndex = on ? 0 : -1;
      this.panels[t].hidden = !on;
    }
    if (tab === 'code') this.renderCode(true);
    if (tab === 'files' && this.convId) this.loadFiles();
    if (tab === 'versions' && this.convId) this.loadVersions();
  }

  // --- conversation -----------------------------------------------------------------------

  /** The open conversation (null: a new, unsent chat in `mode`). */
  setConversation(conv, { mode = 'chat' } = {}) {
    const id = conv?.id ?? null;
    this.mode = conv?.mode ?? mode;
    if (id !== this.convId) {
      this.convId = id;
      this.reset();
      if (!id) this.setTab('preview'); // a new chat starts on its (empty) preview
      if (id && this.visible) this.load();
    } else if (id && this.visible && !this.previewBase) {
      this.load();
    }
    this.sync();
    this.onSync?.();
  }

  reset() {
    this.seq += 1;
    this.previewBase = null;
    this.previewOrigin = null;
    this.previewPath = '';
    this.previewError = null;
    this.frame.removeAttribute('src');
    this.frame.hidden = true;
    this.setErrors([]);
    this.files = [];
    this.filesLoaded = false;
    this.workspacePath = null;
    this.buffers.clear();
    this.writing = null;
    this.codePath = null;
    this.draft = null;
    this.follow = true;
    this.followBtn.setAttribute('aria-pressed', 'true');
    this.versions = [];
    this.selected = [];
    this.diffView.hidden = true;
    this.tabButtons.code.classList.remove('live');
    const id = this.convId;
    this.openLink.hidden = this.zipLink.hidden = !id;
    this.refreshBtn.disabled = !id;
    this.folderBtn.hidden = true;
    this.folderPop.hidden = true;
    if (id) this.zipLink.href = ws.exportUrl(id);
    this.renderPreviewEmpty();
    this.renderFiles();
    this.renderVersions();
    this.renderPicker();
    this.renderCode(true);
    this.syncDirty();
  }

  async load() {
    const seq = this.seq;
    const id = this.convId;
    try {
      const { url, origin } = await ws.preview(id);
      if (seq !== this.seq) return;
      this.previewBase = url.endsWith('/') ? url : `${url}/`;
      this.previewOrigin = origin || new URL(url).origin;
      this.openLink.href = this.previewBase;
      this.ensureFrame();
    } catch (e) {
      if (seq !== this.seq) return;
      this.previewError =
        e.status === 404 ? 'The live preview is not available on this server.' : e.message;
      this.renderPreviewEmpty();
    }
    this.loadFiles();
    if (this.tab === 'versions') this.loadVersions();
  }

  /** Reload the file list and versions (a turn this tab didn't stream has ended). */
  refresh() {
    if (!this.convId || !this.visible) return;
    this.loadFiles();
    this.loadVersions();
  }

  setBusy(busy) {
    this.busy = busy;
    this.fixBtn.disabled = busy;
    this.fixBtn.title = busy
      ? 'Wait for the current reply to finish'
      : 'Ask the model to fix these errors';
    this.renderVersions();
    this.renderCode(true); // the editor is read-only while the model works
    this.renderPreviewEmpty();
  }

  // --- preview ------------------------------------------------------------------------------

  previewUrl(path = this.previewPath) {
    if (!this.previewBase) return null;
    const rel = (path || '').replace(/^\/+/, '');
    return (
      this.previewBase +
      (rel === 'index.html' ? '' : rel.split('/').map(encodeURIComponent).join('/'))
    );
  }

  /** Point the iframe at the preview once the canvas is showing (not for hidden canvases). */
  ensureFrame() {
    if (!this.previewBase || this.root.hidden) return;
    if (!this.frame.getAttribute('src')) this.frame.src = this.previewUrl();
    this.renderPreviewEmpty(); // shows the frame, unless there is nothing to run
  }

  reloadPreview(path = this.previewPath) {
    if (!this.previewBase) return;
    this.previewPath = path;
    this.setErrors([]);
    // A cross-origin frame can't be told to reload; setting src (even to itself) navigates it.
    this.frame.src = this.previewUrl(path);
    this.openLink.href = this.previewUrl(path);
  }

  renderPreviewEmpty() {
    // Nothing to run: the project (or the version restored) has no files, and no reply is
    // writing any. The preview page would only say it waits for index.html.
    const empty = Boolean(
      this.previewBase && this.filesLoaded && !this.files.length && !this.busy && !this.writing,
    );
    const showFrame = Boolean(this.previewBase) && !empty;
    this.previewEmpty.hidden = showFrame;
    this.previewEmpty.dataset.testid = empty ? 'preview-empty-project' : 'preview-empty';
    if (this.previewBase && !this.root.hidden) this.frame.hidden = !showFrame;
    if (showFrame) return;
    if (empty) {
      const restored = this.versions.length > 1;
      this.previewEmpty.innerHTML =
        '<div class="canvas-empty-mark">∅</div>' +
        `<p><strong>${restored ? 'No files in this version' : 'The project is empty'}</strong></p>` +
        `<p>${
          restored
            ? 'The version shown has no files, so there is nothing to preview. Restore another ' +
              'version in Versions, or describe what to build.'
            : 'There is nothing to preview yet. Describe what to build.'
        }</p>`;
      return;
    }
    this.previewEmpty.innerHTML = this.previewError
      ? `<p>${escapeHtml(this.previewError)}</p>`
      : '<div class="canvas-empty-mark">✦</div><p><strong>Describe what to build.</strong></p>' +
        '<p>The app appears here while the model writes it, and updates live as it changes.</p>';
  }

  onPreviewMessage(e) {
    // Only this project's preview, in this frame: its window and its own origin.
    if (!this.frame.contentWindow || e.source !== this.frame.contentWindow) return;
    if (!this.previewOrigin || e.origin !== this.previewOrigin) return;
    const m = e.data;
    if (!m || typeof m !== 'object') return;
    if (m.type === 'gemma-preview-load') {
      this.setErrors([]);
      if (typeof m.path === 'string') this.previewPath = m.path;
      if (this.previewBase) this.openLink.href = this.previewUrl();
    } else if (m.type === 'gemma-preview-error') {
      const error = {
        message: String(m.message ?? 'Unknown error').slice(0, 2000),
        source: typeof m.source === 'string' ? m.source.slice(0, 300) : '',
        line: Number(m.line) || 0,
      };
      const same = this.errors.find(
        (x) => x.message === error.message && x.source === error.source && x.line === error.line,
      );
      if (same) same.count += 1;
      else if (this.errors.length < MAX_ERRORS) this.errors.push({ ...error, count: 1 });
      this.setErrors(this.errors);
    }
  }

  setErrors(errors) {
    this.errors = errors;
    this.errorsBox.hidden = !errors.length;
    if (!errors.length) return;
    const total = errors.reduce((n, x) => n + x.count, 0);
    this.errorsBox.querySelector('.pe-count').textContent =
      `${total} error${total === 1 ? '' : 's'} in the preview`;
    const list = this.errorsBox.querySelector('.pe-list');
    list.replaceChildren(
      ...errors.map((x) => {
        const li = h('li');
        const msg = h('span', { class: 'pe-msg' });
        msg.textContent = x.message;
        li.append(msg);
        const where = [x.source, x.line ? `line ${x.line}` : ''].filter(Boolean).join(', ');
        if (where || x.count > 1) {
          const src = h('span', { class: 'pe-src' });
          src.textContent = [where, x.count > 1 ? `×${x.count}` : ''].filter(Boolean).join(' · ');
          li.append(src);
        }
        return li;
      }),
    );
  }

  fix() {
    if (!this.errors.length || this.busy) return;
    const lines = this.errors.map((x) => {
      const where = [
        x.source && x.source !== 'console.error' ? x.source : '',
        x.line ? `line ${x.line}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      return `- ${x.message}${where ? ` (${where})` : ''}`;
    });
    const text = `The preview shows these errors:\n\n${lines.join('\n')}\n\nPlease fix them.`;
    this.setErrors([]);
    this.onFix?.(text);
  }

  toggleFolder() {
    if (!this.folderPop.hidden) {
      this.folderPop.hidden = true;
      return;
    }
    this.folderPop.innerHTML =
      '<div class="pop-title">Project folder</div><code class="pop-path"></code>' +
      `<button type="button" class="chip-btn pop-copy">${ICONS.copy}<span>Copy path</span></button>`;
    this.folderPop.querySelector('.pop-path').textContent = this.workspacePath;
    this.folderPop.querySelector('.pop-copy').addEventListener('click', async (e) => {
      const label = e.currentTarget.querySelector('span');
      if (await copyText(this.workspacePath)) label.textContent = 'Copied';
    });
    this.folderPop.hidden = false;
  }

  // --- turn events (the streaming reply of the open conversation) ------------------------

  onTurnEvent(convId, name, data) {
    if (convId !== this.convId || !this.visible) return;
    switch (name) {
      case TurnEvent.FILE_START:
        this.fileStart(data.path);
        break;
      case TurnEvent.FILE_DELTA: {
        if (!data.path) break;
        let buffer = this.buffers.get(data.path);
        if (!buffer || !buffer.streaming) buffer = this.fileStart(data.path);
        buffer.text += data.text ?? '';
        if (this.codePath === data.path) this.scheduleCode();
        break;
      }
      case TurnEvent.ACTION_END:
        this.actionEnd(data);
        break;
      case TurnEvent.PREVIEW:
        if (data.path && this.previewBase) {
          this.reloadPreview(data.path);
          this.setTab('preview');
        }
        break;
      case TurnEvent.VERSION:
        this.loadVersions();
        break;
      case TurnEvent.TURN_END:
        this.endWriting({ unfinished: 'reload' });
        this.loadFiles();
        this.loadVersions();
        break;
      default:
        break;
    }
  }

  fileStart(path) {
    const buffer = { text: '', streaming: true };
    this.buffers.set(path, buffer);
    this.writing = path;
    this.tabButtons.code.classList.add('live');
    if ((this.follow || !this.codePath) && !this.dirty) this.showCode(path);
    this.renderPicker();
    return buffer;
  }

  actionEnd(data) {
    const path = data.path;
    const changes = data.ok && data.name !== 'read_file' && data.name !== 'list_files';
    if (data.name === 'write_file' && path) {
      const buffer = this.buffers.get(path);
      if (buffer) buffer.streaming = false;
      if (this.writing === path) this.endWriting();
      if (data.ok)
        this.refreshText(path); // the saved file is what counts, should it differ
      else this.buffers.delete(path); // not written: the file on disk is unchanged
    } else if (changes && path) {
      this.buffers.delete(path); // changed on disk: read it again when shown
    }
    if (changes) this.scheduleFiles();
    if (path && this.codePath === path && !this.buffers.has(path)) this.showCode(path);
    else if (this.codePath === path) this.renderCode(true);
  }

  /** Re-read a file in the background and show it if it changed (no "Loading…" flash). */
  async refreshText(path) {
    const seq = this.seq;
    try {
      const { text, etag } = await ws.fileWithTag(this.convId, path);
      const buffer = this.buffers.get(path);
      if (seq !== this.seq || buffer?.streaming) return;
      if (buffer?.text === text) {
        buffer.etag = etag; // the same text: now known to be the saved copy
        if (this.codePath === path) this.renderCode(true);
        return;
      }
      this.buffers.set(path, { text, streaming: false, etag });
      if (this.codePath === path) this.renderCode(true);
    } catch {
      /* deleted meanwhile: showing it will say so */
    }
  }

  /** No file is being written now; at the end of a (stopped) turn, a file that never
   * finished is read again from disk, where it was not written. */
  endWriting({ unfinished = 'keep' } = {}) {
    this.writing = null;
    this.tabButtons.code.classList.remove('live');
    for (const [path, buffer] of this.buffers) {
      if (buffer.streaming && unfinished === 'reload') this.buffers.delete(path);
      buffer.streaming = false;
    }
    this.renderPicker();
    if (this.codePath && !this.buffers.has(this.codePath)) this.showCode(this.codePath);
    else this.renderCode(true);
  }

  // --- code -----------------------------------------------------------------------------

  /** Show a file in the Code tab (from the files tree, a chip or the picker). */
  openFile(path) {
    if (!path) return;
    if (this.dirty && path !== this.codePath) {
      // Another file: only once the unsaved edit is saved or given up.
      this.confirmLeave().then((ok) => (ok ? this.openFile(path) : this.renderPicker()));
      return;
    }
    if (this.collapsed) this.setCollapsed(false);
    this.follow = path === this.writing;
    this.followBtn.setAttribute('aria-pressed', String(this.follow));
    this.showCode(path);
    this.setTab('code');
  }

  async showCode(path) {
    const changed = path !== this.codePath;
    this.codePath = path;
    if (changed) {
      this.codePinned = Boolean(this.buffers.get(path)?.streaming);
      this.codeError = this.savedNote = '';
    }
    this.renderPicker();
    this.renderCode(true);
    if (changed && !this.buffers.get(path)?.streaming) this.codeScroll.scrollTop = 0;
    if (!this.buffers.has(path) && this.convId) {
      const seq = this.seq;
      try {
        const { text, etag } = await ws.fileWithTag(this.convId, path);
        if (seq !== this.seq || this.buffers.get(path)?.streaming) return;
        this.buffers.set(path, { text, streaming: false, etag });
      } catch (e) {
        if (seq !== this.seq) return;
        this.buffers.set(path, { text: '', streaming: false, error: e.message });
      }
      if (this.codePath === path) this.renderCode(true);
    }
  }

  scheduleCode() {
    if (this.codeTimer) return;
    const wait = Math.max(0, CODE_RENDER_MS - (performance.now() - this.codeRendered));
    this.codeTimer = setTimeout(() => {
      this.codeTimer = 0;
      requestAnimationFrame(() => this.renderCode());
    }, wait);
  }

  /** The open file's buffer can be edited: loaded from disk (its etag known), not streaming. */
  editable(buffer) {
    return Boolean(buffer && !buffer.streaming && !buffer.error && buffer.etag !== undefined);
  }

  renderCode(force = false) {
    const path = this.codePath;
    const buffer = path ? this.buffers.get(path) : null;
    this.codeEmpty.hidden = Boolean(path);
    this.codeScroll.hidden = !path;
    if (!path) {
      this.codeStatus.textContent = '';
      this.codeInput.hidden = true;
      return;
    }
    if (this.tab !== 'code' && !force) return;
    this.codeRendered = performance.now();
    const editing = this.editable(buffer);
    const draft = editing && this.draft?.path === path ? this.draft : null;
    const text = draft ? draft.text : (buffer?.text ?? '');
    const lang = langOf(path);
    let html;
    if (buffer?.error) html = `<span class="code-error">${escapeHtml(buffer.error)}</span>`;
    else if (!buffer) html = '<span class="code-loading">Loading…</span>';
    else if (lang && text.length < 400_000) {
      html = hljs.highlight(text, { language: lang, ignoreIllegals: true }).value;
    } else html = escapeHtml(text);
    if (this.codeEl.innerHTML !== html) this.codeEl.innerHTML = html;
    this.codePre.dataset.path = path;
    this.codePre.dataset.streaming = String(Boolean(buffer?.streaming));
    this.codeStack.classList.toggle('editable', editing);
    this.codePre.tabIndex = editing ? -1 : 0; // the textarea takes the focus when editing
    this.codePre.toggleAttribute('aria-hidden', editing);
    this.codeInput.hidden = !editing;
    if (editing) {
      if (this.codeInput.value !== text) this.codeInput.value = text;
      this.codeInput.readOnly = this.busy || this.saving;
      this.codeInput.dataset.path = path;
      this.codeInput.setAttribute('aria-label', `Contents of ${path}`);
    } else if (this.codeInput === document.activeElement) {
      this.codePre.focus();
    }
    const lines = text ? text.split('\n').length - (text.endsWith('\n') ? 1 : 0) : 1;
    if (this.gutterLines !== lines) {
      this.gutterLines = lines;
      this.gutter.textContent = Array.from({ length: Math.max(1, lines) }, (_, i) => i + 1).join(
        '\n',
      );
    }
    this.renderCodeStatus(buffer, lines);
    if (buffer?.streaming && this.codePinned)
      this.codeScroll.scrollTop = this.codeScroll.scrollHeight;
  }

  renderCodeStatus(buffer, lines) {
    const status = this.codeStatus;
    status.classList.toggle('live', Boolean(buffer?.streaming));
    status.classList.toggle('unsaved', this.dirty && !this.codeError);
    status.classList.toggle('error', Boolean(this.codeError));
    if (buffer?.streaming) status.textContent = 'Writing…';
    else if (this.codeError) status.textContent = this.codeError;
    else if (this.saving) status.textContent = 'Saving…';
    else if (this.dirty) status.textContent = 'Unsaved changes';
    else if (this.savedNote) status.textContent = this.savedNote;
    else if (buffer && !buffer.error) {
      const count = `${lines} line${lines === 1 ? '' : 's'}`;
      status.textContent =
        this.busy && this.editable(buffer) ? `${count} · read-only while the model works` : count;
    } else status.textContent = '';
    status.title = status.textContent;
  }

  // --- editing --------------------------------------------------------------------------

  /** The open file has changes that are not saved. */
  get dirty() {
    return Boolean(this.draft && this.draft.text !== this.draft.base);
  }

  onEdit() {
    const path = this.codePath;
    const buffer = path ? this.buffers.get(path) : null;
    if (!this.editable(buffer)) return;
    if (this.draft?.path !== path) {
      this.draft = { path, base: buffer.text, etag: buffer.etag, text: buffer.text };
    }
    this.draft.text = this.codeInput.value;
    this.codeError = '';
    this.savedNote = '';
    this.renderCode(true); // at once: the typed text is transparent until highlighted
    this.syncDirty();
  }

  /** The unsaved mark: the Code tab's dot, the picker's entry, Save and Revert. */
  syncDirty() {
    const dirty = this.dirty;
    this.tabButtons.code.classList.toggle('unsaved', dirty);
    this.tabButtons.code.title = dirty ? 'Code (unsaved changes)' : '';
    this.saveBtn.hidden = this.revertBtn.hidden = !dirty;
    this.followBtn.hidden = dirty; // an unsaved edit is not followed away from
    this.saveBtn.disabled = this.busy || this.saving;
    this.saveBtn.title = this.busy
      ? 'Wait for the reply to finish, then save'
      : withKeys('Save', KEYS.save);
    for (const option of this.picker.options) {
      const mark = dirty && option.value === this.draft.path;
      option.textContent = `${mark ? '● ' : ''}${option.dataset.label ?? option.value}`;
    }
  }

  /** Insert text at the caret as typing would (the browser's undo keeps working). */
  insertText(text) {
    const input = this.codeInput;
    if (!document.execCommand?.('insertText', false, text)) {
      input.setRangeText(text, input.selectionStart, input.selectionEnd, 'end');
      input.dispatchEvent(new Event('input'));
    }
  }

  onEditorKey(e) {
    const input = this.codeInput;
    if (e.key === 'Escape') {
      this.tabEscape = true; // Esc, then Tab: leave the editor (the keyboard is not trapped)
      return;
    }
    const escaped = this.tabEscape;
    this.tabEscape = false;
    if (input.readOnly || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const { value, selectionStart: start, selectionEnd: end } = input;
    const lineStart = value.lastIndexOf('\n', start - 1) + 1;
    if (e.key === 'Tab' && !escaped) {
      e.preventDefault();
      const multi = value.slice(start, end).includes('\n');
      if (!e.shiftKey && !multi) {
        this.insertText(INDENT);
        return;
      }
      // Indent or outdent every line the selection touches.
      const blockEnd = end > start && value[end - 1] === '\n' ? end - 1 : end;
      const lineEnd = value.indexOf('\n', blockEnd);
      const stop = lineEnd === -1 ? value.length : lineEnd;
      const lines = value.slice(lineStart, stop).split('\n');
      const changed = lines.map((line) =>
        e.shiftKey ? line.replace(new RegExp(`^ {1,${INDENT.length}}|^\t`), '') : INDENT + line,
      );
      const block = changed.join('\n');
      if (block === value.slice(lineStart, stop)) return;
      input.setSelectionRange(lineStart, stop);
      this.insertText(block);
      const shift = changed[0].length - lines[0].length;
      input.setSelectionRange(
        multi ? lineStart : Math.max(lineStart, start + shift),
        multi ? lineStart + block.length : Math.max(lineStart, end + shift),
      );
    } else if (e.key === 'Enter' && !e.shiftKey) {
      // Keep the indentation of the line the caret is on.
      const indent = /^[ \t]*/.exec(value.slice(lineStart, start))[0];
      if (!indent) return;
      e.preventDefault();
      this.insertText(`\n${indent}`);
    }
  }

  async save() {
    const path = this.codePath;
    const draft = this.draft;
    if (!path || !this.dirty || draft.path !== path || this.saving || !this.convId) return;
    if (this.busy) {
      this.toast?.error('The model is working on this project: save once its reply ends.');
      return;
    }
    const seq = this.seq;
    const text = draft.text;
    this.saving = true;
    this.codeError = '';
    this.renderCode(true);
    this.syncDirty();
    try {
      const saved = await ws.saveFile(this.convId, path, text, draft.etag ?? null);
      if (seq !== this.seq) return;
      this.buffers.set(path, { text, streaming: false, etag: saved.etag });
      draft.base = text; // still dirty if typed on meanwhile
      draft.etag = saved.etag;
      if (!this.dirty && this.draft === draft) this.draft = null;
      this.savedNote = saved.version ? `Saved · v${saved.version.index}` : 'Saved · no changes';
      this.loadVersions();
      this.scheduleFiles();
    } catch (e) {
      if (seq !== this.seq) return;
      this.codeError =
        e.status === 409 ? `Not saved: ${e.message}` : `Couldn't save: ${e.message || e}`;
      this.toast?.error(this.codeError);
    } finally {
      if (seq === this.seq) {
        this.saving = false;
        this.renderCode(true);
        this.syncDirty();
      }
    }
  }

  /** Give up the unsaved edit: the file as it is on disk again. */
  revertDraft() {
    this.draft = null;
    this.codeError = '';
    this.savedNote = '';
    if (this.codePath) {
      this.buffers.delete(this.codePath); // read it again: it may have changed since
      this.showCode(this.codePath);
    }
    this.syncDirty();
  }

  /** Before the open file, the conversation or the page goes: true when nothing unsaved
   * is lost (saved, given up, or there was nothing). */
  async confirmLeave() {
    if (!this.dirty) return true;
    const ok = await confirmDialog(this.dialog, {
      title: 'Discard unsaved changes?',
      body: `Your changes to ${this.draft.path} are not saved. Leave and lose them?`,
      confirmLabel: 'Discard changes',
    });
    if (ok) {
      this.draft = null;
      this.codeError = '';
      this.renderCode(true);
      this.syncDirty();
    }
    return ok;
  }

  renderPicker() {
    const paths = new Set(this.files.map((f) => f.path));
    for (const [path, buffer] of this.buffers) if (buffer.streaming) paths.add(path);
    if (this.codePath) paths.add(this.codePath);
    const sorted = [...paths].sort();
    this.picker.replaceChildren(
      ...sorted.map((p) => {
        const option = h('option', { value: p });
        option.dataset.label = p === this.writing ? `${p} (writing…)` : p;
        option.textContent = option.dataset.label;
        return option;
      }),
    );
    this.picker.value = this.codePath ?? '';
    this.picker.disabled = !sorted.length;
    this.syncDirty();
  }

  // --- files ------------------------------------------------------------------------------

  scheduleFiles() {
    clearTimeout(this.filesTimer);
    this.filesTimer = setTimeout(() => this.loadFiles(), 250);
  }

  async loadFiles() {
    const seq = this.seq;
    const id = this.convId;
    if (!id) return;
    try {
      const data = await ws.files(id);
      if (seq !== this.seq) return;
      this.files = data.files ?? [];
      this.workspacePath = data.workspace_path || null;
      this.filesLoaded = true;
    } catch (e) {
      if (seq !== this.seq) return;
      if (e.status !== 404) this.toast?.error(`Couldn't list the project files: ${e.message}`);
      this.files = [];
    }
    this.folderBtn.hidden = !this.workspacePath;
    this.renderFiles();
    this.renderPicker();
    this.renderPreviewEmpty();
    if (!this.codePath && this.files.length) {
      // A project opened again: its main page in Code, not "No file open yet".
      const main =
        this.files.find((f) => f.path === 'index.html') ??
        this.files.find((f) => /\.html?$/i.test(f.path)) ??
        this.files[0];
      this.showCode(main.path);
    }
  }

  renderFiles() {
    this.filesEmpty.hidden = this.files.length > 0;
    const total = this.files.reduce((n, f) => n + (f.size || 0), 0);
    this.filesFoot.textContent = this.files.length
      ? `${this.files.length} file${this.files.length === 1 ? '' : 's'} · ${formatBytes(total)}`
      : '';
    const render = (node, depth) => {
      const items = [];
      for (const [name, child] of [...node.dirs].sort(([a], [b]) => a.localeCompare(b))) {
        const li = h('li', { class: 'tree-dir', role: 'treeitem', 'aria-expanded': 'true' });
        const details = h('details', { open: true });
        const summary = h('summary', { style: `--depth:${depth}` }, `${ICONS.folder}<span></span>`);
        summary.querySelector('span').textContent = name;
        const ul = h('ul', { role: 'group' });
        ul.append(...render(child, depth + 1));
        details.append(summary, ul);
        li.append(details);
        items.push(li);
      }
      for (const f of node.files.sort((a, b) => a.name.localeCompare(b.name))) {
        const li = h('li', { role: 'none' });
        const button = h(
          'button',
          {
            type: 'button',
            class: 'file-item',
            role: 'treeitem',
            'data-testid': 'file-item',
            'data-path': f.path,
            style: `--depth:${depth}`,
            title: f.path,
          },
          `${ICONS.file}<span class="fi-name"></span><span class="fi-size"></span>`,
        );
        button.querySelector('.fi-name').textContent = f.name;
        button.querySelector('.fi-size').textContent = formatBytes(f.size || 0);
        if (f.path === this.codePath) button.classList.add('current');
        if (f.path === this.writing) button.classList.add('live');
        li.append(button);
        items.push(li);
      }
      return items;
    };
    this.tree.replaceChildren(...render(buildTree(this.files), 0));
  }

  // --- versions -------------------------------------------------------------------------

  async loadVersions() {
    const seq = this.seq;
    const id = this.convId;
    if (!id) return;
    try {
      const data = await ws.versions(id);
      if (seq !== this.seq) return;
      this.versions = (data.versions ?? []).slice().sort((a, b) => b.index - a.index);
    } catch (e) {
      if (seq !== this.seq) return;
      if (e.status !== 404) this.toast?.error(`Couldn't load the versions: ${e.message}`);
      this.versions = [];
    }
    this.selected = this.selected.filter((x) => this.versions.some((v) => v.id === x));
    this.renderVersions();
    this.renderPreviewEmpty(); // "no files in this version" once versions are known
  }

  renderVersions() {
    if (!this.versionList) return;
    this.versionsEmpty.hidden = this.versions.length > 0;
    this.versionBar.hidden = this.versions.length < 2;
    const latest = this.versions[0]?.id;
    this.versionList.replaceChildren(
      ...this.versions.map((v) => {
        const li = h('li', {
          class: 'version-item',
          'data-testid': 'version-item',
          'data-id': v.id,
        });
        const files = v.files_changed?.length ?? 0;
        li.innerHTML =
          '<label class="v-select"><input type="checkbox"></label>' +
          '<div class="v-main"><div class="v-title">' +
          '<span class="v-index"></span><span class="v-msg"></span></div>' +
          '<div class="v-meta"></div></div>' +
          '<div class="v-actions">' +
          '<button type="button" class="chip-btn" data-act="changes" ' +
          'data-testid="version-changes">Changes</button>' +
          '<button type="button" class="chip-btn" data-act="restore" ' +
          'data-testid="version-restore">Restore</button></div>';
        li.querySelector('.v-index').textContent = `v${v.index}`;
        li.querySelector('.v-msg').textContent = v.message || '(no message)';
        li.querySelector('.v-meta').textContent = [
          v.id === latest ? 'current' : '',
          timeAgo(v.created_at),
          `${files} file${files === 1 ? '' : 's'} changed`,
        ]
          .filter(Boolean)
          .join(' · ');
        li.querySelector('.v-meta').title = (v.files_changed ?? []).join('\n');
        const box = li.querySelector('input');
        box.checked = this.selected.includes(v.id);
        box.setAttribute('aria-label', `Select version ${v.index} to compare`);
        const restore = li.querySelector('[data-act="restore"]');
        restore.hidden = v.id === latest;
        restore.disabled = this.busy;
        restore.title = this.busy
          ? 'Wait for the current reply to finish'
          : `Restore version ${v.index}`;
        if (v.id === latest) li.classList.add('latest');
        return li;
      }),
    );
    this.syncSelection();
  }

  syncSelection() {
    const n = this.selected.length;
    this.compareBtn.disabled = n !== 2;
    const [a, b] = this.selected
      .map((id) => this.versions.find((v) => v.id === id))
      .sort((x, y) => x.index - y.index);
    this.compareBtn.textContent = n === 2 ? `Compare v${a.index} → v${b.index}` : 'Compare';
    this.versionHint.hidden = n === 2;
    for (const item of this.versionList.children) {
      item.classList.toggle('selected', this.selected.includes(item.dataset.id));
    }
  }

  async showChanges(version) {
    const prev = this.versions.find((v) => v.index === version.index - 1);
    await this.showDiff(
      prev ?? null,
      version,
      prev ? `v${prev.index} → v${version.index}` : `v${version.index} (first version)`,
    );
  }

  async compareSelected() {
    if (this.selected.length !== 2) return;
    const [a, b] = this.selected
      .map((id) => this.versions.find((v) => v.id === id))
      .sort((x, y) => x.index - y.index);
    await this.showDiff(a, b, `v${a.index} → v${b.index}`);
  }

  async showDiff(from, to, title) {
    const seq = this.seq;
    this.diffView.hidden = false;
    this.versionList.hidden = true;
    this.versionBar.hidden = true;
    this.versionsEmpty.hidden = true;
    this.diffView.innerHTML =
      '<div class="diff-head"><button type="button" class="icon-btn sm diff-back" ' +
      `aria-label="Back to the versions" title="Back">${ICONS.back}</button>` +
      '<strong class="diff-title"></strong>' +
      '<div class="diff-opts" role="group" aria-label="Diff layout">' +
      '<button type="button" class="chip-btn" data-layout="split" ' +
      'data-testid="diff-split">Side by side</button>' +
      '<button type="button" class="chip-btn" data-layout="unified" ' +
      'data-testid="diff-unified">Unified</button>' +
      '<button type="button" class="chip-btn" data-testid="diff-wrap" ' +
      'title="Wrap long lines">Wrap</button></div></div>' +
      '<div class="diff-files"><p class="diff-loading">Loading…</p></div>';
    this.diffView.querySelector('.diff-title').textContent = title;
    this.diffView.querySelector('.diff-back').addEventListener('click', () => this.closeDiff());
    for (const button of this.diffView.querySelectorAll('[data-layout]')) {
      button.addEventListener('click', () => {
        this.diffLayout = button.dataset.layout;
        this.renderDiffFiles();
      });
    }
    this.diffView.querySelector('[data-testid="diff-wrap"]').addEventListener('click', () => {
      this.diffWrap = !this.diffWrap;
      this.renderDiffFiles();
    });
    this.diffFiles = null;
    this.syncDiffOpts();
    let data;
    try {
      data = await ws.diff(this.convId, from?.id ?? '', to.id);
    } catch (e) {
      if (seq !== this.seq) return;
      this.diffView.querySelector('.diff-files').innerHTML =
        `<p class="diff-loading">${escapeHtml(e.message)}</p>`;
      return;
    }
    if (seq !== this.seq) return;
    this.diffFiles = (data.files ?? []).map((f) => ({ ...f, rows: diffRows(f.diff || '') }));
    this.renderDiffFiles();
  }

  /** Side by side on wide screens, unified on a phone, unless the user picked one. */
  get diffMode() {
    return this.diffLayout ?? (PHONE.matches ? 'unified' : 'split');
  }

  syncDiffOpts() {
    for (const button of this.diffView.querySelectorAll('[data-layout]')) {
      button.setAttribute('aria-pressed', String(button.dataset.layout === this.diffMode));
    }
    this.diffView
      .querySelector('[data-testid="diff-wrap"]')
      ?.setAttribute('aria-pressed', String(Boolean(this.diffWrap)));
    this.diffView.classList.toggle('wrap', Boolean(this.diffWrap));
    this.diffView.dataset.layout = this.diffMode;
  }

  renderDiffFiles() {
    this.syncDiffOpts();
    const files = this.diffFiles;
    const box = this.diffView.querySelector('.diff-files');
    if (!files || !box) return;
    if (!files.length) {
      box.innerHTML = '<p class="diff-loading">No changes.</p>';
      return;
    }
    const split = this.diffMode === 'split';
    box.innerHTML = files
      .map((f) => {
        const name = f.old_path && f.old_path !== f.path ? `${f.old_path} → ${f.path}` : f.path;
        const body = split
          ? `<div class="diff-body diff-split">${renderSplit(f.rows)}</div>`
          : `<pre class="diff-body diff-unified">${renderUnified(f.rows)}</pre>`;
        return (
          '<section class="diff-file"><div class="diff-file-head">' +
          `<span class="diff-status ${escapeHtml(f.status)}">${escapeHtml(f.status)}</span>` +
          `<span class="diff-path">${escapeHtml(name)}</span></div>${body}</section>`
        );
      })
      .join('');
  }

  closeDiff() {
    this.diffView.hidden = true;
    this.versionList.hidden = false;
    this.renderVersions();
  }

  async restore(version) {
    if (this.busy) return;
    const ok = await confirmDialog(this.dialog, {
      title: `Restore version ${version.index}?`,
      body:
        `The project's files go back to how they were in v${version.index} ` +
        `(“${version.message || 'no message'}”). ` +
        'The restore is recorded as a new version, so it can be undone.',
      confirmLabel: 'Restore',
    });
    if (!ok) return;
    const seq = this.seq;
    try {
      await ws.restore(this.convId, version.id);
    } catch (e) {
      this.toast?.error(`Couldn't restore: ${e.message}`);
      return;
    }
    if (seq !== this.seq) return;
    this.buffers.clear();
    await Promise.all([this.loadFiles(), this.loadVersions()]);
    if (this.codePath) this.showCode(this.codePath);
    this.closeDiff();
    this.reloadPreview();
  }
}
