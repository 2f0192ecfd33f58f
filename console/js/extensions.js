// Extensions: the PBX's own SIP accounts (GET/POST/PUT/DELETE
// /api/extensions). Search and paging run on the server; create and edit
// share one dialog (Escape closes it, Enter saves); "Generate" asks the
// server for a strong password and fills the field, visible so it can be
// copied into the phone. An unchanged password is sent back as the mask.
import { api, get } from './api.js';
import {
  announce, banner, checkboxField, clearFieldErrors, confirmDialog, field, h, pageHeading, setFieldError, table, uniqueId,
} from './dom.js';

export const title = 'Extensions';

const PER_PAGE = 20;
const MASK = '********';

export async function render(main, context) {
  const state = { search: '', page: 1, total: 0 };
  const search = h('input', { type: 'search', name: 'search', placeholder: 'Name or number' });
  const status = h('div', { class: 'list-status' });  // why the list could not load
  const notice = h('div', { class: 'list-status' });  // what the last action did
  const list = h('div', {});
  const pager = h('div', { class: 'pager' });
  const create = h('button', { type: 'button' }, 'New extension');
  const searchForm = h('form', { class: 'toolbar', role: 'search' },
    field('Search extensions', search), h('button', { type: 'submit', class: 'secondary' }, 'Search'));
  main.append(h('div', { class: 'page-head' }, pageHeading('Extensions'), create), searchForm, notice, status, list, pager);

  let debounce = null;
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    state.search = search.value.trim();
    state.page = 1;
    load();
  });
  search.addEventListener('input', () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(() => {
      state.search = search.value.trim();
      state.page = 1;
      load();
    }, 300);
  });
  create.addEventListener('click', () => openEditor(null));

  async function load() {
    let data;
    try {
      data = await get('/api/extensions', { search: state.search, page: state.page, per_page: PER_PAGE });
    } catch (error) {
      if (!context.signal.aborted) status.replaceChildren(banner('error', `Cannot list extensions: ${error.message}`));
      return;
    }
    if (context.signal.aborted) return;
    state.total = data.total;
    status.replaceChildren();
    const pages = Math.max(1, Math.ceil(data.total / PER_PAGE));
    if (data.items.length === 0) {
      list.replaceChildren(h('p', { class: 'muted' }, state.search ? 'No extension matches.' : 'No extensions yet.'));
    } else {
      list.replaceChildren(table('Extensions', ['Username', 'Display name', 'Email', 'Status', 'Actions'],
        data.items.map((extension) => [
          extension.username,
          extension.display_name || '—',
          extension.email || '—',
          h('span', { class: `badge ${extension.enabled ? 'ok' : 'off'}` }, extension.enabled ? 'Enabled' : 'Disabled'),
          rowActions(extension),
        ])));
    }
    pager.replaceChildren(
      h('button', { type: 'button', class: 'secondary', disabled: state.page <= 1, onclick: () => { state.page -= 1; load(); } }, 'Previous'),
      h('span', {}, `Page ${state.page} of ${pages} (${data.total} in all)`),
      h('button', { type: 'button', class: 'secondary', disabled: state.page >= pages, onclick: () => { state.page += 1; load(); } }, 'Next'));
  }

  function rowActions(extension) {
    const name = extension.username;
    return h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit ${name}`, onclick: () => openEditor(extension) }, 'Edit'),
      h('button', {
        type: 'button', class: 'secondary', 'aria-label': `${extension.enabled ? 'Disable' : 'Enable'} ${name}`,
        onclick: () => toggle(extension),
      }, extension.enabled ? 'Disable' : 'Enable'),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${name}`, onclick: () => remove(extension) }, 'Delete'));
  }

  async function toggle(extension) {
    const action = extension.enabled ? 'disable' : 'enable';
    try {
      await api('POST', `/api/extensions/${encodeURIComponent(extension.username)}/${action}`);
      announce(`Extension ${extension.username} ${action}d.`);
    } catch (error) {
      notice.replaceChildren(banner('error', `Cannot ${action} ${extension.username}: ${error.message}`));
    }
    load();
  }

  async function remove(extension) {
    const sure = await confirmDialog('Delete extension',
      `Delete extension ${extension.username}? Its phones can no longer register.`, 'Delete');
    if (!sure) return;
    try {
      await api('DELETE', `/api/extensions/${encodeURIComponent(extension.username)}`);
      announce(`Extension ${extension.username} deleted.`);
      notice.replaceChildren(banner('success', `Extension ${extension.username} deleted.`));
    } catch (error) {
      notice.replaceChildren(banner('error', `Cannot delete ${extension.username}: ${error.message}`));
    }
    load();
  }

  function openEditor(extension) {
    const editing = Boolean(extension);
    const value = extension || { enabled: true, allow_guest_calls: false, call_forwarding_mode: 'none' };
    const inputs = {
      username: h('input', { name: 'username', value: value.username || '', required: true, readonly: editing, autocomplete: 'off' }),
      password: h('input', { name: 'password', value: editing ? value.password || MASK : '', autocomplete: 'new-password', spellcheck: 'false' }),
      display_name: h('input', { name: 'display_name', value: value.display_name || '' }),
      email: h('input', { name: 'email', type: 'email', value: value.email || '' }),
      enabled: h('input', { type: 'checkbox', name: 'enabled', checked: value.enabled !== false }),
      allow_guest_calls: h('input', { type: 'checkbox', name: 'allow_guest_calls', checked: Boolean(value.allow_guest_calls) }),
      call_forwarding_mode: h('select', { name: 'call_forwarding_mode' },
        ['none', 'always', 'busy', 'no_answer'].map((mode) => h('option', { value: mode }, mode.replace('_', ' ')))),
      call_forwarding_destination: h('input', { name: 'call_forwarding_destination', value: value.call_forwarding_destination || '' }),
      call_forwarding_timeout: h('input', { name: 'call_forwarding_timeout', type: 'number', min: '-1', value: value.call_forwarding_timeout ?? '' }),
    };
    inputs.call_forwarding_mode.value = value.call_forwarding_mode || 'none';
    const generate = h('button', { type: 'button', class: 'secondary' }, 'Generate');
    const titleId = uniqueId('editor-title');
    const problem = h('div', { class: 'form-problem' });
    const fields = {
      username: field('Username (extension number)', inputs.username, { path: 'username' }),
      password: field('SIP password', inputs.password, {
        path: 'password', hint: editing ? 'Leave ******** to keep the current password.' : 'At least 8 characters; Generate makes a strong one.',
      }),
    };
    const passwordRow = h('div', { class: 'with-button' }, fields.password, generate);
    const form = h('form', { method: 'dialog', novalidate: true },
      h('h2', { id: titleId }, editing ? `Edit extension ${value.username}` : 'New extension'),
      h('div', { class: 'grid' },
        fields.username, passwordRow,
        field('Display name', inputs.display_name, { path: 'display_name' }),
        field('Email', inputs.email, { path: 'email' }),
        checkboxField('Enabled (may register)', inputs.enabled),
        checkboxField('Allow guest calls', inputs.allow_guest_calls),
        field('Call forwarding', inputs.call_forwarding_mode),
        field('Forward to', inputs.call_forwarding_destination),
        field('Forwarding timeout (s)', inputs.call_forwarding_timeout)),
      problem,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel'),
        h('button', { type: 'submit' }, editing ? 'Save' : 'Create')));
    const dialog = h('dialog', { class: 'dialog wide', 'aria-labelledby': titleId }, form);
    const opener = document.activeElement;
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
    });

    // Only the last click's answer is shown, so that the form never sends
    // another password than the one on screen.
    let generateClicks = 0;
    generate.addEventListener('click', async () => {
      const click = ++generateClicks;
      try {
        const answer = await api('POST', '/api/extensions/generate-password');
        if (click !== generateClicks) return;
        inputs.password.value = answer.password;
        announce('A strong password was generated.');
      } catch (error) {
        setFieldError(fields.password, `Cannot generate: ${error.message}`);
      }
    });

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearFieldErrors(form);
      problem.replaceChildren();
      const body = {
        username: inputs.username.value.trim(),
        password: inputs.password.value,
        display_name: inputs.display_name.value,
        email: inputs.email.value,
        enabled: inputs.enabled.checked,
        allow_guest_calls: inputs.allow_guest_calls.checked,
        call_forwarding_mode: inputs.call_forwarding_mode.value,
        call_forwarding_destination: inputs.call_forwarding_destination.value,
      };
      if (inputs.call_forwarding_timeout.value !== '') body.call_forwarding_timeout = Number(inputs.call_forwarding_timeout.value);
      if (!body.username) {
        setFieldError(fields.username, 'Required.');
        inputs.username.focus();
        return;
      }
      if (!body.password) {
        setFieldError(fields.password, 'Required (Generate makes one).');
        inputs.password.focus();
        return;
      }
      try {
        if (editing) await api('PUT', `/api/extensions/${encodeURIComponent(value.username)}`, body);
        else await api('POST', '/api/extensions', body);
      } catch (error) {
        showSaveError(error, fields, problem);
        return;
      }
      dialog.close();
      const done = editing ? `Extension ${body.username} saved.` : `Extension ${body.username} created.`;
      notice.replaceChildren(banner('success', done));
      announce(done);
      load();
    });

    document.body.append(dialog);
    dialog.showModal();
    (editing ? inputs.display_name : inputs.username).focus();
  }

  await load();
  return () => window.clearTimeout(debounce);
}

// The API answers {"error": "..."}: put it beside the field it names.
function showSaveError(error, fields, problem) {
  const message = error.message;
  if (error.status === 409) {
    setFieldError(fields.username, 'An extension with this username already exists.');
    fields.username.querySelector('input').focus();
  } else if (/password/i.test(message)) {
    setFieldError(fields.password, message);
    fields.password.querySelector('input').focus();
  } else if (/username|extension name/i.test(message)) {
    setFieldError(fields.username, message);
    fields.username.querySelector('input').focus();
  } else {
    problem.replaceChildren(banner('error', message));
  }
}
