// RESP request formatting (state/resp_command.h).
#include "state/resp_command.h"

#include <charconv>

namespace bc::state {
namespace {

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

// "$<length>\r\n": a bulk string's head.
void append_length(std::string& out, std::size_t length) {
  out += '$';
  append_number(out, length);
  out += "\r\n";
}

}  // namespace

RespArgs& RespArgs::add(std::string_view arg) {
  append_length(text_, arg.size());
  text_.append(arg);
  text_ += "\r\n";
  ++count_;
  return *this;
}

Decimal::Decimal(std::int64_t number)
    : size_(static_cast<std::size_t>(std::to_chars(digits_, digits_ + sizeof digits_, number).ptr -
                                     digits_)) {}

RespArgs& RespArgs::add(std::int64_t number) {
  return add(Decimal(number).view());
}

RespArgs& RespArgs::add_joined(std::initializer_list<std::string_view> parts) {
  std::size_t length = 0;
  for (std::string_view p : parts) length += p.size();
  append_length(text_, length);
  for (std::string_view p : parts) text_.append(p);
  text_ += "\r\n";
  ++count_;
  return *this;
}

RespCommand resp_command(std::initializer_list<std::string_view> leading, const RespArgs& rest) {
  RespArgs head;
  for (std::string_view w : leading) head.add(w);
  RespCommand out;
  out.text.reserve(16 + head.text().size() + rest.text().size());
  out.text += '*';
  append_number(out.text, head.count() + rest.count());
  out.text += "\r\n";
  out.text += head.text();
  out.text += rest.text();
  return out;
}

RespCommand resp_command(const std::vector<std::string>& words) {
  RespArgs args;
  for (const auto& w : words) args.add(w);
  return resp_command({}, args);
}

}  // namespace bc::state
