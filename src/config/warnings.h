// What a config leaves open that an operator should know about: not errors (the gateway runs
// as configured) but one line each at startup and in `balancedcall check`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace bc::config {

// 127.0.0.0/8, ::1 (also bracketed or IPv4-mapped) and "localhost": only this machine connects.
bool is_loopback_host(std::string_view host);

// The warnings for `config` served on `host` (server.host, or the --host that overrides it):
// a listener beyond loopback with no client keys (an open relay for the upstream keys), and
// client keys without admin.metrics_token (/metrics open to whoever reaches the port). Each
// names the config file and the fields.
std::vector<std::string> security_warnings(const Config& config, std::string_view host);

}  // namespace bc::config
