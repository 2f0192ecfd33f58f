// REGISTER processing in three steps: plan (validate the request and turn it
// into a location::UpdateRequest, or into an error answer), store (the
// locator, possibly asynchronous) and answer (200 listing every binding).
// Planning is pure so every rule of RFC 3261 10.3 is checked before anything
// is stored: a REGISTER is applied entirely or not at all.
#include "proxy/registrar_module.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/log_throttle.hpp"
#include "common/strings.hpp"
#include "location/aor.hpp"
#include "location/binding_rules.hpp"

namespace cppbx::proxy {
namespace {

using location::Binding;
using location::Clock;

// An error answer; `headers` hold owned strings (ResponseSpec only has views).
struct Refusal {
  int code = 400;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Plan {
  std::optional<Refusal> refusal;
  bool query = false;  // no Contact: answer with the current bindings
  location::UpdateRequest update;
};

// Calls `on_param` with each ";"-separated param at top level (a quoted value
// may hold ';'), spaces and tabs trimmed, empty ones skipped.
template <typename OnParam>
void for_each_param(std::string_view params, OnParam&& on_param) {
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i <= params.size(); ++i) {
    if (i < params.size() && params[i] == '"' && (i == 0 || params[i - 1] != '\\')) quoted = !quoted;
    if (i == params.size() || (params[i] == ';' && !quoted)) {
      std::string_view piece = params.substr(start, i - start);
      while (!piece.empty() && (piece.front() == ' ' || piece.front() == '\t')) piece.remove_prefix(1);
      while (!piece.empty() && (piece.back() == ' ' || piece.back() == '\t')) piece.remove_suffix(1);
      if (!piece.empty()) on_param(piece);
      start = i + 1;
    }
  }
}

// What a Contact's params tell the registrar, read in one pass.
struct ContactParams {
  std::optional<std::string_view> expires;
  std::optional<std::string_view> instance;  // without its quotes
  std::optional<std::string_view> reg_id;
  std::optional<std::string_view> q;
  // As stored and echoed: expires is recomputed for every answer and GRUU
  // params are not ours to give out.
  std::string stored;
};

ContactParams read_contact_params(std::string_view params) {
  ContactParams out;
  for_each_param(params, [&out](std::string_view param) {
    const size_t eq = param.find('=');
    const std::string_view name = trim(param.substr(0, eq));
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    auto first = [&value](std::optional<std::string_view>& slot) {
      if (!slot) slot = value;
    };
    if (iequals(name, "expires")) {
      first(out.expires);
      return;
    }
    if (iequals(name, "pub-gruu") || iequals(name, "temp-gruu")) return;
    if (iequals(name, "+sip.instance")) first(out.instance);
    else if (iequals(name, "reg-id")) first(out.reg_id);
    else if (iequals(name, "q")) first(out.q);
    if (!out.stored.empty()) out.stored.push_back(';');
    out.stored.append(param);
  });
  return out;
}

float parse_q(std::optional<std::string_view> text) {
  if (!text || text->empty()) return 1.0f;
  float q = 1.0f;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), q);
  if (error != std::errc{} || end != text->data() + text->size()) return 1.0f;
  return std::clamp(q, 0.0f, 1.0f);
}

// "sip:alice:secret@host" -> "sip:alice:***@host": Contact URIs may carry a
// password and log lines must not.
std::string uri_for_log(std::string_view uri) {
  size_t at = uri.find('@');
  size_t scheme_end = uri.find(':');
  if (at == std::string_view::npos || scheme_end == std::string_view::npos || scheme_end > at) {
    return std::string(uri);
  }
  size_t password = uri.find(':', scheme_end + 1);
  if (password == std::string_view::npos || password > at) return std::string(uri);
  return std::string(uri.substr(0, password + 1)) + "***" + std::string(uri.substr(at));
}

// RFC 1123 date for the Date header, independent of the C locale.
std::string format_http_date(Clock::time_point when) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t seconds = Clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[utc.tm_wday % 7],
                utc.tm_mday, kMonths[utc.tm_mon % 12], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                utc.tm_sec);
  return text;
}

// The Date changes once a second while every 200 carries it: each thread
// keeps the last one it formatted.
const std::string& http_date(Clock::time_point when) {
  thread_local std::time_t cached_second = -1;
  thread_local std::string cached;
  std::time_t second = Clock::to_time_t(when);
  if (second != cached_second) {
    cached = format_http_date(when);
    cached_second = second;
  }
  return cached;
}

Refusal refuse(int code, std::string reason) { return Refusal{code, std::move(reason), {}}; }

// An expires value (header or Contact param). RFC 3261 20.19: a malformed
// value counts as 3600; a number too large for 32 bits as the largest one.
uint32_t parse_expires(std::string_view text) {
  constexpr uint32_t kMalformed = 3600;
  if (auto value = sip::parse_uint32(text)) return *value;
  bool all_digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  return all_digits ? UINT32_MAX : kMalformed;
}

std::optional<uint32_t> header_expires(const sip::Message& request) {
  const sip::Header* header = request.find(sip::HeaderId::Expires);
  if (header == nullptr) return std::nullopt;
  return parse_expires(header->value);
}

class Planner {
 public:
  Planner(const RequestContext& context, const ServerIdentity& identity, const RegistrarOptions& options)
      : context_(context), request_(context.request()), identity_(identity), options_(options) {}

  Plan plan() {
    Plan plan;
    if (auto refusal = check_addressing()) {
      plan.refusal = std::move(refusal);
      return plan;
    }
    plan.update.aor = location::aor_key(request_.to().uri);
    if (!location::is_aor_of(plan.update.aor, context_.authenticated_user->username, request_.to().uri.host)) {
      plan.refusal = refuse(403, "Forbidden: not your AoR");
      return plan;
    }
    plan.update.call_id = std::string(request_.call_id());
    plan.update.cseq = request_.cseq().number;

    header_expires_ = header_expires(request_);
    // The parser refused a request whose Contact does not parse.
    const std::vector<sip::Contact>& contacts = request_.contacts();
    if (contacts.empty()) {
      plan.query = true;
      return plan;
    }
    plan.refusal = plan_contacts(contacts, plan.update);
    return plan;
  }

 private:
  std::optional<Refusal> check_addressing() const {
    if (!identity_.is_local_domain(request_.request_uri().host)) return refuse(403, "Not a local domain");
    const sip::Uri& to = request_.to().uri;
    bool sip_uri = to.scheme == sip::UriScheme::Sip || to.scheme == sip::UriScheme::Sips;
    if (!sip_uri || to.user.empty() || !identity_.is_local_domain(to.host)) return refuse(404, "Not Found");
    // Without a verified user nobody may change an AoR: a pipeline that runs
    // the registrar before (or without) auth must not become an open
    // registrar. The configuration refuses such pipelines; this is the
    // last line of defence.
    if (!context_.authenticated_user) return refuse(403, "Forbidden: not authenticated");
    return std::nullopt;  // plan() checks that the AoR is the user's own
  }

  std::optional<Refusal> plan_contacts(const std::vector<sip::Contact>& contacts, location::UpdateRequest& update) {
    bool has_star = std::any_of(contacts.begin(), contacts.end(), [](const sip::Contact& c) { return c.star; });
    if (has_star) {
      // RFC 3261 10.3 step 6: "*" only alone and only with Expires: 0.
      if (contacts.size() != 1) return refuse(400, "Invalid Contact: * with other contacts");
      if (header_expires_ != 0u) return refuse(400, "Invalid Contact: * requires Expires: 0");
      update.remove_all = true;
      return std::nullopt;
    }
    const auto now = Clock::now();
    for (const sip::Contact& contact : contacts) {
      ContactParams params = read_contact_params(contact.address.params);
      const uint32_t expires = contact_expires(params);
      if (expires != 0 && expires < options_.min_expires) {
        return Refusal{423, "Interval Too Brief", {{"Min-Expires", std::to_string(options_.min_expires)}}};
      }
      Binding binding = make_binding(contact, params, std::min(expires, options_.max_expires), now);
      forget_key(update, location::key_view(binding));  // the last mention of a contact wins
      if (expires == 0) {
        update.removals.emplace_back(location::key_view(binding));
      } else {
        update.upserts.push_back(std::move(binding));
      }
    }
    return std::nullopt;
  }

  // The contact's own expires param, else the Expires header, else the default.
  uint32_t contact_expires(const ContactParams& params) const {
    if (params.expires) return parse_expires(*params.expires);
    return header_expires_.value_or(options_.default_expires);
  }

  Binding make_binding(const sip::Contact& contact, ContactParams& params, uint32_t expires,
                       Clock::time_point now) const {
    const transport::Peer& peer = context_.peer();
    Binding binding;
    binding.contact = std::string(contact.address.uri.text);
    binding.contact_params = std::move(params.stored);
    binding.instance_id = params.instance.value_or("");
    binding.reg_id = sip::parse_uint32(params.reg_id.value_or("")).value_or(0);
    binding.q = parse_q(params.q);
    binding.expires_at = now + std::chrono::seconds(expires);
    binding.last_modified = now;
    binding.destination = peer.to_string();
    binding.transport = peer.protocol;
    binding.connection = peer.connection;
    binding.supports_webrtc = peer.protocol == transport::Protocol::Ws || peer.protocol == transport::Protocol::Wss;
    if (const sip::Header* agent = request_.find(sip::HeaderId::UserAgent)) binding.user_agent = agent->value;
    for (std::string_view path : request_.values(sip::HeaderId::Path)) binding.path.emplace_back(path);
    binding.call_id = std::string(request_.call_id());
    binding.cseq = request_.cseq().number;
    return binding;
  }

  static void forget_key(location::UpdateRequest& update, std::string_view key) {
    std::erase_if(update.removals, [&](const std::string& removal) { return removal == key; });
    std::erase_if(update.upserts, [&](const Binding& b) { return location::key_view(b) == key; });
  }

  const RequestContext& context_;
  const sip::Message& request_;
  const ServerIdentity& identity_;
  const RegistrarOptions& options_;
  std::optional<uint32_t> header_expires_;
};

void respond_refusal(RequestContext& context, const Refusal& refusal) {
  sip::ResponseSpec spec;
  spec.code = refusal.code;
  spec.reason = refusal.reason;
  spec.to_tag = context.transaction->local_tag();
  for (const auto& [name, value] : refusal.headers) spec.headers.emplace_back(name, value);
  context.transaction->respond(spec);
}

void respond_unavailable(RequestContext& context, const RegistrarOptions& options, std::string_view detail) {
  // An outage or overload fails every REGISTER: one warning per cause and
  // 10 s (the locator bench logged 14,351 lines in one run).
  static log::ThrottleByKey warnings;
  if (auto held_back = warnings.admit(detail)) {
    spdlog::warn("registrar: location store unavailable: {} ({} more since the previous warning)", detail,
                 *held_back);
  }
  respond_refusal(context, Refusal{503, "Location Store Unavailable",
                                   {{"Retry-After", std::to_string(options.retry_after_seconds)}}});
}

// 200 OK listing every current binding with its remaining lifetime.
void respond_bindings(RequestContext& context, const std::vector<Binding>& bindings) {
  const auto now = Clock::now();
  const std::string& date = http_date(now);
  const std::vector<std::string_view> paths = context.request().values(sip::HeaderId::Path);

  sip::ResponseSpec spec;
  spec.code = 200;
  spec.to_tag = context.transaction->local_tag();
  spec.headers.reserve(bindings.size() + paths.size() + 1);
  // Every Contact value is written into one buffer reused by this thread;
  // the spec's headers view it, so it is sized first and never reallocated
  // ("<", ">;expires=", ten digits and ";" around contact and params).
  thread_local std::string contact_text;
  size_t total = 0;
  for (const Binding& binding : bindings) total += binding.contact.size() + binding.contact_params.size() + 24;
  contact_text.clear();
  contact_text.reserve(total);
  for (const Binding& binding : bindings) {
    const size_t start = contact_text.size();
    char expires[12];
    char* expires_end = std::to_chars(expires, expires + sizeof expires, binding.remaining_seconds(now)).ptr;
    contact_text.append("<").append(binding.contact).append(">;expires=").append(expires, expires_end);
    if (!binding.contact_params.empty()) contact_text.append(";").append(binding.contact_params);
    spec.headers.emplace_back("Contact", std::string_view(contact_text).substr(start));
  }
  // RFC 3327 5.3: the registrar returns the Path it stored.
  for (std::string_view path : paths) spec.headers.emplace_back("Path", path);
  spec.headers.emplace_back("Date", date);
  context.transaction->respond(spec);
}

void report(std::span<const Binding> registered, const std::vector<Binding>& removed,
            const std::shared_ptr<location::RegistrationObserver>& observer) {
  const auto now = Clock::now();
  // uri_for_log() builds a string: only when the lines are written.
  if (spdlog::should_log(spdlog::level::info)) {
    for (const Binding& b : registered) {
      spdlog::info("registered aor={} contact={} expires={} from={}", b.aor, uri_for_log(b.contact),
                   b.remaining_seconds(now), b.destination);
    }
    for (const Binding& b : removed) {
      spdlog::info("unregistered aor={} contact={} from={}", b.aor, uri_for_log(b.contact), b.destination);
    }
  }
  if (!observer) return;
  if (!registered.empty()) observer->on_registered(registered);
  if (!removed.empty()) observer->on_unregistered(removed);
}

}  // namespace

RegistrarOptions RegistrarOptions::from(const config::ProxyConfig& config) {
  RegistrarOptions options;
  options.default_expires = config.registrar_expires;
  options.min_expires = config.registrar_min_expires;
  options.max_expires = std::max(config.registrar_max_expires, config.registrar_min_expires);
  return options;
}

RegistrarModule::RegistrarModule(std::shared_ptr<location::Locator> locator,
                                 std::shared_ptr<const ServerIdentity> identity, RegistrarOptions options)
    : locator_(std::move(locator)), identity_(std::move(identity)), options_(options) {}

void RegistrarModule::set_observer(std::shared_ptr<location::RegistrationObserver> observer) {
  std::lock_guard lock(observer_mutex_);
  observer_ = std::move(observer);
}

std::shared_ptr<location::RegistrationObserver> RegistrarModule::observer() const {
  std::lock_guard lock(observer_mutex_);
  return observer_;
}

void RegistrarModule::handle(RequestContextPtr context, Next next) {
  if (context->request().method() != sip::Method::Register) {
    next(std::move(context));
    return;
  }
  Plan plan = Planner(*context, *identity_, options_).plan();
  if (plan.refusal) {
    respond_refusal(*context, *plan.refusal);
    return;
  }
  const RegistrarOptions options = options_;
  if (plan.query) {
    locator_->lookup(plan.update.aor, [context, options](location::LookupResult result) {
      if (!result.ok) return respond_unavailable(*context, options, result.detail);
      respond_bindings(*context, result.bindings);
    });
    return;
  }
  locator_->update(std::move(plan.update),
                   [context, options, observer = observer()](location::UpdateResult result) {
                     switch (result.status) {
                       case location::UpdateStatus::Error:
                         return respond_unavailable(*context, options, result.detail);
                       case location::UpdateStatus::OutOfOrder:
                         return respond_refusal(*context, refuse(400, "Out of order CSeq"));
                       case location::UpdateStatus::Ok:
                         respond_bindings(*context, result.current);
                         report(result.registered(), result.removed, observer);
                         return;
                     }
                   });
}

}  // namespace cppbx::proxy
