#include "api/load_api.h"

#include <cmath>

#include <boost/json.hpp>

#include "api/reply.h"
#include "balance/capacity.h"
#include "core/json_text.h"
#include "gateway/shared_admission.h"

namespace bc::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// Whole numbers print as integers, so the seed's clients that expect ints keep working.
json::value number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) {
    return static_cast<std::int64_t>(v);
  }
  return v;
}

json::object key_json(const balance::KeyReport& k) {
  json::object o;
  o["key"] = k.id;
  o["weight"] = number(k.weight);
  o["effective_weight"] = number(k.effective_weight);
  o["current"] = number(k.current);
  o["max"] = number(k.max);
  o["in_flight"] = k.in_flight;
  o["state"] = k.state;
  if (k.remaining) {
    // When the key takes traffic again, as wall-clock time for people and as a countdown.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*k.remaining).count();
    const auto until = std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
    o["until"] = utc_timestamp(until);
    o["remaining_ms"] = ms;
  }
  if (k.rpd > 0 || k.tpd > 0) {
    // The daily quotas and their use today; resets_at: the end of the current quota day.
    json::object quota;
    if (k.rpd > 0) quota["rpd"] = k.rpd;
    if (k.tpd > 0) quota["tpd"] = k.tpd;
    quota["requests_today"] = k.requests_today;
    quota["tokens_today"] = k.tokens_today;
    if (k.quota_day_end_ms > 0) {
      const std::chrono::system_clock::time_point end{
          std::chrono::milliseconds(k.quota_day_end_ms)};
      quota["resets_at"] = utc_timestamp(end);
    }
    o["quota"] = std::move(quota);
  }
  if (k.latency_ms) {
    o["latency_ms"] = number(std::round(*k.latency_ms * 10) / 10);
  } else {
    o["latency_ms"] = nullptr;
  }
  return o;
}

json::object model_json(const balance::ModelReport& m) {
  json::object o;
  o["type"] = m.type;
  o["strategy"] = m.strategy;
  o["current"] = number(m.current);
  o["max"] = number(m.max);
  o["weight"] = number(m.weight);
  o["effective_weight"] = number(m.effective_weight);
  o["in_flight"] = m.in_flight;
  json::array keys;
  for (const auto& k : m.keys) keys.push_back(key_json(k));
  o["keys"] = std::move(keys);
  return o;
}

// "/llm/key-load/<model>/<key>" -> the parts after the prefix, split at the first '/'. Key ids
// may contain characters a client percent-encodes (a masked id has "…"), so decode them.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int hi = hex(s[i + 1]);
      const int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// The seed's form of /llm/key-load/<model>/<key>: the raw key in place of its id, taken only
// where the operator turned the seed's key-exposing endpoints on (admin.expose_keys). The
// id of the model's key whose secret it is, or nullopt.
std::optional<std::string> raw_key_id(const gateway::Gateway& gateway, std::string_view model,
                                      std::string_view key) {
  if (!gateway.config().admin.expose_keys || key.empty()) return std::nullopt;
  const auto m = gateway.pool().find_model(model);
  if (!m) return std::nullopt;
  for (const auto& credential : gateway.model(*m).credentials) {
    if (credential.secret == key) return credential.id;
  }
  return std::nullopt;
}

std::string_view tail(const net::HttpRequest& request, std::string_view prefix) {
  return request_path(request).substr(prefix.size());
}

// The key-exposing endpoints: hidden (404) unless enabled, then guarded by the admin token.
std::optional<Error> exposing_refused(const gateway::Gateway& gateway,
                                      const net::HttpRequest& request) {
  const auto& admin = gateway.config().admin;
  if (!admin.expose_keys) {
    return Error::not_found("no such endpoint: " + std::string(request_path(request)) +
                                " (key-exposing endpoints are off; see admin.expose_keys)",
                            "unknown_endpoint");
  }
  // The loader refuses expose_keys without a token; should one get here anyway, an empty
  // token must not mean "open".
  if (admin.token.empty() || !bearer_matches(request, admin.token)) {
    Error e;
    e.kind = ErrorKind::kAuthentication;
    e.code = "invalid_admin_token";
    e.message = "this endpoint requires the admin token: Authorization: Bearer <admin token>";
    return e;
  }
  return std::nullopt;
}

// Whether the caller may see `model` in a report: every model when client keys are off (no
// client) or the client may use every model.
bool visible(const Exchange& exchange, std::string_view model) {
  return exchange.client == nullptr || exchange.client->allows(model);
}

balance::ModelFilter filter_for(const Exchange& exchange) {
  if (exchange.client == nullptr || exchange.client->models.empty()) return {};
  const ClientKey* client = exchange.client;
  return [client](std::string_view model) { return client->allows(model); };
}

// The reports' filter: the models the caller may see, narrowed to `?model=<name>` when given.
// An error when that model does not exist or is hidden from the caller (the same answer).
Result<balance::ModelFilter> report_filter(const gateway::Gateway& gateway,
                                           const net::HttpRequest& request,
                                           const Exchange& exchange) {
  auto visible_models = filter_for(exchange);
  const auto model = query_param(request, "model");
  if (!model) return visible_models;
  const auto index = gateway.pool().find_model(*model);
  if (!index || !visible(exchange, *model)) {
    return Error::not_found("no model '" + *model + "' (GET /llm/system-capacity lists them)",
                            "model_not_found");
  }
  return balance::ModelFilter(
      [name = *model](std::string_view candidate) { return candidate == name; });
}

// With state: redis, the figures counted over every instance (the requests in flight on keys
// with max_concurrency, from their leases in Redis) replace this instance's in `report`, and
// `o` says which instance answered and whose figures these are: this instance's while Redis
// is down (degraded) or did not answer.
awaitable<void> share_figures(const gateway::Gateway& gw, gateway::SharedAdmission& shared,
                              balance::CapacityReport& report, json::object& o) {
  std::vector<std::size_t> models;
  for (const auto& m : report.details) {
    if (const auto index = gw.pool().find_model(m.name)) models.push_back(*index);
  }
  const auto counts = co_await shared.in_flight(gw, std::move(models));
  o["instance"] = shared.state().instance_id();
  o["figures"] = counts ? "all_instances" : "this_instance";
  if (!counts) co_return;
  const auto& c = *counts;
  balance::apply_shared_in_flight(gw.pool(), report,
                                  [&c](std::size_t m, std::size_t k) -> std::optional<int> {
                                    if (m >= c.size() || k >= c[m].size() || c[m][k] < 0)
                                      return std::nullopt;
                                    return c[m][k];
                                  });
}

// The same for one key (/llm/key-load).
awaitable<void> share_key_figures(const gateway::Gateway& gw, gateway::SharedAdmission& shared,
                                  std::string_view model, balance::KeyReport& key,
                                  json::object& o) {
  const auto m = gw.pool().find_model(model);
  std::optional<std::size_t> k;
  if (m) {
    const auto& keys = gw.pool().model(*m).keys;
    for (std::size_t i = 0; i < keys.size() && !k; ++i) {
      if (keys[i].id == key.id) k = i;
    }
  }
  std::optional<gateway::SharedAdmission::InFlight> counts;
  if (m && k) {
    std::vector<std::size_t> models{*m};
    counts = co_await shared.in_flight(gw, std::move(models));
  }
  o["instance"] = shared.state().instance_id();
  o["figures"] = counts ? "all_instances" : "this_instance";
  if (!counts) co_return;
  const auto& c = *counts;
  balance::apply_shared_in_flight(gw.pool(), *m, *k, key,
                                  [&c](std::size_t mi, std::size_t ki) -> std::optional<int> {
                                    if (c[mi][ki] < 0) return std::nullopt;
                                    return c[mi][ki];
                                  });
}

}  // namespace

// The value of `name` in the request's query string (percent-decoded); nullopt when absent.
std::optional<std::string> query_param(const net::HttpRequest& request, std::string_view name) {
  const std::string_view target = request.target();
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
  }
  return std::nullopt;
}

bool bearer_matches(const net::HttpRequest& request, std::string_view token) {
  const std::string_view header = request[http::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() < kBearer.size() || header.substr(0, kBearer.size()) != kBearer) return false;
  return secret_equals(header.substr(kBearer.size()), token);
}

bool secret_equals(std::string_view given, std::string_view token) {
  // Constant time in the token's content: every byte is compared whatever differs first.
  unsigned char diff = given.size() == token.size() ? 0 : 1;
  for (std::size_t i = 0; i < token.size(); ++i) {
    const char g = i < given.size() ? given[i] : 0;
    diff |= static_cast<unsigned char>(g ^ token[i]);
  }
  return diff == 0;
}

void add_load_routes(Router& router, gateway::Gateway& gateway, gateway::SharedAdmission* shared) {
  auto* gw = &gateway;
  // The reports cover only the models the calling client may use: a client restricted to
  // some models learns nothing of the others, not even their names.
  router.add(http::verb::get, "/llm/system-load",
             [gw, shared](const net::HttpRequest& r, Exchange& w) -> awaitable<void> {
               auto filter = report_filter(*gw, r, w);
               if (!filter) {
                 co_await send_error(w, filter.error());
                 co_return;
               }
               json::object o;
               double load = 0;
               if (shared != nullptr) {
                 auto report =
                     balance::capacity_report(gw->pool(), Clock::now(), std::move(filter).value());
                 co_await share_figures(*gw, *shared, report, o);
                 load = report.load_percent;
               } else {
                 load = balance::load_percent(gw->pool(), Clock::now(), std::move(filter).value());
               }
               o["load_percent"] = number(std::round(load * 100) / 100);
               co_await send_json(w, 200, json_text(o));
             });

  router.add(http::verb::get, "/llm/system-capacity",
             [gw, shared](const net::HttpRequest& r, Exchange& w) -> awaitable<void> {
               auto filter = report_filter(*gw, r, w);
               if (!filter) {
                 co_await send_error(w, filter.error());
                 co_return;
               }
               auto report =
                   balance::capacity_report(gw->pool(), Clock::now(), std::move(filter).value());
               json::object o;
               if (shared != nullptr) co_await share_figures(*gw, *shared, report, o);
               json::object total;
               for (const auto& [type, max] : report.total_max) total[type] = number(max);
               json::object details;
               for (const auto& m : report.details) details[m.name] = model_json(m);
               o["load_percent"] = number(std::round(report.load_percent * 100) / 100);
               o["total_max"] = std::move(total);
               o["details"] = std::move(details);
               o["queued"] = gw->queue().waiting();
               co_await send_json(w, 200, json_text(o));
             });

  router.add_prefix(
      http::verb::get, "/llm/key-load/",
      [gw, shared](const net::HttpRequest& r, Exchange& w) -> awaitable<void> {
        const auto rest = tail(r, "/llm/key-load/");
        const auto slash = rest.find('/');
        if (slash == std::string_view::npos) {
          co_await send_error(w, Error::not_found("use /llm/key-load/<model>/<key-id>"));
          co_return;
        }
        const auto model = percent_decode(rest.substr(0, slash));
        const auto key = percent_decode(rest.substr(slash + 1));
        // A model the client may not use answers exactly as one that does not exist.
        auto report = visible(w, model) ? balance::key_report(gw->pool(), model, key, Clock::now())
                                        : std::nullopt;
        if (!report && visible(w, model)) {
          if (const auto id = raw_key_id(*gw, model, key)) {
            report = balance::key_report(gw->pool(), model, *id, Clock::now());
          }
        }
        if (!report) {
          co_await send_error(w, Error::not_found("no key '" + key + "' in model '" + model +
                                                      "' (GET /llm/system-capacity lists them)",
                                                  "key_not_found"));
          co_return;
        }
        json::object figures;
        if (shared != nullptr) co_await share_key_figures(*gw, *shared, model, *report, figures);
        auto o = key_json(*report);
        o["model"] = model;
        for (auto& [name, value] : figures) o[name] = std::move(value);
        co_await send_json(w, 200, json_text(o));
      });

  router.add_prefix(
      http::verb::get, "/llm/model-load/",
      [gw](const net::HttpRequest& r, net::ResponseWriter& w) -> awaitable<void> {
        if (auto refused = exposing_refused(*gw, r)) {
          co_await send_error(w, *refused);
          co_return;
        }
        const auto name = percent_decode(tail(r, "/llm/model-load/"));
        const auto index = gw->pool().find_model(name);
        if (!index) {
          co_await send_error(
              w, Error::not_found("model '" + name + "' is not configured", "model_not_found"));
          co_return;
        }
        auto o = model_json(balance::model_report(gw->pool(), *index, Clock::now()));
        // The operator asked for raw keys here (admin.expose_keys): add them beside the ids.
        auto& keys = o["keys"].as_array();
        const auto& creds = gw->model(*index).credentials;
        for (std::size_t i = 0; i < keys.size() && i < creds.size(); ++i) {
          keys[i].as_object()["api_key"] = creds[i].secret;
        }
        o["model"] = name;
        co_await send_json(w, 200, json_text(o));
      });

  router.add(http::verb::get, "/llm/models",
             [gw](const net::HttpRequest& r, net::ResponseWriter& w) -> awaitable<void> {
               if (auto refused = exposing_refused(*gw, r)) {
                 co_await send_error(w, *refused);
                 co_return;
               }
               // The seed's answer: the active models' names, a JSON array in config order.
               // Their settings are in GET /admin/config, their keys in /llm/keys/<model>.
               json::array out;
               for (std::size_t i = 0; i < gw->model_count(); ++i) {
                 out.emplace_back(gw->model(i).config->name);
               }
               co_await send_json(w, 200, json_text(out));
             });

  router.add_prefix(
      http::verb::get, "/llm/keys/",
      [gw](const net::HttpRequest& r, net::ResponseWriter& w) -> awaitable<void> {
        if (auto refused = exposing_refused(*gw, r)) {
          co_await send_error(w, *refused);
          co_return;
        }
        const auto name = percent_decode(tail(r, "/llm/keys/"));
        const auto index = gw->pool().find_model(name);
        if (!index) {
          co_await send_error(
              w, Error::not_found("model '" + name + "' is not configured", "model_not_found"));
          co_return;
        }
        json::array keys;
        const auto& model = *gw->model(*index).config;
        const auto& creds = gw->model(*index).credentials;
        for (std::size_t i = 0; i < creds.size(); ++i) {
          json::object k;
          k["key"] = creds[i].secret;
          k["id"] = creds[i].id;
          k["weight"] = number(i < model.api_keys.size() ? model.api_keys[i].weight : 1.0);
          keys.push_back(std::move(k));
        }
        json::object out;
        out["model"] = name;
        out["keys"] = std::move(keys);
        co_await send_json(w, 200, json_text(out));
      });
}

}  // namespace bc::api
