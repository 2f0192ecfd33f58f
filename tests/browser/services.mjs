// What the browser test runs besides the browser: a real cppbx on free
// loopback ports in a temp folder (administrator created first with
// --super-username/--super-password), an http user service that knows one
// user nobody else knows, a webhook receiver that records what it gets,
// and SIPp REGISTERs (tests/integration/scenarios/register_auth.xml).
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SCENARIOS = path.join(here, '..', 'integration', 'scenarios');
export const LOOPBACK = '127.0.0.1';

function bindTcp(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(null));
    server.listen(port, LOOPBACK, () => {
      const bound = server.address().port;
      server.close(() => resolve(bound));
    });
  });
}

function bindUdp(port) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => { socket.close(); resolve(null); });
    socket.bind(port, LOOPBACK, () => {
      const bound = socket.address().port;
      socket.close(() => resolve(bound));
    });
  });
}

// A loopback port free for both TCP and UDP right now (SIP listens on both).
export async function freePort() {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = await bindUdp(0);
    if (port && (await bindTcp(port)) === port) return port;
  }
  throw new Error('no free loopback port for TCP and UDP');
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export class Cppbx {
  constructor(binary, { admin, adminPassword }) {
    this.binary = path.resolve(binary);
    this.admin = admin;
    this.adminPassword = adminPassword;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cppbx-browser-'));
    this.process = null;
  }

  async start() {
    this.sipPort = await freePort();
    this.httpPort = await freePort();
    const config = [
      'log_level = "info"',
      `database_url = "sqlite://${path.join(this.dir, 'cppbx.sqlite3')}"`,
      `http_addr = "${LOOPBACK}:${this.httpPort}"`,
      '',
      '[proxy]',
      `addr = "${LOOPBACK}"`,
      `udp_port = ${this.sipPort}`,
      `tcp_port = ${this.sipPort}`,
      `realms = ["${LOOPBACK}"]`,
      '# SIPp 3.6 answers MD5 challenges only.',
      'auth_algorithms = ["MD5"]',
      `generated_dir = "${path.join(this.dir, 'generated')}"`,
      '',
      '[[proxy.user_backends]]',
      'type = "extension"',
      '',
    ].join('\n');
    this.configFile = path.join(this.dir, 'cppbx.toml');
    fs.writeFileSync(this.configFile, config);
    const created = spawnSync(this.binary, ['--conf', this.configFile, '--super-username', this.admin,
      '--super-password', this.adminPassword], { cwd: this.dir, encoding: 'utf8', timeout: 60000 });
    if (created.status !== 0) throw new Error(`--super-username failed: ${created.stdout} ${created.stderr}`);
    this.logFile = path.join(this.dir, 'cppbx.log');
    const log = fs.openSync(this.logFile, 'w');
    this.process = spawn(this.binary, ['--conf', this.configFile], { cwd: this.dir, stdio: ['ignore', log, log] });
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(async () => {
      if (this.process.exitCode !== null) throw new Error(`cppbx exited during start-up:\n${this.log()}`);
      return (await this.status('/api/session')) === 401;
    }, 15000, 'the HTTP API');
  }

  get url() {
    return `http://${LOOPBACK}:${this.httpPort}`;
  }

  status(route) {
    return new Promise((resolve) => {
      const request = http.get(`${this.url}${route}`, (response) => { response.resume(); resolve(response.statusCode); });
      request.on('error', () => resolve(0));
      request.setTimeout(1000, () => { request.destroy(); resolve(0); });
    });
  }

  log() {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  // SIGTERM; cppbx must exit 0 within 10 s.
  async stop() {
    if (!this.process || this.process.exitCode !== null) return this.process ? this.process.exitCode : 0;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10000);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }

  cleanup() {
    if (process.env.CPPBX_KEEP_TMP) console.error(`kept ${this.dir}`);
    else fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // One REGISTER with digest auth through SIPp; ok when it got its 200.
  // SIPp runs asynchronously: the services of this process (the http user
  // backend) must keep answering while it waits.
  async register(username, password) {
    const csv = path.join(this.dir, `users-${username}.csv`);
    fs.writeFileSync(csv, `SEQUENTIAL\n${username};[authentication username=${username} password=${password}]\n`);
    const localPort = await freePort();
    const errors = path.join(this.dir, `sipp-${username}-${localPort}-errors.log`);
    const messages = path.join(this.dir, `sipp-${username}-${localPort}-messages.log`);
    const sipp = spawn('sipp', [`${LOOPBACK}:${this.sipPort}`, '-sf', path.join(SCENARIOS, 'register_auth.xml'),
      '-inf', csv, '-m', '1', '-i', LOOPBACK, '-p', String(localPort), '-t', 'u1', '-nostdin',
      '-timeout', '20s', '-timeout_error', '-trace_err', '-error_file', errors, '-recv_timeout', '10000',
      '-trace_msg', '-message_file', messages],
    { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    sipp.stdout.on('data', (chunk) => { output += chunk; });
    sipp.stderr.on('data', (chunk) => { output += chunk; });
    const timer = setTimeout(() => sipp.kill('SIGKILL'), 60000);
    const status = await new Promise((resolve) => sipp.once('close', (code) => resolve(code)));
    clearTimeout(timer);
    let errorText = '';
    try { errorText = fs.readFileSync(errors, 'utf8'); } catch { /* none */ }
    let digest = '';
    if (status !== 0) {
      try { digest = checkSippDigest(fs.readFileSync(messages, 'utf8'), password); } catch { /* no trace */ }
    }
    return { ok: status === 0, status, output: `${digest}${`${output}${errorText}`.slice(-2000)}`, localPort };
  }
}

// After a refused REGISTER: did SIPp compute its MD5 digest response from
// `password`? Tells a wrong password on the client side from a wrong one
// stored (or a verification fault) on the server side.
function checkSippDigest(trace, password) {
  const line = trace.split(/\r?\n/).filter((text) => /^\s*Authorization:/i.test(text)).pop();
  if (!line) return 'SIPp sent no Authorization header\n';
  const param = (name) => (line.match(new RegExp(`[\\s,]${name}="?([^",]*)"?`, 'i')) || [])[1] || '';
  const md5 = (text) => crypto.createHash('md5').update(text).digest('hex');
  const ha1 = md5(`${param('username')}:${param('realm')}:${password}`);
  const ha2 = md5(`REGISTER:${param('uri')}`);
  const qop = param('qop');
  const expected = qop ? md5(`${ha1}:${param('nonce')}:${param('nc')}:${param('cnonce')}:${qop}:${ha2}`)
    : md5(`${ha1}:${param('nonce')}:${ha2}`);
  const verdict = expected === param('response') ? 'computed from the password given' : 'NOT computed from the password given';
  return `SIPp's digest response was ${verdict}: ${line.trim()}\n`;
}

// An http user backend service (docs/user-backends.md): POST form
// username/realm; 200 with the password for its one user, 404 otherwise.
export async function startUserService(knownUser, knownPassword) {
  const requests = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const form = new URLSearchParams(body);
      requests.push({ method: request.method, url: request.url, username: form.get('username'), realm: form.get('realm') });
      if (request.method === 'POST' && form.get('username') === knownUser) {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ username: knownUser, password: knownPassword, realm: form.get('realm'), display_name: 'Web Only', enabled: true }));
      } else {
        response.writeHead(404, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ detail: 'User not found' }));
      }
    });
  });
  await new Promise((resolve) => server.listen(0, LOOPBACK, resolve));
  return { server, requests, url: `http://${LOOPBACK}:${server.address().port}/verify` };
}

// Records every POST it gets and answers 200 with a short text.
export async function startWebhookReceiver() {
  const received = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      received.push({ method: request.method, url: request.url, headers: request.headers, body });
      response.writeHead(200, { 'Content-Type': 'text/plain' });
      response.end('hook received ok');
    });
  });
  await new Promise((resolve) => server.listen(0, LOOPBACK, resolve));
  return { server, received, url: `http://${LOOPBACK}:${server.address().port}/hook` };
}
