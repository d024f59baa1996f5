// Gemma Chat live preview client: injected into every HTML page the preview server serves.
//
// The server bundles this file after idiomorph (as `Idiomorph`) inside one function scope,
// so nothing here leaks into the page's globals but `window.__gemmaPreview`.
//
// The page is served from its project's own origin (http://127.0.0.1:<project port>/), so the
// project's files are at the root and the live events at /__gemma/events.
//
// 1. Reports the page's errors to the app (the parent window) with postMessage, addressed to
//    the app's origins only (data-app, set by the server): another page that frames this one
//    gets nothing.
// 2. Applies live updates from /__gemma/events while the model types:
//    HTML by morphing the DOM in place (one morph per animation frame), CSS through an
//    inline <style> laid over the matching <link>, scripts by one reload once complete.
/* global Idiomorph */
'use strict';

(() => {
  if (window.__gemmaPreview) return;
  const script = document.currentScript;
  if (!script) return;
  let appOrigins = [];
  try {
    appOrigins = JSON.parse(script.dataset.app || '[]').filter((o) => typeof o === 'string');
  } catch {
    /* no app to report to */
  }

  const BASE = '/';
  const MAX_REPORTS = 50;
  const inFrame = window.parent !== window;

  // --- errors → parent ----------------------------------------------------------------------

  let reports = 0;
  const post = (message) => {
    if (!inFrame) return;
    // A targetOrigin that is not the parent's drops the message: only the app receives it.
    for (const origin of appOrigins) {
      try {
        window.parent.postMessage(message, origin);
      } catch {
        /* the parent is gone */
      }
    }
  };

  /** A workspace path for a URL of this preview ("js/app.js"), or the URL itself. */
  const shortSource = (url) => {
    if (!url) return '';
    try {
      const u = new URL(url, location.href);
      if (u.origin === location.origin && u.pathname.startsWith(BASE)) {
        return decodeURIComponent(u.pathname.slice(BASE.length)) || 'index.html';
      }
    } catch {
      /* not a URL */
    }
    return String(url);
  };

  const describe = (value) => {
    if (value instanceof Error) return value.stack || `${value.name}: ${value.message}`;
    if (typeof value === 'string') return value;
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  };

  const report = (kind, message, source = '', line = 0, column = 0) => {
    if (reports >= MAX_REPORTS) return;
    reports += 1;
    post({
      type: 'gemma-preview-error',
      kind,
      message: String(message).slice(0, 2000),
      source,
      line: line || 0,
      column: column || 0,
      page: pagePath,
    });
  };

  window.addEventListener('error', (e) => {
    const message = e.message || describe(e.error);
    report('error', message, shortSource(e.filename), e.lineno, e.colno);
  });
  window.addEventListener('unhandledrejection', (e) => {
    report('unhandledrejection', `Unhandled promise rejection: ${describe(e.reason)}`);
  });
  const consoleError = console.error;
  console.error = function (...args) {
    consoleError.apply(this, args);
    report('console', args.map(describe).join(' '), 'console.error');
  };

  // --- paths ---------------------------------------------------------------------------------

  /** The workspace path a URL points at (query and hash dropped), or null if elsewhere. */
  const pathOf = (url) => {
    if (!url) return null;
    let u;
    try {
      u = new URL(url, document.baseURI);
    } catch {
      return null;
    }
    if (u.origin !== location.origin || !u.pathname.startsWith(BASE)) return null;
    let rel;
    try {
      rel = decodeURIComponent(u.pathname.slice(BASE.length));
    } catch {
      return null;
    }
    return rel === '' || rel.endsWith('/') ? `${rel}index.html` : rel;
  };

  const pagePath = pathOf(location.href);
  const kindOf = (path) => {
    const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
    if (ext === 'html' || ext === 'htm') return 'html';
    if (ext === 'css') return 'css';
    if (ext === 'js' || ext === 'mjs' || ext === 'cjs') return 'js';
    return 'other';
  };

  const isOurs = (node) =>
    node.nodeType === 1 &&
    (node.hasAttribute('data-gemma') ||
      (node.tagName === 'SCRIPT' && (node.getAttribute('src') || '').startsWith('/__gemma/')));

  const pageScripts = () =>
    [...document.scripts].filter((s) => !isOurs(s) && s.type !== 'application/json');

  // --- reload --------------------------------------------------------------------------------

  let reloadTimer = 0;
  /** Reload once, after a short pause: a turn often finishes several files in a row. */
  const scheduleReload = () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => location.reload(), 120);
  };

  // --- CSS -------------------------------------------------------------------------------------

  const overlays = new Map(); // <link> → its live <style>
  let cssVersion = 0;

  const STYLESHEETS = 'link[rel~="stylesheet" i]';
  const linksFor = (path) =>
    [...document.querySelectorAll(STYLESHEETS)].filter(
      (l) => !isOurs(l) && pathOf(l.getAttribute('href')) === path,
    );

  /** url(...) and @import in a stylesheet are relative to it, not to the page. */
  const rebase = (css, path) => {
    const sheetUrl = new URL(BASE + path, location.href);
    const dir = (href) => href.slice(0, href.lastIndexOf('/'));
    if (dir(sheetUrl.href) === dir(location.origin + location.pathname)) return css;
    const abs = (u) => {
      if (/^(?:[a-z][a-z0-9+.-]*:|\/|#)/i.test(u)) return u;
      try {
        return new URL(u, sheetUrl).href;
      } catch {
        return u;
      }
    };
    return css
      .replace(/url\(\s*(['"]?)([^'")]*)\1\s*\)/gi, (m, q, u) => `url(${q}${abs(u)}${q})`)
      .replace(/@import\s+(['"])([^'"]+)\1/gi, (m, q, u) => `@import ${q}${abs(u)}${q}`);
  };

  const overlayFor = (link, path) => {
    let style = overlays.get(link);
    if (!style || !style.isConnected) {
      style = document.createElement('style');
      style.setAttribute('data-gemma', 'css');
      style.dataset.path = path;
      if (link.media) style.media = link.media;
      overlays.set(link, style);
    }
    if (style.previousSibling !== link) link.after(style); // cascade order: right after it
    return style;
  };

  /**
   * While a stylesheet streams, its text so far goes into a <style> right after its <link>:
   * the old sheet stays underneath, so nothing flashes unstyled, and the new rules win.
   */
  const applyCss = (path, text, final) => {
    const css = rebase(text, path);
    for (const link of linksFor(path)) {
      const style = overlayFor(link, path);
      if (style.textContent !== css) style.textContent = css;
      if (final) {
        // Swap the real file in (so rules that were removed go away), then drop the overlay.
        const href = link
          .getAttribute('href')
          .replace(/([?&])gemma-v=\d+&?/, '$1')
          .replace(/[?&]$/, '');
        link.addEventListener(
          'load',
          () => {
            if (overlays.get(link) === style) {
              style.remove();
              overlays.delete(link);
            }
          },
          { once: true },
        );
        link.setAttribute(
          'href',
          `${href}${href.includes('?') ? '&' : '?'}gemma-v=${++cssVersion}`,
        );
      }
    }
  };

  // --- HTML ------------------------------------------------------------------------------------

  const keyOf = (el) =>
    el.tagName === 'LINK' ? `L${pathOf(el.getAttribute('href')) ?? el.href}` : 'S';

  const syncAttributes = (target, source) => {
    for (const { name } of [...target.attributes]) {
      if (!source.hasAttribute(name)) target.removeAttribute(name);
    }
    for (const { name, value } of [...source.attributes]) {
      if (target.getAttribute(name) !== value) target.setAttribute(name, value);
    }
  };

  /** The <head>: the title, and the page's <style> and stylesheet <link> elements, in order. */
  const syncHead = (doc) => {
    const title = doc.querySelector('title');
    if (title && document.title !== doc.title) document.title = doc.title;
    const sel = `style, ${STYLESHEETS}`;
    const want = [...doc.head.querySelectorAll(sel)];
    const have = [...document.head.querySelectorAll(sel)].filter((el) => !isOurs(el));
    const used = new Set();
    let anchor = null;
    for (const w of want) {
      const key = keyOf(w);
      let h = have.find((x) => !used.has(x) && keyOf(x) === key);
      if (h) {
        if (key === 'S' && h.textContent !== w.textContent) h.textContent = w.textContent;
        if ((h.getAttribute('media') || '') !== (w.getAttribute('media') || '')) {
          if (w.hasAttribute('media')) h.setAttribute('media', w.getAttribute('media'));
          else h.removeAttribute('media');
        }
      } else {
        h = document.importNode(w, true);
        const after = anchor ? overlays.get(anchor) || anchor : null;
        if (after) after.after(h);
        else document.head.insertBefore(h, have.find((x) => !used.has(x)) || null);
      }
      used.add(h);
      anchor = h;
    }
    for (const h of have) {
      if (used.has(h)) continue;
      overlays.get(h)?.remove();
      overlays.delete(h);
      h.remove();
    }
  };

  let streamingMorph = false;
  const MORPH = {
    morphStyle: 'outerHTML',
    ignoreActiveValue: true, // keep what the user is typing into a field
    restoreFocus: true,
    head: { style: 'none' },
    callbacks: {
      // Scripts never run from a morph (a reload runs them once the page is complete).
      beforeNodeAdded: (node) => node.nodeName !== 'SCRIPT',
      beforeNodeMorphed: (old) =>
        !(old.nodeType === 1 && (old.tagName === 'SCRIPT' || isOurs(old))),
      // While a page streams, an element with an id stays until the text reaches it, and is
      // then morphed in place: no flash, and it keeps its state (input value, focus, scroll,
      // listeners). Whatever the finished page no longer has goes at the final morph.
      beforeNodeRemoved: (node) => !isOurs(node) && !(streamingMorph && node.id),
    },
  };

  const applyHtml = (text, final) => {
    const doc = new DOMParser().parseFromString(text, 'text/html');
    syncAttributes(document.documentElement, doc.documentElement);
    syncHead(doc);
    // Until the body starts, keep showing the current one (no blank page while the head streams).
    if (!final && !doc.body.hasChildNodes() && !/<body[\s>]/i.test(text)) return;
    streamingMorph = !final;
    Idiomorph.morph(document.body, doc.body, MORPH);
    // A stylesheet still streaming may just have gained its <link>.
    for (const [path, buffer] of typing) if (kindOf(path) === 'css') applyCss(path, buffer, false);
  };

  // --- the event stream ------------------------------------------------------------------------

  const typing = new Map(); // path → text typed so far
  const pending = new Set(); // paths to apply at the next frame
  let frame = 0;

  const flush = () => {
    frame = 0;
    for (const path of pending) {
      const text = typing.get(path);
      if (text === undefined) continue;
      const kind = kindOf(path);
      try {
        if (kind === 'html' && path === pagePath) applyHtml(text, false);
        else if (kind === 'css') applyCss(path, text, false);
      } catch (e) {
        consoleError.call(console, '[gemma preview]', e);
      }
    }
    pending.clear();
    window.__gemmaPreview.applied += 1;
  };

  const schedule = (path) => {
    pending.add(path);
    if (!frame) frame = requestAnimationFrame(flush);
  };

  const referenced = (path) =>
    [...document.querySelectorAll('[src], [href], [poster], [data]')].some(
      (el) =>
        !isOurs(el) &&
        ['src', 'href', 'poster', 'data'].some(
          (a) => el.hasAttribute(a) && pathOf(el.getAttribute(a)) === path,
        ),
    );

  const finish = (path, text) => {
    pending.delete(path);
    const kind = kindOf(path);
    if (kind === 'html') {
      if (path !== pagePath) return;
      if (text == null) return scheduleReload();
      applyHtml(text, true);
      // Scripts built part of the page at load; the morph just put back the bare markup.
      if (pageScripts().length || /<script[\s>]/i.test(text)) scheduleReload();
    } else if (kind === 'css') {
      if (text == null) return scheduleReload();
      applyCss(path, text, true);
    } else if (kind === 'js') {
      if (pageScripts().length || referenced(path)) scheduleReload();
    } else if (referenced(path) || pageScripts().length) {
      scheduleReload(); // an image, font or data file the page uses
    }
  };

  const onMessage = (m) => {
    const { t, path } = m;
    if (t === 'start') {
      typing.set(path, '');
      schedule(path);
    } else if (t === 'delta') {
      typing.set(path, (typing.get(path) ?? '') + m.text);
      schedule(path);
    } else if (t === 'done') {
      const text = 'text' in m ? m.text : typing.get(path);
      typing.delete(path);
      try {
        finish(path, text);
      } catch (e) {
        consoleError.call(console, '[gemma preview]', e);
        scheduleReload();
      }
    } else if (t === 'reload') {
      scheduleReload();
    }
  };

  window.__gemmaPreview = { pagePath, applied: 0 };
  post({ type: 'gemma-preview-load', path: pagePath });

  const connect = () => {
    const events = new EventSource('/__gemma/events');
    events.onmessage = (e) => {
      let m;
      try {
        m = JSON.parse(e.data);
      } catch {
        return;
      }
      onMessage(m);
    };
    window.__gemmaPreview.events = events;
  };
  connect();
})();
