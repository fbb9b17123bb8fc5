#include "telemetry/app_log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "telemetry/file_sink.h"

namespace bc::telemetry {
namespace {

namespace fs = std::filesystem;

class AppLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bc-app-log-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    (void)configure_app_log({});  // back to stderr, closing the file
    fs::remove_all(dir_);
  }
  static std::vector<std::string> lines(const fs::path& file) {
    std::vector<std::string> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  fs::path dir_;
};

TEST_F(AppLogTest, JsonLinesCarryTheFieldsAndSkipEmptyOnes) {
  const auto file = dir_ / "app.log";
  ASSERT_TRUE(configure_app_log({.level = "info", .format = "json", .file = file.string()}));
  log_event(spdlog::level::warn,
            {.request_id = "req-1", .model = "glm", .key = "glm-a", .error = "upstream"},
            "request failed with \"502\"");
  spdlog::info("plain");
  const auto got = lines(file);
  ASSERT_EQ(got.size(), 2u);
  const auto first = boost::json::parse(got[0]).as_object();
  EXPECT_EQ(first.at("level"), "warn");
  EXPECT_EQ(first.at("msg"), "request failed with \"502\"");
  EXPECT_EQ(first.at("request_id"), "req-1");
  EXPECT_EQ(first.at("model"), "glm");
  EXPECT_EQ(first.at("key"), "glm-a");
  EXPECT_EQ(first.at("error"), "upstream");
  EXPECT_TRUE(first.at("ts").as_string().ends_with("Z"));
  const auto second = boost::json::parse(got[1]).as_object();
  EXPECT_EQ(second.at("level"), "info");
  EXPECT_EQ(second.size(), 3u);  // ts, level, msg: no empty fields, no fields of the line before
}

TEST_F(AppLogTest, TextLinesEndWithTheFields) {
  const auto file = dir_ / "app.log";
  ASSERT_TRUE(configure_app_log({.level = "info", .format = "text", .file = file.string()}));
  log_event(spdlog::level::err, {.model = "m", .error = "config"}, "reload refused");
  const auto got = lines(file);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].ends_with(" error reload refused model=m error=config")) << got[0];
}

TEST_F(AppLogTest, LevelFiltersLessSevereMessages) {
  const auto file = dir_ / "app.log";
  ASSERT_TRUE(configure_app_log({.level = "warn", .format = "json", .file = file.string()}));
  spdlog::debug("d");
  spdlog::info("i");
  log_event(spdlog::level::debug, {.request_id = "r"}, "d2");
  spdlog::warn("w");
  spdlog::error("e");
  const auto got = lines(file);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].find("\"msg\":\"w\""), std::string::npos);
  EXPECT_NE(got[1].find("\"level\":\"error\""), std::string::npos);
}

TEST_F(AppLogTest, AFileThatCannotBeOpenedIsAnError) {
  const auto result = configure_app_log({.file = (dir_ / "missing" / "app.log").string()});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("missing/app.log"), std::string::npos);
}

TEST_F(AppLogTest, ReopenAfterRenameLosesNoLine) {
  const auto file = dir_ / "app.log";
  ASSERT_TRUE(configure_app_log({.format = "text", .file = file.string()}));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> writers;
  std::atomic<int> started{0};
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      ++started;
      for (int i = 0; i < kPerThread; ++i) spdlog::info("line {}-{}", t, i);
    });
  }
  while (started < kThreads) std::this_thread::yield();
  fs::rename(file, dir_ / "app.log.1");
  ASSERT_TRUE(reopen_app_log());
  for (auto& w : writers) w.join();
  spdlog::info("after");

  std::set<std::string> seen;
  std::size_t total = 0;
  for (const auto& f : {dir_ / "app.log.1", file}) {
    for (const auto& line : lines(f)) {
      const auto at = line.find(" line ");
      if (at == std::string::npos) continue;
      seen.insert(line.substr(at));
      ++total;
    }
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(seen.size(), total);  // each line whole, once
  const auto fresh = lines(file);
  ASSERT_FALSE(fresh.empty());
  EXPECT_TRUE(fresh.back().ends_with(" info after"));
}

TEST(FileSink, AFailedReopenKeepsTheOldFile) {
  const auto dir = fs::temp_directory_path() / ("bc-file-sink-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto sink = FileSink::open((dir / "a.log").string());
  ASSERT_TRUE(sink);
  fs::remove_all(dir);  // the folder is gone: the name cannot be opened again
  EXPECT_FALSE(sink.value()->reopen());
}

TEST(ErrorClass, NamesWhatOperatorsGroupFailuresBy) {
  EXPECT_EQ(error_class(200), "");
  EXPECT_EQ(error_class(400), "client");
  EXPECT_EQ(error_class(401), "auth");
  EXPECT_EQ(error_class(429), "rate_limited");
  EXPECT_EQ(error_class(499), "client_gone");
  EXPECT_EQ(error_class(502), "upstream");
  EXPECT_EQ(error_class(503), "unavailable");
  EXPECT_EQ(error_class(504), "timeout");
  EXPECT_EQ(error_class(500), "internal");
}

}  // namespace
}  // namespace bc::telemetry
