// Settings > Proxy Settings: realms, the user backends in order, the
// locator and the locator webhook, edited as one JSON object shaped like
// GET /api/settings/proxy and sent back whole by Apply (PUT). Secrets come
// masked (********) and go back as they are unless retyped; the server
// keeps the stored value then.
//
// Design decisions:
// - One state object, edited in place by the inputs; structural changes
//   (add, remove, move, type) redraw the form and put the focus back on
//   the control the user was on, so the keyboard never loses its place.
// - Every input's wrapper carries the API's path (user_backends.1.url), so
//   Apply's problems land beside the field at fault (or its nearest
//   enclosing group); problems with no place on the page are listed in the
//   Apply banner.
// - The Tests send the entry as edited, not as saved: the operator tries a
//   change before applying it.
import { api } from './api.js';
import {
  announce, banner, checkboxField, clearFieldErrors, elementForPath, field, h, pageHeading, setFieldError, uniqueId,
} from './dom.js';
import {
  BACKEND_FIELDS, BACKEND_TYPES, LOCATOR_FIELDS, LOCATOR_KEPT_KEYS, LOCATOR_TYPES, MEMORY_USER_FIELDS, WEBHOOK_EVENTS,
  WEBHOOK_FIELDS,
} from './settings_fields.js';

export const title = 'Proxy Settings';

const NEW_BACKENDS = {
  memory: () => ({ type: 'memory', users: [] }),
  database: () => ({ type: 'database' }),
  http: () => ({ type: 'http', url: '', method: 'GET' }),
  plain: () => ({ type: 'plain', path: '' }),
  extension: () => ({ type: 'extension' }),
};

const OUTCOMES = {
  found: ['ok', 'Found'],
  not_found: ['neutral', 'Not found'],
  denied: ['warn', 'Denied'],
  error: ['bad', 'Error'],
  ok: ['ok', 'OK'],
  refused: ['warn', 'Refused'],
};

export async function render(main, context) {
  let state = null;
  const root = h('div', { class: 'settings' });
  const applyResult = h('div', { class: 'apply-result' });
  const applyButton = h('button', { type: 'button', id: 'apply' }, 'Apply');
  const discardButton = h('button', { type: 'button', class: 'secondary' }, 'Discard changes');
  main.append(
    h('div', { class: 'page-head' }, pageHeading('Proxy Settings')),
    h('p', { class: 'muted' }, 'Changes take effect when you press Apply: they are checked, saved to a file of their own and used at once, without a restart.'),
    root,
    h('div', { class: 'apply-bar' }, applyResult, h('div', { class: 'actions' }, discardButton, applyButton)));

  async function load() {
    try {
      state = await api('GET', '/api/settings/proxy');
    } catch (error) {
      if (!context.signal.aborted) root.replaceChildren(banner('error', `Cannot load the settings: ${error.message}`));
      return false;
    }
    if (context.signal.aborted) return false;
    if (!Array.isArray(state.realms)) state.realms = [];
    if (!Array.isArray(state.user_backends)) state.user_backends = [];
    if (!state.locator || typeof state.locator !== 'object') state.locator = { type: 'memory' };
    draw();
    return true;
  }

  // Rebuilds the form from state; then focuses the element with `focusId`.
  function draw(focusId) {
    root.replaceChildren(realmsSection(), backendsSection(), locatorSection(), webhookSection());
    if (focusId) {
      const target = document.getElementById(focusId);
      if (target) target.focus();
    }
  }

  // ---- realms -------------------------------------------------------------
  function realmsSection() {
    const input = h('textarea', { rows: '3', spellcheck: 'false', id: 'realms' }, state.realms.join('\n'));
    input.addEventListener('input', () => {
      state.realms = input.value.split(/[\s,]+/).map((realm) => realm.trim()).filter(Boolean);
    });
    return h('section', { class: 'card' }, h('h2', {}, 'Realms'),
      field('Realms (one per line)', input, { path: 'realms', hint: 'The digest realms this PBX authenticates in; the first is offered to phones.' }));
  }

  // ---- user backends ------------------------------------------------------
  function backendsSection() {
    const typeChooser = h('select', { id: 'new-backend-type' }, BACKEND_TYPES.map((type) => h('option', { value: type }, type)));
    const add = h('button', { type: 'button', id: 'add-backend' }, 'Add backend');
    add.addEventListener('click', () => {
      state.user_backends.push(NEW_BACKENDS[typeChooser.value]());
      const index = state.user_backends.length - 1;
      draw(`backend-${index}-first`);
      announce(`Added a ${typeChooser.value} backend at position ${index + 1}.`);
    });
    const cards = state.user_backends.map((entry, index) => backendCard(entry, index));
    return h('section', { class: 'card', dataset: { path: 'user_backends' } },
      h('h2', {}, 'User backends'),
      h('p', { class: 'muted' }, 'Asked in this order for each REGISTER; the first that knows the user answers. ',
        'A backend moved to another position keeps no masked secret (********): type its secrets again before Apply.'),
      cards.length ? h('ol', { class: 'backends' }, cards.map((card) => h('li', {}, card))) : h('p', {}, 'No user backend: nobody can register.'),
      h('div', { class: 'toolbar' }, field('Type of the new backend', typeChooser), add),
      h('p', { class: 'field-error', hidden: true }));
  }

  function backendCard(entry, index) {
    const path = `user_backends.${index}`;
    const count = state.user_backends.length;
    const label = `backend ${index + 1} (${entry.type})`;
    const specs = BACKEND_FIELDS[entry.type];
    const inputs = specs
      ? specs.map((spec, specIndex) => inputFor(entry, spec, `${path}.${spec.key}`, specIndex === 0 ? `backend-${index}-first` : undefined))
      : [h('p', {}, `Unknown type "${entry.type}": its keys are kept as they are.`)];
    const up = h('button', { type: 'button', class: 'secondary', id: `backend-${index}-up`, disabled: index === 0, 'aria-label': `Move ${label} up` }, 'Move up');
    const down = h('button', { type: 'button', class: 'secondary', id: `backend-${index}-down`, disabled: index === count - 1, 'aria-label': `Move ${label} down` }, 'Move down');
    const remove = h('button', { type: 'button', class: 'danger', id: `backend-${index}-remove`, 'aria-label': `Remove ${label}` }, 'Remove');
    up.addEventListener('click', () => move(index, -1, 'up'));
    down.addEventListener('click', () => move(index, 1, 'down'));
    remove.addEventListener('click', () => {
      state.user_backends.splice(index, 1);
      draw(state.user_backends.length ? `backend-${Math.min(index, state.user_backends.length - 1)}-remove` : 'add-backend');
      announce(`Removed ${label}. Apply to make it final.`);
    });
    return h('fieldset', { class: 'backend', dataset: { path }, id: `backend-${index}` },
      h('legend', {}, `${index + 1}. ${entry.type}`),
      h('div', { class: 'row-actions' }, up, down, remove),
      h('div', { class: 'grid' }, inputs),
      backendTest(entry, index),
      h('p', { class: 'field-error', hidden: true }));
  }

  function move(index, step, direction) {
    const target = index + step;
    const list = state.user_backends;
    [list[index], list[target]] = [list[target], list[index]];
    const stillPossible = direction === 'up' ? target > 0 : target < list.length - 1;
    draw(`backend-${target}-${stillPossible ? direction : direction === 'up' ? 'down' : 'up'}`);
    announce(`Moved ${list[target].type} backend to position ${target + 1}.`);
  }

  function backendTest(entry, index) {
    const username = h('input', { autocomplete: 'off', id: `backend-${index}-test-user` });
    const realm = h('input', { autocomplete: 'off', value: state.realms[0] || '', id: `backend-${index}-test-realm` });
    const result = h('div', { class: 'test-result', 'aria-live': 'polite' });
    const run = h('button', { type: 'button', class: 'secondary', id: `backend-${index}-test` }, 'Test');
    const form = h('form', { class: 'test-panel' },
      h('h3', {}, 'Test this backend'),
      h('div', { class: 'toolbar' }, field('Username', username), field('Realm', realm), run),
      result);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!username.value.trim()) {
        result.replaceChildren(banner('error', 'Enter a username to look up.'));
        username.focus();
        return;
      }
      run.disabled = true;
      result.replaceChildren(h('p', { class: 'muted' }, 'Testing…'));
      try {
        const answer = await api('POST', '/api/settings/test/user-backend',
          { backend: entry, username: username.value.trim(), realm: realm.value.trim() });
        result.replaceChildren(backendTestResult(answer));
      } catch (error) {
        result.replaceChildren(banner('error', `Test failed: ${error.message}`));
      } finally {
        run.disabled = false;
      }
    });
    run.type = 'submit';
    return form;
  }

  // ---- locator ------------------------------------------------------------
  function locatorSection() {
    const locator = state.locator;
    const type = h('select', { id: 'locator-type' }, LOCATOR_TYPES.map((name) => h('option', { value: name }, name)));
    type.value = locator.type;
    type.addEventListener('change', () => {
      const next = { type: type.value };
      for (const key of LOCATOR_KEPT_KEYS) if (key in locator) next[key] = locator[key];
      state.locator = next;
      draw('locator-type');
    });
    const specs = LOCATOR_FIELDS[locator.type] || [];
    const result = h('div', { class: 'test-result', 'aria-live': 'polite' });
    const test = h('button', { type: 'button', class: 'secondary', id: 'locator-test' }, 'Test locator');
    test.addEventListener('click', async () => {
      test.disabled = true;
      result.replaceChildren(h('p', { class: 'muted' }, 'Testing…'));
      try {
        const answer = await api('POST', '/api/settings/test/locator', { locator: state.locator });
        result.replaceChildren(simpleTestResult(answer, [['Type', answer.type], ['Looked up', answer.aor]]));
      } catch (error) {
        result.replaceChildren(banner('error', `Test failed: ${error.message}`));
      } finally {
        test.disabled = false;
      }
    });
    return h('section', { class: 'card', dataset: { path: 'locator' } },
      h('h2', {}, 'Locator'),
      h('p', { class: 'muted' }, 'Where registrations are kept. Bindings are carried over when the type changes, where the new store allows.'),
      h('div', { class: 'grid' }, field('Type', type, { path: 'locator.type' }),
        specs.map((spec) => inputFor(locator, spec, `locator.${spec.key}`))),
      h('div', { class: 'test-panel' }, h('div', { class: 'toolbar' }, test), result),
      h('p', { class: 'field-error', hidden: true }));
  }

  // ---- webhook ------------------------------------------------------------
  function webhookSection() {
    const enabled = h('input', { type: 'checkbox', id: 'webhook-enabled', checked: Boolean(state.locator_webhook) });
    enabled.addEventListener('change', () => {
      state.locator_webhook = enabled.checked ? { url: '', events: [], headers: {}, timeout_ms: 5000 } : null;
      draw('webhook-enabled');
    });
    const parts = [h('h2', {}, 'Locator webhook'),
      checkboxField('Send registration events to a webhook', enabled, { path: 'locator_webhook' })];
    const webhook = state.locator_webhook;
    if (webhook) {
      const result = h('div', { class: 'test-result', 'aria-live': 'polite' });
      const test = h('button', { type: 'button', class: 'secondary', id: 'webhook-test' }, 'Test webhook');
      test.addEventListener('click', async () => {
        test.disabled = true;
        result.replaceChildren(h('p', { class: 'muted' }, 'Sending a sample event…'));
        const body = { url: webhook.url || '', headers: webhook.headers || {} };
        if (Number.isInteger(webhook.timeout_ms)) body.timeout_ms = webhook.timeout_ms;
        try {
          const answer = await api('POST', '/api/settings/test/webhook', body);
          result.replaceChildren(simpleTestResult(answer, [['HTTP status', answer.status || 'no answer']],
            answer.body_start ? h('div', {}, h('p', {}, 'Start of the answer:'), h('pre', { class: 'answer' }, answer.body_start)) : null));
        } catch (error) {
          result.replaceChildren(banner('error', `Test failed: ${error.message}`));
        } finally {
          test.disabled = false;
        }
      });
      parts.push(h('div', { class: 'grid' }, WEBHOOK_FIELDS.map((spec) => inputFor(webhook, spec, `locator_webhook.${spec.key}`))),
        h('div', { class: 'test-panel' }, h('p', { class: 'muted' }, 'Test POSTs one sample "registered" event with these headers.'),
          h('div', { class: 'toolbar' }, test), result));
    }
    return h('section', { class: 'card' }, parts);
  }

  // ---- apply --------------------------------------------------------------
  applyButton.addEventListener('click', async () => {
    if (!state) return;
    clearFieldErrors(root);
    applyResult.replaceChildren(h('p', { class: 'muted' }, 'Applying…'));
    applyButton.disabled = true;
    try {
      const answer = await api('PUT', '/api/settings/proxy', state);
      if (answer.settings) {
        state = answer.settings;
        if (!state.locator) state.locator = { type: 'memory' };
      }
      draw();
      const notes = [];
      if (answer.restart_required && answer.restart_required.length) notes.push(`Needs a restart to take effect: ${answer.restart_required.join(', ')}.`);
      if (answer.locator_bindings_carried > 0) notes.push(`${answer.locator_bindings_carried} bindings carried to the new locator.`);
      applyResult.replaceChildren(banner('success', h('strong', {}, 'Applied.'), ` Saved to ${answer.file || 'the generated settings file'}; in effect now.`,
        notes.map((note) => h('span', {}, ` ${note}`))));
      announce('Settings applied.');
    } catch (error) {
      showApplyProblems(error);
    } finally {
      applyButton.disabled = false;
    }
  });

  function showApplyProblems(error) {
    if (error.status === 404 || error.status === 405) {
      applyResult.replaceChildren(banner('error', 'This server cannot apply settings yet.'));
      return;
    }
    const problems = Array.isArray(error.body.problems) ? error.body.problems : [];
    if (!problems.length) {
      applyResult.replaceChildren(banner('error', `Not applied: ${error.message}`));
      return;
    }
    const unplaced = [];
    let first = null;
    for (const problem of problems) {
      const place = elementForPath(root, problem.path);
      if (place) {
        setFieldError(place, problem.message);
        first = first || place;
      } else {
        unplaced.push(problem);
      }
    }
    applyResult.replaceChildren(banner('error',
      h('strong', {}, `Not applied: ${problems.length} problem${problems.length > 1 ? 's' : ''}`),
      ' (shown beside the fields).',
      unplaced.length ? h('ul', {}, unplaced.map((problem) => h('li', {}, `${problem.path}: ${problem.message}`))) : null));
    const focusable = first && first.querySelector('input, select, textarea, button');
    if (focusable) focusable.focus();
  }

  discardButton.addEventListener('click', async () => {
    applyResult.replaceChildren();
    if (await load()) announce('Changes discarded; showing the running settings.');
  });

  await load();
}

// ---- inputs bound to the state ----------------------------------------------

function inputFor(entry, spec, path, id) {
  if (spec.kind === 'headers') return headersEditor(entry, spec, path);
  if (spec.kind === 'users') return usersEditor(entry, spec, path);
  if (spec.kind === 'events') return eventsEditor(entry, spec, path);
  let input;
  if (spec.kind === 'select') {
    input = h('select', { id }, spec.options.map((option) => h('option', { value: option }, option)));
    const current = String(entry[spec.key] ?? spec.options[0]).toUpperCase();
    input.value = spec.options.includes(current) ? current : spec.options[0];
    input.addEventListener('change', () => { entry[spec.key] = input.value; });
  } else {
    input = h('input', {
      id, value: entry[spec.key] ?? '', placeholder: spec.placeholder, autocomplete: 'off', spellcheck: 'false',
      inputmode: spec.kind === 'int' ? 'numeric' : undefined,
    });
    input.addEventListener('input', () => setValue(entry, spec, input.value));
  }
  // URLs get two columns on wide screens: they are the longest values.
  return field(spec.label, input, { path, hint: spec.hint, className: /url$/.test(spec.key) ? 'span2' : undefined });
}

// Empty removes the key (the server's default applies); an integer field
// holding something else is sent as typed so the server names the problem.
function setValue(entry, spec, raw) {
  const text = raw.trim();
  if (text === '') delete entry[spec.key];
  else if (spec.kind === 'int' && /^-?\d+$/.test(text)) entry[spec.key] = Number(text);
  else entry[spec.key] = spec.kind === 'int' ? text : raw;
}

function headersEditor(entry, spec, path) {
  const pairs = Object.entries(entry[spec.key] || {});
  const rows = h('div', { class: 'kv-rows' });
  const sync = () => {
    const headers = {};
    for (const [name, value] of pairs) if (name.trim()) headers[name.trim()] = value;
    entry[spec.key] = headers;
  };
  const drawRows = (focusIndex) => {
    rows.replaceChildren(...pairs.map((pair, index) => {
      const name = h('input', { value: pair[0], autocomplete: 'off', spellcheck: 'false', placeholder: 'X-Api-Key' });
      const value = h('input', { value: pair[1], autocomplete: 'off', spellcheck: 'false' });
      name.addEventListener('input', () => { pair[0] = name.value; sync(); });
      value.addEventListener('input', () => { pair[1] = value.value; sync(); });
      const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove header ${pair[0] || index + 1}` }, 'Remove');
      remove.addEventListener('click', () => { pairs.splice(index, 1); sync(); drawRows(Math.min(index, pairs.length - 1)); });
      if (index === focusIndex) window.setTimeout(() => name.focus(), 0);
      return h('div', { class: 'kv-row' }, field('Header name', name), field('Value', value), remove);
    }));
    if (!pairs.length) rows.append(h('p', { class: 'muted' }, 'No extra headers.'));
  };
  drawRows(-1);
  const add = h('button', { type: 'button', class: 'secondary' }, 'Add header');
  add.addEventListener('click', () => { pairs.push(['', '']); drawRows(pairs.length - 1); });
  return h('fieldset', { class: 'kv wide', dataset: { path } }, h('legend', {}, spec.label), rows, add,
    h('p', { class: 'hint' }, 'Secret values show as ********; leave them so to keep them.'),
    h('p', { class: 'field-error', hidden: true }));
}

function usersEditor(entry, spec, path) {
  if (!Array.isArray(entry[spec.key])) entry[spec.key] = [];
  const users = entry[spec.key];
  const rows = h('div', { class: 'kv-rows' });
  const drawRows = (focusIndex) => {
    rows.replaceChildren(...users.map((user, index) => {
      const cells = MEMORY_USER_FIELDS.map(([key, label]) => {
        const input = h('input', { value: user[key] ?? '', autocomplete: 'off', spellcheck: 'false' });
        input.addEventListener('input', () => {
          if (input.value === '' && key !== 'username' && key !== 'password') delete user[key];
          else user[key] = input.value;
        });
        if (index === focusIndex && key === 'username') window.setTimeout(() => input.focus(), 0);
        return field(label, input, { path: `${path}.${index}.${key}` });
      });
      const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove user ${user.username || index + 1}` }, 'Remove');
      remove.addEventListener('click', () => { users.splice(index, 1); drawRows(Math.min(index, users.length - 1)); });
      return h('div', { class: 'kv-row users-row', dataset: { path: `${path}.${index}` } }, cells, remove,
        h('p', { class: 'field-error', hidden: true }));
    }));
    if (!users.length) rows.append(h('p', { class: 'muted' }, 'No users.'));
  };
  drawRows(-1);
  const add = h('button', { type: 'button', class: 'secondary' }, 'Add user');
  add.addEventListener('click', () => { users.push({ username: '', password: '' }); drawRows(users.length - 1); });
  return h('fieldset', { class: 'kv wide', dataset: { path } }, h('legend', {}, spec.label), rows, add,
    h('p', { class: 'field-error', hidden: true }));
}

function eventsEditor(entry, spec, path) {
  const chosen = new Set(Array.isArray(entry[spec.key]) ? entry[spec.key] : []);
  const boxes = WEBHOOK_EVENTS.map((event) => {
    const box = h('input', { type: 'checkbox', checked: chosen.has(event), id: uniqueId(`event-${event}`) });
    box.addEventListener('change', () => {
      if (box.checked) chosen.add(event);
      else chosen.delete(event);
      entry[spec.key] = WEBHOOK_EVENTS.filter((name) => chosen.has(name));
    });
    return h('span', { class: 'checkbox' }, box, h('label', { for: box.id }, event));
  });
  return h('fieldset', { class: 'events wide', dataset: { path } }, h('legend', {}, spec.label),
    h('div', { class: 'checks' }, boxes), h('p', { class: 'hint' }, 'None checked: every event.'),
    h('p', { class: 'field-error', hidden: true }));
}

// ---- test results ------------------------------------------------------------

function milliseconds(value) {
  return typeof value === 'number' ? `${value < 10 ? value.toFixed(1) : Math.round(value)} ms` : '? ms';
}

function outcomeBadge(outcome) {
  const [kind, text] = OUTCOMES[outcome] || ['neutral', String(outcome)];
  return h('span', { class: `badge ${kind}`, dataset: { outcome } }, text);
}

function backendTestResult(answer) {
  const fields = answer.fields && typeof answer.fields === 'object'
    ? h('dl', { class: 'fields' }, Object.entries(answer.fields).map(([name, value]) =>
      [h('dt', {}, name), h('dd', {}, value === null || value === undefined ? '—' : String(value))]))
    : null;
  const badLines = Array.isArray(answer.bad_lines) && answer.bad_lines.length
    ? h('div', {}, h('p', {}, `${answer.bad_lines.length} bad line${answer.bad_lines.length > 1 ? 's' : ''} in the file:`),
      h('ul', { class: 'bad-lines' }, answer.bad_lines.map((bad) => h('li', {}, `line ${bad.line}: ${bad.problem}`))))
    : null;
  return h('div', {},
    h('p', { class: 'outcome' }, outcomeBadge(answer.outcome), ` in ${milliseconds(answer.latency_ms)}`,
      answer.sip_code ? ` (SIP ${answer.sip_code})` : ''),
    answer.detail ? h('p', { class: 'detail' }, answer.detail) : null,
    fields, badLines);
}

function simpleTestResult(answer, facts, extra) {
  return h('div', {},
    h('p', { class: 'outcome' }, outcomeBadge(answer.outcome), ` in ${milliseconds(answer.latency_ms)}`),
    h('dl', { class: 'fields' }, facts.filter(([, value]) => value !== undefined && value !== null)
      .map(([name, value]) => [h('dt', {}, name), h('dd', {}, String(value))])),
    answer.detail ? h('p', { class: 'detail' }, answer.detail) : null,
    extra || null);
}
