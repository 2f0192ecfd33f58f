// See database_locator.hpp for the design. Reads use typed into() variables
// (each SOCI backend reports column types differently; typed reads convert
// the same way everywhere). Times are stored as microseconds since the Unix
// epoch; a Path list is stored joined by newlines (a header value never
// holds one).
#include "location/database_locator.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <set>
#include <unordered_set>

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "common/blocking_pool.hpp"
#include "location/binding_listing.hpp"
#include "location/binding_rules.hpp"
#include "storage/database.hpp"

namespace cppbx::location {
namespace {

using BindingList = std::vector<Binding>;

// Column limits of the locations table (storage/migrations.cpp).
constexpr size_t kMaxAorLength = 255;
constexpr size_t kMaxKeyLength = 500;
constexpr size_t kMaxHomeProxyLength = 255;
// One sweep's transaction stays short even after a long outage; the rest of
// the expired rows go in the next rounds.
constexpr size_t kMaxSweptPerRound = 10000;

constexpr const char* kColumns =
    "seq, aor, binding_key, contact, contact_params, instance_id, reg_id, expires_at, destination,"
    " transport, connection_id, user_agent, path, supports_webrtc, call_id, cseq, last_modified,"
    " home_proxy, q";

long long to_micros(Clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
}

Clock::time_point from_micros(long long micros) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(micros)));
}

std::string protocol_text(transport::Protocol protocol) {
  switch (protocol) {
    case transport::Protocol::Udp: return "udp";
    case transport::Protocol::Tcp: return "tcp";
    case transport::Protocol::Tls: return "tls";
    case transport::Protocol::Ws: return "ws";
    case transport::Protocol::Wss: return "wss";
  }
  return "udp";
}

transport::Protocol protocol_from_text(const std::string& text) {
  if (text == "tcp") return transport::Protocol::Tcp;
  if (text == "tls") return transport::Protocol::Tls;
  if (text == "ws") return transport::Protocol::Ws;
  if (text == "wss") return transport::Protocol::Wss;
  return transport::Protocol::Udp;
}

std::string join_path(const std::vector<std::string>& path) {
  std::string joined;
  for (const std::string& hop : path) {
    if (!joined.empty()) joined += '\n';
    joined += hop;
  }
  return joined;
}

std::vector<std::string> split_path(const std::string& joined) {
  std::vector<std::string> path;
  size_t start = 0;
  while (start < joined.size()) {
    size_t end = joined.find('\n', start);
    if (end == std::string::npos) end = joined.size();
    path.push_back(joined.substr(start, end - start));
    start = end + 1;
  }
  return path;
}

// One row as typed variables, bound to a SELECT of kColumns.
struct RowBuffer {
  long long seq = 0, reg_id = 0, expires_at = 0, connection = 0, cseq = 0, last_modified = 0;
  int supports_webrtc = 0;
  double q = 1.0;
  std::string aor, key, contact, contact_params, instance_id, destination, transport, user_agent, path,
      call_id, home_proxy;

  void bind(soci::statement& statement) {
    statement.exchange(soci::into(seq));
    statement.exchange(soci::into(aor));
    statement.exchange(soci::into(key));
    statement.exchange(soci::into(contact));
    statement.exchange(soci::into(contact_params));
    statement.exchange(soci::into(instance_id));
    statement.exchange(soci::into(reg_id));
    statement.exchange(soci::into(expires_at));
    statement.exchange(soci::into(destination));
    statement.exchange(soci::into(transport));
    statement.exchange(soci::into(connection));
    statement.exchange(soci::into(user_agent));
    statement.exchange(soci::into(path));
    statement.exchange(soci::into(supports_webrtc));
    statement.exchange(soci::into(call_id));
    statement.exchange(soci::into(cseq));
    statement.exchange(soci::into(last_modified));
    statement.exchange(soci::into(home_proxy));
    statement.exchange(soci::into(q));
  }

  // A connection id only means something on the node that holds the flow:
  // another node's (or an earlier run's, for another home) comes back as 0.
  Binding take(const std::string& own_home) const {
    Binding b;
    b.aor = aor;
    b.contact = contact;
    b.contact_params = contact_params;
    b.instance_id = instance_id;
    b.reg_id = static_cast<uint32_t>(reg_id);
    b.expires_at = from_micros(expires_at);
    b.destination = destination;
    b.transport = protocol_from_text(transport);
    b.connection = home_proxy == own_home ? static_cast<transport::ConnectionId>(connection) : 0;
    b.user_agent = user_agent;
    b.path = split_path(path);
    b.supports_webrtc = supports_webrtc != 0;
    b.call_id = call_id;
    b.cseq = static_cast<uint32_t>(cseq);
    b.last_modified = from_micros(last_modified);
    b.home_proxy = home_proxy;
    b.q = static_cast<float>(q);
    return b;
  }
};

struct ReadRows {
  BindingList bindings;
  long long max_seq = 0;
};

// Runs `select` (a statement over kColumns with `use` parameters already
// exchanged by `bind_parameters`) and collects its rows.
template <typename BindParameters>
ReadRows read_rows(soci::session& sql, const std::string& own_home, const std::string& query,
                   BindParameters bind_parameters) {
  ReadRows out;
  RowBuffer row;
  soci::statement statement(sql);
  row.bind(statement);
  bind_parameters(statement);
  statement.alloc();
  statement.prepare(query);
  statement.define_and_bind();
  if (statement.execute(true)) {
    do {
      out.bindings.push_back(row.take(own_home));
      out.max_seq = std::max(out.max_seq, row.seq);
    } while (statement.fetch());
  }
  return out;
}

void insert_row(soci::session& sql, const Binding& b, long long seq) {
  const std::string key = b.key();
  const std::string transport = protocol_text(b.transport);
  const std::string path = join_path(b.path);
  const long long reg_id = b.reg_id, expires_at = to_micros(b.expires_at),
                  connection = static_cast<long long>(b.connection), cseq = b.cseq,
                  last_modified = to_micros(b.last_modified);
  const int webrtc = b.supports_webrtc ? 1 : 0;
  const double q = b.q;
  sql << "INSERT INTO locations (" << kColumns
      << ") VALUES (:seq, :aor, :binding_key, :contact, :contact_params, :instance_id, :reg_id,"
         " :expires_at, :destination, :transport, :connection_id, :user_agent, :path,"
         " :supports_webrtc, :call_id, :cseq, :last_modified, :home_proxy, :q)",
      soci::use(seq), soci::use(b.aor), soci::use(key), soci::use(b.contact), soci::use(b.contact_params),
      soci::use(b.instance_id), soci::use(reg_id), soci::use(expires_at), soci::use(b.destination),
      soci::use(transport), soci::use(connection), soci::use(b.user_agent), soci::use(path),
      soci::use(webrtc), soci::use(b.call_id), soci::use(cseq), soci::use(last_modified),
      soci::use(b.home_proxy), soci::use(q);
}

void delete_row(soci::session& sql, const std::string& aor, const std::string& key) {
  sql << "DELETE FROM locations WHERE aor = :aor AND binding_key = :binding_key", soci::use(aor),
      soci::use(key);
}

// Deletes exactly these rows (as read: same flow and node) and returns the
// ones this call removed. Deleting by a WHERE on the flow instead could also
// remove a row committed after the SELECT, which nobody would then report.
BindingList delete_each(soci::session& sql, BindingList rows) {
  BindingList deleted;
  for (Binding& b : rows) {
    const std::string key = b.key();
    const long long connection = static_cast<long long>(b.connection);
    soci::statement statement =
        (sql.prepare << "DELETE FROM locations WHERE aor = :aor AND binding_key = :binding_key"
                        " AND home_proxy = :home AND connection_id = :id",
         soci::use(b.aor), soci::use(key), soci::use(b.home_proxy), soci::use(connection));
    statement.execute(true);
    if (statement.get_affected_rows() > 0) deleted.push_back(std::move(b));
  }
  return deleted;
}

// A write transaction. SQLite has one writer at a time: this process's
// writers queue on `sqlite_writes` (SQLite's own busy handler would make them
// sleep and retry, up to 100 ms a turn), and BEGIN IMMEDIATE takes the write
// lock before reading, so no session reads and then fails to upgrade. In WAL
// mode (set when the locator opens the database) synchronous = NORMAL is
// still crash-safe and spares an fsync per commit. The server databases lock
// the rows they change with SELECT ... FOR UPDATE instead (updates of one AoR
// are also serialized within the node, see State::aor_locks). Rolls back
// unless committed.
class WriteTransaction {
 public:
  WriteTransaction(soci::session& sql, storage::Dialect dialect, std::mutex& sqlite_writes)
      : sql_(sql), dialect_(dialect) {
    if (dialect_ == storage::Dialect::Sqlite) {
      writer_ = std::unique_lock(sqlite_writes);
      sql_ << "PRAGMA synchronous = NORMAL";
      sql_ << "BEGIN IMMEDIATE";
    } else {
      // InnoDB's default REPEATABLE READ takes gap locks on the rows a
      // SELECT ... FOR UPDATE did not find, so two new AoRs falling in the
      // same gap deadlock on INSERT; READ COMMITTED locks found rows only
      // (PostgreSQL's default already).
      if (dialect_ == storage::Dialect::Mysql) sql_ << "SET TRANSACTION ISOLATION LEVEL READ COMMITTED";
      sql_.begin();
    }
  }
  ~WriteTransaction() {
    if (done_) return;
    try {
      if (dialect_ == storage::Dialect::Sqlite) sql_ << "ROLLBACK";
      else sql_.rollback();
    } catch (...) {
      // The session is broken; storage::Database reconnects it before reuse.
    }
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  void commit() {
    done_ = true;
    if (dialect_ == storage::Dialect::Sqlite) sql_ << "COMMIT";
    else sql_.commit();
  }
  const char* lock_clause() const { return dialect_ == storage::Dialect::Sqlite ? "" : " FOR UPDATE"; }

 private:
  soci::session& sql_;
  storage::Dialect dialect_;
  std::unique_lock<std::mutex> writer_;
  bool done_ = false;
};

// WAL lets lookups read while a REGISTER writes, and commits append to the
// log instead of rewriting pages. The mode is a property of the file, kept by
// SQLite for every connection; an in-memory database keeps its own.
void use_write_ahead_log(storage::Database& db) {
  std::string mode = db.with_session([](soci::session& sql) {
    std::string answer;
    sql << "PRAGMA journal_mode = WAL", soci::into(answer);
    return answer;
  });
  if (mode != "wal" && mode != "memory") {
    spdlog::warn("database locator: SQLite journal mode stays '{}' (WAL refused)", mode);
  }
}

// A LIKE pattern matching `needle` anywhere, lowercased (compared with
// LOWER(aor)), with '!' escaping the pattern characters: a backslash would
// need doubling in MySQL's string literals.
std::string contains_pattern(std::string_view needle) {
  std::string pattern = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '!') pattern += '!';
    pattern += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return pattern + "%";
}

UpdateResult error_result(std::string why) {
  UpdateResult result;
  result.status = UpdateStatus::Error;
  result.detail = std::move(why);
  return result;
}

// Thrown out of a transaction whose COMMIT failed: it must not be retried,
// since it may have been applied.
struct CommitFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

struct DatabaseLocator::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, DatabaseLocatorOptions opts)
      : options(std::move(opts)),
        timer(io),
        pool(pool_options(options), [](std::string why) { return error_result(std::move(why)); }) {}

  static BlockingPoolOptions pool_options(const DatabaseLocatorOptions& options) {
    BlockingPoolOptions pool;
    pool.name = "database locator";
    pool.threads = options.pool_size;
    pool.max_in_flight = options.max_in_flight;
    pool.timeout = options.timeout;
    return pool;
  }

  DatabaseLocatorOptions options;

  std::mutex database_mutex;
  std::shared_ptr<storage::Database> database;
  std::mutex sqlite_writes;  // see WriteTransaction

  std::mutex observer_mutex;
  std::shared_ptr<LocationObserver> observer;

  std::mutex connections_mutex;
  // Open flows this node was asked to store bindings of (from update() on,
  // until connection_closed()).
  std::unordered_set<transport::ConnectionId> connections;

  // Updates of one AoR on this node run one at a time: with no row to lock
  // yet (a new AoR), FOR UPDATE alone would let two transactions both add
  // bindings past the per-AoR limit.
  std::array<std::mutex, 64> aor_locks;

  std::atomic<long long> row_count{0};
  std::atomic<bool> sweep_running{false};

  std::mutex timer_mutex;
  boost::asio::steady_timer timer;
  bool sweeping = false;

  // Last: destroyed first, so its workers are joined before anything they use goes.
  BlockingPoolOf<UpdateResult> pool;

  std::shared_ptr<storage::Database> open_database();
  void forget_previous_flows(storage::Database& db);
  void count_rows(storage::Database& db);
  UpdateResult apply(UpdateRequest request, std::chrono::steady_clock::time_point deadline);
  UpdateResult read(const std::string& aor);
  UpdateResult read_matching(const std::string& aor_contains);
  BindingList remove_flow(transport::ConnectionId connection);
  BindingList sweep();
  void schedule_locked();
  void sweep_in_background();
  void notify_offline(const BindingList& gone);
  void remember_connections(const std::vector<Binding>& upserts);
  void remove_flows_closed_meanwhile(std::span<const Binding> stored);
};

void DatabaseLocator::State::notify_offline(const BindingList& gone) {
  if (gone.empty()) return;
  std::shared_ptr<LocationObserver> current;
  {
    std::lock_guard lock(observer_mutex);
    current = observer;
  }
  if (current) current->on_offline(gone);
}

void DatabaseLocator::State::remember_connections(const std::vector<Binding>& upserts) {
  std::lock_guard lock(connections_mutex);
  for (const Binding& binding : upserts) {
    if (binding.connection != 0) connections.insert(binding.connection);
  }
}

// A flow may close while its REGISTER is queued or being written: its
// connection_closed() found nothing stored yet, so its rows go here.
void DatabaseLocator::State::remove_flows_closed_meanwhile(std::span<const Binding> stored) {
  std::set<transport::ConnectionId> closed;
  {
    std::lock_guard lock(connections_mutex);
    for (const Binding& binding : stored) {
      if (binding.connection != 0 && !connections.count(binding.connection)) closed.insert(binding.connection);
    }
  }
  for (transport::ConnectionId connection : closed) notify_offline(remove_flow(connection));
}

// Opens and migrates the database the first time it is reachable; the same
// database afterwards. Throws when it cannot be opened (the caller's job is
// answered with an error, and the next job tries again).
std::shared_ptr<storage::Database> DatabaseLocator::State::open_database() {
  std::lock_guard lock(database_mutex);
  if (database) return database;
  storage::Database::Options db_options;
  db_options.pool_size = options.pool_size;
  db_options.timeout = options.timeout;
  std::string error;
  std::shared_ptr<storage::Database> opened = storage::Database::open(options.url, db_options, error);
  if (!opened) throw std::runtime_error("cannot open the locations database: " + error);
  if (opened->dialect() == storage::Dialect::Sqlite) use_write_ahead_log(*opened);
  forget_previous_flows(*opened);
  count_rows(*opened);
  spdlog::info("database locator: bindings in {}", opened->description());
  database = std::move(opened);
  return database;
}

// This node's bindings over TCP/TLS/WS from an earlier run: their connections
// are gone (and their ids would collide with this run's).
void DatabaseLocator::State::forget_previous_flows(storage::Database& db) {
  const std::string& home = options.home_proxy;
  BindingList gone = db.with_session([&](soci::session& sql) {
    WriteTransaction transaction(sql, db.dialect(), sqlite_writes);
    ReadRows rows = read_rows(sql, options.home_proxy,
                              std::string("SELECT ") + kColumns +
                                  " FROM locations WHERE home_proxy = :home AND connection_id <> 0" +
                                  transaction.lock_clause(),
                              [&](soci::statement& s) { s.exchange(soci::use(home)); });
    BindingList deleted = delete_each(sql, std::move(rows.bindings));
    transaction.commit();
    return deleted;
  });
  if (!gone.empty()) {
    spdlog::info("database locator: {} binding(s) of this node's closed connections removed", gone.size());
  }
  notify_offline(gone);
}

void DatabaseLocator::State::count_rows(storage::Database& db) {
  long long count = db.with_session_retried([](soci::session& sql) {
    long long n = 0;
    sql << "SELECT COUNT(*) FROM locations", soci::into(n);
    return n;
  });
  row_count = count;
}

UpdateResult DatabaseLocator::State::apply(UpdateRequest request, std::chrono::steady_clock::time_point deadline) {
  if (request.aor.size() > kMaxAorLength) return error_result("AoR too long for the locations table");
  if (options.home_proxy.size() > kMaxHomeProxyLength) return error_result("home_proxy too long for the locations table");
  for (Binding& upsert : request.upserts) {
    upsert.home_proxy = options.home_proxy;
    if (key_view(upsert).size() > kMaxKeyLength) return error_result("contact too long for the locations table");
  }
  std::shared_ptr<storage::Database> db = open_database();
  std::lock_guard aor_lock(aor_locks[std::hash<std::string>{}(request.aor) % aor_locks.size()]);
  BindingRules rules;
  rules.max_bindings_per_aor = options.max_bindings_per_aor;

  BindingUpdate update;
  size_t rows_before = 0;
  bool abandoned = false;
  // Retried once on a reconnected session when it fails before COMMIT (it was
  // rolled back then); a failed COMMIT is answered as an error instead.
  try {
    db->with_session_retried([&](soci::session& sql) {
      WriteTransaction transaction(sql, db->dialect(), sqlite_writes);
      ReadRows rows = read_rows(
          sql, options.home_proxy,
          std::string("SELECT ") + kColumns + " FROM locations WHERE aor = :aor ORDER BY seq" +
              transaction.lock_clause(),
          [&](soci::statement& s) { s.exchange(soci::use(request.aor)); });
      rows_before = rows.bindings.size();
      update = apply_binding_rules(std::move(rows.bindings), request, rules, Clock::now());
      std::set<std::string, std::less<>> written;
      for (const Binding& b : update.registered()) written.insert(b.key());
      std::set<std::string, std::less<>> deleted = written;
      for (const BindingList* gone : {&update.expired, &update.removed, &update.replaced}) {
        for (const Binding& b : *gone) deleted.insert(b.key());
      }
      for (const std::string& key : deleted) delete_row(sql, request.aor, key);
      long long seq = rows.max_seq;
      for (const Binding& b : update.bindings) {
        if (written.count(key_view(b))) insert_row(sql, b, ++seq);
      }
      // Past the deadline the registrar already answered 503: a change it
      // was told failed must not appear later (rolled back by the destructor).
      if (std::chrono::steady_clock::now() >= deadline) {
        abandoned = true;
        return;
      }
      try {
        transaction.commit();
      } catch (const std::exception& e) {
        throw CommitFailed(e.what());
      }
    });
  } catch (const CommitFailed& e) {
    return error_result(std::string("database locator: commit failed: ") + e.what());
  }
  if (abandoned) return error_result("database locator: timed out, rolled back");
  row_count += static_cast<long long>(update.bindings.size()) - static_cast<long long>(rows_before);
  notify_offline(update.expired);
  remove_flows_closed_meanwhile(update.registered());
  return update.to_result();
}

UpdateResult DatabaseLocator::State::read(const std::string& aor) {
  std::shared_ptr<storage::Database> db = open_database();
  const long long now = to_micros(Clock::now());
  UpdateResult result;
  result.current = db->with_session_retried([&](soci::session& sql) {
    return read_rows(sql, options.home_proxy,
                     std::string("SELECT ") + kColumns +
                         " FROM locations WHERE aor = :aor AND expires_at > :now ORDER BY seq",
                     [&](soci::statement& s) {
                       s.exchange(soci::use(aor));
                       s.exchange(soci::use(now));
                     })
        .bindings;
  });
  return result;
}

// Every unexpired row whose AoR contains the text; the caller orders and pages.
UpdateResult DatabaseLocator::State::read_matching(const std::string& needle) {
  std::shared_ptr<storage::Database> db = open_database();
  const long long now = to_micros(Clock::now());
  const std::string pattern = contains_pattern(needle);
  std::string query = std::string("SELECT ") + kColumns + " FROM locations WHERE expires_at > :now";
  if (!needle.empty()) query += " AND LOWER(aor) LIKE :pattern ESCAPE '!'";
  UpdateResult result;
  result.current = db->with_session_retried([&](soci::session& sql) {
    return read_rows(sql, options.home_proxy, query,
                     [&](soci::statement& s) {
                       s.exchange(soci::use(now));
                       if (!needle.empty()) s.exchange(soci::use(pattern));
                     })
        .bindings;
  });
  return result;
}

BindingList DatabaseLocator::State::remove_flow(transport::ConnectionId connection) {
  std::shared_ptr<storage::Database> db = open_database();
  const long long id = static_cast<long long>(connection);
  const std::string& home = options.home_proxy;
  BindingList gone = db->with_session([&](soci::session& sql) {
    WriteTransaction transaction(sql, db->dialect(), sqlite_writes);
    ReadRows rows = read_rows(sql, options.home_proxy,
                              std::string("SELECT ") + kColumns +
                                  " FROM locations WHERE home_proxy = :home AND connection_id = :id" +
                                  transaction.lock_clause(),
                              [&](soci::statement& s) {
                                s.exchange(soci::use(home));
                                s.exchange(soci::use(id));
                              });
    BindingList deleted = delete_each(sql, std::move(rows.bindings));
    transaction.commit();
    return deleted;
  });
  row_count -= static_cast<long long>(gone.size());
  return gone;
}

// Deletes row by row so that, with several nodes sweeping the same table,
// a row is reported only by the node whose DELETE removed it.
BindingList DatabaseLocator::State::sweep() {
  std::shared_ptr<storage::Database> db = open_database();
  const long long now = to_micros(Clock::now());
  BindingList gone = db->with_session([&](soci::session& sql) {
    WriteTransaction transaction(sql, db->dialect(), sqlite_writes);
    ReadRows rows = read_rows(sql, options.home_proxy,
                              std::string("SELECT ") + kColumns + " FROM locations WHERE expires_at <= :now LIMIT " +
                                  std::to_string(kMaxSweptPerRound),
                              [&](soci::statement& s) { s.exchange(soci::use(now)); });
    BindingList deleted;
    for (Binding& b : rows.bindings) {
      const std::string key = b.key();
      soci::statement statement =
          (sql.prepare << "DELETE FROM locations WHERE aor = :aor AND binding_key = :binding_key"
                          " AND expires_at <= :now",
           soci::use(b.aor), soci::use(key), soci::use(now));
      statement.execute(true);
      if (statement.get_affected_rows() > 0) deleted.push_back(std::move(b));
    }
    transaction.commit();
    return deleted;
  });
  count_rows(*db);
  return gone;
}

void DatabaseLocator::State::schedule_locked() {
  timer.expires_after(options.sweep_interval);
  timer.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
    if (error) return;  // cancelled by stop()
    auto self = weak.lock();
    if (!self) return;  // the locator is gone
    self->sweep_in_background();
    std::lock_guard lock(self->timer_mutex);
    if (self->sweeping) self->schedule_locked();
  });
}

// The sweep runs on the pool; a sweep still running is not doubled.
void DatabaseLocator::State::sweep_in_background() {
  if (sweep_running.exchange(true)) return;  // the last one is still running
  // Reported from the work itself: an answer that timed out is dropped by the
  // pool, and the deleted rows must still be reported.
  pool.submit(
      [this] {
        BindingList gone;
        try {
          gone = sweep();
        } catch (...) {
          sweep_running = false;
          throw;
        }
        sweep_running = false;
        notify_offline(gone);
        return UpdateResult{};
      },
      [this](UpdateResult result) {
        if (result.status != UpdateStatus::Error) return;
        // A job refused or timed out before it ran never resets the flag itself.
        sweep_running = false;
        spdlog::warn("database locator: sweep failed: {}", result.detail);
      });
}

DatabaseLocator::DatabaseLocator(boost::asio::io_context& io, DatabaseLocatorOptions options)
    : state_(std::make_shared<State>(io, std::move(options))) {
  if (state_->options.sweep_interval <= std::chrono::milliseconds::zero()) {
    state_->options.sweep_interval = std::chrono::seconds(1);  // a zero period would spin
  }
}

DatabaseLocator::~DatabaseLocator() { stop(); }

void DatabaseLocator::start() {
  try {
    state_->open_database();
  } catch (const std::exception& e) {
    spdlog::error("database locator: {} (retried on the next request)", e.what());
  }
  std::lock_guard lock(state_->timer_mutex);
  if (state_->sweeping) return;
  state_->sweeping = true;
  state_->schedule_locked();
}

void DatabaseLocator::stop() {
  std::lock_guard lock(state_->timer_mutex);
  state_->sweeping = false;
  state_->timer.cancel();
}

size_t DatabaseLocator::sweep_now() {
  BindingList gone = state_->sweep();
  state_->notify_offline(gone);
  return gone.size();
}

void DatabaseLocator::update(UpdateRequest request, std::function<void(UpdateResult)> done) {
  // Remembered before the write, so a close arriving meanwhile is noticed.
  state_->remember_connections(request.upserts);
  State* state = state_.get();
  const auto deadline = std::chrono::steady_clock::now() + state_->options.timeout;
  state_->pool.submit(
      [state, deadline, request = std::move(request)]() mutable { return state->apply(std::move(request), deadline); },
      std::move(done));
}

void DatabaseLocator::lookup(const std::string& aor, std::function<void(LookupResult)> done) {
  State* state = state_.get();
  state_->pool.submit([state, aor] { return state->read(aor); },
                      [done = std::move(done)](UpdateResult result) {
                        LookupResult answer;
                        answer.ok = result.status != UpdateStatus::Error;
                        answer.bindings = std::move(result.current);
                        answer.detail = std::move(result.detail);
                        done(std::move(answer));
                      });
}

void DatabaseLocator::list(ListRequest request, std::function<void(ListResult)> done) {
  State* state = state_.get();
  const std::string needle = request.aor_contains;
  state_->pool.submit([state, needle] { return state->read_matching(needle); },
                      [request = std::move(request), done = std::move(done)](UpdateResult result) {
                        if (result.status == UpdateStatus::Error) {
                          ListResult failed;
                          failed.ok = false;
                          failed.detail = std::move(result.detail);
                          return done(std::move(failed));
                        }
                        done(page_of(std::move(result.current), request, Clock::now()));
                      });
}

void DatabaseLocator::remove(std::string aor, std::string key, std::function<void(UpdateResult)> done) {
  update(removal_request(std::move(aor), std::move(key)), std::move(done));
}

void DatabaseLocator::connection_closed(transport::ConnectionId connection) {
  if (connection == 0) return;  // datagram "connections" never close
  {
    std::lock_guard lock(state_->connections_mutex);
    if (state_->connections.erase(connection) == 0) return;  // nothing stored over it
  }
  State* state = state_.get();
  state_->pool.submit(
      [state, connection] {
        // Reported here rather than in the answer, which the pool drops
        // when it has already answered a timeout.
        state->notify_offline(state->remove_flow(connection));
        return UpdateResult{};
      },
      [](UpdateResult result) {
        if (result.status != UpdateStatus::Error) return;
        // The rows stay until they expire; the sweeper reports them then.
        spdlog::warn("database locator: removing a closed connection's bindings failed: {}", result.detail);
      });
}

void DatabaseLocator::set_observer(std::shared_ptr<LocationObserver> observer) {
  std::lock_guard lock(state_->observer_mutex);
  state_->observer = std::move(observer);
}

size_t DatabaseLocator::binding_count() const {
  const long long count = state_->row_count.load();
  return count > 0 ? static_cast<size_t>(count) : 0;
}

}  // namespace cppbx::location
