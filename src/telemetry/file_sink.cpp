#include "telemetry/file_sink.h"

#include <cerrno>
#include <cstring>

namespace bc::telemetry {

namespace {

Result<std::FILE*> open_for_append(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return Error::internal("cannot open '" + path + "': " + std::strerror(errno), "log_file");
  }
  return file;
}

}  // namespace

Result<std::shared_ptr<FileSink>> FileSink::open(const std::string& path) {
  auto file = open_for_append(path);
  if (!file) return std::move(file).error();
  return std::make_shared<FileSink>(path, file.value());
}

FileSink::~FileSink() {
  std::fclose(file_);
}

Status FileSink::reopen() {
  std::lock_guard lock(mutex_);
  auto next = open_for_append(path_);
  if (!next) return std::move(next).error();
  std::fclose(file_);  // flushes what the old file still buffers
  file_ = next.value();
  return {};
}

void FileSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  std::fwrite(line.data(), 1, line.size(), file_);
}

void FileSink::flush_() {
  std::fflush(file_);
}

}  // namespace bc::telemetry
