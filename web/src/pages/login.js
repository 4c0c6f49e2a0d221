// Login: trades the API token (from the daemon's token_file) for an HttpOnly session cookie and a CSRF token.
// The token is sent once and never kept by the page.
import { ApiError, login } from '../api.js';
import { card, el, muted } from '../dom.js';

export const title = 'Log in';
export const refreshes = false;  // nothing from the daemon to update; a refresh would wipe the message

export async function render(arg) {
  const message = el('p', { id: 'login-message', class: 'muted', role: 'status' });
  const input = el('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password',
    required: true, placeholder: 'API token', 'aria-label': 'API token' });
  const form = el('form', { id: 'login-form', class: 'login' }, input, el('button', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = 'Logging in…';
    message.className = 'muted';
    try {
      await login(input.value.trim());
      input.value = '';
      location.hash = arg ? decodeURIComponent(arg) : '#overview';
      window.dispatchEvent(new Event('tiercel:session'));
    } catch (error) {
      message.textContent = error instanceof ApiError && error.status === 404
        ? 'This daemon has no dashboard login; reads are open, changes need the CLI.'
        : error.message;
      message.className = 'health bad';
    }
  });
  return [card({ title: 'Log in', id: 'login' },
    muted('Approving plans and other changes need the API token: it is in the token_file named in the [http] section of tiercel.toml (by default api.token in the state directory).'),
    form, message)];
}
