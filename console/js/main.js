// The console's entry: a single page app routed by the URL's #fragment
// (#/login, #/dashboard, #/extensions, #/registrations, #/settings/proxy),
// so cppbx serves one index.html under any base_path. Each page module
// exports `title` and `render(main, context)`; a page may return a cleanup
// function (timers) and must stop touching the page once `context.signal`
// is aborted (the user went elsewhere while it waited for the API).
import { api, onLoginRequired, setCsrfToken } from './api.js';
import { announce } from './dom.js';
import * as dashboard from './dashboard.js';
import * as extensions from './extensions.js';
import * as login from './login.js';
import * as registrations from './registrations.js';
import * as settings from './settings.js';

const pages = {
  '#/login': login,
  '#/dashboard': dashboard,
  '#/extensions': extensions,
  '#/registrations': registrations,
  '#/settings/proxy': settings,
};
const DEFAULT_PAGE = '#/dashboard';

let session = null;
let current = null;  // { controller, cleanup }
let returnTo = DEFAULT_PAGE;

function showChrome(visible) {
  document.getElementById('topbar').hidden = !visible;
  document.getElementById('who').textContent = session ? `Signed in as ${session.username}` : '';
  for (const link of document.querySelectorAll('.nav a')) {
    if (link.getAttribute('href') === location.hash) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function loadSession() {
  try {
    session = await api('GET', '/api/session');
    setCsrfToken(session.csrf_token);
  } catch {
    session = null;
  }
  return session;
}

async function route() {
  if (current) {
    current.controller.abort();
    if (current.cleanup) current.cleanup();
    current = null;
  }
  let hash = pages[location.hash] ? location.hash : DEFAULT_PAGE;
  if (hash !== location.hash) {
    location.replace(hash);
    return;
  }
  if (!session && hash !== '#/login') {
    returnTo = hash;
    if (!(await loadSession())) {
      location.replace('#/login');
      return;
    }
  }
  if (session && hash === '#/login') {
    location.replace(returnTo);
    return;
  }
  const page = pages[hash];
  const main = document.getElementById('main');
  const controller = new AbortController();
  current = { controller, cleanup: null };
  showChrome(Boolean(session));
  main.replaceChildren();
  document.title = `${page.title} · cppbx`;
  const context = {
    signal: controller.signal,
    session,
    loggedIn(newSession) {
      session = newSession;
      setCsrfToken(newSession.csrf_token);
      location.replace(returnTo === '#/login' ? DEFAULT_PAGE : returnTo);
    },
  };
  const cleanup = await page.render(main, context);
  if (current && current.controller === controller) current.cleanup = cleanup || null;
  else if (cleanup) cleanup();
  const heading = main.querySelector('h1');
  if (heading && !controller.signal.aborted && hash !== '#/login') heading.focus();
}

onLoginRequired(() => {
  if (session) announce('Your session ended; please log in again.');
  session = null;
  if (location.hash !== '#/login') {
    returnTo = pages[location.hash] ? location.hash : DEFAULT_PAGE;
    location.replace('#/login');
  }
});

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await api('POST', '/api/logout');
  } catch {
    // The session is gone either way.
  }
  session = null;
  setCsrfToken(null);
  returnTo = DEFAULT_PAGE;
  location.hash = '#/login';
});

window.addEventListener('hashchange', route);
route();
