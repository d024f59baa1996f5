// A styled, accessible confirm dialog (native <dialog>: focus trap and Esc for free).

export function confirmDialog(dialog, { title, body, confirmLabel = 'Delete' }) {
  dialog.querySelector('.dialog-title').textContent = title;
  dialog.querySelector('.dialog-body').textContent = body;
  dialog.querySelector('[data-testid="confirm-delete"]').textContent = confirmLabel;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), {
      once: true,
    });
    dialog.returnValue = '';
    dialog.showModal();
    dialog.querySelector('[data-testid="confirm-cancel"]').focus();
  });
}
