// Small DOM helpers shared by the pages: an element builder, labelled form
// fields with an error slot beside each input (found again by its
// data-path, the path the API uses in its problems), a confirm dialog on
// <dialog> (Escape closes it, focus returns), the aria-live announcer, and
// formatting. No innerHTML anywhere: every text goes in as a text node, so
// values from the server (user agents, webhook answers) cannot inject HTML.

let nextId = 0;
export function uniqueId(prefix = 'f') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// h('button', {type: 'button', onclick}, 'Save'): attributes, listeners
// (on*), and children (strings, nodes, arrays; null and false skipped).
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'value') element.value = value;
    else if (name === 'checked') element.checked = Boolean(value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// A labelled field: <div class="field" data-path><label/><input/><hint/>
// <p class="field-error"/></div>. The input is described by the hint and
// the error, so a screen reader reads the problem with the field.
export function field(label, input, { hint, path, className } = {}) {
  if (!input.id) input.id = uniqueId('input');
  const errorId = uniqueId('error');
  const hintId = hint ? uniqueId('hint') : null;
  input.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  const wrapper = h('div', { class: `field ${className || ''}`.trim(), dataset: path ? { path } : undefined },
    h('label', { for: input.id }, label),
    input,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('p', { class: 'field-error', id: errorId, hidden: true }));
  return wrapper;
}

export function checkboxField(label, input, { hint, path } = {}) {
  if (!input.id) input.id = uniqueId('input');
  const errorId = uniqueId('error');
  input.setAttribute('aria-describedby', errorId);
  return h('div', { class: 'field checkbox', dataset: path ? { path } : undefined },
    input, h('label', { for: input.id }, label),
    hint ? h('p', { class: 'hint' }, hint) : null,
    h('p', { class: 'field-error', id: errorId, hidden: true }));
}

// Shows `message` in the error slot of `wrapper` (a .field or any element
// holding a .field-error of its own) and marks its inputs invalid.
export function setFieldError(wrapper, message) {
  let slot = wrapper.querySelector(':scope > .field-error');
  if (!slot) {
    slot = h('p', { class: 'field-error' });
    wrapper.append(slot);
  }
  slot.textContent = slot.hidden || !slot.textContent ? message : `${slot.textContent}; ${message}`;
  slot.hidden = false;
  for (const input of wrapper.querySelectorAll(':scope > input, :scope > select, :scope > textarea')) {
    input.setAttribute('aria-invalid', 'true');
  }
}

export function clearFieldErrors(root) {
  for (const slot of root.querySelectorAll('.field-error')) {
    slot.textContent = '';
    slot.hidden = true;
  }
  for (const input of root.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

// The element of `root` whose data-path is `path`, else the nearest
// ancestor path ("user_backends.1.users.0.password" -> "user_backends.1.users"
// -> "user_backends.1"); null when none.
export function elementForPath(root, path) {
  const parts = String(path).split('.');
  while (parts.length) {
    const candidate = parts.join('.');
    for (const element of root.querySelectorAll('[data-path]')) {
      if (element.dataset.path === candidate) return element;
    }
    parts.pop();
  }
  return null;
}

export function announce(message) {
  const live = document.getElementById('live');
  if (!live) return;
  live.textContent = '';
  // A fresh text node each time, so the same message is read again.
  window.setTimeout(() => { live.textContent = message; }, 50);
}

// A banner: kind 'success' | 'error' | 'info'. role=alert for errors.
export function banner(kind, ...content) {
  return h('div', { class: `banner ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...content);
}

// A modal <dialog> asking to confirm; resolves true on the confirm button.
export function confirmDialog(title, message, confirmLabel = 'Confirm') {
  return new Promise((resolve) => {
    const titleId = uniqueId('confirm-title');
    const cancel = h('button', { type: 'submit', value: 'cancel', class: 'secondary' }, 'Cancel');
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
      h('form', { method: 'dialog' },
        h('h2', { id: titleId }, title),
        h('p', {}, message),
        h('div', { class: 'actions' },
          cancel,
          h('button', { type: 'submit', value: 'confirm', class: 'danger' }, confirmLabel))));
    const opener = document.activeElement;
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === 'confirm');
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

export function formatDuration(totalSeconds) {
  if (totalSeconds === null || totalSeconds === undefined) return '—';
  let seconds = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(seconds / 86400);
  seconds -= days * 86400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const parts = [];
  if (days) parts.push(`${days}d`);
  if (days || hours) parts.push(`${hours}h`);
  if (days || hours || minutes) parts.push(`${minutes}m`);
  parts.push(`${seconds}s`);
  return parts.join(' ');
}

// A page heading that takes focus on navigation (screen readers hear the
// new page; keyboard users start from its top).
export function pageHeading(text) {
  return h('h1', { tabindex: '-1', class: 'page-title' }, text);
}

// Table helper: rows of cells; each cell gets data-label (its column name)
// so narrow screens can show rows as labelled cards.
export function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, columns.map((name) => h('th', { scope: 'col' }, name)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, index) =>
        h('td', { 'data-label': columns[index] }, cell)))))));
}
