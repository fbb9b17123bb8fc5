// What the gateway tells its service manager (systemd's notify protocol, sd_notify(3)): ready
// once the listener is up, reloading and ready again around a SIGHUP, stopping on SIGTERM.
// Each call is a no-op when NOTIFY_SOCKET is not set (not run by systemd as Type=notify).
#pragma once

#include <string_view>

namespace bc {

void notify_ready(std::string_view status);
void notify_reloading();
void notify_stopping();

}  // namespace bc
