// Login: name and password to POST /api/login. A refusal (401) or the
// per-address slowdown (429, with its wait) is shown under the form, never
// in an alert; the password field is cleared and focused after a refusal.
import { api } from './api.js';
import { banner, field, h, pageHeading } from './dom.js';

export const title = 'Log in';

export function render(main, context) {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const problem = h('div', { class: 'form-problem', 'aria-live': 'assertive' });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { class: 'login-form', novalidate: true },
    field('Username', username),
    field('Password', password),
    problem,
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.replaceChildren();
    if (!username.value || !password.value) {
      problem.append(banner('error', 'Enter a username and a password.'));
      (username.value ? password : username).focus();
      return;
    }
    submit.disabled = true;
    try {
      const answer = await api('POST', '/api/login', { username: username.value, password: password.value });
      context.loggedIn(answer);
    } catch (error) {
      if (context.signal.aborted) return;
      let message = error.message;
      if (error.status === 401) message = 'Wrong username or password.';
      if (error.status === 429) message = `Too many failed logins; try again in ${error.retryAfter || 'a few'} seconds.`;
      problem.append(banner('error', message));
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });

  main.append(h('section', { class: 'login card' }, pageHeading('cppbx console'), h('p', { class: 'muted' }, 'Log in as an administrator.'), form));
  username.focus();
}
