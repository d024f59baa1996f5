// Global keyboard shortcuts, and the one formatter for every place a shortcut is shown
// (tooltips, the shortcuts list, the command palette): ⌘ ⇧ on a Mac, Ctrl Shift elsewhere.

export const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
export const MOD = isMac ? '⌘' : 'Ctrl';

// Keys are written with 'Mod' for Ctrl (⌘ on a Mac); keyName() gives what a label shows.
const MAC_NAMES = { Mod: '⌘', Shift: '⇧', Alt: '⌥' };
const NAMES = { Mod: 'Ctrl' };
export const keyName = (key) => (isMac ? MAC_NAMES : NAMES)[key] ?? key;

/** One shortcut as text, for a title attribute: "Ctrl+Shift+O", or "⌘⇧O" on a Mac. */
export function keysText(keys) {
  const names = keys.map(keyName);
  // Mac glyphs run together (⌘⇧O); a word key still needs a separator (⌘⇧ Space).
  if (isMac) return names.reduce((out, k, i) => (i && k.length > 1 ? `${out} ${k}` : out + k), '');
  return names.join('+');
}

/** One shortcut as <kbd> keys (safe HTML: the names are the fixed ones above). */
export const keysHtml = (keys) => keys.map((k) => `<kbd>${keyName(k)}</kbd>`).join('');

/** The same as DOM nodes. */
export function keysNodes(keys) {
  return keys.map((k) => {
    const kbd = document.createElement('kbd');
    kbd.textContent = keyName(k);
    return kbd;
  });
}

/** A label with its shortcut: "New chat (Ctrl+Shift+O)". */
export const withKeys = (label, keys) => `${label} (${keysText(keys)})`;

/** No hover and a coarse pointer: a touch screen, where keyboard shortcuts are no use. */
export const touchOnly = () => matchMedia('(hover: none)').matches;

export const KEYS = {
  newChat: ['Mod', 'Shift', 'O'],
  palette: ['Mod', 'K'],
  models: ['Mod', 'Shift', 'M'],
  voice: ['Mod', 'Shift', 'Space'],
  voiceMode: ['Mod', 'Shift', 'H'],
  composer: ['/'],
  send: ['Enter'],
  newline: ['Shift', 'Enter'],
  stop: ['Esc'],
  save: ['Mod', 'S'],
};

export const SHORTCUTS = [
  [KEYS.palette, 'Command palette: chats, models, actions'],
  [KEYS.newChat, 'New chat'],
  [KEYS.models, 'Choose a model'],
  [KEYS.voice, 'Voice input (hold to talk, tap to toggle)'],
  [KEYS.voiceMode, 'Voice mode: hands-free conversation, replies read aloud'],
  [KEYS.composer, 'Focus the message box'],
  [KEYS.send, 'Send message'],
  [KEYS.newline, 'New line'],
  [KEYS.stop, 'Stop generating · cancel a recording · close'],
  [KEYS.save, 'Save the file being edited (Build)'],
];

const isTyping = (t) =>
  t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));

export function installShortcuts({
  newChat,
  palette,
  focusComposer,
  stop,
  escape,
  models,
  voiceDown,
  voiceUp,
  voiceMode,
}) {
  let talking = false; // the push-to-talk keys are held
  const release = () => {
    if (!talking) return;
    talking = false;
    voiceUp?.();
  };
  document.addEventListener('keyup', (e) => {
    if (talking && (e.code === 'Space' || e.key === 'Shift' || e.key === 'Control' || e.key === 'Meta'))
      release();
  });
  window.addEventListener('blur', release);
  document.addEventListener('keydown', (e) => {
    const mod = isMac ? e.metaKey : e.ctrlKey;
    const key = e.key.toLowerCase();
    if (mod && e.shiftKey && e.code === 'Space' && voiceDown) {
      e.preventDefault();
      if (e.repeat || talking) return;
      talking = true;
      voiceDown();
    } else if (mod && e.shiftKey && key === 'h' && voiceMode) {
      e.preventDefault();
      voiceMode();
    } else if (mod && e.shiftKey && key === 'o') {
      e.preventDefault();
      newChat();
    } else if (mod && e.shiftKey && key === 'm' && models) {
      e.preventDefault();
      models();
    } else if (mod && !e.shiftKey && key === 'k') {
      e.preventDefault();
      palette();
    } else if (e.key === 'Escape' && !e.defaultPrevented) {
      // A popover closes first; otherwise Esc stops a streaming reply.
      if (!escape()) stop();
    } else if (e.key === '/' && !mod && !e.altKey && !isTyping(e.target)) {
      e.preventDefault();
      focusComposer();
    }
  });
}

export function shortcutsHtml() {
  return SHORTCUTS.map(
    ([keys, what]) =>
      `<li><span>${what}</span><span class="keys">${keysHtml(keys)}</span></li>`,
  ).join('');
}
