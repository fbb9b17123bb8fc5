#include "mockllm/chat_exchange.h"

#include <chrono>

#include "mockllm/fault_plan.h"

namespace bc::mockllm {
namespace {

// Marks one request in flight for its key from construction to destruction. Unless the
// answer was completed, the client is counted as having gone away.
class Flight {
 public:
  Flight(Stats& stats, KeyStats& key) : stats_(stats), key_(key) {}
  Flight(const Flight&) = delete;
  Flight& operator=(const Flight&) = delete;
  ~Flight() { stats_.finish(key_, completed_); }

  // Records a successful write as the end of the answer; passes `written` through.
  bool complete_if(bool written) {
    completed_ = written;
    return written;
  }

 private:
  Stats& stats_;
  KeyStats& key_;
  bool completed_ = false;
};

Headers to_headers(const Request& request) {
  Headers headers;
  for (const auto& field : request) {
    headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  return headers;
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The error in the format's shape, with the HTTP status the format (or `force_200`) sends it
// with, and the retry hint as a header when the format uses one.
http::response<http::string_body> error_response(const Request& request, const WireFormat& format,
                                                 const ErrorSpec& error, bool force_200 = false) {
  const int status = force_200 ? 200 : format.error_http_status(error.status);
  auto response =
      json_response(request, static_cast<http::status>(status), format.error_body(error));
  if (error.retry_after && format.retry_after_header()) {
    response.set(http::field::retry_after, std::to_string(*error.retry_after));
  }
  return response;
}

// A whole 200 body, cut or broken as the plan says.
awaitable<bool> answer_body(Connection& connection, const Request& request, std::string body,
                            const FaultPlan& plan, Flight& flight) {
  if (plan.cut_after) {
    // Promise the whole body, deliver half of it, hang up.
    http::response<http::empty_body> head{http::status::ok, request.version()};
    head.set(http::field::content_type, "application/json");
    head.set(http::field::content_length, std::to_string(body.size()));
    const bool ok =
        co_await connection.write_head(head) &&
        co_await connection.write_raw(std::string_view(body).substr(0, body.size() / 2));
    flight.complete_if(ok);
    connection.close();
    co_return false;
  }
  if (plan.malformed) body.resize(body.size() / 2);  // framed correctly, but not JSON
  auto response = json_response(request, http::status::ok, std::move(body));
  co_return flight.complete_if(co_await connection.write(response)) && request.keep_alive();
}

awaitable<bool> answer_whole(Connection& connection, const WireFormat& format,
                             const Request& request, const Answer& answer, const FaultPlan& plan,
                             Flight& flight) {
  co_return co_await answer_body(connection, request, format.completion(answer), plan, flight);
}

awaitable<bool> answer_stream(Connection& connection, const WireFormat& format,
                              const Request& request, const Answer& answer, const FaultPlan& plan,
                              Flight& flight) {
  http::response<http::empty_body> head{http::status::ok, request.version()};
  head.set(http::field::content_type, format.stream_content_type());
  head.set(http::field::cache_control, "no-cache");
  head.set(http::field::server, "mockllm");
  head.keep_alive(request.keep_alive());
  head.chunked(true);
  if (!co_await connection.write_head(head)) co_return false;
  // With `burst`, events are gathered and leave in one chunk before the body ends.
  std::string gathered;
  auto send = [&](std::string_view event) -> awaitable<bool> {
    if (!plan.burst) co_return co_await connection.write_chunk(event);
    gathered.append(event.data(), event.size());
    co_return true;
  };
  auto flush = [&]() -> awaitable<bool> {
    if (gathered.empty()) co_return true;
    const bool ok = co_await connection.write_chunk(gathered);
    gathered.clear();
    co_return ok;
  };
  for (const auto& event : format.stream_open(answer)) {
    if (!co_await send(event)) co_return false;
  }
  if (plan.think.count() > 0) {
    if (!co_await flush()) co_return false;
    const bool sse = format.stream_content_type().starts_with("text/event-stream");
    auto left = plan.think;
    while (left.count() > 0) {
      const auto step = sse && plan.think_ping.count() > 0 ? std::min(left, plan.think_ping) : left;
      if (!co_await connection.pause(step)) co_return false;
      left -= step;
      if (left.count() > 0 && sse && plan.think_ping.count() > 0 &&
          !co_await connection.write_chunk(": OPENROUTER PROCESSING\n\n")) {
        co_return false;
      }
    }
  }
  const auto cut_at = plan.cut_after ? static_cast<std::size_t>(*plan.cut_after) : SIZE_MAX;
  const std::size_t pieces = format.stream_piece_count(answer);
  for (std::size_t i = 0; i < pieces; ++i) {
    if (i == cut_at) break;
    if (!co_await send(format.stream_piece(answer, i))) co_return false;
    if (i == 0 && plan.error_in_stream) {
      // The provider reports a failure inside the 200 stream and ends it without [DONE].
      const bool ok = co_await send(format.stream_error(answer, plan.code)) && co_await flush() &&
                      co_await connection.write_last_chunk();
      co_return flight.complete_if(ok) && request.keep_alive();
    }
    if (i == 0 && plan.malformed) {
      if (!co_await send(format.stream_malformed(answer))) co_return false;
    }
    if (!plan.burst && !co_await connection.pause(plan.gap)) co_return false;
  }
  if (plan.cut_after) {
    // Hang up mid-body: the chunked encoding never ends and no [DONE] arrives.
    if (!co_await flush()) co_return false;
    flight.complete_if(true);
    connection.close();
    co_return false;
  }
  for (const auto& event : format.stream_close(answer)) {
    if (!co_await send(event)) co_return false;
  }
  if (!co_await flush()) co_return false;
  if (!co_await connection.pause(plan.hold_end)) co_return false;
  co_return flight.complete_if(co_await connection.write_last_chunk()) && request.keep_alive();
}

}  // namespace

http::response<http::string_body> json_response(const Request& request, http::status status,
                                                std::string body) {
  http::response<http::string_body> response{status, request.version()};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::server, "mockllm");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

awaitable<bool> serve_chat(Connection& connection, const WireFormat& format, const Request& request,
                           MockState& state) {
  const Headers headers = to_headers(request);
  const IncomingRequest incoming{request.target(), headers, request.body(), unix_seconds()};

  const auto key = format.api_key(incoming);
  if (!key) {
    // Not counted: there is no key name to count it under.
    auto response = error_response(
        request, format, {.status = 401, .message = key.error().message, .code = key.error().code});
    co_return co_await connection.write(response) && request.keep_alive();
  }
  const FaultPlan plan = parse_fault_plan(*key);
  KeyStats& key_stats = state.stats.start(plan.key_name, Clock::now());
  const std::uint64_t ordinal = key_stats.requests - 1;
  Stats::body(key_stats, request.body());
  Flight flight(state.stats, key_stats);

  const auto call = format.parse(incoming);
  if (!co_await connection.pause(plan.latency)) co_return false;

  if (!call) {
    auto response =
        error_response(request, format, {.status = 400, .message = call.error().message});
    co_return flight.complete_if(co_await connection.write(response)) && request.keep_alive();
  }
  if (const int status = plan.error_status(ordinal); status != 0) {
    const std::string echoed =
        plan.echo_key ? "Incorrect API key provided: " + std::string(*key) + "." : std::string();
    auto response = error_response(
        request, format,
        {.status = status, .message = echoed, .code = plan.code, .retry_after = plan.retry_after},
        plan.error_200);
    co_return flight.complete_if(co_await connection.write(response)) && request.keep_alive();
  }

  Answer answer;
  answer.id = call->request_id.empty() ? format.new_id(state.next_seq++) : call->request_id;
  answer.created = unix_seconds();
  answer.model = call->model;
  if (plan.tool_call && !call->first_tool.empty()) {
    answer.tool_call = ToolCall{call->first_tool};
    answer.pieces = tool_argument_fragments();
  } else {
    answer.pieces = answer_pieces(call->model, plan.key_name, plan.tokens);
  }
  answer.prompt_tokens = call->prompt_tokens;
  answer.include_usage = call->include_usage;
  answer.echo = call->echo;

  if (call->stream) {
    co_return co_await answer_stream(connection, format, request, answer, plan, flight);
  }
  co_return co_await answer_whole(connection, format, request, answer, plan, flight);
}

awaitable<bool> serve_embeddings(Connection& connection, const EmbedFormat& format,
                                 const Request& request, MockState& state) {
  const WireFormat& wire = format.wire();
  const Headers headers = to_headers(request);
  const IncomingRequest incoming{request.target(), headers, request.body(), unix_seconds()};
  const auto key = wire.api_key(incoming);
  if (!key) {
    auto response = error_response(
        request, wire, {.status = 401, .message = key.error().message, .code = key.error().code});
    co_return co_await connection.write(response) && request.keep_alive();
  }
  const FaultPlan plan = parse_fault_plan(*key);
  KeyStats& key_stats = state.stats.start(plan.key_name, Clock::now());
  const std::uint64_t ordinal = key_stats.requests - 1;
  Stats::body(key_stats, request.body());
  Flight flight(state.stats, key_stats);

  const auto call = format.parse(incoming);
  if (!co_await connection.pause(plan.latency)) co_return false;
  if (!call) {
    auto response = error_response(request, wire, {.status = 400, .message = call.error().message});
    co_return flight.complete_if(co_await connection.write(response)) && request.keep_alive();
  }
  if (const int status = plan.error_status(ordinal); status != 0) {
    auto response = error_response(
        request, wire, {.status = status, .code = plan.code, .retry_after = plan.retry_after},
        plan.error_200);
    co_return flight.complete_if(co_await connection.write(response)) && request.keep_alive();
  }
  co_return co_await answer_body(connection, request, format.answer(*call), plan, flight);
}

}  // namespace bc::mockllm
