// Attachments: the composer's chips (upload at once, progress, remove, errors, what the
// model can do with each file), drag-and-drop and paste, and the files shown in sent
// messages (thumbnails with a lightbox, audio and video players, document cards).
import { uploadAttachment } from './api.js';
import { icons, svg } from './icons.js';
import { el } from './dom.js';
import { formatBytes } from './format.js';

/** What the file picker offers: the types `POST /api/attachments` accepts (docs/api.md). */
export const ACCEPT = [
  '.png', '.jpg', '.jpeg', '.webp', '.gif',
  '.wav', '.mp3', '.ogg', '.webm', '.m4a',
  '.mp4', '.mov',
  '.pdf', '.txt', '.md', '.csv', '.docx',
  'image/png', 'image/jpeg', 'image/webp', 'image/gif',
  'audio/wav', 'audio/x-wav', 'audio/mpeg', 'audio/ogg', 'audio/webm', 'audio/mp4', 'audio/x-m4a',
  'video/mp4', 'video/quicktime', 'video/webm',
  'application/pdf', 'text/plain', 'text/markdown', 'text/csv',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
].join(',');

export const attachIcons = {
  paperclip: svg(
    '<path d="m21.44 11.05-9.19 9.19a6 6 0 0 1-8.49-8.49l8.57-8.57A4 4 0 1 1 18 8.84l-8.59 8.57a2 2 0 0 1-2.83-2.83l8.49-8.48"/>',
  ),
  image: svg('<rect x="3" y="3" width="18" height="18" rx="2"/><circle cx="9" cy="9" r="2"/><path d="m21 15-3.1-3.1a2 2 0 0 0-2.8 0L6 21"/>'),
  audio: svg('<path d="M9 18V5l12-2v13"/><circle cx="6" cy="18" r="3"/><circle cx="18" cy="16" r="3"/>'),
  video: svg('<rect x="2" y="6" width="14" height="12" rx="2"/><path d="m22 8-6 4 6 4V8Z"/>'),
  document: svg(
    '<path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8Z"/><path d="M14 2v6h6"/>' +
      '<path d="M16 13H8M16 17H8M10 9H8"/>',
  ),
  upload: svg('<path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4"/><path d="m17 8-5-5-5 5"/><path d="M12 3v12"/>', 28),
  external: svg('<path d="M15 3h6v6"/><path d="M10 14 21 3"/><path d="M18 13v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h6"/>', 16),
};

const EXT_KIND = {
  png: 'image', jpg: 'image', jpeg: 'image', webp: 'image', gif: 'image',
  wav: 'audio', mp3: 'audio', ogg: 'audio', m4a: 'audio',
  mp4: 'video', mov: 'video', webm: 'video',
};

/** A first guess at the kind before the server answers (it has the last word). */
export function kindOf(file) {
  const type = String(file?.type || '');
  const major = type.split('/')[0];
  if (major === 'image' || major === 'audio' || major === 'video') return major;
  const ext = String(file?.name || '').split('.').pop().toLowerCase();
  return EXT_KIND[ext] || 'document';
}

/**
 * What the current model will do with a file of this kind, when that needs saying:
 * {text, level: 'warn' | 'info'} or null. `modalities` null means "not known yet".
 */
export function capabilityNotice(kind, modalities) {
  if (kind === 'document') return { text: 'Text will be extracted', level: 'info' };
  if (!Array.isArray(modalities) || modalities.includes(kind)) return null;
  if (kind === 'image')
    return { text: "This model can't see images — pick a vision model", level: 'warn' };
  if (kind === 'audio')
    return { text: "Will be transcribed locally (this model doesn't take audio)", level: 'info' };
  if (kind === 'video') return { text: "Frames can't be shown to this model", level: 'warn' };
  return null;
}

let nextKey = 1;

/**
 * The chips above the textarea. Each file uploads as soon as it is added; `ready` lists
 * the uploaded Attachments, `uploading` says whether Send must wait.
 */
export class AttachmentTray {
  constructor({ root, modalities = () => null, onChange = () => {} }) {
    this.root = root;
    this.modalities = modalities;
    this.onChange = onChange;
    this.items = new Map(); // key → {key, name, size, kind, status, attachment, error, chip, abort}
    root.classList.add('att-tray');
    root.setAttribute('role', 'list');
    root.setAttribute('aria-label', 'Attachments');
    root.hidden = true;
  }

  get uploading() {
    return [...this.items.values()].some((i) => i.status === 'uploading');
  }

  /** The uploaded Attachments, in the order they were added. */
  get ready() {
    return [...this.items.values()].filter((i) => i.status === 'ready').map((i) => i.attachment);
  }

  get size() {
    return this.items.size;
  }

  addFiles(files) {
    for (const file of files) this.addFile(file);
  }

  addFile(file, { name } = {}) {
    const item = {
      key: nextKey++,
      name: name || file.name || 'file',
      size: file.size,
      kind: kindOf(file),
      status: 'uploading',
      progress: 0,
      attachment: null,
      error: null,
    };
    if (item.kind === 'image') item.preview = URL.createObjectURL(file);
    this.insert(item);
    const upload = uploadAttachment(file, {
      name: item.name,
      onProgress: (p) => {
        item.progress = p;
        this.renderProgress(item);
      },
    });
    item.abort = upload.abort;
    upload.promise.then(
      (attachment) => {
        if (!this.items.has(item.key)) return;
        Object.assign(item, { status: 'ready', attachment, kind: attachment?.kind || item.kind });
        item.name = attachment?.name || item.name;
        item.size = attachment?.size ?? item.size;
        this.render(item);
        this.onChange();
      },
      (error) => {
        if (error?.name === 'AbortError' || !this.items.has(item.key)) return;
        Object.assign(item, { status: 'error', error: error?.message || 'Upload failed.' });
        this.render(item);
        this.onChange();
      },
    );
    return item;
  }

  /** Show an Attachment that is already on the server (editing a sent message, a retry). */
  addUploaded(attachment) {
    if ([...this.items.values()].some((i) => i.attachment?.id === attachment.id)) return;
    this.insert({
      key: nextKey++,
      name: attachment.name,
      size: attachment.size,
      kind: attachment.kind,
      status: 'ready',
      attachment,
    });
  }

  insert(item) {
    item.chip = el('div', { class: 'att-chip', role: 'listitem', 'data-testid': 'attachment-chip' });
    this.items.set(item.key, item);
    this.root.append(item.chip);
    this.root.hidden = false;
    this.render(item);
    this.onChange();
  }

  remove(key) {
    const item = this.items.get(key);
    if (!item) return;
    this.items.delete(key);
    item.abort?.();
    if (item.preview) URL.revokeObjectURL(item.preview);
    item.chip.remove();
    this.root.hidden = this.items.size === 0;
    this.onChange();
  }

  clear() {
    for (const key of [...this.items.keys()]) this.remove(key);
  }

  /** The model changed: its abilities decide the notices. */
  refreshNotices() {
    for (const item of this.items.values()) this.render(item);
  }

  render(item) {
    const { chip } = item;
    chip.dataset.kind = item.kind;
    chip.dataset.status = item.status;
    chip.title = item.name;
    const src = item.preview || (item.kind === 'image' ? item.attachment?.url : null);
    const thumb =
      src && item.status !== 'error'
        ? `<img alt="" src="${encodeURI(src).replace(/"/g, '%22')}" data-testid="attachment-thumb">`
        : attachIcons[item.kind] || attachIcons.document;
    chip.innerHTML =
      `<span class="att-thumb ${src ? 'has-img' : ''}">${thumb}` +
      '<span class="att-progress" aria-hidden="true"><svg viewBox="0 0 36 36">' +
      '<circle class="track" cx="18" cy="18" r="15"/><circle class="bar" cx="18" cy="18" r="15" pathLength="100"/>' +
      '</svg></span></span>' +
      '<span class="att-info"><span class="att-name"></span><span class="att-sub"></span></span>' +
      `<button type="button" class="att-remove" data-testid="attachment-remove">${icons.close}</button>`;
    chip.querySelector('.att-name').textContent = item.name;
    const sub = chip.querySelector('.att-sub');
    const remove = chip.querySelector('.att-remove');
    remove.setAttribute('aria-label', `Remove ${item.name}`);
    remove.title = 'Remove';
    remove.addEventListener('click', () => this.remove(item.key));
    if (item.status === 'error') {
      sub.className = 'att-sub att-error';
      sub.dataset.testid = 'attachment-error';
      sub.setAttribute('role', 'alert');
      sub.textContent = item.error;
      sub.title = item.error;
    } else if (item.status === 'uploading') {
      sub.textContent = `${formatBytes(item.size || 0)} · Uploading…`;
      sub.setAttribute('aria-live', 'polite');
      this.renderProgress(item);
    } else {
      sub.textContent = formatBytes(item.size || 0);
      const notice = capabilityNotice(item.kind, this.modalities());
      if (notice) {
        const note = el('span', {
          class: `att-notice ${notice.level}`,
          'data-testid': 'attachment-notice',
          title: notice.text,
        });
        note.innerHTML = notice.level === 'warn' ? icons.alert : '';
        note.append(notice.text);
        chip.querySelector('.att-info').append(note);
        chip.classList.toggle('has-notice', true);
      }
    }
  }

  renderProgress(item) {
    const bar = item.chip?.querySelector('.att-progress .bar');
    if (!bar) return;
    const pct = Math.max(4, Math.round((item.progress || 0) * 100));
    bar.style.strokeDasharray = `${pct} 100`;
    const sub = item.chip.querySelector('.att-sub');
    if (sub && item.status === 'uploading')
      sub.textContent = `${formatBytes(item.size || 0)} · ${item.progress >= 1 ? 'Processing…' : `Uploading ${pct}%`}`;
  }
}

// --- drag and drop, paste ------------------------------------------------------------------

const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');

/** Files dropped anywhere on `target` (the thread and composer) become attachments. */
export function installDropZone(target, onFiles) {
  const overlay = el(
    'div',
    { class: 'drop-overlay', 'data-testid': 'drop-overlay', 'aria-hidden': 'true' },
    `<div class="drop-card">${attachIcons.upload}<strong>Drop files to attach</strong>` +
      '<span>Images, audio, video, PDFs and text documents</span></div>',
  );
  overlay.hidden = true;
  target.append(overlay);
  let depth = 0;
  const hide = () => {
    depth = 0;
    overlay.hidden = true;
  };
  target.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth += 1;
    overlay.hidden = false;
  });
  target.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    overlay.hidden = false;
  });
  target.addEventListener('dragleave', (e) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  target.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    hide();
    const files = [...(e.dataTransfer.files || [])];
    if (files.length) onFiles(files);
  });
  window.addEventListener('blur', hide);
  return overlay;
}

/** Pasted images (screenshots, copied pictures) become attachments; text pastes as usual. */
export function installPaste(input, onFiles) {
  input.addEventListener('paste', (e) => {
    const data = e.clipboardData;
    if (!data) return;
    const files = [...(data.files || [])];
    if (!files.length) {
      for (const item of data.items || []) {
        if (item.kind === 'file') {
          const file = item.getAsFile();
          if (file) files.push(file);
        }
      }
    }
    if (!files.length) return;
    // Keep the text of a mixed paste (a copied web page); a bare image pastes as a chip.
    if (!data.types.includes('text/plain')) e.preventDefault();
    const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-');
    onFiles(
      files.map((f, i) =>
        f.name && f.name !== 'image.png'
          ? f
          : new File([f], `pasted-${stamp}${i ? `-${i}` : ''}.${(f.type.split('/')[1] || 'png').replace('jpeg', 'jpg')}`, {
              type: f.type,
            }),
      ),
    );
  });
}

// --- in sent messages ---------------------------------------------------------------------

let lightbox = null;

function openLightbox(attachment) {
  if (!lightbox) {
    lightbox = el('dialog', { class: 'lightbox', 'data-testid': 'lightbox', 'aria-label': 'Image' });
    lightbox.innerHTML =
      '<figure><img alt=""><figcaption><span class="lb-name"></span>' +
      `<a class="lb-open" target="_blank" rel="noopener" title="Open in a new tab">${attachIcons.external}<span>Open</span></a>` +
      `<button type="button" class="lb-close" aria-label="Close" title="Close (Esc)">${icons.close}</button>` +
      '</figcaption></figure>';
    lightbox.addEventListener('click', (e) => {
      if (e.target === lightbox || e.target.closest('.lb-close')) lightbox.close();
    });
    document.body.append(lightbox);
  }
  lightbox.querySelector('img').src = attachment.url;
  lightbox.querySelector('img').alt = attachment.name || '';
  lightbox.querySelector('.lb-name').textContent = attachment.name || '';
  lightbox.querySelector('.lb-open').href = attachment.url;
  lightbox.showModal();
}

function describe(attachment) {
  const parts = [formatBytes(attachment.size || 0)];
  const meta = attachment.meta || {};
  if (meta.width && meta.height) parts.push(`${meta.width}×${meta.height}`);
  if (meta.duration_s) {
    const s = Math.round(meta.duration_s);
    parts.push(`${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`);
  }
  if (meta.pages) parts.push(`${meta.pages} page${meta.pages === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

/** The attachments of a user message, for the thread. */
export function renderMessageAttachments(list) {
  const box = el('div', { class: 'msg-attachments', 'data-testid': 'message-attachments' });
  for (const a of list || []) {
    if (!a?.url) continue;
    const kind = a.kind || 'document';
    let node;
    if (kind === 'image') {
      node = el('a', { class: 'msg-att att-image', href: a.url, target: '_blank', rel: 'noopener' });
      const img = el('img', { src: a.url, alt: a.name || 'image', loading: 'lazy' });
      if (a.meta?.width && a.meta?.height) {
        img.width = a.meta.width;
        img.height = a.meta.height;
      }
      node.append(img);
      node.title = `${a.name} — click to enlarge`;
      node.addEventListener('click', (e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; // a new tab
        e.preventDefault();
        openLightbox(a);
      });
    } else if (kind === 'audio' || kind === 'video') {
      node = el('div', { class: `msg-att att-media ${kind}` });
      const head = el('div', { class: 'att-media-head' }, attachIcons[kind]);
      head.append(el('span', { class: 'att-name' }), el('span', { class: 'att-sub' }));
      head.querySelector('.att-name').textContent = a.name;
      head.querySelector('.att-sub').textContent = describe(a);
      const player = el(kind, { controls: '', preload: 'metadata', src: a.url });
      if (kind === 'video') player.setAttribute('playsinline', '');
      node.append(head, player);
    } else {
      node = el('a', { class: 'msg-att att-file', href: a.url, target: '_blank', rel: 'noopener' });
      node.innerHTML = `<span class="att-thumb">${attachIcons.document}</span><span class="att-info"><span class="att-name"></span><span class="att-sub"></span></span>`;
      node.querySelector('.att-name').textContent = a.name;
      node.querySelector('.att-sub').textContent = describe(a);
      node.title = a.name;
    }
    node.dataset.testid = 'message-attachment';
    node.dataset.kind = kind;
    if (a.meta?.not_sent) markNotSent(node, a);
    box.append(node);
  }
  box.hidden = !box.childElementCount;
  return box;
}

/** A file the model that answered never got (`meta.not_sent`): say so on it, and why. */
function markNotSent(node, a) {
  const text = `Not sent to the model: ${a.meta.not_sent}`;
  const mark = el(
    'span',
    { class: 'att-not-sent', 'data-testid': 'not-sent' },
    `${icons.alert}<span></span>`,
  );
  mark.lastChild.textContent = text;
  node.classList.add('not-sent');
  node.append(mark);
  node.title = `${a.name} — ${text}`;
}

/** The text sent for a message with attachments but no words: the file names. */
export const namesOf = (attachments) => attachments.map((a) => a.name).join(', ');
