// Turn event names, the same as src/gemma_chat/events.py (tests/test_events.py checks it).
// Every name is handled by app.js or canvas.js, or listed in IGNORED with the reason.

export const TurnEvent = Object.freeze({
  TURN_START: 'turn.start',
  TEXT: 'text',
  THINKING: 'thinking',
  STATS: 'stats',
  CONTEXT: 'context',
  NOTICE: 'notice',
  ERROR: 'error',
  TURN_END: 'turn.end',
  // Build mode
  ACTION_START: 'action.start',
  ACTION_PARAM: 'action.param',
  FILE_START: 'file.start',
  FILE_DELTA: 'file.delta',
  ACTION_END: 'action.end',
  PREVIEW: 'preview',
  VERSION: 'version',
});

// Events the web UI does not show. Empty: app.js (the thread) and canvas.js (Build mode's
// code, files, versions and preview) handle every one.
export const IGNORED = Object.freeze(new Set());
