// RESP request formatting (state/resp_command.h).
#include "state/resp_command.h"

#include <charconv>

namespace bc::state {
namespace {

// A bulk string: "$<length>\r\n", its parts, "\r\n".
void append_bulk(std::string& out, std::initializer_list<std::string_view> parts) {
  std::size_t length = 0;
  for (std::string_view p : parts) length += p.size();
  out += '$';
  out += Decimal(static_cast<std::int64_t>(length)).view();
  out += "\r\n";
  for (std::string_view p : parts) out += p;
  out += "\r\n";
}

// "*<count>\r\n": the head of a command of `count` words.
void append_array_head(std::string& out, std::size_t count) {
  out += '*';
  out += Decimal(static_cast<std::int64_t>(count)).view();
  out += "\r\n";
}

}  // namespace

Decimal::Decimal(std::int64_t number)
    : size_(static_cast<std::size_t>(std::to_chars(digits_, digits_ + sizeof digits_, number).ptr -
                                     digits_)) {}

RespArgs& RespArgs::add(std::string_view arg) {
  return add_joined({arg});
}

RespArgs& RespArgs::add(std::int64_t number) {
  return add(Decimal(number).view());
}

RespArgs& RespArgs::add_joined(std::initializer_list<std::string_view> parts) {
  append_bulk(text_, parts);
  ++count_;
  return *this;
}

// The leading words go straight into the command, behind the array's head.
RespCommand resp_command(std::initializer_list<std::string_view> leading, const RespArgs& rest) {
  std::size_t size = 16 + rest.text().size();
  for (std::string_view w : leading) size += w.size() + 16;
  RespCommand out;
  out.text.reserve(size);
  append_array_head(out.text, leading.size() + rest.count());
  for (std::string_view w : leading) append_bulk(out.text, {w});
  out.text += rest.text();
  return out;
}

RespCommand resp_command(const std::vector<std::string>& words) {
  RespCommand out;
  append_array_head(out.text, words.size());
  for (const auto& w : words) append_bulk(out.text, {w});
  return out;
}

}  // namespace bc::state
