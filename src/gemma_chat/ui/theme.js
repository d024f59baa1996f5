// The colour theme, applied before the page is drawn (a classic script in <head>, not a
// module, so there is no flash of the other theme). The choice ("system", "light" or
// "dark") is kept in this browser; "system" follows the OS setting, live.
// <html data-theme> is always the theme in force ("light" or "dark"); styles.css keys
// its dark colours on it. settings.js changes the choice through window.gemmaTheme.
(() => {
  const KEY = 'gemma-chat.theme';
  const CHOICES = ['system', 'light', 'dark'];
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  const read = () => {
    try {
      const saved = localStorage.getItem(KEY);
      return CHOICES.includes(saved) ? saved : 'system';
    } catch {
      return 'system'; // storage blocked: follow the OS
    }
  };
  const apply = () => {
    const choice = read();
    const theme = choice === 'system' ? (dark.matches ? 'dark' : 'light') : choice;
    document.documentElement.dataset.theme = theme;
    document.documentElement.dataset.themeChoice = choice;
  };
  apply();
  dark.addEventListener('change', apply);
  window.addEventListener('storage', (e) => {
    if (e.key === KEY) apply(); // chosen in another tab
  });
  window.gemmaTheme = {
    CHOICES,
    get: read,
    set(choice) {
      if (!CHOICES.includes(choice)) return;
      try {
        localStorage.setItem(KEY, choice);
      } catch {
        /* storage blocked: applies to this page only */
      }
      apply();
      if (read() !== choice) {
        const theme = choice === 'system' ? (dark.matches ? 'dark' : 'light') : choice;
        document.documentElement.dataset.theme = theme;
        document.documentElement.dataset.themeChoice = choice;
      }
    },
  };
})();
