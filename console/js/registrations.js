// Registrations: the live bindings (GET /api/registrations), refreshed
// every few seconds unless paused (and never while a confirm dialog is
// open), filtered by user on the server, each removable after a confirm
// (POST /api/registrations/remove with its aor and key).
import { api, get } from './api.js';
import { announce, banner, confirmDialog, field, formatDuration, h, pageHeading, table } from './dom.js';

export const title = 'Registrations';

const REFRESH_MS = 3000;
const PER_PAGE = 50;

export async function render(main, context) {
  const state = { user: '', page: 1, paused: false, confirming: false };
  const filter = h('input', { type: 'search', name: 'user', placeholder: 'Part of a username' });
  const pause = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Pause');
  const updated = h('span', { class: 'muted updated' });
  const status = h('div', { class: 'list-status' });  // why the list could not load
  const notice = h('div', { class: 'list-status' });  // what the last action did
  const list = h('div', {});
  const pager = h('div', { class: 'pager' });
  const filterForm = h('form', { class: 'toolbar', role: 'search' },
    field('Filter by user', filter), h('button', { type: 'submit', class: 'secondary' }, 'Filter'));
  main.append(h('div', { class: 'page-head' }, pageHeading('Registrations'), h('div', { class: 'row-actions' }, updated, pause)),
    filterForm, notice, status, list, pager);

  let timer = null;
  const schedule = () => {
    window.clearTimeout(timer);
    if (!state.paused && !context.signal.aborted) timer = window.setTimeout(refresh, REFRESH_MS);
  };
  const refresh = async () => {
    if (!state.confirming) await load();
    schedule();
  };

  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    state.user = filter.value.trim();
    state.page = 1;
    load();
  });
  pause.addEventListener('click', () => {
    state.paused = !state.paused;
    pause.textContent = state.paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(state.paused));
    announce(state.paused ? 'Automatic refresh paused.' : 'Automatic refresh resumed.');
    if (!state.paused) refresh();
    else window.clearTimeout(timer);
  });

  async function load() {
    let data;
    try {
      data = await get('/api/registrations', { user: state.user, page: state.page, per_page: PER_PAGE });
    } catch (error) {
      if (context.signal.aborted) return;
      const why = error.status === 404 ? 'this server does not list registrations yet' : error.message;
      status.replaceChildren(banner('error', `Cannot list registrations: ${why}`));
      return;
    }
    if (context.signal.aborted) return;
    status.replaceChildren();
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}${data.locator ? ` · ${data.locator} locator` : ''}`;
    const pages = Math.max(1, Math.ceil(data.total / PER_PAGE));
    if (!data.items.length) {
      list.replaceChildren(h('p', { class: 'muted', id: 'no-registrations' }, state.user ? 'No binding matches.' : 'No registered bindings.'));
    } else {
      list.replaceChildren(table('Registered bindings',
        ['AoR', 'Contact', 'Transport', 'Destination', 'User agent', 'Expires in', 'Node', 'Actions'],
        data.items.map((binding) => [
          binding.aor, h('span', { class: 'mono' }, binding.contact), (binding.transport || '—').toUpperCase(), binding.destination || '—',
          binding.user_agent || '—', formatDuration(binding.expires_in), binding.node || '—',
          h('button', {
            type: 'button', class: 'danger', 'aria-label': `Remove ${binding.contact} of ${binding.aor}`,
            onclick: () => removeBinding(binding),
          }, 'Remove'),
        ])));
    }
    pager.replaceChildren(
      h('button', { type: 'button', class: 'secondary', disabled: state.page <= 1, onclick: () => { state.page -= 1; load(); } }, 'Previous'),
      h('span', {}, `Page ${state.page} of ${pages} (${data.total} bindings)`),
      h('button', { type: 'button', class: 'secondary', disabled: state.page >= pages, onclick: () => { state.page += 1; load(); } }, 'Next'));
  }

  async function removeBinding(binding) {
    state.confirming = true;
    const sure = await confirmDialog('Remove registration',
      `Remove the binding ${binding.contact} of ${binding.aor}? The phone is unreachable until it registers again.`, 'Remove');
    state.confirming = false;
    if (!sure) return;
    try {
      await api('POST', '/api/registrations/remove', { aor: binding.aor, key: binding.key });
      const done = `Removed ${binding.contact} of ${binding.aor}.`;
      notice.replaceChildren(banner('success', done));
      announce(done);
    } catch (error) {
      const why = error.status === 404 ? 'it is already gone' : error.message;
      notice.replaceChildren(banner('error', `Cannot remove the binding: ${why}`));
    }
    await load();
  }

  await load();
  schedule();
  return () => window.clearTimeout(timer);
}
