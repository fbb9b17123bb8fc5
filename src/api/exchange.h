// One request's exchange as the handlers see it: the connection's ResponseWriter wrapped so
// that every response carries X-Request-Id and the status and time of the first byte are
// known afterwards, plus what the handlers learn for the access log and metrics (the call
// report, the authenticated client). Lives on the connection's coroutine for one request.
#pragma once

#include <optional>
#include <string>

#include "api/client_auth.h"
#include "core/clock.h"
#include "gateway/forwarder.h"
#include "gateway/shared_budget.h"
#include "net/http_server.h"

namespace bc::api {

using boost::asio::awaitable;

class ClientBudgets;

class Exchange final : public net::ResponseWriter {
 public:
  Exchange(net::ResponseWriter& inner, std::string request_id, TimePoint started);

  awaitable<void> send(int status, std::string_view content_type, std::string body,
                       const Headers& extra = {}) override;
  Status begin_stream(int status, std::string_view content_type,
                      const Headers& extra = {}) override;
  awaitable<Status> write(std::string_view data) override { return inner_.write(data); }
  awaitable<Status> end_stream(std::string_view last_data = {}) override {
    return inner_.end_stream(last_data);
  }
  bool started() const override { return inner_.started(); }
  bool body_skipped() const override { return inner_.body_skipped(); }
  int worker() const override { return inner_.worker(); }
  std::string remote_address() const override { return inner_.remote_address(); }
  void on_client_gone(std::function<void()> on_gone) override {
    inner_.on_client_gone(std::move(on_gone));
  }
  bool client_gone() const override { return inner_.client_gone(); }

  const std::string& request_id() const { return id_field_.front().value; }
  TimePoint started_at() const { return started_; }
  int status() const { return status_; }
  bool streamed() const { return streamed_; }
  std::optional<TimePoint> first_byte() const { return first_byte_; }
  // The body of an error answer (status 400 and up, the first 2 KB), for the dashboard's list
  // of latest errors; empty otherwise.
  const std::string& error_body() const { return error_body_; }

  gateway::CallReport report;         // filled by the chat handlers
  const ClientKey* client = nullptr;  // the authenticated client, when client keys are on
  // The client budgets (set by the pipeline) and what this call took from them: its token
  // reservation and when (Unix ms; 0: nothing taken), settled when the request ends.
  ClientBudgets* budgets = nullptr;
  std::int64_t budget_reserved = 0;
  std::int64_t budget_taken_at_ms = 0;
  // The budget had room but the ledger's allowance not yet: after_shared_budget() waits for
  // it (wait_for_budget) before the answer starts. budget_wanted: the call's estimate.
  bool budget_pending = false;
  std::int64_t budget_wanted = 0;
  // With state: redis, what the call took from the client's budgets in Redis. Mutable: the
  // pipeline settles it when it records the finished exchange, which it reads as const.
  mutable gateway::SharedBudgetHold shared_budget;

 private:
  // The fields of an answer: `extra` and X-Request-Id (id_field_ itself when there is no
  // `extra`, the common case, so an answer copies nothing).
  const Headers& with_id(const Headers& extra, Headers& joined) const;

  net::ResponseWriter& inner_;
  Headers id_field_;  // X-Request-Id: <the request id>, which is kept here
  TimePoint started_;
  int status_ = 0;
  bool streamed_ = false;
  std::optional<TimePoint> first_byte_;
  std::string error_body_;
};

// The request id for a request: its X-Request-Id when that is 1-128 characters of
// [A-Za-z0-9._:-], else a new random 32-hex-digit id from `rng`.
std::string request_id_for(const net::HttpRequest& request, Rng& rng);

}  // namespace bc::api
