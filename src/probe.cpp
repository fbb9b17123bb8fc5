#include "probe.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "gateway/forwarder.h"
#include "net/http_client.h"

namespace bc {
namespace {

// Nobody is waiting on the other end of a probe.
class NoClient final : public net::ClientWatch {
 public:
  void on_client_gone(std::function<void()>) override {}
  bool client_gone() const override { return false; }
};

struct Row {
  std::string model;
  std::string key;
  std::string status;
  std::string latency;
  std::string result;
  bool ok = false;
};

// What the gateway does with a key after this error.
std::string consequence(const Error& e) {
  switch (e.key_action) {
    case KeyAction::kCooldown:
      return e.cooldown.count() > 0
                 ? "key cools down " + std::to_string(e.cooldown.count() / 1000) + " s"
                 : "key cools down";
    case KeyAction::kDisable:
      return "key quarantined";
    case KeyAction::kRefreshCredential:
      return "token refreshed";
    case KeyAction::kNone:
      break;
  }
  if (e.kind == ErrorKind::kInvalidRequest) return "the request's fault, key kept";
  return e.retryable ? "counts towards the key's breaker; retried elsewhere" : "not retried";
}

std::string one_line(std::string s, std::size_t max) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

Row row_of(const std::string& model, const std::string& key, std::int64_t ms) {
  Row row;
  row.model = model;
  row.key = key;
  row.latency = std::to_string(ms) + " ms";
  return row;
}

void fail_row(Row& row, const Error& e) {
  row.status = std::to_string(e.status());
  row.result = (e.code.empty() ? std::string() : e.code + ": ") + one_line(e.message, 90) + " (" +
               consequence(e) + ")";
}

// An embedding model's keys: one short input each; the result is the vector's size.
boost::asio::awaitable<void> probe_embeddings(gateway::Forwarder& forwarder,
                                              const gateway::Gateway& gw,
                                              const config::ModelConfig& m, std::size_t index,
                                              std::vector<Row>& rows) {
  NoClient client;
  EmbeddingRequest request;
  request.model = m.name;
  request.inputs = {"OK"};
  request.single = true;
  const auto& spec = gw.pool().model(index);
  for (std::uint32_t k = 0; k < spec.keys.size(); ++k) {
    gateway::CallReport report;
    const auto started = std::chrono::steady_clock::now();
    const balance::Target target{static_cast<std::uint32_t>(index), k};
    auto answer = co_await forwarder.embed_on(target, request, client, report);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    Row row = row_of(m.name, spec.keys[k].id, ms);
    if (answer) {
      row.ok = true;
      row.status = "ok";
      row.result = "a vector of " + std::to_string(answer->vectors.at(0).size()) + " numbers";
    } else {
      fail_row(row, answer.error());
    }
    rows.push_back(std::move(row));
  }
}

boost::asio::awaitable<void> probe_all(gateway::Forwarder& forwarder, const gateway::Gateway& gw,
                                       const std::string& only_model, std::vector<Row>& rows) {
  NoClient client;
  for (const auto* m : gw.config().active_models()) {
    if (!only_model.empty() && m->name != only_model) continue;
    const auto index = gw.pool().find_model(m->name);
    if (!index) continue;
    if (m->embeddings) {
      co_await probe_embeddings(forwarder, gw, *m, *index, rows);
      continue;
    }
    std::string body =
        R"({"model":")" + m->name +
        R"(","max_tokens":16,"messages":[{"role":"user","content":"Reply with the word OK."}]})";
    auto request = ChatRequest::parse(body);
    if (!request) continue;
    const auto& spec = gw.pool().model(*index);
    for (std::uint32_t k = 0; k < spec.keys.size(); ++k) {
      gateway::CallReport report;
      const auto started = std::chrono::steady_clock::now();
      auto answer = co_await forwarder.complete_on(
          balance::Target{static_cast<std::uint32_t>(*index), k}, *request, client, report);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
      Row row;
      row.model = m->name;
      row.key = spec.keys[k].id;
      row.latency = std::to_string(ms) + " ms";
      if (answer) {
        row.ok = true;
        row.status = "ok";
        row.result = "\"" + one_line(answer->text(), 40) + "\"";
      } else {
        const Error& e = answer.error();
        row.status = std::to_string(e.status());
        row.result = (e.code.empty() ? std::string() : e.code + ": ") + one_line(e.message, 90) +
                     " (" + consequence(e) + ")";
      }
      rows.push_back(std::move(row));
    }
  }
}

// Columns line up in characters, not bytes: masked ids hold a multi-byte "…".
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

void print(const std::vector<Row>& rows) {
  std::size_t w_model = 5, w_key = 3, w_status = 6, w_latency = 7;
  for (const auto& r : rows) {
    w_model = std::max(w_model, width(r.model));
    w_key = std::max(w_key, width(r.key));
    w_status = std::max(w_status, width(r.status));
    w_latency = std::max(w_latency, width(r.latency));
  }
  auto pad = [](const std::string& s, std::size_t w) { return s + std::string(w - width(s), ' '); };
  std::cout << pad("MODEL", w_model) << "  " << pad("KEY", w_key) << "  " << pad("STATUS", w_status)
            << "  " << pad("LATENCY", w_latency) << "  RESULT\n";
  for (const auto& r : rows) {
    std::cout << pad(r.model, w_model) << "  " << pad(r.key, w_key) << "  "
              << pad(r.status, w_status) << "  " << pad(r.latency, w_latency) << "  " << r.result
              << "\n";
  }
}

}  // namespace

int run_probe(std::shared_ptr<gateway::Gateway> gateway, const std::string& only_model) {
  if (!only_model.empty() && !gateway->pool().find_model(only_model)) {
    std::cerr << "probe: no model '" << only_model << "' in " << gateway->config().source << "\n";
    return 1;
  }
  boost::asio::io_context ioc;
  net::HttpClientOptions options;
  options.max_idle_per_origin = 4;
  auto http = std::make_shared<net::HttpClient>(ioc.get_executor(), options);
  gateway::Forwarder forwarder(gateway, ioc.get_executor(), http);
  std::vector<Row> rows;
  boost::asio::co_spawn(ioc, probe_all(forwarder, *gateway, only_model, rows),
                        boost::asio::detached);
  ioc.run();
  print(rows);
  const bool all_ok = std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.ok; });
  return all_ok ? 0 : 1;
}

}  // namespace bc
