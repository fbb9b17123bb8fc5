#include "service_notify.h"

#include <string>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace bc {

namespace {

void notify(const std::string& state) {
  // 0: no NOTIFY_SOCKET, nothing to tell; < 0: a manager asked and could not be told, which
  // under Type=notify ends in a start timeout, so the log says why.
  const int rc = sd_notify(0, state.c_str());
  if (rc < 0) spdlog::warn("sd_notify failed: {}", -rc);
}

}  // namespace

void notify_ready(std::string_view status) {
  notify("READY=1\nSTATUS=" + std::string(status));
}

void notify_reloading() {
  notify("RELOADING=1");
}

void notify_stopping() {
  notify("STOPPING=1");
}

}  // namespace bc
