// Global keyboard shortcuts. The help popover lists them, so keep the two in step.

export const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
export const MOD = isMac ? '⌘' : 'Ctrl';

export const SHORTCUTS = [
  [[MOD, 'Shift', 'O'], 'New chat'],
  [[MOD, 'K'], 'Search chats'],
  [[MOD, 'Shift', 'M'], 'Choose a model'],
  [[MOD, 'Shift', 'Space'], 'Voice input (hold to talk, tap to toggle)'],
  [[MOD, 'Shift', 'H'], 'Voice mode: hands-free conversation, replies read aloud'],
  [['/'], 'Focus the message box'],
  [['Enter'], 'Send message'],
  [['Shift', 'Enter'], 'New line'],
  [['Esc'], 'Stop generating · cancel a recording'],
];

const isTyping = (t) =>
  t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));

export function installShortcuts({
  newChat,
  focusSearch,
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
      focusSearch();
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
      `<li><span>${what}</span><span class="keys">${keys.map((k) => `<kbd>${k}</kbd>`).join('')}</span></li>`,
  ).join('');
}
