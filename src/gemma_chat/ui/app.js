// Wiring and state: which conversation is open, which turns are streaming, routing (#/c/ID).
import { api, streamTurn, streamRetry, joinTurn, transcribe, ApiError, workspaceApi } from './api.js';
import { Thread } from './thread.js';
import { Composer } from './composer.js';
import { Sidebar } from './sidebar.js';
import { Toast } from './notify.js';
import { confirmDialog } from './confirm.js';
import { installShortcuts, shortcutsHtml, KEYS, keysHtml, keysText, withKeys, touchOnly } from './shortcuts.js';
import { CommandPalette } from './palette.js'; // Ctrl/Cmd+K
import { Canvas } from './canvas.js'; // Build mode
import {
  ModelPicker,
  modelInfo,
  refreshModels,
  modelLabel,
  onModelsChange,
  shortSpec,
} from './models.js';
import { AttachmentTray, ACCEPT, installDropZone, installPaste, namesOf } from './attachments.js';
import { VoiceInput } from './voice.js';
import { VoiceMode } from './voicemode.js';
import { speaker } from './speech.js';
import { ModelGuide } from './guide.js'; // Build mode on the built-in model
import { TurnEvent } from './events.js';
import { shortModelName } from './format.js';
import { streamContinue } from './api.js';
import { SettingsPanel } from './settings.js'; // generation settings and the theme
import { Transfer } from './transfer.js'; // export and import

const $ = (id) => document.getElementById(id);

const SUGGESTIONS = [
  ['Explain how magnets work', 'in simple terms, with an everyday example'],
  ['Write a Python function', 'that removes duplicates from a list, keeping order'],
  ['Summarise Hamlet', 'in five short bullet points'],
  ['Plan a weekend trip', 'to the mountains on a small budget'],
];

// Build mode: what a new, empty chat offers instead.
const BUILD_SUGGESTIONS = [
  // Each one a starter kit, so even the built-in model builds a working app from it.
  ['A stopwatch', 'with start, stop and reset'],
  ['A to-do list', 'with filters, kept in this browser'],
  ['A landing page', 'for a neighbourhood bakery called Crumbs'],
  ['A memory game', 'with animal emoji cards'],
];

const state = {
  currentId: null,
  editing: null, // {id, view}: the user message being edited (the next send is its alternative)
  placeholderBeforeEdit: null,
  mode: 'chat', // Build mode: the open conversation's mode, or the one a new chat will get
  buildAvailable: false, // the server does Build mode (health `features`)
  title: 'New chat',
  conversations: [],
  total: 0,
  streams: new Map(), // conversation id → the turn this tab is streaming for it
  poll: null, // { id, timer } while waiting on a turn this tab didn't start
  openSeq: 0, // drops stale loads when the user switches conversations quickly
  listSeq: 0, // likewise for overlapping sidebar refreshes
  reveal: null, // {id, messageId}: a search result's message to show once it has loaded
  opening: false, // a conversation is loading
  model: null, // the server's default model: {spec, name, loaded, error}
  currentModel: null, // the open conversation's model spec (null: a new chat, the default)
  switching: null, // {spec, name} while the model picker loads a model
  pendingModel: null, // {id, model}: PATCH once that conversation's running turn ends
  thinking: null, // the open conversation's thinking switch (true/false/null = default)
  pendingThinking: null, // the Think toggle's choice for a chat not created yet
};

const toast = new Toast($('toast'));
let picker = null; // the model picker (models.js), built once the header is set up
const thread = new Thread({
  scroller: $('thread-scroll'),
  list: $('thread'),
  empty: $('empty-state'),
  jump: $('jump-bottom'),
});
// Attachments: chips above the textarea; what the model can take decides their notices.
const tray = new AttachmentTray({
  root: $('attachment-tray'),
  modalities: () => currentModalities(),
  onChange: () => composer.sync(),
});
const composer = new Composer({
  form: $('composer'),
  input: $('composer-input'),
  send: $('send-button'),
  stop: $('stop-button'),
  think: $('think-toggle'),
  tray,
  onSend: (text, attachments) => send(text, attachments),
  onStop: () => stop(),
  onThink: (on) => setThinking(on),
});
// --- Build mode: the canvas ---------------------------------------------------------------
const canvas = new Canvas({
  app: $('app'),
  root: $('canvas'),
  toggle: $('canvas-toggle'),
  dialog: $('confirm-dialog'),
  toast,
  onFix: (text) => {
    if (composer.busy) return;
    send(text);
  },
});
thread.onOpenFile = (path) => canvas.openFile(path);
thread.onContinue = (view) => continueReply(view); // a reply stopped at the length limit
const guide = new ModelGuide(canvas.guideSlot, {
  onUse: (spec, name) => switchModel(spec, name),
  toast,
});
function syncGuide() {
  guide.update({ mode: canvas.mode, spec: state.currentModel || state.model?.spec || null });
}
canvas.onSync = syncGuide;
// Branches: Retry and Edit keep what they replace as an alternative ("‹ 1 / 2 ›"); in
// Build mode the server first puts the files back as they were before the message.
thread.onRegenerate = (userView) => send('', [], { retry: userView });
// Build mode: "Started from: … ▾" starts the project again from another kit.
thread.onSwitchKit = (userView, kit) => send('', [], { retry: userView, kit });
thread.onSwitchBranch = (view, messageId, move) => switchBranch(view, messageId, move);
// Edit mode: the message is marked, and a banner over the composer says what sending does.
const editBanner = document.createElement('div');
editBanner.className = 'edit-banner';
editBanner.dataset.testid = 'edit-banner';
editBanner.hidden = true;
editBanner.innerHTML =
  '<span class="edit-banner-text"><strong>Editing a message.</strong> <span></span></span>' +
  '<button type="button" class="edit-cancel" data-testid="edit-cancel">Cancel</button>';
editBanner.querySelector('.edit-cancel').addEventListener('click', () => {
  composer.clear();
  cancelEdit();
  composer.focus();
});
$('composer').before(editBanner);
thread.onEdit = (userView) => {
  state.editing = { id: userView.root.dataset.id, view: userView };
  state.placeholderBeforeEdit ??= composer.input.placeholder;
  const files = userView.attachments ?? [];
  tray.clear();
  for (const a of files) tray.addUploaded(a);
  // A files-only message was sent with their names as its text: don't show that as typed.
  composer.value = files.length && userView.content === namesOf(files) ? '' : userView.content;
  composer.input.placeholder = 'Edit your message… (Esc cancels)';
  $('composer').classList.add('editing');
  const { index = 1, count = 1 } = userView.alternatives ?? {};
  editBanner.querySelector('.edit-banner-text > span').textContent =
    `Sending starts a new branch; the current one stays as ${index}\u00a0/\u00a0${count + 1}.` +
    (state.mode === 'build' ? ' The files go back to before this message first.' : '');
  editBanner.hidden = false;
  thread.markEditing(userView);
  composer.focus();
};
function cancelEdit() {
  state.editing = null;
  if (state.placeholderBeforeEdit != null) composer.input.placeholder = state.placeholderBeforeEdit;
  state.placeholderBeforeEdit = null;
  $('composer').classList.remove('editing');
  editBanner.hidden = true;
  thread.markEditing(null);
}
composer.input.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && state.editing) {
    e.preventDefault();
    composer.clear();
    cancelEdit();
  }
});

/** Show another alternative (‹ ›): the server switches branch (Build: restores its files). */
async function switchBranch(view, messageId, move) {
  const id = state.currentId;
  if (!id || state.streams.has(id) || state.switchingBranch) return;
  state.switchingBranch = true;
  const top = view.root.getBoundingClientRect().top;
  let conv;
  try {
    conv = await api.chooseBranch(id, messageId);
  } catch (e) {
    toast.error(e.message);
    return;
  } finally {
    state.switchingBranch = false;
  }
  if (state.currentId !== id) return;
  if (state.editing) cancelEdit(); // the message being edited may have left the thread
  thread.show(conv.messages);
  const shown = thread.viewOf(messageId);
  if (!shown) return;
  // Keep the switched message where it was on screen, and the focus on its arrows.
  thread.scroller.scrollTop += shown.root.getBoundingClientRect().top - top;
  const nav = shown.branchNav;
  const wanted = nav.querySelector(move < 0 ? '.branch-prev' : '.branch-next');
  (wanted.disabled ? nav.querySelector('.branch-step:not(:disabled)') : wanted)?.focus();
  if (conv.version) {
    canvas.refresh(); // Build mode: the files are this branch's now
    shown.flashBranchNote("Restored this branch's files");
  }
}

/** Show a mode on the header toggle, the composer and the empty state. */
function setMode(mode) {
  state.mode = mode === 'build' ? 'build' : 'chat';
  for (const button of document.querySelectorAll('.mode-toggle .mode')) {
    const on = button.dataset.mode === state.mode;
    button.classList.toggle('active', on);
    button.setAttribute('aria-pressed', String(on));
  }
  const build = state.mode === 'build';
  thread.build = build; // the alternatives' arrows say that switching restores files
  setPlaceholder();
  $('empty-state').querySelector('h2').textContent = build
    ? 'What shall we build?'
    : 'How can I help you today?';
  renderSuggestions();
}

/** The composer names the model that will answer, by its first word ("Message SmolLM2…"). */
function setPlaceholder() {
  const name = state.modelShort?.split(/\s+/)[0];
  // A phone's composer fits about 20 characters: a longer placeholder wraps and is clipped.
  const build = window.matchMedia('(max-width: 480px)').matches
    ? 'Describe an app…'
    : 'Describe what to build…';
  const text = state.mode === 'build' ? build : name ? `Message ${name}…` : 'Message…';
  if (state.placeholderBeforeEdit != null) state.placeholderBeforeEdit = text;
  else $('composer-input').placeholder = text;
}

function enableBuild() {
  const button = document.querySelector('[data-mode="build"]');
  state.buildAvailable = true;
  button.removeAttribute('aria-disabled');
  button.removeAttribute('data-tooltip');
  button.removeAttribute('aria-describedby');
  button.querySelector('.soon')?.remove();
}

function onModeClick(mode) {
  if (mode === 'build' && !state.buildAvailable) return false;
  if (mode === state.mode) return true;
  if (state.currentId) {
    newChat({ mode }); // an existing conversation keeps its mode: start a new one in the other
  } else {
    setMode(mode);
    canvas.setConversation(null, { mode: state.mode });
    composer.focus();
  }
  return true;
}
// --- end Build mode -------------------------------------------------------------------------

const sidebar = new Sidebar({
  app: $('app'),
  list: $('conv-list'),
  search: $('search'),
  toggle: $('sidebar-toggle'),
  backdrop: $('backdrop'),
  onRename: rename,
  onDelete: remove,
  onMore: () => loadMore(),
  onSearch: (q, offset) => api.searchConversations(q, 50, offset),
  onOpenHit: (id, messageId) => revealMessage(id, messageId),
});

// The next page of the list, added below (the sidebar asks as its end scrolls into view).
async function loadMore() {
  const seq = state.listSeq;
  try {
    const page = await api.listConversations(50, state.conversations.length);
    if (seq !== state.listSeq) return; // a refresh replaced the list meanwhile
    const known = new Set(state.conversations.map((c) => c.id));
    const fresh = page.conversations.filter((c) => !known.has(c.id));
    state.conversations = state.conversations.concat(fresh);
    state.total = page.total;
    sidebar.appendConversations(fresh, page.total);
  } catch (e) {
    toast.error(`Couldn't load conversations: ${e.message}`);
  }
}

// A search result was opened: once its conversation shows, bring the message into view.
function revealMessage(id, messageId) {
  state.reveal = messageId ? { id, messageId } : null;
  if (messageId && id === state.currentId && !state.opening) {
    revealOnAnyBranch(id, messageId);
    state.reveal = null;
  }
}

/** A search match may be on a branch not shown: in Chat, show that branch, then the match.
 * (In Build mode showing a branch also restores its files, so that stays the user's call.) */
async function revealOnAnyBranch(id, messageId) {
  if (thread.reveal(messageId)) return;
  if (state.mode === 'build') {
    toast.error('That match is on another branch of this chat: use ‹ › under its messages.');
    return;
  }
  if (state.streams.has(id)) return;
  try {
    const conv = await api.chooseBranch(id, messageId);
    if (state.currentId !== id) return;
    thread.show(conv.messages);
    thread.reveal(messageId);
  } catch (e) {
    toast.error(e.message);
  }
}

// --- conversations list -------------------------------------------------------

// The server pages by at most 200; fetch as many pages as the sidebar is showing.
async function fetchConversations(want) {
  const items = [];
  let total = 0;
  while (items.length < want) {
    const page = await api.listConversations(Math.min(200, want - items.length), items.length);
    items.push(...page.conversations);
    total = page.total;
    if (!page.conversations.length || items.length >= total) break;
  }
  return { items, total };
}

async function refreshList(want = Math.max(50, state.conversations.length)) {
  const seq = ++state.listSeq;
  try {
    const { items, total } = await fetchConversations(want);
    if (seq !== state.listSeq) return;
    state.conversations = items;
    state.total = total;
    sidebar.setConversations(items, total);
    const current = items.find((c) => c.id === state.currentId);
    if (current) setTitle(current.title);
  } catch (e) {
    if (seq === state.listSeq) toast.error(`Couldn't load conversations: ${e.message}`);
  }
}

async function rename(conv, title) {
  try {
    const updated = await api.renameConversation(conv.id, title);
    if (updated.id === state.currentId) setTitle(updated.title);
  } catch (e) {
    toast.error(e.message);
  }
  await refreshList();
}

async function remove(conv) {
  if (!conv) return;
  const ok = await confirmDialog($('confirm-dialog'), {
    title: 'Delete conversation?',
    body: `“${conv.title || 'New chat'}” and all its messages will be deleted. This can't be undone.`,
  });
  if (!ok) return;
  try {
    await api.deleteConversation(conv.id);
  } catch (e) {
    if (e.status !== 404) {
      toast.error(e.message);
      return;
    }
  }
  if (conv.id === state.currentId) newChat({ focus: false });
  await refreshList();
}

// --- routing ------------------------------------------------------------------

const idFromHash = () => {
  const m = location.hash.match(/^#\/c\/(.+)$/);
  return m ? decodeURIComponent(m[1]) : null;
};

function setTitle(title) {
  state.title = title || 'New chat';
  const heading = $('conv-heading');
  heading.textContent = state.title;
  heading.title = state.title; // the whole title, where the header cuts it
  heading.classList.remove('expanded');
  document.title = state.currentId ? `${state.title} · Gemma Chat` : 'Gemma Chat';
  $('export-button').hidden = !state.currentId; // a new chat has nothing to export yet
}

// A narrow header cuts a long title: a tap (or click) unfolds it whole, another folds it.
$('conv-heading').addEventListener('click', (e) => {
  const heading = e.currentTarget;
  if (heading.classList.contains('expanded') || heading.scrollWidth > heading.clientWidth)
    heading.classList.toggle('expanded');
});

function newChat({ focus = true, mode = state.mode } = {}) {
  if (canvas.dirty) {
    // Build mode: a file edited by hand and not saved goes only once the user says so.
    canvas.confirmLeave().then((ok) => ok && newChat({ focus, mode }));
    return;
  }
  state.openSeq++;
  stopPolling();
  state.currentId = null;
  setMode(mode); // Build mode
  canvas.setConversation(null, { mode: state.mode });
  if (location.hash) history.pushState(null, '', location.pathname + location.search);
  sidebar.setActive(null);
  setTitle('New chat');
  showModel(null);
  state.thinking = null;
  state.pendingThinking = null;
  syncThinking();
  thread.setModel(null);
  thread.show([]);
  toast.hide();
  syncBusy();
  if (focus) composer.focus();
}

async function openConversation(id) {
  const seq = ++state.openSeq;
  stopPolling();
  state.currentId = id;
  // Build mode: show the conversation's mode (from the list) until the conversation loads.
  const listed = state.conversations.find((c) => c.id === id);
  setMode(listed?.mode ?? 'chat');
  canvas.setConversation(listed ? { id, mode: listed.mode } : null, { mode: state.mode });
  sidebar.setActive(id);
  toast.hide();
  syncBusy();
  let conv;
  state.opening = true;
  try {
    conv = await api.getConversation(id);
  } catch (e) {
    if (seq !== state.openSeq) return;
    state.opening = false;
    newChat({ focus: false });
    toast.error(e.status === 404 ? 'That conversation no longer exists.' : e.message);
    refreshList();
    return;
  }
  if (seq !== state.openSeq) return;
  setTitle(conv.title);
  showModel(conv.model);
  if (modelInfo.fetched && !modelInfo.find(conv.model)) refreshModels(); // its name, thinking
  state.thinking = conv.thinking ?? null;
  syncThinking();
  thread.setModel(conv.model);
  setMode(conv.mode); // Build mode
  canvas.setConversation(conv);
  const stream = state.streams.get(id);
  if (stream) {
    // This tab is still streaming the turn: show history, then re-attach the live reply.
    thread.show(conv.messages.filter((m) => m.id !== stream.assistantId && m.id !== stream.userId));
    thread.list.append(stream.userView.root, stream.view.root);
    thread.setEmpty(false);
    thread.scrollToEnd(true);
  } else if (conv.running) {
    join(id, conv.messages); // a reply this tab didn't start: stream it on from here
  } else {
    thread.show(conv.messages);
  }
  state.opening = false;
  if (state.reveal?.id === id) revealOnAnyBranch(id, state.reveal.messageId);
  state.reveal = null;
  syncBusy();
}

async function route() {
  const id = idFromHash();
  if ((id ?? null) !== state.currentId && canvas.dirty && !(await canvas.confirmLeave())) {
    // Build mode: stay with the unsaved edit (and put the address back).
    const here = state.currentId
      ? `#/c/${encodeURIComponent(state.currentId)}`
      : location.pathname + location.search;
    history.replaceState(null, '', here);
    return;
  }
  if (id) {
    if (id !== state.currentId) openConversation(id);
  } else if (state.currentId) {
    newChat({ focus: false });
  }
}

// --- a turn started elsewhere (reload mid-turn, another tab): join its stream --------

/** The view of a message shown in the thread, by id. */
function viewOf(messageId) {
  if (!messageId) return null;
  const root = thread.list.querySelector(`.msg[data-id="${CSS.escape(messageId)}"]`);
  return root ? thread.views.get(root) : null;
}

/**
 * Show a conversation whose reply is being written, and stream that reply on: the turn's
 * events so far rebuild it (the stored copy is only a snapshot, so it is not shown as
 * well), then it goes on live to the end, with its stats, Stop, and in Build mode the
 * canvas's files. Where the turn can't be joined it is polled instead.
 */
async function join(id, messages, { tries = 0 } = {}) {
  const last = messages.at(-1);
  const partial = last?.role === 'assistant' ? last : null; // the reply being written
  const shown = partial ? messages.slice(0, -1) : messages;
  thread.show(shown);
  const userView = viewOf(shown.findLast((m) => m.role === 'user')?.id);
  const stream = {
    id,
    started: true,
    ended: false,
    joined: true,
    userId: userView?.root.dataset.id,
    assistantId: partial?.id,
    userView,
    view: thread.add(
      { role: 'assistant', id: partial?.id, model: partial?.model, content: '', status: 'complete' },
      { streaming: true },
    ),
  };
  state.streams.set(id, stream);
  syncBusy();
  let failure = null;
  try {
    await joinTurn(id, (name, data) => onTurnEvent(stream, name, data));
  } catch (e) {
    failure = e;
  } finally {
    state.streams.delete(id);
    syncBusy();
  }
  if (stream.ended) {
    refreshList();
    return;
  }
  if (state.currentId !== id || state.streams.has(id)) return;
  if (failure?.status === 404 || (!failure && tries < 3)) {
    // It ended just now (the stored conversation has the reply), or the stream dropped:
    // open it again, which joins again if it still runs.
    if (!failure) await new Promise((r) => setTimeout(r, 500 * (tries + 1)));
    if (state.currentId !== id || state.streams.has(id)) return;
    const seq = state.openSeq;
    try {
      const conv = await api.getConversation(id);
      if (seq !== state.openSeq || state.currentId !== id || state.streams.has(id)) return;
      if (conv.running) join(id, conv.messages, { tries: failure ? 0 : tries + 1 });
      else thread.show(conv.messages);
      refreshList();
      canvas.refresh(); // Build mode: the turn changed files and recorded a version
    } catch (e) {
      toast.error(e.message);
    }
    return;
  }
  // Can't join (the connection keeps failing): show the stored progress until it ends.
  stream.view.root.remove();
  thread.show(messages, { running: true });
  startPolling(id, messages);
}

// Fallback: poll the stored conversation until its turn ends.

function startPolling(id, messages) {
  let last = JSON.stringify(messages);
  thread.setRunning(true);
  const tick = async () => {
    if (state.poll?.id !== id) return;
    try {
      const conv = await api.getConversation(id);
      if (state.poll?.id !== id) return;
      const now = JSON.stringify(conv.messages);
      if (now !== last) {
        last = now;
        thread.sync(conv.messages, { running: conv.running }); // partial progress, if stored
      }
      if (!conv.running) {
        stopPolling();
        refreshList();
        canvas.refresh(); // Build mode: the turn changed files and recorded a version
        return;
      }
    } catch (e) {
      if (e.status === 404) {
        stopPolling();
        return;
      }
    }
    state.poll.timer = setTimeout(tick, 1000);
  };
  state.poll = { id, timer: setTimeout(tick, 1000) };
  syncBusy();
}

function stopPolling() {
  if (!state.poll) return;
  clearTimeout(state.poll.timer);
  state.poll = null;
  thread.setRunning(false);
  syncBusy();
}

function syncBusy() {
  const id = state.currentId;
  const busy = Boolean(id && (state.streams.has(id) || state.poll?.id === id));
  composer.setBusy(busy);
  canvas.setBusy(busy); // Build mode
  // A model picked while this conversation's reply was running applies now it has ended.
  const pending = state.pendingModel;
  if (!busy && pending && pending.id === id) {
    state.pendingModel = null;
    patchConversationModel(pending.id, pending.model);
  }
}

// --- attachments and voice input -------------------------------------------------

/** What the shown model takes in (["text", "image", …]), or null while unknown. */
function currentModalities() {
  const spec = shownSpec();
  const info = modelInfo.find(spec);
  if (Array.isArray(info?.modalities)) return info.modalities;
  const model = state.model;
  if (model && (!spec || spec === model.spec) && Array.isArray(model.modalities))
    return model.modalities;
  return null;
}

function setupAttachments() {
  const input = $('attach-input');
  input.accept = ACCEPT;
  $('attach-button').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    tray.addFiles([...input.files]);
    input.value = ''; // the same file can be picked again
    composer.focus();
  });
  installDropZone(document.querySelector('.main'), (files) => {
    tray.addFiles(files);
    composer.focus();
  });
  installPaste(composer.input, (files) => tray.addFiles(files));
}

// Declared before the voice input, whose constructor already reports its state.
let voiceMode = null;
let provisional = null; // the composer's text before and after the cursor while live

const voice = new VoiceInput({
  button: $('mic-button'),
  bar: $('voice-bar'),
  onRecorded: (blob, info) => useRecording(blob, info),
  onError: (message) => {
    voiceMode?.stop(); // hands-free can't go on without the microphone
    toast.error(message);
  },
  onState: (s) => {
    $('composer').classList.toggle('recording', s !== 'idle');
    if (s === 'idle') {
      clearPartial();
      voiceMode?.listen();
    }
  },
  // A model that hears gets the recording itself; others get a live transcript.
  live: () => !currentModalities()?.includes('audio'),
  onPartial: (text) => showPartial(text),
  onSpeech: () => voiceMode?.interrupt(),
});
voice.buttonTitle = `Voice input: click, or hold ${keysText(KEYS.voice)}`;
voice.sync();

// Hands-free: talk, pause, the transcript is sent, the reply is read aloud, talk again.
voiceMode = new VoiceMode({ button: $('voice-mode-button'), voice, speaker });

// The live transcript, provisional (muted) in the composer until the final text replaces it.
function showPartial(text) {
  const box = composer.input;
  if (!provisional) {
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    provisional = { before: box.value.slice(0, start), after: box.value.slice(end) };
  }
  const { before, after } = provisional;
  const lead = before && !/\s$/.test(before) && text ? ' ' : '';
  composer.value = before + lead + text + after;
  box.classList.add('provisional');
  box.dataset.provisional = 'true';
}

function clearPartial() {
  if (!provisional) return;
  const { before, after } = provisional;
  provisional = null;
  const box = composer.input;
  box.classList.remove('provisional');
  delete box.dataset.provisional;
  composer.value = before + after;
  box.setSelectionRange(before.length, before.length);
}

/** A model that hears gets the recording itself; others get a local transcript to review. */
async function useRecording(blob, { mime, live }) {
  const ext = mime.includes('ogg') ? 'ogg' : mime.includes('mp4') ? 'm4a' : 'webm';
  const stamp = new Date().toTimeString().slice(0, 8).replace(/:/g, '');
  const name = `voice-${stamp}.${ext}`;
  if (currentModalities()?.includes('audio')) {
    tray.addFile(new File([blob], name, { type: blob.type || 'audio/webm' }));
    composer.focus();
    voiceMode.sendWhenReady(() => composer.submit(), () => !tray.uploading && !composer.busy);
    return;
  }
  voice.setBusyLabel('Transcribing…');
  let text = null;
  try {
    if (live) {
      // The live transcript's final text; if the link failed, the recording is posted.
      text = await live.catch((e) => {
        if (e.fromServer) throw e;
        return null;
      });
    }
    if (text == null) text = ((await transcribe(blob, name))?.text ?? '').trim();
  } catch (e) {
    clearPartial();
    toast.error(`Couldn't transcribe the recording: ${e.message}`);
    return;
  }
  clearPartial();
  if (!text) {
    toast.error('No speech was recognised in the recording.');
    return;
  }
  insertText(text);
  voiceMode.sendWhenReady(() => composer.submit(), () => !composer.busy);
}

/** Put text at the cursor (a space either side where needed), for the user to review. */
function insertText(text) {
  const box = composer.input;
  const start = box.selectionStart ?? box.value.length;
  const end = box.selectionEnd ?? box.value.length;
  const before = box.value.slice(0, start);
  const after = box.value.slice(end);
  const lead = before && !/\s$/.test(before) ? ' ' : '';
  const tail = after && !/^\s/.test(after) ? ' ' : '';
  composer.value = before + lead + text + tail + after;
  const at = (before + lead + text).length;
  composer.focus();
  box.setSelectionRange(at, at);
}

// --- sending -------------------------------------------------------------------

async function send(text, attachments = [], { kit = null, retry = null } = {}) {
  toast.hide();
  if (!retry) composer.clear();
  // Put back what was being sent when the server refuses it.
  const restore = () => {
    if (retry) return;
    if (!composer.value) composer.value = text;
    if (!tray.size) for (const a of attachments) tray.addUploaded(a);
  };
  const content = text || namesOf(attachments); // text is optional with files attached
  // Branches: an edit is sent as an alternative of the edited message, a retry adds a
  // reply beside the one it has; the messages below leave the thread (the server keeps them).
  const edit = retry || !state.currentId ? null : state.editing;
  if (!retry) cancelEdit();
  const branched = Boolean(retry || edit);
  if (retry) thread.removeAfter(retry);
  else if (edit) thread.removeAfter(edit.view, { inclusive: true });
  let id = state.currentId;
  if (!id) {
    try {
      const conv = await api.createConversation({ mode: state.mode });
      id = conv.id;
      canvas.setConversation(conv); // Build mode
      state.currentModel = conv.model;
      thread.setModel(conv.model);
      state.thinking = conv.thinking ?? null;
    } catch (e) {
      restore();
      toast.error(e.message);
      return;
    }
    // The Think toggle was set before the conversation existed: apply it before the turn.
    if (state.pendingThinking != null) {
      const wanted = state.pendingThinking;
      state.pendingThinking = null;
      try {
        const updated = await api.updateConversation(id, { thinking: wanted });
        state.thinking = updated.thinking ?? null;
      } catch (e) {
        toast.error(`Couldn't change thinking: ${e.message}`);
      }
    }
    state.currentId = id;
    syncThinking();
    state.openSeq++;
    history.pushState(null, '', `#/c/${encodeURIComponent(id)}`);
    refreshList();
  }
  thread.scrollToEnd(true);
  const stream = {
    id,
    started: false,
    ended: false,
    userView:
      retry ??
      thread.add({ role: 'user', content, attachments, status: 'complete' }, { animate: true }),
    view: thread.add(
      { role: 'assistant', content: '', status: 'complete' },
      { streaming: true, animate: true },
    ),
  };
  state.streams.set(id, stream);
  syncBusy();
  let resync = false;
  try {
    const onEvent = (name, data) => onTurnEvent(stream, name, data);
    if (retry) await streamRetry(id, retry.root.dataset.id, onEvent, kit);
    else await streamTurn(id, content, onEvent, attachments.map((a) => a.id), kit, edit?.id);
    if (!stream.ended) {
      stream.view.finish(null, 'error');
      stream.view.setError('The reply ended unexpectedly.');
      resync = true;
    }
  } catch (e) {
    if (!stream.started && e instanceof ApiError) {
      // Rejected before the turn began (404, 409, 422…): nothing was stored.
      if (!retry) thread.remove(stream.userView);
      thread.remove(stream.view);
      restore();
      if (state.currentId === id) toast.error(e.message);
      if (branched && state.currentId === id) resync = true; // put the branch back
    } else {
      // The connection dropped mid-turn; the server keeps going, so resync from it.
      stream.view.finish(null, 'error');
      stream.view.setError(e.message || 'Lost the connection to the server.');
      resync = true;
    }
  } finally {
    state.streams.delete(id);
    syncBusy();
    refreshList();
    if (state.model?.loaded === false) loadModel(); // the first turn loads the model
  }
  if (resync && state.currentId === id) openConversation(id);
  else if (branched && state.currentId === id) showAlternatives(id);
}

/** After a retry or an edit: the "‹ 2 / 2 ›" of the new message (and the files, in Build). */
async function showAlternatives(id) {
  canvas.refresh(); // Build mode: the files went back before the turn
  try {
    const conv = await api.getConversation(id);
    if (state.currentId === id && !state.streams.has(id)) thread.sync(conv.messages);
  } catch {
    // the next load shows them
  }
}

function onTurnEvent(stream, name, data) {
  const { view } = stream;
  canvas.onTurnEvent(stream.id, name, data); // Build mode: code, files, versions, preview
  switch (name) {
    case TurnEvent.TURN_START:
      stream.started = true;
      if (data.user_message) {
        if (stream.joined && data.user_message.id !== stream.userId) {
          // A turn newer than the conversation as loaded: its message isn't shown yet.
          stream.userView = thread.add(data.user_message);
          thread.list.insertBefore(stream.userView.root, view.root);
        }
        stream.userId = data.user_message.id;
        stream.userView.update(data.user_message);
      }
      stream.assistantId = data.assistant_message_id;
      if (data.assistant_message_id) view.root.dataset.id = data.assistant_message_id;
      // Joined a Continue: the reply's text from before it, then the turn's own text.
      if (stream.joined && data.continue && data.assistant_message)
        view.update({ ...data.assistant_message, stats: null }, { streaming: true });
      refreshList(); // the title comes from the first message
      break;
    case TurnEvent.TEXT:
      view.appendText(data.text ?? '');
      break;
    case TurnEvent.THINKING:
      view.appendThinking(data.text ?? '');
      break;
    case TurnEvent.STATS:
      view.setStats(data);
      break;
    case TurnEvent.CONTEXT:
      view.setContextNotice(data);
      break;
    case TurnEvent.NOTICE: // e.g. an image this model can't see; the turn goes on
      if (data.message) view.addNotice(data.message);
      if (data.attachment?.id) markNotSent(stream.userView, data.attachment);
      break;
    case TurnEvent.ERROR:
      stream.started = true;
      view.setError(data.message || 'Something went wrong.');
      break;
    case TurnEvent.TURN_END:
      stream.ended = true;
      view.finish(data.message, data.reason);
      if (data.reason !== 'cancelled' && state.currentId === stream.id)
        voiceMode.replied(() => thread.readAloud(view));
      break;
    // Build mode: each action as a chip in the reply
    case TurnEvent.ACTION_START:
      view.actionStart(data);
      break;
    case TurnEvent.ACTION_PARAM:
      view.actionParam(data);
      break;
    case TurnEvent.FILE_START:
      view.fileStart(data);
      break;
    case TurnEvent.ACTION_END:
      view.actionEnd(data);
      break;
    case TurnEvent.VERSION:
      if (data.added) view.setFiles(data); // the turn's own version: what it changed
      break;
    default:
      break; // file.delta and preview: the canvas has them
  }
}

// --- Continue: a reply that stopped at the length limit goes on in the same message ------

async function continueReply(view) {
  const id = state.currentId;
  if (!id || composer.busy || state.streams.has(id)) return;
  toast.hide();
  const stream = { id, started: false, ended: false, userView: thread.userBefore(view), view };
  state.streams.set(id, stream);
  view.resume();
  thread.scrollToEnd(true);
  syncBusy();
  let resync = false;
  try {
    await streamContinue(id, (name, data) => onTurnEvent(stream, name, data));
    if (!stream.ended) {
      view.finish(null, 'error');
      view.setError('The reply ended unexpectedly.');
      resync = true;
    }
  } catch (e) {
    view.finish(null, stream.started ? 'error' : 'length');
    if (stream.started) view.setError(e.message || 'Lost the connection to the server.');
    else toast.error(e.message);
    resync = stream.started;
  } finally {
    state.streams.delete(id);
    syncBusy();
    refreshList();
  }
  if (resync && state.currentId === id) openConversation(id);
}

/** The user's message shows which of its files the model did not get (a `notice`). */
function markNotSent(userView, { id, not_sent: reason }) {
  if (!userView?.attachments) return;
  userView.attachments = userView.attachments.map((a) =>
    a.id === id ? { ...a, meta: { ...a.meta, not_sent: reason } } : a,
  );
  userView.renderFiles();
}

async function stop() {
  const id = state.currentId;
  if (!id || !(state.streams.has(id) || state.poll?.id === id)) return;
  try {
    await api.stop(id);
  } catch (e) {
    toast.error(e.message);
  }
}

// --- header: model, mode, help -----------------------------------------------------

async function loadModel() {
  try {
    const health = await api.health();
    let model = health.model;
    if (!model?.name) {
      const models = await api.models().catch(() => null);
      const active = models?.models?.find((m) => m.spec === models.active);
      model = { spec: models?.active, name: active?.name || models?.active || 'Local model' };
    }
    state.model = model;
    if (health.features?.includes('build') && !state.buildAvailable) enableBuild(); // Build mode
    $('empty-model').textContent = model.name;
    showModel();
    refreshModels(); // names, thinking support and more for the picker and the Think toggle
  } catch {
    state.model = null;
    showModel();
    setTimeout(loadModel, 5000);
  }
}

const pickerKeys = keysText(KEYS.models);

/** The header names the open conversation's model (the server's default for a new chat). */
function showModel(spec = state.currentModel) {
  state.currentModel = spec;
  const pill = $('model-pill');
  const name = $('model-name');
  const model = state.model;
  state.modelShort = null;
  if (state.switching) {
    name.textContent = `Loading ${shortModelName(state.switching.name)}…`;
    pill.dataset.state = 'loading';
    pill.title = `Loading ${state.switching.name} (${state.switching.spec})…`;
  } else if (!model) {
    name.textContent = 'Server offline';
    pill.dataset.state = 'error';
    pill.title = 'Cannot reach the Gemma Chat server';
  } else if (spec && model.spec && spec !== model.spec) {
    // The chip shows a short name; its tooltip the full name and the spec.
    const label = modelLabel(spec);
    state.modelShort = shortModelName(label);
    name.textContent = state.modelShort;
    pill.dataset.state = 'ready';
    pill.title = `${label} · this conversation uses ${spec} · choose a model (${pickerKeys})`;
  } else {
    state.modelShort = shortModelName(model.name);
    name.textContent = state.modelShort;
    pill.dataset.state = model.error ? 'error' : model.loaded === false ? 'loading' : 'ready';
    const spec = model.spec && model.spec !== model.name ? ` · ${model.spec}` : '';
    pill.title = model.error
      ? `${model.name}: the model failed to load: ${model.error}`
      : `${model.name}${spec}${model.loaded === false ? ' · loading…' : ''}` +
        ` · choose a model (${pickerKeys})`;
  }
  setPlaceholder();
  picker?.update();
  tray.refreshNotices(); // what the model can take decides the chips' notices
  syncGuide();
}

/** The spec the header shows: the open conversation's model, else the default. */
const shownSpec = () => state.currentModel || state.model?.spec || null;

/**
 * The picker chose a model: load it (it becomes the default for new chats), then move the
 * open conversation to it. Resolves false, with the server's reason in the toast, on failure.
 */
async function switchModel(spec, name) {
  const before = $('model-name').textContent;
  const label = name || modelLabel(spec);
  const id = state.currentId;
  state.switching = { spec, name: label };
  toast.hide();
  showModel();
  let loaded;
  try {
    loaded = await loadTrusted(spec);
  } catch (e) {
    state.switching = null;
    showModel();
    toast.error(`Could not switch to ${label}: ${e.message} — still using ${before}`);
    return false;
  }
  state.switching = null;
  state.model = {
    spec: loaded?.spec || spec,
    name: loaded?.name || label,
    loaded: true,
    error: loaded?.error ?? null,
  };
  $('empty-model').textContent = state.model.name;
  if (id && id === state.currentId) {
    if (state.streams.has(id) || state.poll?.id === id) {
      // A running turn keeps its model; the conversation switches once it ends (syncBusy).
      state.pendingModel = { id, model: spec };
    } else {
      await patchConversationModel(id, spec);
    }
  }
  showModel();
  refreshModels();
  syncThinking();
  return true;
}

/**
 * Load a model; a server on another machine is used only once the user has seen its URL
 * and agreed (the server answers 409 with `confirm.url` until then, and remembers a yes).
 */
async function loadTrusted(spec) {
  try {
    return await api.loadModel(spec);
  } catch (e) {
    if (e.status !== 409 || !e.confirm) throw e;
    const url = e.confirm.url;
    const yes = await confirmDialog($('confirm-dialog'), {
      title: 'Use a model on another machine?',
      body: `Send your messages to ${url}? Only continue if you trust this server.`,
      confirmLabel: 'Send to this server',
    });
    if (!yes) throw new Error(`you chose not to send messages to ${url}`);
    return api.loadModel(spec, { confirmHost: true });
  }
}

async function patchConversationModel(id, spec) {
  try {
    const conv = await api.updateConversation(id, { model: spec });
    if (id !== state.currentId) return;
    state.thinking = conv.thinking ?? null;
    thread.setModel(conv.model);
    showModel(conv.model);
    syncThinking();
  } catch (e) {
    if (id === state.currentId) {
      toast.error(`This conversation still uses ${modelLabel(state.currentModel)}: ${e.message}`);
    }
  }
}

// --- the Think toggle -----------------------------------------------------------------------

function syncThinking() {
  const available = Boolean(modelInfo.find(shownSpec())?.thinking);
  const on = state.currentId ? state.thinking === true : state.pendingThinking === true;
  composer.setThinking({ available, on });
}

async function setThinking(on) {
  const id = state.currentId;
  if (!id) {
    state.pendingThinking = on; // applied right after the conversation is created
    syncThinking();
    return;
  }
  const before = state.thinking;
  state.thinking = on;
  syncThinking();
  try {
    const conv = await api.updateConversation(id, { thinking: on });
    if (id === state.currentId) state.thinking = conv.thinking ?? null;
  } catch (e) {
    if (id === state.currentId) state.thinking = before;
    toast.error(`Couldn't change thinking: ${e.message}`);
  }
  syncThinking();
}

let showHelp = null; // opens the shortcuts list (the command palette's action)

function setupHelp() {
  const button = $('help-button');
  const pop = $('help-popover');
  $('shortcut-list').innerHTML = shortcutsHtml();
  $('new-chat-keys').innerHTML = keysHtml(KEYS.newChat);
  $('new-chat').title = withKeys('New chat', KEYS.newChat);
  $('palette-button').title = withKeys('Search chats, models and actions', KEYS.palette);
  $('composer-hint').innerHTML =
    `<span class="keys">${keysHtml(KEYS.send)}</span> to send · ` +
    `<span class="keys">${keysHtml(KEYS.newline)}</span> for a new line`;
  $('send-button').title = withKeys('Send', KEYS.send);
  $('stop-button').title = withKeys('Stop', KEYS.stop);
  const setOpen = (open) => {
    pop.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
  };
  button.addEventListener('click', () => setOpen(pop.hidden));
  document.addEventListener('click', (e) => {
    if (!pop.hidden && !e.target.closest('.help')) setOpen(false);
  });
  showHelp = () => {
    setOpen(true);
    button.focus();
  };
  return () => {
    if (document.querySelector('dialog[open]')) return true; // the dialog handles its own Esc
    if (pop.hidden) return false;
    setOpen(false);
    button.focus();
    return true;
  };
}

function renderSuggestions() {
  const box = $('suggestions');
  box.replaceChildren();
  for (const [title, rest] of state.mode === 'build' ? BUILD_SUGGESTIONS : SUGGESTIONS) {
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.className = 'suggestion';
    chip.dataset.testid = 'suggestion';
    chip.setAttribute('role', 'listitem');
    chip.innerHTML = '<strong></strong><span></span>';
    chip.querySelector('strong').textContent = title;
    chip.querySelector('span').textContent = rest;
    chip.addEventListener('click', () => send(`${title} ${rest}`, tray.ready));
    box.append(chip);
  }
}

// --- start -----------------------------------------------------------------------

const closeHelp = setupHelp();
const settingsPanel = new SettingsPanel({
  toast,
  onSaved: (scope, saved) => {
    // The Think toggle and the panel's Thinking are the same switch.
    if (scope === state.currentId) state.thinking = saved.thinking ?? null;
    syncThinking();
  },
});
$('settings-button').addEventListener('click', () => {
  sidebar.close();
  settingsPanel.open();
});
// Export (this chat; all data) and import, reported in the toast.
new Transfer({
  toast,
  current: () => (state.currentId ? { id: state.currentId, title: state.title } : null),
  onImported: async (report) => {
    await refreshList();
    // Open what came in (not over a Build file edited by hand and not saved).
    const first = report.conversations?.[0];
    if (!first || canvas.dirty) return;
    history.pushState(null, '', `#/c/${encodeURIComponent(first.id)}`);
    await openConversation(first.id);
  },
  exportButton: $('export-button'),
  exportMenu: $('export-list'),
  importButton: $('import-button'),
  exportAll: $('export-all'),
  fileInput: $('import-input'),
});
// A new chat has no settings of its own yet: its button opens the defaults.
$('chat-settings-button').addEventListener('click', () => settingsPanel.open(state.currentId));
picker = new ModelPicker({
  menu: $('model-menu'),
  pill: $('model-pill'),
  dialog: $('confirm-dialog'),
  current: shownSpec,
  onChoose: (spec, name) => switchModel(spec, name),
  onError: (message) => toast.error(message),
});
// The command palette: chats, models and the actions that can run now.
const palette = new CommandPalette({
  recent: (limit) => api.listConversations(limit, 0),
  search: (q, limit) => api.searchConversations(q, limit, 0),
  models: () => {
    const current = shownSpec();
    return modelInfo.list
      .filter((m) => m.installed || m.source !== 'catalogue') // as the picker's "On this computer"
      .map((m) => ({ spec: m.spec, name: m.name || shortSpec(m.spec), current: m.spec === current }));
  },
  actions: paletteActions,
  openConversation: (id, messageId) => {
    revealMessage(id, messageId);
    if (id !== state.currentId) location.hash = `#/c/${encodeURIComponent(id)}`;
  },
  chooseModel: (spec, name) => switchModel(spec, name),
});
$('palette-button').addEventListener('click', () => palette.open());
// The skip link (the first Tab stop): past the conversation list to the message box.
$('skip-link').addEventListener('click', (e) => {
  e.preventDefault(); // the hash is the router's (#/c/ID)
  composer.focus();
});

function paletteActions() {
  const busy = state.currentId && (state.streams.has(state.currentId) || state.poll?.id === state.currentId);
  const current = state.conversations.find((c) => c.id === state.currentId);
  const touch = touchOnly();
  const dark = document.documentElement.dataset.theme === 'dark';
  const list = [
    { id: 'new-chat', label: 'New chat', keys: KEYS.newChat, run: () => newChat({ mode: 'chat' }) },
    state.buildAvailable && {
      id: 'new-build',
      label: 'New build',
      keywords: 'build app project',
      run: () => newChat({ mode: 'build' }),
    },
    busy && { id: 'stop', label: 'Stop generating', keys: KEYS.stop, run: () => stop() },
    {
      id: 'models',
      label: 'Choose a model…',
      keys: KEYS.models,
      keywords: 'model picker switch download',
      run: () => picker.open(),
    },
    {
      id: 'composer',
      label: 'Focus the message box',
      keys: KEYS.composer,
      keywords: 'composer write type',
      run: () => composer.focus(),
    },
    {
      id: 'voice-mode',
      label: voiceMode.on ? 'Turn voice mode off' : 'Voice mode',
      keys: KEYS.voiceMode,
      keywords: 'speak talk hands-free',
      run: () => voiceMode.toggle(),
    },
    {
      id: 'search',
      label: 'Search chats in the sidebar',
      keywords: 'find history',
      run: () => {
        sidebar.reveal();
        $('search').focus();
      },
    },
    !touch && {
      id: 'sidebar',
      label: 'Toggle the sidebar',
      keywords: 'hide show conversations',
      run: () => $('sidebar-toggle').click(),
    },
    state.currentId && state.mode === 'build' && {
      id: 'export',
      label: 'Download this project (.zip)',
      keywords: 'export zip save',
      run: () => {
        const a = document.createElement('a');
        a.href = workspaceApi.exportUrl(state.currentId);
        a.download = '';
        a.click();
      },
    },
    current && {
      id: 'delete',
      label: 'Delete this chat…',
      keywords: 'remove conversation',
      run: () => remove(current),
    },
    // The theme and the settings panel (theme.js, settings.js), where this page has them.
    window.gemmaTheme && {
      id: 'theme',
      label: dark ? 'Switch to the light theme' : 'Switch to the dark theme',
      keywords: 'theme colours appearance dark light mode',
      run: () => window.gemmaTheme.set(dark ? 'light' : 'dark'),
    },
    $('settings-button') && {
      id: 'settings',
      label: 'Settings…',
      keywords: 'preferences defaults system prompt temperature theme',
      run: () => $('settings-button').click(),
    },
    !touch && {
      id: 'shortcuts',
      label: 'Keyboard shortcuts',
      keywords: 'keys help hotkeys',
      run: () => showHelp(),
    },
  ];
  return list.filter(Boolean);
}

setupAttachments();
onModelsChange(() => {
  showModel();
  syncThinking();
  thread.setModel(thread.model); // names for the replies' model tags
});
renderSuggestions();
installShortcuts({
  newChat: () => newChat(),
  palette: () => {
    closeHelp();
    picker.close({ focus: false });
    palette.toggle();
  },
  focusComposer: () => composer.focus(),
  stop: () => stop(),
  models: () => {
    closeHelp();
    picker.toggle();
  },
  escape: () =>
    voiceMode.stop() || voice.cancel() || speaker.cancel() || closeHelp() || picker.close(),
  voiceMode: () => voiceMode.toggle(),
  voiceDown: () => voice.shortcutDown(),
  voiceUp: () => voice.shortcutUp(),
});
$('new-chat').addEventListener('click', () => {
  newChat();
  sidebar.close();
});
for (const button of document.querySelectorAll('.mode-toggle .mode')) {
  button.addEventListener('click', (e) => {
    if (onModeClick(button.dataset.mode)) return; // Build mode
    e.currentTarget.classList.remove('nudge');
    void e.currentTarget.offsetWidth; // restart the animation
    e.currentTarget.classList.add('nudge');
  });
}
window.addEventListener('hashchange', route);
window.addEventListener('popstate', route);

loadModel();
refreshList();
if (idFromHash()) route();
else newChat();
