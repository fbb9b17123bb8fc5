// A Redis command in RESP's request form (an array of bulk strings), written straight from its
// parts: the bytes hiredis's redisFormatCommandArgv makes, without first building a vector of
// strings to hand it, nor its per-argument formatting (sdscatfmt). The admission's 23
// arguments cost a dozen allocations and copies each time the other way. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace bc::state {

// A number's decimal text without an allocation: an argument, or a part of a key.
class Decimal {
 public:
  explicit Decimal(std::int64_t number);
  std::string_view view() const { return {digits_, size_}; }

 private:
  char digits_[24];
  std::size_t size_;
};

// Arguments written one after another; resp_command() puts the command's head in front.
class RespArgs {
 public:
  RespArgs& add(std::string_view arg);
  RespArgs& add(std::int64_t number);
  // One argument made of several parts (a key: prefix, kind, name).
  RespArgs& add_joined(std::initializer_list<std::string_view> parts);

  std::size_t count() const { return count_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::size_t count_ = 0;
};

// A whole command, ready for the wire.
struct RespCommand {
  std::string text;
};

// `leading` (the command's name and first arguments), then `rest`.
RespCommand resp_command(std::initializer_list<std::string_view> leading,
                         const RespArgs& rest = {});
RespCommand resp_command(const std::vector<std::string>& words);

}  // namespace bc::state
