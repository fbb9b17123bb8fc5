// A spdlog sink that appends to a file and can reopen it by name, for log rotation: logrotate
// (or an operator) renames the file, then SIGHUP makes the gateway write to a new one. The new
// file is opened before the old one is closed, under the sink's lock, so a line goes to one
// file or the other, never nowhere; when the new one cannot be opened the old one stays.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>

#include "core/result.h"

namespace bc::telemetry {

class FileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // An error when the file cannot be opened for appending.
  static Result<std::shared_ptr<FileSink>> open(const std::string& path);
  ~FileSink() override;

  // Thread-safe; the lines written before it are in the old file, flushed.
  Status reopen();
  const std::string& path() const { return path_; }

  explicit FileSink(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  std::string path_;
  std::FILE* file_;
};

}  // namespace bc::telemetry
