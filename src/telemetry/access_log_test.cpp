#include "telemetry/access_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <boost/json.hpp>

namespace bc::telemetry {
namespace {

namespace json = boost::json;

AccessRecord sample_record() {
  AccessRecord r;
  r.request_id = "req-1";
  r.method = "POST";
  r.route = "/v1/chat/completions";
  r.path = "/v1/chat/completions";
  r.model = "alpha";
  r.key = "sk-…beef";
  r.client = "team-a";
  r.attempts = 2;
  r.status = 200;
  r.ttfb_ms = 12.3456789;
  r.total_ms = 40.5;
  r.prompt_tokens = 7;
  r.completion_tokens = 9;
  return r;
}

TEST(AccessLine, HoldsEveryFieldAsJson) {
  const auto at =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  const auto v = json::parse(format_access_line(sample_record(), at)).as_object();
  EXPECT_EQ(v.at("ts").as_string(), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(v.at("request_id").as_string(), "req-1");
  EXPECT_EQ(v.at("method").as_string(), "POST");
  EXPECT_EQ(v.at("route").as_string(), "/v1/chat/completions");
  EXPECT_EQ(v.at("model").as_string(), "alpha");
  EXPECT_EQ(v.at("key").as_string(), "sk-…beef");
  EXPECT_EQ(v.at("client").as_string(), "team-a");
  EXPECT_EQ(v.at("attempts").as_int64(), 2);
  EXPECT_EQ(v.at("status").as_int64(), 200);
  EXPECT_DOUBLE_EQ(v.at("ttfb_ms").as_double(), 12.346);
  EXPECT_DOUBLE_EQ(v.at("total_ms").as_double(), 40.5);
  EXPECT_EQ(v.at("prompt_tokens").as_int64(), 7);
  EXPECT_EQ(v.at("completion_tokens").as_int64(), 9);
}

TEST(AccessLine, MarksWhatIsUnknown) {
  AccessRecord r;
  r.request_id = "x";
  r.method = "GET";
  r.path = "/nope\"\n";
  r.status = 404;
  const auto line = format_access_line(r, std::chrono::system_clock::now());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto v = json::parse(line).as_object();
  EXPECT_EQ(v.at("model").as_string(), "-");
  EXPECT_EQ(v.at("client").as_string(), "-");
  EXPECT_TRUE(v.at("ttfb_ms").is_null());
  EXPECT_TRUE(v.at("prompt_tokens").is_null());
  EXPECT_EQ(v.at("path").as_string(), "/nope\"\n");
}

TEST(AccessLog, WritesOneLinePerRecordToAFile) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("bc-access-" + std::to_string(::getpid()) + "-" +
                    std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  const auto file = (dir / "access.log").string();
  {
    auto log = AccessLog::open(file);
    ASSERT_TRUE(log.ok()) << log.error().message;
    for (int i = 0; i < 100; ++i) (*log)->write(sample_record());
  }  // destroying the log drains its queue
  std::ifstream in(file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(json::parse(line).as_object().at("request_id").as_string(), "req-1");
    ++n;
  }
  EXPECT_EQ(n, 100);
  std::filesystem::remove_all(dir);
}

TEST(AccessLog, ReportsAFileThatCannotBeOpened) {
  // A path under a regular file: no directory can be made there.
  const auto file =
      std::filesystem::temp_directory_path() / ("bc-access-file-" + std::to_string(::getpid()));
  std::ofstream(file) << "x";
  auto log = AccessLog::open((file / "access.log").string());
  std::filesystem::remove(file);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().message.find("access log"), std::string::npos);
}

}  // namespace
}  // namespace bc::telemetry
