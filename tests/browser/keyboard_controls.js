// test_keyboard_ui.py evaluates this: every visible control, and anything that looks
// clickable (a pointer cursor) but is no control and sits in none.
() => {
  const sel = 'a[href], button, input, textarea, select, summary, [tabindex], [role=button], [role=tab]';
  const shown = (el) => {
    if (el.closest('[hidden], [inert], dialog:not([open])')) return false;
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'
      && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
  };
  const controls = [...document.querySelectorAll(sel)].filter(
    (el) => shown(el) && !el.disabled && el.tabIndex >= 0 && !el.classList.contains('skip-link'),
  );
  // Something that looks clickable (a pointer cursor) but is no control and sits in none.
  const fake = [...document.querySelectorAll('body *')].filter((el) =>
    shown(el) && getComputedStyle(el).cursor === 'pointer' &&
    !el.closest(sel + ', label') && el.tagName !== 'svg' && !el.closest('svg'));
  const name = (el) => el.id || el.dataset.testid || el.getAttribute('aria-label') ||
    (el.textContent || '').trim().slice(0, 30) || el.outerHTML.slice(0, 60);
  return { controls: controls.map(name), fake: fake.map((el) => el.outerHTML.slice(0, 120)) };
}
