// Small formatting helpers shared by the thread and the sidebar.

// One formatter (toLocaleString builds one per call: too slow for every streaming frame).
const numbers = new Intl.NumberFormat();
const num = (n) => numbers.format(Number(n));

// Sizes and durations: the rules of gemma_chat/util/units.py, so that one file shows one size
// in every panel and in the CLI. Bytes in decimal SI units (1 kB = 1000 B, 1 MB = 1000 kB), as
// Hugging Face publishes model sizes and the OS file managers show files; one decimal, dropped
// when it is zero. Rounding is half up on both sides.
const BYTE_UNITS = ['kB', 'MB', 'GB', 'TB', 'PB'];

/** "999 B", "1 kB", "1.5 MB", "4.2 GB"; '' for a missing or non-numeric size. */
export function formatBytes(n) {
  if (n == null || n === '') return '';
  n = Number(n);
  if (!Number.isFinite(n)) return '';
  if (n < 0) return `-${formatBytes(-n)}`;
  if (Math.round(n) < 1000) return `${Math.round(n)} B`;
  let scale = 1;
  for (const unit of BYTE_UNITS) {
    scale *= 1000;
    const tenths = Math.floor((n * 10) / scale + 0.5);
    if (tenths < 10000 || unit === 'PB') {
      return tenths % 10 === 0 ? `${tenths / 10} ${unit}` : `${(tenths / 10).toFixed(1)} ${unit}`;
    }
  }
  return '';
}

/** "45 s", "3 min", "1 h 5 min"; '' for a negative or unknown duration. */
export function formatDuration(seconds) {
  if (seconds == null || seconds === '') return '';
  seconds = Number(seconds);
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (Math.round(seconds) < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

/** "412 ms" / "1.3 s" */
export function formatMs(ms) {
  if (ms == null || !Number.isFinite(ms)) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "1 token", "2 tokens", "1,200 tokens". */
export const tokenCount = (n) => `${num(n)} ${Number(n) === 1 ? 'token' : 'tokens'}`;

/** Stats line for an assistant reply, plus the fuller tooltip text. */
export function formatStats(stats) {
  if (!stats) return null;
  const parts = [];
  if (stats.ttft_ms != null) parts.push(`${formatMs(stats.ttft_ms)} to first token`);
  if (stats.tokens_per_s) parts.push(`${stats.tokens_per_s.toFixed(1)} tok/s`);
  if (stats.completion_tokens) parts.push(tokenCount(stats.completion_tokens));
  if (stats.estimated) {
    return { text: parts.join(' · '), title: 'Live estimate while the reply streams' };
  }
  const tip = [
    stats.ttft_ms != null ? `Time to first token: ${formatMs(stats.ttft_ms)}` : null,
    stats.tokens_per_s ? `Speed: ${stats.tokens_per_s.toFixed(1)} tokens/s` : null,
    `Prompt: ${tokenCount(stats.prompt_tokens ?? 0)}` +
      (stats.cached_tokens ? ` (${num(stats.cached_tokens)} cached)` : ''),
    `Completion: ${tokenCount(stats.completion_tokens ?? 0)}`,
  ].filter(Boolean);
  return { text: parts.join(' · '), title: tip.join('\n') };
}

/**
 * Seconds spent thinking for a stored message. The API stores no duration, so estimate it
 * from the stats: time to first token plus the thinking share of the generated tokens.
 */
export function estimateThinkingSeconds(message) {
  const s = message.stats;
  if (s?.thinking_ms != null) return s.thinking_ms / 1000;
  if (!s || !s.tokens_per_s || !s.completion_tokens) return null;
  const think = message.thinking?.length ?? 0;
  const share = think / Math.max(1, think + (message.content?.length ?? 0));
  return (s.ttft_ms ?? 0) / 1000 + (s.completion_tokens * share) / s.tokens_per_s;
}

export function thoughtLabel(seconds) {
  if (seconds == null) return 'Thoughts';
  if (seconds < 1) return 'Thought for a moment';
  return `Thought for ${formatDuration(seconds)}`;
}

/** Sidebar section for a timestamp: Today / Yesterday / Previous 7 days / … */
export function dateGroup(iso, now = new Date()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'Older';
  const startOfDay = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((startOfDay(now) - startOfDay(d)) / 86400000);
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days < 7) return 'Previous 7 days';
  if (days < 30) return 'Previous 30 days';
  return d.toLocaleDateString(undefined, { month: 'long', year: 'numeric' });
}

/**
 * A model's name short enough for the header chip and the composer: the name without a
 * trailing note in brackets ("(embedded)"; not an identifier such as a file name) or an
 * "Instruct"/"Chat" variant word, e.g. "SmolLM2 135M" for "SmolLM2 135M Instruct (embedded)".
 * The full name goes in a tooltip beside it.
 */
export function shortModelName(name) {
  const full = String(name ?? '').trim();
  const short = full
    .replace(/(\s*\([A-Za-z ]+\))+$/, '')
    .replace(/\s+(instruct|chat|it)$/i, '')
    .trim();
  return short || full;
}
