// What each user backend, locator and webhook entry holds, as field
// descriptions the settings page turns into inputs (docs/configuration.md
// lists every key). An input left empty removes its key, so the server's
// default applies; keys the page does not know are kept as they came.
//
// kinds: text, secret-url (a URL whose password is masked), int, select,
// headers (name -> value table), users (the memory backend's users).

export const BACKEND_TYPES = ['memory', 'database', 'http', 'plain', 'extension'];
export const LOCATOR_TYPES = ['memory', 'database', 'http', 'redis'];
export const WEBHOOK_EVENTS = ['registered', 'unregistered', 'offline'];

const int = (key, label, placeholder, hint) => ({ key, label, kind: 'int', placeholder, hint });
const text = (key, label, placeholder, hint) => ({ key, label, kind: 'text', placeholder, hint });

export const BACKEND_FIELDS = {
  memory: [
    { key: 'users', label: 'Users', kind: 'users' },
  ],
  database: [
    text('url', 'Database URL', 'empty: the main database_url',
      'sqlite://path, postgres://user:password@host/db or mysql://user:password@host/db'),
    text('table_name', 'Table', 'users'),
    text('id_column', 'Id column', 'none'),
    text('username_column', 'Username column', 'username'),
    text('password_column', 'Password column', 'password'),
    text('realm_column', 'Realm column', 'none'),
    text('enabled_column', 'Enabled column', 'none'),
    text('display_name_column', 'Display name column', 'none'),
    text('ha1_column', 'HA1 column', 'none'),
    int('timeout_ms', 'Timeout (ms)', '2000'),
    int('max_in_flight', 'Most lookups in flight', '256'),
    int('pool_size', 'Connections', '4'),
  ],
  http: [
    text('url', 'Service URL', 'https://auth.example.com/sip/lookup'),
    { key: 'method', label: 'Method', kind: 'select', options: ['GET', 'POST'] },
    text('username_field', 'Username parameter', 'username'),
    text('realm_field', 'Realm parameter', 'realm'),
    { key: 'headers', label: 'Request headers', kind: 'headers' },
    int('timeout_ms', 'Timeout (ms)', '2000'),
    int('cache_ttl', 'Cache TTL (s)', '0', '0 turns the cache off'),
    int('max_in_flight', 'Most lookups in flight', '256'),
  ],
  plain: [
    text('path', 'File path', '/etc/cppbx/users.txt', 'relative paths start at the configuration file\'s folder'),
  ],
  extension: [
    text('database_url', 'Database URL', 'empty: the main database_url'),
    int('ttl', 'Cache TTL (s)', '30', '0 turns the cache off'),
    int('timeout_ms', 'Timeout (ms)', '2000'),
    int('max_in_flight', 'Most lookups in flight', '256'),
  ],
};

const LOCATOR_COMMON = [
  int('max_bindings_per_aor', 'Most bindings per AoR', '10'),
  int('sweep_interval_seconds', 'Sweep interval (s)', '5'),
];

export const LOCATOR_FIELDS = {
  memory: [...LOCATOR_COMMON, int('max_bindings_total', 'Most bindings in all', '1000000')],
  database: [
    text('url', 'Database URL', 'empty: the main database_url'),
    int('timeout_ms', 'Timeout (ms)', '2000'),
    int('max_in_flight', 'Most calls in flight', '256'),
    int('pool_size', 'Connections', '4'),
    ...LOCATOR_COMMON,
  ],
  http: [
    text('url', 'Registry URL', 'http://registry.example.com/locations'),
    { key: 'headers', label: 'Request headers', kind: 'headers' },
    int('timeout_ms', 'Timeout (ms)', '2000'),
    int('max_in_flight', 'Most calls in flight', '256'),
    ...LOCATOR_COMMON,
  ],
  redis: [
    text('url', 'Redis URL', 'redis://:password@127.0.0.1:6379/0'),
    text('key_prefix', 'Key prefix', 'cppbx:'),
    int('timeout_ms', 'Timeout (ms)', '1000'),
    int('max_in_flight', 'Most calls in flight', '256'),
    int('pool_size', 'Connections', '4'),
    ...LOCATOR_COMMON,
  ],
};

// Keys every locator type has; kept when the type changes.
export const LOCATOR_KEPT_KEYS = ['max_bindings_per_aor', 'max_bindings_total', 'sweep_interval_seconds'];

export const WEBHOOK_FIELDS = [
  text('url', 'Webhook URL', 'https://hooks.example.com/sip'),
  { key: 'events', label: 'Events', kind: 'events' },
  { key: 'headers', label: 'Request headers', kind: 'headers' },
  int('timeout_ms', 'Timeout (ms)', '5000'),
  int('max_attempts', 'Attempts per event', '3'),
  int('queue_size', 'Queue size', '10000'),
];

export const MEMORY_USER_FIELDS = [
  ['username', 'Username'], ['password', 'Password'], ['realm', 'Realm'], ['display_name', 'Display name'],
];
