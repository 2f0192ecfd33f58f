// Dashboard: GET /api/dashboard as cards -- registrations (bindings, users),
// webhook delivery counters, user backend health, uptime and version.
// Fields a server does not send yet are shown as "—", never invented.
import { api } from './api.js';
import { banner, formatDuration, h, pageHeading, table } from './dom.js';

export const title = 'Dashboard';

const dash = (value) => (value === undefined || value === null ? '—' : String(value));

function stat(label, value, id) {
  return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { id }, dash(value)));
}

function card(heading, ...content) {
  return h('section', { class: 'card' }, h('h2', {}, heading), ...content);
}

function wideCard(heading, ...content) {
  return h('section', { class: 'card wide' }, h('h2', {}, heading), ...content);
}

function healthTable(health) {
  if (!Array.isArray(health) || health.length === 0) return h('p', { class: 'muted' }, 'No health figures from this server.');
  return table('User backend health', ['#', 'Type', 'Lookups', 'Errors', 'Last error'],
    health.map((entry, index) => [String(index + 1), dash(entry.type), dash(entry.lookups), dash(entry.errors),
      entry.last_error ? `${entry.last_error} (${dash(entry.last_error_at)})` : '—']));
}

export async function render(main, context) {
  const content = h('div', { class: 'cards' }, h('p', { class: 'muted' }, 'Loading…'));
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  main.append(h('div', { class: 'page-head' }, pageHeading('Dashboard'), refresh), content);

  async function load() {
    let data;
    try {
      data = await api('GET', '/api/dashboard');
    } catch (error) {
      if (!context.signal.aborted) content.replaceChildren(banner('error', `Cannot load the dashboard: ${error.message}`));
      return;
    }
    if (context.signal.aborted) return;
    const registrations = data.registrations || {};
    const webhook = data.webhook;
    content.replaceChildren(
      card('Registrations', h('dl', { class: 'stats' },
        stat('Bindings', registrations.bindings, 'stat-bindings'),
        stat('Registered users', registrations.users, 'stat-users'),
        stat('Locator', registrations.locator))),
      card('Locator webhook', webhook
        ? h('dl', { class: 'stats' },
          stat('Sent', webhook.sent, 'stat-webhook-sent'), stat('Retried', webhook.retried), stat('Failed', webhook.failed),
          stat('Dropped', webhook.dropped), stat('Queued', webhook.queued), stat('In flight', webhook.in_flight))
        : h('p', { class: 'muted' }, 'No webhook configured.')),
      card('Server', h('dl', { class: 'stats' },
        stat('Uptime', formatDuration(data.uptime_seconds), 'stat-uptime'),
        stat('Version', data.version, 'stat-version')),
        h('p', {}, 'Realms: ', (data.realms || []).join(', ') || '—')),
      wideCard('User backends',
        h('p', {}, 'In order: ', (data.user_backends || []).join(' → ') || 'none'),
        healthTable(data.user_backend_health)));
  }

  refresh.addEventListener('click', load);
  await load();
}
