// RESP request formatting: byte for byte what hiredis's own formatter makes.
#include "state/resp_command.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <random>

namespace bc::state {
namespace {

std::string hiredis_format(const std::vector<std::string>& words) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& w : words) {
    argv.push_back(w.data());
    lengths.push_back(w.size());
  }
  char* out = nullptr;
  const int n =
      redisFormatCommandArgv(&out, static_cast<int>(words.size()), argv.data(), lengths.data());
  std::string text(out, static_cast<std::size_t>(n));
  redisFreeCommand(out);
  return text;
}

TEST(RespCommand, AKnownCommand) {
  RespArgs rest;
  rest.add_joined({"bc:", "lease:", "m:k"}).add(std::int64_t{-42}).add("");
  EXPECT_EQ(resp_command({"EVALSHA", "abc"}, rest).text,
            "*5\r\n$7\r\nEVALSHA\r\n$3\r\nabc\r\n$12\r\nbc:lease:m:k\r\n$3\r\n-42\r\n$0\r\n\r\n");
}

TEST(RespCommand, MatchesHiredisOnRandomArguments) {
  std::mt19937 random(7);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::string> words(2 + random() % 30);
    for (auto& w : words) {
      w.resize(random() % (random() % 4 == 0 ? 3000 : 20));
      for (auto& c : w) c = static_cast<char>(random() % 256);  // binary, CR and LF too
    }
    EXPECT_EQ(resp_command(words).text, hiredis_format(words));
    // Two leading words, the rest added whole or in two parts.
    RespArgs rest;
    for (std::size_t i = 2; i < words.size(); ++i) {
      const std::string_view w = words[i];
      if (i % 2 == 0) {
        rest.add_joined({w.substr(0, w.size() / 2), w.substr(w.size() / 2)});
      } else {
        rest.add(w);
      }
    }
    EXPECT_EQ(rest.count(), words.size() - 2);
    EXPECT_EQ(resp_command({words[0], words[1]}, rest).text, hiredis_format(words));
  }
}

TEST(RespCommand, NumbersAsDecimalText) {
  RespArgs args;
  args.add(std::int64_t{0}).add(std::int64_t{9'223'372'036'854'775'807LL});
  EXPECT_EQ(args.text(), "$1\r\n0\r\n$19\r\n9223372036854775807\r\n");
  EXPECT_EQ(args.count(), 2u);
}

}  // namespace
}  // namespace bc::state
