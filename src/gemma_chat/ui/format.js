// Small formatting helpers shared by the thread and the sidebar.

// One formatter (toLocaleString builds one per call: too slow for every streaming frame).
const numbers = new Intl.NumberFormat();
const num = (n) => numbers.format(Number(n));

/** "412 ms" / "1.3 s" */
export function formatMs(ms) {
  if (ms == null || !Number.isFinite(ms)) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Stats line for an assistant reply, plus the fuller tooltip text. */
export function formatStats(stats) {
  if (!stats) return null;
  const parts = [];
  if (stats.ttft_ms != null) parts.push(`${formatMs(stats.ttft_ms)} to first token`);
  if (stats.tokens_per_s) parts.push(`${stats.tokens_per_s.toFixed(1)} tok/s`);
  if (stats.completion_tokens) parts.push(`${num(stats.completion_tokens)} tokens`);
  if (stats.estimated) {
    return { text: parts.join(' · '), title: 'Live estimate while the reply streams' };
  }
  const tip = [
    stats.ttft_ms != null ? `Time to first token: ${formatMs(stats.ttft_ms)}` : null,
    stats.tokens_per_s ? `Speed: ${stats.tokens_per_s.toFixed(1)} tokens/s` : null,
    `Prompt: ${num(stats.prompt_tokens ?? 0)} tokens` +
      (stats.cached_tokens ? ` (${num(stats.cached_tokens)} cached)` : ''),
    `Completion: ${num(stats.completion_tokens ?? 0)} tokens`,
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
  const s = Math.round(seconds);
  return s < 60 ? `Thought for ${s}s` : `Thought for ${Math.floor(s / 60)}m ${s % 60}s`;
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
