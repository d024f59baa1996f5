// test_keyboard_ui.py evaluates this: the focused element's focus ring (its outline or
// box-shadow, or that of the box around a text field) and the ring's contrast.
async () => {
  const el = document.activeElement;
  // Measure the ring as it ends up, not halfway through a transition.
  await Promise.all(document.getAnimations().filter((a) => a instanceof CSSTransition)
    .map((a) => a.finished.catch(() => {})));
  const rgb = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const bgOf = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return rgb(getComputedStyle(document.body).backgroundColor);
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const contrast = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const blend = (c, bg) => ({
    r: c.r * c.a + bg.r * (1 - c.a), g: c.g * c.a + bg.g * (1 - c.a), b: c.b * c.a + bg.b * (1 - c.a),
  });
  // The ring is the element's outline or box-shadow, or (a text field inside a styled box)
  // that of the nearest ancestor which draws one while it has focus within.
  const rings = [];
  for (let n = el, depth = 0; n && depth < 3; n = n.parentElement, depth++) {
    const s = getComputedStyle(n);
    const bg = bgOf(n.parentElement || n);
    if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) {
      const c = rgb(s.outlineColor);
      if (c) rings.push({ by: n === el ? 'outline' : 'ancestor outline', ratio: contrast(blend(c, bg), bg) });
    }
    if (s.boxShadow && s.boxShadow !== 'none') {
      for (const part of s.boxShadow.split(/,(?![^(]*\))/)) {
        const c = rgb(part);
        const px = (part.replace(/rgba?\([^)]*\)/, '').match(/-?[\d.]+px/g) || []).map(parseFloat);
        // A ring: no offset, no blur, a spread that (with a border of the same colour) is
        // 2px or more.
        const border = s.borderTopColor.replace(/\s/g, '') === (part.match(/rgba?\([^)]*\)/) || [''])[0].replace(/\s/g, '')
          ? parseFloat(s.borderTopWidth) : 0;
        if (c && px.length >= 4 && px[0] === 0 && px[1] === 0 && px[2] === 0 && Math.abs(px[3]) + border >= 2) {
          const under = part.includes('inset') ? bgOf(n) : bg;
          rings.push({ by: n === el ? 'box-shadow' : 'ancestor box-shadow', ratio: contrast(blend(c, under), under) });
        }
      }
    }
    if (n !== el && !n.matches(':focus-within')) break;
  }
  const best = rings.sort((a, b) => b.ratio - a.ratio)[0] || null;
  const name = el.id || el.dataset.testid || el.getAttribute('aria-label') ||
    (el.textContent || '').trim().slice(0, 30) || el.tagName;
  return { name, tag: el.tagName, best, isBody: el === document.body };
}
