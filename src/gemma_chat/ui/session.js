// The tab's key to the API is the cookie from the link gemma-chat opens. When the server
// answers 401 (it restarted with a new key, or the cookie is gone), every call would fail
// one by one; say once, over the whole app, how to get back in.

let shown = false;

/** Cover the app with the "session ended" notice (once; later 401s change nothing). */
export function sessionEnded() {
  if (shown) return;
  shown = true;
  const cover = document.createElement('div');
  cover.className = 'session-ended';
  cover.dataset.testid = 'session-ended';
  cover.setAttribute('role', 'alertdialog');
  cover.setAttribute('aria-modal', 'true');
  cover.setAttribute('aria-labelledby', 'session-ended-title');

  const box = document.createElement('div');
  box.className = 'session-ended-box';
  const title = document.createElement('h2');
  title.id = 'session-ended-title';
  title.textContent = 'This tab’s session ended';
  const why = document.createElement('p');
  why.textContent =
    'Gemma Chat no longer accepts this tab’s key: it was restarted, or this browser ' +
    'forgot the key. Your conversations are safe.';
  const how = document.createElement('p');
  how.append('Open the new link printed in the terminal, or run ');
  const cmd = document.createElement('code');
  cmd.textContent = 'gemma-chat open';
  how.append(cmd, '.');
  box.append(title, why, how);
  cover.append(box);
  document.body.append(cover);
  document.getElementById('app')?.setAttribute('inert', '');
}
